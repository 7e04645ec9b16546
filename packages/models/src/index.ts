// @tenzro/models — model registry, data schemas, release policy and demo data. Runs in Node and browsers:
// no `node:` imports; randomness comes in through an Rng argument.
export type {
  Aggregate,
  AggregateInput,
  AggregationMethod,
  Channel,
  DataSchema,
  Direction,
  FederatedConfig,
  FederatedPrivacyReport,
  FederatedRunInput,
  FederatedSumPrivacyReport,
  FlaggedTransaction,
  Label,
  ModelDefinition,
  ModelOutput,
  ModelOutputFor,
  ModelRunInput,
  Partition,
  PrivacyReport,
  PrivateFindings,
  Rng,
  SecureAggregationPrivacyReport,
  MpcPrivacyReport,
  MpcRunInput,
  SecureAggregationRunInput,
  SkellamNoiseConfig,
  TransactionRecord,
  ValidationError,
  ValidationResult,
} from './types.js';
export { cryptoRng, seededRng } from './rng.js';
export { MAX_ERRORS, MAX_RECORDS, TRANSACTION_RECORDS_V1, TRANSACTION_RECORDS_V1_JSON_SCHEMA } from './schema.js';
export { aggregateLayoutOf, getDataSchema, getModel, listDataSchemas, listModels } from './registry.js';
export { KIT_FINDINGS_KEYS, USE_CASE_KIT_VERSION, USE_CASE_NAMES, defineUseCaseModel, type UseCaseModel } from './use-cases/kit.js';
export { USE_CASE_SPECS, useCaseModels, type AnyUseCaseModelSpec } from './use-cases/registry.js';
export type {
  DemoEvaluation,
  DemoOptions as UseCaseDemoOptions,
  StatisticDeclaration,
  SummedStatistics,
  UseCaseAnalysis,
  UseCaseDemo,
  UseCaseModelSpec,
  UseCaseName,
  UseCasePrivateFindings,
} from './use-cases/contract.js';
export type { AggregateEntry, AggregateEntryKind, AggregateFeature, AggregateLayout } from './aggregates/layout.js';
export { computeStatistics } from './aggregates/statistics.js';
export { decodeStatisticSum, encodeStatistics } from './aggregates/encoding.js';
export { SECURE_AGGREGATION_CAPABILITIES } from './aggregates/analysis.js';
export { ModelRunError, type ModelRunErrorCode } from './errors.js';
export { RISK_ANALYZER_DIGEST, RISK_ANALYZER_ID, RISK_ANALYZER_VERSION } from './risk-analyzer.js';
export { checkRelease, transactionIdentifiers, type ReleaseOptions, type ReleasePartition, type ReleaseResult } from './release.js';
export {
  demoPartitions,
  evaluateDetection,
  flaggedTransactionIds,
  generateDemoData,
  type DemoData,
  type DemoOptions,
  type DemoTruth,
  type DetectionReport,
  type DetectionScore,
  type FlagSource,
  type PatternScore,
} from './demo.js';
export {
  MPC_STATISTIC_SCALE,
  MPC_STATISTIC_MAX,
  MPC_SCORE_FEATURES,
  MPC_STATISTIC_NAMES,
  MPC_STATISTIC_CODEC,
  mpcStatisticValues,
  mpcStatisticVector,
  type MpcStatisticSharing,
} from './mpc/statistics.js';
export { MPC_CAPABILITIES, MPC_OUTPUT_NAMES, MPC_OUTPUT_SCALE, MPC_RISK_SCORE_WEIGHTS, analyzeMpcOutputs, type MpcAnalysisOptions } from './mpc/analysis.js';
export { MPC_SUM_STATISTIC_MAX, MPC_SUM_STATISTIC_SCALE, mpcSumCodec, mpcSumVector } from './mpc/sum.js';
