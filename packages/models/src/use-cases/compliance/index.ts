// compliance-checker-v1: a regulator (an observer of the session) verifies declared rules over the
// participants' exposure books and receives pass / fail / inconclusive per rule with aggregate evidence,
// never a record. Thin instance over the use-case contract: rules.ts (declared rules and constants),
// schema.ts (exposure_records_v1), statistics.ts (one party's vector), analysis.ts (findings and narrative
// from the sum), private-findings.ts (federated: a participant's own results), demo.ts (planted truth),
// plaintext.ts (the reference check the tests compare against).
import type { UseCaseModelSpec } from '../contract.js';
import { analyseCompliance } from './analysis.js';
import { evaluateComplianceDemo, generateComplianceDemo } from './demo.js';
import { compliancePrivateFindings } from './private-findings.js';
import {
  COMPLIANCE_CONSTANTS,
  COMPLIANCE_MIN_GROUP_SIZE,
  COMPLIANCE_MODEL_ID,
  COMPLIANCE_MODEL_VERSION,
  SCALE,
} from './rules.js';
import { exposureRecordsV1, type ExposureRecord } from './schema.js';
import { COMPLIANCE_STATISTICS, complianceStatistics } from './statistics.js';

export type { ExposureRecord } from './schema.js';
export { EXPOSURE_RECORDS_V1_JSON_SCHEMA, exposureRecordsV1 } from './schema.js';
export {
  AMOUNT_UNIT,
  COMPLIANCE_CONSTANTS,
  COMPLIANCE_MIN_GROUP_SIZE,
  COMPLIANCE_MODEL_ID,
  COMPLIANCE_MODEL_VERSION,
  EXPOSURE_RECORDS_V1,
  HIGH_RISK_COUNTRIES,
  MAX_AMOUNT,
  REPORTING_THRESHOLD,
  RULES,
  RULE_IDS,
  SCALE as COMPLIANCE_SCALE,
  SECTORS,
  VERDICT_Z,
  type ComplianceRule,
  type RuleId,
  type Sector,
} from './rules.js';
export { COMPLIANCE_STATISTICS, SINGLE_NAME_BANDS, complianceStatistics, participantBook, type ParticipantBook } from './statistics.js';
export { analyseCompliance, writeComplianceNarrative, type ComplianceFindings, type RuleFinding, type Verdict } from './analysis.js';
export { compliancePrivateFindings } from './private-findings.js';
export { checkRulesPlaintext, type PlaintextCompliance } from './plaintext.js';
export { PLANTED, evaluateComplianceDemo, generateComplianceDemo } from './demo.js';

export const complianceSpec: UseCaseModelSpec<ExposureRecord> = Object.freeze({
  id: COMPLIANCE_MODEL_ID,
  version: COMPLIANCE_MODEL_VERSION,
  useCase: 'compliance',
  description:
    "Checks declared regulatory rules over the participants' combined exposure books: single-name concentration (no participant above 25% of its book to one counterparty), sector concentration (no sector above 35% of the consortium's exposure), exposure to declared high-risk jurisdictions (at most 5%) and the reporting threshold (every exposure of 10,000 or more reported). Works from summed integer statistics only (per-sector and high-risk amount sums, exposure counts, and per-participant indicators of single-name share bands and unreported exposures), so it runs under federated, secure_aggregation (with or without DP noise) and mpc. The regulator receives pass / fail per rule — or inconclusive when DP noise makes the verdict unreliable — with aggregate evidence: breach counts, share bands, and amounts as shares of the consortium total, never a record, identifier or participant total.",
  schema: exposureRecordsV1,
  identifierFields: ['exposureId', 'counterpartyId'] as const,
  scale: SCALE,
  statistics: COMPLIANCE_STATISTICS,
  constants: COMPLIANCE_CONSTANTS,
  minGroupSize: COMPLIANCE_MIN_GROUP_SIZE,
  partyStatistics: complianceStatistics,
  analyse: analyseCompliance,
  privateFindings: compliancePrivateFindings,
  generateDemo: generateComplianceDemo,
  evaluateDemo: evaluateComplianceDemo,
});
