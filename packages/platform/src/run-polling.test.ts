// runMultiPartyInference: POST the run, poll it with backoff until it finishes, then fetch the result.
// A failed run surfaces its code; the caller's AbortSignal and the timeout stop the wait.
import { describe, expect, it } from 'vitest';
import { MEASUREMENT, json, makeFixture, type Fixture } from './fake-host.fixture.js';
import { TenzroPlatform } from './platform.js';
import { TenzroApiError } from './errors.js';

function runReply(fixture: Fixture, status: 'queued' | 'running' | 'completed' | 'failed', error: unknown = null) {
  return {
    runId: 'run_1',
    sessionId: fixture.sessionId,
    status,
    attempts: 1,
    createdAt: new Date().toISOString(),
    finishedAt: status === 'completed' || status === 'failed' ? new Date().toISOString() : null,
    error,
  };
}

async function setup(sequence: ('queued' | 'running' | 'completed' | 'failed')[], error: unknown = null) {
  const fixture = await makeFixture();
  const sealed = await fixture.sealedResult(fixture.bankA);
  let polls = 0;
  fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/runs`, () => json(202, runReply(fixture, 'queued')));
  fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/runs/run_1`, () => {
    const status = sequence[Math.min(polls, sequence.length - 1)]!;
    polls += 1;
    return json(200, runReply(fixture, status, status === 'failed' ? error : null));
  });
  fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, sealed));
  const platform = new TenzroPlatform({
    apiKey: 'k',
    tenantId: 'bankA',
    baseUrl: 'http://host.test',
    party: fixture.bankA,
    trustedRoots: [fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fixture.fetch,
  });
  return { fixture, platform, polls: () => polls };
}

describe('runMultiPartyInference', () => {
  it('starts the run, polls until completed, and returns the verified result', async () => {
    const { fixture, platform, polls } = await setup(['running', 'completed']);
    const started = Date.now();
    const result = await platform.ai.runMultiPartyInference({
      sessionId: fixture.sessionId,
      prompt: 'Analyze combined transaction patterns for anomalies',
      parameters: { maxTokens: 2048, temperature: 0.3 },
    });
    expect(result.content).toBe('Two cross-bank rings found.');
    expect(polls()).toBe(2);
    // Backoff: 250 ms before the first poll, 500 ms before the second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    const post = fixture.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe(`/v1/sessions/${fixture.sessionId}/runs`);
    expect(JSON.parse(post.body as string)).toEqual({
      prompt: 'Analyze combined transaction patterns for anomalies',
      parameters: { maxTokens: 2048, temperature: 0.3 },
    });
    expect(fixture.requests.at(-1)!.path).toBe(`/v1/sessions/${fixture.sessionId}/result`);
  });

  it("a failed run throws TenzroApiError with the run's code", async () => {
    const { fixture, platform } = await setup(['failed'], { code: 'session_not_ready', message: '1 participant, 2 needed', retryable: false });
    const error = await platform.ai.runMultiPartyInference({ sessionId: fixture.sessionId, prompt: 'p' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect(error).toMatchObject({ code: 'session_not_ready', message: '1 participant, 2 needed' });
    expect(fixture.requests.some((r) => r.path.endsWith('/result'))).toBe(false);
  });

  it('a failure code outside the API vocabulary becomes run_failed', async () => {
    const { fixture, platform } = await setup(['failed'], { code: 'enclave_crashed', message: 'boom', retryable: true });
    await expect(platform.ai.runMultiPartyInference({ sessionId: fixture.sessionId, prompt: 'p' })).rejects.toMatchObject({
      code: 'run_failed',
      message: 'enclave_crashed: boom',
    });
  });

  it('stops waiting when the AbortSignal fires', async () => {
    const { fixture, platform, polls } = await setup(['running']);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user left')), 400);
    const started = Date.now();
    const error = await platform.ai
      .runMultiPartyInference({ sessionId: fixture.sessionId, prompt: 'p', signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect(error).toMatchObject({ code: 'aborted' });
    expect(Date.now() - started).toBeLessThan(1_000);
    const seen = polls();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(polls()).toBe(seen);
  });

  it('an already aborted signal sends nothing', async () => {
    const { fixture, platform } = await setup(['completed']);
    const controller = new AbortController();
    controller.abort();
    await expect(platform.ai.runMultiPartyInference({ sessionId: fixture.sessionId, prompt: 'p', signal: controller.signal })).rejects.toMatchObject({
      code: 'aborted',
    });
    expect(fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('gives up with timeout after timeoutMs', async () => {
    const { fixture, platform, polls } = await setup(['running']);
    const started = Date.now();
    await expect(platform.ai.runMultiPartyInference({ sessionId: fixture.sessionId, prompt: 'p', timeoutMs: 600 })).rejects.toMatchObject({
      code: 'timeout',
      status: 0,
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(1_500);
    expect(polls()).toBeGreaterThanOrEqual(1);
  });

  it('checks timeoutMs', async () => {
    const { fixture, platform } = await setup(['completed']);
    await expect(platform.ai.runMultiPartyInference({ sessionId: fixture.sessionId, prompt: 'p', timeoutMs: 0 })).rejects.toThrow(RangeError);
  });
});
