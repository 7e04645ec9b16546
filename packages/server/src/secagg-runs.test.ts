// A secure_aggregation run (docs/secure-aggregation.md, "Stages and the session lifecycle"): the job builds
// and publishes the unmask request (included = complete ∩ U2), takes the survivors' sealed answers, calls
// the real enclave with the masked inputs and the relayed messages, marks the round done and shreds the
// answers with the rest of the session's ciphertexts. Inputs are real statistics of demo records, masked by
// the parties with the protocol's client functions.
import { aggregateLayoutOf, computeStatistics, encodeStatistics, getDataSchema } from '@tenzro/models';
import { SecAggRoundResponse, type UnmaskRequest } from '@tenzro/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE, blobFiles, demoData, startTestServer, type TestServer } from './harness.fixture.js';
import {
  consentAs,
  createSecAggSession,
  demoPlayer,
  extraPlayer,
  getRound,
  playInputs,
  postUnmask,
  sealUnmask,
  type Player,
} from './secagg.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});
afterEach(() => {
  t.clockOffsetMs = 0;
});

const STAGE_TIMEOUT_MS = 120_000;

function statisticVectors(players: Player[]): Map<string, Uint32Array> {
  const layout = aggregateLayoutOf('risk-analyzer-v2')!;
  const schema = getDataSchema('transaction_records_v1')!;
  return new Map(
    players.map((p, i) => {
      const validated = schema.validate(demoData(p.tenant, 25 + i));
      if (!validated.ok) throw new Error('demo data does not validate');
      return [p.partyId, encodeStatistics(layout, computeStatistics(layout, validated.records as Parameters<typeof computeStatistics>[1]))];
    }),
  );
}

