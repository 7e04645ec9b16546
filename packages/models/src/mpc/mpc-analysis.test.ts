// risk-analyzer-v2 under `mpc`: the analysis of the program's revealed numerators (docs/mpc.md, DESIGN §7).
// Pooled variances, correlations and the risk score computed from n²·cov numerators must match the
// plaintext statistics (two-pass, from per-record features) within the stated fixed-point error bound.
// The outputs here come from a reference of the program's arithmetic (models cannot import protocol);
// the enclave package checks the real program (runMpcProgramInMemory) against the same analysis.
import { describe, expect, it } from 'vitest';
import { RISK_ANALYZER_LAYOUT } from '../aggregates/layout.js';
import { buildDataset } from '../dataset.js';
import { generateDemoData } from '../demo.js';
import { detect } from '../detectors.js';
import { ModelRunError } from '../errors.js';
import { FEATURE_COUNT, extractFeatures } from '../features.js';
import { analyseFlows } from '../flows.js';
import { checkRelease } from '../release.js';
import { seededRng } from '../rng.js';
import type { TransactionRecord } from '../types.js';
import { MPC_OUTPUT_NAMES, MPC_RISK_SCORE_WEIGHTS, analyzeMpcOutputs } from './analysis.js';
import { MPC_STATISTIC_NAMES, mpcStatisticValues } from './statistics.js';

const F = RISK_ANALYZER_LAYOUT.features;
const J = F.length;

/** One row: the shifted features (z = x − min), labelled, fraud. */
interface Row {
  z: number[];
  labelled: boolean;
  fraud: boolean;
}

/** The program's outputs, exactly (no truncation error), from the rows' sums. */
function exactOutputs(rows: readonly Row[]): Record<string, number> {
  const n = rows.length;
  const S = new Array<number>(J).fill(0);
  const Q = F.map(() => new Array<number>(J).fill(0));
  let L = 0;
  let Y = 0;
  const score = MPC_RISK_SCORE_WEIGHTS.map(([f]) => F.findIndex((x) => x.name === f));
  const SL = score.map(() => 0);
  const FR = score.map(() => 0);
  for (const r of rows) {
    for (let a = 0; a < J; a++) {
      S[a]! += r.z[a]!;
      for (let b = a; b < J; b++) Q[a]![b]! += r.z[a]! * r.z[b]!;
    }
    if (r.labelled) {
      L++;
      if (r.fraud) Y++;
      score.forEach((j, k) => {
        SL[k]! += r.z[j]!;
        if (r.fraud) FR[k]! += r.z[j]!;
      });
    }
  }
  const out: Record<string, number> = {};
  let i = 0;
  for (let a = 0; a < J; a++) for (let b = a; b < J; b++) out[MPC_OUTPUT_NAMES[i++]!] = n * Q[a]![b]! - S[a]! * S[b]!;
  out['denominator:records_squared'] = n * n;
  out['denominator:labelled_squared'] = L * L;
  out['risk_score_numerator'] = MPC_RISK_SCORE_WEIGHTS.reduce((s, [, w], k) => s + w * (L * FR[k]! - Y * SL[k]!), 0);
  return out;
}

/** Each output moved by a uniform error in [−bound, bound] units of 2^−8, rounded to the scale. */
function perturb(outputs: Record<string, number>, bound: number, rng: { nextFloat(): number }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = (Math.round(v * 256) + Math.round((2 * rng.nextFloat() - 1) * bound)) / 256;
  return out;
}

/** Plaintext two-pass statistics over the rows. */
function plaintext(rows: readonly Row[]) {
  const n = rows.length;
  const mean = F.map((_, a) => rows.reduce((s, r) => s + r.z[a]!, 0) / n);
  const cov = F.map((_, a) => F.map((__, b) => rows.reduce((s, r) => s + (r.z[a]! - mean[a]!) * (r.z[b]! - mean[b]!), 0) / n));
  const lab = rows.filter((r) => r.labelled);
  const ybar = lab.filter((r) => r.fraud).length / lab.length;
  const score = MPC_RISK_SCORE_WEIGHTS.reduce((s, [f, w]) => {
    const j = F.findIndex((x) => x.name === f);
    const xbar = lab.reduce((t, r) => t + r.z[j]!, 0) / lab.length;
    return s + (w * lab.reduce((t, r) => t + (r.z[j]! - xbar) * ((r.fraud ? 1 : 0) - ybar), 0)) / lab.length;
  }, 0);
  return { cov, score, labelled: lab.length };
}

