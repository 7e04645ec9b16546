/**
 * `verifySessionEvidence`: the offline half of `platform.audit.verifySession` (issue 3). Given what the
 * host returned — a session's trail with its signed tree head and inclusion proofs, a consistency proof
 * to the last head this client saw, the session terms — and what the caller knows itself (its own
 * commitment, the report of the result it opened), it runs the checks of `VERIFICATION_CHECKS` in order
 * and returns one outcome per check. Every check runs, so the verdict shows everything that is wrong;
 * `firstFailure` is the first failing one in the fixed order.
 *
 * Attestation documents in the log are historical evidence: each is verified at its own timestamp
 * (certificates valid then), against the caller's trusted roots and measurements.
 *
 * A trail that stops early is the attack a log alone does not show (every event left is still proven), so
 * the end of the trail is held against what the client knows otherwise: the session state the host
 * reports (a completed, cancelled or expired session must log its terminal event, every party it lists as
 * submitted or consented its event), what this client saw before (its last event, and the report of the
 * result it opened), and the clock (past `expiresAt` plus a grace period, the deletion must be attested).
 */
import { canonicalBytes, canonicalize, equalBytes, fromBase64Url, verifyInclusion } from '@tenzro/crypto';
import {
  AttestationError,
  ConsentRecordedPayload,
  DataSubmittedPayload,
  SecAggUnmaskReceivedPayload,
  DeletionAttestedPayload,
  KeyIssuedPayload,
  ResultReleasedPayload,
  SessionCreatedPayload,
  VERIFICATION_CHECKS,
  aggregatedDataHash,
  auditLeafHash,
  deletionStatementDigest,
  isFullConsent,
  logIdOf,
  parseAttestationDocument,
  reportDigest,
  reportHash,
  sessionIdOf,
  sessionKeyUserData,
  sha256Tagged,
  verifyAttestation,
  verifyConsentSignature,
  type AuditEvent,
  type AuditEventKind,
  type CheckOutcome,
  type DeletionReason,
  type MultiPartySession,
  type ResultReport,
  type SessionTerms,
  type SessionTrailResponse,
  type SessionVerdict,
  type SignedTreeHead,
  type TrailEntry,
  type VerificationCheck,
} from '@tenzro/protocol';
import type { z } from 'zod';
import type { SessionMemory } from './store.js';
import { compareTreeHeads, isConsistent, verifyTreeHeadSignature } from './tree-head.js';

/**
 * How long after `expiresAt` the host has to attest a session's deletion: the server's expiry timer fires
 * at `expiresAt` and its sweep runs every 30 s; the rest is slack for an enclave that is briefly away.
 */
export const DELETION_GRACE_MS = 120_000;

/** What the host returned and the caller knows, gathered before any check runs. */
export interface SessionEvidence {
  sessionId: string;
  /** The log's Ed25519 public key (pinned, or the first one this client saw at the host). */
  logPublicKey: Uint8Array;
  /** Why the key the host serves now is not `logPublicKey` (a rotated key), if it is not. */
  logKeyError?: string | undefined;
  trail: SessionTrailResponse;
  /** The last head of this log the client accepted, if any. */
  previousHead: SignedTreeHead | undefined;
  /** The host's consistency proof from `previousHead` to the trail's head (base64url), when their sizes differ. */
  consistencyProof: readonly string[] | undefined;
  /** Why the host gave no consistency proof, when it was asked for one and failed. */
  consistencyError?: string | undefined;
  /** The session terms as the host returned them; `termsError` when it returned none. */
  terms: SessionTerms | undefined;
  termsError?: string | undefined;
  /** The session as the host returned it (`GET /v1/sessions/:id`, fetched before the trail): its status and
   *  who submitted and consented must each have their event in the trail. */
  session?: MultiPartySession | undefined;
  /** What this client remembered of the session before this verification (its AuditStore). */
  remembered?: SessionMemory | undefined;
  /** The time to judge expiry by (default: now). */
  now?: Date | undefined;
  /** The party the caller acts for (undefined for a tenant without a party). */
  callerPartyId: string | undefined;
  /** The commitment the caller submitted, from its store or its own records. */
  ownCommitment: string | undefined;
  /** The report of the result the caller opened itself, or why it could not; undefined when not tried. */
  openedResult?: { report: ResultReport } | { error: string } | undefined;
}

