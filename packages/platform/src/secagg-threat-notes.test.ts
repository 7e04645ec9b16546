// docs/secure-aggregation.md, "Noise" and "Threat notes", on the party's side: the noise share is
// μ/(threshold − 1) and a target no party can meet is a typed refusal; the unmask request is answered once
// even by two SDK instances sharing a store (the store's withLock); a transient failure of the host does
// not end participation; the party's secrets are deleted once it is out of the round or the round is over.
import { DATA_INFO, calibrateSkellam, openEnvelope, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import { decodeStatisticSum, generateDemoData, computeStatistics, type TransactionRecord } from '@tenzro/models';
import { SecAggError, SecAggUnmaskEnvelope, secAggNoiseShare, tenantOfParty, type UnmaskRequest } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { TenzroApiError } from './errors.js';
import { MEASUREMENT, apiError, type RecordedRequest } from './fake-host.fixture.js';
import type { PartyIdentity } from './identity.js';
import { TenzroPlatform } from './platform.js';
import { SecureAggregationError } from './secagg/errors.js';
import { TRANSIENT_RETRY, isTransientError, retryTransient } from './secagg/retry.js';
import { MemorySecAggStateStore, secAggStateKey, type SecAggStateStore } from './secagg/state.js';
import { noiseShareOf, prepareSecAggInput } from './secagg/statistics.js';
import { makeSecAggHost, type SecAggHost } from './secagg-host.fixture.js';

const SCHEMA = 'transaction_records_v1';
const demo = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 100, seed: 11 });
const recordsOf = (party: PartyIdentity): TransactionRecord[] => demo.partitions[tenantOfParty(party.partyId)]!;
const banksOf = (host: SecAggHost): PartyIdentity[] => [host.fixture.bankA, host.fixture.bankB, host.fixture.bankC!];

function platformFor(host: SecAggHost, party: PartyIdentity, store: SecAggStateStore = new MemorySecAggStateStore(), fetch?: typeof globalThis.fetch): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: tenantOfParty(party.partyId),
    baseUrl: 'http://host.test',
    party,
    trustedRoots: [host.fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fetch ?? ((input, init) => host.fixture.fetch(input, init)),
    secAggStateStore: store,
  });
}

const posts = (host: SecAggHost, suffix: string, partyId?: string): RecordedRequest[] =>
  host.fixture.requests.filter((r) => r.method === 'POST' && r.path.endsWith(suffix) && (partyId === undefined || r.headers['x-tenzro-party-id'] === partyId));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function contributeAll(host: SecAggHost, stores = banksOf(host).map(() => new MemorySecAggStateStore() as SecAggStateStore)) {
  const banks = banksOf(host);
  const platforms = banks.map((bank, i) => platformFor(host, bank, stores[i]));
  await Promise.all(banks.map((bank, i) => platforms[i]!.ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(bank), dataSchema: SCHEMA })));
  return { banks, platforms, stores };
}

/** A fetch that shows this SDK instance `request` as the run's unmask request, and claims nobody answered. */
function lyingFetch(host: SecAggHost, request: UnmaskRequest): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await host.fixture.fetch(input, init);
    if ((init?.method ?? 'GET') !== 'GET' || !new URL(String(input)).pathname.endsWith('/secagg')) return response;
    const round = (await response.json()) as { unmaskRequest: { runId: string; request: UnmaskRequest } | null; unmasked: string[] };
    if (round.unmaskRequest !== null) round.unmaskRequest = { ...round.unmaskRequest, request };
    round.unmasked = [];
    return new Response(JSON.stringify(round), { status: response.status });
  }) as typeof globalThis.fetch;
}

async function unmaskMessages(host: SecAggHost, partyId: string): Promise<string[]> {
  const opened = await Promise.all(
    host.unmaskPosts
      .filter((p) => p.partyId === partyId)
      .map(async (p) => SecAggUnmaskEnvelope.parse(parseStrictJson(utf8Decode(await openEnvelope(host.fixture.sessionKey.privateKey, p.bytes, { info: DATA_INFO }))))),
  );
  return [...new Set(opened.map((e) => JSON.stringify(e.unmask)))];
}

/**
 * A store over `inner` whose loads meet in pairs (each waits up to 300 ms for another), as two processes
 * reading one record at once would; with `lock`, the inner store's withLock is offered too.
 */
