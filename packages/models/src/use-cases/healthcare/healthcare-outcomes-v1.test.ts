// healthcare-outcomes-v1 end to end on summed statistics: estimates against the pooled plaintext analysis
// within the stated fixed-point bounds, the planted demo truth recovered, small cells suppressed (with
// their complements), no patient identifier released, private findings, and sanity under added noise.
import { describe, expect, it } from 'vitest';
import { checkRelease, IdentifierIndex } from '../../release.js';
import { seededRng } from '../../rng.js';
import type { ModelOutput, Partition, TransactionRecord } from '../../types.js';
import { healthcareSpec, pooledPlaintextAnalysis } from './index.js';
import type { HealthcareFindings } from './analysis.js';
import { DEMO_TOLERANCES, PLANTED_COEFFICIENTS, PLANTED_HAZARD_RATIO, SMALL_CELL } from './demo.js';
import type { HealthcareEstimates } from './estimates.js';
import { addVectors, summedStatistics, withGaussianNoise } from './healthcare.fixture.js';
import { analysePooledStatistics } from './pooled.js';
import type { PooledAnalysis } from './pooled.js';
import { DIAGNOSES, TREATMENTS, patientRecordsV1 } from './schema.js';
import type { PatientRecord } from './schema.js';
import { HEALTHCARE_SCALE, HEALTHCARE_STATISTICS } from './statistics.js';

const S = HEALTHCARE_SCALE;
const spec = healthcareSpec;

function sumOf(partitions: readonly { records: PatientRecord[] }[]): number[] {
  return addVectors(partitions.map((p) => spec.partyStatistics(p.records)));
}

/** Floating-point slack on top of the stated bounds (relative). */
const close = (a: number, b: number, abs = 0): boolean => Math.abs(a - b) <= abs + 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Asserts every stated bound between the sum-based and the plaintext estimates. */
function expectWithinBounds(got: PooledAnalysis, want: HealthcareEstimates): void {
  const e = got.estimates;
  expect(e.patients).toBe(want.patients);
  expect(e.events).toBe(want.events);
  for (const k of TREATMENTS) {
    const a = e.arms[k];
    const b = want.arms[k];
    expect([a.patients, a.events]).toEqual([b.patients, b.events]);
    for (const key of ['personYears', 'eventProportion', 'hazardPerPersonYear'] as const) expect(close(a[key] ?? NaN, b[key] ?? NaN), `${k}.${key}`).toBe(true);
    expect(close(a.meanLengthOfStayDays!, b.meanLengthOfStayDays!, got.bounds.meanLengthOfStayDays), `${k} mean stay`).toBe(true);
  }
  for (const key of ['riskDifference', 'hazardRatio', 'stratifiedHazardRatio'] as const) {
    const a = e[key]!;
    const b = want[key]!;
    expect(close(a.estimate, b.estimate) && close(a.ci95[0], b.ci95[0]) && close(a.ci95[1], b.ci95[1]), key).toBe(true);
  }
  if (e.regression.status !== 'estimated' || want.regression.status !== 'estimated') throw new Error('regression not estimated');
  const wantReg = want.regression;
  e.regression.coefficients.forEach((c, j) => {
    const p = wantReg.coefficients[j]!;
    expect(c.term).toBe(p.term);
    expect(close(c.estimate, p.estimate, got.bounds.coefficients[j]), `${c.term} estimate`).toBe(true);
    expect(close(c.se!, p.se!, got.bounds.coefficientSe[j]), `${c.term} se`).toBe(true);
  });
  expect(close(e.regression.residualStdDays!, wantReg.residualStdDays!, got.bounds.residualStdDays!)).toBe(true);
}

