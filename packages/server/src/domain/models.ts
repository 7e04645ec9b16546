/**
 * Which model a session may name, and with which method. The host knows the catalogue as data
 * (@tenzro/protocol MODEL_CATALOGUE: data schemas, the methods a model is designed for; for the use-case
 * models, the same data from the @tenzro/models registry: their declared schemas and methods); the model
 * digest, and which methods this enclave build runs for it, come from the measured enclave's `hello`, so the
 * host cannot put a digest of its choosing in terms. A method the model declares is available exactly when
 * the running enclave announces it (the catalogue's `available` list is the release's default, not a gate).
 */
import { getDataSchema, getModel } from '@tenzro/models';
import { TenzroError, catalogueEntry, type AggregationMethod, type CatalogueEntry, type ModelsResponse } from '@tenzro/protocol';
import type { EnclavePort } from '../enclave-client.js';

/** The catalogue entry of `modelId`: the protocol catalogue's, or a use-case model's declaration. */
function entryOf(modelId: string): CatalogueEntry | undefined {
  const entry = catalogueEntry(modelId);
  if (entry) return entry;
  const model = getModel(modelId);
  if (model === undefined || model.useCase === undefined) return undefined;
  return { dataSchemas: [...model.dataSchemas], methods: [...model.methods], available: [...model.methods] };
}

export interface ResolvedModel {
  modelId: string;
  modelDigest: string;
  dataSchemas: readonly string[];
}

export function resolveModel(enclave: EnclavePort, modelId: string, method: AggregationMethod): ResolvedModel {
  const entry = entryOf(modelId);
  if (!entry) throw new TenzroError('unknown_model', `unknown model ${JSON.stringify(modelId)}`);
  if (!entry.methods.includes(method)) {
    throw new TenzroError('invalid_data_policy', `model ${modelId} does not support aggregation method ${method}`, {
      details: [{ field: 'dataPolicy.aggregationMethod', message: `not supported by ${modelId}` }],
    });
  }
  const info = enclave.info();
  if (!info) throw new TenzroError('enclave_unavailable', 'the enclave has not started yet; try again shortly');
  const carried = info.models.find((m) => m.modelId === modelId);
  if (!carried) throw new TenzroError('unknown_model', `model ${modelId} is not carried by the running enclave`);
  if (!carried.methods.includes(method)) {
    throw new TenzroError('method_not_available', `aggregation method ${method} is not available in the running enclave (it arrives in a later release)`, {
      details: [{ field: 'dataPolicy.aggregationMethod', message: 'not available in the running enclave' }],
    });
  }
  return { modelId, modelDigest: carried.modelDigest, dataSchemas: entry.dataSchemas };
}

export function dataSchemasOf(modelId: string): readonly string[] {
  return entryOf(modelId)?.dataSchemas ?? [];
}

/**
 * GET /v1/models: the models the running enclave carries (hello), with the version, description, use case and
 * JSON Schema documents the @tenzro/models registry declares for them (pure data), the methods the enclave
 * runs for each and the language-model backends it offers (`deterministic` when the enclave names none).
 */
export function listCarriedModels(enclave: EnclavePort): ModelsResponse {
  const info = enclave.info();
  if (!info) throw new TenzroError('enclave_unavailable', 'the enclave has not started yet; try again shortly');
  const models = info.models.map((m) => {
    const declared = getModel(m.modelId);
    return {
      id: m.modelId,
      version: declared?.version ?? null,
      digest: m.modelDigest,
      ...(declared?.description === undefined ? {} : { description: declared.description }),
      ...(declared?.useCase === undefined ? {} : { useCase: declared.useCase }),
      dataSchemas: m.dataSchemas.map((id) => {
        const schema = getDataSchema(id);
        return { id, jsonSchema: schema ? (structuredClone(schema.jsonSchema) as Record<string, unknown>) : null };
      }),
      methods: [...m.methods],
      backends: m.backends && m.backends.length > 0 ? [...m.backends] : ['deterministic'],
    };
  });
  return { models: models.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}
