/**
 * The client role of secure aggregation inside a session (docs/secure-aggregation.md), over the pure stage
 * functions of @tenzro/protocol and the host's relay routes:
 *
 *   contribute:  stage 0  advertiseKeys → POST /secagg/advertise, wait for U1 (GET /secagg)
 *                stage 1  shareKeys(U1) → POST /secagg/share-keys, wait for the U2 bundle
 *                stage 2  maskInput(U2, statistics + noise share) → seal { type: 'tenzro.contribution/v1',
 *                         salt, data: SecAggMaskedContribution } to the session key → POST /secagg/masked-input
 *   participate: stage 3  wait for the run's unmask request → unmask (once) → seal SecAggUnmaskEnvelope to
 *                         the session key → POST /secagg/unmask; then wait for the session to end
 *
 * Every stage's new state and outgoing message are saved in the SecAggStateStore BEFORE the message is
 * sent; a resumed call re-sends the saved message instead of computing a new one. Each stage's load →
 * compute → save → send runs under the store's `withLock` (when it has one), so two SDK instances or two
 * processes sharing a store cannot both compute an answer from the same state. The stage-3 answer is
 * given once: an identical request (a retried run) gets the same signed answer again, any other request is
 * refused (SecAggError `both_shares_requested` when it would reveal the other share of some party,
 * `inconsistent_request` otherwise). The host's round is checked against the session terms and the model.
 */
import {
  DATA_INFO,
  canonicalize,
  hashCommitment,
  randomBytes,
  saltedCommitment,
  sealEnvelope,
  toBase64Url,
  fromBase64Url,
  utf8Encode,
} from '@tenzro/crypto';
import type { AggregateLayout } from '@tenzro/models';
import {
  CONTRIBUTION_TYPE,
  HEADER_COMMITMENT,
  HEADER_COMMITMENT_SCHEME,
  HEADER_DATA_SCHEMA,
  SECAGG_MASKED_CONTRIBUTION_TYPE,
  SECAGG_MASKED_INPUT_SCHEMA,
  SECAGG_UNMASK_ENVELOPE_TYPE,
  SecAggError,
  SecAggRoundResponse,
  SubmissionResponse,
  advertiseKeys,
  maskInput,
  secAggConfigOf,
  shareKeys,
  unmask,
  type MultiPartySession,
  type RunResponse,
  type SecAggConfig,
  type SecAggMaskedContribution,
  type SecAggRoundStage,
  type SecAggUnmaskEnvelope,
  type SessionStatus,
  type SessionStatusResponse,
  type SubmissionResponse as SubmissionResponseType,
  type UnmaskRequest,
} from '@tenzro/protocol';
import { TenzroApiError } from '../errors.js';
import { abortError, type HttpClient } from '../http.js';
import type { PartyKeys } from '../identity.js';
import { POLL_INITIAL_DELAY_MS, POLL_MAX_DELAY_MS, pollUntil } from '../poll.js';
import { SecureAggregationError } from './errors.js';
import { TRANSIENT_RETRY, backoffDelay, isTransientError, pause, retryTransient } from './retry.js';
import { layoutOfSession, prepareSecAggInput, type SecAggInput } from './statistics.js';
import {
  decodeClientRecord,
  encodeClientRecord,
  queued,
  secAggStateKey,
  type SecAggClientRecord,
  type SecAggStateStore,
  type SignedMessage,
} from './state.js';

type Round = SecAggRoundResponse;

/** What the client role needs from the rest of the SDK. */
export interface SecAggPartyContext {
  http: HttpClient;
  store: SecAggStateStore;
  /** The session's public key, freshly fetched with a verified attestation (an unverified one refused). */
  sessionKey: (sessionId: string, signal: AbortSignal) => Promise<Uint8Array>;
  getRun: (sessionId: string, runId: string, signal: AbortSignal) => Promise<RunResponse>;
  getStatus: (sessionId: string, signal: AbortSignal) => Promise<SessionStatusResponse>;
  recordCommitment?: ((sessionId: string, partyId: string, commitment: string) => Promise<void>) | undefined;
}

