// Probabilistic truncation of shared fixed-point values, dealer-free: O. Catrina, A. Saxena, "Secure
// computation with fixed-point numbers", FC 2010, §3.1 (Protocol 3.1, TruncPR), with the random pair
// contributed by the nodes instead of a dealer.
//
// Input: shares of a with |a| < 2^(k−1) (k = valueBits), to be divided by 2^f (f = bits, e.g. a product
// at scale 2^(2f) brought back to 2^f). κ = MPC_STATISTICAL_SECURITY = 40.
//   Round 1 (truncRound1): each contributing node i draws r_i = 2^f · r''_i + r'_i with r''_i uniform in
//            [0, 2^(k+κ−f)) and r'_i uniform in [0, 2^f), so ⌊r_i / 2^f⌋ = r''_i, and shares (r_i, r''_i)
//            with degree t − 1 among all nodes.
//   Round 2 (truncRound2): every node uses the same contributor set C (≥ t nodes, so at least one is
//            outside any coalition of t − 1): R = Σ_C r_i, R'' = Σ_C r''_i, and sends its share of
//            c = a + 2^(k−1) + R to all nodes (an opening, open.ts).
//   Round 3 (truncRound3): c is reconstructed (≥ t consistent shares); with the public rounding offset
//            δ = 2^(f−1) for even N (0 for odd N), N = |C|, every node outputs its share of
//            d = ⌊(c + δ) / 2^f⌋ − R'' − 2^(k−1−f) − ⌊N/2⌋.
// Correctness: with b = a + 2^(k−1) ∈ [0, 2^k) and R' = Σ_C r'_i ∈ [0, N(2^f − 1)],
//   ⌊(c + δ) / 2^f⌋ = R'' + ⌊b / 2^f⌋ + e, e = ⌊((b mod 2^f) + R' + δ) / 2^f⌋ ∈ {0, …, N + [N even]},
// so d = ⌊a / 2^f⌋ + e − ⌊N/2⌋ and d − a/2^f ∈ (−1 − ⌊N/2⌋, N + [N even] − ⌊N/2⌋]:
//   |d − a / 2^f| ≤ ⌊N/2⌋ + 1 units in the last place (2^−f), always (N = t by default: 2 for t = 2 or 3,
//   3 for t = 4 or 5). (b + R' + δ) mod 2^f is uniform (one r'_i is), so E[e] = E[(β + R' + δ)/2^f] − E[frac]
//   and E[d] − a/2^f = −(N − 1)/2^(f+1) ulp: unbiased to within 2^−f ulp for every N.
// No wrap-around: c < 2^k + N · 2^(k+κ) ≤ M is required for every N ≤ n (maxTruncationValueBits), so the
// integer c is exact. Privacy: c − (a + 2^(k−1)) contains the honest contributor's r_i, uniform on
// [0, 2^(k+κ)), so c is within statistical distance 2^(k)/2^(k+κ) = 2^−κ of a value independent of a,
// per element; every other message is a Shamir share of degree t − 1.

import {
  addFieldVectors,
  addScalarToShareVector,
  addShareVectors,
  fieldVectorFromIntegers,
  inverseModM,
  lowBits,
  randomBytes,
  randomIntegerVector,
  scaleFieldVector,
  addScalar,
  shareVector,
  subtractFieldVectors,
  type RandomSource,
  type ShareVector,
} from '@tenzro/crypto';
import { MPC_STATISTICAL_SECURITY, maxTruncationValueBits } from './config.js';
import { MpcError } from './errors.js';
import { MPC_TYPES, type OpenMessage, type TruncPairMessage } from './messages.js';
import { assertOp, chooseSenders, collectIncoming, type MpcNode } from './node.js';
import { openMessageOf, openValueOf } from './open.js';

/** Most bits cut at once (the low bits of the opened value are read as one double, < 2^26). */
export const MPC_MAX_TRUNCATION_BITS = 26;

export interface TruncationSpec {
  /** f: fractional bits removed (the value is divided by 2^f). 1..26. */
  bits: number;
  /** k: every truncated value satisfies |a| < 2^(k−1); f < k ≤ maxTruncationValueBits(totalParties). */
  valueBits: number;
}

export interface TruncRound1Input extends TruncationSpec {
  op: string;
  /** Elements of the vector to truncate. */
  length: number;
}

export interface TruncRound2Input extends TruncationSpec {
  op: string;
  /** This node's share of a. */
  share: ShareVector;
  /** The trunc-pair messages addressed to this node (its own included). */
  incoming: readonly TruncPairMessage[];
  /** The contributors to use (≥ t, all present; the same at every node); default: the t lowest x present. */
  contributors?: readonly number[];
}

/** What a node keeps between rounds 2 and 3 (plain data, no closures). */
export interface TruncPending extends TruncationSpec {
  readonly sessionId: string;
  readonly op: string;
  readonly length: number;
  readonly contributors: readonly number[];
  /** This node's share of R'' = Σ_C ⌊r_i / 2^f⌋. */
  readonly rHighShare: ShareVector;
}

export interface TruncRound3Input {
  pending: TruncPending;
  /** The open messages of this operation that arrived (this node's own included). */
  incoming: readonly OpenMessage[];
  /** The openers to use (≥ t, all present); default: every message that arrived. */
  openers?: readonly number[];
}

/** The deterministic error bound of a truncation with N contributors, in units of 2^−f: ⌊N/2⌋ + 1. */
export function truncationErrorBound(contributors: number): number {
  return Math.floor(contributors / 2) + 1;
}

