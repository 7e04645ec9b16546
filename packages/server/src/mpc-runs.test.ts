// docs/mpc.md, "Host (server)" — the run: the job runner's mpc phase over a real local fleet of compute
// node processes and the real enclave. Two parties contribute real share bundles; the nodes run the
// model's program (preprocessed at session creation) and the enclave reconstructs the outputs. With too
// few live nodes the run fails with mpc_nodes_unavailable (retryable) and the session takes a new run,
// which succeeds once the nodes are back (the fleet restarts exited nodes before each run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
