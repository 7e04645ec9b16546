// One hospital's statistic vector for healthcare-outcomes-v1: integer sums over its own patient records,
// the only thing that leaves the hospital under secure_aggregation and mpc (and what the enclave computes
// per hospital under federated). Everything the analysis needs is a sum over records, so the sum of the
// hospitals' vectors is the vector of the pooled records.
//
// Fixed point. Each record is read as a row of normalised columns, each in [0, 1):
//   a = ageYears / 128, m = sex is M, t = treatment is intervention, c = comorbidities / 16,
//   l = L / 8192 with L = round(16 × lengthOfStayDays) (the stay read at 1/16-day resolution),
//   f = followUpDays / 4096, e = event, plus the record's (diagnosis, arm) cell and age band.
// A statistic is Σ round(SCALE × product of its columns) with SCALE = 2^20, so one record adds at most
// SCALE to any statistic and MAX_RECORDS records stay below 2^40 − 1. Every product except l² is an exact
// integer at this scale (the divisors are powers of two whose products divide 2^20), so:
//   - counts, events, person-time and the whole design matrix XᵀX of the regression are exact;
//   - the stay enters through L, off the real stay by at most 1/32 day per record;
//   - l² (yᵀy) is rounded, off by at most 0.5 / SCALE × 512² = 1/8 day² per record.
// `STATISTIC_UNITS` turns a sum back into real units: real = value / SCALE × unit (age in decades).
//
// Sensitivity: a record falls in exactly one (diagnosis, arm) cell and one age band, so each cell family
// and the age bands are histogram groups; the regression moments are ungrouped.
import type { StatisticDeclaration } from '../contract.js';
import { MAX_RECORDS, deepFreeze } from '../../schema.js';
import { DIAGNOSES, MAX_AGE_YEARS, MAX_COMORBIDITIES, MAX_FOLLOW_UP_DAYS, MAX_LENGTH_OF_STAY_DAYS, TREATMENTS, patientFieldProblem } from './schema.js';
import type { Diagnosis, PatientRecord, Treatment } from './schema.js';

export const HEALTHCARE_SCALE = 2 ** 20;
/** Steps per day at which lengthOfStayDays is read: L = round(16 × days). */
export const LENGTH_OF_STAY_STEPS_PER_DAY = 16;
/** Largest value of one party's statistic. */
export const MAX_PARTY_STATISTIC = 2 ** 40 - 1;

const AGE_DIVISOR = 128;
const COMORBIDITY_DIVISOR = 16;
const LOS_DIVISOR = 512;
const FOLLOW_UP_DIVISOR = 4096;
/** Age enters the regression in decades. */
const AGE_UNIT_YEARS = 10;

// Integer weight of each product at SCALE: SCALE / (product of the columns' divisors), all powers of two.
const L_DIVISOR = LOS_DIVISOR * LENGTH_OF_STAY_STEPS_PER_DAY; // l = L / 8192
const W_AGE = HEALTHCARE_SCALE / AGE_DIVISOR; // 8192
const W_AGE2 = HEALTHCARE_SCALE / AGE_DIVISOR ** 2; // 64
const W_C = HEALTHCARE_SCALE / COMORBIDITY_DIVISOR; // 65536
const W_C2 = HEALTHCARE_SCALE / COMORBIDITY_DIVISOR ** 2; // 4096
const W_AGE_C = HEALTHCARE_SCALE / (AGE_DIVISOR * COMORBIDITY_DIVISOR); // 512
const W_L = HEALTHCARE_SCALE / L_DIVISOR; // 128
const W_AGE_L = HEALTHCARE_SCALE / (AGE_DIVISOR * L_DIVISOR); // 1
const W_C_L = HEALTHCARE_SCALE / (COMORBIDITY_DIVISOR * L_DIVISOR); // 8
const L2_DIVISOR = L_DIVISOR ** 2 / HEALTHCARE_SCALE; // 64: l² × SCALE = L² / 64, rounded
const W_F = HEALTHCARE_SCALE / FOLLOW_UP_DIVISOR; // 256

const AGE_MAX = MAX_AGE_YEARS;
const C_MAX = MAX_COMORBIDITIES;
const L_MAX = LENGTH_OF_STAY_STEPS_PER_DAY * MAX_LENGTH_OF_STAY_DAYS;

