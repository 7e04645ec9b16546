// The statistic vector of compliance-checker-v1: what one participant computes from its own exposures.
// Every value is an integer in [0, 2^40 − 1] that moves by at most SCALE when one exposure is added or
// removed (amounts in units of AMOUNT_UNIT, indicators and counts × SCALE), so every statistic sits on the
// same noise footing.
//
//   sum:amount*sector_<s>              Σ amount units of the exposures in sector s (group 'sector': an
//                                      exposure is in exactly one sector; their sum is the total exposure)
//   sum:amount*high_risk_country       Σ amount units of the exposures to a declared high-risk country
//   count:exposures                    SCALE × number of exposures
//   count:above_threshold              SCALE × exposures with amount ≥ REPORTING_THRESHOLD
//   count:unreported_above_threshold   SCALE × those not reported
//   count:parties_with_unreported      SCALE × [this participant has an unreported one] (one exposure flips it)
//   histogram:parties_single_name_band_<k>
//                                      SCALE × [this participant's largest single-name share is in band k];
//                                      one exposure can move the participant between two bands, so the
//                                      bands are declared WITHOUT a group (each counts in the sensitivities)
//   sum:single_name_excess             max(0, L − floor(T × limit)): the participant's largest single-name
//                                      exposure L above the limit share of its total T. One exposure of u
//                                      units moves L by at most u and T by u, hence this by at most u ≤ SCALE.
//
// The per-participant entries are values a participant computes locally from its own book; summed, they
// count participants (in breach, per band) without anyone learning which.
import { MAX_RECORDS } from '../../schema.js';
import type { StatisticDeclaration } from '../contract.js';
import type { ExposureRecord } from './schema.js';
import {
  HIGH_RISK_COUNTRIES,
  MAX_AMOUNT,
  REPORTING_THRESHOLD,
  SCALE,
  SECTORS,
  SINGLE_NAME_BAND_EDGES_PERCENT,
  allowedPart,
  amountUnits,
  exceedsLimit,
  limitOf,
  type Sector,
} from './rules.js';

/** Largest value of one statistic of one party (the aggregation encodings' limit). */
export const MAX_PARTY_STATISTIC = 2 ** 40 - 1;

/** Bands of the largest single-name share: [0, e1], (e1, e2], …, (e_last, 100]. */
export const SINGLE_NAME_BANDS: readonly { readonly fromPercent: number; readonly toPercent: number }[] = Object.freeze(
  [0, ...SINGLE_NAME_BAND_EDGES_PERCENT].map((from, k) => Object.freeze({ fromPercent: from, toPercent: SINGLE_NAME_BAND_EDGES_PERCENT[k] ?? 100 })),
);

export const statisticNames = {
  sector: (s: Sector): string => `sum:amount*sector_${s}`,
  highRisk: 'sum:amount*high_risk_country',
  exposures: 'count:exposures',
  aboveThreshold: 'count:above_threshold',
  unreported: 'count:unreported_above_threshold',
  partiesWithUnreported: 'count:parties_with_unreported',
  band: (k: number): string => `histogram:parties_single_name_band_${k}`,
  excess: 'sum:single_name_excess',
} as const;

export const COMPLIANCE_STATISTICS: readonly StatisticDeclaration[] = Object.freeze([
  ...SECTORS.map((s) => ({ name: statisticNames.sector(s), kind: 'sum' as const, perRecordMax: SCALE, group: 'sector' })),
  { name: statisticNames.highRisk, kind: 'sum' as const, perRecordMax: SCALE },
  { name: statisticNames.exposures, kind: 'count' as const, perRecordMax: SCALE },
  { name: statisticNames.aboveThreshold, kind: 'count' as const, perRecordMax: SCALE },
  { name: statisticNames.unreported, kind: 'count' as const, perRecordMax: SCALE },
  { name: statisticNames.partiesWithUnreported, kind: 'count' as const, perRecordMax: SCALE },
  ...SINGLE_NAME_BANDS.map((_, k) => ({ name: statisticNames.band(k), kind: 'histogram' as const, perRecordMax: SCALE })),
  { name: statisticNames.excess, kind: 'sum' as const, perRecordMax: SCALE },
].map((d) => Object.freeze(d)));

const HIGH_RISK: ReadonlySet<string> = new Set(HIGH_RISK_COUNTRIES);
const SECTOR_INDEX: ReadonlyMap<string, number> = new Map(SECTORS.map((s, i) => [s, i]));

