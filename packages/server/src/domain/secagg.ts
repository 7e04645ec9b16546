/**
 * The host side of secure aggregation (docs/secure-aggregation.md): the round of a `secure_aggregation`
 * session, its stage machine, the relay of stage-0/1 messages, the masked-input rules of the shared
 * submission pipeline, the survivors' unmask answers, and the unmask phase of a run.
 *
 * The host checks every relayed message with the protocol's own pure functions (the ones the parties and
 * the enclave use) and stores only what passes; it never holds a masked input together with the shares that
 * unmask it: masked inputs and unmask answers are sealed to the session key, stage-1 shares are sealed
 * pairwise between parties.
 *
 * Stage machine (`advanceRound`, run inside the transaction of every write and by the sweep):
 *   advertise    opens at the first advertisement; expects every participant;
 *   share-keys   opens when advertise closes; expects U1 (the advertisers kept by collectAdvertisements);
 *   masked-input opens when share-keys closes; expects U2 (kept by collectSharedKeys);
 *   awaiting-run the inputs are fixed: the session may run;
 *   unmask       a run published its request and waits for the survivors (the job, not the sweep, closes it);
 *   done | failed.
 * A stage closes when every expected party answered, or at its deadline (opened + stage timeout) with at
 * least `threshold` answers; below the threshold at the deadline the round fails (secagg_below_threshold).
 */
import { MAX_SKELLAM_VARIANCE, calibrateSkellam, canonicalize, toBase64Url } from '@tenzro/crypto';
import {
  FINAL_STATUSES,
  SECAGG_MASKED_INPUT_SCHEMA,
  SecAggError,
  TenzroError,
  UnmaskRequest,
  assertCan,
  assertNeighbourhoods,
  buildUnmaskRequest,
  collectAdvertisements,
  collectSharedKeys,
  createSecAggServer,
  progressOf,
  secAggConfigOf,
  secAggNoiseShare,
  verifyAdvertisements,
  verifyShareKeys,
  type EnclaveRequestOf,
  type SecAggConfig,
  type SecAggRoundResponse,
  type SecAggRoundStage,
  type SessionStatus,
  type SessionTerms,
  type SignedAdvertise,
  type SignedShareKeys,
} from '@tenzro/protocol';
import type { Readable } from 'node:stream';
import { nowIso, type Context } from '../context.js';
import type { RunsTable, SecAggRoundsTable, SecAggUnmaskTable, SessionsTable } from '../db/schema.js';
import { appendAudit } from '../repositories/audit.js';
import type { Executor } from '../repositories/executor.js';
import {
  findRound,
  findUnmask,
  insertMessage,
  insertUnmask,
  lockRound,
  messagesOf,
  RELAY_STAGES,
  roundsPastDeadline,
  unmaskAnswersOf,
  updateRound,
} from '../repositories/secagg.js';
import { findSession } from '../repositories/sessions.js';
import { submissionsOf } from '../repositories/submissions.js';
import { actingParty, denyAndAudit, parseTerms, rosterRole, type Actor, type LoadedSession } from './access.js';
import { recomputeOpenStatus, removeUnreferencedBlobs, secAggRunFacts, type SessionFacts } from './lifecycle.js';
import { modelSecAggLayout, type SecAggLayout } from './secagg-layout.js';
import type { SubmissionMeta, SubmissionRules } from './submissions.js';

type StageMessageStage = 'advertise' | 'share-keys';

const STAGE_ORDER: readonly SecAggRoundStage[] = ['advertise', 'share-keys', 'masked-input', 'awaiting-run', 'unmask', 'done'];

/** How often the job looks for the survivors' unmask answers. */
export const UNMASK_POLL_MS = 200;
/** Largest unmask envelope accepted (a few shares per party of U2; far below this). */
export const SECAGG_UNMASK_MAX_BYTES = 4 * 1024 * 1024;

export function isSecAgg(terms: SessionTerms): boolean {
  return terms.dataPolicy.aggregationMethod === 'secure_aggregation';
}

function requireSecAgg(terms: SessionTerms, sessionId: string): void {
  if (!isSecAgg(terms)) {
    throw new TenzroError(
      'conflict',
      `session ${sessionId} uses aggregationMethod ${terms.dataPolicy.aggregationMethod}, not secure_aggregation: it has no secure-aggregation round`,
    );
  }
}

function rejected(error: SecAggError): TenzroError {
  return new TenzroError('secagg_rejected', `${error.code}: ${error.message}`, { cause: error });
}

function belowThreshold(message: string): TenzroError {
  return new TenzroError('secagg_below_threshold', message);
}

function stageClosed(stage: SecAggRoundStage, round: SecAggRoundsTable): TenzroError {
  const wanted = STAGE_ORDER.indexOf(stage);
  const current = STAGE_ORDER.indexOf(round.stage as SecAggRoundStage);
  const when = round.stage === 'failed' ? 'the round failed' : current < wanted ? 'it has not opened yet' : 'it has closed';
  return new TenzroError('secagg_stage_closed', `the ${stage} stage is not open (${when}; the round is at ${round.stage})`);
}

function list(json: string | null): string[] | undefined {
  return json === null ? undefined : (JSON.parse(json) as string[]);
}

function inRosterOrder(terms: SessionTerms, ids: Iterable<string>): string[] {
  const set = new Set(ids);
  return terms.participants.map((p) => p.partyId).filter((id) => set.has(id));
}

