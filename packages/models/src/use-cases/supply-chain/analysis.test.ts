// The sum-based analysis of supply-chain-optimizer-v1 against the exact pooled optimum on plaintext
// (plan.ts): the stated banding bound on the demo and over random documents, group cost ≤ siloed cost,
// the release policy, no vendor value in the shared findings, robustness to noise, and each vendor's
// private allocation.
import { describe, expect, it } from 'vitest';
import { checkRelease } from '../../release.js';
import { formatInt, round } from '../../report.js';
import { seededRng } from '../../rng.js';
import type { Aggregate, ModelOutput, Rng } from '../../types.js';
import type { AggregationMethod } from '../../types.js';
import type { SummedStatistics, UseCaseAnalysis } from '../contract.js';
import { supplyChainPrivateFindings, type LineAllocation } from './allocation.js';
import { analyseSupplyChain, formatMoney, type SkuFindings, type SupplyChainFindings } from './analysis.js';
import { SCALE, SKU_CATALOGUE, SKU_IDS } from './catalogue.js';
import { evaluateSupplyChainDemo, generateSupplyChainDemo } from './demo.js';
import { exactPooledPlan } from './plan.js';
import type { SupplyChainLine } from './schema.js';
import { SUPPLY_CHAIN_STATISTICS, SUPPLY_CHAIN_STATISTIC_COUNT, supplyChainPartyStatistics } from './statistics.js';

type Partitions = { partyId: string; records: SupplyChainLine[] }[];

function vectorSum(partitions: Partitions): number[] {
  const sum = new Array<number>(SUPPLY_CHAIN_STATISTIC_COUNT).fill(0);
  for (const p of partitions) supplyChainPartyStatistics(p.records).forEach((x, i) => (sum[i]! += x));
  return sum;
}

function summed(values: readonly number[], parties: number, noiseStd = 0, method: AggregationMethod = 'secure_aggregation'): SummedStatistics {
  return {
    values,
    get: (name) => values[SUPPLY_CHAIN_STATISTICS.findIndex((d) => d.name === name)]!,
    parties,
    noiseStd,
    scale: SCALE,
    method,
  };
}

const analyse = (partitions: Partitions, method: AggregationMethod = 'federated'): UseCaseAnalysis =>
  analyseSupplyChain(summed(vectorSum(partitions), partitions.length, 0, method));
const findingsOf = (a: UseCaseAnalysis): SupplyChainFindings => a.findings as unknown as SupplyChainFindings;
const statsOf = (f: SupplyChainFindings, sku: string): SkuFindings | null => f.skus[sku]!.stats as SkuFindings | null;

function gaussian(rng: Rng): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}
const withNoise = (values: readonly number[], std: number, seed: number): number[] => {
  const rng = seededRng(seed);
  return values.map((v) => v + std * gaussian(rng));
};

/** Releases through the policy of release.ts (aggregates and count fields; no transaction ids here). */
function released(a: UseCaseAnalysis): boolean {
  const output = { shared: { content: a.content, findings: a.findings }, privateFindings: {}, privacy: { mechanism: 'none' } } as unknown as ModelOutput;
  const r = checkRelease(output, [], { minGroupSize: 3 });
  if (!r.ok) throw new Error(r.violations.join('\n'));
  return true;
}

/** Random valid documents: 2 to 6 vendors, random SKU subsets, band edges, costs at or above spot, extremes. */
function randomPartitions(seed: number): Partitions {
  const rng = seededRng(seed);
  const int = (n: number): number => Math.floor(rng.nextFloat() * n);
  const vendors = 2 + int(5);
  return Array.from({ length: vendors }, (_, v) => {
    const records: SupplyChainLine[] = [];
    SKU_CATALOGUE.forEach(({ sku, spotPrice }, k) => {
      if (rng.nextFloat() < 0.25) return;
      const units = (): number => [0, int(50_000), int(1_000_001), 1 + int(100)][int(4)]!;
      const roll = rng.nextFloat();
      const ratio = roll < 0.15 ? int(11) / 10 : roll < 0.25 ? 1 + rng.nextFloat() * 2 : 0.01 + rng.nextFloat() * 0.99;
      const unitCost = Math.min(Math.round(3 * spotPrice * 100) / 100, Math.max(0.01, Math.round(ratio * spotPrice * 100) / 100));
      records.push({ lineId: `s${seed}-v${v}-k${k}`, sku, demandUnits: units(), capacityUnits: units(), unitCost, leadTimeDays: int(366) });
    });
    return { partyId: `vendor${v}`, records };
  });
}