/** Age bands of the cohort table: [label, first year, last year]. */
export const AGE_BANDS = deepFreeze([
  ['0-17', 0, 17],
  ['18-39', 18, 39],
  ['40-64', 40, 64],
  ['65-79', 65, 79],
  ['80+', 80, MAX_AGE_YEARS],
] as const);
export type AgeBand = (typeof AGE_BANDS)[number][0];

export type CellStatistic = 'patients' | 'events' | 'follow_up_days' | 'length_of_stay';
const CELL_STATISTICS: readonly { what: CellStatistic; kind: 'count' | 'sum'; unit: number; perRecordMax: number }[] = [
  { what: 'patients', kind: 'count', unit: 1, perRecordMax: HEALTHCARE_SCALE },
  { what: 'events', kind: 'count', unit: 1, perRecordMax: HEALTHCARE_SCALE },
  { what: 'follow_up_days', kind: 'sum', unit: FOLLOW_UP_DIVISOR, perRecordMax: W_F * MAX_FOLLOW_UP_DAYS },
  {
    what: 'length_of_stay',
    kind: 'sum',
    unit: LOS_DIVISOR,
    perRecordMax: W_L * L_MAX,
  },
];

/** Name of the statistic `what` of the (diagnosis, arm) cell, e.g. `count:events*I21*intervention`. */
export function cellStatisticName(what: CellStatistic, diagnosis: Diagnosis, treatment: Treatment): string {
  const kind = what === 'patients' || what === 'events' ? 'count' : 'sum';
  return `${kind}:${what}*${diagnosis}*${treatment}`;
}

/** Name of an age band's statistic, by its years, e.g. `histogram:age_band*80-110`. */
export function ageBandStatisticName(band: AgeBand): string {
  const [, from, to] = AGE_BANDS.find(([label]) => label === band)!;
  return `histogram:age_band*${from}-${to}`;
}

export function ageBandOf(ageYears: number): number {
  return AGE_BANDS.findIndex(([, from, to]) => ageYears >= from && ageYears <= to);
}


/** The regression moments: name, kind, per-record max and unit (real per normalised). */
const MOMENTS: readonly { name: string; kind: StatisticDeclaration['kind']; perRecordMax: number; unit: number }[] = [
  // n, Σt, Σy and Σty are also sums of cells, but of 6 or 12 noisy cells: their own statistics keep the
  // regression's noise lower.
  { name: 'count:patients', kind: 'count', perRecordMax: HEALTHCARE_SCALE, unit: 1 },
  { name: 'count:intervention', kind: 'count', perRecordMax: HEALTHCARE_SCALE, unit: 1 },
  { name: 'sum:length_of_stay', kind: 'sum', perRecordMax: W_L * L_MAX, unit: LOS_DIVISOR },
  { name: 'cross_product:intervention*length_of_stay', kind: 'cross_product', perRecordMax: W_L * L_MAX, unit: LOS_DIVISOR },
  { name: 'sum:age', kind: 'sum', perRecordMax: W_AGE * AGE_MAX, unit: AGE_DIVISOR / AGE_UNIT_YEARS },
  { name: 'count:male', kind: 'count', perRecordMax: HEALTHCARE_SCALE, unit: 1 },
  { name: 'sum:comorbidities', kind: 'sum', perRecordMax: W_C * C_MAX, unit: COMORBIDITY_DIVISOR },
  { name: 'sum_squares:age', kind: 'sum_squares', perRecordMax: W_AGE2 * AGE_MAX * AGE_MAX, unit: (AGE_DIVISOR / AGE_UNIT_YEARS) ** 2 },
  { name: 'cross_product:age*male', kind: 'cross_product', perRecordMax: W_AGE * AGE_MAX, unit: AGE_DIVISOR / AGE_UNIT_YEARS },
  { name: 'cross_product:age*intervention', kind: 'cross_product', perRecordMax: W_AGE * AGE_MAX, unit: AGE_DIVISOR / AGE_UNIT_YEARS },
  {
    name: 'cross_product:age*comorbidities',
    kind: 'cross_product',
    perRecordMax: W_AGE_C * AGE_MAX * C_MAX,
    unit: (AGE_DIVISOR / AGE_UNIT_YEARS) * COMORBIDITY_DIVISOR,
  },
  { name: 'cross_product:male*intervention', kind: 'cross_product', perRecordMax: HEALTHCARE_SCALE, unit: 1 },
  { name: 'cross_product:male*comorbidities', kind: 'cross_product', perRecordMax: W_C * C_MAX, unit: COMORBIDITY_DIVISOR },
  { name: 'cross_product:intervention*comorbidities', kind: 'cross_product', perRecordMax: W_C * C_MAX, unit: COMORBIDITY_DIVISOR },
  { name: 'sum_squares:comorbidities', kind: 'sum_squares', perRecordMax: W_C2 * C_MAX * C_MAX, unit: COMORBIDITY_DIVISOR ** 2 },
  {
    name: 'cross_product:age*length_of_stay',
    kind: 'cross_product',
    perRecordMax: W_AGE_L * AGE_MAX * L_MAX,
    unit: (AGE_DIVISOR / AGE_UNIT_YEARS) * LOS_DIVISOR,
  },
  { name: 'cross_product:male*length_of_stay', kind: 'cross_product', perRecordMax: W_L * L_MAX, unit: LOS_DIVISOR },
  { name: 'cross_product:comorbidities*length_of_stay', kind: 'cross_product', perRecordMax: W_C_L * C_MAX * L_MAX, unit: COMORBIDITY_DIVISOR * LOS_DIVISOR },
  { name: 'sum_squares:length_of_stay', kind: 'sum_squares', perRecordMax: (L_MAX * L_MAX) / L2_DIVISOR, unit: LOS_DIVISOR ** 2 },
];

