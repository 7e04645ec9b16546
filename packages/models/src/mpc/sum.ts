// The use-case models under `mpc` (DESIGN §7, docs/mpc.md), the client side of a sum program: one party's
// integer statistic vector (computeStatistics with the model's aggregate layout), encoded at scale 0 and
// Shamir-shared to the compute nodes, which add the parties' vectors and open the sum to the enclave only.
// The program itself (@tenzro/protocol mpcSumProgram) takes the same range: an integer in [0, 2^40] per
// statistic; models does not depend on protocol, so the bounds are repeated here and pinned by a test.
//
// Values are refused, never clipped or rounded: a non-integer, a negative value or one above 2^40 is a
// RangeError naming its index (the codec alone would round a fraction).
import { createMpcCodec, randomBytes, shareVector, type MpcCodec, type RandomSource, type ShareVector } from '@tenzro/crypto';
import type { AggregateLayout } from '../aggregates/layout.js';
import type { MpcStatisticSharing } from './statistics.js';

/** Scale of a sum program's inputs: integers. */
export const MPC_SUM_STATISTIC_SCALE = 0;
/** Largest statistic one party contributes (inclusive); the use-case statistics are < 2^40. */
export const MPC_SUM_STATISTIC_MAX = 2 ** 40;

/** The codec of a sum program's inputs: scale 0, range [0, 2^40] (encode refuses a value outside it). */
export const mpcSumCodec: MpcCodec = createMpcCodec({ scale: MPC_SUM_STATISTIC_SCALE, min: 0, max: MPC_SUM_STATISTIC_MAX });

/**
 * One party's statistic vector for a sum program, encoded (mpcSumCodec) and Shamir-shared: one ShareVector
 * per compute node, x = 1..totalParties. `values` is `computeStatistics(layout, records)`: one integer in
 * [0, 2^40] per statistic of `layout`. `random` defaults to the platform CSPRNG.
 * @throws TypeError for a wrong type; RangeError for a wrong length, a non-integer or an out-of-range value
 *   (naming its index, never the value), or a bad sharing.
 */
export function mpcSumVector(
  layout: Pick<AggregateLayout, 'id' | 'statisticCount'>,
  values: readonly number[],
  sharing: MpcStatisticSharing,
  random: RandomSource = randomBytes,
): ShareVector[] {
  if (typeof layout !== 'object' || layout === null) throw new TypeError('layout must be an aggregate layout');
  if (!Number.isInteger(layout.statisticCount) || layout.statisticCount < 1) throw new TypeError('layout.statisticCount must be a positive integer');
  if (!Array.isArray(values)) throw new TypeError('values must be an array of integers');
  if (values.length !== layout.statisticCount) {
    throw new RangeError(`values must hold ${layout.statisticCount} statistics (layout ${layout.id}), got ${values.length}`);
  }
  values.forEach((value, i) => {
    if (typeof value !== 'number') throw new TypeError(`values[${i}] must be a number`);
    if (!Number.isInteger(value)) throw new RangeError(`values[${i}] is not an integer`);
    if (value < 0 || value > MPC_SUM_STATISTIC_MAX) throw new RangeError(`values[${i}] is outside the declared range [0, 2^40]`);
  });
  if (typeof sharing !== 'object' || sharing === null) throw new TypeError('sharing must be an object');
  const encoded = mpcSumCodec.encode(values);
  try {
    return shareVector(encoded, { threshold: sharing.threshold, parties: sharing.totalParties }, random);
  } finally {
    encoded.residues.fill(0);
  }
}
