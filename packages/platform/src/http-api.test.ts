// The SDK's side of the HTTP API (protocol api.ts): request shapes and headers, reply parsing, error mapping.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_URL, TenzroPlatform } from './platform.js';
import { TenzroApiError, SessionVerificationError } from './errors.js';
import { MEASUREMENT, apiError, json, makeFixture, submissionReceipt } from './fake-host.fixture.js';
import { encryptWithSessionKey, hashCommitment, signConsent } from './helpers.js';
import type { TenzroPlatformOptions } from './platform.js';

const BASE = 'https://api.example.test';

async function setup() {
  const fixture = await makeFixture();
  const platform = new TenzroPlatform({
    apiKey: 'key-A',
    tenantId: 'bankA',
    baseUrl: `${BASE}/`,
    party: fixture.bankA,
    trustedRoots: [fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fixture.fetch,
  });
  return { fixture, platform };
}

describe('requests', () => {
  it('createMultiPartySession posts the product doc input with auth, tenant and party headers', async () => {
    const { fixture, platform } = await setup();
    fixture.routes.set('POST /v1/sessions', () => json(201, fixture.session));
    const expiresAt = new Date(fixture.terms.expiresAt);
    const input = {
      name: 'Q4 Risk Analysis',
      description: 'Cross-bank transaction risk assessment',
      modelId: 'risk-analyzer-v2',
      participants: ['party::bankA::treasury', 'party::bankB::treasury'],
      observers: ['party::regulator::compliance'],
      dataPolicy: {
        minParticipants: 2,
        aggregationMethod: 'federated' as const,
        encryptionRequired: true,
        attestationRequired: true,
        retentionPolicy: 'delete_after_inference' as const,
      },
      expiresAt,
    };
    const frozen = structuredClone(input);
    const session = await platform.ai.createMultiPartySession(input);
    expect(session.id).toBe(fixture.sessionId);
    expect(input).toEqual(frozen);

    const [request] = fixture.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`${BASE}/v1/sessions`);
    expect(request!.headers['authorization']).toBe('Bearer key-A');
    expect(request!.headers['x-tenant-id']).toBe('bankA');
    expect(request!.headers['x-tenzro-party-id']).toBe('party::bankA::treasury');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body as string)).toEqual({ ...input, expiresAt: expiresAt.toISOString() });
  });

  it('createMultiPartySession refuses bad input before sending anything', async () => {
    const { fixture, platform } = await setup();
    await expect(
      platform.ai.createMultiPartySession({ name: 'x', modelId: 'm', participants: ['bankA'] }),
    ).rejects.toThrow(/input\.participants\.0/);
    await expect(
      platform.ai.createMultiPartySession({ name: 'x', modelId: 'm', participants: ['party::bankA::t'], expiresAt: 'tomorrow' }),
    ).rejects.toThrow(RangeError);
    expect(fixture.requests).toHaveLength(0);
  });

  it('createMultiPartySession refuses a session whose terms are not the ones requested', async () => {
    const { fixture, platform } = await setup();
    const asked = {
      name: fixture.terms.name,
      description: fixture.terms.description,
      modelId: fixture.terms.modelId,
      participants: fixture.terms.participants.map((p) => p.partyId),
      observers: fixture.terms.observers.map((o) => o.partyId),
      dataPolicy: { minParticipants: 2 },
      expiresAt: fixture.terms.expiresAt,
    };
    // The host's session is built from the request: accepted as is.
    fixture.routes.set('POST /v1/sessions', () => json(201, fixture.session));
    expect((await platform.ai.createMultiPartySession(asked)).id).toBe(fixture.sessionId);

    // Each of these is a self-consistent session (terms hash to its id) that differs from the request.
    const liar = async (edit: Partial<typeof fixture.terms>) => {
      const { sessionIdOf } = await import('@tenzro/protocol');
      const terms = { ...fixture.terms, ...edit };
      const session = {
        ...fixture.session,
        id: sessionIdOf(terms),
        name: terms.name,
        description: terms.description,
        modelId: terms.modelId,
        participants: terms.participants.map((p) => p.partyId),
        observers: terms.observers.map((o) => o.partyId),
        dataPolicy: terms.dataPolicy,
        expiresAt: terms.expiresAt,
        terms,
      };
      fixture.routes.set('POST /v1/sessions', () => json(201, session));
      return platform.ai.createMultiPartySession(asked).then(
        () => 'accepted',
        (error: unknown) => error,
      );
    };
    const lowered = { ...fixture.terms.dataPolicy, minParticipants: 1 };
    const relaxed = { ...fixture.terms.dataPolicy, attestationRequired: false };
    const cases: Partial<typeof fixture.terms>[] = [
      { name: 'Another name' },
      { description: 'another description' },
      { modelId: 'risk-analyzer-v1' },
      { participants: fixture.terms.participants.slice(0, 1) },
      { observers: [] },
      { observers: [...fixture.terms.observers, { partyId: 'party::spy::eve', encryptionKey: fixture.terms.observers[0]!.encryptionKey }] },
      { dataPolicy: lowered },
      { dataPolicy: relaxed },
      { expiresAt: new Date(Date.parse(fixture.terms.expiresAt) + 29 * 86_400_000).toISOString() },
    ];
    for (const edit of cases) {
      const error = await liar(edit);
      expect(error, JSON.stringify(Object.keys(edit))).toBeInstanceOf(SessionVerificationError);
      expect(error).toMatchObject({ code: 'session_terms_mismatch' });
    }
  });

  it("createMultiPartySession refuses terms that list the SDK's own party with other keys", async () => {
    const { fixture, platform } = await setup();
    const { sessionIdOf } = await import('@tenzro/protocol');
    const other = await makeFixture();
    // The host puts its own encryption key in bankA's roster entry (so it could read bankA's results).
    const participants = fixture.terms.participants.map((p, i) => (i === 0 ? { ...p, encryptionKey: other.bankA.encryptionKey.publicKey } : p));
    const terms = { ...fixture.terms, participants };
    fixture.routes.set('POST /v1/sessions', () => json(201, { ...fixture.session, id: sessionIdOf(terms), terms }));
    await expect(
      platform.ai.createMultiPartySession({
        name: terms.name,
        description: terms.description,
        modelId: terms.modelId,
        participants: participants.map((p) => p.partyId),
        observers: terms.observers.map((o) => o.partyId),
        dataPolicy: { minParticipants: 2 },
      }),
    ).rejects.toThrow(/keys that are not its own/);
  });

  it('submitSessionData sends the envelope bytes as octet-stream with schema and commitment headers', async () => {
    const { fixture, platform } = await setup();
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/data`, (request) => submissionReceipt(fixture, request));
    const records = [{ id: 't1', amount: 10 }];
    const sessionKey = await platform.ai.getSessionKey(fixture.sessionId);
    const encryptedData = await encryptWithSessionKey(JSON.stringify(records), sessionKey.publicKey);
    const commitment = await hashCommitment(records);
    const receipt = await platform.ai.submitSessionData({
      sessionId: fixture.sessionId,
      data: encryptedData,
      dataSchema: 'transaction_records_v1',
      commitment,
    });
    expect(receipt.commitmentScheme).toBe('plain');
    const request = fixture.requests.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/v1/sessions/${fixture.sessionId}/data`);
    expect(request.headers['content-type']).toBe('application/octet-stream');
    expect(request.headers['x-tenzro-data-schema']).toBe('transaction_records_v1');
    expect(request.headers['x-tenzro-commitment']).toBe(commitment);
    expect(request.headers['x-tenzro-commitment-scheme']).toBe('plain');
    expect(request.headers['x-tenzro-party-id']).toBe('party::bankA::treasury');
    expect(Buffer.from(request.body as Uint8Array).toString('base64url')).toBe(encryptedData);
  });

  it('submitSessionData checks its arguments', async () => {
    const { fixture, platform } = await setup();
    const base = { sessionId: fixture.sessionId, data: 'AAAA', dataSchema: 's', commitment: `sha256:${'a'.repeat(64)}` };
    await expect(platform.ai.submitSessionData({ ...base, sessionId: 'nope' })).rejects.toThrow(/sessionId/);
    await expect(platform.ai.submitSessionData({ ...base, commitment: 'md5:1' })).rejects.toThrow(/commitment/);
    await expect(platform.ai.submitSessionData({ ...base, data: 'a+b=' })).rejects.toThrow(/data/);
    await expect(platform.ai.submitSessionData({ ...base, dataSchema: '' })).rejects.toThrow(/dataSchema/);
    expect(fixture.requests).toHaveLength(0);
  });

  it('submitSessionConsent posts the flags and signature', async () => {
    const { fixture, platform } = await setup();
    const consent = { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true };
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/consents`, (request) =>
      json(201, { sessionId: fixture.sessionId, partyId: fixture.bankA.partyId, ...JSON.parse(request.body as string), receivedAt: new Date().toISOString(), status: 'awaiting_consent' }),
    );
    const signature = await signConsent(fixture.sessionId, fixture.bankA.signingKey.privateKey);
    await platform.ai.submitSessionConsent({ sessionId: fixture.sessionId, consent, signature });
    const request = fixture.requests.at(-1)!;
    expect(request.path).toBe(`/v1/sessions/${fixture.sessionId}/consents`);
    expect(JSON.parse(request.body as string)).toEqual({ consent, signature });
  });

  it('status, list, join lookup and cancel use their routes', async () => {
    const { fixture, platform } = await setup();
    const status = {
      sessionId: fixture.sessionId,
      status: 'awaiting_consent',
      participants: fixture.session.participants,
      observers: fixture.session.observers,
      minParticipants: 2,
      dataSubmittedBy: fixture.session.participants,
      consentedParticipants: ['party::bankA::treasury'],
      pendingData: [],
      pendingConsent: ['party::bankB::treasury'],
      readyToRun: false,
      expiresAt: fixture.terms.expiresAt,
      lastRun: null,
    };
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/status`, () => json(200, status));
    fixture.routes.set('GET /v1/sessions', () => json(200, { sessions: [fixture.session] }));
    fixture.routes.set('GET /v1/join/ABCD-EFGH', () => json(200, { session: fixture.session }));
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/cancel`, () => json(200, { ...fixture.session, status: 'cancelled' }));

    expect((await platform.ai.getSessionStatus(fixture.sessionId)).pendingConsent).toEqual(['party::bankB::treasury']);
    expect((await platform.ai.listMultiPartySessions()).map((s) => s.id)).toEqual([fixture.sessionId]);
    expect((await platform.ai.findSessionByJoinCode('ABCD-EFGH')).id).toBe(fixture.sessionId);
    expect((await platform.ai.cancelSession(fixture.sessionId, 'no longer needed')).status).toBe('cancelled');
    expect(JSON.parse(fixture.requests.at(-1)!.body as string)).toEqual({ reason: 'no longer needed' });
  });

  it('sends no party header when the SDK has no party', async () => {
    const fixture = await makeFixture();
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: BASE, fetch: fixture.fetch, trustedRoots: [] });
    await platform.ai.getMultiPartySession(fixture.sessionId);
    expect(fixture.requests[0]!.headers['x-tenzro-party-id']).toBeUndefined();
  });
});

describe('replies and errors', () => {
  it('maps an API error body to TenzroApiError with code, status, message and details', async () => {
    const { fixture, platform } = await setup();
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/data`, () =>
      apiError(422, 'schema_validation_failed', 'records do not match', [{ index: 3, field: 'amount', message: 'must be a number' }]),
    );
    const error = await platform.ai
      .submitSessionData({ sessionId: fixture.sessionId, data: 'AAAA', dataSchema: 's', commitment: `sha256:${'a'.repeat(64)}` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect(error).toMatchObject({
      code: 'schema_validation_failed',
      status: 422,
      message: 'records do not match',
      details: [{ index: 3, field: 'amount', message: 'must be a number' }],
    });
  });

  it('maps unknown sessions (404), auth failures (401) and a non-JSON error to the right codes', async () => {
    const { fixture, platform } = await setup();
    fixture.routes.set('GET /v1/sessions', () => apiError(401, 'unauthorized', 'bad key'));
    await expect(platform.ai.listMultiPartySessions()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    await expect(platform.ai.getMultiPartySession('mps_' + 'a'.repeat(26))).rejects.toMatchObject({ code: 'not_found', status: 404 });
    fixture.routes.set('GET /v1/sessions', () => new Response('<html>Bad Gateway</html>', { status: 502 }));
    await expect(platform.ai.listMultiPartySessions()).rejects.toMatchObject({ code: 'invalid_response', status: 502 });
  });

  it('a malformed success reply is invalid_response, naming the field', async () => {
    const { fixture, platform } = await setup();
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () => json(200, { ...fixture.session, status: 'exploded' }));
    const error = await platform.ai.getMultiPartySession(fixture.sessionId).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_response', status: 200 });
    expect((error as TenzroApiError).details?.[0]?.field).toBe('status');
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () => new Response('not json', { status: 200 }));
    await expect(platform.ai.getMultiPartySession(fixture.sessionId)).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('a network failure is network_error with status 0', async () => {
    const platform = new TenzroPlatform({
      apiKey: 'k',
      tenantId: 'bankA',
      baseUrl: BASE,
      trustedRoots: [],
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const error = await platform.ai.listMultiPartySessions().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect(error).toMatchObject({ code: 'network_error', status: 0 });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('a session whose terms do not hash to its id is refused', async () => {
    const { fixture, platform } = await setup();
    const swapped = { ...fixture.session, terms: { ...fixture.terms, name: 'Something else' }, name: 'Something else' };
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () => json(200, swapped));
    await expect(platform.ai.getMultiPartySession(fixture.sessionId)).rejects.toBeInstanceOf(SessionVerificationError);
    const relabelled = { ...fixture.session, participants: ['party::bankA::treasury'] };
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () => json(200, relabelled));
    await expect(platform.ai.getMultiPartySession(fixture.sessionId)).rejects.toMatchObject({ code: 'session_terms_mismatch' });
  });
});

describe('construction', () => {
  it('checks its options and never mutates them', async () => {
    expect(() => new TenzroPlatform({ apiKey: '', tenantId: 'bankA' } as TenzroPlatformOptions)).toThrow(/apiKey/);
    expect(() => new TenzroPlatform({ apiKey: 'k', tenantId: 'bad tenant' })).toThrow(/tenantId/);
    const fixture = await makeFixture();
    expect(() => new TenzroPlatform({ apiKey: 'k', tenantId: 'bankB', party: fixture.bankA, trustedRoots: [] })).toThrow(/does not belong/);
    const options: TenzroPlatformOptions = { apiKey: 'k', tenantId: 'bankA', party: fixture.bankA, trustedRoots: ['-----BEGIN CERTIFICATE-----x'], baseUrl: BASE };
    const copy = structuredClone(options);
    new TenzroPlatform(options);
    expect(options).toEqual(copy);
    expect(() => new TenzroPlatform({ ...options, attestationMaxAgeMs: 0 })).toThrow(/attestationMaxAgeMs/);
    expect(() => new TenzroPlatform({ ...options, insecureAcceptUnverifiedAttestation: 'yes' as unknown as boolean })).toThrow(/insecureAcceptUnverifiedAttestation/);
  });

  it('defaults the base URL to TENZRO_BASE_URL, else localhost:8787', () => {
    const names = ['TENZRO_CREDENTIALS', 'TENZRO_BASE_URL', 'TENZRO_DATA_DIR'] as const;
    const saved = names.map((name) => process.env[name]);
    try {
      delete process.env.TENZRO_CREDENTIALS;
      delete process.env.TENZRO_BASE_URL;
      process.env.TENZRO_DATA_DIR = mkdtempSync(join(tmpdir(), 'tenzro-empty-'));
      expect(new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA' }).baseUrl).toBe(DEFAULT_BASE_URL);
      process.env.TENZRO_BASE_URL = 'http://tenzro.internal:9000';
      expect(new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA' }).baseUrl).toBe('http://tenzro.internal:9000');
    } finally {
      names.forEach((name, i) => {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      });
    }
  });
});
