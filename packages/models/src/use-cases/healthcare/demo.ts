// Deterministic demo data for healthcare-outcomes-v1 with planted ground truth, and how well findings
// recover it. Hospitals differ in case mix and in how often they give the intervention, so the crude
// hazard ratio is confounded by diagnosis; the planted effects hold within each diagnosis:
//   - time to death or readmission is exponential with a per-diagnosis baseline hazard, multiplied by the
//     planted hazard ratio 0.6 under the intervention; follow-up ends (censoring) uniformly in 90–1095 days;
//   - length of stay = 4 + 0.5 × age/10 + 0.3 × male − 1.2 × intervention + 1.5 × comorbidities + N(0, 1.5²)
//     days (clamped at 0, two decimals);
//   - diagnosis C34 gets 6 patients over all hospitals: a cell below the minimum cell size of 10 that the
//     findings must suppress.
// Recovered: the diagnosis-stratified hazard ratio within 0.1 of 0.6, every slope of the regression within
// 0.25 days of its planted value, and the C34 cell suppressed.
import type { DemoEvaluation, DemoOptions, UseCaseDemo } from '../contract.js';
import { nextInt, seededRng } from '../../rng.js';
import type { Rng } from '../../types.js';
import { DIAGNOSES, MAX_AGE_YEARS, MAX_COMORBIDITIES, MAX_FOLLOW_UP_DAYS, MAX_LENGTH_OF_STAY_DAYS } from './schema.js';
import type { Diagnosis, PatientRecord } from './schema.js';
import { DAYS_PER_YEAR, REGRESSION_TERMS } from './estimates.js';
import type { RegressionTerm } from './estimates.js';

export const DEFAULT_DEMO_HOSPITALS = ['hospitalA', 'hospitalB', 'hospitalC'] as const;
export const DEFAULT_RECORDS_PER_HOSPITAL = 1500;
const MIN_RECORDS_PER_HOSPITAL = 100;
const MAX_RECORDS_PER_HOSPITAL = 100_000;

export const PLANTED_HAZARD_RATIO = 0.6;
export const PLANTED_COEFFICIENTS: Readonly<Record<RegressionTerm, number>> = Object.freeze({
  intercept: 4,
  agePerDecade: 0.5,
  male: 0.3,
  intervention: -1.2,
  comorbidity: 1.5,
});
const RESIDUAL_SD_DAYS = 1.5;
/** The small cell: this diagnosis gets this many patients over all hospitals. */
export const SMALL_CELL = Object.freeze({ diagnosis: 'C34' as Diagnosis, patients: 6 });
export const DEMO_TOLERANCES = Object.freeze({ hazardRatio: 0.1, coefficient: 0.25 });

const BASELINE_HAZARD_PER_YEAR: Readonly<Record<Diagnosis, number>> = { I21: 0.12, I50: 0.3, E11: 0.08, J44: 0.22, C34: 0.5, N18: 0.18 };
const MEAN_AGE: Readonly<Record<Diagnosis, number>> = { I21: 66, I50: 74, E11: 60, J44: 70, C34: 68, N18: 65 };
const MALE_SHARE: Readonly<Record<Diagnosis, number>> = { I21: 0.62, I50: 0.52, E11: 0.55, J44: 0.5, C34: 0.6, N18: 0.56 };

/** Case mix (C34 aside), intervention share and age shift of each hospital, cycled for more hospitals. */
const PROFILES: readonly { mix: Readonly<Record<Exclude<Diagnosis, 'C34'>, number>>; interventionShare: number; ageShift: number }[] = [
  { mix: { I21: 0.4, I50: 0.3, E11: 0.1, J44: 0.1, N18: 0.1 }, interventionShare: 0.3, ageShift: 2 },
  { mix: { I21: 0.15, I50: 0.2, E11: 0.3, J44: 0.2, N18: 0.15 }, interventionShare: 0.5, ageShift: 0 },
  { mix: { I21: 0.1, I50: 0.1, E11: 0.2, J44: 0.3, N18: 0.3 }, interventionShare: 0.7, ageShift: -3 },
];

