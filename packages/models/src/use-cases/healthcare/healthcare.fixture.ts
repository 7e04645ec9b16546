// Test support: a SummedStatistics over healthcare-outcomes-v1's layout, as the kit hands it to analyse().
import type { AggregationMethod } from '../../types.js';
import type { SummedStatistics } from '../contract.js';
import type { Rng } from '../../types.js';
import { HEALTHCARE_SCALE, HEALTHCARE_STATISTICS } from './statistics.js';

export function summedStatistics(
  values: readonly number[],
  options: { parties?: number; noiseStd?: number; method?: AggregationMethod } = {},
): SummedStatistics {
  const index = new Map(HEALTHCARE_STATISTICS.map((d, i) => [d.name, i]));
  return {
    values,
    get(name: string): number {
      const i = index.get(name);
      if (i === undefined) throw new RangeError(`unknown statistic ${name}`);
      return values[i]!;
    },
    parties: options.parties ?? 3,
    noiseStd: options.noiseStd ?? 0,
    scale: HEALTHCARE_SCALE,
    method: options.method ?? 'secure_aggregation',
  };
}

/** Element-wise sum of party vectors. */
export function addVectors(vectors: readonly (readonly number[])[]): number[] {
  return vectors[0]!.map((_, i) => vectors.reduce((s, v) => s + v[i]!, 0));
}

/** `values` plus independent N(0, std²) noise on every statistic (Box-Muller). */
export function withGaussianNoise(values: readonly number[], std: number, rng: Rng): number[] {
  return values.map((v) => {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    return v + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  });
}
