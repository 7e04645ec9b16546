// The statistic vector of supply-chain-optimizer-v1: its declarations, a hand-computed example, linearity
// (the parties' vectors summed are the statistics of all lines) and refusals.
import { describe, expect, it } from 'vitest';
import type { SummedStatistics } from '../contract.js';
import { analyseSupplyChain } from './analysis.js';
import { SCALE, SKU_IDS } from './catalogue.js';
import { generateSupplyChainDemo } from './demo.js';
import type { SupplyChainLine } from './schema.js';
import { SKU_STATISTIC_INDEX, SUPPLY_CHAIN_STATISTICS, SUPPLY_CHAIN_STATISTIC_COUNT, addLineStatistics, supplyChainPartyStatistics } from './statistics.js';

const MAX_STATISTIC = 2 ** 40 - 1;

function summed(values: readonly number[], parties: number): SummedStatistics {
  const names = SUPPLY_CHAIN_STATISTICS.map((d) => d.name);
  return {
    values,
    get: (name) => {
      const i = names.indexOf(name);
      if (i < 0) throw new RangeError(`unknown statistic ${name}`);
      return values[i]!;
    },
    parties,
    noiseStd: 0,
    scale: SCALE,
    method: 'secure_aggregation',
  };
}

const named = (values: readonly number[]): Record<string, number> =>
  Object.fromEntries(SUPPLY_CHAIN_STATISTICS.map((d, i) => [d.name, values[i]!]).filter(([, v]) => v !== 0));