/** Records drawn uniformly over the schema's ranges, stays with arbitrary fractions (some at 365 days). */
function randomRecords(seed: number, n: number): PatientRecord[] {
  const rng = seededRng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.nextFloat() * (hi - lo + 1));
  return Array.from({ length: n }, (_, i) => {
    const age = int(0, 110);
    const comorbidities = int(0, 10);
    const treatment = TREATMENTS[int(0, 1)]!;
    return {
      patientId: `prop-${seed}-${i}`,
      ageYears: age,
      sex: rng.nextFloat() < 0.5 ? 'F' : 'M',
      diagnosis: DIAGNOSES[int(0, DIAGNOSES.length - 1)]!,
      treatment,
      comorbidities,
      lengthOfStayDays: rng.nextFloat() < 0.01 ? 365 : Math.min(365, Math.max(0, 2 + age / 20 + comorbidities - (treatment === 'intervention' ? 1 : 0) + 3 * rng.nextFloat())),
      followUpDays: int(1, 3650),
      event: rng.nextFloat() < 0.25,
    };
  });
}

/** Every number in a JSON-like value. */
function numbers(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => numbers(v, out));
  else if (typeof value === 'object' && value !== null) Object.values(value).forEach((v) => numbers(v, out));
  return out;
}

/** Every aggregate in a JSON-like value. */
function aggregates(value: unknown, out: { count: number | null; suppressed: boolean }[] = []): typeof out {
  if (Array.isArray(value)) value.forEach((v) => aggregates(v, out));
  else if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (typeof o.suppressed === 'boolean') out.push(o as { count: number | null; suppressed: boolean });
    Object.values(o).forEach((v) => aggregates(v, out));
  }
  return out;
}

/** The release policy's aggregate and count rules (release.ts) on the shared output. */
function expectReleasable(findings: Record<string, unknown>, content: string): void {
  const output = { shared: { content, findings }, privateFindings: {}, privacy: { mechanism: 'none', unit: 'record' } } as unknown as ModelOutput;
  expect(checkRelease(output, [] as Partition[], { minGroupSize: spec.minGroupSize })).toEqual({ ok: true });
}

/** No patient identifier anywhere in the shared findings or narrative (keys included). */
function expectNoIdentifier(records: readonly PatientRecord[], findings: Record<string, unknown>, content: string): void {
  const index = new IdentifierIndex();
  for (const r of records) index.add(r.patientId);
  const strings: string[] = [content];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') strings.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) (strings.push(k), walk(x));
  };
  walk(findings);
  for (const s of strings) expect(index.occurrences(s)).toEqual([]);
}

describe('healthcare-outcomes-v1 spec', () => {
  it('declares the model, its schema, its statistics and its constants', () => {
    expect(spec.id).toBe('healthcare-outcomes-v1');
    expect(spec.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(spec.useCase).toBe('healthcare-research');
    expect(spec.schema).toBe(patientRecordsV1);
    expect(spec.schema.id).toBe('patient_records_v1');
    expect(spec.identifierFields).toEqual(['patientId']);
    expect(spec.scale).toBe(S);
    expect(spec.statistics).toBe(HEALTHCARE_STATISTICS);
    expect(spec.minGroupSize).toBe(10);
    expect(spec.constants.minCellSize).toBe(spec.minGroupSize);
    expect(JSON.parse(JSON.stringify(spec.constants))).toEqual(spec.constants);
  });
});

describe('estimates against the pooled plaintext analysis', () => {
  it('agree on the demo within the stated bounds (exact for counts, events, hazards and their ratios)', () => {
    const demo = spec.generateDemo();
    const records = demo.partitions.flatMap((p) => p.records);
    const got = analysePooledStatistics(summedStatistics(sumOf(demo.partitions)));
    expectWithinBounds(got, pooledPlaintextAnalysis(records));
    // The stated (worst-case) bounds on this demo: 1/32 day for a mean stay; 0.19 day for the intercept,
    // 0.02-0.06 day for the slopes; 0.12 day for the residual SD (yᵀy rounding, n/8 day² at worst).
    expect(got.bounds.meanLengthOfStayDays).toBe(1 / 32);
    expect(got.bounds.coefficients.map((b) => Number(b.toFixed(2)))).toEqual([0.19, 0.03, 0.06, 0.06, 0.02]);
    expect(got.bounds.residualStdDays!.toFixed(2)).toBe('0.12');
  });

  it('agree within the stated bounds on random records over 20 seeds and random splits into hospitals', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const records = randomRecords(seed, 200 + 37 * seed);
      const parties = 2 + (seed % 4);
      const partitions = Array.from({ length: parties }, (_, p) => ({ records: records.filter((_, i) => i % parties === p) }));
      const got = analysePooledStatistics(summedStatistics(sumOf(partitions), { parties }));
      expectWithinBounds(got, pooledPlaintextAnalysis(records));
    }
  });

  it('are equal to the plaintext ones when every stay is a multiple of 1/16 day (coefficients to 1e-9)', () => {
    const records = randomRecords(77, 500).map((r) => ({ ...r, lengthOfStayDays: Math.round(r.lengthOfStayDays * 16) / 16 }));
    const got = analysePooledStatistics(summedStatistics(spec.partyStatistics(records)));
    const want = pooledPlaintextAnalysis(records);
    if (got.estimates.regression.status !== 'estimated' || want.regression.status !== 'estimated') throw new Error('not estimated');
    const wantCoefficients = want.regression.coefficients;
    got.estimates.regression.coefficients.forEach((c, j) => expect(close(c.estimate, wantCoefficients[j]!.estimate, 1e-9)).toBe(true));
  });
});

