// Shamir sharing of vectors (A. Shamir, "How to share a secret", CACM 22(11), 1979) over the `mpc` field
// (field.ts): element i of the secret vector is f_i(0) for a random polynomial f_i of degree
// threshold − 1, and node x (x = 1..parties) holds f_i(x) for every i. Any `threshold` share vectors
// determine the secret (Lagrange interpolation at 0); fewer are uniformly distributed and independent of
// it (Shamir §2; over Z_M component-wise per prime, by CRT).
//
// Shares are linear: add, subtract, multiply by a public constant or a public vector, add a public vector
// (every node adds it, because f + c has f(0) + c at 0) — all local, no communication.
// Multiplying two share vectors gives a sharing of degree 2(threshold − 1): the protocol layer
// (@tenzro/protocol mpc) reduces it back (Gennaro, Rabin & Rabin 1998).
//
// Randomness order (for replay): coefficients of degree 1, 2, …, threshold − 1, each one
// randomFieldVector(field, length, random) (per prime in order, see field.ts).

import { randomBytes } from '../random.js';
import type { RandomSource } from '../shamir.js';
import {
  addFieldVectors,
  addScalar,
  assertCompatible,
  assertFieldVector,
  equalFieldVectors,
  evaluatePolynomials,
  lagrangeWeights,
  linearCombination,
  multiplyFieldVectors,
  randomFieldVector,
  scaleFieldVector,
  subtractFieldVectors,
  type FieldVector,
  type MpcField,
} from './field.js';

/** Most nodes a vector may be shared among (x runs over 1..MPC_MAX_PARTIES). */
export const MPC_MAX_PARTIES = 255;

export interface ShareVector {
  /** The node's evaluation point, 1..parties (never 0: f(0) is the secret). */
  readonly x: number;
  /** f_i(x) for every element i. */
  readonly vector: FieldVector;
}

export interface VectorSharingOptions {
  /** Share vectors needed to reconstruct; 2..parties. Never clamped. */
  threshold: number;
  /** Nodes to share among, threshold..MPC_MAX_PARTIES. */
  parties: number;
}

/** Share vectors that do not lie on one polynomial of degree threshold − 1. */
export class MpcCombineError extends Error {
  readonly code = 'inconsistent_shares' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MpcCombineError';
  }
}

function assertThreshold(threshold: unknown, name: string): asserts threshold is number {
  if (typeof threshold !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > MPC_MAX_PARTIES) {
    throw new RangeError(`${name} must be an integer from 2 to ${MPC_MAX_PARTIES}, got ${threshold}`);
  }
}

function assertX(x: unknown, name: string, field: MpcField): asserts x is number {
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number`);
  const limit = Math.min(MPC_MAX_PARTIES, Math.min(...field.moduli) - 1);
  if (!Number.isInteger(x) || x < 1 || x > limit) throw new RangeError(`${name} must be an integer from 1 to ${limit}, got ${x}`);
}

/** Throws TypeError / RangeError naming `name` unless `value` is a well-formed ShareVector. */
export function assertShareVector(value: unknown, name: string): asserts value is ShareVector {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be a ShareVector`);
  const { x, vector } = value as ShareVector;
  assertFieldVector(vector, `${name}.vector`);
  assertX(x, `${name}.x`, vector.field);
}

function assertOptions(options: unknown, field: MpcField): { threshold: number; parties: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { threshold, parties } = options as VectorSharingOptions;
  assertThreshold(threshold, 'options.threshold');
  if (typeof parties !== 'number') throw new TypeError('options.parties must be a number');
  const limit = Math.min(MPC_MAX_PARTIES, Math.min(...field.moduli) - 1);
  if (!Number.isInteger(parties) || parties < threshold || parties > limit) {
    throw new RangeError(`options.parties must be an integer from options.threshold (${threshold}) to ${limit}, got ${parties}`);
  }
  return { threshold, parties };
}

/**
 * Internal (not re-exported from index.ts): shares `values` with the given coefficients of degree
 * 1..threshold − 1 (threshold = coefficients.length + 1), at x = 1..parties. For known-answer tests.
 */
export function shareWithCoefficients(values: FieldVector, coefficients: readonly FieldVector[], parties: number): ShareVector[] {
  assertFieldVector(values, 'values');
  coefficients.forEach((c, d) => {
    assertFieldVector(c, `coefficients[${d}]`);
    assertCompatible(values, c, 'values', `coefficients[${d}]`);
  });
  const all = [values, ...coefficients];
  // f(x) = Σ_d c_d · x^d, by Horner at each x.
  const shares: ShareVector[] = [];
  for (let x = 1; x <= parties; x++) shares.push(Object.freeze({ x, vector: evaluatePolynomials(values.field, all, x) }));
  return shares;
}

/**
 * Shares each element of `values` among `options.parties` nodes, any `options.threshold` of which
 * reconstruct it; returns one ShareVector per node, x = 1..parties. `random` defaults to the platform
 * CSPRNG.
 */
export function shareVector(values: FieldVector, options: VectorSharingOptions, random: RandomSource = randomBytes): ShareVector[] {
  assertFieldVector(values, 'values');
  const { threshold, parties } = assertOptions(options, values.field);
  if (typeof random !== 'function') throw new TypeError('random must be a function');
  const coefficients: FieldVector[] = [];
  for (let d = 1; d < threshold; d++) coefficients.push(randomFieldVector(values.field, values.length, random));
  const shares = shareWithCoefficients(values, coefficients, parties);
  for (const c of coefficients) c.residues.fill(0);
  return shares;
}

