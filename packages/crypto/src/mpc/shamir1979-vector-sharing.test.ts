// Shamir sharing of vectors over the `mpc` field: the textbook example (vectors/shamir, GF(1613) and the
// integers), reconstruction from every threshold-subset, consistency checks, local operations, and
// argument errors.
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../../test/support/vectors.js';
import { deterministicRng } from '../mask-prg.js';
import {
  MPC_FIELD,
  createMpcField,
  equalFieldVectors,
  fieldVectorFromBigInts,
  fieldVectorFromIntegers,
  fieldVectorToBigInts,
  randomFieldVector,
  type FieldVector,
} from './field.js';
import {
  MpcCombineError,
  addPublicVector,
  addScalarToShareVector,
  addShareVectors,
  multiplyByPublicVector,
  multiplyShareVectorsLocally,
  reconstructVector,
  scaleShareVector,
  shareVector,
  shareWithCoefficients,
  subtractShareVectors,
  type ShareVector,
} from './sharing.js';

interface WikipediaExample {
  secret: number;
  threshold: number;
  share_count: number;
  coefficients_low_to_high: number[];
  integer_shares: [number, number][];
  prime: number;
  prime_field_shares: [number, number][];
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

const M = MPC_FIELD.modulus;
const mod = (v: bigint) => ((v % M) + M) % M;

describe('textbook example (vectors/shamir/wikipedia_prime_field_example.json)', () => {
  const ex = readVectorJson<WikipediaExample>('shamir/wikipedia_prime_field_example.json');
  const [secret, ...coefficients] = ex.coefficients_low_to_high;

  it('reproduces the GF(1613) shares with the fixed coefficients', () => {
    const gf = createMpcField([ex.prime]);
    const shares = shareWithCoefficients(
      fieldVectorFromIntegers(gf, [secret!]),
      coefficients.map((c) => fieldVectorFromIntegers(gf, [c])),
      ex.share_count,
    );
    expect(shares.map((s) => [s.x, Number(fieldVectorToBigInts(s.vector)[0])])).toEqual(ex.prime_field_shares);
  });

  it('reconstructs 1234 from every 3 of the 6 GF(1613) shares, and checks 4, 5 and 6 for consistency', () => {
    const gf = createMpcField([ex.prime]);
    const shares: ShareVector[] = ex.prime_field_shares.map(([x, y]) => ({ x, vector: fieldVectorFromIntegers(gf, [y]) }));
    for (let k = ex.threshold; k <= ex.share_count; k++) {
      for (const subset of subsets(shares, k)) {
        expect(fieldVectorToBigInts(reconstructVector(subset, ex.threshold))).toEqual([BigInt(ex.secret)]);
      }
    }
    const tampered = [...shares.slice(0, 3), { x: 4, vector: fieldVectorFromIntegers(gf, [177]) }];
    expect(() => reconstructVector(tampered, ex.threshold)).toThrow(
      new MpcCombineError('share vector x = 4 does not lie on the polynomials of the other shares (element 0)'),
    );
  });

  it('gives the integer shares over MPC_FIELD (no reduction below M)', () => {
    const shares = shareWithCoefficients(
      fieldVectorFromIntegers(MPC_FIELD, [secret!]),
      coefficients.map((c) => fieldVectorFromIntegers(MPC_FIELD, [c])),
      ex.share_count,
    );
    expect(shares.map((s) => [s.x, Number(fieldVectorToBigInts(s.vector)[0])])).toEqual(ex.integer_shares);
  });
});

function randomVector(length: number, seed: number): FieldVector {
  return randomFieldVector(MPC_FIELD, length, deterministicRng(new Uint8Array(32).fill(seed)));
}

describe('shareVector / reconstructVector', () => {
  for (const [n, t] of [
    [3, 2],
    [5, 3],
    [7, 4],
  ] as const) {
    it(`(n, t) = (${n}, ${t}): every t-subset reconstructs, every larger subset is consistent`, () => {
      const secret = randomVector(50, n);
      const shares = shareVector(secret, { threshold: t, parties: n });
      expect(shares.map((s) => s.x)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      for (let k = t; k <= n; k++) {
        for (const subset of subsets(shares, k)) expect(equalFieldVectors(reconstructVector(subset, t), secret)).toBe(true);
      }
      // t − 1 shares interpolated as if they were enough do not give the secret.
      if (t > 2) expect(equalFieldVectors(reconstructVector(shares.slice(0, t - 1), t - 1), secret)).toBe(false);
    });
  }

  it('is deterministic in the rng and draws coefficients of degree 1..t−1 in order', () => {
    const secret = randomVector(20, 1);
    const seed = new Uint8Array(32).fill(7);
    const shares = shareVector(secret, { threshold: 3, parties: 5 }, deterministicRng(seed));
    const rng = deterministicRng(seed);
    const coefficients = [randomFieldVector(MPC_FIELD, 20, rng), randomFieldVector(MPC_FIELD, 20, rng)];
    const expected = shareWithCoefficients(secret, coefficients, 5);
    shares.forEach((s, i) => expect(equalFieldVectors(s.vector, expected[i]!.vector)).toBe(true));
  });

  it('accepts shares in any order', () => {
    const secret = randomVector(10, 2);
    const shares = shareVector(secret, { threshold: 3, parties: 5 });
    expect(equalFieldVectors(reconstructVector([shares[4]!, shares[0]!, shares[2]!], 3), secret)).toBe(true);
  });

  it('refuses fewer shares, duplicates, mismatched lengths and fields, naming them', () => {
    const shares = shareVector(randomVector(4, 3), { threshold: 3, parties: 5 });
    expect(() => reconstructVector(shares.slice(0, 2), 3)).toThrow(new RangeError('shares: need at least threshold (3) share vectors, got 2'));
    expect(() => reconstructVector([shares[0]!, shares[1]!, shares[0]!], 3)).toThrow(new RangeError("shares[2].x duplicates another share vector's x (1)"));
    const short = { x: 3, vector: randomVector(3, 4) };
    expect(() => reconstructVector([shares[0]!, shares[1]!, short], 3)).toThrow(new RangeError('shares[2] has length 3, shares[0] has 4'));
    const foreign = { x: 3, vector: fieldVectorFromIntegers(createMpcField([1613]), [1, 2, 3, 4]) };
    expect(() => reconstructVector([shares[0]!, shares[1]!, foreign], 3)).toThrow(new RangeError('shares[2] belongs to another field than shares[0]'));
    expect(() => reconstructVector([shares[0]!, shares[1]!, { x: 0, vector: shares[2]!.vector }], 3)).toThrow(
      new RangeError('shares[2].x must be an integer from 1 to 255, got 0'),
    );
    expect(() => reconstructVector(shares, 1)).toThrow(new RangeError('threshold must be an integer from 2 to 255, got 1'));
    expect(() => reconstructVector('x' as never, 2)).toThrow(new TypeError('shares must be an array of ShareVectors'));
    expect(() => reconstructVector([null, null] as never, 2)).toThrow(new TypeError('shares[0] must be a ShareVector'));
  });

  it('names the first element that disagrees', () => {
    const shares = shareVector(randomVector(6, 5), { threshold: 2, parties: 3 });
    const residues = shares[2]!.vector.residues.slice();
    residues[6 * 2 + 4] = (residues[6 * 2 + 4]! + 1) % MPC_FIELD.moduli[2]!;
    const bad = { x: 3, vector: { ...shares[2]!.vector, residues } };
    expect(() => reconstructVector([shares[0]!, shares[1]!, bad], 2)).toThrow(
      new MpcCombineError('share vector x = 3 does not lie on the polynomials of the other shares (element 4)'),
    );
  });

  it('refuses bad options, naming them', () => {
    const v = randomVector(2, 6);
    expect(() => shareVector(v, { threshold: 1, parties: 3 })).toThrow(new RangeError('options.threshold must be an integer from 2 to 255, got 1'));
    expect(() => shareVector(v, { threshold: 4, parties: 3 })).toThrow(new RangeError('options.parties must be an integer from options.threshold (4) to 255, got 3'));
    expect(() => shareVector(v, { threshold: 2, parties: 256 })).toThrow(RangeError);
    expect(() => shareVector(v, null as never)).toThrow(new TypeError('options must be an object'));
    expect(() => shareVector([1, 2] as never, { threshold: 2, parties: 3 })).toThrow(TypeError);
    expect(() => shareVector(v, { threshold: 2, parties: 3 }, 'x' as never)).toThrow(new TypeError('random must be a function'));
  });
});

describe('local operations on shares', () => {
  const n = 5;
  const t = 3;
  const a = fieldVectorFromBigInts(MPC_FIELD, [5n, -7n, 1n << 100n, 0n]);
  const b = fieldVectorFromBigInts(MPC_FIELD, [11n, 13n, -(1n << 90n), 9n]);
  const sa = shareVector(a, { threshold: t, parties: n });
  const sb = shareVector(b, { threshold: t, parties: n });
  const av = fieldVectorToBigInts(a);
  const bv = fieldVectorToBigInts(b);
  const open = (shares: ShareVector[]) => fieldVectorToBigInts(reconstructVector(shares, t));

  it('add, subtract, scale, add a scalar, add and multiply by public vectors', () => {
    expect(open(sa.map((s, i) => addShareVectors(s, sb[i]!)))).toEqual(av.map((x, i) => mod(x + bv[i]!)));
    expect(open(sa.map((s, i) => subtractShareVectors(s, sb[i]!)))).toEqual(av.map((x, i) => mod(x - bv[i]!)));
    expect(open(sa.map((s) => scaleShareVector(s, -3n)))).toEqual(av.map((x) => mod(-3n * x)));
    expect(open(sa.map((s) => addScalarToShareVector(s, 42n)))).toEqual(av.map((x) => mod(x + 42n)));
    expect(open(sa.map((s) => addPublicVector(s, b)))).toEqual(av.map((x, i) => mod(x + bv[i]!)));
    expect(open(sa.map((s) => multiplyByPublicVector(s, b)))).toEqual(av.map((x, i) => mod(x * bv[i]!)));
  });

  it('local products lie on a polynomial of degree 2(t − 1): 2t − 1 of them give a · b, t of them do not', () => {
    const products = sa.map((s, i) => multiplyShareVectorsLocally(s, sb[i]!));
    expect(fieldVectorToBigInts(reconstructVector(products, 2 * t - 1))).toEqual(av.map((x, i) => mod(x * bv[i]!)));
    expect(() => reconstructVector(products, t)).toThrow(MpcCombineError);
  });

  it('refuses shares of different nodes', () => {
    expect(() => addShareVectors(sa[0]!, sb[1]!)).toThrow(new RangeError('a and b must be shares of the same node, got x = 1 and x = 2'));
    expect(() => multiplyShareVectorsLocally(sa[0]!, sb[1]!)).toThrow(RangeError);
  });
});
