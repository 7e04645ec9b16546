/**
 * The SDK's one HTTP path. Every request carries `Authorization: Bearer <apiKey>` and `X-Tenant-Id`, and
 * `X-Tenzro-Party-Id` when the SDK acts as a party. Every reply is parsed with the protocol's schemas:
 * a refusal becomes a `TenzroApiError` with the API's code, a reply that does not match its schema
 * becomes `invalid_response`, a request that never got a reply becomes `network_error`.
 */
import { parseStrictJson } from '@tenzro/crypto';
import { ErrorResponse, HEADER_PARTY, HEADER_TENANT, SESSION_EVENT_TYPE, SessionEvent, createServerSentEventParser } from '@tenzro/protocol';
import type { z } from 'zod';
import { TenzroApiError } from './errors.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpClientOptions {
  baseUrl: string;
  apiKey: string;
  tenantId: string;
  fetch: FetchLike;
  /** The acting party, sent as `X-Tenzro-Party-Id`. */
  partyId: string | undefined;
}

export interface RequestOptions {
  /** A JSON body (serialised with JSON.stringify). */
  json?: unknown;
  /** A binary body, sent as application/octet-stream. */
  bytes?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** Replies bigger than this are refused before parsing (a sealed result is a few hundred KiB at most). */
const MAX_REPLY_CHARS = 64 * 1024 * 1024;

export class HttpClient {
  readonly #baseUrl: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: FetchLike;

  constructor(options: HttpClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch;
    this.#headers = {
      authorization: `Bearer ${options.apiKey}`,
      [HEADER_TENANT]: options.tenantId,
      accept: 'application/json',
      ...(options.partyId ? { [HEADER_PARTY]: options.partyId } : {}),
    };
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** Opens GET `path` as `text/event-stream`; a refusal is the API's error, as for `request`. */
  async fetchStream(path: string, signal: AbortSignal | undefined): Promise<Response> {
    if (signal?.aborted) throw abortError(signal);
    let response: Response;
    try {
      response = await this.#fetch(`${this.#baseUrl}${path}`, {
        method: 'GET',
        headers: { ...this.#headers, accept: 'text/event-stream' },
        ...(signal ? { signal } : {}),
      });
    } catch (cause) {
      if (signal?.aborted) throw abortError(signal);
      throw new TenzroApiError('network_error', `GET ${path}: no reply from ${this.#baseUrl}`, { status: 0, cause });
    }
    if (!response.ok) throw errorFromReply('GET', path, response.status, await response.text().catch(() => ''));
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream') || response.body === null) {
      throw new TenzroApiError('invalid_response', `GET ${path}: the reply is not an event stream`, { status: response.status });
    }
    return response;
  }

  /** Sends one request and parses the reply body with `schema`. */
  async request<S extends z.ZodType>(method: 'GET' | 'POST' | 'DELETE', path: string, schema: S, options: RequestOptions = {}): Promise<z.infer<S>> {
    const headers: Record<string, string> = { ...this.#headers, ...options.headers };
    let body: BodyInit | undefined;
    if (options.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = options.bytes as Uint8Array<ArrayBuffer>;
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const url = `${this.#baseUrl}${path}`;
    if (options.signal?.aborted) throw abortError(options.signal);
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (cause) {
      if (options.signal?.aborted) throw abortError(options.signal);
      throw new TenzroApiError('network_error', `${method} ${path}: no reply from ${this.#baseUrl}`, { status: 0, cause });
    }

    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      if (options.signal?.aborted) throw abortError(options.signal);
      throw new TenzroApiError('network_error', `${method} ${path}: the reply was cut off`, { status: response.status, cause });
    }
    if (!response.ok) throw errorFromReply(method, path, response.status, text);

    const json = parseJson(text);
    if (json === undefined) {
      throw new TenzroApiError('invalid_response', `${method} ${path}: the reply is not JSON`, { status: response.status });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new TenzroApiError('invalid_response', `${method} ${path}: the reply does not match the API schema`, {
        status: response.status,
        details: parsed.error.issues.slice(0, 20).map((issue) => ({
          field: issue.path.map(String).join('.') || '(body)',
          message: issue.message,
        })),
        cause: parsed.error,
      });
    }
    return parsed.data as z.infer<S>;
  }
}

/**
 * GET `path` as a server-sent event stream: yields each event's parsed `SessionEvent` until the server
 * closes the stream (returns) or `signal` aborts (throws the abort error). A refusal before the stream
 * starts is the API's TenzroApiError; an event that does not match the schema is `invalid_response`.
 */
export async function* streamSessionEvents(
  http: { baseUrl: string; fetchStream(path: string, signal: AbortSignal | undefined): Promise<Response> },
  path: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<SessionEvent> {
  const response = await http.fetchStream(path, signal);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const parser = createServerSentEventParser();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      let silent: ReturnType<typeof setTimeout> | undefined;
      try {
        // The server sends a keep-alive every 15 s: a stream silent for longer than STREAM_IDLE_MS is a dead
        // connection (a proxy or a network that dropped it without closing), reported so the caller reconnects.
        chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            silent = setTimeout(() => reject(new TenzroApiError('network_error', `GET ${path}: the event stream went silent for ${STREAM_IDLE_MS / 1000} s`, { status: response.status })), STREAM_IDLE_MS);
          }),
        ]);
      } catch (cause) {
        if (signal?.aborted) throw abortError(signal);
        if (cause instanceof TenzroApiError) throw cause;
        throw new TenzroApiError('network_error', `GET ${path}: the event stream was cut off`, { status: response.status, cause });
      } finally {
        clearTimeout(silent);
      }
      if (chunk.done) return;
      let events: Array<{ event: string; data: string }>;
      try {
        events = parser.push(chunk.value);
      } catch (cause) {
        throw new TenzroApiError('invalid_response', `GET ${path}: ${(cause as Error).message}`, { status: response.status, cause });
      }
      for (const { event, data } of events) {
        if (event !== SESSION_EVENT_TYPE) continue; // other event kinds may be added later
        const parsed = SessionEvent.safeParse(parseJson(data));
        if (!parsed.success) throw new TenzroApiError('invalid_response', `GET ${path}: an event does not match the API schema`, { status: response.status });
        yield parsed.data;
      }
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}

/** Three missed keep-alives (the server sends one every 15 s). */
export const STREAM_IDLE_MS = 45_000;

function parseJson(text: string): unknown {
  if (text.length === 0 || text.length > MAX_REPLY_CHARS) return undefined;
  try {
    return parseStrictJson(text, { maxDepth: 64 });
  } catch {
    return undefined;
  }
}

function errorFromReply(method: string, path: string, status: number, text: string): TenzroApiError {
  const parsed = ErrorResponse.safeParse(parseJson(text));
  if (!parsed.success) {
    return new TenzroApiError('invalid_response', `${method} ${path}: HTTP ${status} without an error body`, { status });
  }
  const { code, message, details } = parsed.data.error;
  return new TenzroApiError(code, message, { status, details });
}

/** The error an aborted operation rejects with; its `cause` is the signal's reason. */
export function abortError(signal: AbortSignal): TenzroApiError {
  return new TenzroApiError('aborted', 'the operation was aborted', { status: 0, cause: signal.reason });
}

/** Path segment encoding for ids taken from callers. */
export function segment(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return encodeURIComponent(value);
}
