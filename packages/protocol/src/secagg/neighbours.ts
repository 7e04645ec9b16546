// SecAgg+ communication graph (Bell, Bonawitz, Gascón, Lepoint, Raykova, "Secure Single-Server Aggregation
// with (Poly)Logarithmic Overhead", CCS 2020, §3): instead of all-to-all, each party shares its secrets with,
// and masks with, only its k neighbours in a Harary graph H(k, n) whose vertices are a uniformly random
// permutation of the parties, drawn from a public seed so every party derives the same graph. Shamir
// shares of b_u and s_u^SK go to the closed neighbourhood N[u] = N(u) ∪ {u} (k + 1 shares, x = roster
// index), t_k of which reconstruct.
//
// Choosing k and t_k. The paper's concrete parameters (§3.4 / Appendix, and the authors' production
// parameter finder, σ = 40 security bits, η = 20 correctness bits) bound two bad events by union bounds
// over a random permutation: the honest survivors' graph being disconnected, and a neighbourhood holding
// too many corrupt or too few surviving parties. At our sizes that gives no logarithmic regime: for
// n = 100, a 5 % corrupt / 10 % dropout semi-malicious model needs k = 26, t = 16, and the authors' published
// table has k = 34 (γ = 0.33, δ = 0.05), 68 (γ = δ = 0.33), 92 (γ = δ = 0.45) at n = 100 — against
// c·log2(100) ≈ 6.6c; the abstract's headline (n = 10^4, 5 % corrupt, 5 % dropout, semi-malicious: each
// client talks to 3 % of the others) is where the log regime starts. More importantly, the disconnection
// bound assumes the removed parties are independent of the graph, while here the graph seed is public from
// the terms and the host decides which messages count as "arrived": it can drop exactly the k/2 ring
// neighbours on each side of an arc and have the enclave unmask the sum of that arc alone (e.g. 8 parties
// at n = 100, k = 14), which would carry only 8/t of the DP noise the session was calibrated for.
// So the rules below are deterministic where privacy is concerned and probabilistic only for liveness:
//
// - Colluders: at most c = ⌊n/10⌋ parties collude with the host or a compromised enclave (γ = 10 %, twice
//   the paper's 5 % headline, because at n ≤ 100 it costs only 4–6 more neighbours; the complete graph
//   tolerates 2t − n − 1).
// - Connectivity: H(k, n) has vertex connectivity exactly k (Harary 1962), so with k > c + (n − t) no set
//   of colluders plus dropped parties the stage thresholds allow can split the honest survivors: from its
//   one unmask request the enclave learns Σ_{u ∈ U3} x_u and nothing finer, as with the complete graph,
//   whichever parties the host chose to drop. Validated for every Harary configuration.
// - t_k = ⌊(k + 1 + c)/2⌋ + 1: a majority of N[u] even counting c colluders twice (2·t_k > k + 1 + c), so no
//   two sets of t_k answers — one giving b_u, one giving s_u^SK — can exist for any u, whatever stories a
//   malicious server tells (the per-neighbourhood form of the session's t > n/2; the paper's semi-malicious
//   condition t > (t1 + k)/2 with its adversarial-neighbour quantile t1 replaced by the worst case c). It
//   also exceeds c + 1, so colluders alone never reconstruct anything.
// - Liveness (η = 20): with n − t random dropouts, P[some neighbourhood keeps fewer than t_k of its k
//   neighbours] ≤ n · P[Hyp(n − 1, t − 1, k) < t_k] ≤ 2^-20, computed exactly in integers so every runtime
//   picks the same k. Adversarial dropouts can still stall a round (below_threshold), never leak.
//
// Switch-over: secAggGraphFor picks the smallest even k meeting all three, and uses it only when n ≥
// SECAGG_PLUS_MIN_PARTIES and k ≤ (n − 1)/2, i.e. when it at least halves each party's key agreements, PRG
// expansions, share ciphertexts and unmask answers (O(n) → O(k)) and the bytes of the share-keys bundle
// every party downloads (O(n²) → O(n·k)); otherwise the complete graph (Bonawitz et al.), never less
// private. What stays O(n) per party: checking the n signed advertisements and share-keys messages (the
// global thresholds need them) and evaluating the Shamir polynomials at all n roster indices.

import { expandMask, sha256, toHex, utf8Encode } from '@tenzro/crypto';
import { SESSION_ID_PATTERN } from '../ids.js';
import type { SecAggConfig, SecAggGraphSpec } from './config.js';

const GRAPH_DOMAIN = 'tenzro.secagg.plus-graph/v1';
/** Domain tag of the graph seed: seed = SHA-256("tenzro.secagg.plus-graph-seed/v1|" + sessionId). */
export const SECAGG_GRAPH_SEED_DOMAIN = 'tenzro.secagg.plus-graph-seed/v1';