/** What `contribute` reports about the round on a secure_aggregation session. */
export interface SecAggContributionInfo {
  /** The model's statistic layout the masked vector follows. */
  layout: string;
  /** Ring elements in the vector. */
  vectorLength: number;
  threshold: number;
  /** Variance of the Skellam share this party added to each statistic; null without noiseAddition. */
  noiseVariance: number | null;
  /** U1: the parties that advertised keys; U2: those that shared keys (this party masked against them). */
  advertised: string[];
  sharedKeys: string[];
}

/** The host's receipt for the masked input, with the salted commitment, its salt and the round info. */
export type SecAggContribution = SubmissionResponseType & { commitment: string; salt: string; secagg: SecAggContributionInfo };

export type ParticipationStatus =
  /** The round unmasked and the run completed. */
  | 'completed'
  /** A run this party answered failed (a later run may ask again: call participate again). */
  | 'run_failed'
  /** The round failed on the host (e.g. fewer than threshold parties at a stage). */
  | 'round_failed'
  /** The unmask request treats this party as dropped (it is not included, e.g. for lack of consent). */
  | 'excluded'
  /** This party is not in U2: its masked input is not part of the round. */
  | 'left_out'
  /** The session expired, was cancelled or its data deleted. */
  | 'session_ended';

export interface ParticipationOutcome {
  sessionId: string;
  status: ParticipationStatus;
  /** The runs whose unmask request this party answered during this call, in order. */
  answeredRuns: string[];
  /** The run the outcome is about, when there is one. */
  runId?: string;
  /** The session's status when known. */
  sessionStatus?: SessionStatus;
  /** The host's reason for a failure or an end. */
  error?: { code: string; message: string };
}

/** Progress of `participate`, for logs: the round moved to another stage, or this party answered a run. */
export type ParticipationEvent =
  | { kind: 'stage'; stage: SecAggRoundStage }
  /** `repeated`: the request was one this party had answered already (a retried run): same answer again. */
  | { kind: 'answered'; runId: string; repeated: boolean };

export interface ContributeMaskedInput {
  dataSchema: string;
  data: unknown;
  signal: AbortSignal;
}

/** What one locked step of contribute works from. */
interface ContributeStep {
  party: PartyKeys;
  sessionId: string;
  config: SecAggConfig;
  layout: AggregateLayout;
  prepared: SecAggInput;
  inputDigest: string;
  dataSchema: string;
  storeKey: string;
  signal: AbortSignal;
}

const ENDED_CODES: ReadonlySet<string> = new Set(['session_expired', 'session_cancelled', 'data_deleted', 'session_completed']);

function sessionPath(sessionId: string, rest: string): string {
  return `/v1/sessions/${sessionId}${rest}`;
}

function senders(messages: readonly { body: Record<string, unknown> }[] | null): string[] {
  return (messages ?? []).map((m) => String(m.body.partyId));
}

function roundFailed(sessionId: string, round: Round): SecureAggregationError {
  const reason = round.error ?? { code: 'secagg_failed', message: 'the round failed' };
  return new SecureAggregationError('round_failed', `the secure-aggregation round of ${sessionId} failed [${reason.code}]: ${reason.message}`, { reason });
}

function leftOut(sessionId: string, partyId: string, what: string): SecureAggregationError {
  return new SecureAggregationError('left_out', `${partyId} was left out of the secure-aggregation round of ${sessionId}: ${what}`);
}

