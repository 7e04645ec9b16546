// Shamir's secret sharing (A. Shamir, "How to share a secret", CACM 22(11), 1979) over a prime field.
//
// Field: GF(p) with p = 2^521 − 1, the Mersenne prime M521 (Robinson 1952; the base field of NIST P-521).
// Why this prime: (1) its primality is classical (Lucas–Lehmer), so no reviewer has to re-check a bespoke
// constant; (2) p > 2^256, so every 32-byte secret is a field element as it is — no reduction, no
// rejection, no bias; (3) a field element fits 66 bytes. The smallest prime above 2^256 would save 33 bytes
// per share but would be one more magic constant to verify. Shares carry y as 66 bytes big-endian.
//
// A share is (x, f(x)) for a random polynomial f of degree threshold − 1 with f(0) = secret, x = 1..n.
// Fewer than `threshold` shares are uniformly distributed and independent of the secret (Shamir §2).
// The generic engine (`primeField`, `splitInField`, `interpolateAt`) is internal: index.ts re-exports only
// the 32-byte, M521 instance, and tests reach the engine (e.g. GF(1613)) through this module.

import { assertBytes } from './encoding.js';
import { randomBytes } from './random.js';

/** Secrets are 32 bytes (a key, a PRG seed). */
export const SHAMIR_SECRET_LENGTH = 32;
/** y of a share: an element of GF(2^521 − 1), 66 bytes big-endian. */
export const SHAMIR_SHARE_LENGTH = 66;
/** Largest share count (x runs over 1..SHAMIR_MAX_SHARES). */
export const SHAMIR_MAX_SHARES = 65_535;

export interface ShamirShare {
  /** The evaluation point, 1..n (never 0: f(0) is the secret). */
  x: number;
  /** f(x), SHAMIR_SHARE_LENGTH bytes big-endian. */
  y: Uint8Array;
}

export interface ShamirSplitOptions {
  /** Shares needed to reconstruct; 2..shares. Never clamped: anything else is a RangeError. */
  threshold: number;
  /** Shares to produce, threshold..SHAMIR_MAX_SHARES. */
  shares: number;
}

/** A source of uniformly random bytes (defaults to the platform CSPRNG). */
export type RandomSource = (length: number) => Uint8Array;

/** Shares that do not lie on one polynomial of degree threshold − 1, or that do not encode a 32-byte secret. */
export class ShamirCombineError extends Error {
  readonly code = 'inconsistent_shares' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShamirCombineError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generic prime-field engine (internal).

export interface PrimeField {
  readonly p: bigint;
  readonly bits: number;
  readonly byteLength: number;
}

/** GF(p) for a prime p > 2 (primality is the caller's responsibility; both instances here are known primes). */
export function primeField(p: bigint): PrimeField {
  if (typeof p !== 'bigint' || p < 3n) throw new RangeError('p must be a prime bigint above 2');
  const bits = p.toString(2).length;
  return { p, bits, byteLength: Math.ceil(bits / 8) };
}

export const M521: PrimeField = primeField((1n << 521n) - 1n);

export function mod(a: bigint, p: bigint): bigint {
  const r = a % p;
  return r < 0n ? r + p : r;
}

/** base^exponent mod p (square-and-multiply). */
export function modPow(base: bigint, exponent: bigint, p: bigint): bigint {
  if (exponent < 0n) throw new RangeError('exponent must be non-negative');
  let result = 1n;
  let b = mod(base, p);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
    e >>= 1n;
  }
  return result;
}

/** a^-1 mod p by the extended Euclidean algorithm; RangeError for a ≡ 0. */
export function modInverse(a: bigint, p: bigint): bigint {
  let r0 = mod(a, p);
  if (r0 === 0n) throw new RangeError('0 has no inverse');
  let r1 = p;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('a is not invertible modulo p');
  return mod(s0, p);
}

/** A uniform field element by rejection sampling from `rng`. */
export function randomFieldElement(field: PrimeField, rng: RandomSource): bigint {
  const topMask = 0xff >> (field.byteLength * 8 - field.bits);
  for (;;) {
    const bytes = rng(field.byteLength);
    if (!(bytes instanceof Uint8Array) || bytes.length !== field.byteLength) {
      throw new TypeError(`rng must return ${field.byteLength} bytes`);
    }
    const copy = bytes.slice();
    copy[0] = copy[0]! & topMask;
    const value = bytesToBigInt(copy);
    if (value < field.p) return value;
  }
}

/** Evaluates a random polynomial with f(0) = secret at x = 1..count (Shamir §2). */
export function splitInField(
  field: PrimeField,
  secret: bigint,
  threshold: number,
  count: number,
  rng: RandomSource,
): { x: bigint; y: bigint }[] {
  if (secret < 0n || secret >= field.p) throw new RangeError('secret must be a field element');
  const coefficients = [secret];
  for (let i = 1; i < threshold; i++) coefficients.push(randomFieldElement(field, rng));
  const points: { x: bigint; y: bigint }[] = [];
  for (let i = 1; i <= count; i++) {
    const x = BigInt(i);
    let y = 0n;
    for (let j = coefficients.length - 1; j >= 0; j--) y = (y * x + coefficients[j]!) % field.p; // Horner
    points.push({ x, y });
  }
  coefficients.fill(0n);
  return points;
}

// Lagrange weights depend only on the x values and the evaluation point, which repeat across every
// secret a secure-aggregation server reconstructs (one survivor set, n secrets): they are computed once and
// kept in a small cache, so each reconstruction is a dot product instead of t modular inversions.
const WEIGHT_CACHE_LIMIT = 256;
const weightCache = new Map<string, readonly bigint[]>();

