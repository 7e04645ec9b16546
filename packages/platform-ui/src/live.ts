/**
 * The framework-agnostic core under the hooks: following a server-sent event stream with bounded
 * retries, and a refetcher that serialises fetches so an older answer never overwrites a newer one.
 * Nothing here polls: a fetch happens on mount, on an event, or when the caller asks.
 */
import type { SessionEvent } from '@tenzro/platform';

export interface LiveRetryPolicy {
  /** Wait before the first reconnect (ms); doubles after each failure. */
  initialDelayMs: number;
  /** The longest wait between reconnects (ms). */
  maxDelayMs: number;
  /** Consecutive failed connections after which the subscription gives up (its error stays shown). */
  maxAttempts: number;
}

export const DEFAULT_LIVE_RETRY: LiveRetryPolicy = Object.freeze({ initialDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: 8 });

/** Rejects a policy that could spin or never retry; never clamps. */
export function checkRetryPolicy(policy: LiveRetryPolicy): LiveRetryPolicy {
  const { initialDelayMs, maxDelayMs, maxAttempts } = policy;
  if (typeof initialDelayMs !== 'number' || !Number.isFinite(initialDelayMs) || initialDelayMs <= 0) {
    throw new RangeError('liveRetry.initialDelayMs must be a positive number of milliseconds');
  }
  if (typeof maxDelayMs !== 'number' || !Number.isFinite(maxDelayMs) || maxDelayMs < initialDelayMs) {
    throw new RangeError('liveRetry.maxDelayMs must be a number of milliseconds at least initialDelayMs');
  }
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError('liveRetry.maxAttempts must be a positive integer');
  }
  return { initialDelayMs, maxDelayMs, maxAttempts };
}

/** The wait before reconnect number `attempt` (1-based): initialDelayMs · 2^(attempt−1), at most maxDelayMs. */
export function backoffDelay(policy: LiveRetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

export class LiveUpdatesError extends Error {
  readonly code: 'stream_failed' | 'stream_closed';
  constructor(code: 'stream_failed' | 'stream_closed', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LiveUpdatesError';
    this.code = code;
  }
}

export interface FollowHandlers {
  onEvent: (event: SessionEvent) => void;
  /** A connection failed (or the retries ran out: `willRetry` false). */
  onError: (error: LiveUpdatesError, willRetry: boolean) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Follows `open(signal)` until `signal` aborts. A stream that fails, or ends without delivering an event,
 * is reopened after a doubling delay; after `maxAttempts` such connections in a row it stops and reports
 * `willRetry: false`. A stream that delivered events and then ended is reopened after the initial delay.
 */
export async function followEvents(
  open: (signal: AbortSignal) => AsyncIterable<SessionEvent>,
  signal: AbortSignal,
  handlers: FollowHandlers,
  policy: LiveRetryPolicy,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let delivered = false;
    let failure: LiveUpdatesError | undefined;
    try {
      for await (const event of open(signal)) {
        if (signal.aborted) return;
        delivered = true;
        failures = 0;
        handlers.onEvent(event);
      }
    } catch (cause) {
      if (signal.aborted) return;
      const reason = cause instanceof Error ? cause.message : String(cause);
      failure = new LiveUpdatesError('stream_failed', `live updates failed: ${reason}`, { cause });
    }
    if (signal.aborted) return;
    if (failure === undefined && delivered) {
      await sleep(policy.initialDelayMs, signal);
      continue;
    }
    failures++;
    const willRetry = failures < policy.maxAttempts;
    if (failure !== undefined) handlers.onError(failure, willRetry);
    else if (!willRetry) {
      handlers.onError(new LiveUpdatesError('stream_closed', `live updates stopped: the server closed the stream ${failures} times without an event`), false);
    }
    if (!willRetry) return;
    await sleep(backoffDelay(policy, failures), signal);
  }
}

/**
 * Runs `fetch` on request, one at a time: a request made while a fetch is in flight schedules exactly one
 * more after it (so a burst of events costs two fetches, and the last answer reflects the last event).
 * Answers arrive in request order and none after `signal` aborts.
 */
export function createRefetcher<T>(
  fetch: () => Promise<T>,
  signal: AbortSignal,
  handlers: { onStart: () => void; onData: (data: T) => void; onError: (error: Error) => void },
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  const runOnce = async (): Promise<void> => {
    if (signal.aborted) return;
    handlers.onStart();
    try {
      const data = await fetch();
      if (!signal.aborted) handlers.onData(data);
    } catch (cause) {
      if (!signal.aborted) handlers.onError(cause instanceof Error ? cause : new Error(String(cause)));
    }
  };
  const request = (): Promise<void> => {
    if (running === undefined) {
      running = runOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    if (again === undefined) {
      again = running.then(() => {
        again = undefined;
        return request();
      });
    }
    return again;
  };
  return request;
}