function buildDeclarations(): { declarations: StatisticDeclaration[]; units: Map<string, number> } {
  const declarations: StatisticDeclaration[] = [];
  const units = new Map<string, number>();
  for (const s of CELL_STATISTICS) {
    for (const d of DIAGNOSES) {
      for (const k of TREATMENTS) {
        const name = cellStatisticName(s.what, d, k);
        declarations.push({ name, kind: s.kind, perRecordMax: s.perRecordMax, group: `${s.what}_by_cell` });
        units.set(name, s.unit);
      }
    }
  }
  for (const [band] of AGE_BANDS) {
    const name = ageBandStatisticName(band);
    declarations.push({ name, kind: 'histogram', perRecordMax: HEALTHCARE_SCALE, group: 'age_band' });
    units.set(name, 1);
  }
  for (const m of MOMENTS) {
    declarations.push({ name: m.name, kind: m.kind, perRecordMax: m.perRecordMax });
    units.set(m.name, m.unit);
  }
  for (const d of declarations) {
    if (!Number.isInteger(d.perRecordMax) || d.perRecordMax < 1 || d.perRecordMax > HEALTHCARE_SCALE) throw new Error(`healthcare layout: bad perRecordMax for ${d.name}`);
    if (d.perRecordMax * MAX_RECORDS > MAX_PARTY_STATISTIC) throw new Error(`healthcare layout: ${d.name} can exceed 2^40 - 1`);
  }
  return { declarations, units };
}

const BUILT = buildDeclarations();

/** The model's statistics, in layout order (48 cell sums, 5 age bands, 19 regression moments). */
export const HEALTHCARE_STATISTICS: readonly StatisticDeclaration[] = deepFreeze(BUILT.declarations);

/** Real value of one unit of a statistic divided by the scale: real = value / HEALTHCARE_SCALE × unit. */
export const STATISTIC_UNITS: ReadonlyMap<string, number> = BUILT.units;

const CELLS = DIAGNOSES.length * TREATMENTS.length;
const BAND_BASE = CELL_STATISTICS.length * CELLS;
const MOMENT_BASE = BAND_BASE + AGE_BANDS.length;

/** The stay in 1/16-day steps, as every statistic reads it. */
export function lengthOfStaySteps(days: number): number {
  return Math.round(LENGTH_OF_STAY_STEPS_PER_DAY * days);
}

/** `record` as a patient record: TypeError for a wrong type, RangeError for a value outside the schema's bounds. */
export function requirePatientRecord(record: unknown, i: number): PatientRecord {
  if (typeof record !== 'object' || record === null) throw new TypeError(`records[${i}] must be a patient record object`);
  const r = record as Record<string, unknown>;
  const typeOf: [keyof PatientRecord, string][] = [
    ['ageYears', 'number'],
    ['sex', 'string'],
    ['diagnosis', 'string'],
    ['treatment', 'string'],
    ['comorbidities', 'number'],
    ['lengthOfStayDays', 'number'],
    ['followUpDays', 'number'],
    ['event', 'boolean'],
  ];
  for (const [field, type] of typeOf) {
    if (typeof r[field] !== type) throw new TypeError(`records[${i}].${field} must be a ${type}`);
    const problem = patientFieldProblem(field, r[field]);
    if (problem !== null) throw new RangeError(`records[${i}].${field} ${problem}`);
  }
  return record as PatientRecord;
}