describe('the demo', () => {
  it('is deterministic, valid under the schema, 3 hospitals × 1,500 patients with a 6-patient C34 cell', () => {
    const a = spec.generateDemo();
    expect(spec.generateDemo()).toEqual(a);
    expect(spec.generateDemo({ seed: 2 })).not.toEqual(a);
    expect(a.partitions.map((p) => [p.partyId, p.records.length])).toEqual([
      ['hospitalA', 1500],
      ['hospitalB', 1500],
      ['hospitalC', 1500],
    ]);
    for (const p of a.partitions) expect(spec.schema.validate(p.records).ok).toBe(true);
    expect(a.partitions.flatMap((p) => p.records).filter((r) => r.diagnosis === SMALL_CELL.diagnosis)).toHaveLength(6);
    expect(JSON.parse(JSON.stringify(a.truth))).toEqual(a.truth);
  });

  it('refuses bad options', () => {
    expect(() => spec.generateDemo({ parties: ['only'] })).toThrow(new RangeError('options.parties must name at least 2 hospitals'));
    expect(() => spec.generateDemo({ parties: ['a', 'a'] })).toThrow(new RangeError('options.parties must not repeat'));
    expect(() => spec.generateDemo({ recordsPerParty: 10 })).toThrow(RangeError);
    expect(() => spec.generateDemo({ seed: 1.5 })).toThrow(new TypeError('options.seed must be an integer'));
  });

  it('recovers the planted truth: HR 0.6, slopes +0.5/decade, +0.3 male, −1.2 intervention, +1.5/comorbidity, C34 suppressed', () => {
    const demo = spec.generateDemo();
    const analysis = spec.analyse(summedStatistics(sumOf(demo.partitions)));
    const evaluation = spec.evaluateDemo(demo.truth, analysis.findings);
    expect(evaluation.recovered).toBe(true);
    const f = evaluation.figures;
    expect(f.plantedHazardRatio).toBe(PLANTED_HAZARD_RATIO);
    expect(Math.abs((f.hazardRatio as number) - 0.6)).toBeLessThanOrEqual(DEMO_TOLERANCES.hazardRatio);
    expect(f.hazardRatioCiLow as number).toBeLessThan(0.6);
    expect(f.hazardRatioCiHigh as number).toBeGreaterThan(0.6);
    for (const [term, planted] of Object.entries(PLANTED_COEFFICIENTS)) {
      if (term !== 'intercept') expect(Math.abs((f[term] as number) - planted)).toBeLessThanOrEqual(DEMO_TOLERANCES.coefficient);
    }
    expect(f.smallCellSuppressed).toBe(true);
    expect(f.suppressedCells).toContain('cohort.byDiagnosis.C34');
    // Seed 1: stratified HR 0.604 (95% CI 0.526–0.694), crude 0.616; slopes 0.482, 0.213, −1.208, 1.515.
    expect(f).toMatchObject({ hazardRatio: 0.604342, crudeHazardRatio: 0.616187, agePerDecade: 0.482388, intervention: -1.208291, comorbidity: 1.514927 });
  });

  it('recovers the planted truth for other seeds and hospital counts too', () => {
    for (const options of [{ seed: 2 }, { seed: 3 }, { seed: 4, parties: ['h1', 'h2', 'h3', 'h4'] }, { seed: 5, parties: ['x', 'y'], recordsPerParty: 2500 }]) {
      const demo = spec.generateDemo(options);
      const analysis = spec.analyse(summedStatistics(sumOf(demo.partitions), { parties: demo.partitions.length }));
      expect(spec.evaluateDemo(demo.truth, analysis.findings), JSON.stringify(options)).toMatchObject({ recovered: true });
    }
  });

  it('does not call it recovered when the small cell is released or the hazard ratio is off', () => {
    const demo = spec.generateDemo();
    const findings = spec.analyse(summedStatistics(sumOf(demo.partitions))).findings as unknown as HealthcareFindings;
    const leaked = structuredClone(findings);
    leaked.cohort.byDiagnosis.C34 = { count: 6, suppressed: false, stats: null };
    expect(spec.evaluateDemo(demo.truth, leaked as unknown as Record<string, unknown>).recovered).toBe(false);
    const off = structuredClone(findings);
    off.survival.stratifiedHazardRatio!.estimate = 0.9;
    expect(spec.evaluateDemo(demo.truth, off as unknown as Record<string, unknown>).recovered).toBe(false);
    expect(spec.evaluateDemo(demo.truth, {}).recovered).toBe(false);
    expect(() => spec.evaluateDemo({}, findings as unknown as Record<string, unknown>)).toThrow(TypeError);
  });
});

