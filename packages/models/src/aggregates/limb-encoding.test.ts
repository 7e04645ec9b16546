// The two-limb ring encoding of docs/secure-aggregation.md ("Statistics"): decode(Σ encode(v_i, r_i)) =
// Σ v_i + Σ r_i exactly, for up to 128 parties, even with the pairwise masks of secure aggregation
// (Bonawitz et al., CCS 2017) added and cancelled mod 2^32.
import { describe, expect, it } from 'vitest';
import { aggregateLayoutOf, decodeStatisticSum, encodeStatistics, seededRng, type Rng } from '../index.js';

const layout = aggregateLayoutOf('risk-analyzer-v2')!;
const S = layout.statisticCount;

const randInt = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng.nextFloat() * (hi - lo + 1));

function ringAdd(acc: Uint32Array, v: Uint32Array, sign = 1): void {
  for (let i = 0; i < acc.length; i++) acc[i] = (acc[i]! + sign * v[i]!) >>> 0;
}

function simulate(rng: Rng, parties: number, pick: (rng: Rng) => { v: number; r: number }): { expected: number[]; decoded: number[] } {
  const expected = new Array<number>(S).fill(0);
  const sum = new Uint32Array(layout.ringLength);
  const encodings: Uint32Array[] = [];
  for (let p = 0; p < parties; p++) {
    const values: number[] = [];
    const noise = new Int32Array(S);
    for (let i = 0; i < S; i++) {
      const { v, r } = pick(rng);
      values.push(v);
      noise[i] = r;
      expected[i]! += v + r;
    }
    encodings.push(encodeStatistics(layout, values, noise));
  }
  // Pairwise masks: party p adds m, party p + 1 subtracts it; they cancel in the ring sum.
  for (let p = 0; p < parties; p++) {
    const masked = Uint32Array.from(encodings[p]!);
    if (parties > 1) {
      const mask = Uint32Array.from({ length: layout.ringLength }, () => randInt(rng, 0, 2 ** 32 - 1));
      ringAdd(masked, mask, 1);
      ringAdd(encodings[(p + 1) % parties]!, mask, -1);
    }
    encodings[p] = masked;
  }
  for (const e of encodings) ringAdd(sum, e);
  return { expected, decoded: decodeStatisticSum(layout, sum, parties) };
}

describe('layout ring shape', () => {
  it('has two limbs per statistic and the contract limits', () => {
    expect(layout.ringLength).toBe(2 * S);
    expect(layout.maxParties).toBe(128);
    expect(layout.maxValue).toBe(2 ** 40 - 1);
    expect(layout.maxNoiseMagnitude).toBe(2 ** 23);
    expect(layout.limbBits).toBe(16);
  });

  it('splits a value into low 16 bits (+ noise) and the high bits', () => {
    const values = new Array<number>(S).fill(0);
    values[0] = 0x12_3456_789a;
    values[1] = 5;
    const noise = new Array<number>(S).fill(0);
    noise[1] = -7;
    const ring = encodeStatistics(layout, values, noise);
    expect([ring[0], ring[1]]).toEqual([0x789a, 0x12_3456]);
    expect([ring[2], ring[3]]).toEqual([(5 - 7) >>> 0, 0]);
  });
});

describe('decode(Σ encode(v_i) + Σ noise_i) = Σ v_i + Σ noise_i', () => {
  it.each([1, 2, 3, 17, 64, 128])('%i parties, random values and noise', (parties) => {
    const rng = seededRng(1000 + parties);
    const { expected, decoded } = simulate(rng, parties, (g) => ({
      v: randInt(g, 0, layout.maxValue),
      r: randInt(g, -layout.maxNoiseMagnitude, layout.maxNoiseMagnitude),
    }));
    expect(decoded).toEqual(expected);
  });

  it.each([
    ['largest values, largest positive noise', layout.maxValue, 1],
    ['largest values, largest negative noise', layout.maxValue, -1],
    ['zeros, largest negative noise', 0, -1],
    ['values just under a limb boundary', 2 ** 16 - 1, 1],
  ])('128 parties at the edges: %s', (_, v, sign) => {
    const { expected, decoded } = simulate(seededRng(7), 128, () => ({ v, r: sign * layout.maxNoiseMagnitude }));
    expect(decoded).toEqual(expected);
  });

  it('small values with no noise decode to the plain sum', () => {
    const values = Array.from({ length: S }, (_, i) => i);
    const a = encodeStatistics(layout, values);
    const b = encodeStatistics(layout, values);
    ringAdd(a, b);
    expect(decodeStatisticSum(layout, a, 2)).toEqual(values.map((v) => 2 * v));
  });
});

describe('out-of-range input is refused, naming the statistic', () => {
  const zeros = (): number[] => new Array<number>(S).fill(0);
  const name = (i: number): string => layout.entries[i]!.name;

  it.each([
    ['negative', -1],
    ['above 2^40 - 1', 2 ** 40],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
  ])('a %s value', (_, bad) => {
    const values = zeros();
    values[5] = bad;
    expect(() => encodeStatistics(layout, values)).toThrow(RangeError);
    expect(() => encodeStatistics(layout, values)).toThrow(`values[5] (statistic ${name(5)}) must be an integer from 0 to ${2 ** 40 - 1}`);
  });

  it('noise beyond 2^30 / maxParties or not an integer', () => {
    const noise = zeros();
    noise[9] = layout.maxNoiseMagnitude + 1;
    expect(() => encodeStatistics(layout, zeros(), noise)).toThrow(`noise[9] (statistic ${name(9)}) must be an integer of magnitude at most ${2 ** 23}`);
    noise[9] = 0.5;
    expect(() => encodeStatistics(layout, zeros(), noise)).toThrow(RangeError);
  });

  it('wrong lengths, parties and layouts', () => {
    expect(() => encodeStatistics(layout, [1, 2, 3])).toThrow(`values must hold ${S} statistics, got 3`);
    expect(() => encodeStatistics(layout, zeros(), [1])).toThrow(`noise must hold ${S} values, got 1`);
    expect(() => encodeStatistics({ ...layout, id: 'other/v1' }, zeros())).toThrow(TypeError);
    const ring = new Uint32Array(layout.ringLength);
    expect(() => decodeStatisticSum(layout, ring, 0)).toThrow('parties must be an integer from 1 to 128, got 0');
    expect(() => decodeStatisticSum(layout, ring, 129)).toThrow(RangeError);
    expect(() => decodeStatisticSum(layout, new Uint32Array(3), 2)).toThrow(`ringSum must hold ${layout.ringLength} ring entries, got 3`);
    expect(() => decodeStatisticSum(layout, Array.from(ring) as never, 2)).toThrow(TypeError);
  });

  it('a ring sum with masks left in is not a sum of encodings', () => {
    const rng = seededRng(99);
    const garbage = Uint32Array.from({ length: layout.ringLength }, () => randInt(rng, 0, 2 ** 32 - 1));
    expect(() => decodeStatisticSum(layout, garbage, 3)).toThrow(/^ringSum: statistic .+ is not a sum of 3 encodings$/);
  });
});
