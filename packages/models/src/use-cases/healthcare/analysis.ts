// The shared result of healthcare-outcomes-v1 from the summed statistics: the cohort tables, the
// treatment-outcome comparison, the pooled survival and length-of-stay analyses, with small cells
// suppressed (primary and complementary, suppression.ts), the fixed-point error bounds and the noise
// stated; then the narrative written from them. Also what one hospital learns privately in a federated run.
import type { SummedStatistics, UseCaseAnalysis, UseCasePrivateFindings } from '../contract.js';
import { aggregate, formatInt, round } from '../../report.js';
import type { Aggregate } from '../../types.js';
import { DIAGNOSES, DIAGNOSIS_TITLES, SEXES, TREATMENTS } from './schema.js';
import type { Diagnosis, PatientRecord, Sex, Treatment } from './schema.js';
import { Z_95, addArms, armEstimates, riskDifference } from './estimates.js';
import type { ArmSums, DifferenceEstimate, Noisy, RatioEstimate, RegressionEstimates } from './estimates.js';
import { analysePooledStatistics, armTotal } from './pooled.js';
import type { QuantisationBounds } from './pooled.js';
import { AGE_BANDS, HEALTHCARE_SCALE, LENGTH_OF_STAY_STEPS_PER_DAY, requirePatientRecord } from './statistics.js';
import type { AgeBand } from './statistics.js';
import { Cell, protectCells } from './suppression.js';
import type { Partition } from './suppression.js';
import { writeHealthcareNarrative } from './narrative.js';

export const HEALTHCARE_MODEL_ID = 'healthcare-outcomes-v1';
export const HEALTHCARE_MODEL_VERSION = '1.0.0';
/** Minimum cell size: a released count describes 0 or at least this many patients (or events). */
export const MIN_CELL_SIZE = 10;

/** Released numbers carry 6 decimals. */
const r6 = (x: number): number => round(x, 6);
const r6OrNull = (x: number | null): number | null => (x === null ? null : r6(x));
const count = (x: Noisy): number => Math.max(0, Math.round(x.value));

export interface ReleasedDifference {
  estimate: number;
  se: number;
  ci95: [number, number];
}
export interface ReleasedRatio {
  estimate: number;
  logSe: number;
  ci95: [number, number];
}

export interface HealthcareFindings {
  model: { id: string; version: string };
  method: SummedStatistics['method'];
  parties: number;
  minGroupSize: number;
  cohort: {
    /** stats: { events: Aggregate (stats { proportion }), personYears, meanLengthOfStayDays }. */
    total: Aggregate;
    bySex: Record<Sex, Aggregate>;
    byAgeBand: Record<AgeBand, Aggregate>;
    byDiagnosis: Record<Diagnosis, Aggregate>;
  };
  treatmentOutcomes: {
    /** stats: { events: Aggregate (stats { proportion, hazardPerPersonYear }), personYears, meanLengthOfStayDays }. */
    arms: Record<Treatment, Aggregate>;
    /** Event proportion intervention − standard. */
    riskDifference: ReleasedDifference | null;
    byDiagnosis: Record<Diagnosis, { standard: Aggregate; intervention: Aggregate; riskDifference: ReleasedDifference | null }>;
  };
  survival: {
    model: string;
    hazardRatio: ReleasedRatio | null;
    stratifiedHazardRatio: (ReleasedRatio & { strata: 'diagnosis'; method: string }) | null;
    withheld: string | null;
  };
  regression: {
    outcome: 'lengthOfStayDays';
    model: string;
    result: RegressionEstimates | { status: 'withheld'; reason: string };
  };
  suppression: { minGroupSize: number; cells: { path: string; reason: string }[] };
  precision: {
    scale: number;
    lengthOfStayResolutionDays: number;
    /** Noise SD of every statistic in integer units (scale included), and per count in patients. */
    noiseStd: number;
    noiseStdPatients: number;
    /** The fixed-point error of the figures against the pooled plaintext analysis; they hold without noise. */
    errorBounds: {
      exact: string;
      meanLengthOfStayDays: number;
      coefficients: Record<string, number> | null;
      coefficientSe: Record<string, number> | null;
      residualStdDays: number | null;
    };
    statement: string;
  };
}

