/**
 * `local-gguf`: a GGUF language model run on the CPU inside the enclave process itself, through
 * @tenzro/narrative-llama (node-llama-cpp 3.21.1). Nothing leaves the process. The model file and the
 * package's code are part of the enclave measurement (measure.ts, `gguf/model.gguf`).
 *
 * The package is imported dynamically, only when configured: an enclave built with
 * `npm ci --omit=optional` (no node-llama-cpp) runs, and refuses to start only if TENZRO_LLM_GGUF is set.
 *
 * Configuration (enclave environment, read once at start; the model is loaded at start):
 *   TENZRO_LLM_GGUF              path of the .gguf file (relative paths: from the enclave's working directory)
 *   TENZRO_LLM_GGUF_MODELS       optional: comma-separated model ids it is offered for (default: every model)
 *   TENZRO_LLM_GGUF_THREADS      optional: CPU threads (default 1)
 *   TENZRO_LLM_GGUF_CONTEXT      optional: context size in tokens (default: the model's training context)
 *   TENZRO_LLM_GGUF_TIMEOUT_MS   optional: per-generation timeout, waiting for a turn included (default 60000)
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GgufGenerator, LoadGgufOptions } from '@tenzro/narrative-llama';
import { NarrativeError, type NarrativeBackend, type NarrativeRequest } from './backend.js';
import { NarrativeConfigError } from './openai-compatible.js';

export const LOCAL_GGUF_BACKEND = 'local-gguf';

/** maxTokens when the run sets none. */
export const DEFAULT_MAX_TOKENS = 256;

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * The shared findings as `path: value` lines, one per scalar leaf, in the findings' own order; nulls are
 * left out. The findings are aggregates that already passed the release policy; records never reach here.
 */
export function findingLines(findings: Readonly<Record<string, unknown>>): string[] {
  const lines: string[] = [];
  const walk = (value: unknown, path: string): void => {
    const text = scalar(value);
    if (text !== undefined) {
      lines.push(`${path}: ${text}`);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
      return;
    }
    for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`);
  };
  walk(findings, '');
  return lines;
}

/** The completion prompt: the findings (the first `lines` of them), then the run's prompt. */
export function completionPrompt(request: Pick<NarrativeRequest, 'prompt' | 'findings'>, lines = Number.POSITIVE_INFINITY): string {
  const shown = findingLines(request.findings).slice(0, lines);
  return [
    'Findings of a multi-party analysis (aggregates only):',
    ...shown,
    '',
    `Question: ${request.prompt.replace(/\s+/g, ' ').trim()}`,
    'Answer:',
  ].join('\n');
}

export interface LocalGgufBackendOptions {
  /** Per-generation timeout, waiting for a turn included (default 60000). */
  timeoutMs?: number | undefined;
}

/**
 * The backend over a loaded generator. The prompt keeps as many finding lines as fit the context together
 * with maxTokens (the run's prompt is always kept); a prompt that cannot fit is refused, never cut.
 */
export function localGgufBackend(generator: GgufGenerator, options: LocalGgufBackendOptions = {}): NarrativeBackend {
  if (typeof generator !== 'object' || generator === null || typeof generator.complete !== 'function') {
    throw new TypeError('generator must be a loaded GGUF generator');
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new RangeError('timeoutMs must be a positive integer');

  return {
    id: LOCAL_GGUF_BACKEND,
    async generate(request) {
      const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
      // +1: the BOS token the prompt is evaluated with
      const fits = (prompt: string) => generator.countTokens(prompt) + 1 + maxTokens <= generator.contextSize;
      let lines = findingLines(request.findings).length;
      while (lines > 0 && !fits(completionPrompt(request, lines))) lines -= 1;
      const prompt = completionPrompt(request, lines);
      if (!fits(prompt)) {
        throw new NarrativeError('backend_failed', `the local GGUF model cannot fit the prompt and maxTokens ${maxTokens} in its context of ${generator.contextSize} tokens`);
      }
      try {
        const completion = await generator.complete(prompt, {
          maxTokens,
          temperature: request.temperature ?? 0,
          signal: AbortSignal.timeout(timeoutMs),
        });
        return completion.text.trim();
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        throw new NarrativeError(
          timedOut ? 'backend_unavailable' : 'backend_failed',
          timedOut ? `the local GGUF model did not finish within ${timeoutMs} ms` : 'the local GGUF model failed to generate',
          { cause: error },
        );
      }
    },
  };
}

function positiveIntegerFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new NarrativeConfigError(`${name} must be a positive integer`);
  return value;
}

/** The file TENZRO_LLM_GGUF names, resolved from the working directory; undefined when unset. */
export function ggufPathFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const path = env.TENZRO_LLM_GGUF;
  return path === undefined || path === '' ? undefined : resolve(path);
}

/**
 * Loads @tenzro/narrative-llama and the model. Every failure is a NarrativeConfigError naming what is
 * wrong (the enclave then exits 2): the package or node-llama-cpp not installed, the file missing or not a
 * GGUF model.
 */
export async function loadLocalGguf(options: LoadGgufOptions): Promise<GgufGenerator> {
  let info;
  try {
    info = await stat(options.modelPath);
  } catch (error) {
    throw new NarrativeConfigError(`TENZRO_LLM_GGUF names no readable file (${options.modelPath})`, { cause: error });
  }
  if (!info.isFile()) throw new NarrativeConfigError(`TENZRO_LLM_GGUF is not a regular file (${options.modelPath})`);
  let llama: typeof import('@tenzro/narrative-llama');
  try {
    llama = await import('@tenzro/narrative-llama');
  } catch (error) {
    throw new NarrativeConfigError(`TENZRO_LLM_GGUF is set but @tenzro/narrative-llama cannot be loaded (is it installed and built?)`, { cause: error });
  }
  try {
    return await llama.loadGguf(options);
  } catch (error) {
    if (error instanceof llama.LlamaLoadError) {
      throw new NarrativeConfigError(`TENZRO_LLM_GGUF: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** The backend TENZRO_LLM_GGUF* configure, its model ids (undefined: all) and how to free it; or undefined. */
export async function localGgufFromEnv(
  env: NodeJS.ProcessEnv,
): Promise<{ backend: NarrativeBackend; models: readonly string[] | undefined; close: () => Promise<void> } | undefined> {
  const modelPath = ggufPathFromEnv(env);
  if (modelPath === undefined) return undefined;
  const threads = positiveIntegerFrom(env, 'TENZRO_LLM_GGUF_THREADS');
  const contextSize = positiveIntegerFrom(env, 'TENZRO_LLM_GGUF_CONTEXT');
  const timeoutMs = positiveIntegerFrom(env, 'TENZRO_LLM_GGUF_TIMEOUT_MS');
  const models = env.TENZRO_LLM_GGUF_MODELS
    ? env.TENZRO_LLM_GGUF_MODELS.split(',').map((m) => m.trim()).filter((m) => m.length > 0)
    : undefined;
  const generator = await loadLocalGguf({ modelPath, threads, contextSize });
  return { backend: localGgufBackend(generator, { timeoutMs }), models, close: () => generator.close() };
}
