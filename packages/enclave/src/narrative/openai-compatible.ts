/**
 * `openai-compatible`: a chat-completions endpoint (`POST <endpoint>/v1/chat/completions`) that the
 * operator declares to be inside the trust boundary (same enclave, or a sidecar attested with it). Plain
 * `fetch`: no client library joins the measured bundle, and the one request shape needed is small.
 *
 * Configuration (enclave environment, read once at start):
 *   TENZRO_LLM_ENDPOINT       base URL, e.g. http://127.0.0.1:8080 (a trailing /v1 is accepted)
 *   TENZRO_LLM_MODEL          the `model` field sent
 *   TENZRO_LLM_API_KEY_FILE   optional: a file whose trimmed content is sent as `Authorization: Bearer`
 *   TENZRO_LLM_TIMEOUT_MS     optional: per-request timeout (default 60000)
 *   TENZRO_LLM_MODELS         optional: comma-separated model ids it is offered for (default: every model)
 */
import { readFile } from 'node:fs/promises';
import { NarrativeError, OPENAI_COMPATIBLE_BACKEND, type NarrativeBackend, type NarrativeRequest } from './backend.js';

export interface OpenAiCompatibleOptions {
  /** Base URL of the server (http: or https:). */
  endpoint: string;
  model: string;
  apiKey?: string | undefined;
  timeoutMs?: number | undefined;
}

/** Largest reply body read (bytes); anything longer is refused rather than buffered. */
export const MAX_REPLY_BYTES = 1 << 20;

const SYSTEM_PROMPT = [
  'You write the narrative of a multi-party analysis for every party and observer of the session.',
  'You are given only aggregate findings as JSON. Answer the analyst prompt from them.',
  'Never invent or repeat account numbers, transaction ids or any per-record value; speak in aggregates.',
  'Suppressed aggregates (count null) must stay unstated.',
].join(' ');

/** The chat messages sent: the rules, then the prompt with the findings and aggregates as JSON. */
export function chatMessages(request: NarrativeRequest): { role: 'system' | 'user'; content: string }[] {
  const user = [
    `Analyst prompt: ${request.prompt}`,
    `Model: ${request.modelId}`,
    `Findings (JSON): ${JSON.stringify(request.findings)}`,
    `Aggregates (JSON): ${JSON.stringify(request.aggregates)}`,
  ].join('\n\n');
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: user },
  ];
}

function completionsUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError('endpoint must be an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('endpoint must be an http: or https: URL');
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = `${base.endsWith('/v1') ? base : `${base}/v1`}/chat/completions`;
  return url.toString();
}

export function openAiCompatibleBackend(options: OpenAiCompatibleOptions): NarrativeBackend {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const url = completionsUrl(options.endpoint);
  if (typeof options.model !== 'string' || options.model.length === 0) throw new TypeError('model must be a non-empty string');
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError('timeoutMs must be a positive integer');
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  const model = options.model;

  return {
    id: OPENAI_COMPATIBLE_BACKEND,
    async generate(request) {
      const body = {
        model,
        messages: chatMessages(request),
        stream: false,
        ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      };
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        throw new NarrativeError(
          'backend_unavailable',
          timedOut ? `the openai-compatible endpoint did not answer within ${timeoutMs} ms` : 'the openai-compatible endpoint could not be reached',
          { cause: error },
        );
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new NarrativeError('backend_failed', `the openai-compatible endpoint answered HTTP ${response.status}`);
      }
      const declared = Number(response.headers.get('content-length') ?? '0');
      if (declared > MAX_REPLY_BYTES) {
        await response.body?.cancel().catch(() => undefined);
        throw new NarrativeError('backend_failed', 'the openai-compatible endpoint sent a reply larger than allowed');
      }
      let reply: unknown;
      try {
        const text = await response.text();
        if (text.length > MAX_REPLY_BYTES) throw new Error('too large');
        reply = JSON.parse(text);
      } catch (error) {
        throw new NarrativeError('backend_failed', 'the openai-compatible endpoint sent a malformed reply', { cause: error });
      }
      const content = (reply as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw new NarrativeError('backend_failed', 'the openai-compatible endpoint sent no message content');
      return content;
    },
  };
}

export class NarrativeConfigError extends Error {
  readonly code = 'invalid_llm_config' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NarrativeConfigError';
  }
}

/** The backend TENZRO_LLM_* configure, with the model ids it is offered for (undefined: all), or undefined. */
export async function openAiCompatibleFromEnv(
  env: NodeJS.ProcessEnv,
): Promise<{ backend: NarrativeBackend; models: readonly string[] | undefined } | undefined> {
  const endpoint = env.TENZRO_LLM_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  const model = env.TENZRO_LLM_MODEL;
  if (!model) throw new NarrativeConfigError('TENZRO_LLM_MODEL must name the model when TENZRO_LLM_ENDPOINT is set');
  let apiKey: string | undefined;
  if (env.TENZRO_LLM_API_KEY_FILE) {
    try {
      apiKey = (await readFile(env.TENZRO_LLM_API_KEY_FILE, 'utf8')).trim();
    } catch (error) {
      throw new NarrativeConfigError('TENZRO_LLM_API_KEY_FILE cannot be read', { cause: error });
    }
    if (apiKey === '') throw new NarrativeConfigError('TENZRO_LLM_API_KEY_FILE is empty');
  }
  let timeoutMs: number | undefined;
  if (env.TENZRO_LLM_TIMEOUT_MS !== undefined && env.TENZRO_LLM_TIMEOUT_MS !== '') {
    timeoutMs = Number(env.TENZRO_LLM_TIMEOUT_MS);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new NarrativeConfigError('TENZRO_LLM_TIMEOUT_MS must be a positive integer');
  }
  const models = env.TENZRO_LLM_MODELS
    ? env.TENZRO_LLM_MODELS.split(',').map((m) => m.trim()).filter((m) => m.length > 0)
    : undefined;
  try {
    return { backend: openAiCompatibleBackend({ endpoint, model, apiKey, timeoutMs }), models };
  } catch (error) {
    throw new NarrativeConfigError(`TENZRO_LLM_ENDPOINT is invalid (${(error as Error).message})`, { cause: error });
  }
}
