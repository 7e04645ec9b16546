/**
 * `MultiPartySessionDetail({ session, onSubmitData, onConsent, onRunInference })`: the session's status,
 * who has submitted and consented, and the three actions a participant takes. Each action is shown only
 * when its handler is given and the viewer is a participant; the run button is enabled only when the
 * session is `ready`. Status changes and action outcomes are announced in a polite live region.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { MultiPartySession } from '@tenzro/platform';
import { useAction } from './use-action.js';
import { isOpen, joinClassNames, methodLabel, statusLabel } from './session-labels.js';

export interface SubmitDataInput {
  /** The file's records, parsed as JSON. */
  data: unknown;
  dataSchema: string;
  file: File;
}

export interface RunInferenceInput {
  prompt: string;
}

export interface MultiPartySessionDetailProps {
  session: MultiPartySession;
  onSubmitData?: (input: SubmitDataInput) => Promise<void> | void;
  onConsent?: () => Promise<void> | void;
  onRunInference?: (input: RunInferenceInput) => Promise<void> | void;
  /** The acting party: its row is marked "(you)" and its own progress decides which actions remain. */
  partyId?: string | undefined;
  /** Show the participant and observer lists (default true). */
  showParticipants?: boolean;
  /** The data schema the records file follows (default `transaction_records_v1`). */
  defaultDataSchema?: string;
  /** Extra content under the actions (the manager shows the result here). */
  children?: ReactNode;
  className?: string;
}

export const DEFAULT_DATA_SCHEMA = 'transaction_records_v1';