/** Largest effect of rounding on one SKU's siloed or group cost, CURRENCY (as analysis.ts states it). */
const roundingOf = (sku: string, vendors: number): number => (vendors * SKU_CATALOGUE[SKU_IDS.indexOf(sku)]!.spotPrice) / SCALE + 0.01;

function expectWithinBandingBound(partitions: Partitions): void {
  const a = analyse(partitions);
  const f = findingsOf(a);
  const exact = exactPooledPlan(partitions);
  for (const x of exact.skus) {
    const agg = f.skus[x.sku]!;
    if (x.vendors === 0) expect(agg).toEqual({ count: 0, suppressed: false, stats: null });
    else if (!x.released) expect(agg).toEqual({ count: null, suppressed: true, stats: null });
    if (!x.released) continue;
    const s = agg.stats as unknown as SkuFindings;
    const r = roundingOf(x.sku, x.vendors);
    expect(agg.count).toBe(x.vendors);
    expect(s.pooledDemandUnits).toBe(x.demandUnits);
    expect(s.subSpotCapacityUnits).toBe(x.subSpotCapacityUnits);
    expect(s.shortfallUnits).toBe(x.shortfallUnits);
    expect(s.bottleneck).toBe(x.bottleneck);
    expect(Math.abs(s.siloedCost - x.siloedCost)).toBeLessThanOrEqual(r);
    expect(s.groupCost).toBeLessThanOrEqual(s.siloedCost);
    expect(s.groupCost).toBeGreaterThanOrEqual(x.pooledCost - r);
    expect(s.groupCost).toBeLessThanOrEqual(x.pooledCost + s.bandingErrorBound + r);
  }
  expect(f.bottlenecks).toEqual(exact.bottlenecks);
  expect(f.totals.groupCost).toBeLessThanOrEqual(f.totals.siloedCost);
  expect(f.totals.gain).toBeGreaterThanOrEqual(0);
  expect(Math.abs(f.totals.gain - exact.gain)).toBeLessThanOrEqual(f.error.gainTolerance);
  expect(f.totals.groupCost - exact.pooledCost).toBeLessThanOrEqual(f.error.bandingBound + f.error.roundingBound);
  expect(released(a)).toBe(true);
}