async function round(server: TestServer, player: Player, sessionId: string): Promise<SecAggRoundResponse> {
  const response = await getRound(server, player, sessionId);
  expect(response.statusCode, response.body).toBe(200);
  return SecAggRoundResponse.parse(JSON.parse(response.body));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startRun(server: TestServer, player: Player, sessionId: string): Promise<string> {
  const response = await server.inject(player.tenant, { method: 'POST', url: `/v1/sessions/${sessionId}/runs`, headers: player.headers, payload: { prompt: 'Summarise the shared risk picture' } });
  expect(response.statusCode, response.body).toBe(202);
  return JSON.parse(response.body).runId;
}

async function awaitRequest(server: TestServer, player: Player, sessionId: string): Promise<{ runId: string; request: UnmaskRequest }> {
  return until('the unmask request', async () => (await round(server, player, sessionId)).unmaskRequest ?? undefined);
}

async function runOutcome(server: TestServer, player: Player, sessionId: string, runId: string): Promise<any> {
  return until('the run to finish', async () => {
    const run = JSON.parse((await server.inject(player.tenant, { method: 'GET', url: `/v1/sessions/${sessionId}/runs/${runId}`, headers: player.headers })).body);
    return run.status === 'completed' || run.status === 'failed' ? run : undefined;
  });
}

async function auditPayloads(server: TestServer, sessionId: string, type: string): Promise<any[]> {
  const rows = await server.server.ctx.db.selectFrom('audit_events').select('payload_json').where('session_id', '=', sessionId).where('type', '=', type as never).orderBy('seq').execute();
  return rows.map((r) => JSON.parse(r.payload_json));
}

describe('the unmask phase of a run', () => {
  it('asks the survivors, takes their answers by the rules, runs the enclave and shreds the answers', async () => {
    const [a, b, c] = [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC')];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2, minParticipants: 2 });
    // C shares keys and then drops out: U2 = {A, B, C}, masked inputs from A and B (closed at the deadline).
    await playInputs(t, session, [a, b, c], { vectors: statisticVectors([a, b, c]), skipMaskedInput: [c.partyId] });
    expect((await round(t, a, session.id)).stage).toBe('masked-input');
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    expect((await round(t, a, session.id)).stage).toBe('awaiting-run');
    t.clockOffsetMs = 0;
    for (const player of [a, b]) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);

    // No request before a run.
    const tooEarly = await postUnmask(t, a, session.id, new Uint8Array([1, 2, 3]));
    expect(tooEarly.statusCode).toBe(409);
    expect(t.json(tooEarly).error).toMatchObject({ code: 'secagg_stage_closed', message: expect.stringMatching(/unmask stage is not open \(it has not opened yet; the round is at awaiting-run\)/) });

    const runId = await startRun(t, a, session.id);
    const published = await awaitRequest(t, a, session.id);
    expect(published.runId).toBe(runId);
    expect(published.request).toEqual({
      type: 'tenzro.secagg.unmask-request/v1',
      sessionId: session.id,
      selfMaskShares: [a.partyId, b.partyId],
      pairwiseKeyShares: [c.partyId],
    });
    expect((await auditPayloads(t, session.id, 'secagg_unmask_requested'))).toEqual([expect.objectContaining({ runId, request: published.request })]);

    // Only survivors answer: C (dropped) and the observer are refused, and nothing is stored.
    const fromC = await postUnmask(t, c, session.id, new Uint8Array(64).fill(7));
    expect(fromC.statusCode).toBe(403);
    expect(t.json(fromC).error.message).toMatch(/only the survivors the unmask request of run_\w+ names may answer it/);
    const fromObserver = await t.inject('regulator', { method: 'POST', url: `/v1/sessions/${session.id}/secagg/unmask`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(64, 7) });
    expect(fromObserver.statusCode).toBe(403);
    const blobsBefore = (await blobFiles(t)).length;

    // A answers; the identical bytes again are a harmless retry; other bytes are a conflict.
    const answerA = await sealUnmask(t, a, session.id, runId, published.request);
    const first = await postUnmask(t, a, session.id, answerA);
    expect(first.statusCode, first.body).toBe(202);
    expect(t.json(first)).toMatchObject({ stage: 'unmask', unmasked: [a.partyId] });
    expect((await postUnmask(t, a, session.id, answerA)).statusCode).toBe(202);
    const other = await postUnmask(t, a, session.id, answerA.slice(0, answerA.length - 1));
    expect(other.statusCode).toBe(409);
    expect(t.json(other).error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/already answered the unmask request of run_\w+ with other bytes/) });
    expect((await blobFiles(t)).length).toBe(blobsBefore + 1);
    const stored = await t.server.ctx.db.selectFrom('secagg_unmask').selectAll().where('session_id', '=', session.id).execute();
    expect(stored.map((r) => [r.party_id, r.run_id])).toEqual([[a.partyId, runId]]);

    // B answers: every survivor did, the enclave unmasks the sum and the run completes.
    expect((await postUnmask(t, b, session.id, await sealUnmask(t, b, session.id, runId, published.request))).statusCode).toBe(202);
    const run = await runOutcome(t, a, session.id, runId);
    expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'completed', error: null });
    const done = await round(t, a, session.id);
    expect(done).toMatchObject({ stage: 'done', unmaskRequest: null, unmasked: [a.partyId, b.partyId] });
    const result = await t.inject(b.tenant, { method: 'GET', url: `/v1/sessions/${session.id}/result`, headers: b.headers });
    expect(result.statusCode).toBe(200);
    expect(t.json(result).report.includedParties).toEqual([a.partyId, b.partyId]);
    const late = await postUnmask(t, b, session.id, new Uint8Array(32));
    expect(late.statusCode).toBe(409);

    // delete_after_inference: the answers are shredded with the masked inputs, and the enclave's deletion
    // statement lists them among the ciphertexts its destroyed key made unreadable.
    const answers = await t.server.ctx.db.selectFrom('secagg_unmask').selectAll().where('session_id', '=', session.id).execute();
    expect(answers).toHaveLength(2);
    expect(answers.every((r) => r.deleted_at !== null)).toBe(true);
    const [attested] = await until('the deletion statement', async () => {
      const events = await auditPayloads(t, session.id, 'deletion_attested');
      return events.length > 0 ? events : undefined;
    });
    const onDisk = new Set(await blobFiles(t)); // removed after the commit, before the key's destruction
    for (const answer of answers) expect(onDisk.has(answer.blob_hash)).toBe(false);
    for (const answer of answers) expect(attested.statement.destroyed.ciphertexts).toContain('sha256:' + answer.blob_hash);
    const destroyed = (await auditPayloads(t, session.id, 'data_destroyed'))[0];
    for (const answer of answers) expect(destroyed.blobs).toContain(answer.blob_hash);
    expect((await auditPayloads(t, session.id, 'secagg_unmask_received')).map((p) => p.partyId)).toEqual([a.partyId, b.partyId]);
  });

  it('runs five parties end to end (t = 3)', async () => {
    const players = [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC'), await extraPlayer(t, 'bankA', 'desk'), await extraPlayer(t, 'bankB', 'desk')];
    const session = await createSecAggSession(t, players, { threshold: 3, retentionPolicy: 'retain_until_expiry' });
    expect((await playInputs(t, session, players, { vectors: statisticVectors(players) })).stage).toBe('awaiting-run');
    for (const player of players) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);
    const runId = await startRun(t, players[3]!, session.id);
    const { request } = await awaitRequest(t, players[0]!, session.id);
    expect(request.selfMaskShares).toEqual(players.map((p) => p.partyId));
    for (const player of players) expect((await postUnmask(t, player, session.id, await sealUnmask(t, player, session.id, runId, request))).statusCode).toBe(202);
    const run = await runOutcome(t, players[0]!, session.id, runId);
    expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'completed' });
    expect(run.timings).toBeDefined();
    expect((await round(t, players[4]!, session.id)).stage).toBe('done');
    // retain_until_expiry: the answers stay until the session expires.
    const answers = await t.server.ctx.db.selectFrom('secagg_unmask').selectAll().where('session_id', '=', session.id).execute();
    expect(answers.map((r) => r.deleted_at)).toEqual([null, null, null, null, null]);
  });

  it('fails the run (not retryable) and the round when fewer than the threshold answer by the deadline', async () => {
    const [a, b, c] = [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC')];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2 });
    await playInputs(t, session, [a, b, c], { vectors: statisticVectors([a, b, c]) });
    for (const player of [a, b, c]) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);
    const runId = await startRun(t, b, session.id);
    const { request } = await awaitRequest(t, a, session.id);
    expect((await postUnmask(t, a, session.id, await sealUnmask(t, a, session.id, runId, request))).statusCode).toBe(202);
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    const run = await runOutcome(t, a, session.id, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toEqual({ code: 'secagg_below_threshold', message: expect.stringMatching(/1 of 3 survivors answered the unmask request by its deadline, fewer than the threshold 2/), retryable: false });
    const failed = await round(t, a, session.id);
    expect(failed).toMatchObject({ stage: 'failed', error: { code: 'secagg_below_threshold' }, unmaskRequest: null });
    const status = JSON.parse((await t.inject(a.tenant, { method: 'GET', url: `/v1/sessions/${session.id}/status`, headers: a.headers })).body);
    expect(status).toMatchObject({ status: 'collecting', readyToRun: false });
    const again = await t.inject(a.tenant, { method: 'POST', url: `/v1/sessions/${session.id}/runs`, headers: a.headers, payload: { prompt: 'again' } });
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.message).toMatch(/round failed/);
  });

  it('cancelling a session deletes its unmask answers too', async () => {
    const [a, b, c] = [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC')];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2 });
    await playInputs(t, session, [a, b, c], { vectors: statisticVectors([a, b, c]) });
    for (const player of [a, b, c]) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);
    const runId = await startRun(t, c, session.id);
    const { request } = await awaitRequest(t, a, session.id);
    expect((await postUnmask(t, a, session.id, await sealUnmask(t, a, session.id, runId, request))).statusCode).toBe(202);
    // The survivors never all answer: the run fails at the deadline, then the creator cancels.
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    expect((await runOutcome(t, a, session.id, runId)).status).toBe('failed');
    t.clockOffsetMs = 0;
    const cancel = await t.inject(a.tenant, { method: 'POST', url: `/v1/sessions/${session.id}/cancel`, headers: a.headers, payload: {} });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const answers = await t.server.ctx.db.selectFrom('secagg_unmask').selectAll().where('session_id', '=', session.id).execute();
    expect(answers).toHaveLength(1);
    expect(answers[0]!.deleted_at).not.toBeNull();
    expect(await blobFiles(t)).not.toContain(answers[0]!.blob_hash);
  });
});

