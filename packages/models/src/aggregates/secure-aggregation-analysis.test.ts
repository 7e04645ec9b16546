// risk-analyzer-v2 under `secure_aggregation` (DESIGN §7, docs/secure-aggregation.md): the pooled
// analysis of the decoded sum recovers the demo data's planted signal at the aggregate level, states what
// it can and cannot analyse, passes the release policy, clamps noisy figures, and writes deterministic text.
//
// Demo data, 3 banks x 20,000 records, seed 20240601 (plain recomputation from the raw records):
// 486 amounts in [9,000, 10,000), 90 of them planted structuring; each bank's own structuring detector
// flags 91 (share 18.7% vs 18.5% planted); labelled fraud rate near the threshold 17.9% vs 0.71% overall,
// lift 25.2x.
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrateSkellam, sampleSkellam, skellamEpsilon } from '@tenzro/crypto';
import {
  ModelRunError,
  SECURE_AGGREGATION_CAPABILITIES,
  aggregateLayoutOf,
  checkRelease,
  computeStatistics,
  decodeStatisticSum,
  demoPartitions,
  encodeStatistics,
  generateDemoData,
  getModel,
  seededRng,
  type Aggregate,
  type DemoData,
  type ModelOutput,
  type Rng,
  type SecureAggregationRunInput,
  type SkellamNoiseConfig,
  type TransactionRecord,
} from '../index.js';

const model = getModel('risk-analyzer-v2')!;
const layout = aggregateLayoutOf('risk-analyzer-v2')!;
const BANKS = ['bankA', 'bankB', 'bankC'];

type Rate = Aggregate & { stats: { rate: number; groupSize: number; lift?: number } | null };

/** Each bank encodes (+ its noise), the ring sum is decoded: what the enclave gets. */
function secureSum(data: DemoData, noise?: (bank: number) => number[]): number[] {
  const sum = new Uint32Array(layout.ringLength);
  BANKS.forEach((b, k) => {
    const ring = encodeStatistics(layout, computeStatistics(layout, data.partitions[b]!), noise?.(k));
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + ring[i]!) >>> 0;
  });
  return decodeStatisticSum(layout, sum, BANKS.length);
}

function input(values: number[], over: Partial<SecureAggregationRunInput> = {}, noise: SkellamNoiseConfig | null = null): SecureAggregationRunInput {
  return {
    method: 'secure_aggregation',
    aggregate: { layoutId: layout.id, values, parties: [...BANKS], noise },
    prompt: 'Where does structuring concentrate?',
    parameters: { maxTokens: 400 },
    rng: seededRng(1),
    ...over,
  };
}

/** Rounded Gaussian with the given variance (stands in for a party's Skellam share in tests). */
/** A byte source driven by the seeded test rng (the sampler itself is the production one). */
function seededBytes(rng: Rng): (length: number) => Uint8Array {
  return (length) => Uint8Array.from({ length }, () => Math.floor(rng.nextFloat() * 256));
}

function noisyRun(data: DemoData, epsilon: number, seed: number): Promise<ModelOutput> {
  const threshold = 2;
  const calibrated = calibrateSkellam({ epsilon, delta: 1e-5, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity });
  const random = seededBytes(seededRng(seed));
  const values = secureSum(data, () => Array.from(sampleSkellam(calibrated.variance / threshold, layout.statisticCount, random)));
  const variance = (calibrated.variance / threshold) * 3;
  const certified = skellamEpsilon({ variance, delta: 1e-5, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity });
  return model.run(input(values, {}, { mechanism: 'skellam', variance, epsilon: certified.epsilon, delta: 1e-5, order: certified.order, survivors: 3, threshold }));
}

