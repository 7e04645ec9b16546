// The arithmetic of the `mpc` method (DESIGN §7): the ring Z_M, M = p_1 · … · p_L for L distinct primes
// below 2^26, held in residue number system (RNS) form. By the Chinese remainder theorem
// Z_M ≅ GF(p_1) × … × GF(p_L), so Shamir sharing over Z_M is L independent Shamir sharings, one per
// prime, and every step of BGW / GRR multiplication works component-wise; the integers below M that the
// fixed-point values live in are recovered by CRT (Garner's mixed-radix algorithm, Knuth TAOCP vol. 2
// §4.3.2) only where a protocol needs one: decoding outputs and the low bits of an opened truncation mask.
//
// Why this and not one prime (measured with `node bench/run.js mpc`, Node 20.20, 100,000-element vectors,
// ns per element, this machine; see the report of issue 5):
//   GF(2^61 − 1)  BigInt in BigUint64Array   add   9.8   mul  59.2
//   GF(2^127 − 1) BigInt                     add  56.9   mul 151.1
//   GF(2^31 − 1)  Number, 16-bit split + %   add   6.5   mul  17.6
//   GF(p < 2^26)  Number, float floor        add   4.8   mul   1.7
// Risk statistics need values up to ~1e9 with 16 fractional bits (47 bits signed) and products of two
// (93 bits), masked for truncation with 40 statistical bits: 133 bits and more. GF(2^61 − 1) cannot hold a
// product; GF(2^127 − 1) holds it but not the 40-bit mask (93 + 40 > 126); a 156-bit RNS of six 26-bit
// primes holds both, and one multiplication costs 6 × 1.7 ≈ 10 ns against 151 ns for one 127-bit BigInt.
// Primes below 2^26 keep every product of two residues below 2^52, so it is exact in a double, and
// q = floor(a·b · (1/p)) is off by at most one: two comparisons correct it.
//
// The default field is the six largest primes below 2^26 (a definition a reviewer can re-derive; the
// tests do). `createMpcField` is the generic engine (one prime gives plain GF(p), e.g. the textbook
// GF(1613)).
//
// A FieldVector holds `length` elements of Z_M as a planar Uint32Array: the residue of element i modulo
// moduli[j] is residues[j · length + i]. Its byte form is that array in little-endian order.

import { assertBytes } from '../encoding.js';
import { randomBytes } from '../random.js';
import type { RandomSource } from '../shamir.js';

/** Every modulus of an MpcField is a prime below this bound (so a product of two residues is < 2^52). */
export const MPC_MAX_MODULUS = 2 ** 26;
/** Longest FieldVector (elements). */
export const MPC_MAX_VECTOR_LENGTH = 2 ** 24;

export interface MpcField {
  /** The distinct primes p_1 … p_L, each below 2^26. */
  readonly moduli: readonly number[];
  /** M = p_1 · … · p_L. */
  readonly modulus: bigint;
  /** ⌊log2 M⌋: every integer in [0, 2^bits) is an element. */
  readonly bits: number;
  /** `rns:` followed by the moduli joined with `.` (pins the field in configurations and vectors). */
  readonly id: string;
}

export interface FieldVector {
  readonly field: MpcField;
  /** Number of elements. */
  readonly length: number;
  /** moduli.length × length residues, planar (see the module header). */
  readonly residues: Uint32Array;
}

interface FieldInternals {
  readonly moduli: Float64Array;
  readonly inverses: Float64Array; // (1 / p_j) · DOWN as doubles
  /** garner[j][k] = (p_k)^-1 mod p_j for k < j. */
  readonly garner: readonly Float64Array[];
  /** W_j = p_1 · … · p_{j−1} as doubles (rounded). */
  readonly radixWeights: Float64Array;
  /** Mixed-radix digits of (M − 1) / 2, the largest non-negative signed value. */
  readonly halfDigits: Float64Array;
  /** Masks for rejection sampling: 2^bitlength(p_j) − 1. */
  readonly sampleMasks: Uint32Array;
}

