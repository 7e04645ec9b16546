// Object- and function-level authorisation (DESIGN §4; RELIABILITY 1–3, 5).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PARTY,
  auditTypes,
  createTestSession,
  startTestServer,
  uploadData,
  type TestServer,
} from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const FULL = { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true };

describe('outsiders get 404, never 403', () => {
  it('answers every route of a session the caller is not in exactly as for a session that does not exist', async () => {
    const session = await createTestSession(t); // bankA creates; bankA, bankB participate; regulator observes
    const ghost = 'mps_' + 'a'.repeat(26);
    const probes = (id: string) => [
      { method: 'GET' as const, url: `/v1/sessions/${id}` },
      { method: 'GET' as const, url: `/v1/sessions/${id}/status` },
      { method: 'GET' as const, url: `/v1/sessions/${id}/key` },
      { method: 'GET' as const, url: `/v1/sessions/${id}/result` },
      { method: 'GET' as const, url: `/v1/sessions/${id}/runs/run_x` },
      { method: 'POST' as const, url: `/v1/sessions/${id}/consents`, payload: { consent: FULL, signature: 'AAAA' } },
      { method: 'POST' as const, url: `/v1/sessions/${id}/runs`, payload: { prompt: 'x' } },
      { method: 'POST' as const, url: `/v1/sessions/${id}/cancel`, payload: {} },
    ];
    for (const id of [session.id, ghost]) {
      for (const probe of probes(id)) {
        const response = await t.inject('bankC', probe);
        expect(response.statusCode, `${probe.method} ${probe.url}`).toBe(404);
        expect(t.json(response)).toEqual({ error: { code: 'not_found', message: 'session not found' } });
      }
      const upload = await uploadData(t, 'bankC', id, Buffer.from('x'));
      expect(upload.statusCode).toBe(404);
    }
    const join = await t.inject('bankC', { method: 'GET', url: `/v1/join/${session.joinCode}` });
    expect(join.statusCode).toBe(404);
    // Each refusal of the existing session is a leaf of its trail (issue 3), with the code only; the
    // session that does not exist has none, and the outsider's answer was the same for both.
    const probesOfSession = probes(session.id).length + 1;
    expect(await auditTypes(t, session.id)).toEqual(['session_created', 'key_issued', ...Array<string>(probesOfSession).fill('access_denied')]);
    const denials = await t.server.ctx.db.selectFrom('audit_events').selectAll().where('session_id', '=', session.id).where('type', '=', 'access_denied').execute();
    for (const denial of denials) {
      expect(denial).toMatchObject({ actor_tenant: 'bankC', actor_party: null });
      expect(JSON.parse(denial.payload_json)).toEqual({ code: 'not_found' });
    }
    expect(await auditTypes(t, ghost)).toEqual([]);
  });

  it('lets every roster tenant see the session, with its own roles', async () => {
    const session = await createTestSession(t);
    const asRegulator = t.json(await t.inject('regulator', { method: 'GET', url: `/v1/sessions/${session.id}` }));
    expect(asRegulator.yourRoles).toEqual(['observer']);
    const asB = t.json(await t.inject('bankB', { method: 'GET', url: `/v1/sessions/${session.id}` }));
    expect(asB.yourRoles).toEqual(['participant']);
    const asA = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}` }));
    expect(asA.yourRoles).toEqual(['creator', 'participant']);
    const join = await t.inject('bankB', { method: 'GET', url: `/v1/join/${session.joinCode.toLowerCase()}` });
    expect(join.statusCode).toBe(200);
    expect(t.json(join).session.id).toBe(session.id);
  });

  it('hides a join code from the creator when none of its parties is on the roster', async () => {
    const session = await createTestSession(t, { creator: 'bankC', participants: ['bankA', 'bankB'] });
    expect((await t.inject('bankC', { method: 'GET', url: `/v1/sessions/${session.id}` })).statusCode).toBe(200);
    expect((await t.inject('bankC', { method: 'GET', url: `/v1/join/${session.joinCode}` })).statusCode).toBe(404);
  });
});

describe('observers contribute nothing', () => {
  it('refuses an observer’s upload with 403, audits the denial, and stores nothing', async () => {
    const session = await createTestSession(t);
    const response = await uploadData(t, 'regulator', session.id, randomBytes(1024));
    expect(response.statusCode).toBe(403);
    expect(t.json(response).error.code).toBe('forbidden');
    expect(await t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    expect(await t.server.ctx.blobs.tempFiles()).toEqual([]);
    const denial = await t.server.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('session_id', '=', session.id)
      .where('type', '=', 'access_denied')
      .executeTakeFirstOrThrow();
    expect(denial.actor_tenant).toBe('regulator');
    expect(denial.actor_party).toBe(PARTY.regulator);
    expect(JSON.parse(denial.payload_json)).toEqual({ action: 'submit data', code: 'forbidden' });
  });

  it('refuses an observer’s consent and run with 403, audited, with no rows', async () => {
    const session = await createTestSession(t);
    const consent = await t.inject('regulator', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/consents`,
      payload: { consent: FULL, signature: t.consentSignature('regulator', session.id) },
    });
    expect(consent.statusCode).toBe(403);
    const run = await t.inject('regulator', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'go' } });
    expect(run.statusCode).toBe(403);
    const cancel = await t.inject('regulator', { method: 'POST', url: `/v1/sessions/${session.id}/cancel` });
    expect(cancel.statusCode).toBe(403);
    expect(await t.server.ctx.db.selectFrom('consents').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    expect(await t.server.ctx.db.selectFrom('runs').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    expect(await auditTypes(t, session.id)).toEqual(['session_created', 'key_issued', 'access_denied', 'access_denied', 'access_denied']);
    const status = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/status` }));
    expect(status.status).toBe('created');
  });
});

describe('acting party', () => {
  it('refuses a header naming another tenant\'s party with 403 on any session route, and logs the refusal', async () => {
    const session = await createTestSession(t);
    for (const url of [`/v1/sessions/${session.id}`, `/v1/sessions/${session.id}/trail`, `/v1/sessions/${session.id}/result`]) {
      const response = await t.inject('bankA', { method: 'GET', url, headers: { 'x-tenzro-party-id': PARTY.bankB } });
      expect(response.statusCode, url).toBe(403);
      expect(t.json(response).error.code).toBe('forbidden');
    }
    expect(await auditTypes(t, session.id)).toEqual(['session_created', 'key_issued', 'access_denied', 'access_denied', 'access_denied']);
    const denials = await t.server.ctx.db.selectFrom('audit_events').selectAll().where('session_id', '=', session.id).where('type', '=', 'access_denied').execute();
    for (const denial of denials) {
      expect(denial).toMatchObject({ actor_tenant: 'bankA', actor_party: null });
      expect(JSON.parse(denial.payload_json)).toEqual({ code: 'forbidden' });
    }
  });

  it('asks a tenant with several parties on the roster to name one (400 party_ambiguous)', async () => {
    const register = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/parties',
      payload: {
        partyId: 'party::bankA::ops',
        signingKey: randomBytes(32).toString('base64url'),
        encryptionKey: randomBytes(32).toString('base64url'),
      },
    });
    expect(register.statusCode).toBe(201);
    const created = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      payload: { name: 'two of mine', modelId: 'risk-analyzer-v2', participants: [PARTY.bankA, 'party::bankA::ops'] },
    });
    expect(created.statusCode).toBe(201);
    const id = t.json(created).id;
    const ambiguous = await t.inject('bankA', {
      method: 'POST',
      url: `/v1/sessions/${id}/consents`,
      payload: { consent: FULL, signature: t.consentSignature('bankA', id) },
    });
    expect(ambiguous.statusCode).toBe(400);
    expect(t.json(ambiguous).error.code).toBe('party_ambiguous');
    const named = await t.inject('bankA', {
      method: 'POST',
      url: `/v1/sessions/${id}/consents`,
      headers: { 'x-tenzro-party-id': PARTY.bankA },
      payload: { consent: FULL, signature: t.consentSignature('bankA', id) },
    });
    expect(named.statusCode).toBe(201);
    expect(t.json(named)).toMatchObject({ partyId: PARTY.bankA, status: 'collecting' });
  });

  it('refuses a consent signed by another key (422) without storing it', async () => {
    const session = await createTestSession(t);
    const response = await t.inject('bankB', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/consents`,
      payload: { consent: FULL, signature: t.consentSignature('bankA', session.id) },
    });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('consent_signature_invalid');
    expect(await t.server.ctx.db.selectFrom('consents').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
  });

  it('refuses a consent for another session (the id commits to the terms)', async () => {
    const one = await createTestSession(t);
    const two = await createTestSession(t);
    const response = await t.inject('bankB', {
      method: 'POST',
      url: `/v1/sessions/${two.id}/consents`,
      payload: { consent: FULL, signature: t.consentSignature('bankB', one.id) },
    });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('consent_signature_invalid');
  });
});
