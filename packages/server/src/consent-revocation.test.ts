// RELIABILITY item 10: a consent revoked before the run — the party is excluded (if minParticipants still
// holds) or the run does not start; its data is deleted. In-process server with the real enclave.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PARTY,
  auditTypes,
  blobFiles,
  consent,
  createTestSession,
  demoData,
  startTestServer,
  submitValid,
  type DemoName,
  type TestServer,
} from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

function revoke(who: DemoName, sessionId: string) {
  return t.inject(who, { method: 'DELETE', url: `/v1/sessions/${sessionId}/consents` });
}

async function readySession(participants: DemoName[], minParticipants: number): Promise<string> {
  const session = await createTestSession(t, { participants, dataPolicy: { minParticipants } });
  for (const who of participants) expect((await submitValid(t, who, session.id, demoData(who))).statusCode).toBe(201);
  for (const who of participants) expect((await consent(t, who, session.id)).statusCode).toBe(201);
  return session.id;
}

async function submissionOf(sessionId: string, who: DemoName) {
  return t.server.ctx.db
    .selectFrom('submissions')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('party_id', '=', PARTY[who])
    .executeTakeFirstOrThrow();
}

async function waitForRun(sessionId: string, runId: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const run = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}` }));
    if (run.status === 'completed' || run.status === 'failed') return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the run did not finish');
}

describe('revoking a consent before the run', () => {
  it('deletes the party’s consent and data, re-derives the status and audits it; twice is 409', async () => {
    const sessionId = await readySession(['bankA', 'bankB'], 2);
    const submission = await submissionOf(sessionId, 'bankB');
    expect(await blobFiles(t)).toContain(submission.blob_hash);

    const response = await revoke('bankB', sessionId);
    expect(response.statusCode, response.body).toBe(200);
    const body = t.json(response);
    expect(body).toMatchObject({ sessionId, partyId: PARTY.bankB, submissionDeleted: true, status: 'collecting' });

    expect((await submissionOf(sessionId, 'bankB')).deleted_at).toBe(body.revokedAt);
    expect(await blobFiles(t)).not.toContain(submission.blob_hash);
    const status = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/status` }));
    expect(status).toMatchObject({ status: 'collecting', dataSubmittedBy: [PARTY.bankA], consentedParticipants: [PARTY.bankA], readyToRun: false });

    const event = await t.server.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('type', '=', 'consent_revoked')
      .executeTakeFirstOrThrow();
    expect(event.actor_party).toBe(PARTY.bankB);
    expect(JSON.parse(event.payload_json)).toMatchObject({
      partyId: PARTY.bankB,
      submissionDeleted: true,
      ciphertextHash: 'sha256:' + submission.blob_hash,
    });

    const again = await revoke('bankB', sessionId);
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.code).toBe('conflict');
    // The excluded party cannot consent again (its data is gone).
    expect((await consent(t, 'bankB', sessionId)).statusCode).toBe(409);
  });

  it('a run afterwards includes only the others when minParticipants still holds', async () => {
    const sessionId = await readySession(['bankA', 'bankB', 'bankC'], 2);
    const response = await revoke('bankC', sessionId);
    expect(response.statusCode, response.body).toBe(200);
    expect(t.json(response).status).toBe('ready');

    const queued = t.json(await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, payload: { prompt: 'p' } }));
    const run = await waitForRun(sessionId, queued.runId);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const released = await t.server.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('type', '=', 'result_released')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(released.payload_json).includedParties).toEqual([PARTY.bankA, PARTY.bankB]);
    const after = await revoke('bankA', sessionId);
    expect(after.statusCode).toBe(409);
    expect(t.json(after).error.code).toBe('session_completed');
  });

  it('refuses observers (403, audited) and hides the session from outsiders (404)', async () => {
    const sessionId = await readySession(['bankA', 'bankB'], 2);
    const before = (await auditTypes(t, sessionId)).length;
    const observer = await revoke('regulator', sessionId);
    expect(observer.statusCode).toBe(403);
    expect((await auditTypes(t, sessionId)).slice(before)).toEqual(['access_denied']);
    const outsider = await revoke('bankC', sessionId);
    expect(outsider.statusCode).toBe(404);
    expect(t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/status` })).status).toBe('ready');
  });
});
