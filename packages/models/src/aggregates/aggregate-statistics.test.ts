// The statistic vector of risk-analyzer-v2/aggregates/v1 (docs/secure-aggregation.md, "Statistics"):
// layout shape and sensitivities from the per-record bounds, each party's statistics against a plain
// recomputation, pooled sums against a pooled computation, refusals, and speed.
import { describe, expect, it } from 'vitest';
import { buildDataset } from '../dataset.js';
import { DETECTOR_PARAMETERS, detect, detectorScore } from '../detectors.js';
import { FEATURE_COUNT, FEATURE_NAMES, extractFeatures } from '../features.js';
import { analyseFlows } from '../flows.js';
import { aggregateLayoutOf, computeStatistics, generateDemoData, getModel, type TransactionRecord } from '../index.js';

const layout = aggregateLayoutOf('risk-analyzer-v2')!;
const BANKS = ['bankA', 'bankB', 'bankC'];
const data = generateDemoData({ banks: BANKS, recordsPerBank: 5000, seed: 20240601 });
const index = new Map(layout.entries.map((e, i) => [e.name, i]));
const at = (values: number[], name: string): number => {
  const i = index.get(name);
  if (i === undefined) throw new Error(`no statistic ${name}`);
  return values[i]!;
};
const sumVectors = (vs: number[][]): number[] => vs[0]!.map((_, i) => vs.reduce((s, v) => s + v[i]!, 0));

describe('layout risk-analyzer-v2/aggregates/v1', () => {
  it('is the model layout, a few hundred named statistics', () => {
    expect(layout.id).toBe('risk-analyzer-v2/aggregates/v1');
    expect(layout.modelId).toBe('risk-analyzer-v2');
    expect(layout.scale).toBe(256);
    expect(layout.statisticCount).toBe(layout.entries.length);
    expect(layout.statisticCount).toBeLessThanOrEqual(300);
    expect(new Set(layout.entries.map((e) => e.name)).size).toBe(layout.statisticCount);
    expect(new Set(layout.entries.map((e) => e.kind))).toEqual(new Set(['count', 'sum', 'sum_squares', 'cross_product', 'histogram']));
    expect(layout.features.map((f) => f.name)).toEqual(FEATURE_NAMES.slice(1));
    expect(aggregateLayoutOf('gpt-5')).toBeUndefined();
    expect(Object.isFrozen(layout) && Object.isFrozen(layout.entries)).toBe(true);
    expect(getModel('risk-analyzer-v2')!.methods).toContain('secure_aggregation');
  });

  it('derives l1 / l2 from the per-record bounds (one bin per histogram group)', () => {
    let l1 = 0;
    let l2 = 0;
    const groups = new Map<string, number>();
    for (const e of layout.entries) {
      if (e.group) groups.set(e.group, Math.max(groups.get(e.group) ?? 0, e.perRecordMax));
      else {
        l1 += e.perRecordMax;
        l2 += e.perRecordMax ** 2;
      }
    }
    for (const v of groups.values()) {
      l1 += v;
      l2 += v ** 2;
    }
    expect(layout.l1Sensitivity).toBe(l1);
    expect(layout.l2Sensitivity).toBeCloseTo(Math.sqrt(l2), 9);
    // Bounds: a count is one scale unit, a sum of squares of the [-1, 1] feature (shifted to [0, 2]) four.
    expect(at(layout.entries.map((e) => e.perRecordMax), 'count:records')).toBe(256);
    expect(at(layout.entries.map((e) => e.perRecordMax), 'sum_squares:log10_amount_over_account_median_over_3')).toBe(4 * 256);
    expect(at(layout.entries.map((e) => e.perRecordMax), 'cross_product:log10_amount_over_6*log10_account_records_over_4')).toBe(2.25 * 256);
    // The largest statistic of a full party stays below 2^40.
    expect(Math.max(...layout.entries.map((e) => e.perRecordMax)) * layout.maxRecordsPerParty).toBeLessThanOrEqual(layout.maxValue);
  });
});

