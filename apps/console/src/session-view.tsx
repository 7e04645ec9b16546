/**
 * One session: G's `MultiPartySessionDetail` (status, roster, consent with its statement, run) with the
 * console's panels under it: contributing a records file, the result with its verification panel, the
 * lifecycle timeline and the audit trail, and cancelling.
 */
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { MultiPartySession } from '@tenzro/platform';
import { MultiPartySessionDetail, isOpen, useMultiPartySession } from '@tenzro/platform-ui';
import { ContributePanel } from './contribute-panel.js';
import { SessionHistory } from './history.js';
import { ResultPanel } from './result-panel.js';
import type { SignedIn } from './sign-in.js';

function CancelControl({ signedIn, session, onCancelled }: { signedIn: SignedIn; session: MultiPartySession; onCancelled: () => void }): ReactNode {
  const id = useId();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onSubmit = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signedIn.platform.ai.cancelSession(session.id, reason.trim() === '' ? undefined : reason.trim());
      setConfirming(false);
      onCancelled();
    } catch (cause) {
      setError(cause instanceof Error ? cause.message : String(cause));
    } finally {
      setBusy(false);
    }
  };
  if (!confirming) {
    return (
      <button type="button" className="tenzro-button console-danger" onClick={() => setConfirming(true)}>
        Cancel session…
      </button>
    );
  }
  return (
    <form className="console-panel" onSubmit={(event) => void onSubmit(event)} aria-label="Cancel the session">
      <p>Cancelling deletes every submitted ciphertext and the session key. It cannot be undone.</p>
      <div className="tenzro-field">
        <label htmlFor={`${id}-reason`}>Reason (optional, recorded in the audit log)</label>
        <input id={`${id}-reason`} type="text" value={reason} autoFocus onChange={(e) => setReason(e.currentTarget.value)} />
      </div>
      <button type="submit" className="tenzro-button console-danger" disabled={busy}>
        {busy ? 'Cancelling…' : 'Confirm cancellation'}
      </button>{' '}
      <button type="button" className="tenzro-button" onClick={() => setConfirming(false)} disabled={busy}>
        Keep the session
      </button>
      {error ? <p role="alert" className="tenzro-error">{error}</p> : null}
    </form>
  );
}

export function SessionView({ signedIn, sessionId }: { signedIn: SignedIn; sessionId: string }): ReactNode {
  const live = useMultiPartySession(sessionId);
  const [contributedHere, setContributedHere] = useState(false);
  const { platform, partyId } = signedIn;
  if (live.status === 'loading') return <p role="status">Loading the session…</p>;
  const session = live.session;
  if (session === undefined) {
    return (
      <p role="alert" className="tenzro-error">
        The session could not be loaded: {live.error?.message}
      </p>
    );
  }
  const refresh = (): void => void live.refresh();
  const participant = session.yourRoles.includes('participant');
  const open = isOpen(session.status);
  const submitted = session.dataSubmittedBy.includes(partyId);
  return (
    <MultiPartySessionDetail
      session={session}
      partyId={partyId}
      onConsent={async () => {
        await platform.ai.consent(session.id);
        refresh();
      }}
      {...(participant || session.yourRoles.includes('creator')
        ? {
            onRunInference: async ({ prompt }: { prompt: string }) => {
              await platform.ai.runMultiPartyInference({ sessionId: session.id, prompt });
              refresh();
            },
          }
        : {})}
    >
      {live.status === 'error' ? (
        <p role="alert" className="tenzro-error">
          Live updates failed: {live.error.message}{' '}
          <button type="button" className="tenzro-button" onClick={refresh}>
            Reconnect and refresh
          </button>
        </p>
      ) : null}
      {participant && ((open && !submitted) || contributedHere) ? (
        <ContributePanel
          platform={platform}
          session={session}
          onContributed={() => {
            setContributedHere(true);
            refresh();
          }}
        />
      ) : null}
      {!participant ? (
        <p className="console-note" data-testid="observer-note">
          You are an observer of this session: you receive the result and contribute no data.
        </p>
      ) : null}
      {session.status === 'completed' ? <ResultPanel platform={platform} session={session} pinnedMeasurement={signedIn.trust.measurement} /> : null}
      <SessionHistory platform={platform} session={session} />
      {open && session.createdBy === signedIn.tenantId ? <CancelControl signedIn={signedIn} session={session} onCancelled={refresh} /> : null}
    </MultiPartySessionDetail>
  );
}