/** One participant's book, as the rules see it (amounts in units of AMOUNT_UNIT). Private to the participant. */
export interface ParticipantBook {
  readonly exposures: number;
  readonly total: number;
  readonly sectorTotals: readonly number[];
  readonly highRisk: number;
  readonly aboveThreshold: number;
  /** Indices (into the records) of the unreported exposures at or above the threshold. */
  readonly unreportedIndices: readonly number[];
  /** The largest single-name exposure and its counterparty (null for an empty book). */
  readonly largest: { readonly counterpartyId: string; readonly units: number } | null;
  /** Band index of largest / total, or null when total is 0. */
  readonly band: number | null;
  readonly singleNameBreach: boolean;
  /** max(0, largest − floor(total × limit)). */
  readonly excess: number;
}

/** The participant's book from its own records; RangeError naming the record and field when one is out of bounds. */
export function participantBook(records: readonly ExposureRecord[]): ParticipantBook {
  if (!Array.isArray(records as unknown)) throw new TypeError('records must be an array');
  if (records.length > MAX_RECORDS) throw new RangeError(`records must hold at most ${MAX_RECORDS} exposures`);
  const sectorTotals = new Array<number>(SECTORS.length).fill(0);
  const byCounterparty = new Map<string, number>();
  let highRisk = 0;
  let aboveThreshold = 0;
  const unreportedIndices: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (typeof r !== 'object' || r === null) throw new TypeError(`records[${i}] must be an exposure record`);
    const { amount } = r;
    if (typeof amount !== 'number' || !(amount > 0 && amount <= MAX_AMOUNT)) throw new RangeError(`records[${i}].amount must be in (0, ${MAX_AMOUNT}]`);
    const sector = SECTOR_INDEX.get(r.sector);
    if (sector === undefined) throw new RangeError(`records[${i}].sector is not a declared sector`);
    if (typeof r.counterpartyId !== 'string') throw new TypeError(`records[${i}].counterpartyId must be a string`);
    if (typeof r.country !== 'string') throw new TypeError(`records[${i}].country must be a string`);
    if (typeof r.reported !== 'boolean') throw new TypeError(`records[${i}].reported must be a boolean`);
    const units = amountUnits(amount);
    sectorTotals[sector]! += units;
    if (HIGH_RISK.has(r.country)) highRisk += units;
    byCounterparty.set(r.counterpartyId, (byCounterparty.get(r.counterpartyId) ?? 0) + units);
    if (amount >= REPORTING_THRESHOLD) {
      aboveThreshold++;
      if (!r.reported) unreportedIndices.push(i);
    }
  }
  const total = sectorTotals.reduce((a, b) => a + b, 0);
  let largest: { counterpartyId: string; units: number } | null = null;
  for (const [counterpartyId, units] of byCounterparty) {
    if (largest === null || units > largest.units) largest = { counterpartyId, units };
  }
  const limit = limitOf('single_name_concentration');
  let band: number | null = null;
  if (largest !== null && total > 0) {
    band = SINGLE_NAME_BANDS.findIndex((b) => !exceedsLimit(largest.units, total, b.toPercent * 100));
  }
  const singleNameBreach = largest !== null && total > 0 && exceedsLimit(largest.units, total, limit);
  const excess = largest === null ? 0 : Math.max(0, largest.units - allowedPart(total, limit));
  return { exposures: records.length, total, sectorTotals, highRisk, aboveThreshold, unreportedIndices, largest, band, singleNameBreach, excess };
}

/** One participant's statistic vector (declaration order) from its own valid records. */
export function complianceStatistics(records: readonly ExposureRecord[]): number[] {
  const book = participantBook(records);
  const values: number[] = [
    ...book.sectorTotals,
    book.highRisk,
    SCALE * book.exposures,
    SCALE * book.aboveThreshold,
    SCALE * book.unreportedIndices.length,
    book.unreportedIndices.length > 0 ? SCALE : 0,
    ...SINGLE_NAME_BANDS.map((_, k) => (book.band === k ? SCALE : 0)),
    book.excess,
  ];
  const n = records.length;
  values.forEach((v, i) => {
    const d = COMPLIANCE_STATISTICS[i]!;
    if (!Number.isSafeInteger(v) || v < 0 || v > d.perRecordMax * n || v > MAX_PARTY_STATISTIC) {
      throw new RangeError(`statistic ${d.name} is outside [0, min(perRecordMax × records, 2^40 − 1)]`);
    }
  });
  return values;
}
