// healthcare-outcomes-v1's statistic vector: the layout, a hand-computed example, additivity over hospitals,
// refusals, and the range of a party's statistics up to MAX_RECORDS records.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../rng.js';
import { MAX_RECORDS } from '../../schema.js';
import { generateHealthcareDemo } from './demo.js';
import { addVectors, summedStatistics } from './healthcare.fixture.js';
import { analyseHealthcare } from './analysis.js';
import { DIAGNOSES, TREATMENTS } from './schema.js';
import type { PatientRecord } from './schema.js';
import { HEALTHCARE_SCALE, HEALTHCARE_STATISTICS, MAX_PARTY_STATISTIC, STATISTIC_UNITS, healthcareStatistics } from './statistics.js';

const S = HEALTHCARE_SCALE;
const names = HEALTHCARE_STATISTICS.map((d) => d.name);
const byName = (values: readonly number[]): Record<string, number> => Object.fromEntries(names.map((n, i) => [n, values[i]!]));

const record = (over: Partial<PatientRecord> = {}): PatientRecord => ({
  patientId: 'p',
  ageYears: 60,
  sex: 'F',
  diagnosis: 'I21',
  treatment: 'standard',
  comorbidities: 1,
  lengthOfStayDays: 5,
  followUpDays: 100,
  event: false,
  ...over,
});

function randomRecords(seed: number, n: number): PatientRecord[] {
  const rng = seededRng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.nextFloat() * (hi - lo + 1));
  return Array.from({ length: n }, (_, i) => ({
    patientId: `r${seed}-${i}`,
    ageYears: int(0, 110),
    sex: rng.nextFloat() < 0.5 ? 'F' : 'M',
    diagnosis: DIAGNOSES[int(0, DIAGNOSES.length - 1)]!,
    treatment: TREATMENTS[int(0, 1)]!,
    comorbidities: int(0, 10),
    lengthOfStayDays: rng.nextFloat() < 0.05 ? 365 : rng.nextFloat() * 40,
    followUpDays: int(1, 3650),
    event: rng.nextFloat() < 0.3,
  }));
}

describe('healthcare-outcomes-v1 statistics layout', () => {
  it('declares 72 uniquely named statistics with perRecordMax × MAX_RECORDS ≤ 2^40 − 1', () => {
    expect(HEALTHCARE_STATISTICS).toHaveLength(72);
    expect(new Set(names).size).toBe(72);
    for (const d of HEALTHCARE_STATISTICS) {
      expect(d.name).toMatch(/^[A-Za-z0-9_:*.-]{1,120}$/);
      expect(Number.isInteger(d.perRecordMax) && d.perRecordMax >= 1 && d.perRecordMax <= S).toBe(true);
      expect(d.perRecordMax * MAX_RECORDS).toBeLessThanOrEqual(MAX_PARTY_STATISTIC);
      expect(STATISTIC_UNITS.get(d.name)).toBeGreaterThan(0);
    }
    const groups = new Map<string, number>();
    for (const d of HEALTHCARE_STATISTICS) if (d.group) groups.set(d.group, (groups.get(d.group) ?? 0) + 1);
    expect(Object.fromEntries(groups)).toEqual({ patients_by_cell: 12, events_by_cell: 12, follow_up_days_by_cell: 12, length_of_stay_by_cell: 12, age_band: 5 });
    expect(Object.isFrozen(HEALTHCARE_STATISTICS)).toBe(true);
  });
});

