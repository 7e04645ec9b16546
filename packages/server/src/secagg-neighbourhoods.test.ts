// SecAgg+ (docs/secure-aggregation.md, "SecAgg+"): before publishing an unmask request the host checks,
// with the protocol's assertNeighbourhoods, that every neighbourhood of U2 keeps its threshold t_k among the
// included parties; when one cannot, no answer could ever unmask the sum, and the run fails at once with
// secagg_below_threshold instead of waiting for the unmask deadline.
//
// The production rule picks a Harary graph from 40 parties on; here secAggConfigOf is wrapped so that a
// 7-party roster gets a forced H(4, 7) (t = 4, t_k = 3 of 5) in this process: the server and the test's
// parties use the same configuration (the enclave child is not involved: the run fails before calling it).
import { hararyShareThreshold, neighbours, type SecAggConfig, type SessionTerms } from '@tenzro/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from './harness.fixture.js';
import { consentAs, createSecAggSession, demoPlayer, extraPlayer, getRound, playInputs, type Player } from './secagg.fixture.js';

const FORCED_ROSTER = 7;
const FORCED_GRAPH = { kind: 'harary' as const, k: 4, seed: new Uint8Array(32).fill(9) };

vi.mock('@tenzro/protocol', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@tenzro/protocol')>();
  return {
    ...actual,
    secAggConfigOf: (terms: SessionTerms, vectorLength: number): SecAggConfig => {
      const config = actual.secAggConfigOf(terms, vectorLength);
      if (terms.participants.length !== FORCED_ROSTER) return config;
      return actual.validateSecAggConfig({ ...config, graph: FORCED_GRAPH });
    },
  };
});

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

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('SecAgg+ neighbourhoods before the unmask request', () => {
  it('fails the run at once (secagg_below_threshold) when a neighbourhood cannot reach t_k, publishing no request', async () => {
    const players: Player[] = [
      demoPlayer(t, 'bankA'),
      demoPlayer(t, 'bankB'),
      demoPlayer(t, 'bankC'),
      await extraPlayer(t, 'bankA', 'ops'),
      await extraPlayer(t, 'bankB', 'ops'),
      await extraPlayer(t, 'bankC', 'ops'),
      await extraPlayer(t, 'bankA', 'desk'),
    ];
    const session = await createSecAggSession(t, players, { threshold: 4, minParticipants: 4 });
    const round0 = JSON.parse((await getRound(t, players[0]!, session.id)).body);
    expect(round0.graph).toMatchObject({ kind: 'harary', k: 4 });

    // Party 1 and two of its four neighbours share keys, then never send a masked input: 4 = t parties are
    // included, but N[1] keeps only 2 of them, fewer than t_k = 3, so party 1's secrets cannot be rebuilt.
    expect(hararyShareThreshold(FORCED_ROSTER, FORCED_GRAPH.k)).toBe(3);
    const [n1, n2] = neighbours(1, FORCED_ROSTER, FORCED_GRAPH.k, FORCED_GRAPH.seed);
    const dropped = [players[0]!, players[n1! - 1]!, players[n2! - 1]!];
    const survivors = players.filter((p) => !dropped.includes(p));
    expect(survivors).toHaveLength(4);

    await playInputs(t, session, players, { skipMaskedInput: dropped.map((p) => p.partyId) });
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    expect(JSON.parse((await getRound(t, survivors[0]!, session.id)).body).stage).toBe('awaiting-run');
    t.clockOffsetMs = 0;
    for (const player of survivors) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);

    const starter = survivors[0]!;
    const started = await t.inject(starter.tenant, { method: 'POST', url: `/v1/sessions/${session.id}/runs`, headers: starter.headers, payload: { prompt: 'Summarise' } });
    expect(started.statusCode, started.body).toBe(202);
    const runId = JSON.parse(started.body).runId as string;
    // No clock movement: the run must fail without waiting for any unmask deadline.
    const run = await until('the run to fail', async () => {
      const body = JSON.parse((await t.inject(starter.tenant, { method: 'GET', url: `/v1/sessions/${session.id}/runs/${runId}`, headers: starter.headers })).body);
      return body.status === 'failed' || body.status === 'completed' ? body : undefined;
    });
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({
      code: 'secagg_below_threshold',
      message: expect.stringMatching(new RegExp(`SecAgg\\+ neighbourhood check before the unmask request: .*only 2 parties of the neighbourhood of ${players[0]!.partyId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} can give its shares, fewer than the neighbourhood threshold 3`)),
      retryable: false,
    });
    const requested = await t.server.ctx.db.selectFrom('audit_events').select('seq').where('session_id', '=', session.id).where('type', '=', 'secagg_unmask_requested').execute();
    expect(requested).toEqual([]);
    const failed = JSON.parse((await getRound(t, starter, session.id)).body);
    expect(failed).toMatchObject({ stage: 'failed', unmaskRequest: null, error: { code: 'secagg_below_threshold' } });
  });
});
