// The patient_records_v1 data contract of healthcare-outcomes-v1: one hospital's patient-level records
// (demographics, a diagnosis category, the treatment arm, length of stay and follow-up with an outcome
// event). Its JSON Schema (2020-12) and a hand-written validator that enforces the same rules plus what
// JSON Schema cannot say (a patientId unique within the hospital). Messages name the record index and
// the field, never the value. A patientId has at least MIN_SUBSTRING_ID_LENGTH characters: the release
// policy (release.ts) finds an identifier inside text only from that length, shorter ones only as whole strings.
import { MIN_SUBSTRING_ID_LENGTH } from '../../release.js';
import { MAX_RECORDS, deepFreeze } from '../../schema.js';
import { scanRecordDocument, type RecordDocumentRules } from '../../record-documents.js';
import type { DataSchema, ValidationResult } from '../../types.js';

export const PATIENT_RECORDS_V1 = 'patient_records_v1';

/** ICD-10 three-character categories the model analyses (one diagnosis per patient: the principal one). */
export const DIAGNOSES = ['I21', 'I50', 'E11', 'J44', 'C34', 'N18'] as const;
export type Diagnosis = (typeof DIAGNOSES)[number];

/** What each category stands for (ICD-10, WHO 2019). */
export const DIAGNOSIS_TITLES: Readonly<Record<Diagnosis, string>> = deepFreeze({
  I21: 'acute myocardial infarction',
  I50: 'heart failure',
  E11: 'type 2 diabetes mellitus',
  J44: 'chronic obstructive pulmonary disease',
  C34: 'malignant neoplasm of bronchus and lung',
  N18: 'chronic kidney disease',
});

export const SEXES = ['F', 'M'] as const;
export type Sex = (typeof SEXES)[number];

export const TREATMENTS = ['standard', 'intervention'] as const;
export type Treatment = (typeof TREATMENTS)[number];

/** Shortest patientId: the release policy finds it inside released text, not only as a whole string. */
export const MIN_PATIENT_ID_LENGTH = MIN_SUBSTRING_ID_LENGTH;
export const MAX_PATIENT_ID_LENGTH = 128;
export const MAX_AGE_YEARS = 110;
export const MAX_COMORBIDITIES = 10;
export const MAX_LENGTH_OF_STAY_DAYS = 365;
export const MAX_FOLLOW_UP_DAYS = 3650;

/** One record of patient_records_v1: one patient of one hospital. */
export interface PatientRecord {
  /** Identifier of the patient within the hospital (pseudonymous); never released. */
  patientId: string;
  /** Integer age at admission, 0–110. */
  ageYears: number;
  sex: Sex;
  /** Principal diagnosis, an ICD-10 category of DIAGNOSES. */
  diagnosis: Diagnosis;
  treatment: Treatment;
  /** Number of comorbid conditions, integer 0–10. */
  comorbidities: number;
  /** Length of the index stay in days, 0–365 (fractions allowed). */
  lengthOfStayDays: number;
  /** Days observed from admission until the event or the end of follow-up, integer 1–3650. */
  followUpDays: number;
  /** True when death or readmission occurred within follow-up (then followUpDays is the time to it). */
  event: boolean;
}

const FIELDS = [
  'patientId',
  'ageYears',
  'sex',
  'diagnosis',
  'treatment',
  'comorbidities',
  'lengthOfStayDays',
  'followUpDays',
  'event',
] as const;

export const PATIENT_RECORDS_V1_JSON_SCHEMA: Readonly<Record<string, unknown>> = deepFreeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:tenzro:schema:patient_records_v1',
  title: 'patient_records_v1',
  description:
    'Patient-level records of one hospital: demographics, the principal diagnosis (ICD-10 category), the treatment arm, the length of the index stay and follow-up until death or readmission (event) or its end. patientId is unique within the hospital and is never released.',
  type: 'array',
  maxItems: MAX_RECORDS,
  items: {
    type: 'object',
    additionalProperties: false,
    required: [...FIELDS],
    properties: {
      patientId: {
        type: 'string',
        minLength: MIN_PATIENT_ID_LENGTH,
        maxLength: MAX_PATIENT_ID_LENGTH,
        description: `Unique within the hospital; at least ${MIN_PATIENT_ID_LENGTH} characters, so the release policy can find it inside released text.`,
      },
      ageYears: { type: 'integer', minimum: 0, maximum: MAX_AGE_YEARS },
      sex: { enum: [...SEXES] },
      diagnosis: { enum: [...DIAGNOSES], description: 'Principal diagnosis, ICD-10 three-character category.' },
      treatment: { enum: [...TREATMENTS] },
      comorbidities: { type: 'integer', minimum: 0, maximum: MAX_COMORBIDITIES },
      lengthOfStayDays: { type: 'number', minimum: 0, maximum: MAX_LENGTH_OF_STAY_DAYS },
      followUpDays: { type: 'integer', minimum: 1, maximum: MAX_FOLLOW_UP_DAYS },
      event: { type: 'boolean', description: 'Death or readmission within follow-up.' },
    },
  },
});