function normal(rng: Rng): number {
  const u1 = 1 - rng.nextFloat();
  const u2 = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function poisson(rng: Rng, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rng.nextFloat(); p > limit; p *= rng.nextFloat()) k++;
  return k;
}

function pick<K extends string>(rng: Rng, weights: Readonly<Record<K, number>>): K {
  const keys = Object.keys(weights) as K[];
  const total = keys.reduce((s, k) => s + weights[k], 0);
  let u = rng.nextFloat() * total;
  for (const k of keys) {
    u -= weights[k];
    if (u < 0) return k;
  }
  return keys[keys.length - 1]!;
}

function patient(rng: Rng, patientId: string, diagnosis: Diagnosis, profile: (typeof PROFILES)[number]): PatientRecord {
  const ageYears = Math.min(100, Math.max(18, Math.round(MEAN_AGE[diagnosis] + profile.ageShift + 11 * normal(rng))));
  const male = rng.nextFloat() < MALE_SHARE[diagnosis];
  const intervention = rng.nextFloat() < profile.interventionShare;
  const comorbidities = Math.min(MAX_COMORBIDITIES, poisson(rng, 0.5 + Math.max(0, ageYears - 40) / 15));
  const b = PLANTED_COEFFICIENTS;
  const stay = b.intercept + (b.agePerDecade * ageYears) / 10 + (male ? b.male : 0) + (intervention ? b.intervention : 0) + b.comorbidity * comorbidities + RESIDUAL_SD_DAYS * normal(rng);
  const lengthOfStayDays = Math.round(Math.min(MAX_LENGTH_OF_STAY_DAYS, Math.max(0, stay)) * 100) / 100;
  const hazardPerDay = (BASELINE_HAZARD_PER_YEAR[diagnosis] * (intervention ? PLANTED_HAZARD_RATIO : 1)) / DAYS_PER_YEAR;
  const eventDay = -Math.log(1 - rng.nextFloat()) / hazardPerDay;
  const censorDay = 90 + nextInt(rng, 1006);
  const event = eventDay < censorDay;
  const followUpDays = Math.min(MAX_FOLLOW_UP_DAYS, event ? Math.max(1, Math.ceil(eventDay)) : censorDay);
  return { patientId, ageYears: Math.min(MAX_AGE_YEARS, ageYears), sex: male ? 'M' : 'F', diagnosis, treatment: intervention ? 'intervention' : 'standard', comorbidities, lengthOfStayDays, followUpDays, event };
}

/** Demo partitions (default 3 hospitals × 1,500 patients, seed 1) and the planted truth. */
export function generateHealthcareDemo(options: DemoOptions = {}): UseCaseDemo<PatientRecord> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const parties = options.parties ?? DEFAULT_DEMO_HOSPITALS;
  const recordsPerParty = options.recordsPerParty ?? DEFAULT_RECORDS_PER_HOSPITAL;
  const seed = options.seed ?? 1;
  if (!Array.isArray(parties) || !parties.every((p) => typeof p === 'string' && p.length > 0)) throw new TypeError('options.parties must be an array of non-empty strings');
  if (parties.length < 2) throw new RangeError('options.parties must name at least 2 hospitals');
  if (new Set(parties).size !== parties.length) throw new RangeError('options.parties must not repeat');
  if (!Number.isInteger(recordsPerParty) || recordsPerParty < MIN_RECORDS_PER_HOSPITAL || recordsPerParty > MAX_RECORDS_PER_HOSPITAL) {
    throw new RangeError(`options.recordsPerParty must be an integer in [${MIN_RECORDS_PER_HOSPITAL}, ${MAX_RECORDS_PER_HOSPITAL}]`);
  }
  if (!Number.isInteger(seed)) throw new TypeError('options.seed must be an integer');
  const rng = seededRng(seed);
  const partitions = parties.map((partyId, p) => {
    const profile = PROFILES[p % PROFILES.length]!;
    const small = Array.from({ length: SMALL_CELL.patients }, (_, j) => j).filter((j) => j % parties.length === p).length;
    const records: PatientRecord[] = [];
    for (let i = 0; i < recordsPerParty; i++) {
      const diagnosis = i < small ? SMALL_CELL.diagnosis : pick(rng, profile.mix);
      records.push(patient(rng, `${partyId}-patient-${String(i + 1).padStart(6, '0')}`, diagnosis, profile));
    }
    return { partyId, records };
  });
  return {
    partitions,
    truth: {
      hazardRatio: PLANTED_HAZARD_RATIO,
      coefficients: { ...PLANTED_COEFFICIENTS },
      residualStdDays: RESIDUAL_SD_DAYS,
      baselineHazardPerYear: { ...BASELINE_HAZARD_PER_YEAR },
      interventionShares: parties.map((_, p) => PROFILES[p % PROFILES.length]!.interventionShare),
      smallCell: { diagnosis: SMALL_CELL.diagnosis, patients: SMALL_CELL.patients, path: `cohort.byDiagnosis.${SMALL_CELL.diagnosis}` },
      tolerances: { ...DEMO_TOLERANCES },
    },
  };
}