describe('supply-chain analysis vs the exact pooled optimum', () => {
  it('recovers the demo: planted bottlenecks, gain within the stated bound', () => {
    const demo = generateSupplyChainDemo();
    const a = analyse(demo.partitions);
    const f = findingsOf(a);
    expect(f.bottlenecks).toEqual(demo.truth.plantedBottlenecks);
    expect(f.bottlenecks).toEqual(['SKU-07', 'SKU-11']);
    const e = evaluateSupplyChainDemo(demo.truth, a.findings);
    expect(e.recovered).toBe(true);
    expect(e.figures).toMatchObject({ bottlenecks: 'SKU-07, SKU-11', bottlenecksRecovered: true, gainRecovered: true });
    // Three vendors: every SKU's supply curve is one group of three lines (supply-curve.ts), so the plan
    // makes the same share of every line, well short of the exact optimum's 22.66 %; the bound covers it.
    expect(e.figures.gainPercent).toBeGreaterThan(5);
    expect(Math.abs(e.figures.gainError as number)).toBeLessThanOrEqual(e.figures.gainTolerance as number);
    expect(a.content).toContain(`a gain of ${formatMoney(f.totals.gain)} USD (${f.totals.gainPercent}%)`);
    expect(a.content).toContain('Bottlenecks: SKU-07 plastic enclosure');
    expectWithinBandingBound(demo.partitions);
  });

  it('stays within the banding bound on the demo of many seeds and on random documents', () => {
    for (let seed = 1; seed <= 15; seed++) {
      const demo = generateSupplyChainDemo({ seed });
      expect(evaluateSupplyChainDemo(demo.truth, analyse(demo.partitions).findings).recovered).toBe(true);
      expectWithinBandingBound(demo.partitions);
    }
    for (let seed = 100; seed < 160; seed++) expectWithinBandingBound(randomPartitions(seed));
  });

  it('attains the bound of a one-band cutoff group of three lines: half its capacity at each edge', () => {
    // Spot 4.50; band 4 ([1.80, 2.25)) holds 100 units at 1.80 and 2 × 50 at 2.24; d needs 100 and supplies nothing.
    const line = (lineId: string, demandUnits: number, capacityUnits: number, unitCost: number): SupplyChainLine => ({
      lineId, sku: 'SKU-01', demandUnits, capacityUnits, unitCost, leadTimeDays: 10,
    });
    const partitions = [
      { partyId: 'a', records: [line('line-a1', 0, 100, 1.8)] },
      { partyId: 'b', records: [line('line-b1', 0, 50, 2.24)] },
      { partyId: 'c', records: [line('line-c1', 0, 50, 2.24)] },
      { partyId: 'd', records: [line('line-d1', 100, 0, 4.2)] },
    ];
    const s = statsOf(findingsOf(analyse(partitions)), 'SKU-01')!;
    const exact = exactPooledPlan(partitions).skus[0]!;
    expect(exact.pooledCost).toBeCloseTo(180, 9);
    expect(s.siloedCost).toBe(450); // d buys its 100 at spot
    expect(s.groupCost).toBe(202); // 100 of 200 units at their average 2.02
    // x (μ − L) = 100 × (2.02 − 1.80) = 22 USD (x (C − x) / C × w would be 22.50), plus the rounding allowance.
    expect(s.bandingErrorBound).toBeGreaterThanOrEqual(22);
    expect(s.bandingErrorBound).toBeLessThanOrEqual(22.01);
    expect(s.rule).toEqual({ firstCutoffBand: 4, lastCutoffBand: 4, cutoffFraction: 0.5, fromUnitCost: 1.8, toUnitCost: 2.25 });
    expect(s.averageLeadTimeDays).toBe(10);
    expect(s.suppliers).toBe(3);
  });

  it('keeps the siloed plans where pooling would cost more, and never reports a group cost above them', () => {
    // One vendor's own cheap line serves its own demand; pooling by band would average in a dearer line.
    const partitions = [
      { partyId: 'a', records: [{ lineId: 'line-a1', sku: 'SKU-01', demandUnits: 5, capacityUnits: 5, unitCost: 1.8, leadTimeDays: 1 }] },
      { partyId: 'b', records: [{ lineId: 'line-b1', sku: 'SKU-01', demandUnits: 0, capacityUnits: 5, unitCost: 2.2, leadTimeDays: 1 }] },
      { partyId: 'c', records: [{ lineId: 'line-c1', sku: 'SKU-01', demandUnits: 0, capacityUnits: 5, unitCost: 4.4, leadTimeDays: 1 }] },
    ];
    const a = analyse(partitions);
    const s = statsOf(findingsOf(a), 'SKU-01')!;
    expect(s.plan).toBe('own');
    expect(s.rule).toBeNull();
    expect(s.groupCost).toBe(s.siloedCost);
    expect(findingsOf(a).totals.gain).toBe(0);
    expect(a.content).toContain('pooling does not beat the siloed plans');
  });

  it('suppresses SKUs of fewer than three vendors and leaves them out of the totals', () => {
    const demo = generateSupplyChainDemo();
    const two = demo.partitions.slice(0, 2);
    const f = findingsOf(analyse(two));
    for (const id of SKU_IDS) expect(f.skus[id]).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.totals).toEqual({ siloedCost: 0, groupCost: 0, gain: 0, gainPercent: null });
    expect(f.bottlenecks).toEqual([]);
    const partial = demo.partitions.map((p, i) => ({ ...p, records: i === 0 ? p.records.filter((r) => r.sku !== 'SKU-03') : p.records }));
    const g = findingsOf(analyse(partial));
    expect(g.skus['SKU-03']!.suppressed).toBe(true);
    expect(g.analysedSkus).not.toContain('SKU-03');
    expect(g.totals.siloedCost).toBeCloseTo(
      SKU_IDS.filter((id) => id !== 'SKU-03').reduce((s, id) => s + statsOf(g, id)!.siloedCost, 0),
      2,
    );
    expect(released(analyse(two))).toBe(true);
  });

  it('suppresses a SKU of three vendors when fewer than three supply it below spot', () => {
    const demo = generateSupplyChainDemo();
    const expensive = demo.partitions.map((p, i) => ({
      ...p,
      records: p.records.map((r) => (i === 1 && r.sku === 'SKU-02' ? { ...r, unitCost: 18 } : r)),
    }));
    const f = findingsOf(analyse(expensive));
    expect(f.skus['SKU-02']).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.analysedSkus).toHaveLength(11);
    const exact = exactPooledPlan(expensive).skus[1]!;
    expect(exact).toMatchObject({ vendors: 3, suppliers: 2, released: false });
    expect(exact.pooledCost).toBe(exact.siloedCost);
    expectWithinBandingBound(expensive);
  });

  it('is deterministic and names the method', () => {
    const demo = generateSupplyChainDemo({ seed: 4 });
    for (const method of ['federated', 'secure_aggregation', 'mpc'] as const) {
      const a = analyse(demo.partitions, method);
      expect(analyse(demo.partitions, method)).toEqual(a);
      expect(a.content).toContain(`(supply-chain-optimizer-v1, ${method} method)`);
      expect(findingsOf(a).method).toBe(method);
    }
  });

  it('checks its argument', () => {
    const values = vectorSum(generateSupplyChainDemo().partitions);
    expect(() => analyseSupplyChain(null as never)).toThrow(TypeError);
    expect(() => analyseSupplyChain(summed(values.slice(1), 3))).toThrow(RangeError);
    expect(() => analyseSupplyChain(summed(values.map((v, i) => (i === 5 ? Number.NaN : v)), 3))).toThrow(TypeError);
    expect(() => analyseSupplyChain({ ...summed(values, 3), scale: 100 })).toThrow(/sum\.scale/);
    expect(() => analyseSupplyChain(summed(values, 3, -1))).toThrow(/sum\.noiseStd/);
    expect(() => analyseSupplyChain(summed(values, 0))).toThrow(/sum\.parties/);
    expect(() => analyseSupplyChain(summed(values, 3, 0, 'plain' as never))).toThrow(/sum\.method/);
  });
});

