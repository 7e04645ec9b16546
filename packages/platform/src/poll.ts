/**
 * Waiting for a run: poll with exponential backoff (250 ms doubling to 2 s), stop at a deadline, stop at
 * once when the caller's AbortSignal fires (also cancelling an in-flight request).
 */
import { TenzroApiError } from './errors.js';
import { abortError } from './http.js';

export const POLL_INITIAL_DELAY_MS = 250;
export const POLL_MAX_DELAY_MS = 2_000;

/**
 * A signal that fires when `parent` fires or after `timeoutMs`, whichever is first, and a function that
 * turns the reason into the SDK's error (`aborted` or `timeout`). Call `dispose` when done.
 */
export function deadlineSignal(
  parent: AbortSignal | undefined,
  timeoutMs: number,
  what: string,
): { signal: AbortSignal; dispose: () => void; toError: () => TenzroApiError } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new TenzroApiError('timeout', `${what} did not finish within ${timeoutMs} ms`, { status: 0 }));
  }, timeoutMs);
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
    toError: () =>
      timedOut
        ? new TenzroApiError('timeout', `${what} did not finish within ${timeoutMs} ms`, { status: 0 })
        : abortError(parent ?? controller.signal),
  };
}

/** Resolves after `ms`, or rejects as soon as `signal` fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `check` until it returns a value other than undefined, sleeping with backoff in between.
 * The caller maps a rejection caused by `signal` to its own error.
 */
export async function pollUntil<T>(check: () => Promise<T | undefined>, signal: AbortSignal): Promise<T> {
  let delay = POLL_INITIAL_DELAY_MS;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const value = await check();
    if (value !== undefined) return value;
    await sleep(delay, signal);
    delay = Math.min(delay * 2, POLL_MAX_DELAY_MS);
  }
}