function assertSpec(node: MpcNode, spec: TruncationSpec): void {
  const { bits, valueBits } = spec;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MPC_MAX_TRUNCATION_BITS) {
    throw new MpcError('invalid_config', 'truncate', `bits must be an integer from 1 to ${MPC_MAX_TRUNCATION_BITS}, got ${String(bits)}`);
  }
  if (typeof valueBits !== 'number' || !Number.isInteger(valueBits) || valueBits <= bits) {
    throw new MpcError('invalid_config', 'truncate', `valueBits must be an integer above bits (${bits}), got ${String(valueBits)}`);
  }
  const limit = maxTruncationValueBits(node.totalParties, node.field);
  if (valueBits > limit) {
    throw new MpcError(
      'truncation_range_exceeded',
      'truncate',
      `valueBits ${valueBits} leaves no room for a ${MPC_STATISTICAL_SECURITY}-bit mask from ${node.totalParties} contributors in the field; at most ${limit}`,
    );
  }
}

/** Round 1: this node's random pair (r, ⌊r/2^f⌋), shared; one message per node (own included). */
export function truncRound1(node: MpcNode, input: TruncRound1Input, random: RandomSource = randomBytes): TruncPairMessage[] {
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'truncate', 'input must be an object');
  const { op, length, bits, valueBits } = input;
  assertOp(op, 'truncate');
  assertSpec(node, input);
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new MpcError('invalid_config', 'truncate', 'length must be a non-negative integer');
  const field = node.field;
  const rHigh = randomIntegerVector(field, length, valueBits + MPC_STATISTICAL_SECURITY - bits, random);
  const rLow = randomIntegerVector(field, length, bits, random);
  const r = addFieldVectors(scaleFieldVector(rHigh, 1n << BigInt(bits)), rLow);
  const options = { threshold: node.threshold, parties: node.totalParties };
  const rShares = shareVector(r, options, random);
  const highShares = shareVector(rHigh, options, random);
  for (const v of [rHigh, rLow, r]) v.residues.fill(0);
  return rShares.map((s, j) =>
    Object.freeze({ type: MPC_TYPES.truncPair, sessionId: node.sessionId, op, from: node.party, to: s.x, r: s.vector, rHigh: highShares[j]!.vector }),
  );
}

/** Round 2: this node's share of the masked value c, to open, and what it keeps for round 3. */
export function truncRound2(node: MpcNode, input: TruncRound2Input): { pending: TruncPending; message: OpenMessage } {
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'truncate', 'input must be an object');
  const { op, share, incoming, bits, valueBits, contributors } = input;
  assertOp(op, 'truncate');
  assertSpec(node, input);
  const own = openMessageOf(node, 'truncate', op, share); // checks the share is this node's
  const length = own.share.length;
  const { bySender } = collectIncoming(node, 'truncate', MPC_TYPES.truncPair, op, incoming, length, (m) => [m.r, m.rHigh]);
  const used = chooseSenders('truncate', new Set(bySender.keys()), node.threshold, contributors, 'input.contributors');
  let rSum: ShareVector = { x: node.party, vector: bySender.get(used[0]!)!.r };
  let rHighSum: ShareVector = { x: node.party, vector: bySender.get(used[0]!)!.rHigh };
  for (const x of used.slice(1)) {
    rSum = addShareVectors(rSum, { x: node.party, vector: bySender.get(x)!.r });
    rHighSum = addShareVectors(rHighSum, { x: node.party, vector: bySender.get(x)!.rHigh });
  }
  const masked = addScalarToShareVector(addShareVectors(share, rSum), 1n << BigInt(valueBits - 1));
  const pending: TruncPending = Object.freeze({
    sessionId: node.sessionId,
    op,
    length,
    bits,
    valueBits,
    contributors: Object.freeze(used),
    rHighShare: rHighSum,
  });
  return { pending, message: openMessageOf(node, 'truncate', op, masked) };
}

/** Round 3: this node's share of the truncated value ⌊a / 2^f⌋ + e − ⌊N/2⌋ (see the module header). */
export function truncRound3(node: MpcNode, input: TruncRound3Input): ShareVector {
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'truncate', 'input must be an object');
  const { pending, incoming, openers } = input;
  if (typeof pending !== 'object' || pending === null) throw new MpcError('invalid_config', 'truncate', 'input.pending must be a TruncPending');
  if (pending.sessionId !== node.sessionId) throw new MpcError('wrong_session', 'truncate', 'input.pending belongs to another session');
  assertSpec(node, pending);
  if (pending.rHighShare?.x !== node.party) throw new MpcError('invalid_config', 'truncate', 'input.pending belongs to another node');
  const { bits, valueBits, contributors, length } = pending;
  const N = contributors.length;
  const opened = openValueOf(node, 'truncate', pending.op, incoming, length, openers);
  const c = N % 2 === 0 ? addScalar(opened, 1n << BigInt(bits - 1)) : opened; // c + δ < M (maxTruncationValueBits)
  const low = fieldVectorFromIntegers(node.field, lowBits(c, bits));
  const high = scaleFieldVector(subtractFieldVectors(c, low), inverseModM(node.field, 1n << BigInt(bits))); // ⌊(c + δ) / 2^f⌋, public
  const offset = (1n << BigInt(valueBits - 1 - bits)) + BigInt(Math.floor(N / 2));
  return Object.freeze({ x: node.party, vector: addScalar(subtractFieldVectors(high, pending.rHighShare.vector), -offset) });
}