/**
 * One hospital's statistic vector (HEALTHCARE_STATISTICS order) from its own records: integers in
 * [0, 2^40 − 1]. TypeError for a wrong-typed record, RangeError for a value outside the schema's bounds
 * or more than MAX_RECORDS records (refused, never clipped).
 */
export function healthcareStatistics(records: readonly PatientRecord[]): number[] {
  if (!Array.isArray(records)) throw new TypeError('records must be an array of patient records');
  if (records.length > MAX_RECORDS) throw new RangeError(`records must hold at most ${MAX_RECORDS} records`);
  const out = new Float64Array(HEALTHCARE_STATISTICS.length);
  const S = HEALTHCARE_SCALE;
  const mo = new Float64Array(MOMENTS.length);
  const at = (name: string): number => MOMENTS.findIndex((m) => m.name === name);
  const iN = at('count:patients');
  const iT = at('count:intervention');
  const iL = at('sum:length_of_stay');
  const iTL = at('cross_product:intervention*length_of_stay');
  const iAge = at('sum:age');
  const iMale = at('count:male');
  const iC = at('sum:comorbidities');
  const iAge2 = at('sum_squares:age');
  const iAgeM = at('cross_product:age*male');
  const iAgeT = at('cross_product:age*intervention');
  const iAgeC = at('cross_product:age*comorbidities');
  const iMT = at('cross_product:male*intervention');
  const iMC = at('cross_product:male*comorbidities');
  const iTC = at('cross_product:intervention*comorbidities');
  const iC2 = at('sum_squares:comorbidities');
  const iAgeL = at('cross_product:age*length_of_stay');
  const iML = at('cross_product:male*length_of_stay');
  const iCL = at('cross_product:comorbidities*length_of_stay');
  const iL2 = at('sum_squares:length_of_stay');
  for (let i = 0; i < records.length; i++) {
    const r = requirePatientRecord(records[i], i);
    const cell = DIAGNOSES.indexOf(r.diagnosis) * TREATMENTS.length + TREATMENTS.indexOf(r.treatment);
    const age = r.ageYears;
    const m = r.sex === 'M' ? 1 : 0;
    const t = r.treatment === 'intervention' ? 1 : 0;
    const c = r.comorbidities;
    const L = lengthOfStaySteps(r.lengthOfStayDays);
    out[cell]! += S;
    if (r.event) out[CELLS + cell]! += S;
    out[2 * CELLS + cell]! += W_F * r.followUpDays;
    out[3 * CELLS + cell]! += W_L * L;
    out[BAND_BASE + ageBandOf(age)]! += S;
    mo[iN]! += S;
    mo[iT]! += S * t;
    mo[iL]! += W_L * L;
    mo[iTL]! += W_L * L * t;
    mo[iAge]! += W_AGE * age;
    mo[iMale]! += S * m;
    mo[iC]! += W_C * c;
    mo[iAge2]! += W_AGE2 * age * age;
    mo[iAgeM]! += W_AGE * age * m;
    mo[iAgeT]! += W_AGE * age * t;
    mo[iAgeC]! += W_AGE_C * age * c;
    mo[iMT]! += S * m * t;
    mo[iMC]! += W_C * c * m;
    mo[iTC]! += W_C * c * t;
    mo[iC2]! += W_C2 * c * c;
    mo[iAgeL]! += W_AGE_L * age * L;
    mo[iML]! += W_L * L * m;
    mo[iCL]! += W_C_L * c * L;
    mo[iL2]! += Math.round((L * L) / L2_DIVISOR);
  }
  out.set(mo, MOMENT_BASE);
  const values = Array.from(out);
  values.forEach((v, i) => {
    const d = HEALTHCARE_STATISTICS[i]!;
    if (!Number.isSafeInteger(v) || v < 0 || v > d.perRecordMax * records.length || v > MAX_PARTY_STATISTIC) {
      throw new RangeError(`statistic ${d.name} is outside [0, perRecordMax × records]`);
    }
  });
  return values;
}
