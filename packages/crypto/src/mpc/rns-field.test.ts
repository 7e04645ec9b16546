// The `mpc` field: Z_M in residue number system form over the six largest primes below 2^26, checked
// against a BigInt reference (CRT, signed representatives, low bits, byte form) and for argument errors.
import { describe, expect, it } from 'vitest';
import { deterministicRng } from '../mask-prg.js';
import {
  MPC_DEFAULT_MODULI,
  MPC_FIELD,
  MPC_MAX_MODULUS,
  addFieldVectors,
  addScalar,
  createMpcField,
  equalFieldVectors,
  fieldVectorFromBigInts,
  fieldVectorFromBytes,
  fieldVectorFromIntegers,
  fieldVectorToBigInts,
  fieldVectorToBytes,
  fieldVectorToSignedNumbers,
  inverseModM,
  lowBits,
  multiplyFieldVectors,
  randomFieldVector,
  randomIntegerVector,
  scaleFieldVector,
  subtractFieldVectors,
  zeroFieldVector,
} from './field.js';

const M = MPC_FIELD.modulus;
const mod = (v: bigint) => ((v % M) + M) % M;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function randomBigInts(count: number, seed: number): bigint[] {
  const rng = deterministicRng(new Uint8Array(32).fill(seed));
  const bytes = rng(count * 20);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    let v = 0n;
    for (let k = 0; k < 20; k++) v = (v << 8n) | BigInt(bytes[i * 20 + k]!);
    out.push(v % M);
  }
  // Edges: 0, 1, M − 1, the signed boundary (M − 1)/2 and its neighbours, powers of two.
  return [0n, 1n, M - 1n, (M - 1n) / 2n, (M + 1n) / 2n, (M - 3n) / 2n, 1n << 154n, (1n << 53n) + 1n, ...out];
}

describe('MPC_FIELD', () => {
  it('is the six largest primes below 2^26 (re-derived), M > 2^155', () => {
    const primes: number[] = [];
    for (let n = MPC_MAX_MODULUS - 1; primes.length < 6; n--) if (isPrime(n)) primes.push(n);
    expect(MPC_DEFAULT_MODULI).toEqual(primes);
    expect(MPC_FIELD.modulus).toBe(primes.reduce((m, p) => m * BigInt(p), 1n));
    expect(MPC_FIELD.bits).toBe(155);
    expect(MPC_FIELD.modulus > 1n << 155n).toBe(true);
    expect(MPC_FIELD.id).toBe(`rns:${primes.join('.')}`);
  });

  it('refuses bad moduli, naming the index', () => {
    expect(() => createMpcField([])).toThrow(new RangeError('moduli must not be empty'));
    expect(() => createMpcField([7, 9])).toThrow(new RangeError('moduli[1] must be an odd prime below 2^26, got 9'));
    expect(() => createMpcField([2])).toThrow(new RangeError('moduli[0] must be an odd prime below 2^26, got 2'));
    expect(() => createMpcField([67108879])).toThrow(/moduli\[0\] must be an odd prime below 2\^26/);
    expect(() => createMpcField([7, 7])).toThrow(new RangeError('moduli[1] repeats 7'));
    expect(() => createMpcField(['7' as unknown as number])).toThrow(new TypeError('moduli[0] must be a number'));
    expect(() => createMpcField('7' as unknown as number[])).toThrow(TypeError);
  });
});