/** A second, different unmask request: refused, naming the conflict when it would reveal both shares. */
function refuseOtherRequest(previous: UnmaskRequest, request: UnmaskRequest): SecAggError {
  const revealedSelf = new Set(previous.selfMaskShares);
  const revealedKey = new Set(previous.pairwiseKeyShares);
  const both = request.selfMaskShares.find((id) => revealedKey.has(id)) ?? request.pairwiseKeyShares.find((id) => revealedSelf.has(id));
  if (both !== undefined) {
    return new SecAggError('both_shares_requested', 'unmask', `this party already revealed the other share of ${both}; a request for both is refused`);
  }
  return new SecAggError('inconsistent_request', 'unmask', 'this party already answered a different unmask request in this session: it answers once');
}

/**
 * The client role of one SDK instance. Calls for one (session, party) are serialised in this instance, and
 * across instances and processes by the store's `withLock` when it has one; the state store makes them
 * resumable across instances and crashes.
 */
export class SecAggParty {
  readonly #context: SecAggPartyContext;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(context: SecAggPartyContext) {
    const lock = (context.store as { withLock?: unknown }).withLock;
    if (lock !== undefined && typeof lock !== 'function') throw new TypeError('secAggStateStore.withLock must be a function when present');
    this.#context = context;
  }

  /**
   * Stages 0–2 for `party` on a verified secure_aggregation `session`, sealing to `sessionKey`. Each step
   * (load the record, read the round, compute the stage's message, save, send) runs under the store's lock;
   * the waits for the other parties run outside it.
   */
  async contribute(party: PartyKeys, session: MultiPartySession, input: ContributeMaskedInput): Promise<SecAggContribution> {
    const { terms } = session;
    const sessionId = session.id;
    const me = party.partyId;
    if (!terms.participants.some((p) => p.partyId === me)) {
      throw new SecureAggregationError('not_applicable', `${me} is not a participant of ${sessionId}: only participants contribute`);
    }
    // Everything that can fail locally fails here, before any message leaves.
    const prepared = prepareSecAggInput(terms, input.dataSchema, input.data);
    const { layout } = prepared;
    const config = secAggConfigOf(terms, layout.ringLength);
    const inputDigest = await hashCommitment({ dataSchema: input.dataSchema, data: input.data });
    const storeKey = secAggStateKey(sessionId, me);
    const { signal } = input;
    const context: ContributeStep = { party, sessionId, config, layout, prepared, inputDigest, dataSchema: input.dataSchema, storeKey, signal };

    for (;;) {
      const step = await this.#exclusive(storeKey, () => this.#contributeStep(context));
      if ('done' in step) return step.done;
      await this.#waitFor(sessionId, config, layout, signal, step.wait);
    }
  }

  /**
   * One locked step of contribute: from the saved record and the host's round, computes, saves and sends at
   * most one stage's message, and says what to wait for next (or returns the receipt).
   */
  async #contributeStep(step: ContributeStep): Promise<{ done: SecAggContribution } | { wait: (round: Round) => boolean }> {
    const { party, sessionId, config, layout, prepared, inputDigest, dataSchema, storeKey, signal } = step;
    const me = party.partyId;
    let record = await this.#load(storeKey, sessionId, party, config);
    if (record !== undefined && (record.inputDigest !== inputDigest || record.dataSchema !== dataSchema)) {
      throw new SecureAggregationError('state_mismatch', `${me} already started contributing other data to ${sessionId}; a party contributes once`);
    }
    if (record?.receipt) return { done: receiptOf(record, config) };

    const round = await this.#round(sessionId, config, layout, signal);
    if (round.stage === 'failed') throw roundFailed(sessionId, round);

    // Stage 0: advertise keys.
    if (record === undefined) {
      if (round.advertisements !== null) throw leftOut(sessionId, me, 'the advertise stage closed before it advertised keys');
      const advertised = advertiseKeys({ config, partyId: me, signingKey: party.signingPrivateKey });
      record = {
        sessionId,
        partyId: me,
        layout: layout.id,
        vectorLength: layout.ringLength,
        dataSchema,
        inputDigest,
        protocol: advertised.state,
        outbox: { advertise: advertised.message as unknown as SignedMessage, shareKeys: null, maskedInput: null },
        receipt: null,
        answer: null,
        answeredRuns: [],
      };
      await this.#save(storeKey, record);
    }
    if (record.protocol.stage === 'advertised') {
      if (round.advertisements === null) {
        if (!round.advertised.includes(me)) await this.#send(sessionId, '/secagg/advertise', record.outbox.advertise!, config, layout, signal, me);
        return { wait: (r) => r.advertisements !== null };
      }
      if (!senders(round.advertisements).includes(me)) {
        throw leftOut(sessionId, me, round.advertised.includes(me) ? 'its advertisement is not among those the stage closed with' : 'the advertise stage closed before its keys arrived');
      }
      // Stage 1: share keys with U1.
      const shared = shareKeys(record.protocol, round.advertisements);
      record = { ...record, protocol: shared.state, outbox: { ...record.outbox, shareKeys: shared.message as unknown as SignedMessage } };
      await this.#save(storeKey, record);
    }
    if (record.protocol.stage === 'keys-shared') {
      if (round.shareKeys === null) {
        if (!round.sharedKeys.includes(me)) {
          if (round.stage !== 'share-keys') throw leftOut(sessionId, me, 'the share-keys stage closed before its shares arrived');
          await this.#send(sessionId, '/secagg/share-keys', record.outbox.shareKeys!, config, layout, signal, me);
        }
        return { wait: (r) => r.shareKeys !== null };
      }
      if (!senders(round.shareKeys).includes(me)) throw leftOut(sessionId, me, 'its shares are not among those the stage closed with');
      // Stage 2: mask the statistics against U2 and seal them to the enclave.
      const u1 = record.protocol.u1.map((p) => p.partyId);
      const masked = maskInput(record.protocol, round.shareKeys, prepared.encoded);
      if (masked.state.stage !== 'input-masked') throw new TypeError('maskInput returned an unexpected stage');
      const contribution: SecAggMaskedContribution = {
        type: SECAGG_MASKED_CONTRIBUTION_TYPE,
        layout: layout.id,
        sourceSchema: dataSchema,
        noiseVariance: prepared.noiseVariance,
        maskedInput: masked.message as unknown as SignedMessage,
      };
      const key = await this.#context.sessionKey(sessionId, signal);
      const salt = randomBytes(32);
      const saltText = toBase64Url(salt);
      const commitment = await saltedCommitment(salt, contribution);
      const plaintext = utf8Encode(canonicalize({ type: CONTRIBUTION_TYPE, salt: saltText, data: contribution }));
      const envelope = await sealEnvelope(key, plaintext, { info: DATA_INFO });
      plaintext.fill(0);
      record = {
        ...record,
        protocol: masked.state,
        outbox: {
          ...record.outbox,
          maskedInput: { envelope: toBase64Url(envelope), commitment, salt: saltText, noiseVariance: prepared.noiseVariance, u1, u2: [...masked.state.u2] },
        },
      };
      await this.#save(storeKey, record);
    }
    // The masked input: saved above (or by an earlier call), sent now, the same bytes every time.
    const pending = record.outbox.maskedInput;
    if (pending === null) throw new SecureAggregationError('invalid_state', `the stored state of ${me} in ${sessionId} has no masked input to send`);
    const receipt = await this.#postMaskedInput(sessionId, pending, signal);
    record = { ...record, receipt };
    await this.#save(storeKey, record);
    await this.#context.recordCommitment?.(sessionId, me, pending.commitment);
    return { done: receiptOf(record, config) };
  }

  /**
   * Stage 3 for `party`: waits for the run's unmask request, answers it once, and returns when the session
   * completes, the run fails, the round fails or the session ends. A transient failure of the host (no
   * reply, 429, 5xx) is retried with backoff (bounded); once the party is out of the round (excluded, left
   * out) or the round or session is over, its state record is deleted.
   */
  async participate(
    party: PartyKeys,
    session: MultiPartySession,
    signal: AbortSignal,
    onEvent: (event: ParticipationEvent) => void = () => undefined,
  ): Promise<ParticipationOutcome> {
    const sessionId = session.id;
    const me = party.partyId;
    if (session.terms.dataPolicy.aggregationMethod !== 'secure_aggregation') {
      throw new SecureAggregationError('not_applicable', `${sessionId} does not use secure_aggregation: there is nothing to answer`);
    }
    if (!session.terms.participants.some((p) => p.partyId === me)) {
      throw new SecureAggregationError('not_applicable', `${me} is not a participant of ${sessionId}`);
    }
    const layout = layoutOfSession(session.terms);
    const config = secAggConfigOf(session.terms, layout.ringLength);
    const storeKey = secAggStateKey(sessionId, me);
    const answeredRuns: string[] = [];
    let lastRun: string | undefined;
    let lastStage: SecAggRoundStage | undefined;
    let delay = POLL_INITIAL_DELAY_MS;
    let transientFailures = 0;
    const outcome = (status: ParticipationStatus, extra: Partial<ParticipationOutcome> = {}): ParticipationOutcome => ({
      sessionId,
      status,
      answeredRuns: [...answeredRuns],
      ...extra,
    });
    // The party's secrets are of no further use once it is out of the round or the round is over.
    const forget = async (status: ParticipationStatus, extra: Partial<ParticipationOutcome> = {}): Promise<ParticipationOutcome> => {
      await this.#exclusive(storeKey, () => this.#context.store.delete(storeKey));
      return outcome(status, extra);
    };

    if ((await this.#load(storeKey, sessionId, party, config)) === undefined) {
      throw new SecureAggregationError('no_state', `no secure-aggregation state of ${me} for ${sessionId} in this state store: contribute first (with the same store)`);
    }
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      try {
        const round = await this.#round(sessionId, config, layout, signal);
        if (round.stage !== lastStage) {
          lastStage = round.stage;
          onEvent({ kind: 'stage', stage: round.stage });
        }
        if (round.stage === 'failed') return await forget('round_failed', round.error ? { error: round.error } : {});
        if (round.stage === 'done') {
          const status = await this.#context.getStatus(sessionId, signal);
          return await forget('completed', { sessionStatus: status.status, ...(lastRun ? { runId: lastRun } : {}) });
        }
        if (round.shareKeys !== null && !senders(round.shareKeys).includes(me)) return await forget('left_out');

        const asked = round.stage === 'unmask' ? round.unmaskRequest : null;
        if (asked !== null) {
          const { runId, request } = asked;
          if (!request.selfMaskShares.includes(me)) {
            return await forget(request.pairwiseKeyShares.includes(me) ? 'excluded' : 'left_out', { runId });
          }
          if (!round.unmasked.includes(me)) {
            const repeated = await this.#exclusive(storeKey, () => this.#answer(storeKey, party, config, runId, request, signal));
            if (!answeredRuns.includes(runId)) {
              onEvent({ kind: 'answered', runId, repeated });
              answeredRuns.push(runId);
              delay = POLL_INITIAL_DELAY_MS;
            }
            // A host that keeps saying the answer did not arrive gets the same bytes again, at the polling
            // pace (never in a tight loop).
          }
          lastRun = runId;
        } else if (lastRun !== undefined) {
          // The request is gone but the round is not done: did the run we answered fail?
          const run = await this.#context.getRun(sessionId, lastRun, signal);
          if (run.status === 'failed') {
            return outcome('run_failed', { runId: lastRun, ...(run.error ? { error: { code: run.error.code, message: run.error.message } } : {}) });
          }
        }
        transientFailures = 0;
      } catch (error) {
        if (signal.aborted) throw abortError(signal);
        if (error instanceof TenzroApiError && ENDED_CODES.has(error.code)) {
          return await forget('session_ended', { error: { code: error.code, message: error.message } });
        }
        if (error instanceof TenzroApiError && error.code === 'secagg_stage_closed') {
          // The unmask stage closed while the (saved) answer was on its way: look at the round again.
          await pause(delay, signal);
          continue;
        }
        // A transient failure of the host: every step here is idempotent (reads, or the saved answer sent
        // again byte for byte), so try again after a pause, a bounded number of times in a row.
        transientFailures++;
        if (!isTransientError(error) || transientFailures >= TRANSIENT_RETRY.attempts) throw error;
        await pause(backoffDelay(transientFailures), signal);
        continue;
      }
      await pause(delay, signal);
      delay = Math.min(delay * 2, POLL_MAX_DELAY_MS);
    }
  }

  /** Answers one unmask request: computes (once) and saves the signed answer, then sends it. */
  async #answer(storeKey: string, party: PartyKeys, config: SecAggConfig, runId: string, request: UnmaskRequest, signal: AbortSignal): Promise<boolean> {
    const sessionId = config.sessionId;
    let record = await this.#load(storeKey, sessionId, party, config);
    if (record === undefined) throw new SecureAggregationError('no_state', `the secure-aggregation state of ${party.partyId} for ${sessionId} is gone`);
    let message: SignedMessage;
    let envelope: string | undefined;
    // The same answer for another run (a retried run); a re-send for the same run is not a repeat.
    const repeated = record.protocol.stage === 'done' && record.answer !== null && record.answer.runId !== runId;
    if (record.protocol.stage === 'input-masked') {
      const step = unmask(record.protocol, request); // refusals are the protocol's SecAggError
      message = step.message as unknown as SignedMessage;
      record = { ...record, protocol: step.state };
    } else if (record.protocol.stage === 'done' && record.answer !== null) {
      if (canonicalize(request) !== canonicalize(record.answer.request)) throw refuseOtherRequest(record.answer.request, request);
      message = record.answer.message;
      if (record.answer.runId === runId) envelope = record.answer.envelope;
    } else {
      throw new SecureAggregationError('invalid_state', `${party.partyId} has not sent its masked input to ${sessionId}, yet the host asks it to unmask`);
    }
    if (envelope === undefined) {
      const document: SecAggUnmaskEnvelope = { type: SECAGG_UNMASK_ENVELOPE_TYPE, sessionId, runId, unmask: message };
      const key = await this.#context.sessionKey(sessionId, signal);
      envelope = toBase64Url(await sealEnvelope(key, utf8Encode(canonicalize(document)), { info: DATA_INFO }));
    }
    record = {
      ...record,
      answer: { request, message, runId, envelope },
      answeredRuns: record.answeredRuns.includes(runId) ? record.answeredRuns : [...record.answeredRuns, runId],
    };
    await this.#save(storeKey, record);
    await this.#context.http.request('POST', sessionPath(sessionId, '/secagg/unmask'), SecAggRoundResponse, {
      bytes: fromBase64Url(envelope, 'envelope'),
      signal,
    });
    return repeated;
  }

  async #postMaskedInput(sessionId: string, pending: NonNullable<SecAggClientRecord['outbox']['maskedInput']>, signal: AbortSignal): Promise<SubmissionResponseType> {
    const receipt = await this.#context.http.request('POST', sessionPath(sessionId, '/secagg/masked-input'), SubmissionResponse, {
      bytes: fromBase64Url(pending.envelope, 'envelope'),
      headers: {
        [HEADER_DATA_SCHEMA]: SECAGG_MASKED_INPUT_SCHEMA,
        [HEADER_COMMITMENT]: pending.commitment,
        [HEADER_COMMITMENT_SCHEME]: 'salted',
      },
      signal,
    });
    if (receipt.sessionId !== sessionId || receipt.commitment !== pending.commitment) {
      throw new TenzroApiError('invalid_response', 'the masked-input receipt does not match what was submitted', { status: 201 });
    }
    return receipt;
  }

  /** POSTs a stage message; a closed stage means this party was left out. */
  async #send(sessionId: string, path: string, message: SignedMessage, config: SecAggConfig, layout: AggregateLayout, signal: AbortSignal, me: string): Promise<Round> {
    let round: Round;
    try {
      round = await this.#context.http.request('POST', sessionPath(sessionId, path), SecAggRoundResponse, { json: message, signal });
    } catch (error) {
      if (error instanceof TenzroApiError && error.code === 'secagg_stage_closed') {
        throw new SecureAggregationError('left_out', `${me} was left out of the secure-aggregation round of ${sessionId}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    checkRound(round, config, layout);
    return round;
  }

  /** GET /secagg (transient failures retried), checked against the terms and the model. */
  async #round(sessionId: string, config: SecAggConfig, layout: AggregateLayout, signal: AbortSignal): Promise<Round> {
    const round = await retryTransient(() => this.#context.http.request('GET', sessionPath(sessionId, '/secagg'), SecAggRoundResponse, { signal }), signal);
    checkRound(round, config, layout);
    return round;
  }

  /** Polls the round (250 ms doubling to 2 s) until `until` holds; a failed round stops with its reason. */
  async #waitFor(sessionId: string, config: SecAggConfig, layout: AggregateLayout, signal: AbortSignal, until: (round: Round) => boolean): Promise<Round> {
    try {
      return await pollUntil(async () => {
        const round = await this.#round(sessionId, config, layout, signal);
        if (round.stage === 'failed') throw roundFailed(sessionId, round);
        return until(round) ? round : undefined;
      }, signal);
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      throw error;
    }
  }

  async #load(storeKey: string, sessionId: string, party: PartyKeys, config: SecAggConfig): Promise<SecAggClientRecord | undefined> {
    const text = await this.#context.store.load(storeKey);
    if (text === undefined) return undefined;
    if (typeof text !== 'string') throw new SecureAggregationError('invalid_state', `the state store returned a ${typeof text} for ${storeKey}, not a string`);
    return decodeClientRecord(text, { sessionId, partyId: party.partyId, config, signingKey: party.signingPrivateKey });
  }

  async #save(storeKey: string, record: SecAggClientRecord): Promise<void> {
    await this.#context.store.save(storeKey, encodeClientRecord(record));
  }

  /**
   * Runs `task` after every earlier task on the same key of this SDK instance, and inside the store's
   * `withLock` when it has one (mutual exclusion with other instances and processes sharing the store).
   */
  #exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    const store = this.#context.store;
    const locked = typeof store.withLock === 'function' ? () => store.withLock!(key, task) : task;
    return queued(this.#locks, key, locked);
  }
}

/** The host's round must be this session's, with the terms' threshold and the model's layout. */
function checkRound(round: Round, config: SecAggConfig, layout: AggregateLayout): void {
  const fail = (what: string): never => {
    throw new SecureAggregationError('round_mismatch', `the host's secure-aggregation round of ${config.sessionId} ${what}`);
  };
  if (round.sessionId !== config.sessionId) fail('is for another session');
  if (round.threshold !== config.threshold) fail(`has threshold ${round.threshold}, the terms say ${config.threshold}`);
  if (round.layout !== layout.id || round.vectorLength !== layout.ringLength) fail(`follows layout ${round.layout} (${round.vectorLength}), the model's is ${layout.id} (${layout.ringLength})`);
}

function receiptOf(record: SecAggClientRecord, config: SecAggConfig): SecAggContribution {
  const pending = record.outbox.maskedInput!;
  return {
    ...record.receipt!,
    commitment: pending.commitment,
    salt: pending.salt,
    secagg: {
      layout: record.layout,
      vectorLength: record.vectorLength,
      threshold: config.threshold,
      noiseVariance: pending.noiseVariance,
      advertised: [...pending.u1],
      sharedKeys: [...pending.u2],
    },
  };
}

/** A signal that never fires, for calls without one. */
export function neverSignal(): AbortSignal {
  return new AbortController().signal;
}