const isIntegerIn = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * Why `value` is not a valid field `field` of a patient record, or null when it is. Shared by the
 * validator and by the statistics' bounds check, so both refuse the same values with the same words.
 */
export function patientFieldProblem(field: (typeof FIELDS)[number], value: unknown): string | null {
  switch (field) {
    case 'patientId':
      if (typeof value !== 'string') return 'must be a string';
      if (value.length < MIN_PATIENT_ID_LENGTH) return `must be at least ${MIN_PATIENT_ID_LENGTH} characters long, so the release policy can find it inside released text`;
      return value.length <= MAX_PATIENT_ID_LENGTH ? null : `must be at most ${MAX_PATIENT_ID_LENGTH} characters long`;
    case 'ageYears':
      return isIntegerIn(value, 0, MAX_AGE_YEARS) ? null : `must be an integer from 0 to ${MAX_AGE_YEARS}`;
    case 'sex':
      return (SEXES as readonly unknown[]).includes(value) ? null : `must be one of ${SEXES.join(', ')}`;
    case 'diagnosis':
      return (DIAGNOSES as readonly unknown[]).includes(value) ? null : `must be one of the ICD-10 categories ${DIAGNOSES.join(', ')}`;
    case 'treatment':
      return (TREATMENTS as readonly unknown[]).includes(value) ? null : `must be one of ${TREATMENTS.join(', ')}`;
    case 'comorbidities':
      return isIntegerIn(value, 0, MAX_COMORBIDITIES) ? null : `must be an integer from 0 to ${MAX_COMORBIDITIES}`;
    case 'lengthOfStayDays':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
      return value >= 0 && value <= MAX_LENGTH_OF_STAY_DAYS ? null : `must be from 0 to ${MAX_LENGTH_OF_STAY_DAYS}`;
    case 'followUpDays':
      return isIntegerIn(value, 1, MAX_FOLLOW_UP_DAYS) ? null : `must be an integer from 1 to ${MAX_FOLLOW_UP_DAYS}`;
    case 'event':
      return typeof value === 'boolean' ? null : 'must be a boolean';
  }
}

function validatePatientRecords(value: unknown): ValidationResult<PatientRecord> {
  return scanRecordDocument(value, PATIENT_RULES);
}

const PATIENT_RULES: RecordDocumentRules<PatientRecord> = {
  fields: FIELDS,
  unique: [{ field: 'patientId', message: 'duplicates the patientId of an earlier record' }],
  checkFields(item, fail) {
    for (const field of FIELDS) {
      const v = item[field];
      if (v === undefined) continue;
      const problem = patientFieldProblem(field, v);
      if (problem !== null) fail(field, problem);
    }
  },
  build: (item) => ({
    patientId: item.patientId as string,
    ageYears: item.ageYears as number,
    sex: item.sex as Sex,
    diagnosis: item.diagnosis as Diagnosis,
    treatment: item.treatment as Treatment,
    comorbidities: item.comorbidities as number,
    lengthOfStayDays: item.lengthOfStayDays as number,
    followUpDays: item.followUpDays as number,
    event: item.event as boolean,
  }),
};

export const PATIENT_FIELDS: readonly (keyof PatientRecord)[] = FIELDS;

export const patientRecordsV1: DataSchema<PatientRecord> = Object.freeze({
  id: PATIENT_RECORDS_V1,
  jsonSchema: PATIENT_RECORDS_V1_JSON_SCHEMA,
  validate: validatePatientRecords,
});
