// Input hygiene at the HTTP boundary (RELIABILITY 5, 9, 22) and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from './app.js';
import { PARTY, createTestSession, startTestServer, type TestServer } from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const base = { name: 'n', modelId: 'risk-analyzer-v2', participants: [PARTY.bankA, PARTY.bankB] };

async function sessionCount(): Promise<number> {
  return (await t.server.ctx.db.selectFrom('sessions').select('id').execute()).length;
}

describe('mass assignment', () => {
  for (const extra of [{ status: 'completed' }, { tenantId: 'bankB' }, { role: 'creator' }, { id: 'mps_' + 'a'.repeat(26) }]) {
    it(`refuses ${Object.keys(extra)[0]} in a create body with 400 naming the field, and stores nothing`, async () => {
      const before = await sessionCount();
      const response = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { ...base, ...extra } });
      expect(response.statusCode).toBe(400);
      const body = t.json(response);
      expect(body.error.code).toBe('invalid_request');
      expect(JSON.stringify(body.error)).toContain(Object.keys(extra)[0]);
      expect(await sessionCount()).toBe(before);
    });
  }

  it('refuses unknown fields nested in the data policy', async () => {
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      payload: { ...base, dataPolicy: { minParticipants: 2, encryptionKey: 'x' } },
    });
    expect(response.statusCode).toBe(400);
    expect(t.json(response).error.details[0].field).toBe('body.dataPolicy');
  });

  it('never returns key material', async () => {
    const session = await createTestSession(t);
    const row = await t.server.ctx.db.selectFrom('sessions').select('sealed_key').where('id', '=', session.id).executeTakeFirstOrThrow();
    for (const url of [`/v1/sessions/${session.id}`, `/v1/sessions/${session.id}/status`, `/v1/sessions/${session.id}/key`, '/v1/sessions']) {
      const response = await t.inject('bankA', { method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain(row.sealed_key!);
      expect(response.body).not.toMatch(/sealed_?key|privateKey/i);
    }
  });
});

