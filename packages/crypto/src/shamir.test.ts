// Shamir secret sharing: the textbook GF(1613) example (vectors/shamir), and properties over GF(2^521 − 1).
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { deterministicRng } from './mask-prg.js';
import { randomBytes } from './random.js';
import {
  M521,
  ShamirCombineError,
  SHAMIR_SHARE_LENGTH,
  bigIntToBytes,
  combineInField,
  combineShares,
  interpolateAt,
  modInverse,
  modPow,
  primeField,
  splitInField,
  splitSecret,
  type ShamirShare,
} from './shamir.js';

interface WikipediaExample {
  secret: number;
  threshold: number;
  share_count: number;
  coefficients_low_to_high: number[];
  prime: number;
  prime_field_shares: [number, number][];
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

function chiSquare(counts: readonly number[], expected: number): number {
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('Shamir over GF(1613) (vectors/shamir/wikipedia_prime_field_example.json)', () => {
  const example = readVectorJson<WikipediaExample>('shamir/wikipedia_prime_field_example.json');
  const field = primeField(BigInt(example.prime));
  const points = example.prime_field_shares.map(([x, y]) => ({ x: BigInt(x), y: BigInt(y) }));

  it('evaluates the published polynomial to the published shares', () => {
    const [a0, a1, a2] = example.coefficients_low_to_high.map(BigInt);
    for (const { x, y } of points) expect((a0! + a1! * x + a2! * x * x) % field.p).toBe(y);
  });

  it(`every ${example.threshold}-of-${example.share_count} subset interpolates to ${example.secret}`, () => {
    const all = subsets(points, example.threshold);
    expect(all).toHaveLength(20);
    for (const subset of all) expect(interpolateAt(field, subset, 0n)).toBe(BigInt(example.secret));
  });

  it('two shares do not determine the secret, and all six must agree', () => {
    expect(interpolateAt(field, points.slice(0, 2), 0n)).not.toBe(BigInt(example.secret));
    expect(combineInField(field, points, 3)).toBe(BigInt(example.secret));
    const tampered = points.map((p, i) => (i === 5 ? { x: p.x, y: (p.y + 1n) % field.p } : p));
    expect(() => combineInField(field, tampered, 3)).toThrow(ShamirCombineError);
  });

  it('splitInField over GF(1613) round-trips', () => {
    const rng = deterministicRng(new Uint8Array(32).fill(7));
    const shares = splitInField(field, 1234n, 3, 6, rng);
    for (const subset of subsets(shares, 3)) expect(interpolateAt(field, subset, 0n)).toBe(1234n);
  });
});

describe('field helpers', () => {
  it('modPow and modInverse agree with Fermat', () => {
    const p = M521.p;
    for (const a of [1n, 2n, 1234n, p - 1n, (1n << 300n) + 12345n]) {
      expect((a * modInverse(a, p)) % p).toBe(1n);
      expect(modInverse(a, p)).toBe(modPow(a, p - 2n, p));
    }
    expect(() => modInverse(0n, 1613n)).toThrow(RangeError);
    expect(modPow(3n, 1612n, 1613n)).toBe(1n);
  });
});

describe('splitSecret / combineShares over GF(2^521 − 1)', () => {
  it('every threshold subset reconstructs a random secret (property, 20 runs)', () => {
    for (let run = 0; run < 20; run++) {
      const secret = randomBytes(32);
      const n = 2 + (run % 5);
      const t = 2 + (run % (n - 1));
      const shares = splitSecret(secret, { threshold: t, shares: n });
      expect(shares.map((s) => s.x)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      for (const s of shares) expect(s.y).toHaveLength(SHAMIR_SHARE_LENGTH);
      for (const subset of subsets(shares, t)) expect(combineShares(subset, t)).toEqual(secret);
      expect(combineShares(shares, t)).toEqual(secret); // all shares, consistent
    }
  });

  it('threshold − 1 shares are uniform whatever the secret (chi-square on one byte)', () => {
    const splits = 4096;
    const histogram = (secret: Uint8Array): number[] => {
      const counts = new Array<number>(256).fill(0);
      for (let i = 0; i < splits; i++) {
        const shares = splitSecret(secret, { threshold: 3, shares: 5 });
        counts[shares[1]!.y[SHAMIR_SHARE_LENGTH - 1]!]! += 1; // share x = 2, last byte
      }
      return counts;
    };
    const zeros = histogram(new Uint8Array(32));
    const ones = histogram(new Uint8Array(32).fill(0xff));
    // df = 255: P(χ² > 341) ≈ 0.0003 under uniformity.
    expect(chiSquare(zeros, splits / 256)).toBeLessThan(341);
    expect(chiSquare(ones, splits / 256)).toBeLessThan(341);
    // Two-sample χ² between the two secrets' histograms (df = 255).
    let twoSample = 0;
    for (let b = 0; b < 256; b++) {
      const total = zeros[b]! + ones[b]!;
      if (total > 0) twoSample += (zeros[b]! - ones[b]!) ** 2 / total;
    }
    expect(twoSample).toBeLessThan(341);
  });

  it('is deterministic under an injected rng', () => {
    const secret = new Uint8Array(32).fill(9);
    const a = splitSecret(secret, { threshold: 2, shares: 3 }, deterministicRng(new Uint8Array(32)));
    const b = splitSecret(secret, { threshold: 2, shares: 3 }, deterministicRng(new Uint8Array(32)));
    expect(a).toEqual(b);
  });

  it('refuses bad split arguments, never clamping the threshold', () => {
    const secret = new Uint8Array(32);
    expect(() => splitSecret(secret, { threshold: 1, shares: 3 })).toThrow(/options\.threshold/);
    expect(() => splitSecret(secret, { threshold: 0, shares: 3 })).toThrow(RangeError);
    expect(() => splitSecret(secret, { threshold: 4, shares: 3 })).toThrow(/options\.shares/);
    expect(() => splitSecret(secret, { threshold: 2.5, shares: 3 })).toThrow(RangeError);
    expect(() => splitSecret(new Uint8Array(31), { threshold: 2, shares: 3 })).toThrow(/secret must be 32 bytes/);
    expect(() => splitSecret('x' as unknown as Uint8Array, { threshold: 2, shares: 3 })).toThrow(TypeError);
    expect(() => splitSecret(secret, { threshold: '2', shares: 3 } as unknown as { threshold: number; shares: number })).toThrow(TypeError);
  });

  it('refuses bad combine arguments with RangeError naming the argument', () => {
    const shares = splitSecret(randomBytes(32), { threshold: 3, shares: 4 });
    expect(() => combineShares(shares.slice(0, 2), 3)).toThrow(/shares: need at least threshold \(3\)/);
    expect(() => combineShares(shares, 1)).toThrow(/threshold must be an integer from 2/);
    const dup: ShamirShare[] = [shares[0]!, shares[1]!, { x: 1, y: shares[2]!.y }];
    expect(() => combineShares(dup, 3)).toThrow(/shares\[2\]\.x duplicates/);
    const zero: ShamirShare[] = [shares[0]!, shares[1]!, { x: 0, y: shares[2]!.y }];
    expect(() => combineShares(zero, 3)).toThrow(/shares\[2\]\.x must be an integer from 1/);
    const outOfField: ShamirShare[] = [shares[0]!, shares[1]!, { x: 3, y: bigIntToBytes(M521.p, SHAMIR_SHARE_LENGTH) }];
    expect(() => combineShares(outOfField, 3)).toThrow(/shares\[2\]\.y is not an element of the field/);
    const short: ShamirShare[] = [shares[0]!, shares[1]!, { x: 3, y: new Uint8Array(65) }];
    expect(() => combineShares(short, 3)).toThrow(/shares\[2\]\.y must be 66 bytes/);
    expect(() => combineShares('x' as unknown as ShamirShare[], 3)).toThrow(TypeError);
  });

  it('detects inconsistent extra shares and results that are not 32-byte secrets', () => {
    const shares = splitSecret(randomBytes(32), { threshold: 2, shares: 3 });
    const bad = shares.map((s, i) => (i === 2 ? { x: s.x, y: bigIntToBytes(5n, SHAMIR_SHARE_LENGTH) } : s));
    expect(() => combineShares(bad, 2)).toThrow(ShamirCombineError);
    // Two unrelated points almost surely interpolate to a value ≥ 2^256.
    const random: ShamirShare[] = [
      { x: 1, y: bigIntToBytes(M521.p - 7n, SHAMIR_SHARE_LENGTH) },
      { x: 2, y: bigIntToBytes(3n, SHAMIR_SHARE_LENGTH) },
    ];
    expect(() => combineShares(random, 2)).toThrow(/do not encode a 32-byte secret/);
  });
});
