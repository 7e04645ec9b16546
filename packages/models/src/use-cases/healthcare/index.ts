// healthcare-outcomes-v1: hospitals pool patient-level records (patient_records_v1) into cohort tables, a
// treatment-outcome comparison, an exponential survival analysis and a length-of-stay regression, all
// from summed integer statistics, so the same analysis runs under federated, secure_aggregation and mpc.
import type { UseCaseModelSpec } from '../contract.js';
import { deepFreeze } from '../../schema.js';
import { HEALTHCARE_MODEL_ID, HEALTHCARE_MODEL_VERSION, MIN_CELL_SIZE, analyseHealthcare, healthcarePrivateFindings } from './analysis.js';
import { evaluateHealthcareDemo, generateHealthcareDemo } from './demo.js';
import { REGRESSION_TERMS, Z_95 } from './estimates.js';
import { NOISE_CONDITION_LIMIT, RSS_NOISE_LIMIT } from './pooled.js';
import { DIAGNOSES, SEXES, TREATMENTS, patientRecordsV1 } from './schema.js';
import type { PatientRecord } from './schema.js';
import { AGE_BANDS, HEALTHCARE_SCALE, HEALTHCARE_STATISTICS, LENGTH_OF_STAY_STEPS_PER_DAY, healthcareStatistics } from './statistics.js';

export const HEALTHCARE_CONSTANTS: Readonly<Record<string, unknown>> = deepFreeze({
  diagnoses: [...DIAGNOSES],
  sexes: [...SEXES],
  treatments: [...TREATMENTS],
  ageBands: AGE_BANDS.map(([label, from, to]) => ({ label, from, to })),
  minCellSize: MIN_CELL_SIZE,
  suppression: 'primary below minCellSize; complementary within every released partition (totals = sum of parts)',
  fixedPoint: {
    scale: HEALTHCARE_SCALE,
    ageDivisor: 128,
    comorbidityDivisor: 16,
    lengthOfStayStepsPerDay: LENGTH_OF_STAY_STEPS_PER_DAY,
    lengthOfStayDivisor: 512,
    followUpDivisor: 4096,
  },
  regression: {
    outcome: 'lengthOfStayDays',
    terms: [...REGRESSION_TERMS],
    columns: ['1', 'ageYears/10', 'sex=M', 'treatment=intervention', 'comorbidities'],
    noiseConditionLimit: NOISE_CONDITION_LIMIT,
    rssNoiseLimit: RSS_NOISE_LIMIT,
  },
  survival: {
    model: 'exponential',
    ratio: 'intervention/standard',
    stratifiedBy: 'diagnosis',
    stratifiedEstimator: 'Mantel-Haenszel, Greenland-Robins variance',
  },
  confidence: { level: 0.95, z: Z_95 },
});

export const healthcareSpec: UseCaseModelSpec<PatientRecord> = Object.freeze<UseCaseModelSpec<PatientRecord>>({
  id: HEALTHCARE_MODEL_ID,
  version: HEALTHCARE_MODEL_VERSION,
  useCase: 'healthcare-research',
  description:
    'Pooled healthcare outcomes research over hospitals’ patient-level records (patient_records_v1): cohort counts by diagnosis (ICD-10 category), sex and age band; per treatment arm and per diagnosis the event proportions (death or readmission), the risk difference with a 95% interval and the mean length of stay; an exponential survival model per arm with the hazard ratio intervention/standard, crude and stratified by diagnosis (Mantel-Haenszel); and an OLS regression of length of stay on age, sex, treatment and comorbidities with standard errors. Everything is computed from summed integer statistics (exact for counts, events, person-time and XᵀX; stays read at 1/16 day), so the estimates match the pooled plaintext analysis within stated bounds; cells under 10 patients or events are suppressed together with complementary cells; noise, when added, is stated and carried into every interval.',
  schema: patientRecordsV1,
  identifierFields: ['patientId'],
  scale: HEALTHCARE_SCALE,
  statistics: HEALTHCARE_STATISTICS,
  constants: HEALTHCARE_CONSTANTS,
  minGroupSize: MIN_CELL_SIZE,
  partyStatistics: healthcareStatistics,
  analyse: analyseHealthcare,
  privateFindings: healthcarePrivateFindings,
  generateDemo: generateHealthcareDemo,
  evaluateDemo: evaluateHealthcareDemo,
});

export { HEALTHCARE_MODEL_ID, HEALTHCARE_MODEL_VERSION, MIN_CELL_SIZE, analyseHealthcare, healthcarePrivateFindings } from './analysis.js';
export type { HealthcareFindings } from './analysis.js';
export { DEMO_TOLERANCES, PLANTED_COEFFICIENTS, PLANTED_HAZARD_RATIO, SMALL_CELL, evaluateHealthcareDemo, generateHealthcareDemo } from './demo.js';
export { REGRESSION_TERMS } from './estimates.js';
export type { HealthcareEstimates, RegressionEstimates, RegressionTerm } from './estimates.js';
export { analysePooledStatistics } from './pooled.js';
export type { PooledAnalysis, QuantisationBounds } from './pooled.js';
export { pooledPlaintextAnalysis } from './plaintext.js';
export { DIAGNOSES, PATIENT_RECORDS_V1, PATIENT_RECORDS_V1_JSON_SCHEMA, SEXES, TREATMENTS, patientRecordsV1 } from './schema.js';
export type { Diagnosis, PatientRecord, Sex, Treatment } from './schema.js';
export { HEALTHCARE_SCALE, HEALTHCARE_STATISTICS, healthcareStatistics } from './statistics.js';