const internals = new WeakMap<MpcField, FieldInternals>();

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function modPowNumber(base: number, exponent: number, p: number, inv: number): number {
  let result = 1;
  let b = base % p;
  let e = exponent;
  while (e > 0) {
    if (e & 1) result = mulMod(result, b, p, inv);
    b = mulMod(b, b, p, inv);
    e = Math.floor(e / 2);
  }
  return result;
}

// Quotients are taken with 1/p rounded down by a margin (DOWN = 1 − 2^−49): for x < 2^53 the float
// ⌊x · inv⌋ is then the true ⌊x / p⌋ or one less, never more, so x − ⌊x · inv⌋ · p is exact and lies in
// [0, 2p): one conditional subtraction finishes the reduction.
const DOWN = 1 - 2 ** -49;

/** a · b mod p for 0 ≤ a, b < p < 2^26 (a·b < 2^52 is exact in a double); inv = (1/p) · DOWN. */
function mulMod(a: number, b: number, p: number, inv: number): number {
  const x = a * b;
  const r = x - Math.floor(x * inv) * p;
  return r >= p ? r - p : r;
}

/**
 * The ring Z_M for the given distinct primes below 2^26 (see the module header). TypeError / RangeError
 * naming the offending modulus otherwise.
 */
export function createMpcField(moduli: readonly number[]): MpcField {
  if (!Array.isArray(moduli)) throw new TypeError('moduli must be an array of primes');
  if (moduli.length === 0) throw new RangeError('moduli must not be empty');
  const seen = new Set<number>();
  moduli.forEach((p: unknown, j) => {
    if (typeof p !== 'number') throw new TypeError(`moduli[${j}] must be a number`);
    if (!Number.isInteger(p) || p < 3 || p >= MPC_MAX_MODULUS || !isPrime(p)) {
      throw new RangeError(`moduli[${j}] must be an odd prime below 2^26, got ${p}`);
    }
    if (seen.has(p)) throw new RangeError(`moduli[${j}] repeats ${p}`);
    seen.add(p);
  });
  const L = moduli.length;
  const ps = Float64Array.from(moduli);
  const inverses = ps.map((p) => (1 / p) * DOWN);
  const garner = moduli.map((pj, j) => {
    const row = new Float64Array(j);
    for (let k = 0; k < j; k++) row[k] = modPowNumber(moduli[k]! % pj, pj - 2, pj, inverses[j]!); // Fermat
    return row;
  });
  const radixWeights = new Float64Array(L);
  let weight = 1n;
  for (let j = 0; j < L; j++) {
    radixWeights[j] = Number(weight);
    weight *= BigInt(moduli[j]!);
  }
  const modulus = weight;
  const halfDigits = mixedRadixDigits(moduli, (modulus - 1n) / 2n);
  const sampleMasks = Uint32Array.from(moduli, (p) => 2 ** p.toString(2).length - 1);
  const field: MpcField = Object.freeze({
    moduli: Object.freeze([...moduli]),
    modulus,
    bits: modulus.toString(2).length - 1,
    id: `rns:${moduli.join('.')}`,
  });
  internals.set(field, { moduli: ps, inverses, garner, radixWeights, halfDigits, sampleMasks });
  return field;
}

function mixedRadixDigits(moduli: readonly number[], value: bigint): Float64Array {
  const digits = new Float64Array(moduli.length);
  let v = value;
  for (let j = 0; j < moduli.length; j++) {
    const p = BigInt(moduli[j]!);
    digits[j] = Number(v % p);
    v /= p;
  }
  return digits;
}

/** The six largest primes below 2^26 (M ≈ 2^156). */
export const MPC_DEFAULT_MODULI: readonly number[] = Object.freeze([67108859, 67108837, 67108819, 67108777, 67108763, 67108757]);

/** Z_M for MPC_DEFAULT_MODULI: the field of the `mpc` method. */
export const MPC_FIELD: MpcField = createMpcField(MPC_DEFAULT_MODULI);