interface Tables {
  total: Cell;
  totalEvents: Cell;
  sex: Record<Sex, Cell>;
  ageBands: Record<AgeBand, Cell>;
  diagnoses: Record<Diagnosis, Cell>;
  arms: Record<Treatment, Cell>;
  armEvents: Record<Treatment, Cell>;
  cells: Record<Diagnosis, Record<Treatment, Cell>>;
  cellEvents: Record<Diagnosis, Record<Treatment, Cell>>;
}

function buildTables(
  cellSums: Readonly<Record<Diagnosis, Readonly<Record<Treatment, ArmSums>>>>,
  armSums: Record<Treatment, ArmSums>,
  male: Noisy,
  ageBands: Readonly<Record<AgeBand, Noisy>>,
): Tables {
  const m = MIN_CELL_SIZE;
  const all = addArms(armSums.standard, armSums.intervention);
  const total = new Cell('cohort.total', count(all.patients), m);
  const totalEvents = new Cell('cohort.total.stats.events', Math.min(total.value, count(all.events)), m);
  const maleN = Math.min(total.value, count(male));
  const sex: Record<Sex, Cell> = {
    F: new Cell('cohort.bySex.F', total.value - maleN, m),
    M: new Cell('cohort.bySex.M', maleN, m),
  };
  const bands = {} as Record<AgeBand, Cell>;
  for (const [band] of AGE_BANDS) bands[band] = new Cell(`cohort.byAgeBand.${band}`, count(ageBands[band]), m);
  const diagnoses = {} as Record<Diagnosis, Cell>;
  const cells = {} as Record<Diagnosis, Record<Treatment, Cell>>;
  const cellEvents = {} as Record<Diagnosis, Record<Treatment, Cell>>;
  for (const d of DIAGNOSES) {
    const both = addArms(cellSums[d].standard, cellSums[d].intervention);
    diagnoses[d] = new Cell(`cohort.byDiagnosis.${d}`, count(both.patients), m);
    cells[d] = {} as Record<Treatment, Cell>;
    cellEvents[d] = {} as Record<Treatment, Cell>;
    for (const k of TREATMENTS) {
      const path = `treatmentOutcomes.byDiagnosis.${d}.${k}`;
      const patients = count(cellSums[d][k].patients);
      cells[d][k] = new Cell(path, patients, m);
      cellEvents[d][k] = new Cell(`${path}.stats.events`, Math.min(patients, count(cellSums[d][k].events)), m);
    }
  }
  const arms = {} as Record<Treatment, Cell>;
  const armEvents = {} as Record<Treatment, Cell>;
  for (const k of TREATMENTS) {
    const path = `treatmentOutcomes.arms.${k}`;
    arms[k] = new Cell(path, count(armSums[k].patients), m);
    armEvents[k] = new Cell(`${path}.stats.events`, Math.min(arms[k].value, count(armSums[k].events)), m);
  }
  const partitions: Partition[] = [
    { total, parts: DIAGNOSES.map((d) => diagnoses[d]) },
    { total, parts: SEXES.map((s) => sex[s]) },
    { total, parts: AGE_BANDS.map(([b]) => bands[b]) },
    { total, parts: TREATMENTS.map((k) => arms[k]) },
    { total: totalEvents, parts: TREATMENTS.map((k) => armEvents[k]) },
    ...DIAGNOSES.map((d) => ({ total: diagnoses[d], parts: TREATMENTS.map((k) => cells[d][k]) })),
    ...TREATMENTS.map((k) => ({ total: arms[k], parts: DIAGNOSES.map((d) => cells[d][k]) })),
    ...TREATMENTS.map((k) => ({ total: armEvents[k], parts: DIAGNOSES.map((d) => cellEvents[d][k]) })),
  ];
  const nested: [Cell, Cell][] = [
    [total, totalEvents],
    ...TREATMENTS.map((k): [Cell, Cell] => [arms[k], armEvents[k]]),
    ...DIAGNOSES.flatMap((d) => TREATMENTS.map((k): [Cell, Cell] => [cells[d][k], cellEvents[d][k]])),
  ];
  protectCells(partitions, nested);
  return { total, totalEvents, sex, ageBands: bands, diagnoses, arms, armEvents, cells, cellEvents };
}

