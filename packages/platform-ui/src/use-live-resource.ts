/**
 * @internal The shared body of `useMultiPartySessions` and `useMultiPartySession`: fetch through the SDK,
 * follow the SDK's server-sent event stream, refetch on each event. The subscription is aborted on unmount
 * or when `key` (the session id) or the platform changes; no state is set after that.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { SessionEvent } from '@tenzro/platform';
import { createRefetcher, followEvents } from './live.js';
import { useLiveContext, type MultiPartyAiClient } from './platform-context.js';

interface LiveState<T> {
  key: string;
  data: T | undefined;
  error: Error | null;
  fetching: boolean;
}

export interface LiveResource<T> {
  status: 'loading' | 'error' | 'success';
  data: T | undefined;
  error: Error | null;
  fetching: boolean;
  refresh: () => Promise<void>;
}

export function useLiveResource<T>(
  hook: string,
  key: string,
  fetch: (ai: MultiPartyAiClient) => Promise<T>,
  watch: (ai: MultiPartyAiClient, signal: AbortSignal) => AsyncIterable<SessionEvent>,
): LiveResource<T> {
  const { platform, liveRetry } = useLiveContext(hook);
  const [state, setState] = useState<LiveState<T>>(() => ({ key, data: undefined, error: null, fetching: true }));
  const refreshRef = useRef<() => Promise<void>>(() => Promise.resolve());
  // The latest functions, read by the effect when it needs them: the effect's identity is (platform, key).
  const fetchRef = useRef(fetch);
  const watchRef = useRef(watch);
  fetchRef.current = fetch;
  watchRef.current = watch;

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const { ai } = platform;
    setState((s) => (s.key === key && s.data === undefined && s.error === null ? s : { key, data: undefined, error: null, fetching: true }));
    const refetch = createRefetcher(() => fetchRef.current(ai), signal, {
      onStart: () => setState((s) => (s.fetching ? s : { ...s, fetching: true })),
      onData: (data) => setState({ key, data, error: null, fetching: false }),
      onError: (error) => setState((s) => ({ ...s, key, error, fetching: false })),
    });
    let following = false;
    const follow = (): void => {
      if (following || signal.aborted) return;
      following = true;
      void followEvents(
        (streamSignal) => watchRef.current(ai, streamSignal),
        signal,
        {
          onEvent: () => void refetch(),
          onError: (error) => setState((s) => ({ ...s, key, error })),
        },
        liveRetry,
      ).finally(() => {
        following = false;
      });
    };
    refreshRef.current = () => {
      follow();
      return refetch();
    };
    void refetch();
    follow();
    return () => {
      controller.abort();
      refreshRef.current = () => Promise.resolve();
    };
  }, [platform, key, liveRetry]);

  const refresh = useCallback(() => refreshRef.current(), []);
  const current: LiveState<T> = state.key === key ? state : { key, data: undefined, error: null, fetching: true };
  const status = current.error !== null ? 'error' : current.data !== undefined ? 'success' : 'loading';
  return { status, data: current.data, error: current.error, fetching: current.fetching, refresh };
}