/**
 * Below this many parties the complete graph is always used. Measured with the stage functions (vector
 * 10,000, t = 0.9 n, mean per party, one shared 2-core machine): n = 40: 325 → 205 ms per party and a
 * share-keys bundle (downloaded by every party, O(n²) bytes) of 390 → 146 KB; n = 60: 586 → 286 ms,
 * 878 → 307 KB; n = 100: ~800 → ~450 ms, 2.44 → 0.80 MB. Under 40 the all-to-all round already costs each
 * party well under a third of a second and a few hundred KB, a halving k exists only for t ≥ 0.85 n, and
 * the graph would trade the complete graph's collusion tolerance (2t − n − 1) for ⌊n/10⌋ to save little.
 */
export const SECAGG_PLUS_MIN_PARTIES = 40;
/** Correctness bits η: a round with at most n − t random dropouts fails with probability ≤ 2^-η. */
export const SECAGG_PLUS_CORRECTNESS_BITS = 20;

/** c = ⌊n/10⌋: the colluding parties a Harary configuration must withstand (γ = 10 %). */
export function secAggPlusColluders(n: number): number {
  return Math.floor(n / 10);
}

/** t_k = ⌊(k + 1 + c)/2⌋ + 1 (at least 2): shares of N[u] (k + 1 of them) needed to reconstruct. */
export function hararyShareThreshold(n: number, k: number): number {
  return Math.max(2, Math.floor((k + 1 + secAggPlusColluders(n)) / 2) + 1);
}

/** The public graph seed of a session: SHA-256(SECAGG_GRAPH_SEED_DOMAIN + "|" + sessionId). */
export function secAggGraphSeed(sessionId: string): Uint8Array {
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) throw new TypeError('sessionId must be a session id (mps_…)');
  return sha256(utf8Encode(`${SECAGG_GRAPH_SEED_DOMAIN}|${sessionId}`));
}

// Σ_{x < below} C(K, x)·C(N − K, draws − x) and C(N, draws), exactly (incremental binomials).
function hypergeometricLowerTail(N: number, K: number, draws: number, below: number): { tail: bigint; total: bigint } {
  const binomial = (a: number, b: number): bigint => {
    if (b < 0 || b > a) return 0n;
    const m = Math.min(b, a - b);
    let r = 1n;
    for (let i = 1; i <= m; i++) r = (r * BigInt(a - m + i)) / BigInt(i);
    return r;
  };
  const M = N - K;
  const first = Math.max(0, draws - M); // C(M, draws − x) = 0 below this x
  let left = binomial(K, first); // C(K, x)
  let right = binomial(M, draws - first); // C(M, draws − x)
  let tail = 0n;
  for (let x = first; x < below && x <= Math.min(draws, K); x++) {
    tail += left * right;
    left = (left * BigInt(K - x)) / BigInt(x + 1);
    const y = draws - x; // C(M, y − 1) = C(M, y) · y / (M − y + 1)
    right = y > 0 ? (right * BigInt(y)) / BigInt(M - y + 1) : 0n;
  }
  return { tail, total: binomial(N, draws) };
}

function assertGraphArguments(n: number, sessionId: string, threshold: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2) throw new RangeError(`n must be an integer ≥ 2, got ${String(n)}`);
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) throw new TypeError('sessionId must be a session id (mps_…)');
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 2 || threshold > n || threshold <= n / 2) {
    throw new RangeError(`threshold must be an integer with n/2 < threshold ≤ n and threshold ≥ 2 (n = ${n}), got ${String(threshold)}`);
  }
}

/** Why a Harary degree k is not acceptable for (n, t), or undefined if it is (see the module header). */
export function hararyDegreeProblem(n: number, k: number, threshold: number): string | undefined {
  const c = secAggPlusColluders(n);
  if (k <= c + (n - threshold)) {
    return `k (${k}) must exceed ⌊n/10⌋ + (n − threshold) = ${c} + ${n - threshold}: with fewer neighbours the dropped and colluding parties could split the honest survivors`;
  }
  if (hararyShareThreshold(n, k) > k + 1) return `k (${k}) is too small for the share threshold ${hararyShareThreshold(n, k)}`;
  return undefined;
}

/**
 * The communication graph of a session of `n` parties with stage threshold `threshold`: a Harary graph
 * H(k, n) (seed from the session id) when n ≥ SECAGG_PLUS_MIN_PARTIES and an even k ≤ (n − 1)/2 meets the
 * rules of the module header, else the complete graph. Deterministic (integer arithmetic only).
 */