function formatDate(text: string): string {
  const time = Date.parse(text);
  return Number.isNaN(time) ? text : new Date(time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The words of the consent a party signs (the four flags of `FULL_CONSENT`, DESIGN §5.5). */
export function ConsentStatement({ session, id }: { session: MultiPartySession; id?: string }): ReactNode {
  const policy = session.dataPolicy;
  const recipients = [...session.participants, ...session.observers];
  return (
    <div id={id} className="tenzro-consent-statement">
      <p>By consenting you sign, with your party key, this statement bound to the session's terms ({session.id}):</p>
      <ul>
        <li>
          <strong>Data usage:</strong> your records are decrypted only inside the attested enclave and used only to run the model{' '}
          <code>{session.modelId}</code> by {methodLabel(policy.aggregationMethod).toLowerCase()} for this session.
        </li>
        <li>
          <strong>Result sharing:</strong> the result is shared with every party of the session ({recipients.join(', ')}).
        </li>
        <li>
          <strong>Attestation sharing:</strong> the enclave's attestation and the signed result report, which lists the included parties and
          their data commitments, are shared with those parties and recorded in the audit log.
        </li>
        <li>
          <strong>Retention:</strong>{' '}
          {policy.retentionPolicy === 'delete_after_inference'
            ? 'your encrypted data and the session key are deleted once the inference has run.'
            : `your encrypted data is kept until the session expires (${formatDate(session.expiresAt)}), then deleted.`}
        </li>
      </ul>
      <p>You can revoke consent until the run starts.</p>
    </div>
  );
}

function useStatusAnnouncement(session: MultiPartySession): [string, (message: string) => void] {
  const [message, setMessage] = useState('');
  const previous = useRef<{ id: string; status: string } | null>(null);
  useEffect(() => {
    const before = previous.current;
    if (before !== null && before.id === session.id && before.status !== session.status) {
      setMessage(`${session.name}: status changed from ${statusLabel(before.status as MultiPartySession['status'])} to ${statusLabel(session.status)}`);
    }
    previous.current = { id: session.id, status: session.status };
  }, [session.id, session.status, session.name]);
  return [message, setMessage];
}

export function MultiPartySessionDetail({
  session,
  onSubmitData,
  onConsent,
  onRunInference,
  partyId,
  showParticipants = true,
  defaultDataSchema = DEFAULT_DATA_SCHEMA,
  children,
  className,
}: MultiPartySessionDetailProps): ReactNode {
  const ids = useId();
  const [announcement, announce] = useStatusAnnouncement(session);
  const [file, setFile] = useState<File | null>(null);
  const [dataSchema, setDataSchema] = useState(defaultDataSchema);
  const [prompt, setPrompt] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);

  const submit = useAction(async (input: SubmitDataInput) => {
    await onSubmitData?.(input);
  });
  const consent = useAction(async () => {
    await onConsent?.();
  });
  const run = useAction(async (input: RunInferenceInput) => {
    await onRunInference?.(input);
  });
  const [fileError, setFileError] = useState<string | null>(null);

  const isParticipant = session.yourRoles.includes('participant');
  // The server lets participants and the session's creator run it; an observer only reads.
  const canRun = isParticipant || session.yourRoles.includes('creator');
  const open = isOpen(session.status);
  const submittedByYou = partyId !== undefined && session.dataSubmittedBy.includes(partyId);
  const consentedByYou = partyId !== undefined && session.consentedBy.includes(partyId);
  const ready = session.status === 'ready';

  const onSubmitFile = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setFileError(null);
    if (file === null) {
      setFileError('Choose a records file first.');
      return;
    }
    if (dataSchema.trim() === '') {
      setFileError('Data schema is required.');
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(await file.text());
    } catch (cause) {
      setFileError(`${file.name} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
      return;
    }
    if (await submit.run({ data, dataSchema: dataSchema.trim(), file })) {
      announce(`Data from ${file.name} was encrypted and submitted.`);
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
    }
  };

  const onConsentClick = async (): Promise<void> => {
    if (await consent.run()) announce('Your consent was signed and recorded.');
  };

  const onRun = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (!ready) return;
    if (await run.run({ prompt })) announce('The inference finished.');
  };

  const mark = (done: boolean, yes: string): ReactNode => (
    <span className={done ? 'tenzro-mark tenzro-mark--done' : 'tenzro-mark tenzro-mark--pending'}>
      <span aria-hidden="true">{done ? '✓ ' : '… '}</span>
      {done ? yes : 'Pending'}
    </span>
  );

  const headingId = `${ids}-heading`;
  const consentId = `${ids}-consent`;
  const runHelpId = `${ids}-run-help`;
  return (
    <section className={joinClassNames('tenzro-session-detail', className)} aria-labelledby={headingId}>
      <h2 id={headingId} className="tenzro-session-detail__title">
        {session.name}
      </h2>
      <p className="tenzro-session-detail__status">
        Status: <span className={`tenzro-status tenzro-status--${session.status}`}>{statusLabel(session.status)}</span>
      </p>
      <div role="status" aria-live="polite" aria-atomic="true" className="tenzro-live">
        {announcement}
      </div>
      {session.description ? <p className="tenzro-session-detail__description">{session.description}</p> : null}
      <dl className="tenzro-session-detail__facts">
        <dt>Model</dt>
        <dd>{session.modelId}</dd>
        <dt>Method</dt>
        <dd>{methodLabel(session.dataPolicy.aggregationMethod)}</dd>
        <dt>Minimum participants</dt>
        <dd>{session.dataPolicy.minParticipants}</dd>
        <dt>Expires</dt>
        <dd>{formatDate(session.expiresAt)}</dd>
        <dt>Join code</dt>
        <dd>
          <code>{session.joinCode}</code>
        </dd>
      </dl>

      {showParticipants ? (
        <>
          <table className="tenzro-participants">
            <caption>Participants</caption>
            <thead>
              <tr>
                <th scope="col">Party</th>
                <th scope="col">Data</th>
                <th scope="col">Consent</th>
              </tr>
            </thead>
            <tbody>
              {session.participants.map((party) => (
                <tr key={party}>
                  <th scope="row">
                    {party}
                    {party === partyId ? ' (you)' : ''}
                  </th>
                  <td>{mark(session.dataSubmittedBy.includes(party), 'Submitted')}</td>
                  <td>{mark(session.consentedBy.includes(party), 'Consented')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {session.observers.length > 0 ? (
            <p className="tenzro-observers">
              Observers (receive the result, contribute no data): {session.observers.join(', ')}
            </p>
          ) : null}
        </>
      ) : null}

      {onSubmitData && isParticipant && open ? (
        submittedByYou ? (
          <p className="tenzro-done">Your data is submitted.</p>
        ) : (
          <form className="tenzro-form tenzro-submit-data" onSubmit={(event) => void onSubmitFile(event)} aria-label="Submit data">
            <div className="tenzro-field">
              <label htmlFor={`${ids}-file`}>Records file (JSON)</label>
              <input
                id={`${ids}-file`}
                ref={fileInput}
                type="file"
                accept="application/json,.json"
                onChange={(event) => {
                  setFileError(null);
                  setFile(event.currentTarget.files?.[0] ?? null);
                }}
              />
            </div>
            <div className="tenzro-field">
              <label htmlFor={`${ids}-schema`}>Data schema</label>
              <input id={`${ids}-schema`} type="text" value={dataSchema} onChange={(event) => setDataSchema(event.currentTarget.value)} />
            </div>
            <p className="tenzro-hint">The records are encrypted in this page to the session's attested enclave before they are sent.</p>
            <button type="submit" className="tenzro-button" disabled={submit.pending}>
              {submit.pending ? 'Encrypting and submitting…' : 'Encrypt and submit data'}
            </button>
            {fileError !== null || submit.error !== null ? (
              <p role="alert" className="tenzro-error">
                {fileError ?? submit.error?.message}
              </p>
            ) : null}
          </form>
        )
      ) : null}

      {onConsent && isParticipant && open ? (
        consentedByYou ? (
          <p className="tenzro-done">You have consented.</p>
        ) : (
          <div className="tenzro-consent" role="group" aria-label="Consent">
            <ConsentStatement session={session} id={consentId} />
            <button type="button" className="tenzro-button" aria-describedby={consentId} disabled={consent.pending} onClick={() => void onConsentClick()}>
              {consent.pending ? 'Signing consent…' : 'I consent to these terms'}
            </button>
            {consent.error !== null ? (
              <p role="alert" className="tenzro-error">
                {consent.error.message}
              </p>
            ) : null}
          </div>
        )
      ) : null}

      {onRunInference && open && canRun ? (
        <form className="tenzro-form tenzro-run" onSubmit={(event) => void onRun(event)} aria-label="Run inference">
          <div className="tenzro-field">
            <label htmlFor={`${ids}-prompt`}>Prompt</label>
            <textarea id={`${ids}-prompt`} rows={3} value={prompt} onChange={(event) => setPrompt(event.currentTarget.value)} />
          </div>
          <button type="submit" className="tenzro-button tenzro-button--primary" disabled={!ready || run.pending} aria-describedby={runHelpId}>
            {run.pending ? 'Running…' : 'Run inference'}
          </button>
          <p id={runHelpId} className="tenzro-hint">
            {ready
              ? 'Every required participant has submitted data and consented.'
              : 'Available when the session is ready: enough participants have submitted data and consented.'}
          </p>
          {run.error !== null ? (
            <p role="alert" className="tenzro-error">
              {run.error.message}
            </p>
          ) : null}
        </form>
      ) : null}
      {children}
    </section>
  );
}
