/**
 * `run`: the one place where the parties' data meets (DESIGN §5.5–5.7, §7 federated, §8 release).
 *
 * Stages, in order:
 *   1. terms   — the terms hash to the session id; the session has not expired (enclave clock); the method is one this build runs; the model and its
 *                digest are the ones the terms name.
 *   2. consent — every consent is checked against the roster signing key in the terms, and must grant
 *                all four permissions. Data of a party without a valid consent is never decrypted.
 *   3. open    — each consented submission is decrypted, its commitment recomputed and its records
 *                validated; a submission that fails is left out (the host checked it at upload with
 *                `verifySubmission`, so this is rare).
 *   4. include — included = consented ∧ valid, sorted by party id; two included submissions with one
 *                commitment or one ciphertext (the host replaying a party's blob under another party)
 *                refuse the whole run (`duplicate_submission`); fewer than `minParticipants` refuses.
 *   5. train   — the model runs federated over per-party partitions (never pooled), with DP from the terms.
 *   6. release — the release policy checks the output; any violation refuses the whole result.
 *   7. report  — the result report, attested with `user_data = reportDigest(report)`, and one sealed
 *                result body per recipient (included participants, then observers).
 */
import { resolve } from 'node:path';
import { RESULT_INFO, canonicalize, fromBase64Url, sealEnvelope, toBase64Url, utf8Encode } from '@tenzro/crypto';
import { ModelRunError, checkRelease, cryptoRng } from '@tenzro/models';
import {
  RESULT_BODY_TYPE,
  RESULT_REPORT_TYPE,
  ResultBody,
  TenzroError,
  aggregatedDataHash,
  isFullConsent,
  promptHash,
  reportDigest,
  resultHash,
  verifyConsentSignature,
  type ChannelSubmission,
  type EnclaveRequestOf,
  type EnclaveResultOf,
  type ResultReport,
  type SharedResult,
} from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { refuse } from '../errors.js';
import { logEvent } from '../log.js';
import { assertNotExpired, assertTermsMatch, comparePartyIds, modelOf, participantOf } from '../session.js';
import { openSubmission, type OpenedSubmission } from '../submission.js';

/** Submissions opened at once (each is decrypted chunk-pipelined already). */
const OPEN_CONCURRENCY = 4;

type RunRequest = EnclaveRequestOf<'run'>;

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

function assertUniqueParties(list: readonly { partyId: string }[], what: string): void {
  const seen = new Set<string>();
  for (const item of list) {
    if (seen.has(item.partyId)) throw refuse('invalid_request', `two ${what} for one party`);
    seen.add(item.partyId);
  }
}

/**
 * No two submissions may name one blob, and no two included submissions may carry one commitment or one
 * ciphertext: a host that copies party A's blob and commitment into party C's row would otherwise have
 * A's data counted twice and C credited with data it never sent.
 */
function assertDistinct<T>(list: readonly T[], keyOf: (item: T) => string, what: string): void {
  const seen = new Set<string>();
  for (const item of list) {
    const key = keyOf(item);
    if (seen.has(key)) throw refuse('duplicate_submission', `two submissions share one ${what}; the run is refused`);
    seen.add(key);
  }
}

/** Stage 2: the parties whose consent verifies against the roster and grants everything. */
function consentedParties(request: RunRequest): Set<string> {
  const consented = new Set<string>();
  for (const consent of request.consents) {
    const participant = participantOf(request.terms, consent.partyId);
    if (!isFullConsent(consent.consent)) continue;
    if (!verifyConsentSignature(request.sessionId, consent.consent, consent.signature, participant.signingKey)) {
      logEvent('consent_excluded', { reason: 'signature_invalid' });
      continue;
    }
    consented.add(consent.partyId);
  }
  return consented;
}

async function openAll(
  ctx: EnclaveContext,
  request: RunRequest,
  model: Parameters<typeof openSubmission>[1],
  submissions: ChannelSubmission[],
): Promise<OpenedSubmission[]> {
  const privateKey = await ctx.keys.unsealSessionKey(request.sessionId, request.sealedKey);
  const opened: OpenedSubmission[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < submissions.length) {
      const submission = submissions[next++]!;
      try {
        opened.push(await openSubmission(privateKey, model, submission));
      } catch (error) {
        if (!(error instanceof TenzroError)) throw error;
        logEvent('submission_excluded', { code: error.code });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, submissions.length) }, worker));
  return opened.sort((a, b) => comparePartyIds(a.partyId, b.partyId));
}

/** A plain-JSON copy: what recipients will parse back, so hashes computed here match theirs. */
function plainJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The rule a release-policy violation broke. Violations read `<path>: <rule>`; the path may hold names
 * taken from the output, so only the fixed rule text after the last ': ' leaves the enclave.
 */
