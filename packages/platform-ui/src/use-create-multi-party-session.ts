/** `useCreateMultiPartySession()`: `platform.ai.createMultiPartySession` with loading and error state. */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CreateMultiPartySessionInput, MultiPartySession } from '@tenzro/platform';
import { useLiveContext } from './platform-context.js';

export interface UseCreateMultiPartySessionResult {
  /** Creates the session (the SDK verifies the returned terms); rejects with the SDK's error, which is also in `error`. */
  createSession: (input: CreateMultiPartySessionInput) => Promise<MultiPartySession>;
  loading: boolean;
  error: Error | null;
}

export function useCreateMultiPartySession(): UseCreateMultiPartySessionResult {
  const { platform } = useLiveContext('useCreateMultiPartySession');
  const [state, setState] = useState<{ loading: boolean; error: Error | null }>({ loading: false, error: null });
  const mounted = useRef(false);
  const latest = useRef(0);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const createSession = useCallback(
    async (input: CreateMultiPartySessionInput): Promise<MultiPartySession> => {
      const call = ++latest.current;
      setState({ loading: true, error: null });
      // Only the latest call's outcome is shown; none after unmount.
      const settle = (error: Error | null): void => {
        if (mounted.current && call === latest.current) setState({ loading: false, error });
      };
      try {
        const session = await platform.ai.createMultiPartySession(input);
        settle(null);
        return session;
      } catch (cause) {
        settle(cause instanceof Error ? cause : new Error(String(cause)));
        throw cause;
      }
    },
    [platform],
  );
  return { createSession, loading: state.loading, error: state.error };
}
