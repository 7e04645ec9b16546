/** The console: sign in, then the sessions (list, create, join by code) and the selected session. */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { CreateMultiPartySession, MultiPartySessionList, TenzroProvider, useMultiPartySessions } from '@tenzro/platform-ui';
import { SessionView } from './session-view.js';
import { SignIn, type SignedIn } from './sign-in.js';

type View = { kind: 'welcome' } | { kind: 'create' } | { kind: 'session'; id: string };

const MODELS = ['risk-analyzer-v2'] as const;

function JoinByCode({ signedIn, onFound }: { signedIn: SignedIn; onFound: (sessionId: string) => void }): ReactNode {
  const id = useId();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setError(null);
    if (code.trim() === '') {
      setError('Enter the join code you were given.');
      return;
    }
    setBusy(true);
    try {
      const session = await signedIn.platform.ai.findSessionByJoinCode(code.trim());
      setCode('');
      onFound(session.id);
    } catch (cause) {
      setError(`No session found for that code: ${cause instanceof Error ? cause.message : String(cause)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="console-join" onSubmit={(event) => void onSubmit(event)} aria-label="Join a session">
      <label htmlFor={`${id}-code`}>Join code</label>
      <input id={`${id}-code`} type="text" autoComplete="off" spellCheck={false} value={code} onChange={(e) => setCode(e.currentTarget.value)} aria-describedby={error ? `${id}-error` : undefined} />
      <button type="submit" className="tenzro-button" disabled={busy}>
        {busy ? 'Finding…' : 'Join'}
      </button>
      {error ? (
        <p id={`${id}-error`} role="alert" className="tenzro-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function Workspace({ signedIn, onSignOut }: { signedIn: SignedIn; onSignOut: () => void }): ReactNode {
  const sessions = useMultiPartySessions();
  const [view, setView] = useState<View>({ kind: 'welcome' });
  const mainRef = useRef<HTMLElement>(null);
  const show = (next: View): void => {
    setView(next);
    requestAnimationFrame(() => mainRef.current?.focus());
  };
  useEffect(() => {
    document.title = `Tenzro console — ${signedIn.partyId}`;
  }, [signedIn.partyId]);

  return (
    <div className="console-shell">
      <a className="console-skip" href="#console-main">
        Skip to the session
      </a>
      <header className="console-header">
        <h1>Tenzro console</h1>
        <p>
          Signed in as <strong data-testid="signed-in-party">{signedIn.partyId}</strong>
        </p>
        <button type="button" className="tenzro-button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav className="console-nav" aria-label="Sessions">
        <h2>Sessions</h2>
        <button type="button" className="tenzro-button tenzro-button--primary" onClick={() => show({ kind: 'create' })}>
          New session
        </button>
        <JoinByCode
          signedIn={signedIn}
          onFound={(id) => {
            void sessions.refresh();
            show({ kind: 'session', id });
          }}
        />
        {sessions.status === 'loading' ? <p role="status">Loading sessions…</p> : null}
        {sessions.status === 'error' ? <p role="alert" className="tenzro-error">{sessions.error.message}</p> : null}
        <MultiPartySessionList
          sessions={sessions.sessions}
          selectedId={view.kind === 'session' ? view.id : undefined}
          onSelect={(session) => show({ kind: 'session', id: session.id })}
          emptyText="No sessions yet: create one, or join one with its code."
        />
      </nav>
      <main id="console-main" ref={mainRef} tabIndex={-1} className="console-main">
        {view.kind === 'welcome' ? <p>Choose a session, create one, or join one with the code its creator gave you.</p> : null}
        {view.kind === 'create' ? (
          <section aria-labelledby="console-create-title">
            <h2 id="console-create-title">New session</h2>
            <CreateMultiPartySession
              models={MODELS}
              defaultValues={{ modelId: MODELS[0], participants: signedIn.partyId }}
              onCreated={(session) => {
                void sessions.refresh();
                show({ kind: 'session', id: session.id });
              }}
            />
          </section>
        ) : null}
        {view.kind === 'session' ? <SessionView key={view.id} signedIn={signedIn} sessionId={view.id} /> : null}
      </main>
    </div>
  );
}

export function App(): ReactNode {
  const [signedIn, setSignedIn] = useState<SignedIn | null>(null);
  if (signedIn === null) return <SignIn onSignedIn={setSignedIn} />;
  return (
    <TenzroProvider platform={signedIn.platform}>
      <Workspace signedIn={signedIn} onSignOut={() => setSignedIn(null)} />
    </TenzroProvider>
  );
}