describe('supply-chain cost bands of fewer than three lines', () => {
  // SKU-12 (spot 64.00), unit costs in whole hundredths of spot: every statistic is an exact integer, so two
  // inputs with the same sums give the same findings to the bit. a, b and c supply 100 units each; d needs
  // the demand and supplies nothing.
  const line = (lineId: string, demandUnits: number, capacityUnits: number, unitCost: number): SupplyChainLine => ({
    lineId, sku: 'SKU-12', demandUnits, capacityUnits, unitCost, leadTimeDays: 10,
  });
  const market = (demand: number, a: number, b: number, c: number): Partitions => [
    { partyId: 'vendorA', records: [line('line-a-12', 0, 100, a)] },
    { partyId: 'vendorB', records: [line('line-b-12', 0, 100, b)] },
    { partyId: 'vendorC', records: [line('line-c-12', 0, 100, c)] },
    { partyId: 'vendorD', records: [line('line-d-12', demand, 0, 57.6)] },
  ];
  const sku12 = (partitions: Partitions): SkuFindings => statsOf(findingsOf(analyse(partitions)), 'SKU-12')!;

  it("merges a cutoff band of one vendor's line: the findings do not pin that vendor's unit cost", () => {
    // Band 4 ([25.60, 32.00)) holds a (30.08) and b (30.72), band 5 ([32.00, 38.40)) c alone (32.64). Pooled
    // demand 250 uses band 4 in full and half of band 5: on bands alone the group cost would give away c's
    // unit cost (and a zero banding bound that band 5 holds one line).
    const base = market(250, 30.08, 30.72, 32.64);
    const s = sku12(base);
    expect(s.plan).toBe('pooled');
    expect(s.rule).toEqual({ firstCutoffBand: 4, lastCutoffBand: 5, cutoffFraction: 0.833333, fromUnitCost: 25.6, toUnitCost: 38.4 });
    expect(s.bandingErrorBound).toBeGreaterThan(0);
    expect(s.groupCost).toBe(round((250 / 300) * 100 * (30.08 + 30.72 + 32.64), 2)); // 250 of 300 units at their average
    expectWithinBandingBound(base);
    // c's cost anywhere else in band 5, and another supplier's cost moved within its band to keep the sums:
    // identical findings. Vendor a (its own line unchanged) cannot tell 32.64 from 33.92, nor can d.
    expect(analyse(market(250, 30.08, 29.44, 33.92))).toEqual(analyse(base));
    // Nor can b.
    expect(analyse(market(250, 28.8, 30.72, 33.92))).toEqual(analyse(base));
  });

  it('merges a cutoff band of two lines: neither supplier in it learns the other one’s unit cost', () => {
    // Pooled demand 150 uses half of band 4, a's and b's lines only: a subtracting its own line from the
    // band's average would read b's cost. Merged with band 5 (c), the cutoff group holds three lines.
    const base = market(150, 30.08, 30.72, 32.64);
    const s = sku12(base);
    expect(s.rule).toEqual({ firstCutoffBand: 4, lastCutoffBand: 5, cutoffFraction: 0.5, fromUnitCost: 25.6, toUnitCost: 38.4 });
    expect(s.unitsMadeInHouse.group).toBe(150);
    expectWithinBandingBound(base);
    // b's cost moved within band 4, c's within band 5 to keep the sums: a sees the same findings.
    expect(analyse(market(150, 30.08, 31.36, 32))).toEqual(analyse(base));
    // a's cost moved, and c's: b sees the same findings.
    expect(analyse(market(150, 29.44, 30.72, 33.28))).toEqual(analyse(base));
  });

  it('gives every vendor of a merged cutoff group the same share of its capacity', () => {
    const base = market(150, 30.08, 30.72, 32.64);
    const a = analyse(base);
    const lines = base.map((p) => (supplyChainPrivateFindings(p.records, a).summary.lines as LineAllocation[])[0]!);
    expect(lines.map((l) => l.unitsToMake)).toEqual([50, 50, 50, 0]);
    expect(lines.map((l) => l.unitsFromPool)).toEqual([0, 0, 0, 150]);
  });
});

