/**
 * `platform.ai`: multi-party sessions as the product doc describes them. The host is not trusted
 * (DESIGN §2), so every method that hands the caller something it will act on checks it first:
 *
 * - a session record's terms must hash to its id (§5.1), and the record must agree with its terms;
 * - a created session's terms must be what the caller asked for (name, roster, model, policy, expiry);
 * - a session key must carry a fresh attestation (issued per request, at most `attestationMaxAgeMs` old)
 *   that chains to a trusted root, binds this key and this session (§5.2), and shows a pinned measurement;
 * - a result's report must be attested (`user_data` = its digest; chain checked at the document's own
 *   timestamp), its sealed body must open with the party's key, the shared result must hash to the
 *   report's `resultHash` (§5.7), and a participant that submitted must be among `includedParties`.
 *
 * None of this depends on anything the host sends: `terms.dataPolicy.attestationRequired` is the parties'
 * stated policy, not a switch. Only the local option `insecureAcceptUnverifiedAttestation` relaxes it.
 */
import {
  DATA_INFO,
  OpenError,
  RESULT_INFO,
  SecretBytes,
  canonicalize,
  equalBytes,
  fromBase64Url,
  isCommitment,
  openEnvelope,
  parseStrictJson,
  randomBytes,
  saltedCommitment,
  sealEnvelope,
  toBase64Url,
  utf8Decode,
  utf8Encode,
} from '@tenzro/crypto';
import {
  CONTRIBUTION_TYPE,
  ConsentFlags,
  ConsentResponse,
  ConsentRevocationResponse,
  CreateSessionRequest,
  FULL_CONSENT,
  HEADER_COMMITMENT,
  HEADER_COMMITMENT_SCHEME,
  HEADER_DATA_SCHEMA,
  JoinLookupResponse,
  MultiPartySession as MultiPartySessionSchema,
  ResultBody,
  RunResponse,
  SESSION_ID_PATTERN,
  isErrorCode,
  normalizeDataPolicy,
  SealedResultResponse,
  SessionKeyResponse,
  SessionList,
  SessionStatusResponse,
  SubmissionResponse,
  reportDigest,
  reportHash,
  resultHash,
  sessionIdOf,
  sessionKeyUserData,
  signConsentStatement,
  type CommitmentScheme,
  type DataPolicyInput,
  type InferenceParameters,
  type MultiPartySession,
  type PrivateFindings,
  type ResultReport,
  type RunResponse as RunResponseType,
  type AggregationMethod,
  type SessionStatusResponse as SessionStatusResponseType,
  type SubmissionResponse as SubmissionResponseType,
  type ConsentResponse as ConsentResponseType,
  type SessionEvent,
} from '@tenzro/protocol';
import { z } from 'zod';
import { ResultVerificationError, SessionVerificationError, TenzroApiError } from './errors.js';
import { HttpClient, abortError, segment, streamSessionEvents } from './http.js';
import type { PartyKeys } from './identity.js';
import { deadlineSignal, pollUntil } from './poll.js';
import { checkKeyAttestation, checkReportAttestation, type AttestationCheck, type TrustSettings } from './trust.js';
import { SecAggParty, type ParticipationEvent, type ParticipationOutcome, type SecAggContributionInfo } from './secagg/party.js';
import { retryTransient } from './secagg/retry.js';
import { contributeShares, mpcSharesRequired, type MpcContributionInfo } from './mpc/party.js';
import type { SecAggStateStore } from './secagg/state.js';

export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60 * 1000;

/** The product doc's `createMultiPartySession` input. */
export interface CreateMultiPartySessionInput {
  name: string;
  description?: string;
  modelId: string;
  /** Party ids (`party::<tenantId>::<name>`) that contribute data. */
  participants: string[];
  /** Party ids that receive the result and contribute nothing. */
  observers?: string[];
  dataPolicy?: DataPolicyInput;
  expiresAt?: Date | string;
}

export interface SessionKey {
  sessionId: string;
  /** The session's X25519 public key, base64url: pass it to `encryptWithSessionKey`. */
  publicKey: string;
  suite: string;
  /** The attestation document, base64url. */
  attestation: string;
  expiresAt: string;
  /** What the SDK verified: `verified.verified` is true with the attested facts. It is false (with a
   *  reason) only when the caller set the local `insecureAcceptUnverifiedAttestation` option. */
  verified: AttestationCheck;
}

export interface SubmitSessionDataInput {
  sessionId: string;
  /** The string `encryptWithSessionKey` returned (a base64url envelope), or the envelope bytes. */
  data: string | Uint8Array;
  dataSchema: string;
  commitment: string;
  /** 'plain' (hashCommitment, the default) or 'salted' (what `contribute` uses). */
  commitmentScheme?: CommitmentScheme;
  signal?: AbortSignal;
}

