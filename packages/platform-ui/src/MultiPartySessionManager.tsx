/**
 * `MultiPartySessionManager({ onSessionCreated, onSessionCompleted, allowCreate, showParticipants })`: the
 * list, the selected session's detail and the create form, wired to the hooks and to the SDK's
 * `contribute`, `consent` and `runMultiPartyInference`. `onSessionCompleted(session, result)` fires once per
 * session: when this page's run returns its result, or when live updates show a session turn `completed`
 * (the result is then fetched with `getSessionResult`).
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { InferenceResult, MultiPartySession } from '@tenzro/platform';
import { CreateMultiPartySession } from './CreateMultiPartySession.js';
import { MultiPartySessionDetail, type RunInferenceInput, type SubmitDataInput } from './MultiPartySessionDetail.js';
import { MultiPartySessionList } from './MultiPartySessionList.js';
import { useTenzroPlatform } from './platform-context.js';
import { joinClassNames } from './session-labels.js';
import { useMultiPartySession } from './use-multi-party-session.js';
import { useMultiPartySessions } from './use-multi-party-sessions.js';

export interface MultiPartySessionManagerProps {
  onSessionCreated?: (session: MultiPartySession) => void;
  onSessionCompleted?: (session: MultiPartySession, result: InferenceResult) => void;
  /** Show the "New session" form (default true). */
  allowCreate?: boolean;
  /** Show participant lists with their submitted / consented marks (default true). */
  showParticipants?: boolean;
  /** The data schema of uploaded records files (default `transaction_records_v1`). */
  defaultDataSchema?: string;
  className?: string;
}

function ResultSummary({ result }: { result: InferenceResult }): ReactNode {
  return (
    <section className="tenzro-result" aria-label="Result">
      <h3>Result</h3>
      <p className="tenzro-result__content">{result.content}</p>
      <p className="tenzro-hint">
        Attestation {result.teeAttestation.verified ? 'verified' : `NOT verified (${result.teeAttestation.reason})`}; {result.participantCount} parties
        included; released {result.releasedAt}.
      </p>
    </section>
  );
}

function SelectedSession({
  sessionId,
  showParticipants,
  defaultDataSchema,
  result,
  onResult,
  onRunClaim,
  onChanged,
}: {
  sessionId: string;
  showParticipants: boolean;
  defaultDataSchema: string | undefined;
  result: InferenceResult | undefined;
  onResult: (session: MultiPartySession, result: InferenceResult) => void;
  /** Claims the session's completion for this page's run (so live updates do not fetch the result too). */
  onRunClaim: (sessionId: string, claimed: boolean) => void;
  onChanged: () => void;
}): ReactNode {
  const platform = useTenzroPlatform();
  const { session, loading, error, refresh } = useMultiPartySession(sessionId);
  if (loading) return <p className="tenzro-loading">Loading session…</p>;
  if (session === undefined) {
    return (
      <p role="alert" className="tenzro-error">
        Could not load the session: {error?.message}
      </p>
    );
  }
  const afterAction = (): void => {
    void refresh();
    onChanged();
  };
  return (
    <>
      {error !== null ? (
        <p role="alert" className="tenzro-error">
          Live updates interrupted: {error.message}
        </p>
      ) : null}
      <MultiPartySessionDetail
        session={session}
        partyId={platform.partyId}
        showParticipants={showParticipants}
        {...(defaultDataSchema === undefined ? {} : { defaultDataSchema })}
        onSubmitData={async ({ data, dataSchema }: SubmitDataInput) => {
          await platform.ai.contribute({ sessionId: session.id, data, dataSchema });
          afterAction();
        }}
        onConsent={async () => {
          await platform.ai.consent(session.id);
          afterAction();
        }}
        onRunInference={async ({ prompt }: RunInferenceInput) => {
          onRunClaim(session.id, true);
          let inference: InferenceResult;
          try {
            inference = await platform.ai.runMultiPartyInference({ sessionId: session.id, prompt });
          } catch (cause) {
            onRunClaim(session.id, false);
            throw cause;
          }
          onResult({ ...session, status: 'completed' }, inference);
          afterAction();
        }}
      >
        {result !== undefined ? <ResultSummary result={result} /> : null}
      </MultiPartySessionDetail>
    </>
  );
}