function internalsOf(field: unknown, name: string): FieldInternals {
  const inner = typeof field === 'object' && field !== null ? internals.get(field as MpcField) : undefined;
  if (!inner) throw new TypeError(`${name} must be an MpcField made by createMpcField`);
  return inner;
}

/** Throws TypeError naming `name` unless `field` was made by createMpcField. */
export function assertMpcField(field: unknown, name: string): asserts field is MpcField {
  internalsOf(field, name);
}

/** Throws TypeError naming `name` unless `value` is a well-formed FieldVector. */
export function assertFieldVector(value: unknown, name: string): asserts value is FieldVector {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be a FieldVector`);
  const { field, length, residues } = value as FieldVector;
  internalsOf(field, `${name}.field`);
  if (!Number.isInteger(length) || length < 0 || length > MPC_MAX_VECTOR_LENGTH) {
    throw new TypeError(`${name}.length must be an integer from 0 to ${MPC_MAX_VECTOR_LENGTH}`);
  }
  if (!(residues instanceof Uint32Array) || residues.length !== field.moduli.length * length) {
    throw new TypeError(`${name}.residues must be a Uint32Array of moduli.length × length residues`);
  }
}

/** RangeError naming both unless `a` and `b` share one field and one length. */
export function assertCompatible(a: FieldVector, b: FieldVector, nameA: string, nameB: string): void {
  if (a.field !== b.field) throw new RangeError(`${nameA} and ${nameB} belong to different fields`);
  if (a.length !== b.length) throw new RangeError(`${nameA} and ${nameB} must have the same length, got ${a.length} and ${b.length}`);
}

function assertLength(length: unknown, name: string): asserts length is number {
  if (typeof length !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isInteger(length) || length < 0 || length > MPC_MAX_VECTOR_LENGTH) {
    throw new RangeError(`${name} must be an integer from 0 to ${MPC_MAX_VECTOR_LENGTH}, got ${length}`);
  }
}

function vectorOf(field: MpcField, length: number, residues: Uint32Array): FieldVector {
  return Object.freeze({ field, length, residues });
}

/** The zero vector of `length` elements. */
export function zeroFieldVector(field: MpcField, length: number): FieldVector {
  internalsOf(field, 'field');
  assertLength(length, 'length');
  return vectorOf(field, length, new Uint32Array(field.moduli.length * length));
}

/** Elements from bigints (any sign; reduced mod M). */
export function fieldVectorFromBigInts(field: MpcField, values: readonly bigint[]): FieldVector {
  internalsOf(field, 'field');
  if (!Array.isArray(values)) throw new TypeError('values must be an array of bigints');
  assertLength(values.length, 'values.length');
  const n = values.length;
  const out = new Uint32Array(field.moduli.length * n);
  field.moduli.forEach((p, j) => {
    const bp = BigInt(p);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== 'bigint') throw new TypeError(`values[${i}] must be a bigint`);
      const r = v % bp;
      out[j * n + i] = Number(r < 0n ? r + bp : r);
    }
  });
  return vectorOf(field, n, out);
}

/** Elements from safe integers (any sign; reduced mod M). RangeError naming the index otherwise. */
export function fieldVectorFromIntegers(field: MpcField, values: ArrayLike<number>): FieldVector {
  internalsOf(field, 'field');
  if (typeof values !== 'object' || values === null || typeof values.length !== 'number') {
    throw new TypeError('values must be an array of integers');
  }
  assertLength(values.length, 'values.length');
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number') throw new TypeError(`values[${i}] must be a number`);
    if (!Number.isSafeInteger(v)) throw new RangeError(`values[${i}] must be a safe integer, got ${v}`);
  }
  const out = new Uint32Array(field.moduli.length * n);
  field.moduli.forEach((p, j) => {
    const o = j * n;
    for (let i = 0; i < n; i++) {
      const r = values[i]! % p; // exact: |v| < 2^53
      out[o + i] = r < 0 ? r + p : r;
    }
  });
  return vectorOf(field, n, out);
}

/** The canonical representatives in [0, M) (or, with `signed`, in (−M/2, M/2]) as bigints, by CRT. */
export function fieldVectorToBigInts(vector: FieldVector, options: { signed?: boolean } = {}): bigint[] {
  assertFieldVector(vector, 'vector');
  const { field, length, residues } = vector;
  const M = field.modulus;
  const coefficients = field.moduli.map((p) => {
    const Mj = M / BigInt(p);
    return Mj * modInverseBig(Mj % BigInt(p), BigInt(p));
  });
  const half = (M - 1n) / 2n;
  const out = new Array<bigint>(length);
  for (let i = 0; i < length; i++) {
    let v = 0n;
    for (let j = 0; j < coefficients.length; j++) v += BigInt(residues[j * length + i]!) * coefficients[j]!;
    v %= M;
    out[i] = options.signed === true && v > half ? v - M : v;
  }
  return out;
}

function modInverseBig(a: bigint, p: bigint): bigint {
  let [r0, r1, s0, s1] = [((a % p) + p) % p, p, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('value is not invertible modulo M');
  return ((s0 % p) + p) % p;
}

/** The inverse of c modulo M as a bigint; RangeError when c shares a factor with M. */
export function inverseModM(field: MpcField, c: bigint): bigint {
  internalsOf(field, 'field');
  if (typeof c !== 'bigint') throw new TypeError('c must be a bigint');
  return modInverseBig(c, field.modulus);
}

// Garner: mixed-radix digits d_j of the canonical representative, v = Σ d_j · W_j.
function garnerDigits(inner: FieldInternals, residues: Uint32Array, length: number, i: number, digits: Float64Array): void {
  const L = inner.moduli.length;
  for (let j = 0; j < L; j++) {
    const p = inner.moduli[j]!;
    const inv = inner.inverses[j]!;
    const row = inner.garner[j]!;
    let t = residues[j * length + i]!;
    for (let k = 0; k < j; k++) {
      t -= digits[k]! % p;
      if (t < 0) t += p;
      t = mulMod(t, row[k]!, p, inv);
    }
    digits[j] = t;
  }
}

/**
 * The signed values (representatives in (−M/2, M/2]) as doubles: exact below 2^53 in magnitude, else
 * correctly signed and rounded to about L ulps. For decoding reconstructed outputs.
 */
export function fieldVectorToSignedNumbers(vector: FieldVector): Float64Array {
  assertFieldVector(vector, 'vector');
  const inner = internalsOf(vector.field, 'vector.field');
  const { length, residues } = vector;
  const L = inner.moduli.length;
  const digits = new Float64Array(L);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    garnerDigits(inner, residues, length, i, digits);
    let negative = false;
    for (let j = L - 1; j >= 0; j--) {
      if (digits[j] !== inner.halfDigits[j]) {
        negative = digits[j]! > inner.halfDigits[j]!;
        break;
      }
    }
    let v = 0;
    if (negative) {
      // M − v = (M − 1 − v) + 1, and M − 1 − v has the digits p_j − 1 − d_j (no borrow).
      for (let j = L - 1; j >= 0; j--) v += (inner.moduli[j]! - 1 - digits[j]!) * inner.radixWeights[j]!;
      out[i] = -(v + 1);
    } else {
      for (let j = L - 1; j >= 0; j--) v += digits[j]! * inner.radixWeights[j]!;
      out[i] = v;
    }
  }
  return out;
}

/** (canonical representative in [0, M)) mod 2^bits for each element, bits 1..26 (Garner, no bigint). */
export function lowBits(vector: FieldVector, bits: number): Uint32Array {
  assertFieldVector(vector, 'vector');
  if (typeof bits !== 'number') throw new TypeError('bits must be a number');
  if (!Number.isInteger(bits) || bits < 1 || bits > 26) throw new RangeError(`bits must be an integer from 1 to 26, got ${bits}`);
  const inner = internalsOf(vector.field, 'vector.field');
  const { length, residues, field } = vector;
  const L = inner.moduli.length;
  const twoF = 2 ** bits;
  const weightsLow = new Float64Array(L);
  let w = 1n;
  for (let j = 0; j < L; j++) {
    weightsLow[j] = Number(w % BigInt(twoF));
    w *= BigInt(field.moduli[j]!);
  }
  const digits = new Float64Array(L);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    garnerDigits(inner, residues, length, i, digits);
    let acc = 0;
    for (let j = 0; j < L; j++) {
      acc += digits[j]! * weightsLow[j]!; // < 2^52
      acc -= Math.floor(acc / twoF) * twoF; // exact: twoF is a power of two
    }
    out[i] = acc;
  }
  return out;
}

function binary(a: FieldVector, b: FieldVector, op: (x: number, y: number, p: number, inv: number) => number): FieldVector {
  assertFieldVector(a, 'a');
  assertFieldVector(b, 'b');
  assertCompatible(a, b, 'a', 'b');
  const inner = internalsOf(a.field, 'a.field');
  const n = a.length;
  const out = new Uint32Array(a.residues.length);
  for (let j = 0; j < inner.moduli.length; j++) {
    const p = inner.moduli[j]!;
    const inv = inner.inverses[j]!;
    const o = j * n;
    for (let i = o; i < o + n; i++) out[i] = op(a.residues[i]!, b.residues[i]!, p, inv);
  }
  return vectorOf(a.field, n, out);
}

/** (a + b) mod M, element-wise. */
export function addFieldVectors(a: FieldVector, b: FieldVector): FieldVector {
  assertFieldVector(a, 'a');
  assertFieldVector(b, 'b');
  assertCompatible(a, b, 'a', 'b');
  const n = a.length;
  const out = new Uint32Array(a.residues.length);
  a.field.moduli.forEach((p, j) => {
    const ar = a.residues;
    const br = b.residues;
    for (let i = j * n, end = (j + 1) * n; i < end; i++) {
      const s = ar[i]! + br[i]! - p;
      out[i] = s + ((s >> 31) & p); // s ∈ (−p, p): add p back when negative (s fits int32)
    }
  });
  return vectorOf(a.field, n, out);
}

/** (a − b) mod M, element-wise. */
export function subtractFieldVectors(a: FieldVector, b: FieldVector): FieldVector {
  assertFieldVector(a, 'a');
  assertFieldVector(b, 'b');
  assertCompatible(a, b, 'a', 'b');
  const n = a.length;
  const out = new Uint32Array(a.residues.length);
  a.field.moduli.forEach((p, j) => {
    const ar = a.residues;
    const br = b.residues;
    for (let i = j * n, end = (j + 1) * n; i < end; i++) {
      const s = ar[i]! - br[i]!;
      out[i] = s + ((s >> 31) & p);
    }
  });
  return vectorOf(a.field, n, out);
}

/** (a · b) mod M, element-wise. */
export function multiplyFieldVectors(a: FieldVector, b: FieldVector): FieldVector {
  return binary(a, b, mulMod);
}

/** The residues of the scalar c mod each prime. */
function scalarResidues(field: MpcField, c: bigint): Float64Array {
  return Float64Array.from(field.moduli, (p) => {
    const r = c % BigInt(p);
    return Number(r < 0n ? r + BigInt(p) : r);
  });
}

function assertScalar(c: unknown, name: string): asserts c is bigint {
  if (typeof c !== 'bigint') throw new TypeError(`${name} must be a bigint`);
}

/** (c · a) mod M for a public scalar c (any sign). */
export function scaleFieldVector(a: FieldVector, c: bigint): FieldVector {
  assertFieldVector(a, 'a');
  assertScalar(c, 'c');
  const inner = internalsOf(a.field, 'a.field');
  const cs = scalarResidues(a.field, c);
  const n = a.length;
  const out = new Uint32Array(a.residues.length);
  for (let j = 0; j < cs.length; j++) {
    const p = inner.moduli[j]!;
    const inv = inner.inverses[j]!;
    const cj = cs[j]!;
    for (let i = j * n, end = (j + 1) * n; i < end; i++) out[i] = mulMod(a.residues[i]!, cj, p, inv);
  }
  return vectorOf(a.field, n, out);
}

/** (a + c) mod M for a public scalar c added to every element. */
export function addScalar(a: FieldVector, c: bigint): FieldVector {
  assertFieldVector(a, 'a');
  assertScalar(c, 'c');
  const cs = scalarResidues(a.field, c);
  const n = a.length;
  const out = new Uint32Array(a.residues.length);
  a.field.moduli.forEach((p, j) => {
    const cj = cs[j]!;
    for (let i = j * n, end = (j + 1) * n; i < end; i++) {
      const s = a.residues[i]! + cj - p;
      out[i] = s + ((s >> 31) & p);
    }
  });
  return vectorOf(a.field, n, out);
}

/**
 * Σ_k weights[k] · vectors[k] mod M (internal: Lagrange combinations and polynomial evaluation).
 * weights[k] holds one residue per prime (moduli.length entries). Shoup-style: with w·inv precomputed,
 * each term v·w − ⌊v · w·inv⌋·p is exact and in [0, 2p), so up to 2^26 terms accumulate exactly in a
 * double before one final reduction.
 */
export function linearCombination(field: MpcField, weights: readonly Float64Array[], vectors: readonly FieldVector[]): FieldVector {
  const inner = internalsOf(field, 'field');
  if (vectors.length > 2 ** 20) throw new RangeError('linearCombination: at most 2^20 terms');
  const n = vectors[0]?.length ?? 0;
  const out = new Uint32Array(field.moduli.length * n);
  const acc = new Float64Array(n);
  for (let j = 0; j < inner.moduli.length; j++) {
    const p = inner.moduli[j]!;
    const inv = inner.inverses[j]!;
    const o = j * n;
    acc.fill(0);
    for (let k = 0; k < vectors.length; k++) {
      const w = weights[k]![j]!;
      const wq = (w / p) * DOWN;
      const r = vectors[k]!.residues;
      for (let i = 0; i < n; i++) {
        const v = r[o + i]!;
        acc[i] = acc[i]! + v * w - Math.floor(v * wq) * p;
      }
    }
    for (let i = 0; i < n; i++) {
      const a = acc[i]!;
      const x = a - Math.floor(a * inv) * p;
      out[o + i] = x >= p ? x - p : x;
    }
  }
  return vectorOf(field, n, out);
}

/**
 * Internal: Σ_d coefficients[d] · x^d element-wise (Horner), for a small public x (1 ≤ x ≤ 255): each step
 * y · x + c < 2^35 is exact and one float quotient reduces it. Sharing evaluates every node's point so.
 */
export function evaluatePolynomials(field: MpcField, coefficients: readonly FieldVector[], x: number): FieldVector {
  const inner = internalsOf(field, 'field');
  if (!Number.isInteger(x) || x < 1 || x > 255) throw new RangeError(`x must be an integer from 1 to 255, got ${x}`);
  const n = coefficients[0]?.length ?? 0;
  const top = coefficients.length - 1;
  const out = new Uint32Array(field.moduli.length * n);
  for (let j = 0; j < inner.moduli.length; j++) {
    const p = inner.moduli[j]!;
    const inv = inner.inverses[j]!;
    const o = j * n;
    out.set(coefficients[top]!.residues.subarray(o, o + n), o);
    for (let d = top - 1; d >= 0; d--) {
      const c = coefficients[d]!.residues;
      for (let i = o; i < o + n; i++) {
        const y = out[i]! * x + c[i]!;
        const r = y - Math.floor(y * inv) * p;
        out[i] = r >= p ? r - p : r;
      }
    }
  }
  return vectorOf(field, n, out);
}

/** Per-prime residues of the Lagrange basis weights λ_k(at) = Π_{m≠k} (at − x_m) / (x_k − x_m), x distinct. */
export function lagrangeWeights(field: MpcField, xs: readonly number[], at: number): Float64Array[] {
  const inner = internalsOf(field, 'field');
  return xs.map((xk, k) => {
    const w = new Float64Array(inner.moduli.length);
    for (let j = 0; j < inner.moduli.length; j++) {
      const p = inner.moduli[j]!;
      const inv = inner.inverses[j]!;
      let num = 1;
      let den = 1;
      for (let m = 0; m < xs.length; m++) {
        if (m === k) continue;
        num = mulMod(num, (((at - xs[m]!) % p) + p) % p, p, inv);
        den = mulMod(den, (((xk - xs[m]!) % p) + p) % p, p, inv);
      }
      if (den === 0) throw new RangeError(`x values must be distinct modulo every prime of the field`);
      w[j] = mulMod(num, modPowNumber(den, p - 2, p, inv), p, inv);
    }
    return w;
  });
}

/**
 * `length` uniform elements of Z_M: for each prime in order, `length` residues by rejection sampling of
 * little-endian uint32 words masked to the prime's bit length (one rng call for all, then one call per
 * refill of the rejected positions, in order).
 */
export function randomFieldVector(field: MpcField, length: number, random: RandomSource = randomBytes): FieldVector {
  const inner = internalsOf(field, 'field');
  assertLength(length, 'length');
  if (typeof random !== 'function') throw new TypeError('random must be a function');
  const out = new Uint32Array(field.moduli.length * length);
  for (let j = 0; j < inner.moduli.length; j++) {
    const p = inner.moduli[j]!;
    const mask = inner.sampleMasks[j]!;
    let pending: number[] | undefined;
    const words = randomWords(random, length);
    for (let i = 0; i < length; i++) {
      const v = words[i]! & mask;
      if (v < p) out[j * length + i] = v;
      else (pending ??= []).push(i);
    }
    while (pending !== undefined) {
      const refill = randomWords(random, pending.length);
      const next: number[] = [];
      pending.forEach((i, k) => {
        const v = refill[k]! & mask;
        if (v < p) out[j * length + i] = v;
        else next.push(i);
      });
      pending = next.length > 0 ? next : undefined;
    }
  }
  return vectorOf(field, length, out);
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function randomWords(random: RandomSource, count: number): Uint32Array {
  const bytes = random(count * 4);
  if (!(bytes instanceof Uint8Array) || bytes.length !== count * 4) throw new TypeError(`random must return ${count * 4} bytes`);
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  const words = new Uint32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) words[i] = view.getUint32(i * 4, true);
  return words;
}

/**
 * `length` integers uniform in [0, 2^bits) as elements (bits 1..field.bits). One rng call of
 * length · ⌈bits/32⌉ little-endian uint32 words; element i takes its words in order, most significant
 * first, the first masked to the remaining bits.
 */
export function randomIntegerVector(field: MpcField, length: number, bits: number, random: RandomSource = randomBytes): FieldVector {
  const inner = internalsOf(field, 'field');
  assertLength(length, 'length');
  if (typeof bits !== 'number') throw new TypeError('bits must be a number');
  if (!Number.isInteger(bits) || bits < 1 || bits > field.bits) {
    throw new RangeError(`bits must be an integer from 1 to ${field.bits}, got ${bits}`);
  }
  if (typeof random !== 'function') throw new TypeError('random must be a function');
  const perElement = Math.ceil(bits / 32);
  const topMask = 2 ** (bits - 32 * (perElement - 1)) - 1;
  const words = randomWords(random, length * perElement);
  const out = new Uint32Array(field.moduli.length * length);
  for (let j = 0; j < inner.moduli.length; j++) {
    const p = inner.moduli[j]!;
    const inv = inner.inverses[j]!;
    for (let i = 0; i < length; i++) {
      let acc = 0;
      for (let k = 0; k < perElement; k++) {
        let w = words[i * perElement + k]!;
        if (k === 0) w = (w & topMask) >>> 0;
        // acc · 2^16 + half < 2^42: exact, then reduced with one float quotient.
        acc = acc * 65536 + (w >>> 16);
        acc -= Math.floor(acc * inv) * p;
        if (acc >= p) acc -= p;
        acc = acc * 65536 + (w & 0xffff);
        acc -= Math.floor(acc * inv) * p;
        if (acc >= p) acc -= p;
      }
      out[j * length + i] = acc;
    }
  }
  return vectorOf(field, length, out);
}

/** The vector's residues as little-endian uint32 bytes (its wire form). */
export function fieldVectorToBytes(vector: FieldVector): Uint8Array {
  assertFieldVector(vector, 'vector');
  const out = new Uint8Array(vector.residues.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.residues.length; i++) view.setUint32(i * 4, vector.residues[i]!, true);
  return out;
}

/**
 * A vector of `length` elements from its wire form. RangeError for a wrong byte length or a residue that
 * is not below its prime (naming the element and the prime's index).
 */
export function fieldVectorFromBytes(field: MpcField, bytes: Uint8Array, length: number): FieldVector {
  internalsOf(field, 'field');
  assertBytes(bytes, 'bytes');
  assertLength(length, 'length');
  const L = field.moduli.length;
  if (bytes.length !== L * length * 4) {
    throw new RangeError(`bytes must be ${L * length * 4} bytes for ${length} elements, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(L * length);
  for (let j = 0; j < L; j++) {
    const p = field.moduli[j]!;
    for (let i = 0; i < length; i++) {
      const v = view.getUint32((j * length + i) * 4, true);
      if (v >= p) throw new RangeError(`bytes: element ${i} has a residue not below moduli[${j}]`);
      out[j * length + i] = v;
    }
  }
  return vectorOf(field, length, out);
}