function pairedLoads(inner: MemorySecAggStateStore, lock: boolean): SecAggStateStore {
  let waiting: (() => void) | undefined;
  return {
    load: async (key) => {
      if (waiting) {
        const partner = waiting;
        waiting = undefined;
        partner();
      } else {
        await new Promise<void>((resolve) => {
          const release = (): void => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            if (waiting === release) waiting = undefined;
            resolve();
          }, 300);
          waiting = release;
        });
      }
      return inner.load(key);
    },
    save: (key, value) => inner.save(key, value),
    delete: (key) => inner.delete(key),
    ...(lock ? { withLock: <T>(key: string, fn: () => Promise<T>) => inner.withLock(key, fn) } : {}),
  };
}

describe('the noise share (docs "Noise")', () => {
  it('is secAggNoiseShare(μ, threshold) = μ / (threshold − 1), declared as noiseVariance', async () => {
    const host = await makeSecAggHost({ noiseAddition: true, threshold: 3 });
    const mu = calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: host.layout.l1Sensitivity, l2: host.layout.l2Sensitivity }).variance;
    expect(noiseShareOf(host.fixture.terms, host.layout)).toBe(mu / 2);
    expect(noiseShareOf(host.fixture.terms, host.layout)).toBe(secAggNoiseShare(mu, 3));
    const prepared = prepareSecAggInput(host.fixture.terms, SCHEMA, recordsOf(host.fixture.bankA));
    expect(prepared.noiseVariance).toBe(mu / 2);
  });

  it('a DP target no party can meet is a SecureAggregationError noise_out_of_range, before anything is sent', async () => {
    // ε = 0.01 needs μ ≈ 2.6e12: a share above the 2^40 a party can sample.
    const host = await makeSecAggHost({ noiseAddition: true, differentialPrivacy: { epsilon: 0.01, delta: 1e-5 } });
    expect(() => prepareSecAggInput(host.fixture.terms, SCHEMA, recordsOf(host.fixture.bankA))).toThrow(SecureAggregationError);
    const error = await platformFor(host, host.fixture.bankA)
      .ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(host.fixture.bankA), dataSchema: SCHEMA })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecureAggregationError);
    expect(error).not.toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ name: 'SecureAggregationError', code: 'noise_out_of_range' });
    expect((error as Error).message).toMatch(/ε = 0\.01/);
    expect(host.fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });
});

describe('two SDK instances of one party on one store answer once (store withLock)', () => {
  it('two different requests at once: one answer is produced and sent, the other request is refused', async () => {
    const host = await makeSecAggHost();
    const { banks, stores } = await contributeAll(host, [pairedLoads(new MemorySecAggStateStore(), true), new MemorySecAggStateStore(), new MemorySecAggStateStore()]);
    const [a, b, c] = banks.map((x) => x.partyId) as [string, string, string];
    const honest = host.startRun('run_1');
    const lying: UnmaskRequest = { ...honest, selfMaskShares: [a, b], pairwiseKeyShares: [c] };
    // Two instances of bankA on bankA's store, each shown a different request (and told nobody answered).
    const first = platformFor(host, banks[0]!, stores[0], lyingFetch(host, honest)).ai.participate(host.fixture.sessionId);
    const second = platformFor(host, banks[0]!, stores[0], lyingFetch(host, lying)).ai.participate(host.fixture.sessionId);
    const settled: PromiseSettledResult<unknown>[] = [];
    first.then((v) => settled.push({ status: 'fulfilled', value: v }), (e: unknown) => settled.push({ status: 'rejected', reason: e }));
    second.then((v) => settled.push({ status: 'fulfilled', value: v }), (e: unknown) => settled.push({ status: 'rejected', reason: e }));
    await until(() => settled.length === 1);
    const refusal = settled[0] as PromiseRejectedResult;
    expect(refusal.status).toBe('rejected');
    expect(refusal.reason).toBeInstanceOf(SecAggError);
    expect(refusal.reason).toMatchObject({ code: 'both_shares_requested' });
    host.finishRun('completed');
    await until(() => settled.length === 2);
    expect(settled[1]).toMatchObject({ status: 'fulfilled', value: { status: 'completed', answeredRuns: ['run_1'] } });
    // However many times it was sent, bankA produced one answer.
    expect(posts(host, '/secagg/unmask', a).length).toBeGreaterThanOrEqual(1);
    expect(await unmaskMessages(host, a)).toHaveLength(1);
    expect(await stores[0]!.load(secAggStateKey(host.fixture.sessionId, a))).toBeUndefined();
  });

  it('(control) a store without withLock lets both instances answer: the defect the lock closes', async () => {
    const host = await makeSecAggHost();
    const unlocked = pairedLoads(new MemorySecAggStateStore(), false);
    const { banks } = await contributeAll(host, [unlocked, new MemorySecAggStateStore(), new MemorySecAggStateStore()]);
    const [a, b, c] = banks.map((x) => x.partyId) as [string, string, string];
    const honest = host.startRun('run_1');
    const lying: UnmaskRequest = { ...honest, selfMaskShares: [a, b], pairwiseKeyShares: [c] };
    const both = [honest, lying].map((request) => platformFor(host, banks[0]!, unlocked, lyingFetch(host, request)).ai.participate(host.fixture.sessionId));
    both.forEach((p) => p.catch(() => undefined));
    const start = Date.now();
    while ((await unmaskMessages(host, a)).length < 2 && Date.now() - start < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await unmaskMessages(host, a)).toHaveLength(2); // both shares of bankC are out
    host.finishRun('completed');
    await Promise.allSettled(both);
  });
});

