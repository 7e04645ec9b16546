/**
 * Which language-model backends this enclave offers, per model: `deterministic` for every model, and each
 * configured backend for the models it is offered for.
 */
import { DETERMINISTIC_BACKEND, type NarrativeBackend } from './backend.js';
import { deterministicBackend } from './deterministic.js';
import { localGgufFromEnv } from './local-gguf.js';
import { openAiCompatibleFromEnv } from './openai-compatible.js';

export interface OfferedBackend {
  backend: NarrativeBackend;
  /** Model ids it is offered for; undefined: every model. */
  models: readonly string[] | undefined;
  /** Frees what the backend holds (a loaded model); called once, when the enclave stops. */
  close?: (() => Promise<void>) | undefined;
}

export class NarrativeBackends {
  readonly #offered: readonly OfferedBackend[];

  constructor(extra: readonly OfferedBackend[] = []) {
    const ids = new Set<string>([DETERMINISTIC_BACKEND]);
    for (const { backend } of extra) {
      if (ids.has(backend.id)) throw new RangeError(`backend ${backend.id} is offered twice`);
      ids.add(backend.id);
    }
    this.#offered = [{ backend: deterministicBackend, models: undefined }, ...extra];
  }

  /**
   * Backends from the enclave environment: TENZRO_LLM_ENDPOINT… (openai-compatible.ts) and TENZRO_LLM_GGUF…
   * (local-gguf.ts, which loads its model here).
   */
  static async fromEnv(env: NodeJS.ProcessEnv): Promise<NarrativeBackends> {
    const openAi = await openAiCompatibleFromEnv(env);
    const local = await localGgufFromEnv(env);
    return new NarrativeBackends([...(openAi ? [openAi] : []), ...(local ? [local] : [])]);
  }

  /** Frees every backend's resources (the loaded local model); the backends must not be used after. */
  async close(): Promise<void> {
    for (const offered of this.#offered) await offered.close?.();
  }

  /** Ids of every backend offered (for some model), deterministic first. */
  ids(): string[] {
    return this.#offered.map((o) => o.backend.id);
  }

  /** Ids of the backends offered for `modelId`, deterministic first. */
  idsFor(modelId: string): string[] {
    return this.#offered.filter((o) => o.models === undefined || o.models.includes(modelId)).map((o) => o.backend.id);
  }

  /** The backend `id` if it is offered for `modelId`. */
  get(modelId: string, id: string): NarrativeBackend | undefined {
    const offered = this.#offered.find((o) => o.backend.id === id);
    if (!offered || (offered.models !== undefined && !offered.models.includes(modelId))) return undefined;
    return offered.backend;
  }
}

/** Deterministic only: what an enclave context without a configured backend offers. */
export const DEFAULT_BACKENDS = new NarrativeBackends();
