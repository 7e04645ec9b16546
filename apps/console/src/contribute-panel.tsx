/**
 * Contribute a records file: the session key's attestation is checked first (and shown); the file is read,
 * parsed, encrypted in this page to the attested enclave by `platform.ai.contribute`, and uploaded, with a
 * progress bar through the four phases. An attestation that does not verify blocks the upload.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { Contribution, MultiPartySession, SessionKey, TenzroPlatform } from '@tenzro/platform';
import { DEFAULT_DATA_SCHEMA } from '@tenzro/platform-ui';
import { readFileText } from './credentials.js';
import { onUploadProgress } from './upload-fetch.js';
import { failureOf, message } from './errors.js';

type Phase = 'reading' | 'parsing' | 'encrypting' | 'uploading';
const PHASES: readonly Phase[] = ['reading', 'parsing', 'encrypting', 'uploading'];
const PHASE_LABELS: Record<Phase, string> = {
  reading: 'Reading the file',
  parsing: 'Parsing the records',
  encrypting: 'Verifying the enclave and encrypting in this page',
  uploading: 'Uploading the ciphertext',
};

type KeyCheck = { state: 'checking' } | { state: 'verified'; key: SessionKey } | { state: 'failed'; message: string; code?: string };

interface Progress {
  phase: Phase;
  /** 0..1 within the phase; null when the phase cannot measure itself. */
  fraction: number | null;
  detail: string;
}


function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function KeyAttestation({ check }: { check: KeyCheck }): ReactNode {
  if (check.state === 'checking') return <p role="status">Checking the enclave's attestation…</p>;
  if (check.state === 'failed') {
    return (
      <div className="console-verify console-verify--failed" role="alert" data-testid="key-attestation" data-code={check.code}>
        <p>
          <strong>Verification failed:</strong> the session key's attestation does not verify under your trust settings. Upload is blocked.
        </p>
        <p className="console-detail">
          {check.message}
          {check.code ? <code> ({check.code})</code> : null}
        </p>
      </div>
    );
  }
  const v = check.key.verified;
  return (
    <div className="console-verify console-verify--passed" data-testid="key-attestation">
      <p>
        <strong>Enclave verified:</strong> the session key is attested by a {v.verified ? v.provider : 'unknown'} enclave with measurement{' '}
        <code className="console-hash">{v.verified ? v.measurement : '—'}</code>, the one you pinned.
      </p>
    </div>
  );
}

export function ContributePanel({ platform, session, onContributed }: { platform: TenzroPlatform; session: MultiPartySession; onContributed: (c: Contribution) => void }): ReactNode {
  const id = useId();
  const [check, setCheck] = useState<KeyCheck>({ state: 'checking' });
  const [file, setFile] = useState<File | null>(null);
  const [dataSchema, setDataSchema] = useState(DEFAULT_DATA_SCHEMA);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<Contribution | null>(null);
  const errorRef = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    setCheck({ state: 'checking' });
    platform.ai
      .getSessionKey(session.id, { signal: controller.signal })
      .then((key) => {
        if (!controller.signal.aborted) setCheck(key.verified.verified ? { state: 'verified', key } : { state: 'failed', message: key.verified.reason, code: key.verified.code });
      })
      .catch((cause: unknown) => {
        if (!controller.signal.aborted) setCheck({ state: 'failed', ...failureOf(cause) });
      });
    return () => controller.abort();
  }, [platform, session.id]);

  const fail = (text: string): void => {
    setError(text);
    setProgress(null);
    requestAnimationFrame(() => errorRef.current?.focus());
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setError(null);
    if (check.state !== 'verified') return fail('The enclave is not verified: nothing is uploaded.');
    if (file === null) return fail('Choose a records file first.');
    if (dataSchema.trim() === '') return fail('Enter the data schema.');
    setProgress({ phase: 'reading', fraction: 0, detail: `0 of ${formatBytes(file.size)}` });
    let text: string;
    try {
      text = await readFileText(file, (loaded, total) =>
        setProgress({ phase: 'reading', fraction: total > 0 ? loaded / total : null, detail: `${formatBytes(loaded)} of ${formatBytes(total)}` }),
      );
    } catch (cause) {
      return fail(`${file.name} could not be read: ${message(cause)}`);
    }
    setProgress({ phase: 'parsing', fraction: null, detail: file.name });
    // Let the bar paint before the (synchronous) parse of a large file.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      return fail(`${file.name} is not valid JSON: ${message(cause)}`);
    }
    if (!Array.isArray(data)) return fail(`${file.name} must hold a JSON array of records.`);
    const count = data.length;
    setProgress({ phase: 'encrypting', fraction: null, detail: `${count} records` });
    const stop = onUploadProgress(({ loaded, total }) =>
      setProgress({ phase: 'uploading', fraction: total > 0 ? loaded / total : null, detail: `${formatBytes(loaded)} of ${formatBytes(total)}` }),
    );
    try {
      const contribution = await platform.ai.contribute({ sessionId: session.id, data, dataSchema: dataSchema.trim() });
      setProgress(null);
      setDone(contribution);
      onContributed(contribution);
    } catch (cause) {
      fail(`The contribution failed: ${message(cause)}`);
    } finally {
      stop();
    }
  };

  const step = progress ? PHASES.indexOf(progress.phase) : -1;
  return (
    <section className="console-panel" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Contribute your records</h3>
      <KeyAttestation check={check} />
      {done ? (
        <div role="status" className="console-ok" data-testid="contribution-receipt">
          <p>Your records were encrypted in this page and submitted ({done.recordCount} records, {formatBytes(done.size)} of ciphertext).</p>
          <p>
            Your commitment: <code className="console-hash">{done.commitment}</code>
          </p>
        </div>
      ) : (
        <form onSubmit={(event) => void onSubmit(event)} aria-label="Contribute records">
          <div className="tenzro-field">
            <label htmlFor={`${id}-file`}>Records file (JSON array)</label>
            <input id={`${id}-file`} type="file" accept="application/json,.json" disabled={progress !== null} onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          </div>
          <div className="tenzro-field">
            <label htmlFor={`${id}-schema`}>Data schema</label>
            <input id={`${id}-schema`} type="text" value={dataSchema} disabled={progress !== null} onChange={(e) => setDataSchema(e.currentTarget.value)} />
          </div>
          <p className="tenzro-hint">Encrypted in this page to the attested enclave; the platform stores only ciphertext and your commitment.</p>
          <button type="submit" className="tenzro-button tenzro-button--primary" disabled={check.state !== 'verified' || progress !== null}>
            Encrypt and upload
          </button>
          {progress ? (
            <div className="console-progress" data-testid="contribute-progress">
              <label htmlFor={`${id}-progress`}>
                Step {step + 1} of {PHASES.length}: {PHASE_LABELS[progress.phase]} ({progress.detail})
              </label>
              <progress id={`${id}-progress`} max={1} {...(progress.fraction === null ? {} : { value: progress.fraction })} data-phase={progress.phase} />
              <ol className="console-phases">
                {PHASES.map((phase, index) => (
                  <li key={phase} aria-current={index === step ? 'step' : undefined} className={index < step ? 'done' : index === step ? 'current' : ''}>
                    {PHASE_LABELS[phase]}
                  </li>
                ))}
              </ol>
            </div>
          ) : null}
          <div role="status" aria-live="polite" className="tenzro-live">
            {progress ? `${PHASE_LABELS[progress.phase]}` : ''}
          </div>
          {error ? (
            <p ref={errorRef} tabIndex={-1} role="alert" className="tenzro-error">
              {error}
            </p>
          ) : null}
        </form>
      )}
    </section>
  );
}