describe('demo data, 3 banks x 20,000 records, no noise', () => {
  let data: DemoData;
  let all: TransactionRecord[];
  let values: number[];
  let out: ModelOutput;
  let f: Record<string, any>;
  beforeAll(async () => {
    data = generateDemoData({ banks: BANKS, recordsPerBank: 20_000, seed: 20240601 });
    all = BANKS.flatMap((b) => data.partitions[b]!);
    values = secureSum(data);
    out = await model.run(input(values));
    f = out.shared.findings;
  });

  it('recovers the planted structuring signal: share of near-threshold amounts and fraud-rate lift', () => {
    const near = all.filter((r) => r.amount >= 9000 && r.amount < 10_000);
    const planted = new Set(data.truth.structuring.flat());
    const structuring = f.structuring.nearThresholdInRepeatedClusters as Rate;
    expect(structuring.stats!.groupSize).toBe(near.length);
    expect(structuring.count).toBeGreaterThanOrEqual(planted.size * 0.95);
    expect(structuring.count).toBeLessThanOrEqual(planted.size * 1.1);
    expect(structuring.stats!.rate).toBeCloseTo(planted.size / near.length, 2);
    const lab = all.filter((r) => r.label);
    const nearLab = near.filter((r) => r.label);
    const overall = lab.filter((r) => r.label === 'fraud').length / lab.length;
    const nearRate = nearLab.filter((r) => r.label === 'fraud').length / nearLab.length;
    const lift = f.structuring.fraudRateNearThreshold as Rate;
    expect(lift.stats!.rate).toBeCloseTo(nearRate, 6);
    expect(lift.stats!.lift).toBeCloseTo(nearRate / overall, 2);
    expect(lift.stats!.lift).toBeGreaterThan(10);
    expect((f.labels.fraudRate as Rate).stats!.rate).toBeCloseTo(overall, 6);
  });

  it('pooled rates and histograms equal the plain pooled figures', () => {
    const n = all.length;
    expect(f.records).toEqual({ count: n, suppressed: false, stats: null });
    expect((f.rates.cash as Rate).stats!.rate).toBeCloseTo(all.filter((r) => r.channel === 'cash').length / n, 6);
    expect((f.rates.night as Rate).stats!.rate).toBeCloseTo(all.filter((r) => new Date(r.timestamp).getUTCHours() < 6).length / n, 6);
    const bands = (f.amountHistogram as Rate[]).map((b) => b.count ?? 0);
    expect(bands.reduce((s, c) => s + c, 0)).toBe(n);
    expect(bands[3]).toBe(all.filter((r) => r.amount >= 1000 && r.amount < 10_000).length);
  });

  it('fits a pooled ridge least-squares risk score from XᵀX and Xᵀy in which the planted patterns weigh most', () => {
    const risk = f.riskScore;
    expect(risk.fitted).toBe(true);
    expect(risk.weights).toHaveLength(15);
    const w = Object.fromEntries((risk.weights as { feature: string; perUnit: number }[]).map((x) => [x.feature, x.perUnit]));
    expect(w.structuring_evidence).toBeGreaterThan(0.5);
    expect(w.pass_through_quality).toBeGreaterThan(0.1);
    expect((risk.strongestDrivers as { feature: string }[]).slice(0, 2).map((d) => d.feature).sort()).toEqual(['pass_through_quality', 'structuring_evidence']);
    expect(risk.inSampleRSquared).toBeGreaterThan(0.2);
  });

  it('reports feature means, variances and a correlation matrix in range', () => {
    const fs = f.featureStatistics.stats;
    expect(fs.features).toHaveLength(15);
    for (const x of fs.features) {
      expect(x.variance).toBeGreaterThanOrEqual(0);
      expect(x.mean).toBeGreaterThanOrEqual(x.declaredRange[0]);
      expect(x.mean).toBeLessThanOrEqual(x.declaredRange[1]);
    }
    const M = fs.correlation.matrix as (number | null)[][];
    M.forEach((row, a) => row.forEach((c, b) => c !== null && expect(Math.abs(c)).toBeLessThanOrEqual(1) && expect(c).toBe(M[b]![a])));
    const cash = fs.correlation.features.indexOf('channel_cash');
    const card = fs.correlation.features.indexOf('channel_card');
    expect(M[cash]![card]).toBeLessThan(0); // exclusive channels
  });

  it('states what it analysed and what needs record-level data', () => {
    expect(f.capabilities.analysed).toEqual([...SECURE_AGGREGATION_CAPABILITIES.analysed]);
    expect(f.capabilities.requiresRecordLevelData).toEqual([...SECURE_AGGREGATION_CAPABILITIES.requiresRecordLevelData]);
    expect(f.capabilities.requiresRecordLevelData.join(' ')).toMatch(/mule chains.*span banks/);
    expect(f.capabilities.requiresRecordLevelData.join(' ')).toMatch(/per-institution/);
    expect(f.capabilities.requiresRecordLevelData.join(' ')).toMatch(/dormancy/);
    expect(out.shared.content).toContain('Not possible under secure aggregation');
  });

  it('passes the release policy and holds nothing per party', () => {
    expect(checkRelease(out, demoPartitions(data))).toEqual({ ok: true });
    expect(checkRelease(out, [])).toEqual({ ok: true });
    expect(out.privateFindings).toEqual({});
    const shared = JSON.stringify(out.shared);
    for (const b of BANKS) expect(shared).not.toContain(b);
    expect(out.privacy).toEqual({ mechanism: 'none', variance: null, epsilon: null, delta: null, order: null, survivors: 3, threshold: null, unit: 'record' });
    expect(f.privacy).toMatchObject({ mechanism: 'none', unit: 'record' });
  });

  it('writes deterministic content from the findings and the prompt', async () => {
    const again = await model.run(input(values, { rng: seededRng(99) }));
    expect(again).toEqual(out);
    expect(out.shared.content).toMatch(/^Pooled risk analysis \(risk-analyzer-v2, secure aggregation\) over 60,000 transaction records from 3 participating institutions\./);
    expect(out.shared.content).toContain('Analysis focus: Where does structuring concentrate?');
    expect(out.shared.content).toContain('Near-threshold amounts: 18.7% of them sit in repeated clusters');
    const short = await model.run(input(values, { parameters: { maxTokens: 12 } }));
    expect(short.shared.content.split(/\s+/).length).toBe(13);
    expect(short.shared.content.endsWith('…')).toBe(true);
  });

  it('redacts identifier-like tokens of the prompt (it has no records to compare with)', async () => {
    const tx = all[0]!;
    const o = await model.run(input(values, { prompt: `Explain ${tx.transactionId} on ${tx.accountId}` }));
    expect(o.shared.content).toContain('Analysis focus: Explain [redacted] on [redacted]');
    expect(checkRelease(o, demoPartitions(data))).toEqual({ ok: true });
  });
});

