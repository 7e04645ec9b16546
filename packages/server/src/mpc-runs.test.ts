// docs/mpc.md, "Host (server)" — the run: the job runner's mpc phase over a real local fleet of compute
// node processes and the real enclave. Two parties contribute real share bundles; the nodes run the
// model's program (preprocessed at session creation) and the enclave reconstructs the outputs. With too
// few live nodes the run fails with mpc_nodes_unavailable (retryable) and the session takes a new run,
// which succeeds once the nodes are back (the fleet restarts exited nodes before each run). A prep handed
// to a run is spent even when that run fails and the nodes still list it; a node that cannot be restarted
// does not stop a run that has enough live nodes.
import { randomBytes, toBase64Url } from '@tenzro/crypto';
import { listPreprocessed } from '@tenzro/mpc-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { preprocessingSettled } from './domain/mpc.js';

// The nodes as the host lists them may still name a prep a run used (a node that sat the run out and
// missed the coordinator's DELETE): `stale` adds such an entry to what the real nodes answer.
const stale = vi.hoisted(() => ({ entry: undefined as { prepId: string; indices: number[] } | undefined }));
vi.mock('@tenzro/mpc-node', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@tenzro/mpc-node')>();
  return {
    ...actual,
    listPreprocessed: async (...args: Parameters<typeof actual.listPreprocessed>) => {
      const held = await actual.listPreprocessed(...args);
      if (stale.entry) held.set(stale.entry.prepId, stale.entry.indices);
      return held;
    },
  };
});
import { consent, startTestServer, type DemoName, type TestServer } from './harness.fixture.js';
import { createMpcSession, postShares, shareBundle, until, verifiedNodes } from './mpc.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { TENZRO_MPC_STEP_TIMEOUT_MS: '8000' } });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function contribute(sessionId: string, parties: DemoName[]): Promise<void> {
  const nodes = await verifiedNodes(t, parties[0]!, sessionId);
  for (const who of parties) {
    const response = await postShares(t, who, sessionId, await shareBundle(t, who, sessionId, nodes, { count: 25 + who.length }));
    expect(response.statusCode, response.body).toBe(201);
    expect((await consent(t, who, sessionId)).statusCode).toBe(201);
  }
}

async function startRun(sessionId: string): Promise<string> {
  const response = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, payload: { prompt: 'Summarise the shared risk picture' } });
  expect(response.statusCode, response.body).toBe(202);
  return t.json(response).runId;
}