describe('supply-chain statistics', () => {
  it('declares 47 statistics per SKU with valid names, finite bounds and histogram groups', () => {
    expect(SUPPLY_CHAIN_STATISTIC_COUNT).toBe(12 * 47);
    const names = SUPPLY_CHAIN_STATISTICS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of SUPPLY_CHAIN_STATISTICS) {
      expect(d.name).toMatch(/^[A-Za-z0-9_:*.-]{1,120}$/);
      expect(d.name.startsWith(`${d.kind}:`)).toBe(true);
      expect(Number.isInteger(d.perRecordMax) && d.perRecordMax >= 1 && d.perRecordMax <= MAX_STATISTIC).toBe(true);
      expect(typeof d.group).toBe('string');
    }
    expect(names.slice(0, 6)).toEqual(['count:lines*sku_01', 'count:suppliers*sku_01', 'sum:demand*sku_01', 'sum:siloed_made*sku_01', 'sum:siloed_cost*sku_01', 'histogram:capacity*sku_01*band_00']);
    expect(new Set(SUPPLY_CHAIN_STATISTICS.map((d) => d.group))).toEqual(
      new Set(['lines', 'suppliers', 'demand', 'siloed_made', 'siloed_cost', 'capacity', 'band_cost', 'band_cost_squared', 'band_lines', 'lead_time']),
    );
  });

  it('matches a hand-computed example', () => {
    const lines: SupplyChainLine[] = [
      // Spot 4.50: cost ratio 0.4 (band 4), makes 60 of its 100, buys 40 at spot.
      { lineId: 'line-a', sku: 'SKU-01', demandUnits: 100, capacityUnits: 60, unitCost: 1.8, leadTimeDays: 73 },
      // Spot 64: above spot, makes nothing, buys its 10 at spot.
      { lineId: 'line-b', sku: 'SKU-12', demandUnits: 10, capacityUnits: 500, unitCost: 70, leadTimeDays: 365 },
    ];
    expect(named(supplyChainPartyStatistics(lines))).toEqual({
      'count:lines*sku_01': 1e9, // a line weighs MAX_UNITS
      'count:suppliers*sku_01': 1e9, // capacity below spot
      'sum:demand*sku_01': 100_000,
      'sum:siloed_made*sku_01': 60_000,
      'sum:siloed_cost*sku_01': 64_000, // 60 × 0.4 + 40 spot units
      'histogram:capacity*sku_01*band_04': 60_000,
      'sum:cost*sku_01*band_04': 24_000, // 60 × 0.4
      'sum:cost_squared*sku_01*band_04': 9_600, // 60 × 0.16
      'count:lines*sku_01*band_04': 1e9, // a supplier's line in band 4
      'sum:capacity*lead_time_years*sku_01': 12_000, // 60 × 73 / 365
      'count:lines*sku_12': 1e9,
      'sum:demand*sku_12': 10_000,
      'sum:siloed_cost*sku_12': 10_000,
      'histogram:capacity*sku_12*at_or_above_spot': 500_000,
      'sum:capacity*lead_time_years*sku_12': 500_000,
    });
  });

  it('puts a decimal cost on a band edge into the band it starts', () => {
    const at = (unitCost: number): Record<string, number> =>
      named(supplyChainPartyStatistics([{ lineId: 'line-a', sku: 'SKU-11', demandUnits: 0, capacityUnits: 1, unitCost, leadTimeDays: 0 }]));
    expect(at(0.19)['histogram:capacity*sku_11*band_01']).toBe(1000); // 0.19 / 1.90 = 0.1
    expect(at(1.71)['histogram:capacity*sku_11*band_09']).toBe(1000);
    expect(at(1.9)['histogram:capacity*sku_11*at_or_above_spot']).toBe(1000);
  });

  it('sums linearly: the parties’ vectors added are the statistics of all lines, and analyse alike', () => {
    const demo = generateSupplyChainDemo({ seed: 7 });
    const vectors = demo.partitions.map((p) => supplyChainPartyStatistics(p.records));
    const sum = vectors[0]!.map((_, i) => vectors.reduce((s, v) => s + v[i]!, 0));
    const all = demo.partitions.flatMap((p) => p.records);
    const pooled = addLineStatistics(all, new Array<number>(SUPPLY_CHAIN_STATISTIC_COUNT).fill(0));
    expect(sum).toEqual(pooled);
    expect(analyseSupplyChain(summed(sum, 3))).toEqual(analyseSupplyChain(summed(pooled, 3)));
    for (const v of vectors) for (const x of v) expect(Number.isInteger(x) && x >= 0 && x <= MAX_STATISTIC).toBe(true);
  });

  it('keeps a party statistic within its perRecordMax at the declared extremes', () => {
    const extreme = SKU_IDS.map((sku, i) => ({ lineId: `line-${i}`, sku, demandUnits: 1_000_000, capacityUnits: 1_000_000, unitCost: 0.01, leadTimeDays: 365 }));
    const justBelowSpot = [4.49, 17.99, 12.74, 41.99, 27.49, 9.79, 3.39, 15.19, 35.99, 22.39, 1.89, 63.99];
    const nearSpot = SKU_IDS.map((sku, i) => ({ lineId: `line-${i}`, sku, demandUnits: 0, capacityUnits: 1_000_000, unitCost: justBelowSpot[i]!, leadTimeDays: 0 }));
    for (const lines of [extreme, nearSpot]) {
      const v = supplyChainPartyStatistics(lines);
      v.forEach((x, i) => expect(x).toBeLessThanOrEqual(SUPPLY_CHAIN_STATISTICS[i]!.perRecordMax));
    }
    const ix = SKU_STATISTIC_INDEX[0]!;
    expect(supplyChainPartyStatistics(extreme)[ix.demand]).toBe(1_000_000 * SCALE);
  });

  it('refuses what is not a valid document, naming the record and field but not the value', () => {
    expect(() => supplyChainPartyStatistics('x' as never)).toThrow(TypeError);
    const ok = { lineId: 'line-a', sku: 'SKU-01', demandUnits: 1, capacityUnits: 1, unitCost: 1, leadTimeDays: 1 };
    expect(() => supplyChainPartyStatistics([{ ...ok, unitCost: 987.65 }])).toThrow(new RangeError("records[0].unitCost: must be at most 3 times the spot price of the record's sku"));
    expect(() => supplyChainPartyStatistics([{ ...ok, capacityUnits: 2_000_000 }])).toThrow(new RangeError('records[0].capacityUnits: must be between 0 and 1000000'));
    expect(() => supplyChainPartyStatistics([ok, { ...ok, lineId: 'line-b' }])).toThrow(/^records\[1\]\.sku: duplicates/);
    expect(() => supplyChainPartyStatistics(Array.from({ length: 13 }, () => ok))).toThrow(RangeError);
    expect(supplyChainPartyStatistics([])).toEqual(new Array(SUPPLY_CHAIN_STATISTIC_COUNT).fill(0));
  });
});
