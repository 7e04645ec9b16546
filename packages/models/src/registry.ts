// The registries of @tenzro/models: models by id (risk-analyzer-v2 and the use-case models of
// use-cases/registry.ts), the aggregate layout (secure_aggregation) of each model that has one, and the data
// schemas the models declare. Built once when the package loads; two entries under one id are refused.
import { RISK_ANALYZER_LAYOUT, type AggregateLayout } from './aggregates/layout.js';
import { riskAnalyzerV2 } from './risk-analyzer.js';
import { TRANSACTION_RECORDS_V1_SCHEMA, type TRANSACTION_RECORDS_V1 } from './schema.js';
import type { DataSchema, ModelDefinition, TransactionRecord } from './types.js';
import { useCaseModels } from './use-cases/registry.js';

/** A map from `entries`; the same id twice is an Error unless both name the same object. */
function byId<T>(entries: readonly (readonly [string, T])[], what: string): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  for (const [id, value] of entries) {
    const known = map.get(id);
    if (known !== undefined && known !== value) throw new Error(`@tenzro/models: two ${what}s are registered under the id ${id}`);
    map.set(id, value);
  }
  return map;
}

const USE_CASES = useCaseModels();

const MODELS = byId<ModelDefinition>(
  [[riskAnalyzerV2.id, riskAnalyzerV2], ...USE_CASES.map((u) => [u.model.id, u.model] as const)],
  'model',
);
const LAYOUTS = byId<AggregateLayout>(
  [[riskAnalyzerV2.id, RISK_ANALYZER_LAYOUT], ...USE_CASES.map((u) => [u.model.id, u.layout] as const)],
  'aggregate layout',
);
const SCHEMAS = byId<DataSchema<unknown>>(
  [[TRANSACTION_RECORDS_V1_SCHEMA.id, TRANSACTION_RECORDS_V1_SCHEMA], ...USE_CASES.map((u) => [u.spec.schema.id, u.spec.schema as DataSchema<unknown>] as const)],
  'data schema',
);

/** The model registered under `id`, or undefined. */
export function getModel(id: string): ModelDefinition | undefined {
  if (typeof id !== 'string') throw new TypeError('id must be a string');
  return MODELS.get(id);
}

/** Every registered model: risk-analyzer-v2, then the use-case models in USE_CASE_SPECS order. */
export function listModels(): ModelDefinition[] {
  return [...MODELS.values()];
}

/** The aggregate layout of model `modelId` (its secure_aggregation statistic vector), or undefined when it has none. */
export function aggregateLayoutOf(modelId: string): AggregateLayout | undefined {
  if (typeof modelId !== 'string') throw new TypeError('modelId must be a string');
  return LAYOUTS.get(modelId);
}

/** The data schema registered under `id`, or undefined. transaction_records_v1 is typed by its records. */
export function getDataSchema(id: typeof TRANSACTION_RECORDS_V1): DataSchema<TransactionRecord>;
export function getDataSchema(id: string): DataSchema<unknown> | undefined;
export function getDataSchema(id: string): DataSchema<unknown> | undefined {
  if (typeof id !== 'string') throw new TypeError('id must be a string');
  return SCHEMAS.get(id);
}

/** Ids of every registered data schema. */
export function listDataSchemas(): string[] {
  return [...SCHEMAS.keys()];
}