async function runOutcome(sessionId: string, runId: string): Promise<any> {
  return until(
    'the run to finish',
    async () => {
      const run = t.json((await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}` })));
      return run.status === 'completed' || run.status === 'failed' ? run : undefined;
    },
    50_000,
  );
}

async function auditPayloads(sessionId: string, type: string): Promise<any[]> {
  const rows = await t.server.ctx.db.selectFrom('audit_events').select('payload_json').where('session_id', '=', sessionId).where('type', '=', type as never).orderBy('seq').execute();
  return rows.map((r) => JSON.parse(r.payload_json));
}

describe('an mpc run', () => {
  it('runs the program on the nodes and releases the enclave’s report; the audit names the nodes, never values', async () => {
    const session = await createMpcSession(t);
    await contribute(session.id, ['bankA', 'bankB']);
    const runId = await startRun(session.id);
    const run = await runOutcome(session.id, runId);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');

    const [released] = await auditPayloads(session.id, 'result_released');
    expect(released.report).toMatchObject({ sessionId: session.id, runId, modelId: 'risk-analyzer-v2' });
    expect(released.includedParties).toEqual(['party::bankA::treasury', 'party::bankB::treasury']);
    expect(released.mpc).toMatchObject({ runTag: `${runId}.1`, prepId: expect.stringMatching(/^prep-/), nodes: [1, 2, 3], down: [] });
    const result = await t.inject('bankB', { method: 'GET', url: `/v1/sessions/${session.id}/result` });
    expect(result.statusCode, result.body).toBe(200);
  });

  it('fails with mpc_nodes_unavailable (retryable) when too few nodes answer, and a new run succeeds once they are back', async () => {
    const session = await createMpcSession(t);
    await contribute(session.id, ['bankA', 'bankB']);
    const fleet = (await t.server.ctx.mpc.localFleet(3))!;
    // Two of three nodes hang (stopped, not exited: the pre-run restart leaves them): 1 live < threshold 2.
    fleet.kill(2, 'SIGSTOP');
    fleet.kill(3, 'SIGSTOP');
    let failed: any;
    try {
      failed = await runOutcome(session.id, await startRun(session.id));
    } finally {
      // They exit now; the next run's restartExited starts them again with their keys (their triples are lost).
      fleet.kill(2, 'SIGKILL');
      fleet.kill(3, 'SIGKILL');
      await Promise.all([fleet.exited(2), fleet.exited(3)]);
    }
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'mpc_nodes_unavailable', retryable: true });
    const [runFailed] = await auditPayloads(session.id, 'run_failed');
    expect(runFailed).toMatchObject({ code: 'mpc_nodes_unavailable', retryable: true, mpc: { runTag: `${failed.runId}.1` } });
    const status = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}` }));
    expect(status.status).toBe('ready');

    const retry = await runOutcome(session.id, await startRun(session.id));
    expect(retry.status, JSON.stringify(retry.error)).toBe('completed');
    const [released] = await auditPayloads(session.id, 'result_released');
    expect(released.mpc.nodes.length).toBeGreaterThanOrEqual(2);
  });

  it('never hands a prep to a second run: one spent by a failed run is skipped even where the nodes still list it', async () => {
    const session = await createMpcSession(t);
    await contribute(session.id, ['bankA', 'bankB']);
    await preprocessingSettled(t.server.ctx);
    const ctx = t.server.ctx;
    const nodes = [...(await ctx.mpc.nodes(3))];
    const [created] = [...(await listPreprocessed(nodes, session.id)).keys()];
    // The first run fails on the nodes: the session key it presents is not the attested one, so every node
    // refuses the run before it takes the triples.
    const call = ctx.enclave.call.bind(ctx.enclave);
    const spy = vi.spyOn(ctx.enclave, 'call').mockImplementation((async (op: string, params: never) => {
      const result = await call(op as never, params);
      return op === 'attestSessionKey' ? { ...(result as object), publicKey: toBase64Url(randomBytes(32)) } : result;
    }) as typeof ctx.enclave.call);
    let failed: any;
    try {
      failed = await runOutcome(session.id, await startRun(session.id));
    } finally {
      spy.mockRestore();
    }
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('mpc_run_failed');
    const [runFailed] = await auditPayloads(session.id, 'run_failed');
    expect(runFailed.mpc.prepId).toBe(created);
    const spent = await ctx.db.selectFrom('mpc_preps_used').select(['prep_id', 'used_at']).where('session_id', '=', session.id).execute();
    expect(spent).toEqual([{ prep_id: created, used_at: expect.any(String) }]);
    // Every node is listed as still holding it: only the host's record keeps it out of the next run.
    stale.entry = { prepId: created!, indices: [1, 2, 3] };
    let retry: any;
    try {
      retry = await runOutcome(session.id, await startRun(session.id));
    } finally {
      stale.entry = undefined;
    }
    expect(retry.status, JSON.stringify(retry.error)).toBe('completed');
    const [released] = await auditPayloads(session.id, 'result_released');
    expect(released.mpc.prepId).not.toBe(created);
    expect(released.mpc.preprocessed).toBe(true);
    const used = await ctx.db.selectFrom('mpc_preps_used').select('prep_id').where('session_id', '=', session.id).execute();
    expect(used.map((r) => r.prep_id).sort()).toEqual([created, released.mpc.prepId].sort());
  });

  it('goes on with the live nodes when restarting an exited node fails', async () => {
    const session = await createMpcSession(t);
    await contribute(session.id, ['bankA', 'bankB']);
    await preprocessingSettled(t.server.ctx);
    const fleet = (await t.server.ctx.mpc.localFleet(3))!;
    fleet.kill(3, 'SIGKILL');
    await fleet.exited(3);
    const spy = vi.spyOn(fleet, 'restartExited').mockRejectedValue(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }));
    let run: any;
    try {
      run = await runOutcome(session.id, await startRun(session.id));
    } finally {
      spy.mockRestore();
    }
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    const [released] = await auditPayloads(session.id, 'result_released');
    expect(released.mpc).toMatchObject({ nodes: [1, 2], down: [3] });
    await t.server.ctx.mpc.restartExited(3); // back for whatever runs next
  });
});