describe('supply-chain shared findings reveal no vendor', () => {
  const collect = (value: unknown, numbers: number[], keys: string[]): void => {
    if (typeof value === 'number') numbers.push(value);
    else if (Array.isArray(value)) value.forEach((v) => collect(v, numbers, keys));
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        keys.push(k);
        collect(v, numbers, keys);
      }
    }
  };

  it("holds no lineId, no vendor's unit cost or capacity, and passes the release policy", () => {
    for (const seed of [1, 2, 3]) {
      const demo = generateSupplyChainDemo({ seed });
      const a = analyse(demo.partitions);
      const text = JSON.stringify(a.findings) + a.content;
      const numbers: number[] = [];
      const keys: string[] = [];
      collect(a.findings, numbers, keys);
      const shown = new Set(numbers);
      // Public constants: spot prices and band edges (a vendor's cost may sit on one by chance).
      const edges = new Set(SKU_CATALOGUE.flatMap(({ spotPrice }) => Array.from({ length: 11 }, (_, b) => Math.round(spotPrice * b * 10) / 100)));
      for (const p of demo.partitions) {
        expect(text).not.toContain(p.partyId);
        for (const r of p.records) {
          expect(text).not.toContain(r.lineId);
          if (!edges.has(r.unitCost)) expect(shown.has(r.unitCost)).toBe(false);
          expect(shown.has(r.capacityUnits)).toBe(false);
          const asMoney = new RegExp(`(^|[^0-9.,])${formatMoney(r.unitCost).replace(/[.,]/g, '\\$&')}(?![0-9])`);
          if (!edges.has(r.unitCost)) expect(a.content).not.toMatch(asMoney);
          expect(a.content).not.toMatch(new RegExp(`(^|[^0-9.,])${formatInt(r.capacityUnits).replace(/,/g, '\\,')}(?![0-9])`));
        }
      }
      for (const k of ['lineId', 'unitCost', 'capacityUnits', 'demandUnits']) expect(keys).not.toContain(k);
      expect(released(a)).toBe(true);
    }
  });
});