describe('with Skellam noise (each party share drawn by sampleSkellam)', () => {
  let data: DemoData;
  beforeAll(() => {
    data = generateDemoData({ banks: BANKS, recordsPerBank: 20_000, seed: 20240601 });
  });

  it('epsilon 1: clamps every derived figure, suppresses small noisy groups, states the noise', async () => {
    const out = await noisyRun(data, 1, 5);
    const f = out.shared.findings as Record<string, any>;
    expect(checkRelease(out, demoPartitions(data))).toEqual({ ok: true });
    // Three survivors carry 3/2 of the variance one needs: the certified epsilon is below the target.
    expect(out.privacy).toMatchObject({ mechanism: 'skellam', delta: 1e-5, order: expect.any(Number), survivors: 3, threshold: 2, unit: 'record' });
    expect((out.privacy as { epsilon: number }).epsilon).toBeLessThan(1);
    expect(f.privacy.countNoiseStandardDeviation).toBeGreaterThan(50);
    const rates: Rate[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        if (typeof o.suppressed === 'boolean' && o.stats && typeof (o.stats as Record<string, unknown>).rate === 'number') rates.push(o as unknown as Rate);
        Object.values(o).forEach(walk);
      }
    };
    walk(f);
    expect(rates.length).toBeGreaterThan(20);
    for (const r of rates) {
      expect(r.stats!.rate).toBeGreaterThanOrEqual(0);
      expect(r.stats!.rate).toBeLessThanOrEqual(1);
      expect(r.count).toBeLessThanOrEqual(r.stats!.groupSize);
    }
    for (const x of f.featureStatistics.stats.features) expect(x.variance).toBeGreaterThanOrEqual(0);
    for (const row of f.featureStatistics.stats.correlation.matrix) for (const c of row) if (c !== null) expect(Math.abs(c)).toBeLessThanOrEqual(1);
    expect(out.shared.content).toMatch(/over about \d\d,\d{3} transaction records/);
    expect(out.shared.content).toMatch(/cash \d+(\.\d)?% \(± \d+(\.\d)?%\)/);
    expect(f.records.stats.standardError).toBe(f.privacy.countNoiseStandardDeviation);
    expect(out.shared.content).toMatch(/\(epsilon = 0\.\d+, delta = 1e-5\)-differentially private/);
    if (f.riskScore.fitted) expect(out.shared.content).toContain('indicative only');
  });

  it('epsilon 10: the near-threshold signal survives the noise', async () => {
    const f = (await noisyRun(data, 10, 6)).shared.findings as Record<string, any>;
    expect((f.structuring.nearThresholdInRepeatedClusters as Rate).stats!.rate).toBeGreaterThan(0.1);
    expect((f.structuring.fraudRateNearThreshold as Rate).stats!.lift).toBeGreaterThan(10);
  });
});

