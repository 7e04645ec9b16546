// SecAgg+ communication graph (Bell, Bonawitz, Gascón, Lepoint, Raykova, "Secure Single-Server Aggregation
// with (Poly)Logarithmic Overhead", CCS 2020, §3): instead of all-to-all, each party masks and shares
// only with its k neighbours in a random k-regular graph — a Harary graph H(k, n) over a uniformly random
// permutation of the parties, the permutation drawn from a public seed so every party derives the same
// graph. Not yet wired into the stages above (they are all-to-all).

import { expandMask } from '@tenzro/crypto';

const GRAPH_DOMAIN = 'tenzro.secagg.plus-graph/v1';

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
  const order = graphPermutation(n, seed);
  const position = order.indexOf(partyIndex);
  const out: number[] = [];
  for (let d = 1; d <= k / 2; d++) {
    out.push(order[(position + d) % n]!, order[(position - d + n) % n]!);
  }
  return out.sort((a, b) => a - b);
}