describe('arithmetic against a BigInt reference', () => {
  const a = randomBigInts(300, 1);
  const b = randomBigInts(300, 2).reverse();
  const va = fieldVectorFromBigInts(MPC_FIELD, a);
  const vb = fieldVectorFromBigInts(MPC_FIELD, b);

  it('round-trips bigints (any sign) and reduces mod M', () => {
    expect(fieldVectorToBigInts(va)).toEqual(a);
    expect(fieldVectorToBigInts(fieldVectorFromBigInts(MPC_FIELD, [-1n, M, M + 5n, -M - 2n]))).toEqual([M - 1n, 0n, 5n, M - 2n]);
  });

  it('adds, subtracts, multiplies element-wise', () => {
    expect(fieldVectorToBigInts(addFieldVectors(va, vb))).toEqual(a.map((x, i) => mod(x + b[i]!)));
    expect(fieldVectorToBigInts(subtractFieldVectors(va, vb))).toEqual(a.map((x, i) => mod(x - b[i]!)));
    expect(fieldVectorToBigInts(multiplyFieldVectors(va, vb))).toEqual(a.map((x, i) => mod(x * b[i]!)));
  });

  it('scales by and adds public scalars of any sign', () => {
    for (const c of [0n, 1n, -1n, 12345678901234567890n, -(1n << 100n), M + 3n]) {
      expect(fieldVectorToBigInts(scaleFieldVector(va, c))).toEqual(a.map((x) => mod(x * c)));
      expect(fieldVectorToBigInts(addScalar(va, c))).toEqual(a.map((x) => mod(x + c)));
    }
  });

  it('gives signed representatives in (−M/2, M/2] as bigints and as doubles', () => {
    const half = (M - 1n) / 2n;
    const signed = a.map((x) => (x > half ? x - M : x));
    expect(fieldVectorToBigInts(va, { signed: true })).toEqual(signed);
    const doubles = fieldVectorToSignedNumbers(va);
    signed.forEach((s, i) => {
      const expected = Number(s);
      expect(Math.abs(doubles[i]! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 2 ** -50);
      expect(Math.sign(doubles[i]!)).toBe(Math.sign(expected));
    });
    const small = [0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 123456789, -987654321];
    expect(Array.from(fieldVectorToSignedNumbers(fieldVectorFromIntegers(MPC_FIELD, small)))).toEqual(small);
  });

  it('reads the low bits of the canonical representative', () => {
    for (const bits of [1, 8, 16, 26]) {
      expect(Array.from(lowBits(va, bits))).toEqual(a.map((x) => Number(x % (1n << BigInt(bits)))));
    }
  });

  it('inverts modulo M', () => {
    const inv = inverseModM(MPC_FIELD, 1n << 16n);
    expect(mod(inv << 16n)).toBe(1n);
    expect(() => inverseModM(MPC_FIELD, BigInt(MPC_DEFAULT_MODULI[0]!))).toThrow(RangeError);
  });

  it('works over a one-prime field, GF(1613)', () => {
    const gf = createMpcField([1613]);
    const x = fieldVectorFromIntegers(gf, [1234, -1, 1612, 806, 807]);
    expect(fieldVectorToBigInts(multiplyFieldVectors(x, x))).toEqual([1234n, 1n, 1612n, 806n, 807n].map((v) => (v * v) % 1613n));
    expect(Array.from(fieldVectorToSignedNumbers(x))).toEqual([-379, -1, -1, 806, -806]);
  });
});

describe('byte form', () => {
  const v = fieldVectorFromBigInts(MPC_FIELD, randomBigInts(10, 3));

  it('round-trips little-endian planar residues', () => {
    const bytes = fieldVectorToBytes(v);
    expect(bytes.length).toBe(v.length * 6 * 4);
    expect(equalFieldVectors(fieldVectorFromBytes(MPC_FIELD, bytes, v.length), v)).toBe(true);
  });

  it('refuses a wrong length and a residue not below its prime, naming them', () => {
    const bytes = fieldVectorToBytes(v);
    expect(() => fieldVectorFromBytes(MPC_FIELD, bytes.subarray(1), v.length)).toThrow(new RangeError(`bytes must be ${bytes.length} bytes for 18 elements, got ${bytes.length - 1}`));
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32((2 * v.length + 7) * 4, MPC_DEFAULT_MODULI[2]!, true);
    expect(() => fieldVectorFromBytes(MPC_FIELD, bad, v.length)).toThrow(new RangeError('bytes: element 7 has a residue not below moduli[2]'));
    expect(() => fieldVectorFromBytes(MPC_FIELD, 'x' as unknown as Uint8Array, 1)).toThrow(new TypeError('bytes must be a Uint8Array'));
  });
});

describe('randomness', () => {
  it('draws uniform residues deterministically from the rng', () => {
    const seed = new Uint8Array(32).fill(9);
    const x = randomFieldVector(MPC_FIELD, 4000, deterministicRng(seed));
    const y = randomFieldVector(MPC_FIELD, 4000, deterministicRng(seed));
    expect(equalFieldVectors(x, y)).toBe(true);
    MPC_DEFAULT_MODULI.forEach((p, j) => {
      for (let i = 0; i < x.length; i++) expect(x.residues[j * x.length + i]! < p).toBe(true);
    });
    // Low 4 bits of residues mod the first prime: 16 bins, 4000 draws, chi-square (15 df) far below 50.
    const counts = new Array(16).fill(0);
    for (let i = 0; i < x.length; i++) counts[x.residues[i]! & 15]++;
    const chi = counts.reduce((s, c) => s + (c - 250) ** 2 / 250, 0);
    expect(chi).toBeLessThan(50);
  });

  it('rejects and refills residues at or above the prime (GF(1613): mask 2^11 − 1)', () => {
    const gf = createMpcField([1613]);
    const x = randomFieldVector(gf, 1000, deterministicRng(new Uint8Array(32).fill(4)));
    expect(Array.from(x.residues).every((r) => r < 1613)).toBe(true);
    expect(new Set(x.residues).size).toBeGreaterThan(400);
  });

  it('draws integers uniform in [0, 2^bits)', () => {
    for (const bits of [1, 16, 31, 32, 33, 77, 133]) {
      const values = fieldVectorToBigInts(randomIntegerVector(MPC_FIELD, 500, bits, deterministicRng(new Uint8Array(32).fill(bits))));
      expect(values.every((v) => v >= 0n && v < 1n << BigInt(bits))).toBe(true);
      if (bits > 8) expect(values.some((v) => v >= 1n << BigInt(bits - 2))).toBe(true);
    }
    expect(() => randomIntegerVector(MPC_FIELD, 1, 156)).toThrow(new RangeError('bits must be an integer from 1 to 155, got 156'));
  });

  it('refuses an rng that returns the wrong number of bytes', () => {
    expect(() => randomFieldVector(MPC_FIELD, 2, () => new Uint8Array(3))).toThrow(new TypeError('random must return 8 bytes'));
  });
});

describe('argument errors', () => {
  const v = zeroFieldVector(MPC_FIELD, 3);
  const w = zeroFieldVector(MPC_FIELD, 4);
  const other = zeroFieldVector(createMpcField([1613]), 3);

  it('names the argument', () => {
    expect(() => addFieldVectors(v, w)).toThrow(new RangeError('a and b must have the same length, got 3 and 4'));
    expect(() => addFieldVectors(v, other)).toThrow(new RangeError('a and b belong to different fields'));
    expect(() => multiplyFieldVectors(v, {} as never)).toThrow(new TypeError('b.field must be an MpcField made by createMpcField'));
    expect(() => scaleFieldVector(v, 2 as unknown as bigint)).toThrow(new TypeError('c must be a bigint'));
    expect(() => fieldVectorFromIntegers(MPC_FIELD, [1, 2.5])).toThrow(new RangeError('values[1] must be a safe integer, got 2.5'));
    expect(() => fieldVectorFromIntegers(MPC_FIELD, [2 ** 53])).toThrow(RangeError);
    expect(() => fieldVectorFromBigInts(MPC_FIELD, [1n, 2 as unknown as bigint])).toThrow(new TypeError('values[1] must be a bigint'));
    expect(() => lowBits(v, 27)).toThrow(new RangeError('bits must be an integer from 1 to 26, got 27'));
    expect(() => zeroFieldVector(MPC_FIELD, -1)).toThrow(RangeError);
    expect(() => fieldVectorToBigInts({ field: MPC_FIELD, length: 2, residues: new Uint32Array(3) })).toThrow(
      new TypeError('vector.residues must be a Uint32Array of moduli.length × length residues'),
    );
  });
});