/** Plain recomputation: each entry from its name, over one party's own feature rows. */
function plainStatistics(records: TransactionRecord[]): number[] {
  const d = buildDataset([{ partyId: 'p', records }]);
  const flows = analyseFlows(d);
  const ev = detect(d, flows);
  const X = extractFeatures(d, flows, ev);
  const thr = DETECTOR_PARAMETERS.flagThreshold;
  const bands: Record<string, [number, number]> = {
    under_10: [0, 10], '10_to_100': [10, 100], '100_to_1k': [100, 1e3], '1k_to_10k': [1e3, 1e4],
    '10k_to_100k': [1e4, 1e5], '100k_to_1m': [1e5, 1e6], '1m_and_over': [1e6, Infinity],
  };
  const column = (name: string, i: number): number => {
    const f = FEATURE_NAMES.indexOf(name);
    if (f > 0) return X[i * FEATURE_COUNT + f]! - (name === 'log10_amount_over_account_median_over_3' ? -1 : 0);
    const r = records[i]!;
    if (name === 'labelled') return r.label ? 1 : 0;
    if (name === 'fraud') return r.label === 'fraud' ? 1 : 0;
    if (name === 'channel_ach' || name === 'channel_internal') return r.channel === name.slice(8) ? 1 : 0;
    if (name === 'flagged_locally') return detectorScore(ev, i) >= thr ? 1 : 0;
    if (name === 'structuring_flagged') return ev.structuring[i]! >= thr ? 1 : 0;
    if (name === 'dormant_flagged') return ev.dormant[i]! >= thr ? 1 : 0;
    if (name === 'chain_flagged') return ev.chain[i]! >= thr ? 1 : 0;
    if (name.startsWith('amount_')) {
      const [lo, hi] = bands[name.slice(7)]!;
      return r.amount >= lo && r.amount < hi ? 1 : 0;
    }
    const hour = new Date(r.timestamp).getUTCHours();
    const m = /^hour_(\d\d)_(\d\d)$/.exec(name);
    if (m) return hour >= Number(m[1]) && hour < Number(m[2]) ? 1 : 0;
    if (name === 'records') return 1;
    throw new Error(`unknown column ${name}`);
  };
  return layout.entries.map((e) => {
    // 'kind:filter*a*b'; a sum_squares entry names its feature once.
    const cols = e.name.slice(e.name.indexOf(':') + 1).split('*');
    if (e.kind === 'sum_squares') cols.push(cols[cols.length - 1]!);
    let total = 0;
    for (let i = 0; i < d.n; i++) {
      let q = 1;
      for (const c of cols) q *= column(c, i);
      total += Math.round(256 * q);
    }
    return total;
  });
}