const get = (value: unknown, path: readonly (string | number)[]): unknown => {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
};
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** How the shared findings recover the planted truth (see the module header for the tolerances). */
export function evaluateHealthcareDemo(truth: Record<string, unknown>, findings: Record<string, unknown>): DemoEvaluation {
  if (typeof truth !== 'object' || truth === null) throw new TypeError('truth must be an object');
  if (typeof findings !== 'object' || findings === null) throw new TypeError('findings must be an object');
  const plantedHr = num(truth.hazardRatio);
  const smallDiagnosis = get(truth, ['smallCell', 'diagnosis']);
  const hrTolerance = num(get(truth, ['tolerances', 'hazardRatio']));
  const coefTolerance = num(get(truth, ['tolerances', 'coefficient']));
  const planted = REGRESSION_TERMS.map((term) => num(get(truth, ['coefficients', term])));
  if (plantedHr === null || hrTolerance === null || coefTolerance === null || planted.some((v) => v === null)) {
    throw new TypeError('truth must hold hazardRatio, coefficients and tolerances (numbers)');
  }
  if (typeof smallDiagnosis !== 'string' || !(DIAGNOSES as readonly string[]).includes(smallDiagnosis)) throw new TypeError('truth.smallCell.diagnosis must be a diagnosis');

  const hr = num(get(findings, ['survival', 'stratifiedHazardRatio', 'estimate']));
  const figures: Record<string, number | string | boolean> = { plantedHazardRatio: plantedHr };
  figures.hazardRatio = hr ?? 'not released';
  figures.hazardRatioCiLow = num(get(findings, ['survival', 'stratifiedHazardRatio', 'ci95', 0])) ?? 'n/a';
  figures.hazardRatioCiHigh = num(get(findings, ['survival', 'stratifiedHazardRatio', 'ci95', 1])) ?? 'n/a';
  figures.crudeHazardRatio = num(get(findings, ['survival', 'hazardRatio', 'estimate'])) ?? 'not released';
  const hrOk = hr !== null && Math.abs(hr - plantedHr) <= hrTolerance;
  figures.hazardRatioRecovered = hrOk;

  const coefficients = get(findings, ['regression', 'result', 'coefficients']);
  let slopesOk = Array.isArray(coefficients);
  REGRESSION_TERMS.forEach((term, j) => {
    const entry = Array.isArray(coefficients) ? coefficients.find((c) => get(c, ['term']) === term) : undefined;
    const estimate = num(get(entry, ['estimate']));
    const label = term.charAt(0).toUpperCase() + term.slice(1);
    figures[`planted${label}`] = planted[j]!;
    figures[term] = estimate ?? 'not released';
    if (term !== 'intercept' && (estimate === null || Math.abs(estimate - planted[j]!) > coefTolerance)) slopesOk = false;
  });
  figures.coefficientsRecovered = slopesOk;

  const smallSuppressed = get(findings, ['cohort', 'byDiagnosis', smallDiagnosis, 'suppressed']) === true;
  figures.smallCellSuppressed = smallSuppressed;
  const cells = get(findings, ['suppression', 'cells']);
  figures.suppressedCells = Array.isArray(cells) ? cells.map((c) => String(get(c, ['path']))).join(', ') : '';
  return { recovered: hrOk && slopesOk && smallSuppressed, figures };
}
