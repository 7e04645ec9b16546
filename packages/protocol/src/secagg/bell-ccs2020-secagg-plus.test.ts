// SecAgg+ (Bell, Bonawitz, Gascón, Lepoint, Raykova, CCS 2020) over the pure stage functions: the Harary
// graph (symmetric, k-regular, the same for every party, k-connected), the choice of k and t_k, masks that
// cancel at n = 40, 60, 100, dropouts before and after the masked input, per-neighbourhood thresholds at
// every stage (clients and server), a malicious unmask request, and a golden vector file.
import {
  combineShares,
  fromBase64Url,
  randomBytes,
  sha256,
  signStatement,
  signingPublicKeyFromPrivate,
  toBase64Url,
  toHex,
  utf8Encode,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import type { SessionTerms } from '../terms.js';
import { sessionIdOf } from '../terms.js';
import { maskInput, shareKeysWithRng, unmask, verifyShareKeys } from './client.js';
import { validateSecAggConfig, type SecAggConfig, type SecAggGraphSpec } from './config.js';
import { SecAggError } from './errors.js';
import type { SignedShareKeys, UnmaskRequest } from './messages.js';
import { maskSeed, maskSign, pairwiseMask } from './masks.js';
import {
  SECAGG_PLUS_CORRECTNESS_BITS,
  SECAGG_PLUS_MIN_PARTIES,
  hararyShareThreshold,
  neighbours,
  secAggGraphFor,
  secAggGraphSeed,
  secAggPlusColluders,
  topologyOf,
} from './neighbours.js';
import {
  OTHER_SESSION,
  SESSION,
  advertiseAll,
  answers,
  expectGoldenConsistent,
  expectGoldenFile,
  expectSecAggError,
  goldenRun,
  makeRoster,
  maskedInputOf,
  plainSum,
  randomInputs,
  readGoldenFile,
  runSession,
  runUntilUnmask,
  seedBytes,
  type GoldenFile,
  type GoldenParty,
} from './secagg-harness.fixture.js';
import { aggregate, assertNeighbourhoods, collectAdvertisements, createSecAggServer } from './server.js';
import { secAggConfigOf } from './session.js';

/** The Harary graph secAggGraphFor picks for (n, t) on SESSION (the test fails if it picks the complete one). */
function autoGraph(n: number, threshold: number): SecAggGraphSpec & { kind: 'harary' } {
  const graph = secAggGraphFor(n, SESSION, threshold);
  if (graph.kind !== 'harary') throw new Error(`expected a Harary graph for n = ${n}, t = ${threshold}`);
  return graph;
}

/** 0-based positions of the neighbours of 0-based party `i`. */
function neighbourPositions(config: SecAggConfig, i: number): number[] {
  return topologyOf(config).neighboursOf(i + 1).map((j) => j - 1);
}

function connectedWithout(n: number, adjacency: readonly (readonly number[])[], removed: ReadonlySet<number>): boolean {
  const start = Array.from({ length: n }, (_, i) => i + 1).find((i) => !removed.has(i));
  if (start === undefined) return true;
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.pop()!;
    for (const w of adjacency[v]!) {
      if (!removed.has(w) && !seen.has(w)) {
        seen.add(w);
        queue.push(w);
      }
    }
  }
  return seen.size === n - removed.size;
}

function sample(n: number, count: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}

// ---------------------------------------------------------------------------------------------------------

