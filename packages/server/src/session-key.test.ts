// GET /v1/sessions/:id/key (DESIGN §5.2): the host asks the enclave for a fresh attestation document on
// every call, so a key fetched long after the session was created still verifies at the current time;
// when the enclave cannot attest now the answer is 503, never the stale document made at creation.
import { fromBase64Url } from '@tenzro/crypto';
import { parseAttestationDocument, sessionKeyUserData, verifyAttestation } from '@tenzro/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSession, startTestServer, type TestServer } from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ start: { enclave: { timeoutsMs: { attestSessionKey: 1_000 } } } });
});
afterAll(async () => {
  await t?.close();
});

async function storedAttestation(sessionId: string): Promise<string> {
  const row = await t.server.ctx.db.selectFrom('sessions').select('attestation').where('id', '=', sessionId).executeTakeFirstOrThrow();
  return row.attestation;
}

describe('GET /v1/sessions/:id/key', () => {
  it('serves a document the enclave issued for this request, binding the stored key to the session', async () => {
    const session = await createTestSession(t);
    const atCreation = await storedAttestation(session.id);
    const info = t.server.enclave.info()!;
    const bodies = [];
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const response = await t.inject('bankB', { method: 'GET', url: `/v1/sessions/${session.id}/key` });
      expect(response.statusCode).toBe(200);
      bodies.push(t.json(response));
    }
    const created = parseAttestationDocument(fromBase64Url(atCreation)).timestamp;
    expect(new Set([atCreation, ...bodies.map((b) => b.attestation)]).size).toBe(3);
    for (const body of bodies) {
      expect(body.publicKey).toBe(bodies[0].publicKey);
      const verified = await verifyAttestation(body.attestation, {
        roots: [info.rootPem],
        expectedMeasurements: [info.measurement],
        expectedPublicKey: fromBase64Url(body.publicKey),
        expectedUserData: sessionKeyUserData(session.id),
        maxAgeMs: 60_000,
      });
      expect(verified.timestamp).toBeGreaterThan(created);
    }
  });

  it('answers 503 enclave_unavailable, not the stored document, when the enclave cannot attest', async () => {
    const session = await createTestSession(t);
    const atCreation = await storedAttestation(session.id);
    const pid = t.server.enclave.info()!.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      const response = await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/key` });
      expect(response.statusCode).toBe(503);
      expect(t.json(response).error.code).toBe('enclave_unavailable');
      expect(response.body).not.toContain(atCreation);
      expect(t.json(response)).not.toHaveProperty('attestation');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const again = await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/key` });
    expect(again.statusCode).toBe(200);
  });
});