describe('supply-chain analysis under noise', () => {
  const demo = generateSupplyChainDemo();
  const clean = vectorSum(demo.partitions);

  it('still recovers the demo with noise of 2 units per statistic, and states the noise', () => {
    for (const seed of [1, 2, 3]) {
      const a = analyseSupplyChain(summed(withNoise(clean, 2 * SCALE, seed), 3, 2 * SCALE));
      const f = findingsOf(a);
      expect(f.error.noiseStdUnits).toBe(2);
      expect(f.error.noiseStandardError.gain).toBeGreaterThan(0);
      expect(f.error.gainTolerance).toBeGreaterThan(f.error.bandingBound + f.error.roundingBound);
      expect(evaluateSupplyChainDemo(demo.truth, a.findings).recovered).toBe(true);
      expect(a.content).toContain('privacy noise of standard deviation 2 units');
      expect(released(a)).toBe(true);
    }
  });

  it('stays sane under any noise: no negative units, no NaN, group cost ≤ siloed cost', () => {
    const zero = new Array<number>(SUPPLY_CHAIN_STATISTIC_COUNT).fill(0);
    for (const [base, std] of [[clean, 1e6], [clean, 1e9], [zero, 1e5], [zero, 5e9]] as const) {
      for (const seed of [11, 12, 13]) {
        const a = analyseSupplyChain(summed(withNoise(base, std, seed), 3, std));
        const f = findingsOf(a);
        expect(JSON.stringify(a.findings)).not.toMatch(/NaN|Infinity/);
        const numbers: number[] = [];
        JSON.stringify(a.findings, (_, v) => (typeof v === 'number' && numbers.push(v), v));
        expect(numbers.every(Number.isFinite)).toBe(true);
        for (const id of SKU_IDS) {
          const agg = f.skus[id] as Aggregate;
          if (agg.stats === null) continue;
          const s = agg.stats as unknown as SkuFindings;
          for (const u of [s.pooledDemandUnits, s.subSpotCapacityUnits, s.shortfallUnits, s.unitsMadeInHouse.group, s.spotPurchaseUnits.group]) expect(u).toBeGreaterThanOrEqual(0);
          if (s.utilisation !== null) expect(s.utilisation >= 0 && s.utilisation <= 1).toBe(true);
          if (s.averageLeadTimeDays !== null) expect(s.averageLeadTimeDays >= 0 && s.averageLeadTimeDays <= 365).toBe(true);
          if (s.rule !== null) expect(s.rule.cutoffFraction >= 0 && s.rule.cutoffFraction <= 1).toBe(true);
          expect(s.groupCost).toBeLessThanOrEqual(s.siloedCost);
          expect(s.gain).toBeGreaterThanOrEqual(0);
        }
        expect(f.totals.groupCost).toBeLessThanOrEqual(f.totals.siloedCost);
        expect(a.content.length).toBeGreaterThan(100);
        expect(released(a)).toBe(true);
      }
    }
  });
});