describe('small groups and input errors', () => {
  const zeros = (): number[] => new Array<number>(layout.statisticCount).fill(0);

  it('suppresses every figure over fewer than minGroupSize records', async () => {
    const values = zeros();
    const idx = (name: string): number => layout.entries.findIndex((e) => e.name === name);
    values[idx('count:records')] = 2 * 256;
    values[idx('count:channel_cash')] = 2 * 256;
    values[idx('histogram:amount_10_to_100')] = 2 * 256;
    const out = await model.run(input(values));
    const f = out.shared.findings as Record<string, any>;
    expect(f.records).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.rates.cash).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.riskScore.fitted).toBe(false);
    expect(checkRelease(out, [])).toEqual({ ok: true });
    expect(out.shared.content).toContain('over fewer than 3 transaction records');
  });

  it('refuses a wrong layout, vector, party list or noise description', async () => {
    const bad = async (over: Partial<SecureAggregationRunInput['aggregate']>, message: string | RegExp): Promise<void> => {
      const base = input(zeros());
      const err = await model.run({ ...base, aggregate: { ...base.aggregate, ...over } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelRunError);
      expect(err).toMatchObject({ code: 'invalid_input' });
      expect((err as Error).message).toMatch(message);
    };
    await bad({ layoutId: 'other/v1' }, 'aggregate.layoutId must be risk-analyzer-v2/aggregates/v1');
    await bad({ values: [1, 2] }, `aggregate.values must hold ${layout.statisticCount} statistics`);
    await bad({ values: zeros().map((_, i) => (i === 7 ? 0.5 : 0)) }, `aggregate.values[7] (statistic ${layout.entries[7]!.name}) must be an integer`);
    await bad({ parties: ['bankA'] }, /must list 2 to 128 included parties/);
    await bad({ parties: ['bankA', 'bankA'] }, 'aggregate.parties[1] repeats an earlier party');
    const noise: SkellamNoiseConfig = { mechanism: 'skellam', variance: 1e6, epsilon: 1, delta: 1e-5, order: 8, survivors: 2, threshold: 2 };
    await bad({ noise }, 'aggregate.noise.survivors must equal the number of included parties');
    await bad({ noise: { ...noise, survivors: 3, epsilon: 0 } }, 'aggregate.noise.epsilon must be a positive number');
    await bad({ noise: { ...noise, survivors: 3, threshold: 1 } }, 'aggregate.noise.threshold must be an integer from 2 to survivors');
    const err = await model.run({ ...input(zeros()), method: 'mpc' } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unsupported_method' });
    await expect(model.run({ ...input(zeros()), parameters: { maxTokens: 0 } })).rejects.toThrow(/maxTokens/);
    await expect(model.run({ ...input(zeros()), rng: {} as never })).rejects.toThrow(/rng must have a nextFloat/);
  });
});
