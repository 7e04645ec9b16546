// One party's statistic vector (docs/secure-aggregation.md, "Statistics"): the layout's integer sums over
// the party's own records, computed with the feature code the enclave runs in federated runs
// (dataset.ts → flows.ts → detectors.ts → features.ts), on this party's records alone. Links, chains and
// structuring episodes are therefore those inside the party; nothing here sees another party's data.
//
// Values are refused, never clipped: more records than maxRecordsPerParty, a feature outside its
// declared bounds or a sum above maxValue is a RangeError naming the statistic (or feature).
import { CHANNEL_CODES, DAY, HOUR, buildDataset } from '../dataset.js';
import { detect, detectorScore } from '../detectors.js';
import { FEATURE_COUNT, extractFeatures } from '../features.js';
import { analyseFlows } from '../flows.js';
import { checkTransactionRecords } from '../schema.js';
import type { TransactionRecord } from '../types.js';
import { AMOUNT_BANDS, HOUR_BANDS, LOCAL_FLAG_THRESHOLD, definedStatisticsOf, resolveLayout, type AggregateLayout, type LayoutPlan } from './layout.js';

/**
 * Sums the layout's terms over the risk-analyzer-v2 column row of each record (shifted features,
 * filters labelled / fraud, indicators, bands): Σ round(scale × c1 × c2 × c3) per entry. One row buffer,
 * filled and consumed record by record; an entry whose first column is 0 is skipped.
 */
function riskAnalyzerSums(layout: AggregateLayout, plan: LayoutPlan, records: readonly TransactionRecord[]): Float64Array {
  const d = buildDataset([{ partyId: 'self', records: records as TransactionRecord[] }]);
  const flows = analyseFlows(d);
  const ev = detect(d, flows);
  const F = extractFeatures(d, flows, ev);
  const col = (name: string): number => plan.columnIndex.get(name)!;
  const featureCols = Int32Array.from(layout.features, (f) => col(f.name));
  const [labelled, fraud, ach, internal, flagged, structuring, dormant, chain] = [
    'labelled', 'fraud', 'channel_ach', 'channel_internal', 'flagged_locally', 'structuring_flagged', 'dormant_flagged', 'chain_flagged',
  ].map(col) as [number, number, number, number, number, number, number, number];
  const amountCols = AMOUNT_BANDS.map(([, label]) => col(`amount_${label}`));
  const hourBandCol = new Int32Array(24);
  HOUR_BANDS.forEach(([from, to, label]) => hourBandCol.fill(col(label), from, to));
  const J = featureCols.length;
  const mins = Float64Array.from(layout.features, (f) => f.min);
  const maxs = Float64Array.from(layout.features, (f) => f.max);
  const S = layout.statisticCount;
  const { terms } = plan;
  const scale = layout.scale;
  const acc = new Float64Array(S);
  const row = new Float64Array(plan.columns.length);
  for (let i = 0; i < d.n; i++) {
    row.fill(0);
    row[0] = 1;
    const fo = i * FEATURE_COUNT + 1;
    for (let j = 0; j < J; j++) {
      const x = F[fo + j]!;
      if (!(x >= mins[j]! && x <= maxs[j]!)) {
        const f = layout.features[j]!;
        throw new RangeError(`records[${i}]: feature ${f.name} is outside its declared bounds [${f.min}, ${f.max}]`);
      }
      row[featureCols[j]!] = x - mins[j]!;
    }
    const label = d.label[i]!;
    row[labelled] = label >= 0 ? 1 : 0;
    row[fraud] = label === 1 ? 1 : 0;
    row[ach] = d.channel[i] === CHANNEL_CODES.ach ? 1 : 0;
    row[internal] = d.channel[i] === CHANNEL_CODES.internal ? 1 : 0;
    row[flagged] = detectorScore(ev, i) >= LOCAL_FLAG_THRESHOLD ? 1 : 0;
    row[structuring] = ev.structuring[i]! >= LOCAL_FLAG_THRESHOLD ? 1 : 0;
    row[dormant] = ev.dormant[i]! >= LOCAL_FLAG_THRESHOLD ? 1 : 0;
    row[chain] = ev.chain[i]! >= LOCAL_FLAG_THRESHOLD ? 1 : 0;
    const amount = d.amount[i]!;
    let band = 0;
    while (amount >= AMOUNT_BANDS[band]![0]) band++;
    row[amountCols[band]!] = 1;
    row[hourBandCol[Math.floor((((d.time[i]! % DAY) + DAY) % DAY) / HOUR)]!] = 1;
    for (let e = 0, t = 0; e < S; e++, t += 3) {
      const a = row[terms[t]!]!;
      if (a === 0) continue;
      const q = a * row[terms[t + 1]!]! * row[terms[t + 2]!]!;
      if (q !== 0) acc[e]! += Math.round(scale * q);
    }
  }
  return acc;
}

/** The sums as integers, each checked against maxValue (refused, never clipped). */
function checkedValues(layout: AggregateLayout, acc: Float64Array): number[] {
  const out = new Array<number>(layout.statisticCount);
  for (let e = 0; e < layout.statisticCount; e++) {
    const v = acc[e]!;
    if (!Number.isSafeInteger(v) || v < 0 || v > layout.maxValue) {
      throw new RangeError(`statistic ${layout.entries[e]!.name} exceeds the layout's maxValue (${layout.maxValue})`);
    }
    out[e] = v;
  }
  return out;
}

/**
 * The party's integer statistics in layout order, from its own records: valid transaction_records_v1 records
 * for risk-analyzer-v2's layout; for a use-case model's layout, records of that model's schema, turned into
 * the vector by its spec's `partyStatistics` (use-cases/kit.ts).
 * TypeError for records that are not valid (naming index and field, never the value); RangeError for more
 * than layout.maxRecordsPerParty records or a value above its bound.
 */
export function computeStatistics(layout: AggregateLayout, records: readonly unknown[]): number[] {
  const known = resolveLayout(layout);
  const useCase = definedStatisticsOf(known.layout.id);
  if (useCase !== undefined) return useCase(records);
  if (!Array.isArray(records)) throw new TypeError('records must be an array of transaction records');
  const L = known.layout;
  if (records.length > L.maxRecordsPerParty) {
    throw new RangeError(`records: ${records.length} records exceed the layout's maxRecordsPerParty (${L.maxRecordsPerParty})`);
  }
  const check = checkTransactionRecords(records);
  if (!check.ok) {
    const e = check.errors[0]!;
    throw new TypeError(`records[${e.index}]${e.field ? `.${e.field}` : ''}: ${e.message}`);
  }
  return checkedValues(L, riskAnalyzerSums(L, known.plan, records as readonly TransactionRecord[]));
}