/** The aggregate of a cell: suppressed when hidden (primary or complementary), else report.ts aggregate(). */
function release(cell: Cell, stats: () => Record<string, unknown>): Aggregate {
  if (cell.hidden !== null) return { count: null, suppressed: true, stats: null };
  return aggregate(cell.value, MIN_CELL_SIZE, cell.value === 0 ? null : stats());
}

const percent = (part: Cell, total: Cell): number => (total.value > 0 ? r6((100 * part.value) / total.value) : 0);

function releaseDifference(d: DifferenceEstimate | null): ReleasedDifference | null {
  return d === null ? null : { estimate: r6(d.estimate), se: r6(d.se), ci95: [r6(d.ci95[0]), r6(d.ci95[1])] };
}
function releaseRatio(r: RatioEstimate | null): ReleasedRatio | null {
  return r === null ? null : { estimate: r6(r.estimate), logSe: r6(r.logSe), ci95: [r6(r.ci95[0]), r6(r.ci95[1])] };
}

function releaseRegression(reg: RegressionEstimates): RegressionEstimates {
  if (reg.status === 'not_estimable') return reg;
  return {
    status: 'estimated',
    observations: reg.observations,
    residualStdDays: r6OrNull(reg.residualStdDays),
    coefficients: reg.coefficients.map((c) => ({
      term: c.term,
      estimate: r6(c.estimate),
      se: r6OrNull(c.se),
      ci95: c.ci95 === null ? null : [r6(c.ci95[0]), r6(c.ci95[1])],
      noiseSe: r6(c.noiseSe),
    })),
  };
}

function boundsByTerm(values: readonly number[], reg: RegressionEstimates): Record<string, number> | null {
  if (reg.status !== 'estimated' || values.length === 0) return null;
  return Object.fromEntries(reg.coefficients.map((c, j) => [c.term, Number(values[j]!.toPrecision(3))]));
}

