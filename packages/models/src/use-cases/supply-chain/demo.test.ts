// The supply-chain demo generator (deterministic, planted truth) and its evaluation, and the spec that
// wires the model together.
import { describe, expect, it } from 'vitest';
import { SUPPLY_CHAIN_STATISTICS, supplyChainSpec, validateSupplyChainLines } from './index.js';
import { evaluateSupplyChainDemo, generateSupplyChainDemo } from './demo.js';

describe('supply-chain demo', () => {
  it('is deterministic per seed and valid under the schema', () => {
    const a = generateSupplyChainDemo({ seed: 5 });
    expect(generateSupplyChainDemo({ seed: 5 })).toEqual(a);
    expect(generateSupplyChainDemo({ seed: 6 })).not.toEqual(a);
    expect(generateSupplyChainDemo()).toEqual(generateSupplyChainDemo({ seed: 1 }));
    expect(a.partitions.map((p) => p.partyId)).toEqual(['vendorA', 'vendorB', 'vendorC']);
    for (const p of a.partitions) {
      expect(p.records).toHaveLength(12);
      expect(validateSupplyChainLines(p.records).ok).toBe(true);
    }
    expect(a.truth).toMatchObject({ plantedBottlenecks: expect.any(Array), exactGain: expect.any(Number), exactGainPercent: expect.any(Number) });
    expect(a.truth.exactBottlenecks).toEqual(a.truth.plantedBottlenecks);
    expect(JSON.parse(JSON.stringify(a.truth))).toEqual(a.truth);
  });

  it('takes its options: more vendors, fewer SKUs', () => {
    const d = generateSupplyChainDemo({ parties: ['v1', 'v2', 'v3', 'v4', 'v5'], recordsPerParty: 4, seed: 3 });
    expect(d.partitions.map((p) => p.records.map((r) => r.sku))).toEqual(Array(5).fill(['SKU-01', 'SKU-02', 'SKU-03', 'SKU-04']));
    const planted = d.truth.plantedBottlenecks as string[];
    expect(planted).toHaveLength(2);
    expect(planted.every((s) => ['SKU-01', 'SKU-02', 'SKU-03', 'SKU-04'].includes(s))).toBe(true);
  });

  it('refuses bad options, naming them', () => {
    expect(() => generateSupplyChainDemo(null as never)).toThrow(TypeError);
    expect(() => generateSupplyChainDemo({ parties: ['a', 'a'] })).toThrow(/options\.parties/);
    expect(() => generateSupplyChainDemo({ parties: [] })).toThrow(RangeError);
    expect(() => generateSupplyChainDemo({ parties: [''] })).toThrow(TypeError);
    expect(() => generateSupplyChainDemo({ recordsPerParty: 13 })).toThrow(/options\.recordsPerParty/);
    expect(() => generateSupplyChainDemo({ recordsPerParty: 1 })).toThrow(RangeError);
    expect(() => generateSupplyChainDemo({ recordsPerParty: 2.5 })).toThrow(RangeError);
    expect(() => generateSupplyChainDemo({ seed: 1.5 })).toThrow(/options\.seed/);
  });

  it('evaluates: wrong bottlenecks or a gain outside the tolerance are not recovered', () => {
    const truth = { plantedBottlenecks: ['SKU-04', 'SKU-09'], exactGain: 1000, exactGainPercent: 10 };
    const findings = (bottlenecks: string[], gain: number, gainTolerance: number): Record<string, unknown> => ({
      bottlenecks,
      totals: { siloedCost: 10_000, groupCost: 10_000 - gain, gain, gainPercent: gain / 100 },
      error: { gainTolerance },
    });
    expect(evaluateSupplyChainDemo(truth, findings(['SKU-09', 'SKU-04'], 990, 20)).recovered).toBe(true);
    expect(evaluateSupplyChainDemo(truth, findings(['SKU-04'], 990, 20)).recovered).toBe(false);
    expect(evaluateSupplyChainDemo(truth, findings(['SKU-04', 'SKU-09', 'SKU-01'], 990, 20)).recovered).toBe(false);
    const off = evaluateSupplyChainDemo(truth, findings(['SKU-04', 'SKU-09'], 900, 20));
    expect(off.recovered).toBe(false);
    expect(off.figures).toMatchObject({ bottlenecksRecovered: true, gainRecovered: false, gainError: -100, gainTolerance: 20 });
    expect(evaluateSupplyChainDemo(truth, {}).recovered).toBe(false);
    expect(evaluateSupplyChainDemo(truth, {}).figures.bottlenecks).toBe('(missing)');
    expect(() => evaluateSupplyChainDemo({}, {})).toThrow(TypeError);
  });

  it('is not recovered with two vendors: every SKU is suppressed', () => {
    const demo = generateSupplyChainDemo({ parties: ['a', 'b'] });
    const sum = demo.partitions.map((p) => supplyChainSpec.partyStatistics(p.records)).reduce((s, v) => s.map((x, i) => x + v[i]!));
    const a = supplyChainSpec.analyse({ values: sum, get: () => 0, parties: 2, noiseStd: 0, scale: supplyChainSpec.scale, method: 'mpc' });
    expect(supplyChainSpec.evaluateDemo(demo.truth, a.findings).recovered).toBe(false);
  });
});

describe('supplyChainSpec', () => {
  it('declares the model', () => {
    const s = supplyChainSpec;
    expect(s).toMatchObject({ id: 'supply-chain-optimizer-v1', version: '1.0.0', useCase: 'supply-chain', scale: 1000, minGroupSize: 3 });
    expect(s.schema.id).toBe('supply_chain_lines_v1');
    expect(s.identifierFields).toEqual(['lineId']);
    expect(s.statistics).toBe(SUPPLY_CHAIN_STATISTICS);
    expect(s.constants.minGroupSize).toBe(s.minGroupSize);
    expect((s.constants.catalogue as unknown[]).length).toBe(12);
    expect(Object.isFrozen(s) && Object.isFrozen(s.constants) && Object.isFrozen(s.statistics)).toBe(true);
    expect(JSON.parse(JSON.stringify(s.constants))).toEqual(s.constants);
    expect(typeof s.privateFindings).toBe('function');
    expect(s.description.length).toBeGreaterThan(100);
  });
});