/**
 * The Lagrange interpolation at `at` of the polynomial through the given points (distinct x, one field,
 * one length), element-wise. No degree check: with k points it is the unique polynomial of degree < k.
 */
export function interpolateShareVectors(points: readonly ShareVector[], at: number): FieldVector {
  if (!Array.isArray(points)) throw new TypeError('points must be an array of ShareVectors');
  if (points.length === 0) throw new RangeError('points must not be empty');
  if (typeof at !== 'number' || !Number.isSafeInteger(at)) throw new TypeError('at must be a safe integer');
  checkPoints(points, 'points');
  const field = points[0]!.vector.field;
  return linearCombination(field, lagrangeWeights(field, points.map((p) => p.x), at), points.map((p) => p.vector));
}

function checkPoints(points: readonly ShareVector[], name: string): void {
  const seen = new Set<number>();
  points.forEach((point, i) => {
    assertShareVector(point, `${name}[${i}]`);
    if (seen.has(point.x)) throw new RangeError(`${name}[${i}].x duplicates another share vector's x (${point.x})`);
    seen.add(point.x);
    if (i > 0) {
      const first = points[0]!.vector;
      if (point.vector.field !== first.field) throw new RangeError(`${name}[${i}] belongs to another field than ${name}[0]`);
      if (point.vector.length !== first.length) {
        throw new RangeError(`${name}[${i}] has length ${point.vector.length}, ${name}[0] has ${first.length}`);
      }
    }
  });
}

/**
 * Reconstructs the secret vector from at least `threshold` share vectors (Lagrange at 0 over the first
 * `threshold`). Refuses fewer, duplicate x and mismatched lengths or fields (RangeError naming the
 * argument). With more than `threshold`, every further share vector must lie on the same polynomials,
 * else MpcCombineError naming its x and the first element that disagrees.
 */
export function reconstructVector(shares: readonly ShareVector[], threshold: number): FieldVector {
  assertThreshold(threshold, 'threshold');
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array of ShareVectors');
  if (shares.length < threshold) throw new RangeError(`shares: need at least threshold (${threshold}) share vectors, got ${shares.length}`);
  checkPoints(shares, 'shares');
  const basis = shares.slice(0, threshold);
  for (const extra of shares.slice(threshold)) {
    const expected = interpolateShareVectors(basis, extra.x);
    if (!equalFieldVectors(expected, extra.vector)) {
      const { length } = expected;
      let index = 0;
      for (let k = 0; k < expected.residues.length; k++) {
        if (expected.residues[k] !== extra.vector.residues[k]) {
          index = k % length;
          break;
        }
      }
      throw new MpcCombineError(`share vector x = ${extra.x} does not lie on the polynomials of the other shares (element ${index})`);
    }
  }
  return interpolateShareVectors(basis, 0);
}

function sameX(a: ShareVector, b: ShareVector): void {
  assertShareVector(a, 'a');
  assertShareVector(b, 'b');
  if (a.x !== b.x) throw new RangeError(`a and b must be shares of the same node, got x = ${a.x} and x = ${b.x}`);
}

/** Node-local: a share of (secret_a + secret_b). */
export function addShareVectors(a: ShareVector, b: ShareVector): ShareVector {
  sameX(a, b);
  return Object.freeze({ x: a.x, vector: addFieldVectors(a.vector, b.vector) });
}

/** Node-local: a share of (secret_a − secret_b). */
export function subtractShareVectors(a: ShareVector, b: ShareVector): ShareVector {
  sameX(a, b);
  return Object.freeze({ x: a.x, vector: subtractFieldVectors(a.vector, b.vector) });
}

/** Node-local: a share of c · secret for a public scalar c. */
export function scaleShareVector(share: ShareVector, c: bigint): ShareVector {
  assertShareVector(share, 'share');
  return Object.freeze({ x: share.x, vector: scaleFieldVector(share.vector, c) });
}

/** Node-local: a share of secret + c for a public scalar c added to every element. */
export function addScalarToShareVector(share: ShareVector, c: bigint): ShareVector {
  assertShareVector(share, 'share');
  return Object.freeze({ x: share.x, vector: addScalar(share.vector, c) });
}

/** Node-local: a share of secret + v for a public vector v (every node adds v). */
export function addPublicVector(share: ShareVector, v: FieldVector): ShareVector {
  assertShareVector(share, 'share');
  return Object.freeze({ x: share.x, vector: addFieldVectors(share.vector, v) });
}

/** Node-local: a share of secret ⊙ v (element-wise) for a public vector v. */
export function multiplyByPublicVector(share: ShareVector, v: FieldVector): ShareVector {
  assertShareVector(share, 'share');
  return Object.freeze({ x: share.x, vector: multiplyFieldVectors(share.vector, v) });
}

/**
 * Node-local: the product of two shares of the same node, a point of a polynomial of degree
 * 2(threshold − 1). Only meaningful as the input of a degree reduction (GRR 1998).
 */
export function multiplyShareVectorsLocally(a: ShareVector, b: ShareVector): ShareVector {
  sameX(a, b);
  return Object.freeze({ x: a.x, vector: multiplyFieldVectors(a.vector, b.vector) });
}
