// risk-analyzer-v2 under `mpc` (DESIGN §7), the client side: the statistics the compute nodes' program
// (@tenzro/protocol mpc/program, risk-analyzer-v2.ts) needs, taken from the secure-aggregation layout
// (aggregates/layout.ts) of ONE party's records, as reals, encoded with the fixed-point codec and
// Shamir-shared to the compute nodes. Models does not depend on protocol: the program holds its own copy
// of MPC_STATISTIC_NAMES and a protocol test pins the two lists together.
//
// Values: each layout statistic is an integer Σ round(256 · q) ≤ 2^40 − 1, so statistic / 256 is a real in
// [0, 2^32) that the codec at scale 8 encodes exactly (no encoding error).
import { createMpcCodec, randomBytes, shareVector, type MpcCodec, type ShareVector } from '@tenzro/crypto';
import type { TransactionRecord } from '../types.js';
import { RISK_ANALYZER_LAYOUT, pairName, singleName, squareName } from '../aggregates/layout.js';
import { computeStatistics } from '../aggregates/statistics.js';

/** Fractional bits of the encoding: the layout's scale 256 = 2^8. */
export const MPC_STATISTIC_SCALE = 8;
/** Largest value of one party's statistic, as a real: (2^40 − 1) / 256 < 2^32. */
export const MPC_STATISTIC_MAX = 2 ** 32;
/** Features of the risk score (label covariances, see the program). */
export const MPC_SCORE_FEATURES = Object.freeze(['near_reporting_threshold', 'structuring_evidence', 'foreign_country']);

function buildNames(): readonly string[] {
  const layout = RISK_ANALYZER_LAYOUT;
  const F = layout.features;
  const names: string[] = ['count:records'];
  for (const f of F) names.push(singleName('', f));
  for (const f of F) if (!f.binary) names.push(squareName('', f));
  for (let a = 0; a < F.length; a++) {
    for (let b = a + 1; b < F.length; b++) {
      const name = pairName('', F[a]!, F[b]!);
      if (name !== undefined) names.push(name);
    }
  }
  names.push('count:labelled', 'count:fraud');
  for (const feature of MPC_SCORE_FEATURES) {
    const f = F.find((x) => x.name === feature)!;
    names.push(singleName('labelled*', f), singleName('fraud*', f));
  }
  const known = new Set(layout.entries.map((e) => e.name));
  for (const n of names) if (!known.has(n)) throw new Error(`mpc statistics: layout has no statistic ${n}`);
  return Object.freeze(names);
}

/**
 * The statistic vector of risk-analyzer-v2 under `mpc`, by layout name, in order: the record count, each
 * feature's sum (a count for a 0/1 feature), the sums of squares of non-binary features, the
 * non-exclusive cross-products, the labelled and fraud counts, and per score feature its labelled and
 * fraud sums.
 */
export const MPC_STATISTIC_NAMES: readonly string[] = buildNames();

/** The codec of one party's statistics: scale 8, range [0, 2^32]. */
export const MPC_STATISTIC_CODEC: MpcCodec = createMpcCodec({ scale: MPC_STATISTIC_SCALE, min: 0, max: MPC_STATISTIC_MAX });

/** The party's statistics (reals, MPC_STATISTIC_NAMES order) from its own valid records. */
export function mpcStatisticValues(records: TransactionRecord[]): number[] {
  const layout = RISK_ANALYZER_LAYOUT;
  const all = computeStatistics(layout, records); // TypeError / RangeError for bad records, never clipped
  const index = new Map(layout.entries.map((e, i) => [e.name, i]));
  return MPC_STATISTIC_NAMES.map((name) => all[index.get(name)!]! / layout.scale);
}

export interface MpcStatisticSharing {
  /** Nodes needed to reconstruct, 2..totalParties. */
  threshold: number;
  /** Compute nodes (Shamir x = 1..totalParties). */
  totalParties: number;
}

/**
 * The party's statistic vector, encoded (MPC_STATISTIC_CODEC) and Shamir-shared: one ShareVector per
 * compute node, x = 1..totalParties. `random` defaults to the platform CSPRNG.
 */
export function mpcStatisticVector(records: TransactionRecord[], sharing: MpcStatisticSharing, random = randomBytes): ShareVector[] {
  if (typeof sharing !== 'object' || sharing === null) throw new TypeError('sharing must be an object');
  const values = mpcStatisticValues(records);
  return shareVector(MPC_STATISTIC_CODEC.encode(values), { threshold: sharing.threshold, parties: sharing.totalParties }, random);
}
