// Per-transaction features for the federated logistic-regression model. Every feature is computed
// inside the enclave; cross-partition ones (chain strength, link found) use the linked view.
import { CHANNEL_CARD, CHANNEL_CASH, DAY, HOUR, median, type Dataset } from './dataset.js';
import type { Evidence } from './detectors.js';
import type { Flows } from './flows.js';

export const FEATURE_NAMES = Object.freeze([
  'bias',
  'log10_amount_over_6',
  'near_reporting_threshold',
  'channel_cash',
  'channel_wire',
  'channel_card',
  'foreign_country',
  'direction_credit',
  'pass_through_quality',
  'chain_strength_over_4',
  'structuring_evidence',
  'days_since_previous_over_365',
  'log10_amount_over_account_median_over_3',
  'log10_account_records_over_4',
  'transfer_linked_both_sides',
  'night_utc',
]);
export const FEATURE_COUNT = FEATURE_NAMES.length;

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** Row-major n x FEATURE_COUNT matrix. */
export function extractFeatures(d: Dataset, flows: Flows, ev: Evidence): Float64Array {
  const D = FEATURE_COUNT;
  const X = new Float64Array(d.n * D);
  const prevGap = new Float64Array(d.n);
  const accountMedian = new Float64Array(d.accountCount);
  const accountSize = new Int32Array(d.accountCount);
  const homeCountry = new Int32Array(d.accountCount).fill(-1);
  for (let a = 0; a < d.accountCount; a++) {
    const s = d.accountStart[a]!;
    const e = d.accountStart[a + 1]!;
    if (e === s) continue;
    accountSize[a] = e - s;
    const amounts = new Float64Array(e - s);
    const countryVotes = new Map<number, number>();
    for (let k = s; k < e; k++) {
      const rec = d.accountRecords[k]!;
      amounts[k - s] = d.amount[rec]!;
      countryVotes.set(d.country[rec]!, (countryVotes.get(d.country[rec]!) ?? 0) + 1);
      prevGap[rec] = k === s ? 0 : (d.time[rec]! - d.time[d.accountRecords[k - 1]!]!) / DAY;
    }
    accountMedian[a] = median(amounts);
    let best = -1;
    let votes = -1;
    for (const [c, v] of countryVotes) if (v > votes || (v === votes && c < best)) [best, votes] = [c, v];
    homeCountry[a] = best;
  }
  const threshold = 10_000;
  for (let i = 0; i < d.n; i++) {
    const o = i * D;
    const a = d.account[i]!;
    const amount = d.amount[i]!;
    const node = flows.nodeOfRecord[i]!;
    X[o] = 1;
    X[o + 1] = clamp(Math.log10(amount + 1) / 6, 0, 1.5);
    X[o + 2] = amount >= 0.9 * threshold && amount < threshold ? 1 : 0;
    X[o + 3] = d.channel[i] === CHANNEL_CASH ? 1 : 0;
    X[o + 4] = d.channel[i] === 0 ? 1 : 0;
    X[o + 5] = d.channel[i] === CHANNEL_CARD ? 1 : 0;
    X[o + 6] = d.country[i] !== homeCountry[a] ? 1 : 0;
    X[o + 7] = d.credit[i]!;
    X[o + 8] = ev.passThroughQuality[i]!;
    X[o + 9] = clamp(flows.strength[node]! / 4, 0, 1);
    X[o + 10] = ev.structuring[i]!;
    X[o + 11] = clamp(prevGap[i]! / 365, 0, 1);
    X[o + 12] = clamp(Math.log10(amount / Math.max(accountMedian[a]!, 0.01)) / 3, -1, 1);
    X[o + 13] = clamp(Math.log10(accountSize[a]! + 1) / 4, 0, 1.5);
    X[o + 14] = flows.nodeOut[node]! >= 0 && flows.nodeIn[node]! >= 0 ? 1 : 0;
    const hour = Math.floor((((d.time[i]! % DAY) + DAY) % DAY) / HOUR);
    X[o + 15] = hour < 6 ? 1 : 0;
  }
  return X;
}
