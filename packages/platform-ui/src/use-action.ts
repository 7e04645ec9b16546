/** @internal Runs one async handler at a time with pending and error state, and no update after unmount. */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Action<A extends unknown[]> {
  run: (...args: A) => Promise<boolean>;
  pending: boolean;
  error: Error | null;
  clearError: () => void;
}

export function useAction<A extends unknown[]>(handler: ((...args: A) => unknown) | undefined): Action<A> {
  const [state, setState] = useState<{ pending: boolean; error: Error | null }>({ pending: false, error: null });
  const mounted = useRef(false);
  const busy = useRef(false);
  const handlerRef = useRef(handler);
  handlerRef.current = handler;
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const run = useCallback(async (...args: A): Promise<boolean> => {
    const current = handlerRef.current;
    if (current === undefined || busy.current) return false;
    busy.current = true;
    setState({ pending: true, error: null });
    try {
      await current(...args);
      if (mounted.current) setState({ pending: false, error: null });
      return true;
    } catch (cause) {
      if (mounted.current) setState({ pending: false, error: cause instanceof Error ? cause : new Error(String(cause)) });
      return false;
    } finally {
      busy.current = false;
    }
  }, []);
  const clearError = useCallback(() => setState((s) => (s.error === null ? s : { ...s, error: null })), []);
  return { run, pending: state.pending, error: state.error, clearError };
}