describe('the Harary graph H(k, n)', () => {
  for (const [n, t] of [
    [40, 36],
    [60, 54],
    [100, 90],
  ] as const) {
    it(`n = ${n}, t = ${t}: symmetric, k-regular, no self-loop, the same for every party, connected after removing any k − 1`, () => {
      const graph = autoGraph(n, t);
      const { k, seed } = graph;
      const lists = [[], ...Array.from({ length: n }, (_, i) => neighbours(i + 1, n, k, seed))];
      for (let i = 1; i <= n; i++) {
        expect(new Set(lists[i]).size).toBe(k);
        expect(lists[i]).not.toContain(i);
        for (const j of lists[i]!) expect(lists[j]).toContain(i);
      }
      // Every party builds the graph from its own copy of the configuration (a different seed object).
      const a = topologyOf({ ...makeRoster(n, t, 1, { graph: { kind: 'harary', k, seed: seed.slice() } }).config });
      const b = topologyOf({ ...makeRoster(n, t, 1, { graph: { kind: 'harary', k, seed: seed.slice() } }).config });
      for (let i = 1; i <= n; i++) expect(a.neighboursOf(i)).toEqual(b.neighboursOf(i));
      // Vertex connectivity k (Harary 1962): random removals of k − 1 parties never disconnect it…
      for (let trial = 0; trial < 200; trial++) {
        expect(connectedWithout(n, lists, new Set(sample(n, k - 1).map((i) => i + 1)))).toBe(true);
      }
      // …but k can: removing N(1) cuts party 1 off — why k must exceed colluders plus dropouts.
      expect(connectedWithout(n, lists, new Set(lists[1]))).toBe(false);
    });
  }

  it('the seed is SHA-256 of the domain tag and the session id; another session gives another graph', () => {
    expect(toHex(secAggGraphSeed(SESSION))).toBe(toHex(sha256(utf8Encode(`tenzro.secagg.plus-graph-seed/v1|${SESSION}`))));
    const other = secAggGraphFor(100, OTHER_SESSION, 90);
    const mine = autoGraph(100, 90);
    expect(other.kind).toBe('harary');
    if (other.kind !== 'harary') return;
    expect(other.k).toBe(mine.k);
    expect(toHex(other.seed)).not.toBe(toHex(mine.seed));
    expect(neighbours(1, 100, mine.k, mine.seed)).not.toEqual(neighbours(1, 100, other.k, other.seed));
  });
});

