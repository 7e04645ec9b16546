/**
 * `platform.audit`: the party's view of the host's audit log (issue 3). The host is untrusted, so nothing
 * it says about the log is believed unchecked:
 *
 * - the log key comes from the caller (`logPublicKey`) or from the well-known route, where its `logId`
 *   must be the hash of the key; the first key seen at a host is kept in the `AuditStore`, and a host that
 *   later serves another one is refused (`log_key_mismatch`): a new key would start a "new" log with no
 *   consistency to the old one;
 * - a tree head must be signed by that key and be consistent with the last head this client saw (kept in
 *   the `AuditStore`); only then is it remembered;
 * - `verifySession` gathers the session, its trail, proofs and terms, then checks them offline
 *   (`verifySessionEvidence`) against what the client remembers of the session (the last event it saw,
 *   the report of the result it opened), returns a verdict naming the first failing check, and
 *   remembers the trail's last event when the trail is proven and complete.
 */
import { fromBase64Url, toBase64Url } from '@tenzro/crypto';
import {
  ConsistencyResponse,
  LogKeyResponse,
  MultiPartySession as MultiPartySessionSchema,
  ResultReleasedPayload,
  auditLeafHash,
  reportHash,
  SESSION_ID_PATTERN,
  SessionTrailResponse,
  SignedTreeHead as SignedTreeHeadSchema,
  logIdOf,
  type ConsistencyResponse as ConsistencyResponseType,
  type LogKeyResponse as LogKeyResponseType,
  type MultiPartySession,
  type ResultReport,
  type SessionTerms,
  type SessionTrailResponse as SessionTrailResponseType,
  type SessionVerdict,
  type SignedTreeHead,
} from '@tenzro/protocol';
import { TenzroApiError } from '../errors.js';
import type { HttpClient } from '../http.js';
import type { TrustSettings } from '../trust.js';
import { AuditLogError } from './errors.js';
import { AUDIT_STORE_METHODS, type AuditStore } from './store.js';
import { compareTreeHeads, isConsistent, verifyTreeHeadSignature } from './tree-head.js';
import { verifySessionEvidence } from './verify-session.js';

export const LOG_KEY_PATH = '/.well-known/tenzro-log-key';

export interface AuditClientContext {
  http: HttpClient;
  trust: TrustSettings;
  store: AuditStore;
  /** The log's public key, when the caller pinned it. */
  logPublicKey: Uint8Array | undefined;
  /** The party the SDK acts for. */
  partyId: () => Promise<string | undefined>;
  /** Opens the result sealed to the SDK's party and returns its (verified) report. */
  openResult: (sessionId: string, signal: AbortSignal | undefined) => Promise<ResultReport>;
}

export interface VerifySessionOptions {
  /** The commitment this party submitted, when the store does not have it. */
  ownCommitment?: string;
  signal?: AbortSignal;
}

function assertSessionId(sessionId: unknown): asserts sessionId is string {
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) throw new TypeError('sessionId must be a session id (mps_…)');
}