export function secAggGraphFor(n: number, sessionId: string, threshold: number): SecAggGraphSpec {
  assertGraphArguments(n, sessionId, threshold);
  if (n < SECAGG_PLUS_MIN_PARTIES) return { kind: 'complete' };
  for (let k = 2; k <= (n - 1) / 2; k += 2) {
    if (hararyDegreeProblem(n, k, threshold) !== undefined) continue;
    // Liveness: n · P[Hyp(n − 1, t − 1, k) < t_k] ≤ 2^-η.
    const { tail, total } = hypergeometricLowerTail(n - 1, threshold - 1, k, hararyShareThreshold(n, k));
    if (tail * BigInt(n) * (1n << BigInt(SECAGG_PLUS_CORRECTNESS_BITS)) <= total) {
      return { kind: 'harary', k, seed: secAggGraphSeed(sessionId) };
    }
  }
  return { kind: 'complete' };
}

/** The random permutation of 1..n (Fisher–Yates driven by the PRG; rejection sampling, no modulo bias). */
export function graphPermutation(n: number, seed: Uint8Array): number[] {
  const order = Array.from({ length: n }, (_, i) => i + 1);
  const words = expandMask(seed, 4 * n + 64, GRAPH_DOMAIN);
  let w = 0;
  const next = (): number => {
    if (w >= words.length) throw new RangeError('graphPermutation: randomness exhausted'); // ~never
    return words[w++]!;
  };
  for (let i = n - 1; i > 0; i--) {
    const bound = i + 1;
    const limit = Math.floor(2 ** 32 / bound) * bound;
    let r = next();
    while (r >= limit) r = next();
    const j = r % bound;
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

// Neighbour lists of every party of H(k, n) over a seed, memoised by value (seed hex, n, k).
const HARARY_CACHE = new Map<string, readonly (readonly number[])[]>();
const HARARY_CACHE_SIZE = 64;

function hararyNeighbourhoods(n: number, k: number, seed: Uint8Array): readonly (readonly number[])[] {
  const key = `${toHex(seed)}/${n}/${k}`;
  const hit = HARARY_CACHE.get(key);
  if (hit !== undefined) return hit;
  const order = graphPermutation(n, seed);
  const lists: number[][] = [[]];
  const position = new Array<number>(n + 1);
  order.forEach((party, i) => (position[party] = i));
  for (let party = 1; party <= n; party++) {
    const at = position[party]!;
    const out: number[] = [];
    for (let d = 1; d <= k / 2; d++) out.push(order[(at + d) % n]!, order[(at - d + n) % n]!);
    lists.push(out.sort((a, b) => a - b));
  }
  if (HARARY_CACHE.size >= HARARY_CACHE_SIZE) HARARY_CACHE.delete(HARARY_CACHE.keys().next().value!);
  HARARY_CACHE.set(key, lists);
  return lists;
}

/**
 * The neighbours (1-based party indices, sorted) of `partyIndex` in the Harary graph H(k, n) over the
 * permutation drawn from `seed`: the k/2 parties on each side of it around the permuted ring. k must be
 * even, 2 ≤ k < n.
 */
export function neighbours(partyIndex: number, n: number, k: number, seed: Uint8Array): number[] {
  if (!Number.isInteger(n) || n < 3) throw new RangeError(`n must be an integer ≥ 3, got ${n}`);
  if (!Number.isInteger(partyIndex) || partyIndex < 1 || partyIndex > n) throw new RangeError(`partyIndex must be an integer from 1 to n (${n}), got ${partyIndex}`);
  if (!Number.isInteger(k) || k < 2 || k >= n || k % 2 !== 0) throw new RangeError(`k must be an even integer from 2 to n − 1, got ${k}`);
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new RangeError('seed must be 32 bytes');
  return [...hararyNeighbourhoods(n, k, seed)[partyIndex]!];
}

/** The graph as the stage functions use it (internal). */
export interface SecAggTopology {
  readonly kind: 'complete' | 'harary';
  /** Shares that reconstruct one party's secret: t (complete graph) or t_k (Harary). */
  readonly shareThreshold: number;
  /** Sorted 1-based indices of the neighbours of `index` (never `index` itself). */
  neighboursOf(index: number): readonly number[];
  /** Whether `a` and `b` (different) are neighbours. */
  adjacent(a: number, b: number): boolean;
}

/** The topology of a validated configuration. */
export function topologyOf(config: SecAggConfig): SecAggTopology {
  const n = config.parties.length;
  const graph = config.graph;
  if (graph === undefined || graph.kind === 'complete') {
    return {
      kind: 'complete',
      shareThreshold: config.threshold,
      neighboursOf: (index) => Array.from({ length: n - 1 }, (_, i) => (i + 1 < index ? i + 1 : i + 2)),
      adjacent: (a, b) => a !== b,
    };
  }
  const lists = hararyNeighbourhoods(n, graph.k, graph.seed);
  const sets = lists.map((l) => new Set(l));
  return {
    kind: 'harary',
    shareThreshold: hararyShareThreshold(n, graph.k),
    neighboursOf: (index) => lists[index]!,
    adjacent: (a, b) => sets[a]!.has(b),
  };
}
