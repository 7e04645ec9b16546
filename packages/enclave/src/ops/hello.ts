/** `hello`: who this enclave is (provider, module id, measurement, simulated root) and what it can run. */
import { listModels } from '@tenzro/models';
import type { EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';

/** Aggregation methods this enclave build implements. */
export const ENGINE_METHODS = ['federated'] as const;

export function hello(ctx: EnclaveContext): EnclaveResultOf<'hello'> {
  const models = listModels().map((model) => ({
    modelId: model.id,
    modelDigest: model.digest,
    dataSchemas: [...model.dataSchemas],
    methods: ENGINE_METHODS.filter((method) => (model.methods as readonly string[]).includes(method)),
  }));
  return {
    models,
    provider: ctx.nsm.provider,
    moduleId: ctx.nsm.moduleId,
    measurement: ctx.nsm.measurement,
    rootPem: ctx.nsm.rootPem,
    pid: process.pid,
  };
}