function assertSize(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function describe(error: unknown): string {
  if (error instanceof TenzroApiError) return `[${error.code}] ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export class AuditClient {
  readonly #http: HttpClient;
  readonly #trust: TrustSettings;
  readonly #store: AuditStore;
  readonly #pinned: Uint8Array | undefined;
  readonly #partyId: () => Promise<string | undefined>;
  readonly #openResult: AuditClientContext['openResult'];
  #logKey: Promise<Uint8Array> | undefined;

  constructor(context: AuditClientContext) {
    const store = context.store as unknown as Record<string, unknown>;
    const missing = AUDIT_STORE_METHODS.filter((method) => typeof store?.[method] !== 'function');
    if (missing.length > 0) throw new TypeError(`options.auditStore must be an AuditStore (missing ${missing.join(', ')})`);
    this.#http = context.http;
    this.#trust = context.trust;
    this.#store = context.store;
    this.#pinned = context.logPublicKey === undefined ? undefined : new Uint8Array(context.logPublicKey);
    this.#partyId = context.partyId;
    this.#openResult = context.openResult;
  }

  /**
   * The log key the host publishes at `/.well-known/tenzro-log-key`, checked: Ed25519, 32 bytes, `logId`
   * the hash of the key, and equal to the pinned key if one was configured — else to the first key this
   * client's store saw at this host (remembered on first use). Throws AuditLogError `log_key_mismatch`
   * when the host now serves another key.
   */
  async getLogKey(options: { signal?: AbortSignal } = {}): Promise<LogKeyResponseType> {
    const reply = await this.#http.request('GET', LOG_KEY_PATH, LogKeyResponse, { signal: options.signal });
    const publicKey = fromBase64Url(reply.publicKey, 'publicKey');
    if (publicKey.length !== 32) throw new AuditLogError('log_key_invalid', `the log key is ${publicKey.length} bytes, not a 32-byte Ed25519 key`);
    if (reply.logId !== logIdOf(publicKey)) throw new AuditLogError('log_key_invalid', 'the served logId is not the hash of the served log key');
    if (this.#pinned) {
      if (toBase64Url(this.#pinned) !== reply.publicKey) {
        throw new AuditLogError('log_key_mismatch', 'the host publishes a log key other than the pinned logPublicKey');
      }
      return reply;
    }
    const first = await this.#store.getLogKey(this.#http.baseUrl);
    if (first === undefined) {
      await this.#store.putLogKey(this.#http.baseUrl, reply.publicKey);
    } else if (first !== reply.publicKey) {
      throw new AuditLogError(
        'log_key_mismatch',
        `the host now publishes log ${reply.logId}, not log ${logIdOf(fromBase64Url(first, 'publicKey'))} this client first saw there: a new key starts a new history, unchecked against the old one`,
      );
    }
    return reply;
  }

  /**
   * The current signed tree head, verified under the log key and checked for consistency with the last head
   * this client saw; then remembered. Throws AuditLogError `tree_head_signature_invalid` or
   * `tree_head_inconsistent` (with `previous`, `current` and `reason`: fork, rollback or inconsistent).
   */
  async getTreeHead(options: { signal?: AbortSignal } = {}): Promise<SignedTreeHead> {
    const logKey = await this.#key(options.signal);
    const current = await this.#http.request('GET', '/v1/log/tree-head', SignedTreeHeadSchema, { signal: options.signal });
    if (!verifyTreeHeadSignature(current, logKey)) {
      if (!this.#pinned) {
        // The key may have changed since it was fetched: ask again, so a rotation is named as one.
        this.#logKey = undefined;
        await this.#key(options.signal);
      }
      throw new AuditLogError('tree_head_signature_invalid', `the tree head of size ${current.treeHead.treeSize} is not signed by the log key`, { current });
    }
    const logId = logIdOf(logKey);
    const previous = await this.#store.getTreeHead(logId);
    let proof: string[] | undefined;
    if (previous && previous.treeHead.treeSize > 0 && previous.treeHead.treeSize < current.treeHead.treeSize) {
      try {
        proof = (await this.getConsistencyProof(previous.treeHead.treeSize, current.treeHead.treeSize, options)).proof;
      } catch (cause) {
        if (cause instanceof TenzroApiError && (cause.code === 'network_error' || cause.code === 'aborted')) throw cause;
        throw new AuditLogError('tree_head_inconsistent', `the host gives no consistency proof to the new head: ${describe(cause)}`, {
          cause,
          previous,
          current,
          reason: 'inconsistent',
        });
      }
    }
    const comparison = compareTreeHeads(previous, current, proof);
    if (!isConsistent(comparison)) {
      throw new AuditLogError('tree_head_inconsistent', comparison.detail, {
        previous,
        current,
        reason: comparison.status as 'fork' | 'rollback' | 'inconsistent',
      });
    }
    if (comparison.status !== 'same') await this.#store.putTreeHead(logId, current);
    return current;
  }

  /** The session's events with their inclusion proofs and the signed head they are proven against, as the
   *  host returned them (not verified: `verifySession` does that). */
  async getSessionTrail(sessionId: string, options: { signal?: AbortSignal } = {}): Promise<SessionTrailResponseType> {
    assertSessionId(sessionId);
    const trail = await this.#http.request('GET', `/v1/sessions/${sessionId}/trail`, SessionTrailResponse, { signal: options.signal });
    if (trail.sessionId !== sessionId) throw new TenzroApiError('invalid_response', `the trail returned for ${sessionId} is for another session`, { status: 200 });
    return trail;
  }

  /** The host's consistency proof between the trees of sizes `from` and `to` (not verified on its own). */
  async getConsistencyProof(from: number, to: number, options: { signal?: AbortSignal } = {}): Promise<ConsistencyResponseType> {
    assertSize(from, 'from');
    assertSize(to, 'to');
    if (from > to) throw new RangeError(`from (${from}) must not exceed to (${to})`);
    const reply = await this.#http.request('GET', `/v1/log/consistency?from=${from}&to=${to}`, ConsistencyResponse, { signal: options.signal });
    if (reply.from !== from || reply.to !== to) {
      throw new TenzroApiError('invalid_response', `asked for a proof from ${from} to ${to}, got one from ${reply.from} to ${reply.to}`, { status: 200 });
    }
    return reply;
  }

  /**
   * Fetches the session's trail, the consistency proof to the last head this client saw, the terms and (for
   * a recipient) its own result, then runs every check of VERIFICATION_CHECKS offline. The trail's head is
   * remembered when its signature and consistency hold. Throws only when the trail cannot be fetched.
   */
  async verifySession(sessionId: string, options: VerifySessionOptions = {}): Promise<SessionVerdict> {
    assertSessionId(sessionId);
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (options.ownCommitment !== undefined && !/^sha256:[0-9a-f]{64}$/.test(options.ownCommitment)) {
      throw new TypeError('options.ownCommitment must be "sha256:" followed by 64 lowercase hex digits');
    }
    const { signal } = options;
    let logPublicKey: Uint8Array;
    let logKeyError: string | undefined;
    try {
      logPublicKey = await this.#key(signal);
    } catch (error) {
      const first = this.#pinned ? undefined : await this.#store.getLogKey(this.#http.baseUrl);
      if (!(error instanceof AuditLogError && error.code === 'log_key_mismatch') || first === undefined) throw error;
      // Judge the trail under the key this client trusts; the verdict names the rotation.
      logPublicKey = fromBase64Url(first, 'publicKey');
      logKeyError = error.message;
    }
    const logId = logIdOf(logPublicKey);

    // The session first, then its trail: the trail is then at least as recent as the state it must show.
    let session: MultiPartySession | undefined;
    let termsError: string | undefined;
    try {
      session = await this.#http.request('GET', `/v1/sessions/${sessionId}`, MultiPartySessionSchema, { signal });
      if (session.id !== sessionId) {
        termsError = `the host returned session ${session.id}`;
        session = undefined;
      }
    } catch (error) {
      termsError = describe(error);
    }
    const terms: SessionTerms | undefined = session?.terms;

    const trail = await this.getSessionTrail(sessionId, { signal });
    const head = trail.signedTreeHead.treeHead;
    const previousHead = await this.#store.getTreeHead(logId);
    const remembered = await this.#store.getSessionMemory(sessionId);

    let consistencyProof: string[] | undefined;
    let consistencyError: string | undefined;
    const previousSize = previousHead?.treeHead.treeSize ?? 0;
    if (previousSize > 0 && previousSize < head.treeSize) {
      try {
        consistencyProof = (await this.getConsistencyProof(previousSize, head.treeSize, { signal })).proof;
      } catch (error) {
        consistencyError = describe(error);
      }
    }

    const callerPartyId = await this.#partyId();
    const ownCommitment = options.ownCommitment ?? (callerPartyId ? await this.#store.getCommitment(sessionId, callerPartyId) : undefined);

    let openedResult: { report: ResultReport } | { error: string } | undefined;
    const released = trail.entries.find((entry) => entry.event.kind === 'result_released');
    const loggedReport = released ? ResultReleasedPayload.safeParse(released.event.payload) : undefined;
    const isRecipient =
      callerPartyId !== undefined &&
      ((loggedReport?.success === true && loggedReport.data.report.includedParties.includes(callerPartyId)) ||
        terms?.observers.some((observer) => observer.partyId === callerPartyId) === true);
    if (released && isRecipient) {
      try {
        openedResult = { report: await this.#openResult(sessionId, signal) };
      } catch (error) {
        openedResult = { error: describe(error) };
      }
    }

    const verdict = await verifySessionEvidence(
      {
        sessionId,
        logPublicKey,
        logKeyError,
        trail,
        previousHead,
        consistencyProof,
        consistencyError,
        terms,
        termsError,
        session,
        remembered,
        callerPartyId,
        ownCommitment,
        openedResult,
      },
      { roots: this.#trust.roots, expectedMeasurements: this.#trust.expectedMeasurements },
    );
    const accepted = (check: string): boolean => verdict.checks.some((c) => c.check === check && c.status !== 'failed');
    if (accepted('tree_head_signature') && accepted('tree_consistency') && head.treeSize >= previousSize) {
      await this.#store.putTreeHead(logId, trail.signedTreeHead);
    }
    // Remember how far the trail went, once it is signed, consistent, proven and complete: a later trail
    // must reach at least as far, with the same event there.
    const last = trail.entries.at(-1)?.event;
    const proven = ['tree_head_signature', 'tree_consistency', 'event_inclusion', 'trail_complete'].every(accepted);
    if (proven && last && last.sessionSeq !== null && last.sessionSeq >= (remembered?.lastEvent?.sessionSeq ?? 0)) {
      await this.#store.putSessionMemory(sessionId, { lastEvent: { sessionSeq: last.sessionSeq, leafHash: toBase64Url(auditLeafHash(last)) } });
    }
    // The result this party opened is the host's promise of what the trail will show.
    if (openedResult && 'report' in openedResult) {
      await this.#store.putSessionMemory(sessionId, { reportHash: reportHash(openedResult.report) });
    }
    return verdict;
  }

  /** The log key: the pinned one, else the served one (checked), fetched once. */
  #key(signal: AbortSignal | undefined): Promise<Uint8Array> {
    if (this.#pinned) return Promise.resolve(this.#pinned);
    this.#logKey ??= this.getLogKey(signal ? { signal } : {}).then((reply) => fromBase64Url(reply.publicKey, 'publicKey'));
    const pending = this.#logKey;
    pending.catch(() => {
      if (this.#logKey === pending) this.#logKey = undefined;
    });
    return pending;
  }
}