function addMs(at: string, ms: number): string {
  return new Date(Date.parse(at) + ms).toISOString();
}

// Terms are immutable and hash to the session id, so a session's configuration can be kept (validating it
// decodes every roster key and, for SecAgg+, searches the graph degree).
const CONFIGS = new Map<string, SecAggConfig>();
const CONFIG_CACHE_SIZE = 256;

/** The protocol configuration of the round (roster order = index; threshold and graph from the terms). */
export function roundConfig(terms: SessionTerms, round: Pick<SecAggRoundsTable, 'session_id' | 'vector_length'>): SecAggConfig {
  const key = `${round.session_id}|${round.vector_length}`;
  let config = CONFIGS.get(key);
  if (config === undefined) {
    config = secAggConfigOf(terms, round.vector_length);
    if (config.sessionId !== round.session_id) throw new TenzroError('internal_error', 'the session terms do not hash to the round');
    if (CONFIGS.size >= CONFIG_CACHE_SIZE) CONFIGS.delete(CONFIGS.keys().next().value!);
    CONFIGS.set(key, config);
  }
  return config;
}

/** The same configuration with threshold 1: checks one message on its own (the stage threshold comes at closing). */
function perMessage(config: SecAggConfig): SecAggConfig {
  return { ...config, threshold: 1 };
}

// ---------------------------------------------------------------------------------------------------------
// Creation

/** How many standard deviations of a party's Skellam draw must fit the layout's noise range. */
export const NOISE_SIGMA_BOUND = 8;

/**
 * With noiseAddition: the session's DP target must give a per-party share μ / (t − 1) (secAggNoiseShare,
 * μ = calibrateSkellam(target, layout sensitivities)) that parties can sample (≤ MAX_SKELLAM_VARIANCE) and
 * encode (8σ ≤ the layout's maxNoiseMagnitude, so a draw essentially never overflows the noise range and
 * fails encodeStatistics). Otherwise `invalid_data_policy` naming the target: refused at creation rather
 * than failing every party's contribution later.
 */
function assertNoiseEncodable(terms: SessionTerms, layout: SecAggLayout): void {
  const secure = terms.dataPolicy.secureAggConfig;
  if (secure === undefined || !secure.noiseAddition) return;
  const target = secure.differentialPrivacy;
  if (target === undefined) throw new TenzroError('invalid_data_policy', 'noiseAddition needs a differential-privacy target (secureAggConfig.differentialPrivacy)');
  const named = `the differential-privacy target epsilon = ${target.epsilon}, delta = ${target.delta}`;
  let share: number;
  try {
    const mu = calibrateSkellam({ epsilon: target.epsilon, delta: target.delta, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity }).variance;
    share = secAggNoiseShare(mu, secure.threshold);
  } catch (cause) {
    throw new TenzroError('invalid_data_policy', `secure aggregation: no Skellam noise reaches ${named} for layout ${layout.layout}`, { cause });
  }
  const sigmaRange = NOISE_SIGMA_BOUND * Math.sqrt(share);
  if (share > MAX_SKELLAM_VARIANCE || sigmaRange > layout.maxNoiseMagnitude) {
    throw new TenzroError(
      'invalid_data_policy',
      `secure aggregation: ${named} needs Skellam variance ${share.toPrecision(4)} from each party (threshold ${secure.threshold}), ` +
        `more than a party can sample and encode (variance at most 2^40 and ${NOISE_SIGMA_BOUND} standard deviations within ±${layout.maxNoiseMagnitude}): ` +
        'choose a larger epsilon or delta',
    );
  }
}

/**
 * The layout of a secure_aggregation session's model and a check that its roster makes a valid protocol
 * configuration (distinct signing keys; t > n/2 was checked by the policy) and, with noiseAddition, that
 * its DP target gives a noise share parties can sample and encode. `method_not_available` when the model
 * declares no aggregate layout; `invalid_data_policy` for a roster the protocol refuses or such a target.
 */