describe('malformed bodies', () => {
  const cases: Array<[string, string, number, string]> = [
    ['truncated JSON', '{"name":', 400, 'invalid_json'],
    ['duplicate keys', '{"name":"a","name":"b","modelId":"risk-analyzer-v2","participants":["party::bankA::treasury"]}', 400, 'invalid_json'],
    ['a __proto__ key', '{"__proto__":{"polluted":true},"name":"a"}', 400, 'invalid_json'],
    ['an integer past 2^53', '{"name":"a","modelId":"m","participants":[],"dataPolicy":{"minParticipants":9007199254740993}}', 400, 'invalid_json'],
    ['10,000-deep nesting', '['.repeat(10_000) + ']'.repeat(10_000), 400, 'invalid_json'],
    ['an empty body', '', 400, 'invalid_json'],
  ];
  for (const [label, text, status, code] of cases) {
    it(`refuses ${label} with ${status} ${code}`, async () => {
      const response = await t.inject('bankA', {
        method: 'POST',
        url: '/v1/sessions',
        headers: { 'content-type': 'application/json' },
        payload: text,
      });
      expect(response.statusCode).toBe(status);
      expect(t.json(response).error.code).toBe(code);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('refuses a wrong content type with 415', async () => {
    const text = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    expect(text.statusCode).toBe(415);
    expect(t.json(text).error.code).toBe('unsupported_media_type');
    const session = await createTestSession(t);
    const jsonToData = await t.inject('bankA', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/data`,
      headers: { 'content-type': 'application/json', 'x-tenzro-data-schema': 'transaction_records_v1', 'x-tenzro-commitment': 'sha256:' + '0'.repeat(64) },
      payload: '{}',
    });
    expect(jsonToData.statusCode).toBe(415);
    const streamToJson = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from('{}'),
    });
    expect(streamToJson.statusCode).toBe(415);
  });

  it('refuses a JSON body over 1 MiB with 413', async () => {
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ ...base, description: 'x'.repeat(1024 * 1024) }),
    });
    expect(response.statusCode).toBe(413);
    expect(t.json(response).error.code).toBe('payload_too_large');
  });

  it('names the failing path of a schema error without echoing the value', async () => {
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      payload: { ...base, participants: ['secret-looking-value'] },
    });
    expect(response.statusCode).toBe(400);
    const body = t.json(response);
    expect(body.error.details[0].field).toBe('body.participants.0');
    expect(response.body).not.toContain('secret-looking-value');
  });

  it('refuses a malformed session id in the path with 400', async () => {
    const response = await t.inject('bankA', { method: 'GET', url: '/v1/sessions/not-a-session' });
    expect(response.statusCode).toBe(400);
    expect(t.json(response).error.details[0].field).toBe('params.sessionId');
  });
});

describe('session creation rules', () => {
  it('refuses an unknown model with 422 unknown_model', async () => {
    const response = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { ...base, modelId: 'nope' } });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('unknown_model');
  });

  it('offers mpc once the running enclave announces it (sessions and their nodes: mpc-routes.test.ts)', async () => {
    expect(t.server.ctx.enclave.info()!.models.find((m) => m.modelId === 'risk-analyzer-v2')!.methods).toContain('mpc');
    expect(t.server.ctx.mpc.mode()).toBe('local');
    expect(t.server.ctx.mpc.canServe(3)).toBe(true);
  });

  it('refuses mpc configurations that cannot hold with 422 invalid_data_policy, storing nothing', async () => {
    const before = (await t.inject('bankA', { method: 'GET', url: '/v1/sessions' })).json().sessions.length;
    const cases: [number, number, RegExp][] = [
      [1, 3, /at least 2/],
      [4, 3, /above config.totalParties/],
      [3, 4, /2·threshold − 1 ≤ totalParties/],
    ];
    for (const [threshold, totalParties, message] of cases) {
      const dataPolicy = { aggregationMethod: 'mpc', mpcConfig: { protocol: 'shamir_secret_sharing', threshold, totalParties } };
      const response = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { ...base, dataPolicy } });
      expect(response.statusCode).toBe(422);
      expect(t.json(response).error.code).toBe('invalid_data_policy');
      expect(t.json(response).error.message).toMatch(message);
    }
    expect((await t.inject('bankA', { method: 'GET', url: '/v1/sessions' })).json().sessions.length).toBe(before);
  });

  it('creates a secure_aggregation session once the running enclave announces the method', async () => {
    expect(t.server.ctx.enclave.info()!.models.find((m) => m.modelId === 'risk-analyzer-v2')!.methods).toContain('secure_aggregation');
    const dataPolicy = { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 2, noiseAddition: true } };
    const response = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { ...base, dataPolicy } });
    expect(response.statusCode, response.body).toBe(201);
    expect(t.json(response).dataPolicy.secureAggConfig).toEqual({ threshold: 2, noiseAddition: true, differentialPrivacy: { epsilon: 1, delta: 1e-5 } });
  });

  it('refuses minParticipants above the participants with 422 invalid_data_policy', async () => {
    const response = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { ...base, dataPolicy: { minParticipants: 3 } } });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('invalid_data_policy');
  });

  it('refuses an unregistered party with 422 unknown_party', async () => {
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      payload: { ...base, observers: ['party::bankZ::nobody'] },
    });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('unknown_party');
  });

  it('refuses an expiry beyond 30 days or in the past', async () => {
    for (const expiresAt of [new Date(Date.now() + 31 * 86_400_000).toISOString(), new Date(Date.now() - 1000).toISOString()]) {
      const response = await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { ...base, expiresAt } });
      expect(response.statusCode).toBe(400);
      expect(t.json(response).error.details[0].field).toBe('expiresAt');
    }
  });

  it('creates a session whose id is the hash of its normalised terms', async () => {
    const { computeSessionId } = await import('@tenzro/protocol');
    const session = await createTestSession(t);
    expect(session.status).toBe('created');
    expect(computeSessionId(session.terms)).toBe(session.id);
    expect(session.terms.dataPolicy).toEqual({
      minParticipants: 2,
      aggregationMethod: 'federated',
      encryptionRequired: true,
      attestationRequired: true,
      retentionPolicy: 'delete_after_inference',
      federatedConfig: { localEpochs: 5, aggregationRounds: 10, differentialPrivacy: { enabled: true, epsilon: 1, delta: 1e-5 } },
    });
    expect(session.terms.modelDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('OpenAPI', () => {
  it('documents every route, generated from the zod schemas', async () => {
    const response = await t.inject(null, { method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = t.json(response);
    expect(document.openapi).toBe('3.1.0');
    for (const route of allRoutes(t.server.ctx)) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const operation = document.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      expect(operation.operationId).toBe(route.operationId);
    }
    const create = document.paths['/v1/sessions'].post;
    expect(create.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(create.responses['201'].content['application/json'].schema.properties.terms).toBeDefined();
    expect(document.paths['/v1/sessions/{sessionId}/data'].post.requestBody.content['application/octet-stream']).toBeDefined();
  });

  it('describes the enclave: provider, measurement and simulated root', async () => {
    const response = await t.inject('bankB', { method: 'GET', url: '/v1/enclave' });
    expect(response.statusCode).toBe(200);
    const info = t.json(response);
    expect(info).toMatchObject({ provider: 'simulated', ready: true });
    expect(info.measurement).toMatch(/^[0-9a-f]{96}$/);
    expect(info.rootPem).toContain('BEGIN CERTIFICATE');
    expect(t.credentials.attestation).toEqual({ rootPem: info.rootPem, measurement: info.measurement, mpcNodeMeasurement: expect.stringMatching(/^[0-9a-f]{96}$/) });
  });

  it('answers /healthz without credentials', async () => {
    const response = await t.inject(null, { method: 'GET', url: '/healthz' });
    expect(t.json(response)).toEqual({ status: 'ok', enclave: 'ready' });
  });
});