describe('choice of k and t_k (secAggGraphFor)', () => {
  it('pins the figures of the design note (γ = 10 %, η = 20)', () => {
    const pick = (n: number, t: number): string => {
      const g = secAggGraphFor(n, SESSION, t);
      return g.kind === 'complete' ? 'complete' : `${g.k}/${hararyShareThreshold(n, g.k)}`;
    };
    expect(SECAGG_PLUS_MIN_PARTIES).toBe(40);
    expect([pick(100, 85), pick(100, 90), pick(100, 95), pick(100, 100)]).toEqual(['42/27', '32/22', '22/17', '12/12']);
    expect([pick(100, 51), pick(100, 67), pick(100, 80)]).toEqual(['complete', 'complete', 'complete']);
    expect([pick(60, 54), pick(40, 36), pick(39, 39), pick(12, 12)]).toEqual(['20/14', '14/10', 'complete', 'complete']);
  });

  it('every choice for 40 ≤ n ≤ 100 satisfies connectivity, the majority rule, t_k ≤ k + 1, the saving and the liveness bound', () => {
    const logChoose = (a: number, b: number): number => {
      let r = 0;
      for (let i = 1; i <= b; i++) r += Math.log(a - b + i) - Math.log(i);
      return r;
    };
    let harary = 0;
    for (let n = SECAGG_PLUS_MIN_PARTIES; n <= 100; n++) {
      for (let t = Math.floor(n / 2) + 1; t <= n; t++) {
        const g = secAggGraphFor(n, SESSION, t);
        if (g.kind === 'complete') continue;
        harary++;
        const c = secAggPlusColluders(n);
        const tk = hararyShareThreshold(n, g.k);
        expect(g.k % 2).toBe(0);
        expect(g.k).toBeLessThanOrEqual((n - 1) / 2);
        expect(g.k).toBeGreaterThan(c + (n - t));
        expect(2 * tk).toBeGreaterThan(g.k + 1 + c);
        expect(tk).toBeLessThanOrEqual(g.k + 1);
        // n · P[Hyp(n − 1, t − 1, k) < t_k] ≤ 2^-η, recomputed in floating point.
        let tail = 0;
        for (let x = 0; x < tk; x++) {
          if (x > t - 1 || g.k - x > n - t) continue;
          tail += Math.exp(logChoose(t - 1, x) + logChoose(n - t, g.k - x) - logChoose(n - 1, g.k));
        }
        expect(n * tail).toBeLessThanOrEqual(2 ** -SECAGG_PLUS_CORRECTNESS_BITS * 1.000001);
        if (t === n) expect(() => validateSecAggConfig(makeRosterConfig(n, t, g))).not.toThrow();
      }
    }
    expect(harary).toBeGreaterThan(100);
  });

  it('random dropouts of n − t parties leave every neighbourhood t_k survivors (Monte Carlo, n = 100, t = 90)', () => {
    const { k, seed } = autoGraph(100, 90);
    const tk = hararyShareThreshold(100, k);
    const lists = Array.from({ length: 100 }, (_, i) => neighbours(i + 1, 100, k, seed));
    for (let trial = 0; trial < 500; trial++) {
      const gone = new Set(sample(100, 10).map((i) => i + 1));
      for (let i = 1; i <= 100; i++) expect(lists[i - 1]!.filter((j) => !gone.has(j)).length).toBeGreaterThanOrEqual(tk);
    }
  });

  it('refuses bad arguments, naming them', () => {
    expect(() => secAggGraphFor(1, SESSION, 1)).toThrow(/^n must be an integer ≥ 2/);
    expect(() => secAggGraphFor(50.5, SESSION, 40)).toThrow(RangeError);
    expect(() => secAggGraphFor(50, 'nope', 40)).toThrow(/sessionId/);
    expect(() => secAggGraphFor(50, SESSION, 25)).toThrow(/threshold/);
    expect(() => secAggGraphFor(50, SESSION, 51)).toThrow(/threshold/);
    expect(() => secAggGraphSeed('x')).toThrow(TypeError);
  });

  it('secAggConfigOf sets the graph from the terms: Harary for 100 parties at t = 90, none below the bound', () => {
    const terms = (n: number, threshold: number): SessionTerms =>
      ({
        type: 'tenzro.session-terms/v1',
        participants: Array.from({ length: n }, (_, i) => ({
          partyId: `party::bank${i + 1}::agent`,
          signingKey: toBase64Url(signingPublicKeyFromPrivate(seedBytes(`terms/${i}`))),
          encryptionKey: toBase64Url(new Uint8Array(32).fill(i + 1)),
        })),
        dataPolicy: { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold, noiseAddition: false } },
        nonce: 'AAAA',
      }) as unknown as SessionTerms;
    const big = terms(100, 90);
    const config = secAggConfigOf(big, 16);
    expect(config.graph?.kind).toBe('harary');
    if (config.graph?.kind !== 'harary') return;
    expect(config.graph.k).toBe(32);
    expect(toHex(config.graph.seed)).toBe(toHex(secAggGraphSeed(sessionIdOf(big))));
    // A second party derives the same configuration from the same terms.
    const again = secAggConfigOf(big, 16).graph;
    expect(again?.kind === 'harary' ? toHex(again.seed) : 'complete').toBe(toHex(config.graph.seed));
    expect(secAggConfigOf(terms(100, 67), 16).graph).toBeUndefined();
    expect(secAggConfigOf(terms(30, 30), 16).graph).toBeUndefined();
  });
});

let PARTIES: { partyId: string; signingPublicKey: Uint8Array }[] | undefined;

function makeRosterConfig(n: number, t: number, graph: SecAggGraphSpec): SecAggConfig {
  PARTIES ??= Array.from({ length: 100 }, (_, i) => ({ partyId: `party::bank${i + 1}::agent`, signingPublicKey: signingPublicKeyFromPrivate(seedBytes(`p/${i}`)) }));
  return { sessionId: SESSION, threshold: t, vectorLength: 1, parties: PARTIES.slice(0, n), graph };
}