/** Shared findings and narrative of healthcare-outcomes-v1 from the summed statistics. Deterministic. */
export function analyseHealthcare(sum: SummedStatistics): UseCaseAnalysis {
  const { pooled, estimates, bounds } = analysePooledStatistics(sum);
  const armSums: Record<Treatment, ArmSums> = { standard: armTotal(pooled, 'standard'), intervention: armTotal(pooled, 'intervention') };
  const t = buildTables(pooled.cells, armSums, pooled.male, pooled.ageBands);
  const all = armEstimates(addArms(armSums.standard, armSums.intervention));
  const withheld = t.total.hidden !== null || t.total.value === 0;

  const armFindings = {} as Record<Treatment, Aggregate>;
  for (const k of TREATMENTS) {
    const e = estimates.arms[k];
    armFindings[k] = release(t.arms[k], () => ({
      events: release(t.armEvents[k], () => ({ proportion: r6OrNull(e.eventProportion), hazardPerPersonYear: r6OrNull(e.hazardPerPersonYear) })),
      personYears: r6(e.personYears),
      meanLengthOfStayDays: r6OrNull(e.meanLengthOfStayDays),
    }));
  }
  const eventsShown = (cells: Cell[]): boolean => cells.every((c) => c.hidden === null);
  const byDiagnosis = {} as HealthcareFindings['treatmentOutcomes']['byDiagnosis'];
  for (const d of DIAGNOSES) {
    const side = (k: Treatment): Aggregate => {
      const e = armEstimates(pooled.cells[d][k]);
      return release(t.cells[d][k], () => ({
        events: release(t.cellEvents[d][k], () => ({ proportion: r6OrNull(e.eventProportion) })),
        meanLengthOfStayDays: r6OrNull(e.meanLengthOfStayDays),
      }));
    };
    const shown = eventsShown([t.cells[d].standard, t.cells[d].intervention, t.cellEvents[d].standard, t.cellEvents[d].intervention]);
    byDiagnosis[d] = {
      standard: side('standard'),
      intervention: side('intervention'),
      riskDifference: shown ? releaseDifference(riskDifference(pooled.cells[d].intervention, pooled.cells[d].standard)) : null,
    };
  }
  const armsShown = eventsShown([t.arms.standard, t.arms.intervention, t.armEvents.standard, t.armEvents.intervention]);
  const survivalWithheld = withheld
    ? `the cohort has fewer than ${MIN_CELL_SIZE} patients`
    : armsShown
      ? null
      : `an arm has fewer than ${MIN_CELL_SIZE} patients or events`;
  const stratified = releaseRatio(estimates.stratifiedHazardRatio);

  const suppressed = [
    t.total,
    t.totalEvents,
    ...SEXES.map((s) => t.sex[s]),
    ...AGE_BANDS.map(([b]) => t.ageBands[b]),
    ...DIAGNOSES.map((d) => t.diagnoses[d]),
    ...TREATMENTS.flatMap((k) => [t.arms[k], t.armEvents[k]]),
    ...DIAGNOSES.flatMap((d) => TREATMENTS.flatMap((k) => [t.cells[d][k], t.cellEvents[d][k]])),
  ]
    .filter((c) => c.hidden !== null)
    .map((c) => ({ path: c.path, reason: c.hidden === 'primary' ? `fewer than ${MIN_CELL_SIZE}` : c.hidden === 'secondary' ? 'complementary (protects another cell)' : 'inside a suppressed cell' }));

  const noisy = sum.noiseStd > 0;
  const findings: HealthcareFindings = {
    model: { id: HEALTHCARE_MODEL_ID, version: HEALTHCARE_MODEL_VERSION },
    method: sum.method,
    parties: sum.parties,
    minGroupSize: MIN_CELL_SIZE,
    cohort: {
      total: release(t.total, () => ({
        events: release(t.totalEvents, () => ({ proportion: r6OrNull(all.eventProportion) })),
        personYears: r6(all.personYears),
        meanLengthOfStayDays: r6OrNull(all.meanLengthOfStayDays),
      })),
      bySex: Object.fromEntries(SEXES.map((s) => [s, release(t.sex[s], () => ({ percent: percent(t.sex[s], t.total) }))])) as Record<Sex, Aggregate>,
      byAgeBand: Object.fromEntries(AGE_BANDS.map(([b]) => [b, release(t.ageBands[b], () => ({ percent: percent(t.ageBands[b], t.total) }))])) as Record<AgeBand, Aggregate>,
      byDiagnosis: Object.fromEntries(
        DIAGNOSES.map((d) => [d, release(t.diagnoses[d], () => ({ title: DIAGNOSIS_TITLES[d], percent: percent(t.diagnoses[d], t.total) }))]),
      ) as Record<Diagnosis, Aggregate>,
    },
    treatmentOutcomes: {
      arms: armFindings,
      riskDifference: armsShown ? releaseDifference(estimates.riskDifference) : null,
      byDiagnosis,
    },
    survival: {
      model: 'exponential (constant hazard) per arm; hazard ratio intervention / standard, SE(log HR) = sqrt(1/d1 + 1/d0)',
      hazardRatio: survivalWithheld === null ? releaseRatio(estimates.hazardRatio) : null,
      stratifiedHazardRatio: survivalWithheld !== null || stratified === null ? null : { ...stratified, strata: 'diagnosis', method: 'Mantel-Haenszel rate ratio, Greenland-Robins variance' },
      withheld: survivalWithheld,
    },
    regression: {
      outcome: 'lengthOfStayDays',
      model: 'OLS of lengthOfStayDays on [1, ageYears/10, sex = M, treatment = intervention, comorbidities] from the pooled XᵀX, Xᵀy, yᵀy',
      result: withheld ? { status: 'withheld', reason: `the cohort has fewer than ${MIN_CELL_SIZE} patients` } : releaseRegression(estimates.regression),
    },
    suppression: { minGroupSize: MIN_CELL_SIZE, cells: suppressed },
    precision: {
      scale: HEALTHCARE_SCALE,
      lengthOfStayResolutionDays: 1 / LENGTH_OF_STAY_STEPS_PER_DAY,
      noiseStd: sum.noiseStd,
      noiseStdPatients: r6(pooled.noiseStdRecords),
      errorBounds: errorBounds(bounds, estimates.regression),
      statement: precisionStatement(noisy, sum.noiseStd, pooled.noiseStdRecords),
    },
  };
  return { findings: findings as unknown as Record<string, unknown>, content: writeHealthcareNarrative(findings) };
}

