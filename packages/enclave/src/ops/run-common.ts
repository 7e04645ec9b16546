/**
 * What every `run` shares, whatever its aggregation method (DESIGN §5.5–5.7, §8): the checks on the
 * request and the terms, consent verification, inclusion rules, the model call, the release policy, and the
 * attested report with one sealed result body per recipient. `run.ts` (federated) and `secagg-run.ts`
 * (secure aggregation) differ only in how they turn the parties' submissions into the model's input.
 */
import { resolve } from 'node:path';
import { RESULT_INFO, canonicalize, fromBase64Url, sealEnvelope, toBase64Url, utf8Encode } from '@tenzro/crypto';
import { ModelRunError, checkRelease, type ReleaseOptions } from '@tenzro/models';
import {
  RESULT_BODY_TYPE,
  RESULT_REPORT_TYPE,
  ResultBody,
  aggregatedDataHash,
  isFullConsent,
  promptHash,
  reportDigest,
  resultHash,
  verifyConsentSignature,
  type EnclaveRequestOf,
  type EnclaveResultOf,
  type ResultReport,
  type SharedResult,
} from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { refuse } from '../errors.js';
import { logEvent } from '../log.js';
import { DETERMINISTIC_BACKEND } from '../narrative/backend.js';
import { narrate } from '../narrative/narrate.js';
import { assertNotExpired, assertTermsMatch, comparePartyIds, participantOf, type EnclaveModelImpl } from '../session.js';

export type RunRequest = EnclaveRequestOf<'run'>;
export type RunReply = EnclaveResultOf<'run'>;
export type RunModelOutput = Awaited<ReturnType<EnclaveModelImpl['run']>>;

/** Milliseconds since `since`, to 0.1 ms. */
export function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