/** w_i = Π_{j≠i} (at − x_j) / (x_i − x_j) mod p for the points' x values (distinct). */
function lagrangeWeights(field: PrimeField, xs: readonly bigint[], at: bigint): readonly bigint[] {
  const key = `${field.p.toString(36)}|${at}|${xs.join(',')}`;
  const cached = weightCache.get(key);
  if (cached) return cached;
  const { p } = field;
  const weights = xs.map((xi, i) => {
    let numerator = 1n;
    let denominator = 1n;
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      numerator = (numerator * mod(at - xs[j]!, p)) % p;
      denominator = (denominator * mod(xi - xs[j]!, p)) % p;
    }
    return (numerator * modInverse(denominator, p)) % p;
  });
  if (weightCache.size >= WEIGHT_CACHE_LIMIT) weightCache.delete(weightCache.keys().next().value!);
  weightCache.set(key, weights);
  return weights;
}

/** The Lagrange interpolation of `points` (distinct x) evaluated at `at`. */
export function interpolateAt(field: PrimeField, points: readonly { x: bigint; y: bigint }[], at: bigint): bigint {
  const weights = lagrangeWeights(field, points.map((point) => point.x), at);
  let result = 0n;
  for (let i = 0; i < points.length; i++) result += points[i]!.y * weights[i]!;
  return result % field.p;
}

/**
 * Lagrange at 0 from the first `threshold` points; every further point must lie on the same polynomial,
 * else ShamirCombineError.
 */
export function combineInField(field: PrimeField, points: readonly { x: bigint; y: bigint }[], threshold: number): bigint {
  const basis = points.slice(0, threshold);
  for (const extra of points.slice(threshold)) {
    if (interpolateAt(field, basis, extra.x) !== extra.y) {
      throw new ShamirCombineError(`share x = ${extra.x} does not lie on the polynomial of the other shares`);
    }
  }
  return interpolateAt(field, basis, 0n);
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`value does not fit ${length} bytes`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Public: 32-byte secrets over GF(2^521 − 1).

function assertThreshold(threshold: unknown, name: string): asserts threshold is number {
  if (typeof threshold !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > SHAMIR_MAX_SHARES) {
    throw new RangeError(`${name} must be an integer from 2 to ${SHAMIR_MAX_SHARES}, got ${threshold}`);
  }
}

/**
 * Splits a 32-byte secret into `options.shares` shares, any `options.threshold` of which reconstruct it.
 * `rng` defaults to the platform CSPRNG.
 */
export function splitSecret(secret: Uint8Array, options: ShamirSplitOptions, rng: RandomSource = randomBytes): ShamirShare[] {
  assertBytes(secret, 'secret');
  if (secret.length !== SHAMIR_SECRET_LENGTH) {
    throw new RangeError(`secret must be ${SHAMIR_SECRET_LENGTH} bytes, got ${secret.length}`);
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { threshold, shares } = options;
  assertThreshold(threshold, 'options.threshold');
  if (typeof shares !== 'number') throw new TypeError('options.shares must be a number');
  if (!Number.isInteger(shares) || shares < threshold || shares > SHAMIR_MAX_SHARES) {
    throw new RangeError(`options.shares must be an integer from options.threshold (${threshold}) to ${SHAMIR_MAX_SHARES}, got ${shares}`);
  }
  if (typeof rng !== 'function') throw new TypeError('rng must be a function');
  return splitInField(M521, bytesToBigInt(secret), threshold, shares, rng).map(({ x, y }) => ({
    x: Number(x),
    y: bigIntToBytes(y, SHAMIR_SHARE_LENGTH),
  }));
}

/**
 * Reconstructs the secret from at least `threshold` shares (Lagrange interpolation at 0). Refuses fewer
 * shares, x = 0, duplicate x and y outside the field (RangeError naming the argument). With more than
 * `threshold` shares, all must agree (ShamirCombineError otherwise), as must a result below 2^256.
 */
export function combineShares(shares: readonly ShamirShare[], threshold: number): Uint8Array {
  assertThreshold(threshold, 'threshold');
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array');
  if (shares.length < threshold) {
    throw new RangeError(`shares: need at least threshold (${threshold}) shares, got ${shares.length}`);
  }
  const seen = new Set<number>();
  const points = shares.map((share: ShamirShare, i) => {
    if (typeof share !== 'object' || share === null) throw new TypeError(`shares[${i}] must be an object`);
    const { x, y } = share;
    if (typeof x !== 'number') throw new TypeError(`shares[${i}].x must be a number`);
    if (!Number.isInteger(x) || x < 1 || x > SHAMIR_MAX_SHARES) {
      throw new RangeError(`shares[${i}].x must be an integer from 1 to ${SHAMIR_MAX_SHARES}, got ${x}`);
    }
    if (seen.has(x)) throw new RangeError(`shares[${i}].x duplicates another share's x (${x})`);
    seen.add(x);
    assertBytes(y, `shares[${i}].y`);
    if (y.length !== SHAMIR_SHARE_LENGTH) {
      throw new RangeError(`shares[${i}].y must be ${SHAMIR_SHARE_LENGTH} bytes, got ${y.length}`);
    }
    const value = bytesToBigInt(y);
    if (value >= M521.p) throw new RangeError(`shares[${i}].y is not an element of the field (≥ 2^521 − 1)`);
    return { x: BigInt(x), y: value };
  });
  const secret = combineInField(M521, points, threshold);
  if (secret >> 256n !== 0n) {
    throw new ShamirCombineError('the shares do not encode a 32-byte secret (wrong or corrupted shares)');
  }
  return bigIntToBytes(secret, SHAMIR_SECRET_LENGTH);
}