describe('a run requeued after a crash', () => {
  it('reuses the stored request and the answers already given', async () => {
    // On PostgreSQL the second server takes the run over once the first one's lease lapses (found by the sweep).
    const env: Record<string, string> = TEST_DATABASE === 'postgres' ? { TENZRO_RUN_LEASE_MS: '2000', TENZRO_SWEEP_INTERVAL_MS: '500' } : {};
    const first = await startTestServer({ env });
    const dataDir = first.dataDir;
    let second: TestServer | undefined;
    try {
      const [a, b, c] = [demoPlayer(first, 'bankA'), demoPlayer(first, 'bankB'), demoPlayer(first, 'bankC')];
      const session = await createSecAggSession(first, [a, b, c], { threshold: 2 });
      await playInputs(first, session, [a, b, c], { vectors: statisticVectors([a, b, c]) });
      for (const player of [a, b, c]) expect((await consentAs(first, player, session.id)).statusCode).toBe(201);
      const runId = await startRun(first, a, session.id);
      const { request } = await awaitRequest(first, a, session.id);
      expect((await postUnmask(first, a, session.id, await sealUnmask(first, a, session.id, runId, request))).statusCode).toBe(202);

      // The server stops while the run waits for B and C (as a crash would leave it: running).
      await first.server.close();
      second = await startTestServer({ dataDir, env });
      const after = await awaitRequest(second, a, session.id);
      expect(after).toEqual({ runId, request });
      expect((await round(second, a, session.id)).unmasked).toEqual([a.partyId]);
      for (const player of [b, c]) expect((await postUnmask(second, player, session.id, await sealUnmask(second, player, session.id, runId, request))).statusCode).toBe(202);
      const run = await runOutcome(second, a, session.id, runId);
      expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'completed', attempts: 2 });
      expect(await auditPayloads(second, session.id, 'secagg_unmask_requested')).toHaveLength(1);
      expect((await auditPayloads(second, session.id, 'secagg_unmask_received')).map((p) => p.partyId)).toEqual([a.partyId, b.partyId, c.partyId]);
    } finally {
      await second?.close();
      await first.close().catch(() => undefined);
      const { rm } = await import('node:fs/promises');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