export function assertUniqueParties(list: readonly { partyId: string }[], what: string): void {
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
export function assertDistinct<T>(list: readonly T[], keyOf: (item: T) => string, what: string): void {
  const seen = new Set<string>();
  for (const item of list) {
    const key = keyOf(item);
    if (seen.has(key)) throw refuse('duplicate_submission', `two submissions share one ${what}; the run is refused`);
    seen.add(key);
  }
}

/** Blob paths compared after resolving (`dir/./x` is `dir/x`). */
export function blobKey(item: { blobPath: string }): string {
  return resolve(item.blobPath);
}

/**
 * Stage 1 checks common to every method: the terms hash to the session id, the session has not expired
 * (enclave clock), one submission and one consent per party, every submitter is on the roster, no blob
 * named twice.
 */
export function checkRunRequest(request: RunRequest): void {
  assertTermsMatch(request.sessionId, request.terms);
  assertNotExpired(request.terms);
  assertUniqueParties(request.submissions, 'submissions');
  assertUniqueParties(request.consents, 'consents');
  for (const submission of request.submissions) participantOf(request.terms, submission.partyId);
  assertDistinct(request.submissions, blobKey, 'blob');
}

/** The model must declare `method` (e.g. a model without an aggregate layout cannot run secure_aggregation). */
export function assertModelMethod(model: EnclaveModelImpl, method: string): void {
  if (!(model.methods as readonly string[]).includes(method)) {
    throw refuse('method_not_available', `the session model does not support ${method} runs`);
  }
}

/** Stage 2: the parties whose consent verifies against the roster and grants everything. */
export function consentedParties(request: RunRequest): Set<string> {
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

/** Fewer included parties than the policy's minParticipants refuses the run. */
export function assertMinParticipants(request: RunRequest, count: number, what = 'participant(s) have a valid submission and consent'): void {
  const { minParticipants } = request.terms.dataPolicy;
  if (count < minParticipants) {
    throw refuse('session_not_ready', `${count} ${what}; the session needs ${minParticipants}`);
  }
}

/**
 * Opens `items` with at most `concurrency` in flight; an item whose `open` throws an error `excluded` names
 * (returns its code for) is left out and logged by that code; anything else aborts.
 */
export async function openEach<I, O>(
  items: readonly I[],
  open: (item: I) => Promise<O>,
  excluded: (error: unknown) => string | undefined,
  concurrency = 4,
): Promise<O[]> {
  const opened: O[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        opened.push(await open(item));
      } catch (error) {
        const code = excluded(error);
        if (code === undefined) throw error;
        logEvent('submission_excluded', { code });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return opened;
}

/** A plain-JSON copy: what recipients will parse back, so hashes computed here match theirs. */
export function plainJson<T>(value: T): T {
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
export async function runModel<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ModelRunError) throw refuse('run_failed', `the model run failed (${error.code})`);
    throw error;
  }
}

/**
 * The release policy's parameters for `model`: its minimum group size and the identifiers of its records
 * (a use-case model names its own; the defaults are transaction records' and 3).
 */
export function releaseOptionsOf(model: EnclaveModelImpl): ReleaseOptions {
  const options: ReleaseOptions = {};
  if (model.minGroupSize !== undefined) options.minGroupSize = model.minGroupSize;
  if (model.identifiersOf !== undefined) options.identifiersOf = (record) => model.identifiersOf!(record);
  return options;
}

/** Stage 6: the release policy checks the output; any violation refuses the whole result. */
export function assertReleasable(output: RunModelOutput, partitions: Parameters<typeof checkRelease>[1], options: ReleaseOptions = {}): void {
  const verdict = checkRelease(output, partitions, options);
  if (!verdict.ok) {
    const rules = [...new Set(verdict.violations.map(violationRule))].join(', ');
    throw refuse('run_failed', `the result was withheld by the release policy (${rules})`);
  }
}

/**
 * Stage 6b: the run's language-model backend (parameters.backend, default deterministic) writes `content`
 * from the shared findings; the release policy checks its text (narrate.ts). Returns the output to seal.
 */
export async function narrateOutput(
  ctx: EnclaveContext,
  request: RunRequest,
  model: EnclaveModelImpl,
  output: RunModelOutput,
  partitions: Parameters<typeof checkRelease>[1],
): Promise<{ output: RunModelOutput; backend: string }> {
  return narrate(ctx, output, { modelId: model.id, prompt: request.prompt, parameters: request.parameters, partitions, release: releaseOptionsOf(model) });
}

/**
 * Stages 6–7 as every method ends: the release policy on the model's output, the narrative backend (its
 * text checked again), then the report, attestation and sealed bodies.
 */
export async function releaseChecked(
  ctx: EnclaveContext,
  request: RunRequest,
  model: EnclaveModelImpl,
  included: readonly IncludedContribution[],
  output: RunModelOutput,
  partitions: Parameters<typeof checkRelease>[1],
): Promise<Omit<RunReply, 'timings'>> {
  assertReleasable(output, partitions, releaseOptionsOf(model));
  const narrated = await narrateOutput(ctx, request, model, output, partitions);
  return releaseResult(ctx, request, model, included, narrated.output, narrated.backend);
}

export interface IncludedContribution {
  partyId: string;
  commitment: string;
}

/**
 * Stage 7: the result report over `included` (sorted by party id here), attested with
 * `user_data = reportDigest(report)`, and one sealed ResultBody per recipient — the included participants
 * in order (each with its own private findings, if the model has any), then the observers.
 */
export async function releaseResult(
  ctx: EnclaveContext,
  request: RunRequest,
  model: EnclaveModelImpl,
  included: readonly IncludedContribution[],
  output: RunModelOutput,
  backend: string = DETERMINISTIC_BACKEND,
): Promise<Omit<RunReply, 'timings'>> {
  const { sessionId, terms } = request;
  const sorted = [...included].sort((a, b) => comparePartyIds(a.partyId, b.partyId));
  const shared: SharedResult = plainJson({ content: output.shared.content, findings: output.shared.findings });
  const includedParties = sorted.map((p) => p.partyId);
  const report: ResultReport = {
    type: RESULT_REPORT_TYPE,
    sessionId,
    runId: request.runId,
    modelId: model.id,
    modelDigest: model.digest,
    promptHash: promptHash(request.prompt),
    // the backend that wrote `content` (narrative/narrate.ts), recorded in the attested report
    parameters: { ...request.parameters, backend },
    participantCount: sorted.length,
    includedParties,
    aggregatedDataHash: aggregatedDataHash(sorted.map((p) => ({ partyId: p.partyId, commitment: p.commitment }))),
    resultHash: resultHash(shared),
    releasedAt: new Date().toISOString(),
  };
  const attestation = await ctx.nsm.issue({ userData: reportDigest(report) });

  const privateFindings = (output.privateFindings ?? {}) as Record<string, unknown>;
  const recipients = [
    ...includedParties.map((partyId) => ({ partyId, encryptionKey: participantOf(terms, partyId).encryptionKey, participant: true })),
    ...terms.observers.map((o) => ({ partyId: o.partyId, encryptionKey: o.encryptionKey, participant: false })),
  ];
  const sealedResults: { partyId: string; sealed: string }[] = [];
  for (const recipient of recipients) {
    const own = recipient.participant && Object.hasOwn(privateFindings, recipient.partyId) ? privateFindings[recipient.partyId] : undefined;
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
    const sealed = await sealEnvelope(fromBase64Url(recipient.encryptionKey, 'encryptionKey'), utf8Encode(canonicalize(body.data)), {
      info: RESULT_INFO,
    });
    sealedResults.push({ partyId: recipient.partyId, sealed: toBase64Url(sealed) });
  }
  return { report, attestation: toBase64Url(attestation), sealedResults };
}