export function MultiPartySessionManager({
  onSessionCreated,
  onSessionCompleted,
  allowCreate = true,
  showParticipants = true,
  defaultDataSchema,
  className,
}: MultiPartySessionManagerProps): ReactNode {
  const platform = useTenzroPlatform();
  const { sessions, loading, error, refresh } = useMultiPartySessions();
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [results, setResults] = useState<ReadonlyMap<string, InferenceResult>>(new Map());
  const [resultError, setResultError] = useState<string | null>(null);
  const lastStatus = useRef(new Map<string, string>());
  /** Sessions whose completion is reported, or being fetched or run here: each is reported at most once. */
  const claimed = useRef(new Set<string>());
  const reported = useRef(new Set<string>());
  const completedRef = useRef(onSessionCompleted);
  completedRef.current = onSessionCompleted;
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const report = (session: MultiPartySession, result: InferenceResult): void => {
    if (reported.current.has(session.id)) return;
    reported.current.add(session.id);
    claimed.current.add(session.id);
    setResults((previous) => new Map(previous).set(session.id, result));
    completedRef.current?.(session, result);
  };

  // A session seen open that live updates now show completed: fetch its result once and report it.
  useEffect(() => {
    for (const session of sessions) {
      const before = lastStatus.current.get(session.id);
      lastStatus.current.set(session.id, session.status);
      if (before === undefined || before === 'completed' || session.status !== 'completed') continue;
      if (claimed.current.has(session.id)) continue;
      claimed.current.add(session.id);
      platform.ai.getSessionResult(session.id).then(
        (result) => {
          if (mounted.current) report(session, result);
        },
        (cause: unknown) => {
          claimed.current.delete(session.id); // a later update may try again
          if (mounted.current) setResultError(`The result of "${session.name}" could not be read: ${cause instanceof Error ? cause.message : String(cause)}`);
        },
      );
    }
  }, [sessions, platform]);

  return (
    <div className={joinClassNames('tenzro-manager', className)}>
      <div className="tenzro-manager__list">
        <div className="tenzro-manager__toolbar">
          <h2>Sessions</h2>
          {allowCreate ? (
            <button type="button" className="tenzro-button" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
              {creating ? 'Close the new session form' : 'New session'}
            </button>
          ) : null}
          <button type="button" className="tenzro-button" onClick={() => void refresh()}>
            Refresh
          </button>
        </div>
        {error !== null ? (
          <p role="alert" className="tenzro-error">
            {sessions.length > 0 ? 'Live updates interrupted (the list may be out of date)' : 'Sessions could not be loaded'}: {error.message}
          </p>
        ) : null}
        {resultError !== null ? (
          <p role="alert" className="tenzro-error">
            {resultError}
          </p>
        ) : null}
        {loading ? (
          <p className="tenzro-loading">Loading sessions…</p>
        ) : (
          <MultiPartySessionList sessions={sessions} selectedId={selectedId ?? undefined} onSelect={(session) => setSelectedId(session.id)} />
        )}
      </div>
      <div className="tenzro-manager__main">
        {allowCreate && creating ? (
          <CreateMultiPartySession
            onCreated={(session) => {
              setCreating(false);
              setSelectedId(session.id);
              void refresh();
              onSessionCreated?.(session);
            }}
          />
        ) : null}
        {selectedId !== null ? (
          <SelectedSession
            key={selectedId}
            sessionId={selectedId}
            showParticipants={showParticipants}
            defaultDataSchema={defaultDataSchema}
            result={results.get(selectedId)}
            onResult={report}
            onRunClaim={(sessionId, claim) => {
              if (claim) claimed.current.add(sessionId);
              else claimed.current.delete(sessionId);
            }}
            onChanged={() => void refresh()}
          />
        ) : (
          <p className="tenzro-hint">Select a session to see its participants and act on it.</p>
        )}
      </div>
    </div>
  );
}