/**
 * The caller's attestation trust: root certificates (PEM) and the accepted measurements (hex PCR0).
 * Without measurements every attestation check fails: an unpinned measurement would accept any enclave code.
 */
export interface EvidenceTrust {
  roots: readonly string[];
  expectedMeasurements: readonly string[] | undefined;
}

type Outcome = Omit<CheckOutcome, 'check'>;

const passed = (detail: string): Outcome => ({ status: 'passed', detail });
const failed = (detail: string): Outcome => ({ status: 'failed', detail });
const notApplicable = (detail: string): Outcome => ({ status: 'not_applicable', detail });

/** `sha256:` + hex SHA-256 of `JCS(terms)`: what a session_created event records. */
export function termsHash(terms: SessionTerms): string {
  return sha256Tagged(canonicalBytes(terms));
}

interface Parsed<T> {
  entry: TrailEntry;
  event: AuditEvent;
  payload: T;
}

/** The trail's events of one kind with their pinned payloads parsed; the first malformed one is reported. */
function eventsOf<S extends z.ZodType>(
  entries: readonly TrailEntry[],
  kind: AuditEventKind,
  schema: S,
): { events: Parsed<z.infer<S>>[]; malformed: string | undefined } {
  const events: Parsed<z.infer<S>>[] = [];
  let malformed: string | undefined;
  for (const entry of entries) {
    if (entry.event.kind !== kind) continue;
    const parsed = schema.safeParse(entry.event.payload);
    if (parsed.success) events.push({ entry, event: entry.event, payload: parsed.data });
    else malformed ??= `the ${kind} event at logIndex ${entry.event.logIndex} does not carry the pinned payload (${parsed.error.issues[0]?.path.join('.') ?? '?'})`;
  }
  return { events, malformed };
}

function decode(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text, 'value');
  } catch {
    return undefined;
  }
}

/**
 * Verifies a logged attestation document at its own timestamp, and that the log's digest of it is right.
 * Returns undefined when it holds, else what is wrong.
 */