export function secAggLayoutForSession(terms: SessionTerms): SecAggLayout {
  const layout = modelSecAggLayout(terms.modelId);
  if (!layout) {
    throw new TenzroError('method_not_available', `model ${terms.modelId} declares no aggregate layout: it cannot run secure_aggregation here`);
  }
  try {
    secAggConfigOf(terms, layout.vectorLength);
  } catch (error) {
    if (error instanceof SecAggError) {
      throw new TenzroError('invalid_data_policy', `secure aggregation refuses this roster: ${error.code}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  assertNoiseEncodable(terms, layout);
  return layout;
}

/** The round row a new secure_aggregation session starts with (advertise, not opened yet). */
export function newRoundRow(sessionId: string, layout: SecAggLayout, at: string): SecAggRoundsTable {
  return {
    session_id: sessionId,
    stage: 'advertise',
    layout: layout.layout,
    vector_length: layout.vectorLength,
    stage_opened_at: null,
    stage_deadline: null,
    u1_json: null,
    u2_json: null,
    error_json: null,
    unmask_run_id: null,
    unmask_request_json: null,
    created_at: at,
    updated_at: at,
    version: 1,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The stage machine

export interface AdvanceOutcome {
  round: SecAggRoundsTable | undefined;
  /** A stage opened with a new deadline: the sweep timer may need to fire sooner (signal after commit). */
  deadlineChanged: boolean;
}

/** Stored messages (one per party), parsed, in roster order; `only` narrows them to those parties. */
function inRosterOrderOf<T>(terms: SessionTerms, rows: readonly { party_id: string; message_json: string }[], only?: Iterable<string>): T[] {
  const byParty = new Map(rows.map((r) => [r.party_id, r.message_json]));
  return inRosterOrder(terms, only ?? byParty.keys())
    .filter((id) => byParty.has(id))
    .map((id) => JSON.parse(byParty.get(id)!) as T);
}

async function storedMessages<T>(trx: Executor, terms: SessionTerms, sessionId: string, stage: StageMessageStage, only?: readonly string[]): Promise<T[]> {
  return inRosterOrderOf<T>(terms, await messagesOf(trx, sessionId, stage), only);
}

/** Masked-input submissions of a session (deleted ones too: a party that sent one and revoked it did answer). */
async function maskedInputParties(trx: Executor, sessionId: string): Promise<Set<string>> {
  const rows = await submissionsOf(trx, sessionId);
  return new Set(rows.filter((s) => s.data_schema === SECAGG_MASKED_INPUT_SCHEMA).map((s) => s.party_id));
}

async function failRound(
  trx: Executor,
  sessionId: string,
  stage: string,
  answered: string[],
  message: string,
  at: string,
): Promise<SecAggRoundsTable> {
  const error = { code: 'secagg_below_threshold', message };
  await updateRound(trx, sessionId, { stage: 'failed', stage_deadline: null, error_json: JSON.stringify(error) }, at);
  await appendAudit(trx, {
    sessionId,
    type: 'secagg_stage_closed',
    actorTenant: null,
    actorParty: null,
    payload: { stage, outcome: 'failed', reason: 'deadline', parties: answered, code: error.code },
    at,
  });
  return (await findRound(trx, sessionId))!;
}

async function closeStage(
  trx: Executor,
  sessionId: string,
  stage: string,
  parties: string[],
  expected: string[],
  reason: 'all_answered' | 'deadline',
  changes: Parameters<typeof updateRound>[2],
  at: string,
): Promise<SecAggRoundsTable> {
  await updateRound(trx, sessionId, changes, at);
  await appendAudit(trx, {
    sessionId,
    type: 'secagg_stage_closed',
    actorTenant: null,
    actorParty: null,
    payload: { stage, outcome: 'closed', reason, parties, missing: expected.filter((p) => !parties.includes(p)), next: changes.stage ?? null },
    at,
  });
  return (await findRound(trx, sessionId))!;
}

/** One step of the machine: closes the open stage when it is due; undefined when nothing changes. */
async function step(
  trx: Executor,
  row: SessionsTable,
  terms: SessionTerms,
  round: SecAggRoundsTable,
  now: string,
  timeoutMs: number,
): Promise<SecAggRoundsTable | undefined> {
  if (!RELAY_STAGES.has(round.stage) || round.stage_opened_at === null) return undefined;
  const sessionId = row.id;
  const config = roundConfig(terms, round);
  const t = config.threshold;
  const overdue = round.stage_deadline !== null && round.stage_deadline <= now;
  const next = { stage_opened_at: now, stage_deadline: addMs(now, timeoutMs) };

  if (round.stage === 'advertise') {
    const expected = terms.participants.map((p) => p.partyId);
    const messages = await storedMessages<SignedAdvertise>(trx, terms, sessionId, 'advertise');
    const answered = messages.map((m) => m.body.partyId);
    const all = expected.every((p) => answered.includes(p));
    if (!all && !overdue) return undefined;
    if (answered.length < t) {
      return failRound(trx, sessionId, 'advertise', answered, `${answered.length} of ${expected.length} parties advertised keys by the deadline, fewer than the threshold ${t}`, now);
    }
    let u1: string[];
    try {
      u1 = collectAdvertisements(createSecAggServer(config), messages).output.map((m) => m.body.partyId);
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error;
      return failRound(trx, sessionId, 'advertise', answered, `closing advertise: ${error.code}: ${error.message}`, now);
    }
    return closeStage(trx, sessionId, 'advertise', u1, expected, all ? 'all_answered' : 'deadline', { stage: 'share-keys', u1_json: JSON.stringify(u1), ...next }, now);
  }

  if (round.stage === 'share-keys') {
    const u1 = list(round.u1_json) ?? [];
    const messages = await storedMessages<SignedShareKeys>(trx, terms, sessionId, 'share-keys');
    const answered = messages.map((m) => m.body.partyId);
    const all = u1.every((p) => answered.includes(p));
    if (!all && !overdue) return undefined;
    if (answered.length < t) {
      return failRound(trx, sessionId, 'share-keys', answered, `${answered.length} of ${u1.length} parties shared keys by the deadline, fewer than the threshold ${t}`, now);
    }
    let u2: string[];
    try {
      const advertisements = await storedMessages<SignedAdvertise>(trx, terms, sessionId, 'advertise', u1);
      const afterAdvertise = collectAdvertisements(createSecAggServer(config), advertisements).state;
      u2 = collectSharedKeys(afterAdvertise, messages).output.map((m) => m.body.partyId);
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error;
      return failRound(trx, sessionId, 'share-keys', answered, `closing share-keys: ${error.code}: ${error.message}`, now);
    }
    return closeStage(trx, sessionId, 'share-keys', u2, u1, all ? 'all_answered' : 'deadline', { stage: 'masked-input', u2_json: JSON.stringify(u2), ...next }, now);
  }

  // masked-input
  const u2 = list(round.u2_json) ?? [];
  const sent = await maskedInputParties(trx, sessionId);
  const answered = u2.filter((p) => sent.has(p));
  const all = answered.length === u2.length;
  if (!all && !overdue) return undefined;
  if (answered.length < t) {
    return failRound(trx, sessionId, 'masked-input', answered, `${answered.length} of ${u2.length} parties sent masked inputs by the deadline, fewer than the threshold ${t}`, now);
  }
  const closed = await closeStage(
    trx,
    sessionId,
    'masked-input',
    answered,
    u2,
    all ? 'all_answered' : 'deadline',
    { stage: 'awaiting-run', stage_opened_at: null, stage_deadline: null },
    now,
  );
  // The inputs are fixed: the session may now be ready.
  if (!FINAL_STATUSES.has(row.status as SessionStatus) && row.status !== 'running') {
    const current = await findSession(trx, sessionId);
    if (current) await recomputeOpenStatus(trx, current, terms, now);
  }
  return closed;
}

/**
 * Closes every stage that is due (all expected parties answered, or the deadline passed), in the caller's
 * transaction, after taking the round's row lock. A session that is final keeps its round as it is.
 */
export async function advanceRound(
  trx: Executor,
  session: { row: SessionsTable; terms: SessionTerms },
  now: string,
  stageTimeoutMs: number,
): Promise<AdvanceOutcome> {
  if (FINAL_STATUSES.has(session.row.status as SessionStatus)) return { round: await findRound(trx, session.row.id), deadlineChanged: false };
  let round = await lockRound(trx, session.row.id);
  if (!round) return { round, deadlineChanged: false };
  let deadlineChanged = false;
  for (let i = 0; i < STAGE_ORDER.length; i++) {
    const next = await step(trx, session.row, session.terms, round, now, stageTimeoutMs);
    if (!next) break;
    if (next.stage_deadline !== null && next.stage_deadline !== round.stage_deadline) deadlineChanged = true;
    round = next;
  }
  return { round, deadlineChanged };
}

/**
 * Advances one session's round in its own transaction when a deadline may have passed (a read otherwise);
 * true when it did.
 */
export async function advanceSessionRound(ctx: Context, sessionId: string): Promise<boolean> {
  const now = nowIso(ctx);
  const peek = await findRound(ctx.db, sessionId);
  if (!peek || !RELAY_STAGES.has(peek.stage) || peek.stage_deadline === null || peek.stage_deadline > now) return false;
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const row = await findSession(trx, sessionId);
    if (!row) return undefined;
    return advanceRound(trx, { row, terms: parseTerms(row) }, now, ctx.config.secAggStageTimeoutMs);
  });
  if (outcome?.deadlineChanged) ctx.signals.expiryChanged();
  return true;
}

/** The sweep: closes (or fails) every stage past its deadline, with or without traffic. */
export async function advanceDueRounds(ctx: Context): Promise<void> {
  for (const sessionId of await roundsPastDeadline(ctx.db, nowIso(ctx))) {
    try {
      await advanceSessionRound(ctx, sessionId);
    } catch (error) {
      ctx.logger.error({ err: error, sessionId }, 'secure aggregation: advancing a round failed; retried at the next sweep');
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The relayed view

/** The round's communication graph as relayed: the complete graph, or SecAgg+'s Harary graph (config.graph). */
function graphOf(config: SecAggConfig): SecAggRoundResponse['graph'] {
  const graph = (config as { graph?: { kind: string; k?: number; seed?: Uint8Array } }).graph;
  if (graph?.kind === 'harary' && graph.k !== undefined && graph.seed !== undefined) return { kind: 'harary', k: graph.k, seed: toBase64Url(graph.seed) };
  return { kind: 'complete' };
}

async function roundView(db: Executor, terms: SessionTerms, round: SecAggRoundsTable): Promise<SecAggRoundResponse> {
  const sessionId = round.session_id;
  const advertisements = await messagesOf(db, sessionId, 'advertise');
  const shareKeys = await messagesOf(db, sessionId, 'share-keys');
  const masked = await maskedInputParties(db, sessionId);
  const u1 = list(round.u1_json);
  const u2 = list(round.u2_json);
  // Who answered the last published request: while it waits, the live answers (the ones that count); after
  // the run, every answer (those shredded with the session still were given).
  const unmasked =
    round.unmask_run_id === null ? [] : (await unmaskAnswersOf(db, sessionId, round.unmask_run_id, round.stage !== 'unmask')).map((a) => a.party_id);
  const request = round.unmask_request_json === null ? null : UnmaskRequest.parse(JSON.parse(round.unmask_request_json));
  const open = RELAY_STAGES.has(round.stage) || round.stage === 'unmask';
  return {
    sessionId,
    stage: round.stage as SecAggRoundStage,
    threshold: terms.dataPolicy.secureAggConfig!.threshold,
    vectorLength: round.vector_length,
    layout: round.layout,
    graph: graphOf(roundConfig(terms, round)),
    stageDeadline: open ? round.stage_deadline : null,
    advertised: inRosterOrder(terms, advertisements.map((m) => m.party_id)),
    sharedKeys: inRosterOrder(terms, shareKeys.map((m) => m.party_id)),
    maskedInputs: inRosterOrder(terms, masked),
    unmasked: inRosterOrder(terms, unmasked),
    advertisements: u1 === undefined ? null : inRosterOrderOf<StageMessageInput>(terms, advertisements, u1),
    shareKeys: u2 === undefined ? null : inRosterOrderOf<StageMessageInput>(terms, shareKeys, u2),
    unmaskRequest: round.stage === 'unmask' && request !== null && round.unmask_run_id !== null ? { runId: round.unmask_run_id, request } : null,
    error: round.error_json === null ? null : (JSON.parse(round.error_json) as { code: string; message: string }),
  };
}

/**
 * GET /secagg: the round as relayed. Any caller who sees the session may read it. Read-only: the caller's
 * loadCurrent already closed a stage whose deadline passed (a stage whose parties all answered was closed
 * by the request that completed it), so polling parties never write.
 */
export async function getRound(ctx: Context, loaded: LoadedSession): Promise<SecAggRoundResponse> {
  requireSecAgg(loaded.terms, loaded.row.id);
  return ctx.db.transaction().execute(async (trx) => {
    const round = await findRound(trx, loaded.row.id);
    if (!round) throw new TenzroError('internal_error', 'the session has no secure-aggregation round');
    return roundView(trx, loaded.terms, round);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Stage 0 and 1 messages

/** The acting participant, or 403 (audited) for an observer, an outsider party or a creator without a party. */
async function actingParticipant(ctx: Context, actor: Actor, loaded: LoadedSession, action: string): Promise<string> {
  const partyId = actingParty(actor, loaded.terms);
  if (partyId === undefined || rosterRole(loaded.terms, partyId) !== 'participant') {
    throw await denyAndAudit(ctx.db, actor, loaded.row.id, partyId, action, nowIso(ctx));
  }
  return partyId;
}

async function forbidImpersonation(ctx: Context, actor: Actor, sessionId: string, partyId: string, claimed: unknown): Promise<void> {
  if (claimed === partyId) return;
  throw await denyAndAudit(
    ctx.db,
    actor,
    sessionId,
    partyId,
    'relay a secure-aggregation message of another party',
    nowIso(ctx),
    `${partyId} may only send its own messages (the message names ${typeof claimed === 'string' ? claimed : 'no party'})`,
  );
}

export interface StageMessageInput {
  body: Record<string, unknown>;
  signature: string;
}

/**
 * POST /secagg/advertise and /secagg/share-keys: the acting participant's signed message, checked with the
 * protocol (signature under the roster key in the terms, session, roster, U1 membership, recipients,
 * duplicate party, duplicate key, stage) and stored as canonical JSON; then the stage may close. A refusal
 * stores nothing. Re-sending the identical message is idempotent.
 */
export async function postStageMessage(
  ctx: Context,
  actor: Actor,
  loaded: LoadedSession,
  stage: StageMessageStage,
  message: StageMessageInput,
): Promise<SecAggRoundResponse> {
  const sessionId = loaded.row.id;
  const { terms } = loaded;
  requireSecAgg(terms, sessionId);
  const partyId = await actingParticipant(ctx, actor, loaded, stage === 'advertise' ? 'advertise secure-aggregation keys' : 'share secure-aggregation keys');
  await forbidImpersonation(ctx, actor, sessionId, partyId, message.body.partyId);
  const canonical = canonicalize({ body: message.body, signature: message.signature });
  const at = nowIso(ctx);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const row = await findSession(trx, sessionId);
    if (!row) throw new TenzroError('not_found', 'session not found');
    const before = await advanceRound(trx, { row, terms }, at, ctx.config.secAggStageTimeoutMs);
    let round = before.round;
    if (!round) throw new TenzroError('internal_error', 'the session has no secure-aggregation round');
    const stored = await messagesOf(trx, sessionId, stage);
    const mine = stored.find((m) => m.party_id === partyId);
    if (mine && mine.message_json === canonical) {
      // A retry of a message already relayed (its answer may have been lost): nothing changes.
      return { view: await roundView(trx, terms, round), deadlineChanged: before.deadlineChanged };
    }
    assertCan('submit', row.status as SessionStatus);
    if (round.stage !== stage) throw stageClosed(stage, round);
    const config = perMessage(roundConfig(terms, round));
    try {
      if (stage === 'advertise') {
        verifyAdvertisements(config, [message], 'advertise');
        if (mine) throw new SecAggError('duplicate_party', 'advertise', `${partyId} already advertised its keys in this session`);
        const keys = new Set(stored.flatMap((m) => {
          const body = (JSON.parse(m.message_json) as SignedAdvertise).body;
          return [body.cPublicKey, body.sPublicKey];
        }));
        if (keys.has(message.body.cPublicKey as string) || keys.has(message.body.sPublicKey as string)) {
          throw new SecAggError('duplicate_key', 'advertise', `${partyId} advertised a key another party already uses`);
        }
      } else {
        const u1 = list(round.u1_json) ?? [];
        const advertised = verifyAdvertisements(config, await storedMessages<SignedAdvertise>(trx, terms, sessionId, 'advertise', u1), 'share-keys');
        verifyShareKeys(config, advertised, [message], 'share-keys');
        if (mine) throw new SecAggError('duplicate_party', 'share-keys', `${partyId} already shared its keys in this session`);
      }
    } catch (error) {
      if (error instanceof SecAggError) throw rejected(error);
      throw error;
    }
    try {
      await insertMessage(trx, { session_id: sessionId, stage, party_id: partyId, message_json: canonical, received_at: at });
    } catch (error) {
      if (ctx.dialect.isUniqueViolation(error)) throw rejected(new SecAggError('duplicate_party', stage, `${partyId} already sent its ${stage} message`));
      throw error;
    }
    let deadlineChanged = before.deadlineChanged;
    if (stage === 'advertise' && round.stage_opened_at === null) {
      // The round starts with its first advertisement.
      await updateRound(trx, sessionId, { stage_opened_at: at, stage_deadline: addMs(at, ctx.config.secAggStageTimeoutMs) }, at);
      deadlineChanged = true;
    }
    const after = await advanceRound(trx, { row, terms }, at, ctx.config.secAggStageTimeoutMs);
    round = after.round!;
    return { view: await roundView(trx, terms, round), deadlineChanged: deadlineChanged || after.deadlineChanged };
  });
  if (outcome.deadlineChanged) ctx.signals.expiryChanged();
  return outcome.view;
}

// ---------------------------------------------------------------------------------------------------------
// Stage 2: masked inputs ride the submission pipeline

function assertMaskedInputOpen(partyId: string, round: SecAggRoundsTable | undefined): void {
  if (!round) throw new TenzroError('internal_error', 'the session has no secure-aggregation round');
  if (round.stage !== 'masked-input') throw stageClosed('masked-input', round);
  const u2 = list(round.u2_json) ?? [];
  if (!u2.includes(partyId)) {
    throw rejected(new SecAggError('unknown_party', 'masked-input', `${partyId} did not share keys (it is not in U2): its masked input cannot be unmasked`));
  }
}

/**
 * The masked-input rules of the shared submission pipeline (POST /secagg/masked-input): a
 * secure_aggregation session, the data schema `tenzro.secagg.masked-input/v1`, the salted commitment, the
 * masked-input stage open and the party in U2 — checked before the upload and again in the recording
 * transaction, which then lets the stage close.
 */
export function maskedInputRules(ctx: Context): SubmissionRules {
  let deadlineChanged = false;
  return {
    action: 'send a masked input',
    async before(loaded: LoadedSession, partyId: string, meta: SubmissionMeta): Promise<void> {
      requireSecAgg(loaded.terms, loaded.row.id);
      if (meta.dataSchema !== SECAGG_MASKED_INPUT_SCHEMA) {
        throw new TenzroError('unknown_schema', `a masked input is filed under data schema ${SECAGG_MASKED_INPUT_SCHEMA}, not ${JSON.stringify(meta.dataSchema)}`);
      }
      if (meta.commitmentScheme !== 'salted') {
        throw new TenzroError('invalid_request', 'a masked input is committed with the salted scheme (x-tenzro-commitment-scheme: salted)');
      }
      assertMaskedInputOpen(partyId, await findRound(ctx.db, loaded.row.id));
    },
    async inTransaction(trx: Executor, row: SessionsTable, terms: SessionTerms, partyId: string, at: string): Promise<void> {
      const advanced = await advanceRound(trx, { row, terms }, at, ctx.config.secAggStageTimeoutMs);
      deadlineChanged ||= advanced.deadlineChanged;
      assertMaskedInputOpen(partyId, advanced.round);
    },
    async afterRecorded(trx: Executor, row: SessionsTable, terms: SessionTerms, _partyId: string, at: string): Promise<SessionStatus | undefined> {
      const current = (await findSession(trx, row.id)) ?? row;
      const advanced = await advanceRound(trx, { row: current, terms }, at, ctx.config.secAggStageTimeoutMs);
      deadlineChanged ||= advanced.deadlineChanged;
      return (await findSession(trx, row.id))?.status as SessionStatus | undefined;
    },
    afterCommit(): void {
      if (deadlineChanged) ctx.signals.expiryChanged();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stage 3: unmask answers

/**
 * POST /secagg/unmask: a survivor's answer to the published request, an envelope sealed to the session key
 * (the host cannot read it), stored as a blob — only while the round is at `unmask`, only from a party the
 * request names as a survivor, once per party and run (the identical bytes again are idempotent; other
 * bytes are 409).
 */
export async function postUnmask(
  ctx: Context,
  actor: Actor,
  loaded: LoadedSession,
  contentLength: number | undefined,
  body: Readable,
): Promise<SecAggRoundResponse> {
  const sessionId = loaded.row.id;
  const { terms } = loaded;
  requireSecAgg(terms, sessionId);
  const partyId = await actingParticipant(ctx, actor, loaded, 'answer the unmask request');
  const round = await findRound(ctx.db, sessionId);
  if (!round) throw new TenzroError('internal_error', 'the session has no secure-aggregation round');
  if (round.stage !== 'unmask' || round.unmask_run_id === null || round.unmask_request_json === null) throw stageClosed('unmask', round);
  const runId = round.unmask_run_id;
  const request = UnmaskRequest.parse(JSON.parse(round.unmask_request_json));
  if (!request.selfMaskShares.includes(partyId)) {
    throw await denyAndAudit(
      ctx.db,
      actor,
      sessionId,
      partyId,
      'answer the unmask request',
      nowIso(ctx),
      `only the survivors the unmask request of ${runId} names may answer it; ${partyId} is not one of them`,
    );
  }
  const limit = Math.min(ctx.config.maxUploadBytes, SECAGG_UNMASK_MAX_BYTES);
  if (contentLength !== undefined && contentLength > limit) {
    throw new TenzroError('payload_too_large', `an unmask answer is at most ${limit} bytes`);
  }
  const blob = await ctx.uploads.run(() => ctx.blobs.write(body, { maxBytes: limit, idleTimeoutMs: ctx.config.uploadIdleTimeoutMs }));
  try {
    if (blob.size === 0) throw new TenzroError('invalid_request', 'the upload is empty');
    const at = nowIso(ctx);
    return await ctx.db.transaction().execute(async (trx) => {
      const current = await lockRound(trx, sessionId);
      // Checked again under the lock: the run may have closed the stage while the answer streamed in.
      if (!current) throw new TenzroError('internal_error', 'the session has no secure-aggregation round');
      if (current.stage !== 'unmask' || current.unmask_run_id !== runId) throw stageClosed('unmask', current);
      const existing = await findUnmask(trx, sessionId, runId, partyId);
      if (existing) {
        if (existing.blob_hash === blob.hash && existing.deleted_at === null) return roundView(trx, terms, current);
        throw new TenzroError('conflict', `${partyId} already answered the unmask request of ${runId} with other bytes`);
      }
      await insertUnmask(trx, { session_id: sessionId, run_id: runId, party_id: partyId, blob_hash: blob.hash, size: blob.size, received_at: at, deleted_at: null });
      await appendAudit(trx, {
        sessionId,
        type: 'secagg_unmask_received',
        actorTenant: actor.tenantId,
        actorParty: partyId,
        payload: { partyId, runId, ciphertextHash: 'sha256:' + blob.hash, size: blob.size },
        at,
      });
      return roundView(trx, terms, current);
    });
  } finally {
    // Removed unless a live answer names it (this one, or the identical one sent before).
    await removeUnreferencedBlobs(ctx, [blob.hash]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The run's unmask phase (the job runner)

export type SecAggRunInputs = NonNullable<EnclaveRequestOf<'run'>['secagg']>;

export interface PreparedSecAggRun {
  /** The included parties: complete (submitted a masked input and consented) ∩ U2, in roster order. */
  included: string[];
  secagg: SecAggRunInputs;
}

export interface UnmaskPhaseOptions {
  /** True once the runner is shutting down: stop waiting and leave the run to be requeued. */
  closed(): boolean;
  sleep?(ms: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Before a secure_aggregation run calls the enclave: builds the unmask request (buildUnmaskRequest:
 * included give self-mask shares, the rest of U2 pairwise-key shares), publishes it (stage `unmask`, with a
 * deadline), waits until every survivor answered or the deadline (polling every 200 ms), and returns the
 * enclave's secagg inputs: the relayed messages of U1 and U2 and the answers, in roster order. A run
 * requeued after a crash reuses the stored request and its answers when the request is the same.
 * Refuses with secagg_below_threshold when fewer than `threshold` survivors are included or answered.
 * Returns undefined when the runner closed while waiting.
 */
export async function unmaskPhase(
  ctx: Context,
  run: RunsTable,
  terms: SessionTerms,
  facts: SessionFacts,
  options: UnmaskPhaseOptions,
): Promise<PreparedSecAggRun | undefined> {
  const sessionId = run.session_id;
  const round = await findRound(ctx.db, sessionId);
  if (!round) throw new TenzroError('internal_error', 'the session has no secure-aggregation round');
  if (round.stage !== 'awaiting-run' && round.stage !== 'unmask') {
    throw new TenzroError('session_not_ready', `the secure-aggregation round is at ${round.stage}; a run needs the masked-input stage closed`);
  }
  const config = roundConfig(terms, round);
  const u1 = list(round.u1_json) ?? [];
  const u2 = list(round.u2_json) ?? [];
  const complete = new Set(progressOf(secAggRunFacts(facts)).complete);
  const included = inRosterOrder(terms, u2.filter((p) => complete.has(p)));
  if (included.length < config.threshold) {
    throw belowThreshold(`${included.length} parties of U2 sent a masked input and consented, fewer than the threshold ${config.threshold}: nothing can be unmasked`);
  }
  // SecAgg+: every party of U2 needs t_k parties of its neighbourhood able to give its shares; if the
  // included ones cannot reach that somewhere, no answer can ever unmask the sum: fail now, not at the deadline.
  try {
    assertNeighbourhoods(config, u2, new Set(included), 'masked-input');
  } catch (error) {
    if (!(error instanceof SecAggError)) throw error;
    throw belowThreshold(`SecAgg+ neighbourhood check before the unmask request: ${error.message}`);
  }
  const request = buildUnmaskRequest(config, u2, new Set(included));
  const requestJson = canonicalize(request);

  const published = await ctx.db.transaction().execute(async (trx) => {
    const current = await lockRound(trx, sessionId);
    if (!current || (current.stage !== 'awaiting-run' && current.stage !== 'unmask')) {
      throw new TenzroError('session_not_ready', `the secure-aggregation round is at ${current?.stage ?? 'nowhere'}`);
    }
    const now = nowIso(ctx);
    const timeout = ctx.config.secAggStageTimeoutMs;
    let deadline: string;
    if (current.stage === 'unmask' && current.unmask_run_id === run.id && current.unmask_request_json === requestJson && current.stage_deadline !== null) {
      // A requeued run: the same request, the answers already in count; a lapsed deadline opens again.
      deadline = current.stage_deadline > now ? current.stage_deadline : addMs(now, timeout);
      if (deadline !== current.stage_deadline) await updateRound(trx, sessionId, { stage_deadline: deadline }, now);
    } else {
      deadline = addMs(now, timeout);
      await updateRound(
        trx,
        sessionId,
        { stage: 'unmask', unmask_run_id: run.id, unmask_request_json: requestJson, stage_opened_at: now, stage_deadline: deadline },
        now,
      );
      // Answers to another request of this run (the facts changed across a crash) no longer count.
      await trx
        .updateTable('secagg_unmask')
        .set({ deleted_at: now })
        .where('session_id', '=', sessionId)
        .where('run_id', '=', run.id)
        .where('deleted_at', 'is', null)
        .execute();
      await appendAudit(trx, {
        sessionId,
        type: 'secagg_unmask_requested',
        actorTenant: null,
        actorParty: null,
        payload: { runId: run.id, request, deadline },
        at: now,
      });
    }
    // The run's lease is renewed by its instance while it waits (jobs.ts), and lapses if that instance dies.
    return { deadline };
  });

  const survivors = request.selfMaskShares;
  const pause = options.sleep ?? sleep;
  let answers: SecAggUnmaskTable[] = [];
  for (;;) {
    if (options.closed()) return undefined;
    const session = await findSession(ctx.db, sessionId);
    if (!session || session.status !== 'running') {
      throw new TenzroError('session_not_ready', `the session became ${session?.status ?? 'missing'} while waiting for the unmask answers`);
    }
    answers = (await unmaskAnswersOf(ctx.db, sessionId, run.id)).filter((a) => survivors.includes(a.party_id));
    if (answers.length === survivors.length || nowIso(ctx) >= published.deadline) break;
    await pause(UNMASK_POLL_MS);
  }
  if (answers.length < config.threshold) {
    throw belowThreshold(`${answers.length} of ${survivors.length} survivors answered the unmask request by its deadline, fewer than the threshold ${config.threshold}: nothing is unmasked`);
  }
  const byParty = new Map(answers.map((a) => [a.party_id, a]));
  return {
    included,
    secagg: {
      advertisements: await storedMessages<unknown>(ctx.db, terms, sessionId, 'advertise', u1),
      shareKeys: await storedMessages<unknown>(ctx.db, terms, sessionId, 'share-keys', u2),
      unmask: inRosterOrder(terms, byParty.keys()).map((partyId) => ({ partyId, blobPath: ctx.blobs.path(byParty.get(partyId)!.blob_hash) })),
    },
  };
}

/** In the transaction that completes a secure_aggregation run: the round is done. */
export async function completeRound(trx: Executor, sessionId: string, runId: string, at: string): Promise<void> {
  const round = await lockRound(trx, sessionId);
  if (!round) return;
  const answered = (await unmaskAnswersOf(trx, sessionId, runId)).map((a) => a.party_id);
  await updateRound(trx, sessionId, { stage: 'done', stage_deadline: null }, at);
  await appendAudit(trx, {
    sessionId,
    type: 'secagg_stage_closed',
    actorTenant: null,
    actorParty: null,
    payload: { stage: 'unmask', outcome: 'closed', reason: 'run_completed', runId, parties: answered, next: 'done' },
    at,
  });
}

/**
 * In the transaction that fails a secure_aggregation run: below the threshold the round fails for good;
 * any other failure puts it back to `awaiting-run`, so a new run publishes a new request.
 */
export async function onRunFailed(trx: Executor, sessionId: string, runId: string, error: { code: string; message: string }, at: string): Promise<void> {
  const round = await lockRound(trx, sessionId);
  if (!round) return;
  const ours = round.stage === 'awaiting-run' || (round.stage === 'unmask' && round.unmask_run_id === runId);
  if (!ours) return;
  if (error.code === 'secagg_below_threshold') {
    await updateRound(trx, sessionId, { stage: 'failed', stage_deadline: null, error_json: JSON.stringify({ code: error.code, message: error.message }) }, at);
    await appendAudit(trx, {
      sessionId,
      type: 'secagg_stage_closed',
      actorTenant: null,
      actorParty: null,
      payload: { stage: round.stage, outcome: 'failed', reason: 'run', runId, code: error.code },
      at,
    });
  } else if (round.stage === 'unmask') {
    await updateRound(trx, sessionId, { stage: 'awaiting-run', stage_opened_at: null, stage_deadline: null }, at);
  }
}

/** Why a secure_aggregation session cannot run yet (POST /runs), or undefined when its round allows it. */
export async function runRefusal(db: Executor, sessionId: string, terms: SessionTerms): Promise<TenzroError | undefined> {
  if (!isSecAgg(terms)) return undefined;
  const round = await findRound(db, sessionId);
  if (!round) return new TenzroError('session_not_ready', 'the session has no secure-aggregation round');
  if (round.stage === 'awaiting-run' || round.stage === 'unmask' || round.stage === 'done') return undefined;
  if (round.stage === 'failed') {
    const error = round.error_json === null ? undefined : (JSON.parse(round.error_json) as { code: string; message: string });
    return new TenzroError('session_not_ready', `the secure-aggregation round failed (${error?.code ?? 'unknown'}: ${error?.message ?? ''}); this session cannot run`);
  }
  return new TenzroError(
    'session_not_ready',
    `the secure-aggregation round is at stage ${round.stage}: the session can run once the masked-input stage has closed (every party of U2 sent its masked input, or the stage deadline passed with at least the threshold)`,
  );
}