describe('validateSecAggConfig with a graph', () => {
  it('refuses a malformed or too sparse Harary graph (invalid_config), accepts an explicit complete one', () => {
    const seed = new Uint8Array(32).fill(7);
    const bad = (graph: unknown): void => {
      expectSecAggError(() => validateSecAggConfig({ ...makeRosterConfig(12, 8, { kind: 'complete' }), graph } as SecAggConfig), 'invalid_config');
    };
    bad({ kind: 'harary', k: 5, seed });
    bad({ kind: 'harary', k: 12, seed });
    bad({ kind: 'harary', k: 0, seed });
    bad({ kind: 'harary', k: 6, seed: new Uint8Array(31) });
    bad({ kind: 'harary', k: 6 });
    bad({ kind: 'harary', k: 6, seed, extra: 1 });
    bad({ kind: 'ring' });
    bad({ kind: 'complete', k: 2 });
    bad('complete');
    // k must exceed ⌊n/10⌋ + (n − t) = 1 + 4: with k = 4 the host could cut out an arc of survivors.
    const sparse = expectSecAggError(() => validateSecAggConfig(makeRosterConfig(12, 8, { kind: 'harary', k: 4, seed })), 'invalid_config');
    expect(sparse.message).toMatch(/split the honest survivors/);
    expect(() => validateSecAggConfig(makeRosterConfig(12, 8, { kind: 'harary', k: 6, seed }))).not.toThrow();
    expect(() => validateSecAggConfig(makeRosterConfig(12, 8, { kind: 'complete' }))).not.toThrow();
  });
});

describe('masks cancel with a Harary graph', () => {
  for (const [n, t] of [
    [40, 36],
    [60, 54],
    [100, 98],
  ] as const) {
    it(`n = ${n}, t = ${t}: the unmasked sum is the plain sum; each party masks and shares with its k neighbours only`, { timeout: 600_000 }, () => {
      const graph = autoGraph(n, t);
      const length = 1 + Math.floor(Math.random() * 16);
      const roster = makeRoster(n, t, length, { graph });
      const inputs = randomInputs(n, length);
      const run = runSession(roster, inputs);
      expect(run.sum).toEqual(plainSum(inputs, () => true));
      expect(run.survivors).toHaveLength(n);
      for (const m of run.shareMessages) {
        const i = roster.config.parties.findIndex((p) => p.partyId === m.body.partyId);
        expect(m.body.ciphertexts.map((c) => c.to).sort()).toEqual(neighbourPositions(roster.config, i).map((j) => roster.config.parties[j]!.partyId).sort());
      }
      // Each answer carries k + 1 self-mask shares (its neighbourhood, itself included), never all n.
      for (const u of run.unmasks) expect(u.body.selfMaskShares).toHaveLength(graph.k + 1);
    });
  }
});

describe('dropouts with a Harary graph (n = 40, t = 36, k = 14, t_k = 10)', () => {
  const n = 40;
  const t = 36;
  const length = 8;

  it('2 dropouts before and 2 after the masked input: the exact sum of the 38 masked inputs', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, length, { graph: autoGraph(n, t) });
    const inputs = randomInputs(n, length);
    const [a, b, c, d] = sample(n, 4) as [number, number, number, number];
    const run = runSession(roster, inputs, { dropBeforeMasked: [a, b], dropAfterMasked: [c, d] });
    expect(new Set(run.request.pairwiseKeyShares)).toEqual(new Set([a, b].map((i) => roster.config.parties[i]!.partyId)));
    expect(run.sum).toEqual(plainSum(inputs, (i) => i !== a && i !== b));
    expect(run.survivors).toHaveLength(38);
  });

  it('dropouts at advertise and share-keys are recovered too', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, length, { graph: autoGraph(n, t) });
    const inputs = randomInputs(n, length);
    const [a, b, c] = sample(n, 3) as [number, number, number];
    const run = runSession(roster, inputs, { dropAtAdvertise: [a], dropAtShareKeys: [b], dropBeforeMasked: [c] });
    expect(run.sum).toEqual(plainSum(inputs, (i) => ![a, b, c].includes(i)));
  });
});

