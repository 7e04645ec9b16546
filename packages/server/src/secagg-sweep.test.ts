// Secure-aggregation deadlines fire without traffic (docs/secure-aggregation.md): the expiry watcher's
// timer is armed for the next stage deadline (TENZRO_SECAGG_STAGE_TIMEOUT_MS after the stage opened), and
// its sweep closes the stage, or fails the round below the threshold, with nobody calling.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.fixture.js';
import { advertiseMessage, createSecAggSession, demoPlayer, getRound, post } from './secagg.fixture.js';

const TIMEOUT_MS = 1_500;
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { TENZRO_SECAGG_STAGE_TIMEOUT_MS: String(TIMEOUT_MS) } });
});
afterAll(async () => {
  await t?.close();
});

async function stageOf(sessionId: string): Promise<{ stage: string; error_json: string | null }> {
  return t.server.ctx.db.selectFrom('secagg_rounds').select(['stage', 'error_json']).where('session_id', '=', sessionId).executeTakeFirstOrThrow();
}

async function waitForStage(sessionId: string, stage: string): Promise<{ stage: string; error_json: string | null }> {
  const end = Date.now() + 10_000;
  for (;;) {
    const row = await stageOf(sessionId);
    if (row.stage === stage || Date.now() > end) return row;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it('closes advertise at its deadline, then fails share-keys at its own, with no request in between', async () => {
  expect(t.server.ctx.config.secAggStageTimeoutMs).toBe(TIMEOUT_MS);
  const [a, b, c] = [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC')];
  const session = await createSecAggSession(t, [a, b, c], { threshold: 2 });
  const { vectorLength } = JSON.parse((await getRound(t, a, session.id)).body);
  const opened = Date.now(); // the first advertisement opens the stage
  for (const player of [a, b]) expect((await post(t, player, session.id, 'advertise', advertiseMessage(player, session.terms, vectorLength))).statusCode).toBe(202);

  // Nobody calls: the timer closes advertise with 2 ≥ t …
  expect((await waitForStage(session.id, 'share-keys')).stage).toBe('share-keys');
  expect(Date.now() - opened).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  // … and share-keys, where nobody answers, fails the round at its deadline.
  const failed = await waitForStage(session.id, 'failed');
  expect(failed.stage).toBe('failed');
  expect(JSON.parse(failed.error_json!)).toMatchObject({ code: 'secagg_below_threshold' });
});