function violationRule(violation: unknown): string {
  if (typeof violation !== 'string') return 'release policy';
  const at = violation.lastIndexOf(': ');
  return at === -1 ? 'release policy' : violation.slice(at + 2);
}

/** A model's own refusal (ModelRunError) becomes run_failed naming only its code. */
async function runModel<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ModelRunError) throw refuse('run_failed', `the model run failed (${error.code})`);
    throw error;
  }
}

export async function run(ctx: EnclaveContext, request: RunRequest): Promise<EnclaveResultOf<'run'>> {
  const { sessionId, terms } = request;
  // 1. terms
  assertTermsMatch(sessionId, terms);
  assertNotExpired(terms);
  const policy = terms.dataPolicy;
  if (policy.aggregationMethod !== 'federated' || !policy.federatedConfig) {
    throw refuse('method_not_available', `this enclave runs only federated sessions, not ${policy.aggregationMethod}`);
  }
  const model = modelOf(terms);
  if (!(model.methods as readonly string[]).includes('federated')) {
    throw refuse('method_not_available', 'the session model does not support federated runs');
  }
  assertUniqueParties(request.submissions, 'submissions');
  assertUniqueParties(request.consents, 'consents');
  for (const submission of request.submissions) participantOf(terms, submission.partyId);
  assertDistinct(request.submissions, (s) => resolve(s.blobPath), 'blob');

  // 2. consent, 3. open
  const started = performance.now();
  const consented = consentedParties(request);
  const candidates = request.submissions.filter((s) => consented.has(s.partyId));
  const included = candidates.length > 0 ? await openAll(ctx, request, model, candidates) : [];
  const decryptVerifyMs = elapsed(started);

  // 4. include
  assertDistinct(included, (s) => s.commitment, 'commitment');
  assertDistinct(included, (s) => s.ciphertextHash, 'ciphertext');
  if (included.length < policy.minParticipants) {
    throw refuse(
      'session_not_ready',
      `${included.length} participant(s) have a valid submission and consent; the session needs ${policy.minParticipants}`,
    );
  }

  // 5. train
  const trainStarted = performance.now();
  const partitions = included.map((p) => ({ partyId: p.partyId, records: p.records }));
  const federated = policy.federatedConfig;
  const output = await runModel(() =>
    model.run({ method: 'federated', partitions, federated, prompt: request.prompt, parameters: request.parameters, rng: cryptoRng() }),
  );
  const trainMs = elapsed(trainStarted);

  // 6. release
  const reportStarted = performance.now();
  const verdict = checkRelease(output, partitions);
  if (!verdict.ok) {
    const rules = [...new Set(verdict.violations.map(violationRule))].join(', ');
    throw refuse('run_failed', `the result was withheld by the release policy (${rules})`);
  }

  // 7. report, attest, seal
  const shared: SharedResult = plainJson({ content: output.shared.content, findings: output.shared.findings });
  const includedParties = included.map((p) => p.partyId);
  const report: ResultReport = {
    type: RESULT_REPORT_TYPE,
    sessionId,
    runId: request.runId,
    modelId: model.id,
    modelDigest: model.digest,
    promptHash: promptHash(request.prompt),
    parameters: request.parameters,
    participantCount: included.length,
    includedParties,
    aggregatedDataHash: aggregatedDataHash(included.map((p) => ({ partyId: p.partyId, commitment: p.commitment }))),
    resultHash: resultHash(shared),
    releasedAt: new Date().toISOString(),
  };
  const attestation = await ctx.nsm.issue({ userData: reportDigest(report) });

  const recipients = [
    ...includedParties.map((partyId) => ({ partyId, encryptionKey: participantOf(terms, partyId).encryptionKey, participant: true })),
    ...terms.observers.map((o) => ({ partyId: o.partyId, encryptionKey: o.encryptionKey, participant: false })),
  ];
  const sealedResults: { partyId: string; sealed: string }[] = [];
  for (const recipient of recipients) {
    const own = recipient.participant ? output.privateFindings[recipient.partyId] : undefined;
    const candidate = {
      type: RESULT_BODY_TYPE,
      sessionId,
      runId: request.runId,
      recipient: recipient.partyId,
      shared,
      ...(own === undefined ? {} : { privateFindings: plainJson(own) }),
    };
    const body = ResultBody.safeParse(candidate);
    if (!body.success) throw refuse('run_failed', "the model's output does not fit the result body");
    const sealed = await sealEnvelope(
      fromBase64Url(recipient.encryptionKey, 'encryptionKey'),
      utf8Encode(canonicalize(body.data)),
      { info: RESULT_INFO },
    );
    sealedResults.push({ partyId: recipient.partyId, sealed: toBase64Url(sealed) });
  }
  const reportMs = elapsed(reportStarted);

  return {
    report,
    attestation: toBase64Url(attestation),
    sealedResults,
    timings: { decryptVerifyMs, trainMs, reportMs },
  };
}