/** The elements of each vector in turn, as one vector (one field). */
export function concatFieldVectors(vectors: readonly FieldVector[]): FieldVector {
  if (!Array.isArray(vectors) || vectors.length === 0) throw new TypeError('vectors must be a non-empty array of FieldVectors');
  vectors.forEach((v, k) => {
    assertFieldVector(v, `vectors[${k}]`);
    if (v.field !== vectors[0]!.field) throw new RangeError(`vectors[${k}] belongs to another field than vectors[0]`);
  });
  const field = vectors[0]!.field;
  const length = vectors.reduce((s, v) => s + v.length, 0);
  assertLength(length, 'the total length');
  const out = new Uint32Array(field.moduli.length * length);
  for (let j = 0; j < field.moduli.length; j++) {
    let o = j * length;
    for (const v of vectors) {
      out.set(v.residues.subarray(j * v.length, (j + 1) * v.length), o);
      o += v.length;
    }
  }
  return vectorOf(field, length, out);
}

/** Elements start..end − 1 of a vector, as a new vector. */
export function sliceFieldVector(vector: FieldVector, start: number, end: number): FieldVector {
  assertFieldVector(vector, 'vector');
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > vector.length) {
    throw new RangeError(`start and end must be integers with 0 ≤ start ≤ end ≤ ${vector.length}, got ${start} and ${end}`);
  }
  const length = end - start;
  const out = new Uint32Array(vector.field.moduli.length * length);
  for (let j = 0; j < vector.field.moduli.length; j++) {
    out.set(vector.residues.subarray(j * vector.length + start, j * vector.length + end), j * length);
  }
  return vectorOf(vector.field, length, out);
}

/** Whether two vectors hold the same elements of the same field. */
export function equalFieldVectors(a: FieldVector, b: FieldVector): boolean {
  assertFieldVector(a, 'a');
  assertFieldVector(b, 'b');
  if (a.field !== b.field || a.length !== b.length) return false;
  for (let i = 0; i < a.residues.length; i++) if (a.residues[i] !== b.residues[i]) return false;
  return true;
}