export interface SubmitSessionConsentInput {
  sessionId: string;
  consent?: ConsentFlags;
  signature: string;
}

export interface ContributeInput {
  sessionId: string;
  /** The records, as JSON data (they are committed to with canonical JSON). */
  data: unknown;
  dataSchema: string;
  /** Stops waiting (a secure_aggregation contribution waits for the other parties at each stage). */
  signal?: AbortSignal;
}

/** A submission made by `contribute`, with what the party keeps to prove its inclusion later. */
export type Contribution = SubmissionResponseType & {
  commitment: string;
  /** The 32-byte salt, base64url. Keep it: with the data it reproduces the commitment. Absent on an mpc
   *  session, whose commitment is the share bundle's (`mpcShareBundleCommitment`). */
  salt?: string;
  /** On a secure_aggregation session: the round as this party saw it (the submission is its masked input). */
  secagg?: SecAggContributionInfo;
  /** On an mpc session: the program, the number of compute nodes and the threshold the vector was shared with. */
  mpc?: MpcContributionInfo;
};

export interface ParticipateOptions {
  signal?: AbortSignal;
  /** Called as the round moves on and when this party answers a run (for logs; never given secrets). */
  onEvent?: (event: ParticipationEvent) => void;
}

export interface RunMultiPartyInferenceInput {
  sessionId: string;
  prompt: string;
  parameters?: InferenceParameters;
  /** How long to wait for the run and its result (default 10 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface TeeAttestationCommon {
  /** The attestation document over the report, base64url. */
  document: string;
  /** "sha256:" + hex of the report's canonical JSON: what the attestation's user_data binds. */
  reportHash: string;
}

export type TeeAttestation =
  | (TeeAttestationCommon & {
      verified: true;
      provider: 'nitro' | 'simulated';
      moduleId: string;
      measurement: string;
      /** When the enclave issued the attestation (ISO 8601). */
      timestamp: string;
    })
  | (TeeAttestationCommon & {
      /** Unverified: only with the local `insecureAcceptUnverifiedAttestation` option, when the document
       *  chains to a root the SDK was not told to trust or no measurement is pinned. The fields below are
       *  the document's claims. */
      verified: false;
      reason: string;
      provider: 'nitro' | 'simulated' | null;
      moduleId: string | null;
      measurement: string | null;
      timestamp: string | null;
    });

export interface InferenceResult {
  sessionId: string;
  runId: string;
  content: string;
  findings: Record<string, unknown>;
  /** Findings about the receiving party's own records; present only when the enclave sent some. */
  privateFindings?: PrivateFindings;
  teeAttestation: TeeAttestation;
  participantCount: number;
  includedParties: string[];
  aggregatedDataHash: string;
  resultHash: string;
  report: ResultReport;
  releasedAt: string;
}

export interface MultiPartyAiContext {
  http: HttpClient;
  trust: TrustSettings;
  /** The SDK's party, if it has one (resolves after the key file was checked). */
  party: () => Promise<PartyKeys | undefined>;
  /** Keeps the commitment a party submitted (the audit store), so `platform.audit` can find it later. */
  recordCommitment?: (sessionId: string, partyId: string, commitment: string) => Promise<void>;
  /** Keeps the reportHash of a result the party opened (the audit store): the trail must later show it. */
  recordReport?: (sessionId: string, reportHash: string) => Promise<void>;
  /** Where the client role of secure aggregation keeps its per-session state (private to the party). */
  secAggStateStore: SecAggStateStore;
}

function assertSessionId(sessionId: unknown, name = 'sessionId'): asserts sessionId is string {
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) {
    throw new TypeError(`${name} must be a session id (mps_…)`);
  }
}

