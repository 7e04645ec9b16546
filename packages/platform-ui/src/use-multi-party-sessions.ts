/** `useMultiPartySessions()`: the sessions the caller is on, kept current by the SDK's event stream. */
import type { MultiPartySession } from '@tenzro/platform';
import { useLiveResource } from './use-live-resource.js';
import type { MultiPartyAiClient } from './platform-context.js';

interface SessionsCommon {
  /** True while a fetch (the first one, an event's refetch or `refresh()`) is in flight. */
  fetching: boolean;
  /** Refetches now (and restarts live updates if they gave up). */
  refresh: () => Promise<void>;
}

/** Discriminated on `status`; `sessions` is always an array (empty until the first answer). */
export type UseMultiPartySessionsResult = SessionsCommon &
  (
    | { status: 'loading'; loading: true; error: null; sessions: MultiPartySession[] }
    | { status: 'error'; loading: false; error: Error; sessions: MultiPartySession[] }
    | { status: 'success'; loading: false; error: null; sessions: MultiPartySession[] }
  );

const EMPTY: MultiPartySession[] = [];
const list = (ai: MultiPartyAiClient): Promise<MultiPartySession[]> => ai.listMultiPartySessions();
const watchAll = (ai: MultiPartyAiClient, signal: AbortSignal) => ai.watchSessions({ signal });

export function useMultiPartySessions(): UseMultiPartySessionsResult {
  const live = useLiveResource('useMultiPartySessions', '*', list, watchAll);
  const common = { fetching: live.fetching, refresh: live.refresh };
  if (live.status === 'error') return { ...common, status: 'error', loading: false, error: live.error!, sessions: live.data ?? EMPTY };
  if (live.status === 'success') return { ...common, status: 'success', loading: false, error: null, sessions: live.data! };
  return { ...common, status: 'loading', loading: true, error: null, sessions: EMPTY };
}