describe('shared findings', () => {
  const demo = spec.generateDemo();
  const records = demo.partitions.flatMap((p) => p.records);
  const analysis = spec.analyse(summedStatistics(sumOf(demo.partitions)));
  const f = analysis.findings as unknown as HealthcareFindings;

  it('pass the release policy and contain no patientId', () => {
    expectReleasable(analysis.findings, analysis.content);
    expectNoIdentifier(records, analysis.findings, analysis.content);
    for (const p of demo.partitions) expect(analysis.content).not.toContain(p.partyId);
  });

  it('suppress the small C34 cell, its arms and events, and enough complementary cells that none is recoverable by subtraction', () => {
    expect(f.cohort.byDiagnosis.C34).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.treatmentOutcomes.byDiagnosis.C34.standard.suppressed).toBe(true);
    expect(f.treatmentOutcomes.byDiagnosis.C34.intervention.suppressed).toBe(true);
    expect(f.treatmentOutcomes.byDiagnosis.C34.riskDifference).toBeNull();
    // Complementary: with the total and the other diagnoses released, one more diagnosis must go.
    const hiddenDiagnoses = DIAGNOSES.filter((d) => f.cohort.byDiagnosis[d].suppressed);
    expect(hiddenDiagnoses.length).toBeGreaterThanOrEqual(2);
    for (const d of DIAGNOSES) {
      const hidden = TREATMENTS.filter((k) => f.treatmentOutcomes.byDiagnosis[d][k].suppressed).length + (f.cohort.byDiagnosis[d].suppressed ? 1 : 0);
      expect(hidden === 0 || hidden >= 2, d).toBe(true);
    }
    for (const k of TREATMENTS) {
      const hidden = DIAGNOSES.filter((d) => f.treatmentOutcomes.byDiagnosis[d][k].suppressed).length;
      expect(hidden === 0 || hidden >= 2, k).toBe(true);
    }
    expect(f.suppression.cells.map((c) => c.path)).toContain('cohort.byDiagnosis.C34');
    expect(analysis.content).toContain('C34 malignant neoplasm of bronchus and lung suppressed');
    expect(analysis.content).not.toMatch(/C34[^;]*\b6\b/);
  });

  it('report the survival and regression results and the precision', () => {
    expect(f.survival.withheld).toBeNull();
    expect(f.survival.stratifiedHazardRatio!.strata).toBe('diagnosis');
    expect(f.regression.result.status).toBe('estimated');
    expect(f.precision).toMatchObject({ scale: S, noiseStd: 0, noiseStdPatients: 0, lengthOfStayResolutionDays: 1 / 16 });
    expect(Object.keys(f.precision.errorBounds.coefficients!)).toEqual(['intercept', 'agePerDecade', 'male', 'intervention', 'comorbidity']);
    expect(analysis.content).toMatch(/stratified by diagnosis \(Mantel-Haenszel\) 0\.60 \(95% CI 0\.53 to 0\.69\)/);
    expect(analysis.content).toContain('The sum carries no noise.');
  });

  it('are deterministic', () => {
    expect(spec.analyse(summedStatistics(sumOf(demo.partitions)))).toEqual(analysis);
  });

  it('release nothing for a cohort under the minimum cell size, and cope with an empty one', () => {
    const few = spec.analyse(summedStatistics(spec.partyStatistics(records.slice(0, 7))));
    expect((few.findings as unknown as HealthcareFindings).cohort.total.suppressed).toBe(true);
    expect((few.findings as unknown as HealthcareFindings).regression.result.status).toBe('withheld');
    expect(few.content).toContain('fewer than 10 patients, so no figures are released');
    expectReleasable(few.findings, few.content);
    const none = spec.analyse(summedStatistics(new Array(HEALTHCARE_STATISTICS.length).fill(0)));
    expect((none.findings as unknown as HealthcareFindings).cohort.total).toEqual({ count: 0, suppressed: false, stats: null });
    expectReleasable(none.findings, none.content);
  });

  it('refuse a malformed sum', () => {
    expect(() => spec.analyse(summedStatistics([1, 2, 3]))).toThrow(new RangeError('sum.values must hold 72 statistics'));
    expect(() => spec.analyse({ ...summedStatistics(sumOf(demo.partitions)), scale: 256 })).toThrow(new RangeError(`sum.scale must be ${S}`));
    expect(() => spec.analyse({ ...summedStatistics(sumOf(demo.partitions)), noiseStd: -1 })).toThrow(RangeError);
  });
});

