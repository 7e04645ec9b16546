// The session state machine of DESIGN §6: each transition and its audit entry in one transaction, the run
// as a job, results per recipient, crypto-shredding after the run, cancellation.
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
  type TestServer,
  refuseInserts,
} from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function sessionRow(id: string) {
  return t.server.ctx.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function waitForRun(sessionId: string, runId: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const response = await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}` });
    const run = t.json(response);
    if (run.status === 'completed' || run.status === 'failed') return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the run did not finish');
}

describe('transitions', () => {
  it('moves created → collecting → awaiting_consent → ready, each with its audit entry', async () => {
    const session = await createTestSession(t);
    expect((await sessionRow(session.id)).status).toBe('created');

    expect(t.json(await submitValid(t, 'bankA', session.id, demoData('bankA'))).status).toBe('collecting');
    expect(t.json(await submitValid(t, 'bankB', session.id, demoData('bankB'))).status).toBe('awaiting_consent');
    expect(t.json(await consent(t, 'bankA', session.id)).status).toBe('awaiting_consent');
    expect(t.json(await consent(t, 'bankB', session.id)).status).toBe('ready');

    const row = await sessionRow(session.id);
    expect(row.status).toBe('ready');
    expect(row.version).toBe(5);
    const audit = await t.server.ctx.db.selectFrom('audit_events').selectAll().where('session_id', '=', session.id).orderBy('seq').execute();
    expect(audit.map((a) => [a.type, a.actor_party, JSON.parse(a.payload_json).status ?? null])).toEqual([
      ['session_created', null, null],
      ['key_issued', null, null],
      ['data_submitted', PARTY.bankA, 'collecting'],
      ['session_joined', PARTY.bankB, null],
      ['data_submitted', PARTY.bankB, 'awaiting_consent'],
      ['consent_recorded', PARTY.bankA, 'awaiting_consent'],
      ['consent_recorded', PARTY.bankB, 'ready'],
    ]);
    const again = await consent(t, 'bankB', session.id);
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.code).toBe('already_consented');
  });

  it('rolls the state change back when its audit entry cannot be written (one transaction)', async () => {
    const session = await createTestSession(t);
    const allow = await refuseInserts(t, { table: 'audit_events', auditType: 'consent_recorded' });
    try {
      const response = await consent(t, 'bankA', session.id);
      expect(response.statusCode).toBe(500);
      expect(t.json(response)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    } finally {
      await allow();
    }
    expect(await t.server.ctx.db.selectFrom('consents').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    const row = await sessionRow(session.id);
    expect(row.status).toBe('created');
    expect(row.version).toBe(1);
    expect(await auditTypes(t, session.id)).toEqual(['session_created', 'key_issued']);
  });

  it('refuses to run before the session is ready (409 session_not_ready), with no run row', async () => {
    const session = await createTestSession(t);
    const response = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'p' } });
    expect(response.statusCode).toBe(409);
    expect(t.json(response).error.code).toBe('session_not_ready');
    expect(await t.server.ctx.db.selectFrom('runs').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
  });
});

describe('run, result and retention', () => {
  it('runs once, releases one sealed result per recipient, then shreds the inputs', async () => {
    const session = await createTestSession(t);
    await submitValid(t, 'bankA', session.id, demoData('bankA'));
    await submitValid(t, 'bankB', session.id, demoData('bankB'));
    await consent(t, 'bankA', session.id);
    await consent(t, 'bankB', session.id);
    const blobsBefore = await t.server.ctx.db.selectFrom('submissions').select('blob_hash').where('session_id', '=', session.id).execute();
    expect(blobsBefore).toHaveLength(2);

    const first = await t.inject('bankB', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'Find cross-bank fraud rings' } });
    expect([200, 202]).toContain(first.statusCode);
    const runId = t.json(first).runId;
    const run = await waitForRun(session.id, runId);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.attempts).toBe(1);

    const again = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'again' } });
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.code).toBe('session_completed');

    for (const who of ['bankA', 'bankB', 'regulator'] as const) {
      const result = await t.inject(who, { method: 'GET', url: `/v1/sessions/${session.id}/result` });
      expect(result.statusCode, result.body).toBe(200);
      const body = t.json(result);
      expect(body).toMatchObject({ sessionId: session.id, runId, recipient: PARTY[who] });
      expect(body.report.includedParties).toEqual([PARTY.bankA, PARTY.bankB]);
    }
    const results = await t.server.ctx.db.selectFrom('results').selectAll().where('session_id', '=', session.id).execute();
    expect(results.map((r) => r.party_id).sort()).toEqual([PARTY.bankA, PARTY.bankB, PARTY.regulator].sort());

    // What the host handed back is the enclave's sealed body: the observer opens it with its own key.
    const { RESULT_INFO, fromBase64Url, openEnvelope, utf8Decode } = await import('@tenzro/crypto');
    const sealed = t.json(await t.inject('regulator', { method: 'GET', url: `/v1/sessions/${session.id}/result` }));
    const regulatorKey = t.credentials.parties.find((p) => p.tenantId === 'regulator')!.encryptionKey.privateKey;
    const body = JSON.parse(utf8Decode(await openEnvelope(fromBase64Url(regulatorKey), fromBase64Url(sealed.sealedResult), { info: RESULT_INFO })));
    expect(body).toMatchObject({ sessionId: session.id, runId, recipient: PARTY.regulator });

    // delete_after_inference: ciphertexts and the sealed key are gone, and the log says so. The files and
    // the enclave's key copy go right after the completing transaction commits.
    for (let i = 0; i < 200 && !(await auditTypes(t, session.id)).includes('key_destroyed'); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const row = await sessionRow(session.id);
    expect(row.status).toBe('completed');
    expect(row.sealed_key).toBeNull();
    for (const { blob_hash } of blobsBefore) expect(await t.server.ctx.blobs.exists(blob_hash)).toBe(false);
    const submissions = await t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute();
    expect(submissions.every((s) => s.deleted_at !== null)).toBe(true);
    const types = await auditTypes(t, session.id);
    expect(types.slice(-6)).toEqual(['run_requested', 'run_started', 'result_released', 'data_destroyed', 'key_destroyed', 'deletion_attested']);
    const key = await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/key` });
    expect(key.statusCode).toBe(409);
  });

  it('answers 409 session_not_ready for a result before completion', async () => {
    const session = await createTestSession(t);
    const response = await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/result` });
    expect(response.statusCode).toBe(409);
    expect(t.json(response).error.code).toBe('session_not_ready');
  });
});

describe('cancellation', () => {
  it('cancels, deletes blobs and the sealed key, and answers 410 afterwards', async () => {
    const session = await createTestSession(t);
    const submitted = t.json(await submitValid(t, 'bankB', session.id, demoData('bankB')));
    const hash = submitted.ciphertextHash.slice('sha256:'.length);
    expect(await t.server.ctx.blobs.exists(hash)).toBe(true);
    const response = await t.inject('bankB', { method: 'POST', url: `/v1/sessions/${session.id}/cancel`, payload: { reason: 'changed our mind' } });
    expect(response.statusCode).toBe(200);
    expect(t.json(response).status).toBe('cancelled');
    expect(await t.server.ctx.blobs.exists(hash)).toBe(false);
    expect((await sessionRow(session.id)).sealed_key).toBeNull();
    expect((await auditTypes(t, session.id)).slice(-4)).toEqual(['session_cancelled', 'data_destroyed', 'key_destroyed', 'deletion_attested']);
    const audit = await t.server.ctx.db.selectFrom('audit_events').select('payload_json').where('session_id', '=', session.id).execute();
    expect(JSON.stringify(audit)).not.toContain('changed our mind');

    for (const probe of [
      { method: 'GET' as const, url: `/v1/sessions/${session.id}/key` },
      { method: 'POST' as const, url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'p' } },
      { method: 'POST' as const, url: `/v1/sessions/${session.id}/cancel`, payload: {} },
      { method: 'GET' as const, url: `/v1/sessions/${session.id}/result` },
    ]) {
      const refused = await t.inject('bankA', probe);
      expect(refused.statusCode, probe.url).toBe(410);
      expect(t.json(refused).error.code).toBe('session_cancelled');
    }
    expect((await consent(t, 'bankA', session.id)).statusCode).toBe(410);
    expect(await blobFiles(t)).not.toContain(hash);
  });
});
