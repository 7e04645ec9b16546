/**
 * The result, opened in this page, and the verification panel: the result's attestation (provider and
 * measurement, checked against the pinned one), the inclusion of this party's own commitment, the
 * consents, and every other check `platform.audit.verifySession` runs over the signed audit log.
 */
import { useCallback, useEffect, useId, useState, type ReactNode } from 'react';
import type { CheckOutcome, InferenceResult, MultiPartySession, SessionVerdict, TenzroPlatform, VerificationCheck } from '@tenzro/platform';
import { failureOf, message } from './errors.js';

const CHECK_LABELS: Record<VerificationCheck, string> = {
  tree_head_signature: 'Audit log tree head is signed by the log key',
  tree_consistency: 'Audit log is consistent with what this client saw before',
  event_inclusion: "Every event of the session's trail is in the log",
  trail_complete: 'The trail has no gaps',
  session_terms: 'The session terms hash to its id',
  key_attestation: 'The session key was attested by the enclave',
  consent_signatures: 'Consents are signed by the participants before the run',
  result_report: 'The result report matches the logged one',
  result_attestation: 'The result report is attested by the enclave',
  aggregated_data_hash: 'The aggregated data hash matches the submissions',
  own_commitment_included: 'Your own commitment is included',
  deletion_statement: 'Data deletion is attested',
};

type Loaded =
  | { state: 'loading' }
  | { state: 'failed'; message: string; code?: string }
  | { state: 'done'; result: InferenceResult; verdict: SessionVerdict | null; verdictError: string | null };


function statusText(status: CheckOutcome['status']): string {
  return status === 'passed' ? 'Passed' : status === 'failed' ? 'Failed' : 'Not applicable';
}

function CheckRow({ label, outcome }: { label: string; outcome: CheckOutcome | undefined }): ReactNode {
  if (!outcome) return null;
  return (
    <tr className={`console-check console-check--${outcome.status}`} data-check={outcome.check}>
      <th scope="row">{label}</th>
      <td>
        <span aria-hidden="true">{outcome.status === 'passed' ? '✓ ' : outcome.status === 'failed' ? '✗ ' : '– '}</span>
        {statusText(outcome.status)}
      </td>
      <td className="console-detail">{outcome.detail}</td>
    </tr>
  );
}

export function ResultPanel({ platform, session, pinnedMeasurement }: { platform: TenzroPlatform; session: MultiPartySession; pinnedMeasurement: string }): ReactNode {
  const id = useId();
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);

  const load = useCallback(
    async (signal: AbortSignal): Promise<void> => {
      setLoaded({ state: 'loading' });
      let result: InferenceResult;
      try {
        result = await platform.ai.getSessionResult(session.id, { signal });
      } catch (cause) {
        if (!signal.aborted) setLoaded({ state: 'failed', ...failureOf(cause) });
        return;
      }
      let verdict: SessionVerdict | null = null;
      let verdictError: string | null = null;
      try {
        verdict = await platform.audit.verifySession(session.id, { signal });
      } catch (cause) {
        verdictError = message(cause);
      }
      if (!signal.aborted) setLoaded({ state: 'done', result, verdict, verdictError });
    },
    [platform, session.id],
  );

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load, attempt]);

  const title = `${id}-title`;
  if (loaded.state === 'loading') {
    return (
      <section className="console-panel" aria-labelledby={title} aria-busy="true">
        <h3 id={title}>Result</h3>
        <p role="status">Opening the result and verifying it…</p>
      </section>
    );
  }
  if (loaded.state === 'failed') {
    return (
      <section className="console-panel" aria-labelledby={title}>
        <h3 id={title}>Result</h3>
        <div className="console-verify console-verify--failed" data-testid="verification-panel" data-verdict="failed" data-code={loaded.code} role="alert">
          <p>
            <strong>Verification failed:</strong> the result was not accepted.
          </p>
          <p className="console-detail">
            {loaded.message}
            {loaded.code ? <code> ({loaded.code})</code> : null}
          </p>
        </div>
        <button type="button" className="tenzro-button" onClick={() => setAttempt((n) => n + 1)}>
          Verify again
        </button>
      </section>
    );
  }
  const { result, verdict, verdictError } = loaded;
  const tee = result.teeAttestation;
  const measurementPinned = tee.verified && tee.measurement.toLowerCase() === pinnedMeasurement.trim().toLowerCase();
  const ok = tee.verified && measurementPinned && verdict !== null && verdict.ok;
  const outcome = (check: VerificationCheck): CheckOutcome | undefined => verdict?.checks.find((c) => c.check === check);
  const own = outcome('own_commitment_included');
  const consents = outcome('consent_signatures');
  return (
    <section className="console-panel" aria-labelledby={title}>
      <h3 id={title}>Result</h3>
      <div className="console-result" data-testid="result-content">
        <p className="console-result__content">{result.content}</p>
        <p>
          Included parties ({result.participantCount}): {result.includedParties.join(', ')}
        </p>
        {result.privateFindings ? (
          <details>
            <summary>Findings about your own records ({result.privateFindings.flagged.length} flagged)</summary>
            <pre>{JSON.stringify(result.privateFindings, null, 2)}</pre>
          </details>
        ) : null}
        <details>
          <summary>Shared findings</summary>
          <pre>{JSON.stringify(result.findings, null, 2)}</pre>
        </details>
      </div>
      <section
        className={`console-verify ${ok ? 'console-verify--passed' : 'console-verify--failed'}`}
        aria-labelledby={`${id}-verify`}
        data-testid="verification-panel"
        data-verdict={ok ? 'passed' : 'failed'}
      >
        <h4 id={`${id}-verify`}>
          <span aria-hidden="true">{ok ? '✓ ' : '✗ '}</span>
          {ok ? 'Verification passed' : 'Verification failed'}
        </h4>
        <dl className="console-facts">
          <dt>Attestation</dt>
          <dd data-testid="verify-attestation">
            {tee.verified
              ? `Verified: ${tee.provider} enclave ${tee.moduleId}, issued ${tee.timestamp}`
              : `Not verified: ${tee.reason}`}
          </dd>
          <dt>Measurement</dt>
          <dd data-testid="verify-measurement">
            <code className="console-hash">{tee.measurement ?? '—'}</code> {measurementPinned ? '(matches your pinned measurement)' : '(does NOT match your pinned measurement)'}
          </dd>
          <dt>Your commitment</dt>
          <dd data-testid="verify-own-commitment">{own ? `${statusText(own.status)}: ${own.detail}` : '—'}</dd>
          <dt>Consents</dt>
          <dd data-testid="verify-consents">{consents ? `${statusText(consents.status)}: ${consents.detail}` : '—'}</dd>
          <dt>Result hash</dt>
          <dd>
            <code className="console-hash">{result.resultHash}</code>
          </dd>
        </dl>
        {verdictError ? <p role="alert" className="tenzro-error">The audit trail could not be verified: {verdictError}</p> : null}
        {verdict ? (
          <table className="console-checks">
            <caption>Audit log checks (tree size {verdict.treeSize})</caption>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {verdict.checks.map((c) => (
                <CheckRow key={c.check} label={CHECK_LABELS[c.check] ?? c.check} outcome={c} />
              ))}
            </tbody>
          </table>
        ) : null}
        <button type="button" className="tenzro-button" onClick={() => setAttempt((n) => n + 1)}>
          Verify again
        </button>
      </section>
    </section>
  );
}