describe('participate rides out transient failures of the host', () => {
  it('a connection reset, 503s and a 429 are retried; the answer is still sent and the run completes', async () => {
    const host = await makeSecAggHost();
    const { banks, stores, platforms } = await contributeAll(host);
    const a = banks[0]!.partyId;
    const failures: string[] = [];
    let sessionGets = 0;
    let roundGets = 0;
    let unmaskPosts = 0;
    const flaky = (async (input: string | URL | Request, init?: RequestInit) => {
      const path = new URL(String(input)).pathname;
      const method = init?.method ?? 'GET';
      if (method === 'GET' && path === `/v1/sessions/${host.fixture.sessionId}` && ++sessionGets === 1) {
        failures.push('session: reset');
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
      }
      if (method === 'GET' && path.endsWith('/secagg')) {
        roundGets++;
        if (roundGets === 1) {
          failures.push('round: 503 without a body');
          return new Response('Service Unavailable', { status: 503 });
        }
        if (roundGets === 2) {
          failures.push('round: reset');
          throw new TypeError('fetch failed');
        }
        if (roundGets === 3) {
          failures.push('round: 429');
          return apiError(429, 'rate_limited', 'slow down');
        }
      }
      if (method === 'POST' && path.endsWith('/secagg/unmask') && ++unmaskPosts === 1) {
        failures.push('unmask: 503');
        return apiError(503, 'enclave_unavailable', 'try again');
      }
      return host.fixture.fetch(input, init);
    }) as typeof globalThis.fetch;
    host.startRun('run_1');
    const outcomes = [
      platformFor(host, banks[0]!, stores[0], flaky).ai.participate(host.fixture.sessionId),
      ...platforms.slice(1).map((p) => p.ai.participate(host.fixture.sessionId)),
    ];
    await until(() => host.unmasked.size === 3);
    const { sum } = await host.aggregate();
    host.finishRun('completed');
    const [mine] = await Promise.all(outcomes);
    expect(mine).toMatchObject({ status: 'completed', answeredRuns: ['run_1'] });
    expect(failures).toEqual(['session: reset', 'round: 503 without a body', 'round: reset', 'round: 429', 'unmask: 503']);
    expect(unmaskPosts).toBe(2); // the saved answer, sent again
    expect(posts(host, '/secagg/unmask', a)).toHaveLength(1);
    const exact = banks.map((bank) => computeStatistics(host.layout, recordsOf(bank))).reduce((x, y) => x.map((v, i) => v + y[i]!));
    expect(decodeStatisticSum(host.layout, sum, 3)).toEqual(exact);
  });

  it('does not retry a refusal; retries are bounded and stop when the signal fires', async () => {
    const host = await makeSecAggHost();
    const { banks, stores } = await contributeAll(host);
    host.fixture.routes.set(`GET /v1/sessions/${host.fixture.sessionId}/secagg`, () => apiError(403, 'forbidden', 'not yours'));
    await expect(platformFor(host, banks[0]!, stores[0]).ai.participate(host.fixture.sessionId)).rejects.toMatchObject({ code: 'forbidden' });

    expect(isTransientError(new TenzroApiError('network_error', 'x', { status: 0 }))).toBe(true);
    expect(isTransientError(new TenzroApiError('invalid_response', 'x', { status: 502 }))).toBe(true);
    expect(isTransientError(new TenzroApiError('rate_limited', 'x'))).toBe(true);
    expect(isTransientError(new TenzroApiError('secagg_stage_closed', 'x'))).toBe(false);
    expect(isTransientError(new TenzroApiError('aborted', 'x', { status: 0 }))).toBe(false);
    expect(isTransientError(new RangeError('x'))).toBe(false);
    expect(TRANSIENT_RETRY.attempts).toBeGreaterThan(1);

    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new TenzroApiError('enclave_unavailable', 'down'));
    };
    await expect(retryTransient(failing, new AbortController().signal, { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 })).rejects.toMatchObject({ code: 'enclave_unavailable' });
    expect(calls).toBe(3);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(retryTransient(failing, controller.signal, { attempts: 1000, initialDelayMs: 20, maxDelayMs: 20 })).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('the party\'s state is deleted once it is out of the round or the round is over', () => {
  const keyOf = (host: SecAggHost, party: PartyIdentity) => secAggStateKey(host.fixture.sessionId, party.partyId);

  it('excluded (the run treats it as dropped) and left out (not asked at all): deleted; a failed run: kept', async () => {
    const host = await makeSecAggHost();
    const { banks, platforms, stores } = await contributeAll(host);
    const [a, b, c] = banks.map((x) => x.partyId) as [string, string, string];
    const first = platforms.slice(0, 2).map((p) => p.ai.participate(host.fixture.sessionId));
    host.startRun('run_1', [a, b]);
    await expect(platforms[2]!.ai.participate(host.fixture.sessionId)).resolves.toMatchObject({ status: 'excluded', runId: 'run_1' });
    expect(await stores[2]!.load(keyOf(host, banks[2]!))).toBeUndefined();
    await until(() => host.unmasked.size === 2);
    host.finishRun('failed');
    for (const outcome of await Promise.all(first)) expect(outcome).toMatchObject({ status: 'run_failed' });
    // A failed run may be retried: the state stays.
    expect(await stores[0]!.load(keyOf(host, banks[0]!))).toBeDefined();
    // A request that names bankB neither way: it is left out.
    host.ask('run_2', { type: 'tenzro.secagg.unmask-request/v1', sessionId: host.fixture.sessionId, selfMaskShares: [a], pairwiseKeyShares: [c] });
    await expect(platforms[1]!.ai.participate(host.fixture.sessionId)).resolves.toMatchObject({ status: 'left_out' });
    expect(await stores[1]!.load(keyOf(host, banks[1]!))).toBeUndefined();
  });

  it('a failed round and an ended session: deleted', async () => {
    const host = await makeSecAggHost();
    const { banks, platforms, stores } = await contributeAll(host);
    host.stage = 'failed';
    host.error = { code: 'secagg_below_threshold', message: 'too few survivors' };
    await expect(platforms[0]!.ai.participate(host.fixture.sessionId)).resolves.toMatchObject({ status: 'round_failed' });
    expect(await stores[0]!.load(keyOf(host, banks[0]!))).toBeUndefined();
    host.fixture.routes.set(`GET /v1/sessions/${host.fixture.sessionId}/secagg`, () => apiError(410, 'session_expired', 'the session expired'));
    await expect(platforms[1]!.ai.participate(host.fixture.sessionId)).resolves.toMatchObject({ status: 'session_ended' });
    expect(await stores[1]!.load(keyOf(host, banks[1]!))).toBeUndefined();
    expect(await stores[2]!.load(keyOf(host, banks[2]!))).toBeDefined();
  });
});

describe('MemorySecAggStateStore.withLock', () => {
  it('runs the tasks of one key one at a time, in order, also after a failure; other keys run alongside', async () => {
    const store = new MemorySecAggStateStore();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([
      store.withLock('k', task('a', 30, true)),
      store.withLock('k', task('b', 5)),
      store.withLock('other', task('c', 1)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a')).toBeLessThan(log.indexOf('start b'));
    expect(log.indexOf('end c')).toBeLessThan(log.indexOf('end a'));
    expect(() => store.withLock('', task('x', 1))).toThrow(TypeError);
  });
});
