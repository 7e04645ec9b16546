/**
 * The models the platform offers, as data the untrusted host can read without importing any model code.
 * `methods` is what the model is designed for; `available` is what this release runs. The model digest is
 * not here: the measured enclave reports it (`hello.models`), so the host cannot choose it.
 */
import type { AggregationMethod } from './terms.js';

export interface CatalogueEntry {
  dataSchemas: readonly string[];
  methods: readonly AggregationMethod[];
  available: readonly AggregationMethod[];
}

export const MODEL_CATALOGUE: Readonly<Record<string, CatalogueEntry>> = {
  'risk-analyzer-v2': {
    dataSchemas: ['transaction_records_v1'],
    methods: ['federated', 'secure_aggregation', 'mpc'],
    available: ['federated', 'secure_aggregation'],
  },
};

export function catalogueEntry(modelId: string): CatalogueEntry | undefined {
  return Object.prototype.hasOwnProperty.call(MODEL_CATALOGUE, modelId) ? MODEL_CATALOGUE[modelId] : undefined;
}
