// The use-case models this build carries, in the order the registry lists them (getModel, listModels,
// GET /v1/models). To carry a model, add its spec to USE_CASE_SPECS; the model registry (../registry.ts)
// defines each with the kit (kit.ts) when @tenzro/models loads. A spec module must import what it needs from
// the modules that define it (../report.js, ../rng.js, ./contract.js…), never from ../index.js or
// ../registry.js, which import this file.
import { complianceSpec } from './compliance/index.js';
import type { UseCaseModelSpec } from './contract.js';
import { healthcareSpec } from './healthcare/index.js';
import { defineUseCaseModel, type UseCaseModel } from './kit.js';
import { supplyChainSpec } from './supply-chain/index.js';

/** A spec of any record type (each model has its own; `any` because identifierFields is keyed by it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyUseCaseModelSpec = UseCaseModelSpec<any>;

export const USE_CASE_SPECS: readonly AnyUseCaseModelSpec[] = Object.freeze([supplyChainSpec, healthcareSpec, complianceSpec]);

let defined: readonly UseCaseModel[] | undefined;

/** Every carried use-case model — its ModelDefinition, aggregate layout and spec — defined once. */
export function useCaseModels(): readonly UseCaseModel[] {
  defined ??= Object.freeze(USE_CASE_SPECS.map((spec) => defineUseCaseModel(spec) as UseCaseModel));
  return defined;
}
