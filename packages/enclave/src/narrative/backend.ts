/**
 * Language-model backends for a result's `content` (DESIGN §8): a backend writes the narrative from the
 * model's SHARED findings and aggregates only — never from records, never from private findings. What it
 * writes is checked by the release policy before anything is sealed (narrate.ts).
 */

/** What a backend may read: the prompt, the generation parameters, and the model's shared output. */
export interface NarrativeRequest {
  readonly modelId: string;
  readonly prompt: string;
  readonly maxTokens: number | undefined;
  readonly temperature: number | undefined;
  /** The model's shared findings (aggregates only; already passed the release policy). */
  readonly findings: Readonly<Record<string, unknown>>;
  /** The declared aggregates among the findings (objects with a boolean `suppressed`), by path. */
  readonly aggregates: Readonly<Record<string, unknown>>;
  /** The model's own deterministic narrative, written from the same findings. */
  readonly draft: string;
}

export interface NarrativeBackend {
  /** Stable id, as runs name it in `parameters.backend` and GET /v1/models lists it. */
  readonly id: string;
  generate(request: NarrativeRequest): Promise<string>;
}

export type NarrativeErrorCode = 'backend_unavailable' | 'backend_failed';

/** A backend that did not produce text. Its message names the backend and the failure, never data. */
export class NarrativeError extends Error {
  readonly code: NarrativeErrorCode;

  constructor(code: NarrativeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NarrativeError';
    this.code = code;
  }
}

export const DETERMINISTIC_BACKEND = 'deterministic';
export const OPENAI_COMPATIBLE_BACKEND = 'openai-compatible';
