/** `hello`: who this enclave is (provider, module id, measurement, simulated root) and what it can run. */
import { aggregateLayoutOf, listModels, type ModelDefinition } from '@tenzro/models';
import type { EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { mpcModelProgramOf } from '../mpc-submission.js';
import { DEFAULT_BACKENDS } from '../narrative/registry.js';

/** Aggregation methods this enclave build implements. */
export const ENGINE_METHODS = ['federated', 'secure_aggregation', 'mpc'] as const;
export type EngineMethod = (typeof ENGINE_METHODS)[number];

/**
 * The methods this build runs for `model`: those the model declares and the engine implements;
 * secure_aggregation also needs the model's aggregate layout (its statistic vector). mpc is the enclave's
 * own path (the compute nodes' program, then models' analyzeMpcOutputs, or for a use-case model's sum
 * program the model's run on the summed statistics): announced when protocol has a program for the model
 * (mpcProgramForModel; a sum program only when its length is the model's layout's statistic count:
 * mpcModelProgramOf) and the enclave accepts some node measurement, whatever the model's own method list says.
 */
export function methodsOf(model: ModelDefinition, options: { mpcNodesTrusted: boolean } = { mpcNodesTrusted: true }): EngineMethod[] {
  const declared = model.methods as readonly string[];
  return ENGINE_METHODS.filter((method) => {
    // Without an accepted node measurement every node output would be set aside: not offered at all.
    if (method === 'mpc') return options.mpcNodesTrusted && mpcModelProgramOf(model.id) !== undefined;
    if (!declared.includes(method)) return false;
    if (method === 'secure_aggregation') return aggregateLayoutOf(model.id) !== undefined;
    return true;
  });
}

export function hello(ctx: EnclaveContext): EnclaveResultOf<'hello'> {
  const models = listModels().map((model) => ({
    modelId: model.id,
    modelDigest: model.digest,
    dataSchemas: [...model.dataSchemas],
    methods: methodsOf(model, { mpcNodesTrusted: (ctx.mpcNodeMeasurements?.length ?? 0) > 0 }),
    backends: (ctx.narrative ?? DEFAULT_BACKENDS).idsFor(model.id),
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
