/**
 * Transient failures of the host while a party serves a secure-aggregation round: a request that got no
 * reply (connection reset, DNS, a reply cut off), 429 and 5xx. The client role retries its idempotent
 * requests (GETs, and re-sends of a saved message, which are the same bytes) a bounded number of times
 * with backoff, stopping at once when the caller's signal fires; anything else is not retried.
 */
import { TenzroApiError } from '../errors.js';
import { abortError } from '../http.js';
import { sleep } from '../poll.js';

export interface RetryPolicy {
  /** Attempts in all (the first one included). */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** About a minute of retries: 0.25, 0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8 s. */
export const TRANSIENT_RETRY: RetryPolicy = { attempts: 12, initialDelayMs: 250, maxDelayMs: 8_000 };

/** A failure worth trying again: no reply, 429, or a 5xx reply. */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof TenzroApiError)) return false;
  if (error.code === 'aborted') return false;
  return error.code === 'network_error' || error.status === 429 || error.status >= 500;
}

/** The delay before retry number `failures` (1-based), with up to 20 % jitter. */
export function backoffDelay(failures: number, policy: RetryPolicy = TRANSIENT_RETRY): number {
  const base = Math.min(policy.initialDelayMs * 2 ** Math.max(0, failures - 1), policy.maxDelayMs);
  return Math.round(base * (1 + Math.random() * 0.2));
}

/** Calls `operation` until it succeeds, retrying transient failures (bounded); the signal stops it. */
export async function retryTransient<T>(operation: () => Promise<T>, signal: AbortSignal, policy: RetryPolicy = TRANSIENT_RETRY): Promise<T> {
  for (let failures = 0; ; ) {
    if (signal.aborted) throw abortError(signal);
    try {
      return await operation();
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      failures++;
      if (!isTransientError(error) || failures >= policy.attempts) throw error;
      await pause(backoffDelay(failures, policy), signal);
    }
  }
}

/** Sleeps, rejecting with the SDK's `aborted` error when the signal fires. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch {
    throw abortError(signal);
  }
}