async function checkLoggedAttestation(
  document: string,
  digest: string | undefined,
  trust: EvidenceTrust,
  expect: { publicKey?: Uint8Array; userData: Uint8Array },
): Promise<string | undefined> {
  if (trust.expectedMeasurements === undefined || trust.expectedMeasurements.length === 0) {
    return 'no expected enclave measurement is configured, so no attestation can be trusted';
  }
  const bytes = decode(document);
  if (bytes === undefined) return 'the attestation is not base64url';
  if (digest !== undefined && sha256Tagged(bytes) !== digest) return 'the logged attestationDigest is not the digest of the logged document';
  let timestamp: number;
  try {
    timestamp = parseAttestationDocument(bytes).timestamp;
  } catch (error) {
    return `the attestation does not parse (${error instanceof Error ? error.message : String(error)})`;
  }
  try {
    await verifyAttestation(bytes, {
      roots: trust.roots,
      now: new Date(timestamp),
      expectedMeasurements: trust.expectedMeasurements,
      ...(expect.publicKey ? { expectedPublicKey: expect.publicKey } : {}),
      expectedUserData: expect.userData,
    });
  } catch (error) {
    if (error instanceof AttestationError) return `${error.code}: ${error.message}`;
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}

/** Runs every check of VERIFICATION_CHECKS over the evidence. Never throws for bad evidence. */
export async function verifySessionEvidence(evidence: SessionEvidence, trust: EvidenceTrust): Promise<SessionVerdict> {
  if (typeof evidence !== 'object' || evidence === null) throw new TypeError('evidence must be an object');
  if (typeof trust !== 'object' || trust === null || !Array.isArray(trust.roots)) throw new TypeError('trust.roots must be an array of PEM certificates');
  const { sessionId, trail } = evidence;
  const entries = trail.entries;
  const head = trail.signedTreeHead.treeHead;

  const created = eventsOf(entries, 'session_created', SessionCreatedPayload);
  const keys = eventsOf(entries, 'key_issued', KeyIssuedPayload);
  const submissions = eventsOf(entries, 'data_submitted', DataSubmittedPayload);
  // Secure aggregation: each survivor's unmask answer is a ciphertext to the session key too.
  const unmaskAnswers = eventsOf(entries, 'secagg_unmask_received', SecAggUnmaskReceivedPayload);
  const consents = eventsOf(entries, 'consent_recorded', ConsentRecordedPayload);
  const results = eventsOf(entries, 'result_released', ResultReleasedPayload);
  const deletions = eventsOf(entries, 'deletion_attested', DeletionAttestedPayload);
  // A consent counts at a point of the log when it was recorded before it and not revoked since.
  const revocations = entries.filter((e) => e.event.kind === 'consent_revoked');
  const consentHolds = (partyId: string, before: number): boolean =>
    consents.events.some(
      (c) =>
        c.payload.partyId === partyId &&
        isFullConsent(c.payload.consent) &&
        c.event.logIndex < before &&
        !revocations.some((r) => r.event.payload.partyId === partyId && r.event.logIndex > c.event.logIndex && r.event.logIndex < before),
    );
  const has = (kind: AuditEventKind): boolean => entries.some((entry) => entry.event.kind === kind);
  const first = (kind: AuditEventKind): TrailEntry | undefined => entries.find((entry) => entry.event.kind === kind);
  const result = results.events.length === 1 ? results.events[0] : undefined;
  // The run's inputs were fixed when it started: consents and submissions count only before its first start.
  const runStart = result
    ? entries.find(
        (e) => e.event.kind === 'run_started' && e.event.payload.runId === result.payload.runId && e.event.logIndex < result.event.logIndex,
      )
    : undefined;
  const cutoff = runStart?.event.logIndex;
  const noRunStart = (): Outcome => failed(`no run_started of ${result!.payload.runId} is logged before its result`);
  const now = evidence.now ?? new Date();
  const expiresAt = evidence.terms ? Date.parse(evidence.terms.expiresAt) : Number.NaN;

  const checks: Record<VerificationCheck, () => Outcome | Promise<Outcome>> = {
    tree_head_signature: () => {
      if (evidence.logKeyError !== undefined) return failed(`log_key_mismatch: ${evidence.logKeyError}`);
      const logId = logIdOf(evidence.logPublicKey);
      if (head.logId !== logId) return failed(`the head names log ${head.logId}, not ${logId}`);
      return verifyTreeHeadSignature(trail.signedTreeHead, evidence.logPublicKey)
        ? passed(`size ${head.treeSize} signed by log ${logId}`)
        : failed(`the signature over the head of size ${head.treeSize} does not verify under the log key`);
    },

    tree_consistency: () => {
      if (evidence.consistencyError !== undefined) {
        return failed(`no consistency proof from size ${evidence.previousHead?.treeHead.treeSize} to ${head.treeSize}: ${evidence.consistencyError}`);
      }
      const comparison = compareTreeHeads(evidence.previousHead, trail.signedTreeHead, evidence.consistencyProof);
      if (comparison.status === 'first') return notApplicable(comparison.detail);
      return isConsistent(comparison) ? passed(comparison.detail) : failed(`${comparison.status}: ${comparison.detail}`);
    },

    event_inclusion: () => {
      const root = decode(head.rootHash);
      if (root === undefined) return failed('the head root is not base64url');
      for (const entry of entries) {
        const proof = entry.proof.map(decode);
        const ok =
          proof.every((hash) => hash !== undefined) &&
          verifyInclusion({
            leafHash: auditLeafHash(entry.event),
            index: entry.event.logIndex,
            treeSize: head.treeSize,
            proof: proof as Uint8Array[],
            root,
          });
        if (!ok) return failed(`the ${entry.event.kind} event at logIndex ${entry.event.logIndex} is not in the signed tree of size ${head.treeSize}`);
      }
      return passed(`${entries.length} events proven in the tree of size ${head.treeSize}`);
    },

    trail_complete: () => {
      if (trail.sessionId !== sessionId) return failed(`the trail is for ${trail.sessionId}`);
      if (entries.length === 0) return failed('the trail is empty');
      for (const [position, { event }] of entries.entries()) {
        if (event.sessionId !== sessionId) return failed(`the event at logIndex ${event.logIndex} belongs to ${event.sessionId ?? 'no session'}`);
        if (event.sessionSeq !== position) {
          return failed(`event ${position} of the trail (logIndex ${event.logIndex}) has sessionSeq ${event.sessionSeq}: an event is missing, added or out of order`);
        }
        const previous = entries[position - 1]?.event;
        if (previous && event.logIndex <= previous.logIndex) {
          return failed(`logIndex ${event.logIndex} follows ${previous.logIndex}: the trail is out of log order`);
        }
      }
      if (entries[0]!.event.kind !== 'session_created') return failed(`the trail starts with ${entries[0]!.event.kind}, not session_created`);
      // What this client saw before: the trail may only have grown since.
      const seen = evidence.remembered?.lastEvent;
      if (seen) {
        const current = entries[seen.sessionSeq];
        if (!current) {
          return failed(`this client saw event ${seen.sessionSeq} of the session before; the trail now ends at ${entries.length - 1}: events were dropped from its end`);
        }
        const leaf = decode(seen.leafHash);
        if (leaf === undefined || !equalBytes(leaf, auditLeafHash(current.event))) {
          return failed(`event ${seen.sessionSeq} of the session (logIndex ${current.event.logIndex}) is not the one this client saw before: the trail was rewritten`);
        }
      }
      // What the host says happened must be in the trail.
      const session = evidence.session;
      if (session) {
        const terminal = { completed: 'result_released', cancelled: 'session_cancelled', expired: 'session_expired' } as const;
        const needed = terminal[session.status as keyof typeof terminal] as AuditEventKind | undefined;
        if (needed && !has(needed)) return failed(`the host reports the session ${session.status}, but the trail has no ${needed} event`);
        const logged = (kind: AuditEventKind, partyId: string): boolean =>
          entries.some((e) => e.event.kind === kind && e.event.payload.partyId === partyId);
        for (const partyId of session.dataSubmittedBy) {
          if (!logged('data_submitted', partyId)) return failed(`the host reports that ${partyId} submitted data, but the trail has no data_submitted of it`);
        }
        for (const partyId of session.consentedBy) {
          if (!consentHolds(partyId, Number.POSITIVE_INFINITY)) {
            return failed(`the host reports that ${partyId} consented, but the trail has no consent_recorded of it that was not revoked`);
          }
        }
      }
      return passed(
        `sessionSeq 0..${entries.length - 1} without gaps, in log order${seen ? `, extending the trail seen before (to ${seen.sessionSeq})` : ''}${session ? `, consistent with the reported status ${session.status}` : ''}`,
      );
    },

    session_terms: () => {
      if (evidence.terms === undefined) return failed(`the host returned no terms: ${evidence.termsError ?? 'unknown error'}`);
      if (sessionIdOf(evidence.terms) !== sessionId) return failed('the terms the host returned do not hash to the session id');
      if (created.malformed) return failed(created.malformed);
      if (created.events.length !== 1) return failed(`the trail has ${created.events.length} session_created events`);
      const logged = created.events[0]!.payload.termsHash;
      return logged === termsHash(evidence.terms)
        ? passed('the terms hash to the session id and to the logged termsHash')
        : failed(`session_created records termsHash ${logged}, not the hash of the terms`);
    },

    key_attestation: async () => {
      if (keys.malformed) return failed(keys.malformed);
      if (keys.events.length === 0) return failed('no key_issued event: the session key was never attested in the log');
      const publicKeys = new Set(keys.events.map((k) => k.payload.publicKey));
      if (publicKeys.size !== 1) return failed(`${publicKeys.size} different session keys were issued`);
      for (const key of keys.events) {
        const publicKey = decode(key.payload.publicKey);
        if (publicKey === undefined) return failed(`key_issued at logIndex ${key.event.logIndex}: publicKey is not base64url`);
        const problem = await checkLoggedAttestation(key.payload.attestation, key.payload.attestationDigest, trust, {
          publicKey,
          userData: sessionKeyUserData(sessionId),
        });
        if (problem) return failed(`key_issued at logIndex ${key.event.logIndex}: ${problem}`);
      }
      return passed('the session key attestation verifies at its own time, binds the logged key and this session');
    },

    consent_signatures: () => {
      if (consents.malformed) return failed(consents.malformed);
      if (consents.events.length === 0 && !result) return notApplicable('no consent was recorded');
      if (evidence.terms === undefined) return failed('no terms to take the roster signing keys from');
      for (const { event, payload } of consents.events) {
        const member = evidence.terms.participants.find((p) => p.partyId === payload.partyId);
        if (!member) return failed(`consent at logIndex ${event.logIndex} is by ${payload.partyId}, who is not a participant in the terms`);
        if (!verifyConsentSignature(sessionId, payload.consent, payload.signature, member.signingKey)) {
          return failed(`the consent of ${payload.partyId} at logIndex ${event.logIndex} does not verify under its roster key`);
        }
      }
      // The enclave runs only on consented data: every included party must have consented before the run.
      if (result && cutoff === undefined) return noRunStart();
      for (const partyId of result?.payload.report.includedParties ?? []) {
        if (!consentHolds(partyId, cutoff!)) {
          return failed(`included party ${partyId} has no full consent logged before the run started (and so before the result), or revoked it`);
        }
      }
      return passed(`${consents.events.length} consent signatures verify under the roster keys in the terms`);
    },

    result_report: () => {
      if (results.malformed) return failed(results.malformed);
      const openedBefore = evidence.remembered?.reportHash;
      if (openedBefore !== undefined && !results.events.some((r) => r.payload.reportHash === openedBefore)) {
        return failed(`this client opened a result with reportHash ${openedBefore}, but the trail has no result_released with it`);
      }
      if (results.events.length === 0) return notApplicable('no result was released');
      if (!result) return failed(`${results.events.length} results were released for one session`);
      const { report } = result.payload;
      if (reportHash(report) !== result.payload.reportHash) return failed(`the logged reportHash is not the hash of the logged report (logIndex ${result.event.logIndex})`);
      if (report.sessionId !== sessionId) return failed(`the logged report is for ${report.sessionId}`);
      if (report.runId !== result.payload.runId) return failed('the logged report names another run');
      if (canonicalize([...report.includedParties]) !== canonicalize([...result.payload.includedParties])) {
        return failed('the event and its report list different included parties');
      }
      if (report.participantCount !== report.includedParties.length) return failed('participantCount differs from includedParties');
      const terms = evidence.terms;
      if (terms === undefined) return failed('no terms to check the report against');
      if (report.modelId !== terms.modelId || report.modelDigest !== terms.modelDigest) {
        return failed(`the report names model ${report.modelId} (${report.modelDigest}), the terms ${terms.modelId} (${terms.modelDigest})`);
      }
      const outsider = report.includedParties.find((partyId) => !terms.participants.some((p) => p.partyId === partyId));
      if (outsider !== undefined) return failed(`the report includes ${outsider}, who is not a participant in the terms`);
      if (new Set(report.includedParties).size !== report.includedParties.length) return failed('the report lists an included party twice');
      if (report.includedParties.length < terms.dataPolicy.minParticipants) {
        return failed(`the report includes ${report.includedParties.length} parties, the terms require at least ${terms.dataPolicy.minParticipants}`);
      }
      const opened = evidence.openedResult;
      if (opened && 'error' in opened) return failed(`the result sealed to this party could not be opened: ${opened.error}`);
      if (opened && canonicalize(opened.report) !== canonicalize(report)) {
        return failed('the report of the result this party opened differs from the logged report');
      }
      return passed(opened ? 'the logged report hashes to reportHash and is the one this party received' : 'the logged report hashes to reportHash');
    },

    result_attestation: async () => {
      if (results.events.length === 0 && !results.malformed) return notApplicable('no result was released');
      if (!result) return failed('no single well-formed result_released event');
      const problem = await checkLoggedAttestation(result.payload.attestation, result.payload.attestationDigest, trust, {
        userData: reportDigest(result.payload.report),
      });
      return problem ? failed(`result_released at logIndex ${result.event.logIndex}: ${problem}`) : passed('the report attestation verifies at its own time and binds the report');
    },

    aggregated_data_hash: () => {
      if (results.events.length === 0 && !results.malformed) return notApplicable('no result was released');
      if (!result) return failed('no single well-formed result_released event');
      if (submissions.malformed) return failed(submissions.malformed);
      const { report } = result.payload;
      const included: { partyId: string; commitment: string }[] = [];
      if (cutoff === undefined) return noRunStart();
      for (const partyId of report.includedParties) {
        const logged = submissions.events.filter((s) => s.payload.partyId === partyId && s.event.logIndex < cutoff);
        if (logged.length !== 1) return failed(`included party ${partyId} has ${logged.length} data_submitted events before the run started`);
        included.push({ partyId, commitment: logged[0]!.payload.commitment });
      }
      const computed = aggregatedDataHash(included);
      return computed === report.aggregatedDataHash
        ? passed(`the Merkle root of the ${included.length} logged commitments is the report's aggregatedDataHash`)
        : failed(`the Merkle root of the logged commitments of the included parties is ${computed}, the report says ${report.aggregatedDataHash}`);
    },

    own_commitment_included: () => {
      const partyId = evidence.callerPartyId;
      if (partyId === undefined) return notApplicable('this client acts for no party');
      if (evidence.terms && !evidence.terms.participants.some((p) => p.partyId === partyId)) {
        return notApplicable(`${partyId} is not a participant (an observer contributes nothing)`);
      }
      const logged = submissions.events.filter((s) => s.payload.partyId === partyId);
      const own = evidence.ownCommitment;
      if (own === undefined) {
        return notApplicable(
          logged.length === 0
            ? `${partyId} has not submitted data`
            : `this client holds no commitment of ${partyId} (submit through the SDK with its store, or pass ownCommitment)`,
        );
      }
      if (logged.length === 0) return failed(`${partyId} submitted ${own}, but the log has no data_submitted for it`);
      if (logged.length > 1) return failed(`the log has ${logged.length} data_submitted events for ${partyId}`);
      const submission = logged[0]!;
      if (submission.payload.commitment !== own) {
        return failed(`the log records commitment ${submission.payload.commitment} for ${partyId}, not the ${own} it submitted`);
      }
      if (!result) return passed('the logged commitment is the one this party submitted; no result yet');
      if (result.payload.report.includedParties.includes(partyId)) {
        return passed('the logged commitment is this party\'s, and the party is among the included parties');
      }
      if (cutoff === undefined) return noRunStart();
      const consentedInTime = consentHolds(partyId, cutoff);
      return consentedInTime && submission.event.logIndex < cutoff
        ? failed(`${partyId} submitted and consented before the run but is not among the included parties`)
        : passed(`${partyId} is not included: it had not both submitted and consented (unrevoked) when the run started`);
    },

    deletion_statement: async () => {
      if (deletions.malformed) return failed(deletions.malformed);
      const retentionDeletes = result !== undefined && evidence.terms?.dataPolicy.retentionPolicy === 'delete_after_inference';
      // Past expiry every session's key is destroyed (open ones expire, retained results are shredded).
      const overdue = now.getTime() > expiresAt + DELETION_GRACE_MS;
      const expected =
        retentionDeletes || overdue || has('session_cancelled') || has('session_expired') || has('key_destroyed') || has('data_destroyed');
      if (deletions.events.length === 0) {
        if (!expected) return notApplicable('nothing was destroyed yet');
        return failed(
          overdue && !retentionDeletes
            ? `the session expired at ${evidence.terms!.expiresAt}, but no deletion_attested event is logged`
            : 'the session\'s data was to be destroyed, but no deletion_attested event is logged',
        );
      }
      // The statement's reason must be the session's end, and the deletion must follow it in the log.
      const cancelled = first('session_cancelled');
      const expired = first('session_expired');
      let terminal: { entry: TrailEntry; reason: DeletionReason } | undefined;
      if (cancelled) terminal = { entry: cancelled, reason: 'cancelled' };
      else if (expired) terminal = { entry: expired, reason: 'expired' };
      else if (result) terminal = { entry: result.entry, reason: retentionDeletes ? 'delete_after_inference' : 'expired' };
      const destroyed: string[] = [];
      for (const { event, payload } of deletions.events) {
        const { statement } = payload;
        if (statement.sessionId !== sessionId) return failed(`the deletion statement at logIndex ${event.logIndex} is for ${statement.sessionId}`);
        if (!terminal) return failed(`a deletion is attested at logIndex ${event.logIndex}, but the trail has no result, cancellation or expiry it follows`);
        const { entry, reason } = terminal;
        if (statement.reason !== reason) {
          return failed(`the deletion statement at logIndex ${event.logIndex} gives reason ${statement.reason}, but the session ended with ${entry.event.kind} (reason ${reason})`);
        }
        if (event.logIndex <= entry.event.logIndex) {
          return failed(`the deletion at logIndex ${event.logIndex} is logged before the ${entry.event.kind} at logIndex ${entry.event.logIndex} it follows`);
        }
        const problem = await checkLoggedAttestation(payload.attestation, undefined, trust, { userData: deletionStatementDigest(statement) });
        if (problem) return failed(`deletion_attested at logIndex ${event.logIndex}: ${problem}`);
        destroyed.push(...statement.destroyed.ciphertexts);
      }
      if (submissions.malformed) return failed(submissions.malformed);
      if (unmaskAnswers.malformed) return failed(unmaskAnswers.malformed);
      const submitted = [...submissions.events, ...unmaskAnswers.events].map((s) => s.payload.ciphertextHash);
      if (!sameSet(destroyed, submitted)) {
        return failed(`the attested deletion lists ${new Set(destroyed).size} ciphertexts, the log has ${new Set(submitted).size} submitted ciphertexts (data and unmask answers), and they differ`);
      }
      return passed(`the enclave attested destroying the session key and the ${submitted.length} submitted ciphertexts`);
    },
  };

  const outcomes: CheckOutcome[] = [];
  for (const check of VERIFICATION_CHECKS) {
    let outcome: Outcome;
    try {
      outcome = await checks[check]();
    } catch (error) {
      outcome = failed(`the check could not run: ${error instanceof Error ? error.message : String(error)}`);
    }
    outcomes.push({ check, ...outcome });
  }
  const firstFailure = outcomes.find((outcome) => outcome.status === 'failed') ?? null;
  return { ok: firstFailure === null, sessionId, treeSize: head.treeSize, checks: outcomes, firstFailure };
}
