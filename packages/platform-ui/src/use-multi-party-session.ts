/** `useMultiPartySession(id)`: one session, refetched through the SDK on each of its server-sent events. */
import type { MultiPartySession } from '@tenzro/platform';
import { useLiveResource } from './use-live-resource.js';
import type { MultiPartyAiClient } from './platform-context.js';

interface SessionCommon {
  fetching: boolean;
  refresh: () => Promise<void>;
}

/**
 * Discriminated on `status` (and on `loading` / `error`): `session` exists when the status is `success`;
 * on `error` it is the last session seen, if any (a failed live update keeps showing it).
 */
export type UseMultiPartySessionResult = SessionCommon &
  (
    | { status: 'loading'; loading: true; error: null; session: undefined }
    | { status: 'error'; loading: false; error: Error; session: MultiPartySession | undefined }
    | { status: 'success'; loading: false; error: null; session: MultiPartySession }
  );

export function useMultiPartySession(id: string): UseMultiPartySessionResult {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('useMultiPartySession: id must be a session id');
  const live = useLiveResource(
    'useMultiPartySession',
    id,
    (ai: MultiPartyAiClient) => ai.getMultiPartySession(id),
    (ai: MultiPartyAiClient, signal: AbortSignal) => ai.watchSession(id, { signal }),
  );
  const common = { fetching: live.fetching, refresh: live.refresh };
  if (live.status === 'error') return { ...common, status: 'error', loading: false, error: live.error!, session: live.data };
  if (live.status === 'success') return { ...common, status: 'success', loading: false, error: null, session: live.data! };
  return { ...common, status: 'loading', loading: true, error: null, session: undefined };
}