describe('statistics of one party (its own records only)', () => {
  const perBank = BANKS.map((b) => computeStatistics(layout, data.partitions[b]!));

  it('equal a plain recomputation from the same feature code, entry by entry', () => {
    BANKS.forEach((b, k) => expect(perBank[k]).toEqual(plainStatistics(data.partitions[b]!)));
  });

  it('are integers in [0, maxValue]', () => {
    for (const v of perBank.flat()) expect(Number.isSafeInteger(v) && v >= 0 && v <= layout.maxValue).toBe(true);
  });

  it('pooled: Σ over banks equals a pooled computation of the record-local, additive entries', () => {
    const pooled = sumVectors(perBank);
    const all = BANKS.flatMap((b) => data.partitions[b]!);
    const count = (pred: (r: TransactionRecord) => boolean): number => 256 * all.filter(pred).length;
    const near = (r: TransactionRecord): boolean => r.amount >= 9000 && r.amount < 10_000;
    const night = (r: TransactionRecord): boolean => new Date(r.timestamp).getUTCHours() < 6;
    expect(at(pooled, 'count:records')).toBe(count(() => true));
    expect(at(pooled, 'count:labelled')).toBe(count((r) => r.label !== undefined));
    expect(at(pooled, 'count:fraud')).toBe(count((r) => r.label === 'fraud'));
    for (const ch of ['wire', 'ach', 'card', 'cash', 'internal']) expect(at(pooled, `count:channel_${ch}`)).toBe(count((r) => r.channel === ch));
    expect(at(pooled, 'count:direction_credit')).toBe(count((r) => r.direction === 'credit'));
    expect(at(pooled, 'count:near_reporting_threshold')).toBe(count(near));
    expect(at(pooled, 'count:night_utc')).toBe(count(night));
    expect(at(pooled, 'cross_product:near_reporting_threshold*channel_cash')).toBe(count((r) => near(r) && r.channel === 'cash'));
    expect(at(pooled, 'count:labelled*near_reporting_threshold')).toBe(count((r) => near(r) && r.label !== undefined));
    expect(at(pooled, 'count:fraud*near_reporting_threshold')).toBe(count((r) => near(r) && r.label === 'fraud'));
    expect(at(pooled, 'histogram:amount_1k_to_10k')).toBe(count((r) => r.amount >= 1000 && r.amount < 10_000));
    expect(at(pooled, 'histogram:fraud*amount_10k_to_100k')).toBe(count((r) => r.label === 'fraud' && r.amount >= 10_000 && r.amount < 100_000));
    expect(at(pooled, 'histogram:hour_00_06')).toBe(count(night));
    expect(at(pooled, 'sum:log10_amount_over_6')).toBe(all.reduce((s, r) => s + Math.round(256 * Math.min(1.5, Math.log10(r.amount + 1) / 6)), 0));
    // Identities of the layout hold in the pooled sum too.
    const channels = ['wire', 'ach', 'card', 'cash', 'internal'].reduce((s, ch) => s + at(pooled, `count:channel_${ch}`), 0);
    expect(channels).toBe(at(pooled, 'count:records'));
    const bands = layout.entries.filter((e) => e.group === 'amount').reduce((s, e) => s + at(pooled, e.name), 0);
    expect(bands).toBe(at(pooled, 'count:records'));
  });

  it('see only links inside one party: the pooled within-party links are fewer than the joint linking finds', () => {
    const pooled = sumVectors(perBank);
    const joint = buildDataset(BANKS.map((b) => ({ partyId: b, records: data.partitions[b]! })));
    const flows = analyseFlows(joint);
    const jointLinked = extractFeatures(joint, flows, detect(joint, flows)).filter((_, i) => i % FEATURE_COUNT === FEATURE_NAMES.indexOf('transfer_linked_both_sides')).reduce((s, v) => s + v, 0);
    expect(at(pooled, 'count:transfer_linked_both_sides') / 256).toBe(2 * flows.intraPartyLinks);
    expect(jointLinked).toBe(2 * (flows.intraPartyLinks + flows.interPartyLinks));
    expect(flows.interPartyLinks).toBeGreaterThan(0);
  });

  it('of no records is the zero vector', () => {
    expect(computeStatistics(layout, [])).toEqual(new Array(layout.statisticCount).fill(0));
  });
});

describe('refusals', () => {
  it('more records than maxRecordsPerParty: RangeError, before any work', () => {
    const many = new Array<TransactionRecord>(layout.maxRecordsPerParty + 1);
    expect(() => computeStatistics(layout, many)).toThrow(`records: ${layout.maxRecordsPerParty + 1} records exceed the layout's maxRecordsPerParty (${layout.maxRecordsPerParty})`);
  });

  it('invalid records: TypeError naming index and field, not the value', () => {
    const records = data.partitions.bankA!.slice(0, 10).map((r) => ({ ...r }));
    records[4] = { ...records[4]!, currency: 'SECRET' };
    expect(() => computeStatistics(layout, records)).toThrow('records[4].currency: must be an ISO 4217 code of three uppercase letters');
    expect(() => computeStatistics(layout, 'x' as never)).toThrow(TypeError);
    expect(() => computeStatistics({ ...layout, statisticCount: 3 }, records)).toThrow('layout must be an aggregate layout (aggregateLayoutOf)');
  });
});

describe('speed', () => {
  it('computes 100,000 records in a few seconds at most', () => {
    const big = generateDemoData({ banks: ['bankA'], recordsPerBank: 100_000, seed: 11 });
    const started = performance.now();
    const values = computeStatistics(layout, big.partitions.bankA!);
    const seconds = (performance.now() - started) / 1000;
    expect(at(values, 'count:records')).toBe(256 * 100_000);
    expect(seconds).toBeLessThan(8);
  }, 60_000);
});
