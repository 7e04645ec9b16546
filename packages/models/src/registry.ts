// The model registry: models by id, and the aggregate layout (secure_aggregation) of each model that has one.
import { riskAnalyzerV2 } from './risk-analyzer.js';
import type { ModelDefinition } from './types.js';

export { aggregateLayoutOf } from './aggregates/layout.js';

const MODELS: ReadonlyMap<string, ModelDefinition> = new Map([[riskAnalyzerV2.id, riskAnalyzerV2]]);

/** The model registered under `id`, or undefined. */
export function getModel(id: string): ModelDefinition | undefined {
  if (typeof id !== 'string') throw new TypeError('id must be a string');
  return MODELS.get(id);
}

/** Every registered model. */
export function listModels(): ModelDefinition[] {
  return [...MODELS.values()];
}