describe('private findings (federated)', () => {
  it('give a hospital its own cohort against the pooled figures, nothing of the others', () => {
    const demo = spec.generateDemo();
    const analysis = spec.analyse(summedStatistics(sumOf(demo.partitions), { method: 'federated' }));
    const pooled = (analysis.findings as unknown as HealthcareFindings).cohort.total.stats!;
    for (const p of demo.partitions) {
      const own = spec.privateFindings!(p.records, analysis);
      expect(own.flagged).toEqual([]);
      const events = p.records.filter((r) => r.event).length;
      expect(own.summary).toMatchObject({ patients: p.records.length, events, pooledEventProportion: (pooled.events as { stats: { proportion: number } }).stats.proportion });
      const others = new IdentifierIndex();
      for (const q of demo.partitions) if (q !== p) for (const r of q.records) others.add(r.patientId);
      expect(others.occurrences(JSON.stringify(own))).toEqual([]);
      // What the release policy checks for private findings (identifiers of another party) holds too.
      const asTransactions = (q: { partyId: string; records: PatientRecord[] }): Partition => ({
        partyId: q.partyId,
        records: q.records.map((r) => ({ transactionId: r.patientId, accountId: r.patientId, counterpartyAccountId: r.patientId }) as TransactionRecord),
      });
      const output = { shared: { content: analysis.content, findings: analysis.findings }, privateFindings: { [p.partyId]: own }, privacy: {} } as unknown as ModelOutput;
      expect(checkRelease(output, demo.partitions.map(asTransactions), { minGroupSize: 10 })).toEqual({ ok: true });
    }
  });
});