function errorBounds(bounds: QuantisationBounds, reg: RegressionEstimates): HealthcareFindings['precision']['errorBounds'] {
  return {
    exact: 'counts, events, person-time, proportions, hazards, hazard ratios and their intervals',
    meanLengthOfStayDays: bounds.meanLengthOfStayDays,
    coefficients: boundsByTerm(bounds.coefficients, reg),
    coefficientSe: boundsByTerm(bounds.coefficientSe, reg),
    residualStdDays: bounds.residualStdDays === null ? null : Number(bounds.residualStdDays.toPrecision(3)),
  };
}

function precisionStatement(noisy: boolean, noiseStd: number, perPatient: number): string {
  const fixed = `Fixed point at scale 2^20: counts, events, person-time and XᵀX are exact; each stay is read at 1/${LENGTH_OF_STAY_STEPS_PER_DAY}-day resolution, so a mean stay is within 1/32 day and each coefficient within the stated bound of the pooled plaintext analysis; 95% intervals use z = ${round(Z_95, 4)}.`;
  if (!noisy) return `${fixed} The sum carries no noise.`;
  return `${fixed} The summed statistics carry noise of standard deviation ${formatInt(noiseStd)} in integer units (about ${round(perPatient, 3)} patients per count); the bounds hold for the noise-free sum only, counts are rounded and clamped at 0, and every interval includes the noise's variance.`;
}

// ---- private findings (federated runs) ----

function readNumber(value: unknown, path: readonly string[]): number | null {
  let v: unknown = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return null;
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** What one hospital learns privately: its own cohort against the pooled figures of the shared analysis. */
export function healthcarePrivateFindings(records: readonly PatientRecord[], analysis: UseCaseAnalysis): UseCasePrivateFindings {
  if (!Array.isArray(records)) throw new TypeError('records must be an array of patient records');
  if (typeof analysis !== 'object' || analysis === null || typeof analysis.findings !== 'object' || analysis.findings === null) {
    throw new TypeError('analysis must be a UseCaseAnalysis');
  }
  let events = 0;
  let los = 0;
  records.forEach((record, i) => {
    const r = requirePatientRecord(record, i);
    events += r.event ? 1 : 0;
    los += r.lengthOfStayDays;
  });
  const n = records.length;
  const own = n > 0 ? events / n : null;
  const pooled = readNumber(analysis.findings, ['cohort', 'total', 'stats', 'events', 'stats', 'proportion']);
  const pooledLos = readNumber(analysis.findings, ['cohort', 'total', 'stats', 'meanLengthOfStayDays']);
  const ownLos = n > 0 ? los / n : null;
  const difference = own !== null && pooled !== null ? r6(100 * (own - pooled)) : null;
  return {
    flagged: [],
    summary: {
      patients: n,
      events,
      eventProportion: r6OrNull(own),
      pooledEventProportion: pooled,
      eventProportionDifferencePoints: difference,
      meanLengthOfStayDays: r6OrNull(ownLos),
      pooledMeanLengthOfStayDays: pooledLos,
      note:
        difference === null
          ? 'Your own cohort figures; the pooled event proportion is not available for comparison.'
          : `Your event proportion is ${Math.abs(difference).toFixed(1)} percentage points ${difference >= 0 ? 'above' : 'below'} the pooled one (not adjusted for case mix).`,
    },
  };
}