describe('thresholds per neighbourhood (n = 20, t = 17, forced k = 6, t_k = 5)', () => {
  const n = 20;
  const t = 17;
  const graph: SecAggGraphSpec = { kind: 'harary', k: 6, seed: seedBytes('thresholds') };

  it('the server aborts before asking for shares when a dropped party keeps fewer than t_k neighbours', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, 4, { graph });
    expect(hararyShareThreshold(n, 6)).toBe(5);
    const victim = 0;
    const around = neighbourPositions(roster.config, victim).slice(0, 2);
    // 3 drop out (global count 17 ≥ t), but the victim then has 4 < 5 of its neighbours left.
    const error = (() => {
      try {
        runUntilUnmask(roster, randomInputs(n, 4), { dropBeforeMasked: [victim, ...around] });
      } catch (e) {
        return e as SecAggError;
      }
      throw new Error('expected an abort');
    })();
    expect(error).toBeInstanceOf(SecAggError);
    expect(error.code).toBe('below_threshold');
    expect(error.stage).toBe('masked-input');
    expect(error.message).toMatch(/neighbourhood threshold 5/);
  });

  it('clients refuse at share-keys, masked-input and unmask when their neighbourhood is below t_k', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, 4, { graph });
    const { config } = roster;
    const me = 0;
    const mine = neighbourPositions(config, me);
    const gone = new Set(mine.slice(0, 3).map((j) => config.parties[j]!.partyId));
    const steps = advertiseAll(roster);
    const adverts = steps.map((s) => s.message);
    // Share-keys: 17 advertisements (the global threshold holds), but only 3 + 1 of N[me].
    const e1 = expectSecAggError(() => shareKeysWithRng(steps[me]!.state, adverts.filter((a) => !gone.has(a.body.partyId)), randomBytes), 'below_threshold');
    expect(e1.stage).toBe('share-keys');
    const shared = steps.map((s) => shareKeysWithRng(s.state, adverts, randomBytes));
    const bundle = shared.map((s) => s.message);
    const e2 = expectSecAggError(() => maskInput(shared[me]!.state, bundle.filter((m) => !gone.has(m.body.partyId)), new Uint32Array(4)), 'below_threshold');
    expect(e2.stage).toBe('masked-input');
    const masked = shared.map((s) => maskInput(s.state, bundle, new Uint32Array(4)));
    // A request that calls 3 of my neighbours dropped: 17 survivors globally, 4 of 7 in N[me].
    const request: UnmaskRequest = {
      type: 'tenzro.secagg.unmask-request/v1',
      sessionId: SESSION,
      selfMaskShares: config.parties.map((p) => p.partyId).filter((id) => !gone.has(id)),
      pairwiseKeyShares: [...gone],
    };
    const e3 = expectSecAggError(() => unmask(masked[me]!.state, request), 'below_threshold');
    expect(e3.stage).toBe('unmask');
    // The host can run the same check before publishing the request.
    expectSecAggError(() => assertNeighbourhoods(config, bundle.map((m) => m.body.partyId), new Set(request.selfMaskShares)), 'below_threshold');
  });

  it('the server refuses to reconstruct when a neighbourhood answered with fewer than t_k shares', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, 4, { graph });
    const staged = runUntilUnmask(roster, randomInputs(n, 4));
    const mine = neighbourPositions(roster.config, 0);
    // 3 survivors around party 1 keep their answers: 17 answers (global threshold holds), 4 of 7 in N[party 1].
    const withheld = answers(roster, staged, mine.slice(0, 3));
    expect(withheld).toHaveLength(17);
    const error = expectSecAggError(() => aggregate(staged.server, withheld), 'below_threshold');
    expect(error.stage).toBe('aggregate');
    expect(staged.server.stage).toBe('unmask');
  });

  it('a malicious request asking both shares of a party is refused; an honest answer covers N[u] only', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, 4, { graph });
    const staged = runUntilUnmask(roster, randomInputs(n, 4), { dropBeforeMasked: [5] });
    const me = 0;
    const neighbour = neighbourPositions(roster.config, me)
      .map((j) => roster.config.parties[j]!.partyId)
      .find((id) => staged.request.selfMaskShares.includes(id))!;
    const both: UnmaskRequest = { ...staged.request, pairwiseKeyShares: [...staged.request.pairwiseKeyShares, neighbour] };
    expectSecAggError(() => unmask(staged.clients[me]!, both), 'both_shares_requested');
    const honest = unmask(staged.clients[me]!, staged.request).message;
    const closed = new Set([me, ...neighbourPositions(roster.config, me)].map((j) => roster.config.parties[j]!.partyId));
    expect(honest.body.selfMaskShares.every((s) => closed.has(s.of))).toBe(true);
    expect(honest.body.pairwiseKeyShares.every((s) => closed.has(s.of))).toBe(true);
    expect(honest.body.selfMaskShares.length + honest.body.pairwiseKeyShares.length).toBe(7);
  });

  it('a share-keys message addressed to a non-neighbour, or missing a neighbour, is refused', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, 4, { graph });
    const { config } = roster;
    const steps = advertiseAll(roster);
    const adverts = steps.map((s) => s.message);
    const u1 = collectAdvertisements(createSecAggServer(config), adverts).state;
    if (u1.stage !== 'share-keys') throw new Error('unexpected');
    const sender = shareKeysWithRng(steps[0]!.state, adverts, randomBytes).message;
    const stranger = config.parties.find((p, j) => j !== 0 && !neighbourPositions(config, 0).includes(j))!.partyId;
    const resign = (body: SignedShareKeys['body']): SignedShareKeys => ({ body, signature: toBase64Url(signStatement(roster.signingKeys[0]!, body)) });
    const extra = resign({ ...sender.body, ciphertexts: [...sender.body.ciphertexts, { to: stranger, ciphertext: sender.body.ciphertexts[0]!.ciphertext }] });
    const missing = resign({ ...sender.body, ciphertexts: sender.body.ciphertexts.slice(1) });
    const swapped = resign({ ...sender.body, ciphertexts: [{ ...sender.body.ciphertexts[0]!, to: stranger }, ...sender.body.ciphertexts.slice(1)] });
    for (const bad of [extra, missing, swapped]) expectSecAggError(() => verifyShareKeys({ ...config, threshold: 1 }, u1.u1, [bad], 'share-keys'), 'invalid_message');
    expect(verifyShareKeys({ ...config, threshold: 1 }, u1.u1, [sender], 'share-keys')).toHaveLength(1);
  });

  it('fewer than t_k shares of a neighbourhood reconstruct nothing', { timeout: 600_000 }, () => {
    const roster = makeRoster(n, t, 4, { graph });
    const staged = runUntilUnmask(roster, randomInputs(n, 4));
    const target = roster.config.parties[0]!.partyId;
    const holders = neighbourPositions(roster.config, 0).slice(0, 4);
    const shares = holders.map((j) => {
      const c = staged.clients[j];
      if (c?.stage !== 'input-masked') throw new Error('unexpected stage');
      return { x: j + 1, y: c.held[target]!.bShare };
    });
    expect(() => combineShares(shares, 5)).toThrow(/need at least threshold/);
    // Non-neighbours hold nothing of the target.
    const far = staged.clients.findIndex((c, j) => j !== 0 && !neighbourPositions(roster.config, 0).includes(j));
    const c = staged.clients[far];
    if (c?.stage !== 'input-masked') throw new Error('unexpected stage');
    expect(c.held[target]).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Golden vector: 12 parties, forced Harary graph k = 6 (t_k = 5 of 7), t = 8, one dropout before and one
// after the masked input; fixed seeds through the internal deterministic entry points, replayed byte for byte.

const PLUS_FILE = 'secagg-plus-twelve-parties.json';

function goldenPlusSession(): unknown {
  const threshold = 8;
  const length = 6;
  const graph: SecAggGraphSpec = { kind: 'harary', k: 6, seed: seedBytes('golden-plus/12/graph') };
  const { roster, run, ids, u2, secrets, partyKeys, record } = goldenRun('golden-plus/12', 12, threshold, length, { graph, dropBeforeMasked: [3], dropAfterMasked: [7] });
  const topology = topologyOf(roster.config);
  const parties = ids.map((partyId, i) => {
    const around = topology.neighboursOf(i + 1);
    return {
      partyId,
      index: i + 1,
      neighbours: around.map((j) => ids[j - 1]!),
      ...partyKeys[i],
      pairwiseMasks: around
        .filter((j) => u2.includes(ids[j - 1]!))
        .map((j) => {
          const peer = ids[j - 1]!;
          const seed = maskSeed(secrets[i]!.s, fromBase64Url(run.adverts[j - 1]!.body.sPublicKey), roster.config.sessionId, partyId, peer);
          return { peer, sign: maskSign(i + 1, j), seed: toHex(seed), mask: Array.from(pairwiseMask(seed, length)) };
        }),
      maskedInput: maskedInputOf(run, partyId),
    };
  });
  return {
    description:
      'SecAgg+ (Bell et al. CCS 2020) known-answer data over the Bonawitz et al. masks of three-parties.json: Harary graph H(k, n) over graphPermutation(n, graph.seed) (expandMask(seed, 4n + 64, "tenzro.secagg.plus-graph/v1") driving Fisher–Yates), neighbours = the k/2 parties on each side on the permuted ring; Shamir t_k-of-(k + 1) over the closed neighbourhood, x = roster index; maskedInput = input + selfMask + Σ over neighbours in U2 of sign · pairwise mask. sum = Σ over survivors of input. Private keys are test keys.',
    sessionId: roster.config.sessionId,
    threshold,
    graph: { kind: 'harary', k: 6, seed: toHex((graph as { seed: Uint8Array }).seed) },
    neighbourhoodThreshold: topology.shareThreshold,
    vectorLength: length,
    parties,
    ...record,
  };
}

interface GoldenPlusParty extends GoldenParty {
  index: number;
  neighbours: string[];
  pairwiseMasks: { peer: string; sign: number; mask: number[] }[];
}

describe('golden vector (test/golden/secagg)', () => {
  it(`${PLUS_FILE} replays byte for byte`, { timeout: 600_000 }, () => {
    expectGoldenFile(PLUS_FILE, `${JSON.stringify(goldenPlusSession(), null, 2)}\n`);
  });

  it(`${PLUS_FILE} is self-consistent (what a second implementation would check)`, () => {
    const golden = readGoldenFile<GoldenFile<GoldenPlusParty> & { graph: { k: number; seed: string } }>(PLUS_FILE);
    const ids = golden.parties.map((p) => p.partyId);
    const seed = Uint8Array.from(golden.graph.seed.match(/../g)!.map((h) => parseInt(h, 16)));
    expectGoldenConsistent(golden, (party) => {
      expect(party.neighbours).toEqual(neighbours(party.index, ids.length, golden.graph.k, seed).map((j) => ids[j - 1]));
      for (const pm of party.pairwiseMasks) expect(party.neighbours).toContain(pm.peer);
    });
  });
});
