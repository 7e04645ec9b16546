// Faults (RELIABILITY 24–26): the enclave dies or hangs mid-run; the server is killed with a run in flight.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consent,
  createTestSession,
  demoData,
  startTestServer,
  submitValid,
  type TestServer,
  TEST_DATABASE,
} from './harness.fixture.js';

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function readySession(t: TestServer): Promise<string> {
  const session = await createTestSession(t);
  await submitValid(t, 'bankA', session.id, demoData('bankA'));
  await submitValid(t, 'bankB', session.id, demoData('bankB'));
  await consent(t, 'bankA', session.id);
  expect(t.json(await consent(t, 'bankB', session.id)).status).toBe('ready');
  return session.id;
}

describe('the enclave supervisor', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ start: { enclave: { timeoutsMs: { run: 1_500 }, initialBackoffMs: 50 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('restarts a killed enclave, says hello again, and serves the next request', async () => {
    const before = t.server.enclave.info()!;
    process.kill(before.pid, 'SIGKILL');
    await waitFor(async () => (t.server.enclave.ready() && t.server.enclave.info()!.pid !== before.pid ? true : undefined), 'a restart');
    expect(t.server.enclave.info()!.measurement).toBe(before.measurement);
    const session = await createTestSession(t);
    expect(session.status).toBe('created');
  });

  it('fails a run clearly when the enclave hangs, puts the session back to ready, and a retry completes', async () => {
    const sessionId = await readySession(t);
    const pid = t.server.enclave.info()!.pid;
    process.kill(pid, 'SIGSTOP');
    const queued = t.json(await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, payload: { prompt: 'p' } }));
    const failed = await waitFor(async () => {
      const run = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${queued.runId}` }));
      return run.status === 'failed' ? run : undefined;
    }, 'the run to fail');
    expect(failed.error).toMatchObject({ code: 'enclave_unavailable', retryable: true });
    const status = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/status` }));
    expect(status.status).toBe('ready');
    expect(status.lastRun.runId).toBe(queued.runId);

    await waitFor(async () => (t.server.enclave.ready() && t.server.enclave.info()!.pid !== pid ? true : undefined), 'a restart');
    const retry = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, payload: { prompt: 'p' } });
    expect(retry.statusCode).toBe(202);
    const retried = t.json(retry);
    expect(retried.runId).not.toBe(queued.runId);
    const done = await waitFor(async () => {
      const run = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${retried.runId}` }));
      return run.status === 'completed' || run.status === 'failed' ? run : undefined;
    }, 'the retried run');
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const results = await t.server.ctx.db.selectFrom('results').selectAll().where('session_id', '=', sessionId).execute();
    expect(new Set(results.map((r) => r.run_id))).toEqual(new Set([retried.runId]));
  });
});

describe('a run that outlives its lease', () => {
  it('keeps it by renewal: nobody takes it over, it runs once (attempt 1)', async () => {
    const t = await startTestServer({ env: { TENZRO_RUN_LEASE_MS: '1500', TENZRO_SWEEP_INTERVAL_MS: '250' } });
    try {
      const sessionId = await readySession(t);
      const pid = t.server.enclave.info()!.pid;
      process.kill(pid, 'SIGSTOP'); // the enclave holds the run for more than two leases
      const { runId } = t.json(await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, payload: { prompt: 'p' } }));
      await waitFor(async () => (t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}` })).status === 'running' ? true : undefined), 'the claim');
      await new Promise((r) => setTimeout(r, 4_000));
      process.kill(pid, 'SIGCONT');
      const run = await waitFor(async () => {
        const r = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}` }));
        return r.status === 'completed' || r.status === 'failed' ? r : undefined;
      }, 'the run');
      expect(run).toMatchObject({ status: 'completed', attempts: 1 });
      const types = (await t.server.ctx.db.selectFrom('audit_events').select('type').where('session_id', '=', sessionId).execute()).map((r) => r.type);
      expect(types).not.toContain('run_requeued');
      expect(types.filter((x) => x === 'run_started')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});

describe('a server killed with a run in flight', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tenzro-restart-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  // SQLite: one process owns the database, so the next start requeues the run at once. PostgreSQL: another
  // instance may own a running run, so it is claimed again once its lease lapses (found by the sweep).
  const postgres = TEST_DATABASE === 'postgres';

  it('queues the run again at the next start and completes it exactly once', async () => {
    const first = await startTestServer({ dataDir });
    let sessionId: string;
    let runId: string;
    try {
      sessionId = await readySession(first);
      // Simulate the state a kill -9 leaves: the run claimed (running, leased) and the session running.
      await first.server.jobs.close();
      runId = t_json(await first.inject('bankA', { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, payload: { prompt: 'p' } })).runId;
      await first.server.ctx.db
        .updateTable('runs')
        .set({ status: 'running', attempts: 1, lease_until: new Date(Date.now() + (postgres ? 1_000 : 600_000)).toISOString() })
        .where('id', '=', runId)
        .execute();
      await first.server.ctx.db.updateTable('sessions').set({ status: 'running' }).where('id', '=', sessionId).execute();
    } finally {
      await first.close();
    }

    const second = await startTestServer({ dataDir, env: { TENZRO_SWEEP_INTERVAL_MS: '500' } });
    try {
      const run = await waitFor(async () => {
        const r = second.json(await second.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}` }));
        return r.status === 'completed' || r.status === 'failed' ? r : undefined;
      }, 'the recovered run');
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      expect(run.attempts).toBe(2);
      const types = (await second.server.ctx.db.selectFrom('audit_events').select('type').where('session_id', '=', sessionId).orderBy('seq').execute()).map((r) => r.type);
      expect(types.filter((x) => x === 'run_requeued')).toHaveLength(1);
      const requeued = await second.server.ctx.db.selectFrom('audit_events').select('payload_json').where('session_id', '=', sessionId).where('type', '=', 'run_requeued').executeTakeFirstOrThrow();
      expect(JSON.parse(requeued.payload_json).reason).toBe(postgres ? 'lease_lapsed' : 'restart');
      expect(types.filter((x) => x === 'result_released')).toHaveLength(1);
      const results = await second.server.ctx.db.selectFrom('results').selectAll().where('session_id', '=', sessionId).execute();
      expect(results).toHaveLength(3);
    } finally {
      await second.close();
    }
  });
});

function t_json(response: { body: string }): any {
  return JSON.parse(response.body);
}