describe('supply-chain private findings (federated)', () => {
  const demo = generateSupplyChainDemo();
  const a = analyse(demo.partitions);
  const f = findingsOf(a);

  it("gives each vendor its own lines' allocation only", () => {
    for (const p of demo.partitions) {
      const mine = supplyChainPrivateFindings(p.records, a);
      expect(mine.flagged).toEqual([]);
      const lines = mine.summary.lines as LineAllocation[];
      expect(lines.map((l) => l.lineId)).toEqual(p.records.map((r) => r.lineId));
      const text = JSON.stringify(mine);
      for (const other of demo.partitions) {
        if (other === p) continue;
        for (const r of other.records) expect(text).not.toContain(r.lineId);
      }
    }
  });

  it('adds up to the shared plan: units balance through the pool and savings to the gain', () => {
    const all = demo.partitions.map((p) => supplyChainPrivateFindings(p.records, a).summary.lines as LineAllocation[]).flat();
    for (const id of f.pooledSkus) {
      const s = statsOf(f, id)!;
      const lines = all.filter((l) => l.sku === id);
      const made = lines.reduce((t, l) => t + l.unitsToMake, 0);
      const toPool = lines.reduce((t, l) => t + l.unitsToPool, 0);
      const fromPool = lines.reduce((t, l) => t + l.unitsFromPool, 0);
      // Whole units in the cutoff band: at most one unit per line off the plan.
      expect(Math.abs(made - s.unitsMadeInHouse.group)).toBeLessThanOrEqual(lines.length);
      expect(Math.abs(fromPool - toPool - s.shortfallUnits)).toBeLessThanOrEqual(lines.length);
      // Every vendor's cost falls by the SKU's gain share; the costs add up to the group cost.
      const planned = lines.reduce((t, l) => t + l.plannedCost, 0);
      expect(Math.abs(planned - s.groupCost)).toBeLessThanOrEqual(0.01 * lines.length + 0.01);
      for (const l of lines) expect(l.saving).toBeCloseTo((l.siloedCost * s.gain) / s.siloedCost, 1);
      // The payments fund the pool's spot purchases, up to the cutoff band's rounding to whole units.
      const payments = lines.reduce((t, l) => t + l.poolPayment, 0);
      expect(Math.abs(payments - s.shortfallUnits * s.spotPrice)).toBeLessThanOrEqual(lines.length * s.spotPrice);
    }
    expect(all.every((l) => l.saving >= 0)).toBe(true);
    const saving = all.reduce((t, l) => t + l.saving, 0);
    expect(Math.abs(saving - f.totals.gain)).toBeLessThanOrEqual(0.005 * f.totals.gain);
  });

  it('keeps the siloed plan of a suppressed SKU and checks its arguments', () => {
    const two = demo.partitions.slice(0, 2);
    const b = analyse(two);
    const lines = supplyChainPrivateFindings(two[0]!.records, b).summary.lines as LineAllocation[];
    expect(lines.every((l) => l.plan === 'own' && l.saving === 0 && l.unitsToPool === 0)).toBe(true);
    expect(() => supplyChainPrivateFindings('x' as never, a)).toThrow(TypeError);
    expect(() => supplyChainPrivateFindings([], null as never)).toThrow(TypeError);
    const bad = [{ ...demo.partitions[0]!.records[0]!, unitCost: -1 }];
    expect(() => supplyChainPrivateFindings(bad, a)).toThrow(new RangeError('records[0].unitCost: must be greater than 0'));
  });
});
