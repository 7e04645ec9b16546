/**
 * Which language-model backends this enclave offers, per model: `deterministic` for every model, and each
 * configured backend for the models it is offered for.
 */
import { DETERMINISTIC_BACKEND, type NarrativeBackend } from './backend.js';
import { deterministicBackend } from './deterministic.js';
import { openAiCompatibleFromEnv } from './openai-compatible.js';

export interface OfferedBackend {
  backend: NarrativeBackend;
  /** Model ids it is offered for; undefined: every model. */
  models: readonly string[] | undefined;
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

  /** Backends from the enclave environment (TENZRO_LLM_*, openai-compatible.ts). */
  static async fromEnv(env: NodeJS.ProcessEnv): Promise<NarrativeBackends> {
    const openAi = await openAiCompatibleFromEnv(env);
    return new NarrativeBackends(openAi ? [openAi] : []);
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