function sessionPath(sessionId: string, rest = ''): string {
  assertSessionId(sessionId);
  return `/v1/sessions/${sessionId}${rest}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/**
 * Checks a session record against its terms: the terms hash to the id, and everything the record says
 * about roster, model and policy is what the terms say (so a display of the record can be trusted).
 */
export function verifySessionRecord(session: MultiPartySession, expectedId?: string): MultiPartySession {
  const fail = (what: string): never => {
    throw new SessionVerificationError('session_terms_mismatch', `session ${session.id}: ${what}`);
  };
  if (expectedId !== undefined && session.id !== expectedId) fail(`the host returned it for ${expectedId}`);
  if (sessionIdOf(session.terms) !== session.id) fail('its terms do not hash to its id');
  const { terms } = session;
  if (session.name !== terms.name || session.description !== terms.description) fail('name or description differ from the terms');
  if (session.modelId !== terms.modelId) fail('modelId differs from the terms');
  if (!sameList(session.participants, terms.participants.map((p) => p.partyId))) fail('participants differ from the terms');
  if (!sameList(session.observers, terms.observers.map((o) => o.partyId))) fail('observers differ from the terms');
  if (canonicalize(session.dataPolicy) !== canonicalize(terms.dataPolicy)) fail('dataPolicy differs from the terms');
  if (Date.parse(session.expiresAt) !== Date.parse(terms.expiresAt)) fail('expiresAt differs from the terms');
  return session;
}

/**
 * The created session must be the one asked for: the host fixes the terms, and a host that quietly
 * lowered `minParticipants`, added an observer or swapped the model would otherwise go unnoticed.
 */
function assertTermsAsRequested(session: MultiPartySession, request: z.infer<typeof CreateSessionRequest>): void {
  const { terms } = session;
  const fail = (what: string): never => {
    throw new SessionVerificationError('session_terms_mismatch', `session ${session.id}: ${what} differ(s) from what was requested`);
  };
  if (terms.name !== request.name) fail('name');
  if (terms.description !== (request.description ?? '')) fail('description');
  if (terms.modelId !== request.modelId) fail('modelId');
  if (!sameList(terms.participants.map((p) => p.partyId), request.participants)) fail('participants');
  if (!sameList(terms.observers.map((o) => o.partyId), request.observers ?? [])) fail('observers');
  let policy: string | undefined;
  try {
    policy = canonicalize(normalizeDataPolicy(request.dataPolicy, request.participants.length));
  } catch {
    policy = undefined;
  }
  if (policy === undefined || canonicalize(terms.dataPolicy) !== policy) fail('dataPolicy');
  if (request.expiresAt !== undefined && Date.parse(terms.expiresAt) !== Date.parse(request.expiresAt)) fail('expiresAt');
}

function createRequest(input: CreateMultiPartySessionInput): z.infer<typeof CreateSessionRequest> {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  let expiresAt: string | undefined;
  if (input.expiresAt instanceof Date) {
    if (Number.isNaN(input.expiresAt.getTime())) throw new RangeError('input.expiresAt is an invalid Date');
    expiresAt = input.expiresAt.toISOString();
  } else if (typeof input.expiresAt === 'string') {
    const time = Date.parse(input.expiresAt);
    if (Number.isNaN(time)) throw new RangeError('input.expiresAt is not an ISO 8601 date-time');
    expiresAt = new Date(time).toISOString();
  } else if (input.expiresAt !== undefined) {
    throw new TypeError('input.expiresAt must be a Date or an ISO 8601 string');
  }
  const candidate = {
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    modelId: input.modelId,
    participants: Array.isArray(input.participants) ? [...input.participants] : input.participants,
    ...(input.observers === undefined ? {} : { observers: Array.isArray(input.observers) ? [...input.observers] : input.observers }),
    ...(input.dataPolicy === undefined ? {} : { dataPolicy: input.dataPolicy }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
  const parsed = CreateSessionRequest.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`input.${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export class MultiPartyAi {
  readonly #http: HttpClient;
  readonly #trust: TrustSettings;
  readonly #party: () => Promise<PartyKeys | undefined>;
  readonly #recordCommitment: MultiPartyAiContext['recordCommitment'];
  readonly #recordReport: MultiPartyAiContext['recordReport'];
  /** Sessions this SDK instance submitted data to (the host's `dataSubmittedBy` is consulted too). */
  readonly #submitted = new Set<string>();
  /** The aggregation method of every verified session record seen (terms are immutable). */
  readonly #methods = new Map<string, AggregationMethod>();
  readonly #secagg: SecAggParty;

  constructor(context: MultiPartyAiContext) {
    this.#http = context.http;
    this.#trust = context.trust;
    this.#party = context.party;
    this.#recordCommitment = context.recordCommitment;
    this.#recordReport = context.recordReport;
    this.#secagg = new SecAggParty({
      http: context.http,
      store: context.secAggStateStore,
      sessionKey: async (sessionId, signal) => fromBase64Url((await this.#verifiedKey(sessionId, signal, 'seal')).key.publicKey, 'publicKey'),
      getRun: (sessionId, runId, signal) => this.getRun(sessionId, runId, { signal }),
      getStatus: (sessionId, signal) => this.#getStatus(sessionId, signal),
      recordCommitment: context.recordCommitment,
    });
  }

  /** Checks a session record against its terms and remembers its method. */
  #verified(session: MultiPartySession, expectedId?: string): MultiPartySession {
    verifySessionRecord(session, expectedId);
    this.#methods.set(session.id, session.terms.dataPolicy.aggregationMethod);
    return session;
  }

  /**
   * Creates a session. The SDK checks that the returned terms hash to the returned id, that they are the
   * terms asked for (name, description, model, participants, observers, the normalised data policy, and
   * expiresAt when given), and that the SDK's own party, if on the roster, has its own public keys there.
   */
  async createMultiPartySession(input: CreateMultiPartySessionInput): Promise<MultiPartySession> {
    const body = createRequest(input);
    const party = await this.#party();
    const session = this.#verified(await this.#http.request('POST', '/v1/sessions', MultiPartySessionSchema, { json: body }));
    assertTermsAsRequested(session, body);
    assertOwnKeys(session, party);
    return session;
  }

  async getMultiPartySession(sessionId: string): Promise<MultiPartySession> {
    const path = sessionPath(sessionId);
    await this.#party();
    return this.#verified(await this.#http.request('GET', path, MultiPartySessionSchema), sessionId);
  }

  /** The sessions the caller's tenant (or party) is on. */
  async listMultiPartySessions(): Promise<MultiPartySession[]> {
    await this.#party();
    const { sessions } = await this.#http.request('GET', '/v1/sessions', SessionList);
    return sessions.map((session) => this.#verified(session));
  }

  /**
   * Live changes of one session (server-sent events, not polling): each event names the session and its
   * status now; refetch what you show. Starts with the current state. Ends when the server closes the
   * stream; abort `signal` to stop (the iterator then throws the abort error).
   */
  watchSession(sessionId: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<SessionEvent> {
    const path = sessionPath(sessionId, '/events');
    return streamSessionEvents(this.#http, path, options.signal);
  }

  /** Live changes of every session the caller sees (as watchSession). */
  watchSessions(options: { signal?: AbortSignal } = {}): AsyncGenerator<SessionEvent> {
    return streamSessionEvents(this.#http, '/v1/events', options.signal);
  }

  /** Who has submitted and consented, who is pending, and the last run. */
  async getSessionStatus(sessionId: string): Promise<SessionStatusResponseType> {
    return this.#getStatus(sessionId, undefined);
  }

  async #getStatus(sessionId: string, signal: AbortSignal | undefined): Promise<SessionStatusResponseType> {
    const path = sessionPath(sessionId, '/status');
    await this.#party();
    const status = await this.#http.request('GET', path, SessionStatusResponse, { signal });
    if (status.sessionId !== sessionId) throw new TenzroApiError('invalid_response', `the status returned is for another session`, { status: 200 });
    return status;
  }

  /** Finds a session the caller is on the roster of by its join code (a lookup handle only). */
  async findSessionByJoinCode(joinCode: string): Promise<MultiPartySession> {
    const path = `/v1/join/${segment(joinCode, 'joinCode')}`;
    await this.#party();
    const { session } = await this.#http.request('GET', path, JoinLookupResponse);
    return this.#verified(session);
  }

  /**
   * The session's public key, verified: the session's terms hash to its id, and the key's attestation
   * chains to a trusted root, names this key and binds this session id (and a configured measurement).
   */
  async getSessionKey(sessionId: string, options: { signal?: AbortSignal } = {}): Promise<SessionKey> {
    return (await this.#verifiedKey(sessionId, options.signal)).key;
  }

  /**
   * The session key and the verified session record, fetched together. `purpose: 'seal'` refuses a key
   * whose attestation is not verified, even in the local insecure mode: party data is never sealed to it.
   */
  async #verifiedKey(sessionId: string, signal: AbortSignal | undefined, purpose: 'read' | 'seal' = 'read'): Promise<{ key: SessionKey; session: MultiPartySession }> {
    const path = sessionPath(sessionId, '/key');
    const party = await this.#party();
    const [key, session] = await Promise.all([
      this.#http.request('GET', path, SessionKeyResponse, { signal }),
      this.#http.request('GET', sessionPath(sessionId), MultiPartySessionSchema, { signal }),
    ]);
    this.#verified(session, sessionId);
    assertOwnKeys(session, party);
    if (key.sessionId !== sessionId) {
      throw new SessionVerificationError('session_terms_mismatch', `the key returned for ${sessionId} names another session`);
    }
    const publicKey = fromBase64Url(key.publicKey, 'publicKey');
    if (publicKey.length !== 32) {
      throw new TenzroApiError('invalid_response', 'the session key is not a 32-byte X25519 public key', { status: 200 });
    }
    const verified = await checkKeyAttestation(key.attestation, this.#trust, { publicKey, userData: sessionKeyUserData(sessionId) });
    if (purpose === 'seal' && verified.verified !== true) {
      // Even in the local insecure mode: contribute never seals party data to an unverified key.
      throw new SessionVerificationError(
        'session_key_unverified',
        `the key of ${sessionId} is not verified (${verified.code}); contribute does not encrypt to an unverified key`,
      );
    }
    return {
      key: {
        sessionId: key.sessionId,
        publicKey: key.publicKey,
        suite: key.suite,
        attestation: key.attestation,
        expiresAt: key.expiresAt,
        verified,
      },
      session,
    };
  }

  /**
   * Uploads an envelope (what `encryptWithSessionKey` returned) with its commitment. The bytes go as
   * application/octet-stream; the schema and commitment travel in headers.
   */
  async submitSessionData(input: SubmitSessionDataInput): Promise<SubmissionResponseType> {
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    const path = sessionPath(input.sessionId, '/data');
    let bytes: Uint8Array;
    if (typeof input.data === 'string') bytes = fromBase64Url(input.data, 'data');
    else if (input.data instanceof Uint8Array) bytes = input.data;
    else throw new TypeError('data must be the base64url string encryptWithSessionKey returned, or a Uint8Array');
    if (bytes.length === 0) throw new RangeError('data must not be empty');
    if (typeof input.dataSchema !== 'string' || input.dataSchema.length === 0) {
      throw new TypeError('dataSchema must be a non-empty string');
    }
    if (!isCommitment(input.commitment)) throw new TypeError('commitment must be "sha256:" followed by 64 lowercase hex digits');
    const scheme = input.commitmentScheme ?? 'plain';
    if (scheme !== 'plain' && scheme !== 'salted') throw new TypeError(`commitmentScheme must be 'plain' or 'salted'`);
    // Known up front from a verified record; otherwise the host refuses with the same code.
    const method = this.#methods.get(input.sessionId);
    if (method === 'secure_aggregation') throw secureAggregationRequired(input.sessionId);
    if (method === 'mpc') throw mpcSharesRequired();
    await this.#party();
    const submission = await this.#http.request('POST', path, SubmissionResponse, {
      bytes,
      headers: {
        [HEADER_DATA_SCHEMA]: input.dataSchema,
        [HEADER_COMMITMENT]: input.commitment,
        [HEADER_COMMITMENT_SCHEME]: scheme,
      },
      signal: input.signal,
    });
    if (submission.sessionId !== input.sessionId || submission.commitment !== input.commitment) {
      throw new TenzroApiError('invalid_response', 'the submission receipt does not match what was submitted', { status: 200 });
    }
    this.#submitted.add(input.sessionId);
    // The party keeps its own commitment: the audit trail must later show this one, aggregated.
    await this.#recordCommitment?.(input.sessionId, (await this.#party())?.partyId ?? submission.partyId, input.commitment);
    return submission;
  }

  /** Submits a signed consent (`signConsent`); the consent defaults to all four flags true. */
  async submitSessionConsent(input: SubmitSessionConsentInput): Promise<ConsentResponseType> {
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    const path = sessionPath(input.sessionId, '/consents');
    const consent = ConsentFlags.safeParse(input.consent ?? FULL_CONSENT);
    if (!consent.success) throw new TypeError('consent must have the four boolean flags');
    if (typeof input.signature !== 'string' || input.signature.length === 0) {
      throw new TypeError('signature must be the base64url string signConsent returned');
    }
    await this.#party();
    return this.#http.request('POST', path, ConsentResponse, { json: { consent: consent.data, signature: input.signature } });
  }

  /** Signs (with the SDK's party key) and submits a consent: the one-call form of the two calls above. */
  async consent(sessionId: string, consent: ConsentFlags = FULL_CONSENT): Promise<ConsentResponseType> {
    assertSessionId(sessionId);
    const party = await this.#requireParty('consent');
    const flags = ConsentFlags.parse(consent);
    const signature = signConsentStatement(sessionId, party.signingPrivateKey, flags);
    return this.submitSessionConsent({ sessionId, consent: flags, signature });
  }

  /**
   * Revokes the SDK party's consent before the run (DELETE /consents): the host deletes its submitted data
   * and the party is excluded (the run fails if fewer than `minParticipants` remain). 409 after the run started.
   */
  async revokeSessionConsent(sessionId: string): Promise<ConsentRevocationResponse> {
    const path = sessionPath(sessionId, '/consents');
    await this.#party();
    const revoked = await this.#http.request('DELETE', path, ConsentRevocationResponse);
    // Its data is gone, so a later result need not include it.
    if (revoked.submissionDeleted) this.#submitted.delete(sessionId);
    return revoked;
  }

  /**
   * The one-call contribution of DESIGN §5.4: fetch and verify the session key, seal
   * `{ type: 'tenzro.contribution/v1', salt, data }` to it, and submit it under the salted commitment.
   * Returns the receipt with the commitment and salt, which let the party prove its inclusion later.
   * On a secure_aggregation session it runs the client role's stages 0–2 (masked statistics); on an mpc
   * session it verifies every compute node's fresh attestation and sends Shamir shares of the records'
   * statistics, one sealed to each node (docs/mpc.md), and the receipt carries `mpc` instead of a salt.
   */
  async contribute(input: ContributeInput): Promise<Contribution> {
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    assertSessionId(input.sessionId, 'input.sessionId');
    if (typeof input.dataSchema !== 'string' || input.dataSchema.length === 0) {
      throw new TypeError('dataSchema must be a non-empty string');
    }
    if (input.signal !== undefined && !(input.signal instanceof AbortSignal)) throw new TypeError('input.signal must be an AbortSignal');
    const { key, session } = await this.#verifiedKey(input.sessionId, input.signal, 'seal');
    if (session.terms.dataPolicy.aggregationMethod === 'mpc') {
      // The records never leave the party: Shamir shares of their statistics do, each sealed to one
      // attested compute node (docs/mpc.md). The session key was verified above all the same: the nodes
      // seal their outputs to it, and a party contributes only to a session whose enclave it trusts.
      const party = await this.#requireParty('contribute to an mpc session');
      const contribution = await contributeShares(
        { http: this.#http, trust: this.#trust, recordCommitment: this.#recordCommitment },
        party,
        session,
        { dataSchema: input.dataSchema, data: input.data, signal: input.signal },
      );
      this.#submitted.add(input.sessionId);
      return contribution;
    }
    if (session.terms.dataPolicy.aggregationMethod === 'secure_aggregation') {
      // The records never leave the party: their statistics do, masked (docs/secure-aggregation.md).
      const party = await this.#requireParty('contribute to a secure_aggregation session');
      const signal = input.signal ?? new AbortController().signal;
      try {
        const contribution = await this.#secagg.contribute(party, session, { dataSchema: input.dataSchema, data: input.data, signal });
        this.#submitted.add(input.sessionId);
        return contribution;
      } catch (error) {
        if (signal.aborted) throw abortError(signal);
        throw error;
      }
    }
    const salt = randomBytes(32);
    const saltText = toBase64Url(salt);
    const commitment = await saltedCommitment(salt, input.data);
    const plaintext = utf8Encode(canonicalize({ type: CONTRIBUTION_TYPE, salt: saltText, data: input.data }));
    const envelope = await sealEnvelope(fromBase64Url(key.publicKey, 'publicKey'), plaintext, { info: DATA_INFO });
    plaintext.fill(0);
    const submission = await this.submitSessionData({
      sessionId: input.sessionId,
      data: envelope,
      dataSchema: input.dataSchema,
      commitment,
      commitmentScheme: 'salted',
      ...(input.signal ? { signal: input.signal } : {}),
    });
    return { ...submission, commitment, salt: saltText };
  }

  /**
   * Stage 3 of secure aggregation for the SDK's party: waits until a run asks for the unmask shares, answers
   * that request once (an identical request of a retried run gets the same answer; any other request is
   * refused with the protocol's SecAggError), and returns when the session completes, the run or the round
   * fails, or the session ends. Needs the state `contribute` left in the same SecAggStateStore.
   */
  async participate(sessionId: string, options: ParticipateOptions = {}): Promise<ParticipationOutcome> {
    assertSessionId(sessionId);
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new TypeError('options.onEvent must be a function');
    const party = await this.#requireParty('participate in secure aggregation');
    const signal = options.signal ?? new AbortController().signal;
    try {
      // A transient failure of the host (no reply, 429, 5xx) is retried here as in every later step.
      const record = await retryTransient(() => this.#http.request('GET', sessionPath(sessionId), MultiPartySessionSchema, { signal }), signal);
      const session = this.#verified(record, sessionId);
      assertOwnKeys(session, party);
      return await this.#secagg.participate(party, session, signal, options.onEvent);
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      throw error;
    }
  }

  /** Starts a run (202) without waiting for it. */
  async startRun(input: { sessionId: string; prompt: string; parameters?: InferenceParameters; signal?: AbortSignal }): Promise<RunResponseType> {
    const path = sessionPath(input.sessionId, '/runs');
    if (typeof input.prompt !== 'string') throw new TypeError('prompt must be a string');
    await this.#party();
    return this.#http.request('POST', path, RunResponse, {
      json: { prompt: input.prompt, ...(input.parameters === undefined ? {} : { parameters: input.parameters }) },
      signal: input.signal,
    });
  }

  async getRun(sessionId: string, runId: string, options: { signal?: AbortSignal } = {}): Promise<RunResponseType> {
    const path = sessionPath(sessionId, `/runs/${segment(runId, 'runId')}`);
    await this.#party();
    return this.#http.request('GET', path, RunResponse, { signal: options.signal });
  }

  /**
   * Starts the inference and waits for it (polling with backoff 250 ms → 2 s), then fetches, verifies and
   * opens the result. A failed run throws TenzroApiError with the run's code; `timeoutMs` (default 10 min)
   * gives `timeout`, the signal gives `aborted`.
   */
  async runMultiPartyInference(input: RunMultiPartyInferenceInput): Promise<InferenceResult> {
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    assertSessionId(input.sessionId, 'input.sessionId');
    if (typeof input.prompt !== 'string') throw new TypeError('input.prompt must be a string');
    const timeoutMs = input.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError('input.timeoutMs must be a positive number of milliseconds');
    }
    await this.#requireParty('read the result');
    const deadline = deadlineSignal(input.signal, timeoutMs, 'the inference run');
    const { signal } = deadline;
    try {
      const started = await this.startRun({
        sessionId: input.sessionId,
        prompt: input.prompt,
        ...(input.parameters === undefined ? {} : { parameters: input.parameters }),
        signal,
      });
      let latest = started;
      let first = true;
      const finished = await pollUntil(async () => {
        if (!first) latest = await this.getRun(input.sessionId, started.runId, { signal });
        first = false;
        return latest.status === 'completed' || latest.status === 'failed' ? latest : undefined;
      }, signal);
      if (finished.status === 'failed') throw runFailure(finished);
      return await this.getSessionResult(input.sessionId, { signal });
    } catch (error) {
      if (signal.aborted) throw deadline.toError();
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /**
   * The result sealed to the SDK's party: the report's attestation is verified (user_data = the report's
   * digest), the body is opened with the party's encryption key, and the shared result must hash to the
   * report's resultHash.
   */
  async getSessionResult(sessionId: string, options: { signal?: AbortSignal } = {}): Promise<InferenceResult> {
    const path = sessionPath(sessionId, '/result');
    const party = await this.#requireParty('read the result');
    const reply = await this.#http.request('GET', path, SealedResultResponse, { signal: options.signal });
    const { report } = reply;
    const binding = (what: string): never => {
      throw new ResultVerificationError('result_binding_mismatch', `result of ${sessionId}: ${what}`);
    };
    if (reply.sessionId !== sessionId || report.sessionId !== sessionId) binding('the report is for another session');
    if (reply.runId !== report.runId) binding('the report is for another run');
    if (reply.recipient !== party.partyId) binding(`it is sealed to ${reply.recipient}, not to ${party.partyId}`);
    if (report.participantCount !== report.includedParties.length) binding('participantCount differs from includedParties');

    const check = await checkReportAttestation(reply.attestation, this.#trust, { userData: reportDigest(report), releasedAt: report.releasedAt });
    if (!report.includedParties.includes(party.partyId)) await this.#assertMayBeExcluded(sessionId, party.partyId, options.signal);

    const body = await openResultBody(party.encryptionPrivateKey, reply.sealedResult);
    if (body.sessionId !== sessionId || body.runId !== report.runId || body.recipient !== party.partyId) {
      binding('the sealed body names another session, run or recipient');
    }
    if (resultHash(body.shared) !== report.resultHash) {
      throw new ResultVerificationError('result_hash_mismatch', `result of ${sessionId}: the shared result does not hash to the attested resultHash`);
    }

    const common = { document: reply.attestation, reportHash: reportHash(report) };
    await this.#recordReport?.(sessionId, common.reportHash);
    const teeAttestation: TeeAttestation = check.verified
      ? {
          ...common,
          verified: true,
          provider: check.provider,
          moduleId: check.moduleId,
          measurement: check.measurement,
          timestamp: new Date(check.timestamp).toISOString(),
        }
      : {
          ...common,
          verified: false,
          reason: check.reason,
          provider: check.provider,
          moduleId: check.moduleId,
          measurement: check.measurement,
          timestamp: check.timestamp === null ? null : new Date(check.timestamp).toISOString(),
        };
    return {
      sessionId,
      runId: report.runId,
      content: body.shared.content,
      findings: body.shared.findings,
      ...(body.privateFindings === undefined ? {} : { privateFindings: body.privateFindings }),
      teeAttestation,
      participantCount: report.participantCount,
      includedParties: [...report.includedParties],
      aggregatedDataHash: report.aggregatedDataHash,
      resultHash: report.resultHash,
      report,
      releasedAt: report.releasedAt,
    };
  }

  /** Cancels a session; its ciphertexts and session key are deleted (DESIGN §6). */
  async cancelSession(sessionId: string, reason?: string): Promise<MultiPartySession> {
    const path = sessionPath(sessionId, '/cancel');
    if (reason !== undefined && typeof reason !== 'string') throw new TypeError('reason must be a string');
    await this.#party();
    const session = await this.#http.request('POST', path, MultiPartySessionSchema, { json: reason === undefined ? {} : { reason } });
    return this.#verified(session, sessionId);
  }

  /**
   * A participant that submitted data must be among the report's `includedParties`: otherwise its data was
   * dropped or replaced (e.g. the host put another party's blob in its place) and the result is not the one
   * it consented to. Observers, and participants that never submitted, may read a result without being in it.
   */
  async #assertMayBeExcluded(sessionId: string, partyId: string, signal: AbortSignal | undefined): Promise<void> {
    const session = this.#verified(await this.#http.request('GET', sessionPath(sessionId), MultiPartySessionSchema, { signal }), sessionId);
    if (!session.terms.participants.some((p) => p.partyId === partyId)) return;
    if (this.#submitted.has(sessionId) || session.dataSubmittedBy.includes(partyId)) {
      throw new ResultVerificationError('party_not_included', `result of ${sessionId}: ${partyId} submitted data but is not among the report's includedParties`);
    }
  }

  async #requireParty(what: string): Promise<PartyKeys> {
    const party = await this.#party();
    if (!party) {
      throw new TypeError(`to ${what} the SDK needs a party identity: pass options.party or set TENZRO_PARTY_KEY`);
    }
    return party;
  }
}

/** The SDK's own party, when on the roster, must appear there with its own public keys. */
function assertOwnKeys(session: MultiPartySession, party: PartyKeys | undefined): void {
  if (!party) return;
  const participant = session.terms.participants.find((p) => p.partyId === party.partyId);
  const observer = session.terms.observers.find((o) => o.partyId === party.partyId);
  const sameKey = (text: string, key: Uint8Array): boolean => {
    try {
      return equalBytes(fromBase64Url(text, 'key'), key);
    } catch {
      return false;
    }
  };
  const fail = (): never => {
    throw new SessionVerificationError('session_terms_mismatch', `session ${session.id}: the terms list ${party.partyId} with keys that are not its own`);
  };
  if (participant && (!sameKey(participant.signingKey, party.signingPublicKey) || !sameKey(participant.encryptionKey, party.encryptionPublicKey))) fail();
  if (observer && !sameKey(observer.encryptionKey, party.encryptionPublicKey)) fail();
}

/** A plain upload on a secure_aggregation session: the API's refusal, raised before sending. */
function secureAggregationRequired(sessionId: string): TenzroApiError {
  return new TenzroApiError(
    'secure_aggregation_required',
    `session ${sessionId} uses secure_aggregation: records are not uploaded; use platform.ai.contribute, which sends masked statistics`,
  );
}

function runFailure(run: RunResponseType): TenzroApiError {
  const code = run.error?.code;
  const message = run.error?.message ?? 'the inference run failed';
  if (isErrorCode(code)) return new TenzroApiError(code, message);
  return new TenzroApiError('run_failed', code === undefined ? message : `${code}: ${message}`);
}

async function openResultBody(privateKey: SecretBytes, sealed: string): Promise<z.infer<typeof ResultBody>> {
  let plaintext: Uint8Array;
  try {
    plaintext = await openEnvelope(privateKey, fromBase64Url(sealed, 'sealedResult'), { info: RESULT_INFO });
  } catch (cause) {
    if (cause instanceof OpenError || cause instanceof TypeError) {
      throw new ResultVerificationError('decryption_failed', 'the sealed result does not open with this party\'s key', { cause });
    }
    throw cause;
  }
  let json: unknown;
  try {
    json = parseStrictJson(utf8Decode(plaintext), { maxDepth: 64 });
  } catch (cause) {
    throw new ResultVerificationError('invalid_result_body', 'the sealed result is not JSON', { cause });
  }
  const parsed = ResultBody.safeParse(json);
  if (!parsed.success) throw new ResultVerificationError('invalid_result_body', 'the sealed result is not a result body', { cause: parsed.error });
  return parsed.data;
}
