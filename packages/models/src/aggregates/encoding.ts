// Statistic vectors in the ring Z_2^32 of secure aggregation (docs/secure-aggregation.md, "Statistics").
// Statistic i (an integer v, 0 ≤ v ≤ 2^40 − 1) with the party's noise r takes two ring entries:
//   ring[2i]     = (v mod 2^16) + r   (mod 2^32; negative r in two's complement)
//   ring[2i + 1] = floor(v / 2^16)    (< 2^24)
// Summed over P ≤ 128 parties with |r| ≤ 2^30 / 128 each, the high sums stay below 2^31 and the low sums
// in (−2^30, 2^31) — an int32 — so  Σ = high_sum · 2^16 + signed(low_sum)  is exact: Σ v + Σ r.
import { LIMB, resolveLayout, type AggregateLayout } from './layout.js';

/**
 * The ring vector (length layout.ringLength) of one party's statistics plus its noise. RangeError naming
 * the statistic for a value that is not an integer in [0, maxValue] or a noise that is not an integer in
 * [−maxNoiseMagnitude, maxNoiseMagnitude].
 */
export function encodeStatistics(layout: AggregateLayout, values: readonly number[], noise?: ArrayLike<number>): Uint32Array {
  const L = resolveLayout(layout).layout;
  if (!Array.isArray(values)) throw new TypeError('values must be an array of integers');
  const S = L.statisticCount;
  if (values.length !== S) throw new RangeError(`values must hold ${S} statistics, got ${values.length}`);
  if (noise !== undefined) {
    if (typeof noise !== 'object' || noise === null || typeof noise.length !== 'number') throw new TypeError('noise must be an array-like of integers');
    if (noise.length !== S) throw new RangeError(`noise must hold ${S} values, got ${noise.length}`);
  }
  const out = new Uint32Array(L.ringLength);
  for (let i = 0; i < S; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > L.maxValue) {
      throw new RangeError(`values[${i}] (statistic ${L.entries[i]!.name}) must be an integer from 0 to ${L.maxValue}`);
    }
    let r = 0;
    if (noise !== undefined) {
      r = noise[i]!;
      if (typeof r !== 'number' || !Number.isInteger(r) || Math.abs(r) > L.maxNoiseMagnitude) {
        throw new RangeError(`noise[${i}] (statistic ${L.entries[i]!.name}) must be an integer of magnitude at most ${L.maxNoiseMagnitude}`);
      }
    }
    out[2 * i] = ((v % LIMB) + r) >>> 0;
    out[2 * i + 1] = Math.floor(v / LIMB);
  }
  return out;
}

/**
 * The exact sum (noise included) of `parties` encodings from their ring sum. RangeError for parties
 * outside [1, maxParties], and for a ring sum no `parties` valid encodings can produce (e.g. a sum whose
 * masks were not all removed), naming the statistic.
 */
export function decodeStatisticSum(layout: AggregateLayout, ringSum: Uint32Array, parties: number): number[] {
  const L = resolveLayout(layout).layout;
  if (!(ringSum instanceof Uint32Array)) throw new TypeError('ringSum must be a Uint32Array');
  if (ringSum.length !== L.ringLength) throw new RangeError(`ringSum must hold ${L.ringLength} ring entries, got ${ringSum.length}`);
  if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1 || parties > L.maxParties) {
    throw new RangeError(`parties must be an integer from 1 to ${L.maxParties}, got ${String(parties)}`);
  }
  const maxHigh = parties * Math.floor(L.maxValue / LIMB);
  const minLow = -parties * L.maxNoiseMagnitude;
  const maxLow = parties * (LIMB - 1 + L.maxNoiseMagnitude);
  const out = new Array<number>(L.statisticCount);
  for (let i = 0; i < L.statisticCount; i++) {
    const low = ringSum[2 * i]! | 0;
    const high = ringSum[2 * i + 1]!;
    if (high > maxHigh || low < minLow || low > maxLow) {
      throw new RangeError(`ringSum: statistic ${L.entries[i]!.name} is not a sum of ${parties} encodings`);
    }
    out[i] = high * LIMB + low;
  }
  return out;
}
