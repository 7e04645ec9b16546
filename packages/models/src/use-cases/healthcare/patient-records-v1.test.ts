// The patient_records_v1 data contract: what the validator accepts and every refusal, with messages that
// name the record and field but never echo the value.
import { describe, expect, it } from 'vitest';
import { MAX_ERRORS, MAX_RECORDS } from '../../schema.js';
import { DIAGNOSES, MIN_PATIENT_ID_LENGTH, PATIENT_RECORDS_V1, PATIENT_RECORDS_V1_JSON_SCHEMA, patientRecordsV1 } from './schema.js';
import type { PatientRecord } from './schema.js';

const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  patientId: 'p-0001',
  ageYears: 67,
  sex: 'F',
  diagnosis: 'I21',
  treatment: 'intervention',
  comorbidities: 2,
  lengthOfStayDays: 4.75,
  followUpDays: 365,
  event: false,
  ...over,
});

function refusal(record: Record<string, unknown>): { field: string; message: string }[] {
  const result = patientRecordsV1.validate([record]);
  if (result.ok) throw new Error('expected a refusal');
  return result.errors.map(({ field, message }) => ({ field, message }));
}

describe('patient_records_v1', () => {
  it('is registered under its id with a JSON Schema 2020-12 of the document', () => {
    expect(patientRecordsV1.id).toBe(PATIENT_RECORDS_V1);
    expect(PATIENT_RECORDS_V1_JSON_SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const items = PATIENT_RECORDS_V1_JSON_SCHEMA.items as { additionalProperties: boolean; required: string[]; properties: Record<string, { enum?: string[]; minLength?: number }> };
    expect(items.additionalProperties).toBe(false);
    expect([...items.required].sort()).toEqual(Object.keys(valid()).sort());
    expect(items.properties.diagnosis!.enum).toEqual([...DIAGNOSES]);
    expect(items.properties.patientId).toMatchObject({ minLength: 6, maxLength: 128 });
    expect(PATIENT_RECORDS_V1_JSON_SCHEMA.maxItems).toBe(MAX_RECORDS);
    expect(Object.isFrozen(items.properties)).toBe(true);
  });

  it('accepts a valid document and copies its records', () => {
    const input = [valid(), valid({ patientId: 'p-0002', sex: 'M', treatment: 'standard', event: true, lengthOfStayDays: 0, followUpDays: 1 })];
    const result = patientRecordsV1.validate(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.records).toEqual(input);
    expect(result.records[0]).not.toBe(input[0]);
    const boundary: PatientRecord = { ...(valid() as unknown as PatientRecord), ageYears: 110, comorbidities: 10, lengthOfStayDays: 365, followUpDays: 3650 };
    expect(patientRecordsV1.validate([boundary]).ok).toBe(true);
    expect(patientRecordsV1.validate([]).ok).toBe(true);
  });

  it('refuses a document that is not an array, or too long', () => {
    for (const doc of [null, {}, 'records', 3]) {
      expect(patientRecordsV1.validate(doc)).toEqual({ ok: false, errors: [{ index: -1, field: '', message: 'must be an array of records' }], truncated: false });
    }
    const long = new Array(MAX_RECORDS + 1);
    expect(patientRecordsV1.validate(long)).toEqual({ ok: false, errors: [{ index: -1, field: '', message: `must hold at most ${MAX_RECORDS} records` }], truncated: false });
  });

  it('refuses a record that is not a plain object', () => {
    for (const item of [null, [], 'p', 7, new Date(0)]) {
      expect(refusal(item as unknown as Record<string, unknown>)).toEqual([{ field: '', message: 'must be an object' }]);
    }
  });

  it('refuses every missing field', () => {
    for (const field of Object.keys(valid())) {
      const record = valid();
      delete record[field];
      expect(refusal(record)).toEqual([{ field, message: 'is required' }]);
    }
  });

  const cases: [string, unknown, string][] = [
    ['patientId', '', 'must be at least 6 characters long, so the release policy can find it inside released text'],
    ['patientId', 'p-001', 'must be at least 6 characters long, so the release policy can find it inside released text'],
    ['patientId', 'x'.repeat(129), 'must be at most 128 characters long'],
    ['patientId', 42, 'must be a string'],
    ['ageYears', -1, 'must be an integer from 0 to 110'],
    ['ageYears', 111, 'must be an integer from 0 to 110'],
    ['ageYears', 40.5, 'must be an integer from 0 to 110'],
    ['ageYears', '40', 'must be an integer from 0 to 110'],
    ['sex', 'X', 'must be one of F, M'],
    ['sex', 'f', 'must be one of F, M'],
    ['diagnosis', 'I22', 'must be one of the ICD-10 categories I21, I50, E11, J44, C34, N18'],
    ['diagnosis', 'i21', 'must be one of the ICD-10 categories I21, I50, E11, J44, C34, N18'],
    ['treatment', 'placebo', 'must be one of standard, intervention'],
    ['comorbidities', 11, 'must be an integer from 0 to 10'],
    ['comorbidities', 1.5, 'must be an integer from 0 to 10'],
    ['lengthOfStayDays', -0.01, 'must be from 0 to 365'],
    ['lengthOfStayDays', 365.01, 'must be from 0 to 365'],
    ['lengthOfStayDays', Number.NaN, 'must be a finite number'],
    ['lengthOfStayDays', Number.POSITIVE_INFINITY, 'must be a finite number'],
    ['lengthOfStayDays', '3', 'must be a finite number'],
    ['followUpDays', 0, 'must be an integer from 1 to 3650'],
    ['followUpDays', 3651, 'must be an integer from 1 to 3650'],
    ['followUpDays', 2.5, 'must be an integer from 1 to 3650'],
    ['event', 'yes', 'must be a boolean'],
    ['event', 1, 'must be a boolean'],
  ];
  it.each(cases)('refuses %s = %j', (field, value, message) => {
    expect(refusal(valid({ [field]: value }))).toEqual([{ field, message }]);
  });

  it('accepts a patientId of 6 characters, the shortest the release policy finds inside text', () => {
    expect(MIN_PATIENT_ID_LENGTH).toBe(6);
    expect(patientRecordsV1.validate([valid({ patientId: 'p-0001' })]).ok).toBe(true);
    const short = patientRecordsV1.validate([valid({ patientId: 'p-001' })]);
    expect(short.ok).toBe(false);
    expect(JSON.stringify(short)).not.toContain('p-001');
  });

  it('refuses an unknown field without echoing its name', () => {
    const errors = refusal(valid({ nhsNumberSecret: '943 476 5919' }));
    expect(errors).toEqual([{ field: '<unknown>', message: expect.stringContaining('unknown field') }]);
    expect(JSON.stringify(errors)).not.toContain('nhsNumberSecret');
    expect(JSON.stringify(errors)).not.toContain('943 476 5919');
  });

  it('refuses a duplicate patientId within the document', () => {
    const result = patientRecordsV1.validate([valid({ patientId: 'MRN-77' }), valid({ patientId: 'MRN-77' })]);
    expect(result).toEqual({ ok: false, errors: [{ index: 1, field: 'patientId', message: 'duplicates the patientId of an earlier record' }], truncated: false });
  });

  it('never echoes an offending value', () => {
    const secret = 'SECRET-VALUE-4242';
    for (const field of Object.keys(valid())) {
      const result = patientRecordsV1.validate([valid({ [field]: field === 'patientId' ? secret.repeat(20) : secret })]);
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).not.toContain(secret);
    }
    const dup = patientRecordsV1.validate([valid({ patientId: secret }), valid({ patientId: secret })]);
    expect(JSON.stringify(dup)).not.toContain(secret);
  });

  it('names the record index and stops after MAX_ERRORS errors', () => {
    const doc = Array.from({ length: 50 }, (_, i) => valid({ patientId: `p-${String(i).padStart(4, '0')}`, ageYears: 200 }));
    const result = patientRecordsV1.validate(doc);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(MAX_ERRORS);
    expect(result.truncated).toBe(true);
    expect(result.errors.map((e) => e.index)).toEqual(Array.from({ length: MAX_ERRORS }, (_, i) => i));
  });
});