describe('with noise added to the sum', () => {
  const demo = spec.generateDemo();
  const exact = sumOf(demo.partitions);

  function noisy(stdPatients: number, seed: number): { findings: HealthcareFindings; content: string; raw: Record<string, unknown> } {
    const std = stdPatients * S;
    const a = spec.analyse(summedStatistics(withGaussianNoise(exact, std, seededRng(seed)), { noiseStd: std }));
    return { findings: a.findings as unknown as HealthcareFindings, content: a.content, raw: a.findings };
  }

  it('stays sane at a small noise: finite numbers, counts never negative, HR near 0.6, the noise stated and carried into the intervals', () => {
    for (const seed of [1, 2, 3]) {
      const { findings, content, raw } = noisy(0.05, seed);
      expect(numbers(raw).every(Number.isFinite)).toBe(true);
      for (const a of aggregates(raw)) expect(a.count === null || (Number.isInteger(a.count) && a.count >= 0)).toBe(true);
      expectReleasable(raw, content);
      expect(findings.precision.noiseStd).toBeCloseTo(0.05 * S, 6);
      expect(findings.precision.noiseStdPatients).toBeCloseTo(0.05, 6);
      expect(content).toContain('carry noise of standard deviation');
      const hr = findings.survival.stratifiedHazardRatio!;
      expect(Math.abs(hr.estimate - 0.6)).toBeLessThan(0.1);
      expect(findings.cohort.byDiagnosis.C34.suppressed).toBe(true);
      const reg = findings.regression.result;
      if (reg.status === 'estimated') {
        for (const c of reg.coefficients) {
          expect(c.noiseSe).toBeGreaterThan(0);
          // Within 5 noise SEs of the planted value (plus the sampling error, well under 0.15 here).
          expect(Math.abs(c.estimate - PLANTED_COEFFICIENTS[c.term])).toBeLessThan(5 * c.noiseSe + 0.15);
        }
      }
    }
  });

  it('widens the hazard-ratio interval with the noise', () => {
    const exactHr = (spec.analyse(summedStatistics(exact)).findings as unknown as HealthcareFindings).survival.hazardRatio!;
    const noisyHr = noisy(5, 1).findings.survival.hazardRatio!;
    expect(noisyHr.logSe).toBeGreaterThan(exactHr.logSe);
  });

  it('refuses the regression, rather than report it, when the noise swamps XᵀX, and stays releasable', () => {
    for (const seed of [1, 2]) {
      const { findings, content, raw } = noisy(20, seed);
      expect(numbers(raw).every(Number.isFinite)).toBe(true);
      for (const a of aggregates(raw)) expect(a.count === null || a.count >= 0).toBe(true);
      expect(findings.regression.result.status).toBe('not_estimable');
      expect(content).toMatch(/Length-of-stay regression: not reported/);
      expectReleasable(raw, content);
    }
  });

  it('copes with pure noise (a sum that is all noise, negative values included)', () => {
    const std = 3 * S;
    const values = withGaussianNoise(new Array(HEALTHCARE_STATISTICS.length).fill(0), std, seededRng(11));
    expect(values.some((v) => v < 0)).toBe(true);
    const a = spec.analyse(summedStatistics(values, { noiseStd: std }));
    expect(numbers(a.findings).every(Number.isFinite)).toBe(true);
    for (const g of aggregates(a.findings)) expect(g.count === null || g.count >= 0).toBe(true);
    expectReleasable(a.findings, a.content);
  });
});
