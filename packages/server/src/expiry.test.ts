// expiresAt is enforced by the server clock even when nobody calls (DESIGN §6; RELIABILITY 29).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditTypes,
  consent,
  createTestSession,
  demoData,
  startTestServer,
  submitValid,
  type TestServer,
} from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ start: { expirySweepMs: 100 } });
});
afterAll(async () => {
  await t?.close();
});

async function waitFor(predicate: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function sessionRow(id: string) {
  return t.server.ctx.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe('the expiry sweeper', () => {
  it('expires an overdue session with nobody calling, and deletes its blobs and sealed key', async () => {
    const session = await createTestSession(t, { expiresAt: new Date(Date.now() + 120_000).toISOString() });
    const submitted = t.json(await submitValid(t, 'bankA', session.id, demoData('bankA')));
    const hash = submitted.ciphertextHash.slice('sha256:'.length);
    expect(await t.server.ctx.blobs.exists(hash)).toBe(true);

    t.clockOffsetMs = 180_000; // three minutes later, and no request arrives
    try {
      await waitFor(async () => (await sessionRow(session.id)).status === 'expired', 'the session to expire');
      await waitFor(async () => (await auditTypes(t, session.id)).includes('key_destroyed'), 'the key to be destroyed');
    } finally {
      t.clockOffsetMs = 0;
    }
    const row = await sessionRow(session.id);
    expect(row.sealed_key).toBeNull();
    expect(row.key_destroyed_at).not.toBeNull();
    expect(await t.server.ctx.blobs.exists(hash)).toBe(false);
    const submissions = await t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute();
    expect(submissions.map((s) => s.deleted_at !== null)).toEqual([true]);
    expect(await auditTypes(t, session.id)).toEqual([
      'session_created',
      'key_issued',
      'data_submitted',
      'session_expired',
      'data_destroyed',
      'key_destroyed',
      'deletion_attested',
    ]);

    for (const probe of [
      { method: 'GET' as const, url: `/v1/sessions/${session.id}/key` },
      { method: 'POST' as const, url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'p' } },
    ]) {
      const response = await t.inject('bankA', probe);
      expect(response.statusCode).toBe(410);
      expect(t.json(response).error.code).toBe('session_expired');
    }
    expect((await consent(t, 'bankB', session.id)).statusCode).toBe(410);
    expect((await submitValid(t, 'bankB', session.id, demoData('bankB')).catch(() => ({ statusCode: 410 }))).statusCode).toBe(410);
  });

  it('expires a session on access when a caller arrives before the sweeper', async () => {
    const slow = await startTestServer({ start: { expirySweepMs: 3_600_000 } });
    try {
      const session = await createTestSession(slow, { expiresAt: new Date(Date.now() + 120_000).toISOString() });
      slow.clockOffsetMs = 180_000;
      const response = await slow.inject('bankB', { method: 'GET', url: `/v1/sessions/${session.id}/key` });
      expect(response.statusCode).toBe(410);
      expect(t.json(response).error.code).toBe('session_expired');
      const status = slow.json(await slow.inject('bankB', { method: 'GET', url: `/v1/sessions/${session.id}/status` }));
      expect(status.status).toBe('expired');
    } finally {
      await slow.close();
    }
  });

  it('fires the timer armed for the next expiry', async () => {
    const slow = await startTestServer({ start: { expirySweepMs: 3_600_000 } });
    try {
      const session = await createTestSession(slow, { expiresAt: new Date(Date.now() + 120_000).toISOString() });
      slow.clockOffsetMs = 120_000 - 200; // 200 ms before the expiry
      await slow.server.expiry.rearm();
      const row = () => slow.server.ctx.db.selectFrom('sessions').select('status').where('id', '=', session.id).executeTakeFirstOrThrow();
      expect((await row()).status).toBe('created');
      await waitFor(async () => (await row()).status === 'expired', 'the armed timer');
    } finally {
      await slow.close();
    }
  });

  it('deletes a completed session’s retained data at expiry and keeps it completed', async () => {
    const session = await createTestSession(t, {
      expiresAt: new Date(Date.now() + 120_000).toISOString(),
      dataPolicy: { retentionPolicy: 'retain_until_expiry' },
    });
    await submitValid(t, 'bankA', session.id, demoData('bankA'));
    await submitValid(t, 'bankB', session.id, demoData('bankB'));
    await consent(t, 'bankA', session.id);
    await consent(t, 'bankB', session.id);
    const run = t.json(await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'p' } }));
    await waitFor(async () => (await sessionRow(session.id)).status === 'completed', 'the run');
    expect((await sessionRow(session.id)).sealed_key).not.toBeNull();
    const hashes = (await t.server.ctx.db.selectFrom('submissions').select('blob_hash').where('session_id', '=', session.id).execute()).map((r) => r.blob_hash);
    for (const hash of hashes) expect(await t.server.ctx.blobs.exists(hash)).toBe(true);

    t.clockOffsetMs = 180_000;
    try {
      await waitFor(async () => (await sessionRow(session.id)).sealed_key === null, 'retention expiry');
    } finally {
      t.clockOffsetMs = 0;
    }
    await waitFor(async () => (await auditTypes(t, session.id)).includes('key_destroyed'), 'key destruction');
    expect((await sessionRow(session.id)).status).toBe('completed');
    for (const hash of hashes) expect(await t.server.ctx.blobs.exists(hash)).toBe(false);
    const result = await t.inject('regulator', { method: 'GET', url: `/v1/sessions/${session.id}/result` });
    expect(result.statusCode).toBe(200);
    expect(t.json(result).runId).toBe(run.runId);
  });
});