/** The rows of one party's records, with the features the layout (and mpcStatisticValues) uses. */
function rowsOf(records: TransactionRecord[]): Row[] {
  const d = buildDataset([{ partyId: 'self', records }]);
  const flows = analyseFlows(d);
  const X = extractFeatures(d, flows, detect(d, flows));
  const rows: Row[] = [];
  for (let i = 0; i < d.n; i++) {
    const z = F.map((f, j) => Math.round(256 * (X[i * FEATURE_COUNT + 1 + j]! - f.min)) / 256);
    rows.push({ z, labelled: d.label[i]! >= 0, fraud: d.label[i] === 1 });
  }
  return rows;
}

const options = (bound: number, parties = 3) => ({ parties, threshold: 2, totalNodes: 3, nodesUsed: [1, 2], errorBound: bound, prompt: 'structuring near the threshold' });

function check(rows: readonly Row[], bound: number, seed: number) {
  const outputs = perturb(exactOutputs(rows), bound, seededRng(seed));
  const result = analyzeMpcOutputs(outputs, options(bound));
  const findings = result.shared.findings as any;
  const plain = plaintext(rows);
  const n = rows.length;
  expect(findings.records.count).toBe(n);
  expect(findings.labels.labelled.count).toBe(plain.labelled);
  const fp = findings.fixedPoint;
  expect(fp.varianceErrorBound).toBeCloseTo(bound / 256 / (n * n), 15);
  const stats = findings.featureStatistics.stats;
  stats.features.forEach((f: any, j: number) => {
    // analysed variance within the stated bound (plus the 1e-6 rounding of the release)
    expect(Math.abs(f.variance - plain.cov[j]![j]!)).toBeLessThanOrEqual(fp.varianceErrorBound + 1e-6 + 1e-12);
  });
  for (let a = 0; a < J; a++) {
    for (let b = 0; b < J; b++) {
      const r = stats.correlation.matrix[a][b];
      if (r === null) continue; // a feature (nearly) constant in the pooled data
      const truth = plain.cov[a]![b]! / Math.sqrt(plain.cov[a]![a]! * plain.cov[b]![b]!);
      expect(Math.abs(r - truth)).toBeLessThanOrEqual(fp.correlationErrorBound + 5e-5 + 1e-9);
    }
  }
  const risk = findings.riskScore;
  expect(risk.computed).toBe(true);
  expect(Math.abs(risk.score - plain.score)).toBeLessThanOrEqual(risk.errorBound + 5e-9 + 1e-12);
  return result;
}