describe('healthcareStatistics', () => {
  it('matches a hand-computed example of three records', () => {
    const records: PatientRecord[] = [
      record({ ageYears: 70, sex: 'M', treatment: 'intervention', comorbidities: 2, lengthOfStayDays: 5.5, followUpDays: 100, event: true }),
      record({ ageYears: 50, comorbidities: 0, lengthOfStayDays: 3.03, followUpDays: 365 }),
      record({ ageYears: 85, diagnosis: 'E11', treatment: 'intervention', comorbidities: 4, lengthOfStayDays: 10, followUpDays: 30, event: true }),
    ];
    const v = byName(healthcareStatistics(records));
    // Stays in 1/16-day steps: 88, round(48.48) = 48, 160.
    const expected: Record<string, number> = {
      'count:patients*I21*intervention': S,
      'count:patients*I21*standard': S,
      'count:patients*E11*intervention': S,
      'count:events*I21*intervention': S,
      'count:events*E11*intervention': S,
      'sum:follow_up_days*I21*intervention': 256 * 100,
      'sum:follow_up_days*I21*standard': 256 * 365,
      'sum:follow_up_days*E11*intervention': 256 * 30,
      'sum:length_of_stay*I21*intervention': 128 * 88,
      'sum:length_of_stay*I21*standard': 128 * 48,
      'sum:length_of_stay*E11*intervention': 128 * 160,
      'histogram:age_band*40-64': S,
      'histogram:age_band*65-79': S,
      'histogram:age_band*80-110': S,
      'count:patients': 3 * S,
      'count:intervention': 2 * S,
      'sum:length_of_stay': 128 * (88 + 48 + 160),
      'cross_product:intervention*length_of_stay': 128 * (88 + 160),
      'sum:age': 8192 * (70 + 50 + 85),
      'count:male': S,
      'sum:comorbidities': 65536 * 6,
      'sum_squares:age': 64 * (70 ** 2 + 50 ** 2 + 85 ** 2),
      'cross_product:age*male': 8192 * 70,
      'cross_product:age*intervention': 8192 * (70 + 85),
      'cross_product:age*comorbidities': 512 * (70 * 2 + 85 * 4),
      'cross_product:male*intervention': S,
      'cross_product:male*comorbidities': 65536 * 2,
      'cross_product:intervention*comorbidities': 65536 * 6,
      'sum_squares:comorbidities': 4096 * (4 + 16),
      'cross_product:age*length_of_stay': 70 * 88 + 50 * 48 + 85 * 160,
      'cross_product:male*length_of_stay': 128 * 88,
      'cross_product:comorbidities*length_of_stay': 8 * (2 * 88 + 4 * 160),
      'sum_squares:length_of_stay': 121 + 36 + 400,
    };
    for (const n of names) expect([n, v[n]]).toEqual([n, expected[n] ?? 0]);
    // Back in real units: Σ age/10 = 20.5, Σ stay = 18.5 days (3.03 read as 3), Σ comorbidities² = 20.
    const real = (n: string): number => (v[n]! / S) * STATISTIC_UNITS.get(n)!;
    expect(real('sum:age')).toBeCloseTo(20.5, 12);
    expect(real('sum:length_of_stay')).toBe(18.5);
    expect(real('sum_squares:comorbidities')).toBe(20);
    expect(real('sum_squares:length_of_stay')).toBeCloseTo(5.5 ** 2 + 3 ** 2 + 10 ** 2, 12);
  });

  it('is additive: the hospitals’ vectors sum to the pooled records’ vector, and analyse the same', () => {
    const demo = generateHealthcareDemo({ recordsPerParty: 400, seed: 9 });
    const vectors = demo.partitions.map((p) => healthcareStatistics(p.records));
    const pooled = healthcareStatistics(demo.partitions.flatMap((p) => p.records));
    const sum = addVectors(vectors);
    expect(sum).toEqual(pooled);
    expect(analyseHealthcare(summedStatistics(sum))).toEqual(analyseHealthcare(summedStatistics(pooled)));
  });

  it('gives integers in [0, perRecordMax] for one record, and 0 for no records', () => {
    expect(healthcareStatistics([])).toEqual(new Array(72).fill(0));
    for (const r of randomRecords(3, 300)) {
      healthcareStatistics([r]).forEach((v, i) => {
        expect(Number.isInteger(v) && v >= 0 && v <= HEALTHCARE_STATISTICS[i]!.perRecordMax).toBe(true);
      });
    }
  });

  it('stays an integer in [0, 2^40 − 1] for MAX_RECORDS records of the largest values', () => {
    const extreme = record({ ageYears: 110, sex: 'M', treatment: 'intervention', comorbidities: 10, lengthOfStayDays: 365, followUpDays: 3650, event: true });
    const values = healthcareStatistics(new Array<PatientRecord>(MAX_RECORDS).fill(extreme));
    const hit = new Set(healthcareStatistics([extreme]).flatMap((v, i) => (v > 0 ? [i] : [])));
    values.forEach((v, i) => {
      expect(Number.isSafeInteger(v) && v >= 0 && v <= MAX_PARTY_STATISTIC).toBe(true);
      expect(v).toBe(hit.has(i) ? HEALTHCARE_STATISTICS[i]!.perRecordMax * MAX_RECORDS : 0);
    });
  });

  it('refuses values out of bounds with a RangeError, never clipping', () => {
    const bad: [Partial<PatientRecord>, string][] = [
      [{ ageYears: 111 }, 'records[1].ageYears must be an integer from 0 to 110'],
      [{ ageYears: -1 }, 'records[1].ageYears must be an integer from 0 to 110'],
      [{ ageYears: 30.5 }, 'records[1].ageYears must be an integer from 0 to 110'],
      [{ comorbidities: 11 }, 'records[1].comorbidities must be an integer from 0 to 10'],
      [{ lengthOfStayDays: 365.5 }, 'records[1].lengthOfStayDays must be from 0 to 365'],
      [{ lengthOfStayDays: Number.NaN }, 'records[1].lengthOfStayDays must be a finite number'],
      [{ followUpDays: 0 }, 'records[1].followUpDays must be an integer from 1 to 3650'],
      [{ diagnosis: 'Z99' as PatientRecord['diagnosis'] }, 'records[1].diagnosis must be one of the ICD-10 categories I21, I50, E11, J44, C34, N18'],
      [{ sex: 'X' as PatientRecord['sex'] }, 'records[1].sex must be one of F, M'],
      [{ treatment: 'placebo' as PatientRecord['treatment'] }, 'records[1].treatment must be one of standard, intervention'],
    ];
    for (const [over, message] of bad) {
      expect(() => healthcareStatistics([record(), record(over)])).toThrow(new RangeError(message));
    }
    expect(() => healthcareStatistics(new Array<PatientRecord>(MAX_RECORDS + 1))).toThrow(new RangeError(`records must hold at most ${MAX_RECORDS} records`));
  });

  it('refuses wrong types with a TypeError naming the argument', () => {
    expect(() => healthcareStatistics('records' as unknown as PatientRecord[])).toThrow(new TypeError('records must be an array of patient records'));
    expect(() => healthcareStatistics([null as unknown as PatientRecord])).toThrow(new TypeError('records[0] must be a patient record object'));
    expect(() => healthcareStatistics([record({ ageYears: '60' as unknown as number })])).toThrow(new TypeError('records[0].ageYears must be a number'));
    expect(() => healthcareStatistics([record({ event: 1 as unknown as boolean })])).toThrow(new TypeError('records[0].event must be a boolean'));
  });
});