describe('analyzeMpcOutputs (risk-analyzer-v2 under mpc)', () => {
  const data = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 400, seed: 7 });
  const banks = Object.keys(data.partitions);
  const rows = banks.flatMap((b) => rowsOf(data.partitions[b]!));

  it('names 120 covariance numerators, n², L² and the score numerator', () => {
    expect(MPC_OUTPUT_NAMES).toHaveLength((J * (J + 1)) / 2 + 3);
    expect(MPC_OUTPUT_NAMES[0]).toBe(`variance_numerator:${F[0]!.name}`);
    expect(MPC_OUTPUT_NAMES.slice(-3)).toEqual(['denominator:records_squared', 'denominator:labelled_squared', 'risk_score_numerator']);
  });

  it('the rows are what mpcStatisticValues sums (record count, sums, labelled counts)', () => {
    const summed = banks.map((b) => mpcStatisticValues(data.partitions[b]!)).reduce((s, v) => s.map((x, i) => x + v[i]!));
    expect(summed[MPC_STATISTIC_NAMES.indexOf('count:records')]).toBe(rows.length);
    expect(summed[MPC_STATISTIC_NAMES.indexOf('count:labelled')]).toBe(rows.filter((r) => r.labelled).length);
    F.forEach((f, j) => {
      const name = `${f.binary ? 'count' : 'sum'}:${f.name}`;
      expect(summed[MPC_STATISTIC_NAMES.indexOf(name)]).toBeCloseTo(
        rows.reduce((s, r) => s + r.z[j]!, 0),
        6,
      );
    });
  });

  it('demo data, 3 banks: variances, correlations and the risk score within the stated bound of the plaintext', () => {
    for (const bound of [0, 2, 3]) check(rows, bound, 100 + bound);
  });

  it('property: random rows and errors, always within the bound', () => {
    const rng = seededRng(42);
    for (let trial = 0; trial < 40; trial++) {
      const n = 5 + Math.floor(rng.nextFloat() * 60);
      const list: Row[] = [];
      for (let i = 0; i < n; i++) {
        const channel = Math.floor(rng.nextFloat() * 4); // cash, wire, card or none: exclusive
        const z = F.map((f) => {
          if (f.name.startsWith('channel_')) return ['channel_cash', 'channel_wire', 'channel_card'][channel] === f.name ? 1 : 0;
          if (f.binary) return rng.nextFloat() < 0.3 ? 1 : 0;
          return Math.floor(rng.nextFloat() * 16 * (f.max - f.min) + 0.5) / 16;
        });
        const labelled = i < 3 || rng.nextFloat() < 0.7;
        list.push({ z, labelled, fraud: labelled && (i === 0 || (i > 1 && rng.nextFloat() < 0.3)) });
      }
      const bound = Math.floor(rng.nextFloat() * 4);
      check(list, bound, trial);
    }
  });

  it('shapes an output the release policy accepts, deterministically, stating what mpc cannot do', () => {
    const outputs = exactOutputs(rows);
    const a = analyzeMpcOutputs(outputs, options(2));
    const b = analyzeMpcOutputs(new Map(Object.entries(outputs).map(([k, v]) => [k, { value: v }])), options(2));
    expect(a).toEqual(b);
    expect(checkRelease(a, [])).toEqual({ ok: true });
    expect(a.privateFindings).toEqual({});
    expect(a.privacy).toMatchObject({ mechanism: 'none', parties: 3, threshold: 2, totalNodes: 3, nodesUsed: [1, 2], unit: 'party_vector' });
    const findings = a.shared.findings as any;
    expect(findings.method).toBe('mpc');
    expect(findings.computeNodes).toEqual({ total: 3, threshold: 2, used: [1, 2] });
    expect(findings.capabilities.notPossibleUnderMpc.join(' ')).toMatch(/per-record.*per-institution.*linking transfers.*sequences/s);
    expect(a.shared.content).toMatch(/Not possible under mpc/);
    expect(a.shared.content).toMatch(/fixed-point error of at most 2 units of 2\^-8/);
    expect(findings.featureStatistics.stats.strongestWithNearReportingThreshold.length).toBeGreaterThan(0);
  });

  it('clamps a correlation pushed beyond ±1 by the fixed-point error, and says so', () => {
    // two identical features: r = 1 exactly; the error on the covariance numerator pushes it above 1
    const list: Row[] = Array.from({ length: 10 }, (_, i) => ({ z: F.map((f) => (f.binary ? i % 2 : (i % 5) / 16)), labelled: true, fraud: i % 3 === 0 }));
    const outputs = exactOutputs(list);
    const pair = `covariance_numerator:${F[0]!.name}*${F[7]!.name}`;
    outputs[pair] = outputs[pair]! + 2 / 256;
    const result = analyzeMpcOutputs(outputs, options(2));
    const findings = result.shared.findings as any;
    expect(findings.featureStatistics.stats.correlation.matrix[0][7]).toBe(1);
    expect(findings.fixedPoint.clampedCorrelations).toBeGreaterThan(0);
    expect(result.shared.content).toMatch(/clamped to ±1/);
  });

  it('suppresses small groups and refuses missing or inconsistent outputs', () => {
    const small = analyzeMpcOutputs(exactOutputs(rows.slice(0, 2)), options(0));
    expect(checkRelease(small, [])).toEqual({ ok: true });
    expect((small.shared.findings as any).records).toEqual({ count: null, suppressed: true, stats: null });
    expect((small.shared.findings as any).riskScore.computed).toBe(false);
    const outputs = exactOutputs(rows);
    const { risk_score_numerator: _, ...missing } = outputs;
    expect(() => analyzeMpcOutputs(missing, options(2))).toThrow(ModelRunError);
    expect(() => analyzeMpcOutputs({ ...outputs, 'denominator:records_squared': outputs['denominator:records_squared']! + 0.5 }, options(2))).toThrow(/not the square/);
    expect(() => analyzeMpcOutputs(outputs, { ...options(2), threshold: 4 })).toThrow(RangeError);
  });
});
