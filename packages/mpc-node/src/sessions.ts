// A compute node's preprocessings and runs (docs/mpc.md, "Node control API"), in memory: a restarted node
// has none (it keeps its keys). The host's coordinator drives them in lock-step rounds:
//   preprocess(req)   a createMpcTripleMachine under op `<prepId>:triples` (Beaver triples, GRR: 2t − 1 nodes;
//                     none for a program without multiplications: done at once)
//   startRun(req)     every check of the contract, then the prep's triples (consumed) and a program machine
//                     (reveal 'recipient', op prefix = the run tag)
//   step(req)         one round: this node's mailbox messages of the ops it sent in the previous round, from
//                     `senders` only → advance → send (to each `to`, openings to senders ∪ self; within half
//                     of `deadlineMs` when given); done: the output share sealed to the enclave's session key
//                     and a signed statement (the run's input shares and triples are then zeroed)
//   checkBundle(req)  the bundle checks of startRun (one function), keeping nothing
//   dropRun / dropPrep  a run or preprocessing forgotten (vectors zeroed); its tag is not accepted again
// Refusals are MpcControlError { code, status, message }; messages name parties or nodes, never values.
import {
  MPC_FIELD,
  canonicalBytes,
  fieldVectorFromBytes,
  fieldVectorToBytes,
  fromBase64Url,
  openEnvelope,
  parseStrictJson,
  sealEnvelope,
  sha256Hex,
  toBase64Url,
  utf8Decode,
  type ShareVector,
} from '@tenzro/crypto';
import {
  MPC_NODE_OUTPUT_TYPE,
  MPC_OUTPUT_INFO,
  MPC_OUTPUT_SHARE_TYPE,
  MPC_SHARE_INFO,
  MpcError,
  MpcSharePlaintext,
  SessionTerms,
  createMpcNode,
  createMpcProgramMachine,
  createMpcTripleMachine,
  mpcProgramById,
  mpcProgramForModel,
  mpcProgramTripleLength,
  mpcShareBundleCommitment,
  sessionIdOf,
  sessionKeyUserData,
  signMpcNodeOutputStatement,
  verifyAttestation,
  verifyMpcShareBundleSignature,
  type MpcErrorCode,
  type MpcMessage,
  type MpcCheckBundleRequest,
  type MpcNodeOutputStatement,
  type MpcPreprocessRequest,
  type MpcProgram,
  type MpcProgramMachine,
  type MpcShareBundle,
  type MpcStartRunRequest,
  type MpcStepRequest,
  type MpcStepResponse,
  type MpcTripleMachine,
} from '@tenzro/protocol';
import type { NodeClient } from './client.js';
import { NodeTransportError } from './errors.js';
import type { NodeIdentity } from './identity.js';
import type { NodeMailbox } from './mailbox.js';

export type MpcControlErrorCode =
  | 'unknown_prep'
  | 'unknown_run'
  | 'round_out_of_order'
  | 'tag_in_use'
  | 'invalid_terms'
  | 'session_key_unverified'
  | 'invalid_share'
  | 'duplicate_party'
  | 'too_many_tasks'
  | MpcErrorCode;

const CONTROL_STATUS: Partial<Record<MpcControlErrorCode, number>> = {
  unknown_prep: 409,
  unknown_run: 409,
  round_out_of_order: 409,
  tag_in_use: 409,
  invalid_terms: 422,
  session_key_unverified: 403,
  invalid_share: 422,
  duplicate_party: 422,
  too_many_tasks: 429,
  too_few_parties: 409,
};

/** A refused control request (preprocess, run, step): literal code, HTTP status, a message without values. */
export class MpcControlError extends Error {
  readonly code: MpcControlErrorCode;
  readonly status: number;
  constructor(code: MpcControlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MpcControlError';
    this.code = code;
    this.status = CONTROL_STATUS[code] ?? 422;
  }
}

/** Preprocessings and runs are dropped this long after their last use (default 1 h). */
export const DEFAULT_SESSION_TTL_MS = 60 * 60 * 1000;
/** An unused preprocessing is kept at most this long (MpcPreprocessRequest.expiresAt is capped by it). */
export const MAX_PREPROCESSING_KEEP_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_TASKS_PER_SESSION = 64;
const MAX_SESSIONS = 1024;
/** Tags of dropped runs and preprocessings remembered per session (a late start under one is refused). */
const MAX_DROPPED_TAGS = 1024;
/** Per-attempt timeout of a message to a peer (the client's default). */
const SEND_ATTEMPT_TIMEOUT_MS = 10_000;

function zero(vectors: readonly ShareVector[]): void {
  for (const v of vectors) v.vector.residues.fill(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or NodeTransportError timeout after `ms` (undefined: no bound). */
async function within<T>(promise: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NodeTransportError('timeout', `no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

type StepOutput = NonNullable<MpcStepResponse['output']>;

interface Task {
  readonly kind: 'prep' | 'run';
  readonly tag: string;
  readonly programId: string;
  readonly threshold: number;
  readonly totalParties: number;
  readonly machine: MpcTripleMachine | MpcProgramMachine;
  /** The last round stepped (−1: none). */
  round: number;
  busy: boolean;
  /** `${op}\n${type}` of the messages this node sent in the last round. */
  sent: string[];
  /** A run's context for its output. */
  readonly run?: { sessionKey: Uint8Array; sessionKeyText: string; inputs: Array<{ partyId: string; commitment: string }> };
  output?: StepOutput;
  /** A run's input shares and triples (zeroed when it is done or dropped). */
  readonly secrets: ShareVector[];
  /** A preprocessing's expiry (ms since the epoch): kept unused until then, past the session TTL. */
  readonly keepUntil?: number;
}

interface SessionState {
  readonly tasks: Map<string, Task>;
  /** Tags of dropped runs and preprocessings (never accepted again in this session). */
  readonly dropped: Set<string>;
  touchedAt: number;
}

export interface MpcSessionRuntimeOptions {
  index: number;
  total: number;
  identity: NodeIdentity;
  mailbox: NodeMailbox;
  client: NodeClient;
  /** PEM roots trusted for the enclave's session-key attestation (the node's trust roots). */
  roots: readonly string[];
  /** Accepted enclave measurements (--enclave-measurement); none: every run is refused session_key_unverified. */
  enclaveMeasurements: readonly string[];
  ttlMs?: number;
  now?: () => number;
  /** Called when a session is forgotten (DELETE, TTL). */
  onForget?: (sessionId: string) => void;
}

function refuseShare(partyId: string, why: string, cause?: unknown): never {
  throw new MpcControlError('invalid_share', `the share bundle of ${partyId} is refused: ${why}`, cause === undefined ? undefined : { cause });
}

function fromMpcError(error: unknown): never {
  if (error instanceof MpcError) throw new MpcControlError(error.code, error.message, { cause: error });
  throw error;
}

/** One node's preprocessings and runs. */
export class MpcSessionRuntime {
  readonly #o: MpcSessionRuntimeOptions;
  readonly #sessions = new Map<string, SessionState>();
  readonly #ownKey: string;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(options: MpcSessionRuntimeOptions) {
    this.#o = options;
    this.#ownKey = toBase64Url(options.identity.hpkePublicKey);
    this.#ttl = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Drops sessions unused for the TTL (called on every control request), except their complete, unused
   * preprocessings whose `expiresAt` (capped at MAX_PREPROCESSING_KEEP_MS) has not passed.
   */
  sweep(): void {
    const now = this.#now();
    const cutoff = now - this.#ttl;
    for (const [sessionId, state] of this.#sessions) {
      if (state.touchedAt >= cutoff) continue;
      for (const task of [...state.tasks.values()]) {
        const kept = task.kind === 'prep' && task.machine.phase === 'done' && task.keepUntil !== undefined && task.keepUntil > now;
        if (!kept) this.#drop(state, task);
      }
      if (state.tasks.size === 0) this.forget(sessionId);
    }
  }

  /** Forgets a session's preprocessings, runs and received messages. */
  forget(sessionId: string): void {
    const state = this.#sessions.get(sessionId);
    if (state) for (const task of [...state.tasks.values()]) this.#drop(state, task);
    this.#sessions.delete(sessionId);
    this.#o.mailbox.closeSession(sessionId);
    this.#o.onForget?.(sessionId);
  }

  /** True when this runtime serves the session (a preprocessing or run of it exists). */
  knows(sessionId: string): boolean {
    this.sweep();
    return this.#sessions.has(sessionId);
  }

  /** DELETE /control/runs/:sessionId/:tag: drops the run (vectors zeroed); the tag is refused from now on. */
  dropRun(sessionId: string, tag: string): void {
    const state = this.#session(sessionId, false);
    if (!state) return;
    const task = state.tasks.get(tag);
    if (task && task.kind !== 'run') return;
    if (task) this.#drop(state, task);
    else this.#remember(state, tag);
  }

  /** DELETE /control/preps/:sessionId/:prepId: drops the preprocessing (triples zeroed); never used after. */
  dropPrep(sessionId: string, prepId: string): void {
    const state = this.#session(sessionId, false);
    if (!state) return;
    const task = state.tasks.get(prepId);
    if (task && task.kind !== 'prep') return;
    if (task) this.#drop(state, task);
    else this.#remember(state, prepId);
  }

  #remember(state: SessionState, tag: string): void {
    state.dropped.add(tag);
    if (state.dropped.size > MAX_DROPPED_TAGS) state.dropped.delete(state.dropped.values().next().value!);
  }

  #drop(state: SessionState, task: Task): void {
    state.tasks.delete(task.tag);
    this.#remember(state, task.tag);
    if (task.kind === 'prep' && task.machine.phase === 'done') {
      try {
        const triples = (task.machine as MpcTripleMachine).takeTriples();
        zero([triples.u, triples.v, triples.w]);
      } catch {
        // already taken
      }
    }
    zero(task.secrets);
    task.secrets.length = 0;
  }

  #session(sessionId: string, create: boolean): SessionState | undefined {
    this.sweep();
    let state = this.#sessions.get(sessionId);
    if (!state && create) {
      if (this.#sessions.size >= MAX_SESSIONS) throw new MpcControlError('too_many_tasks', `this node holds ${MAX_SESSIONS} sessions already`);
      state = { tasks: new Map(), dropped: new Set(), touchedAt: this.#now() };
      this.#sessions.set(sessionId, state);
      this.#o.mailbox.openSession(sessionId);
    }
    if (state) state.touchedAt = this.#now();
    return state;
  }

  #addTask(sessionId: string, task: Task): void {
    const state = this.#session(sessionId, true)!;
    if (state.tasks.has(task.tag) || state.dropped.has(task.tag)) throw new MpcControlError('tag_in_use', `${task.tag} already names a preprocessing or run of this session`);
    if (state.tasks.size >= MAX_TASKS_PER_SESSION) throw new MpcControlError('too_many_tasks', `this session holds ${MAX_TASKS_PER_SESSION} preprocessings and runs already`);
    state.tasks.set(task.tag, task);
  }

  /** POST /control/preprocess. */
  preprocess(request: MpcPreprocessRequest): { ok: true; tripleLength: number } {
    const { sessionId, prepId, programId, threshold, totalParties, expiresAt } = request;
    if (totalParties !== this.#o.total) throw new MpcControlError('invalid_terms', `totalParties ${totalParties} is not this node's total (${this.#o.total})`);
    const program = mpcProgramById(programId);
    if (!program) throw new MpcControlError('invalid_terms', `no program ${programId}`);
    const existing = this.#sessions.get(sessionId);
    if (existing?.tasks.has(prepId) || existing?.dropped.has(prepId)) throw new MpcControlError('tag_in_use', `${prepId} already names a preprocessing or run of this session`);
    let machine: MpcTripleMachine;
    let tripleLength: number;
    try {
      tripleLength = mpcProgramTripleLength(program);
      const node = createMpcNode({ sessionId, party: this.#o.index, threshold, totalParties });
      machine = createMpcTripleMachine({ node, op: `${prepId}:triples`, length: tripleLength });
    } catch (error) {
      fromMpcError(error);
    }
    const keepUntil = expiresAt === undefined ? undefined : Math.min(Date.parse(expiresAt), this.#now() + MAX_PREPROCESSING_KEEP_MS);
    this.#addTask(sessionId, { kind: 'prep', tag: prepId, programId, threshold, totalParties, machine, round: -1, busy: false, sent: [], secrets: [], ...(keepUntil !== undefined ? { keepUntil } : {}) });
    return { ok: true, tripleLength };
  }

  /** GET /control/preprocessed: complete, unused preprocessings. */
  preprocessed(sessionId: string): { prepIds: string[] } {
    const state = this.#session(sessionId, false);
    const prepIds = state ? [...state.tasks.values()].filter((t) => t.kind === 'prep' && t.machine.phase === 'done').map((t) => t.tag) : [];
    return { prepIds: prepIds.sort() };
  }

  /** POST /control/runs: checks everything, consumes the preprocessing, creates the program machine. */
  async startRun(request: MpcStartRunRequest): Promise<{ inputs: Array<{ partyId: string; commitment: string }> }> {
    const { sessionId, runTag, programId, prepId } = request;
    const state = this.#session(sessionId, false);
    const prep = state?.tasks.get(prepId);
    if (!state || !prep || prep.kind !== 'prep' || prep.machine.phase !== 'done' || prep.programId !== programId) {
      throw new MpcControlError('unknown_prep', `this node holds no complete preprocessing ${prepId} of program ${programId} for the session`);
    }
    if (state.tasks.has(runTag) || state.dropped.has(runTag)) throw new MpcControlError('tag_in_use', `${runTag} already names a preprocessing or run of this session`);
    // A run consumes its preprocessing, whether it starts or not (a triple is used once).
    state.tasks.delete(prepId);
    this.#remember(state, prepId);
    const triples = (prep.machine as MpcTripleMachine).takeTriples();
    const secrets: ShareVector[] = [triples.u, triples.v, triples.w];
    try {
      const { program, terms, threshold, totalParties } = this.#checkTerms(sessionId, programId, request.terms);
      if (threshold !== prep.threshold || totalParties !== prep.totalParties) {
        throw new MpcControlError('invalid_terms', `the terms' mpcConfig (${threshold} of ${totalParties}) differs from the preprocessing's (${prep.threshold} of ${prep.totalParties})`);
      }
      const sessionKey = await this.#verifySessionKey(sessionId, request.sessionKey);
      const opened = await this.#openBundles(sessionId, program, terms, request.bundles);
      secrets.push(...opened.shares);
      let machine: MpcProgramMachine;
      try {
        const node = createMpcNode({ sessionId, party: this.#o.index, threshold, totalParties });
        machine = createMpcProgramMachine({ node, program, inputs: opened.shares, triples, reveal: 'recipient', opPrefix: runTag });
      } catch (error) {
        fromMpcError(error);
      }
      this.#addTask(sessionId, {
        kind: 'run',
        tag: runTag,
        programId,
        threshold,
        totalParties,
        machine,
        round: -1,
        busy: false,
        sent: [],
        run: { sessionKey, sessionKeyText: toBase64Url(sessionKey), inputs: opened.inputs },
        secrets,
      });
      return { inputs: opened.inputs };
    } catch (error) {
      zero(secrets);
      throw error;
    }
  }

  /**
   * POST /control/check-bundle: the checks a run start makes of the terms and of one party's bundle (the
   * same functions), its share opened and zeroed at once; nothing is kept.
   */
  async checkBundle(request: MpcCheckBundleRequest): Promise<{ ok: true }> {
    const { program, terms } = this.#checkTerms(request.sessionId, request.programId, request.terms);
    const opened = await this.#openBundles(request.sessionId, program, terms, [request.bundle]);
    zero(opened.shares);
    return { ok: true };
  }

  /** The terms are this session's, method mpc with this node's total, and `programId` is the model's program. */
  #checkTerms(sessionId: string, programId: string, rawTerms: unknown): { program: MpcProgram; terms: SessionTerms; threshold: number; totalParties: number } {
    const program = mpcProgramById(programId);
    if (!program) throw new MpcControlError('invalid_terms', `no program ${programId}`);
    const parsed = SessionTerms.safeParse(rawTerms);
    if (!parsed.success) throw new MpcControlError('invalid_terms', `terms: ${parsed.error.issues[0]?.path.join('.') || 'terms'}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const terms = parsed.data;
    if (sessionIdOf(terms) !== sessionId) throw new MpcControlError('invalid_terms', 'the terms are not those of this session (sessionIdOf(terms) differs)');
    const { dataPolicy } = terms;
    if (dataPolicy.aggregationMethod !== 'mpc' || !dataPolicy.mpcConfig) throw new MpcControlError('invalid_terms', `the session's method is ${dataPolicy.aggregationMethod}, not mpc`);
    const { threshold, totalParties } = dataPolicy.mpcConfig;
    if (totalParties !== this.#o.total) throw new MpcControlError('invalid_terms', `the terms' mpcConfig (${threshold} of ${totalParties}) differs from this node's total (${this.#o.total})`);
    if (mpcProgramForModel(terms.modelId)?.id !== programId) throw new MpcControlError('invalid_terms', `program ${programId} is not the mpc program of model ${terms.modelId}`);
    return { program, terms, threshold, totalParties };
  }

  /**
   * Every bundle: its party is a participant (once), the roster key signed it, it names this session and
   * program, nodes 1..n in order, this node's entry is sealed to this node's key and opens to a share that
   * names the same session, party, program, node and length. The opened shares (the caller zeroes them) and
   * the statement inputs (sorted by partyId). On a refusal, what was opened so far is zeroed.
   */
  async #openBundles(
    sessionId: string,
    program: MpcProgram,
    terms: SessionTerms,
    bundles: readonly MpcShareBundle[],
  ): Promise<{ shares: ShareVector[]; inputs: Array<{ partyId: string; commitment: string }> }> {
    const totalParties = this.#o.total;
    const participants = new Map(terms.participants.map((p) => [p.partyId, p]));
    const seen = new Set<string>();
    const shares: ShareVector[] = [];
    const inputs: Array<{ partyId: string; commitment: string }> = [];
    try {
      for (const bundle of bundles) {
        const { body } = bundle;
        const partyId = body.partyId;
        if (seen.has(partyId)) throw new MpcControlError('duplicate_party', `two share bundles of ${partyId}`);
        seen.add(partyId);
        const participant = participants.get(partyId);
        if (!participant) refuseShare(partyId, 'the party is not a participant of the session');
        let signingKey: Uint8Array;
        try {
          signingKey = fromBase64Url(participant.signingKey, 'signingKey');
        } catch (cause) {
          refuseShare(partyId, 'the roster signing key is not base64url', cause);
        }
        if (!verifyMpcShareBundleSignature(bundle, signingKey)) refuseShare(partyId, "the signature does not verify under the party's roster key");
        if (body.sessionId !== sessionId) refuseShare(partyId, 'the bundle is for another session');
        if (body.programId !== program.id) refuseShare(partyId, `the bundle is for program ${body.programId}`);
        if (body.nodes.length !== totalParties || body.nodes.some((n, i) => n.index !== i + 1)) refuseShare(partyId, `the bundle must hold nodes 1..${totalParties} in order`);
        const entry = body.nodes[this.#o.index - 1]!;
        if (entry.publicKey !== this.#ownKey) refuseShare(partyId, `its envelope for node ${this.#o.index} is sealed to another key`);
        shares.push(await this.#openShare(partyId, entry.envelope, { sessionId, programId: program.id, length: program.inputNames.length }));
        inputs.push({ partyId, commitment: mpcShareBundleCommitment(bundle) });
      }
    } catch (error) {
      zero(shares);
      throw error;
    }
    inputs.sort((a, b) => (a.partyId < b.partyId ? -1 : a.partyId > b.partyId ? 1 : 0));
    return { shares, inputs };
  }

  async #verifySessionKey(sessionId: string, sessionKey: MpcStartRunRequest['sessionKey']): Promise<Uint8Array> {
    if (this.#o.enclaveMeasurements.length === 0) {
      throw new MpcControlError('session_key_unverified', 'this node accepts no enclave measurement (start it with --enclave-measurement)');
    }
    let publicKey: Uint8Array;
    try {
      publicKey = fromBase64Url(sessionKey.publicKey, 'sessionKey.publicKey');
      await verifyAttestation(sessionKey.attestation, {
        roots: this.#o.roots,
        expectedMeasurements: this.#o.enclaveMeasurements,
        expectedPublicKey: publicKey,
        expectedUserData: sessionKeyUserData(sessionId),
      });
    } catch (cause) {
      const code = (cause as { code?: unknown }).code;
      throw new MpcControlError('session_key_unverified', `the session key's attestation does not verify${typeof code === 'string' ? ` (${code})` : ''}`, { cause });
    }
    return publicKey;
  }

  async #openShare(partyId: string, envelope: string, expect: { sessionId: string; programId: string; length: number }): Promise<ShareVector> {
    let plaintext: Uint8Array;
    try {
      plaintext = await openEnvelope(this.#o.identity.hpkePrivateKey, fromBase64Url(envelope, 'envelope'), { info: MPC_SHARE_INFO });
    } catch (cause) {
      refuseShare(partyId, `its envelope for node ${this.#o.index} does not open`, cause);
    }
    try {
      let value: unknown;
      try {
        value = parseStrictJson(utf8Decode(plaintext), { maxDepth: 4 });
      } catch (cause) {
        refuseShare(partyId, 'the share plaintext is not JSON', cause);
      }
      const parsed = MpcSharePlaintext.safeParse(value);
      if (!parsed.success) refuseShare(partyId, 'the share plaintext is not an mpc share');
      const share = parsed.data;
      if (share.sessionId !== expect.sessionId || share.partyId !== partyId || share.programId !== expect.programId || share.index !== this.#o.index || share.length !== expect.length) {
        refuseShare(partyId, 'the share plaintext names another session, party, program, node or length');
      }
      try {
        return Object.freeze({ x: this.#o.index, vector: fieldVectorFromBytes(MPC_FIELD, fromBase64Url(share.share, 'share'), share.length) });
      } catch (cause) {
        refuseShare(partyId, `the share is not ${expect.length} field elements`, cause);
      }
    } finally {
      plaintext.fill(0);
    }
  }

  /** POST /control/steps. */
  async step(request: MpcStepRequest): Promise<MpcStepResponse> {
    const { sessionId, tag, round, senders, deadlineMs } = request;
    const state = this.#session(sessionId, false);
    const task = state?.tasks.get(tag);
    if (!state || !task) throw new MpcControlError('unknown_run', `this node has no preprocessing or run ${tag} for the session`);
    if (task.busy || round !== task.round + 1) {
      throw new MpcControlError('round_out_of_order', `round ${round} of ${tag}: this node expects round ${task.round + 1}${task.busy ? ' once the current one is answered' : ''}`);
    }
    task.busy = true;
    try {
      const self = this.#o.index;
      const live = new Set<number>([...senders, self]);
      const incoming = task.sent.flatMap((key) => {
        const [op, type] = key.split('\n') as [string, string];
        return this.#o.mailbox.take(sessionId, op, type, [...live]);
      });
      let outgoing: MpcMessage[];
      try {
        outgoing = task.machine.advance(incoming);
      } catch (error) {
        this.#drop(state, task); // a failed round ends the preprocessing or run
        fromMpcError(error);
      }
      task.round = round;
      task.sent = [...new Set(outgoing.map((m) => `${m.op}\n${m.type}`))];
      // the coordinator waits deadlineMs for this answer: every send is over by half of it
      const delivered = await this.#deliver(outgoing, live, deadlineMs === undefined ? undefined : Date.now() + Math.floor(deadlineMs / 2));
      if (task.machine.phase === 'done' && task.run && !task.output) {
        task.output = await this.#output(sessionId, task);
        zero(task.secrets); // the inputs and triples are no longer needed
        task.secrets.length = 0;
      }
      return { phase: task.machine.phase, delivered, ...(task.output ? { output: task.output } : {}) };
    } finally {
      task.busy = false;
    }
  }

  /**
   * Sends each message to its recipient (openings to every live node); the live nodes every message reached.
   * With a deadline (ms since the epoch) a send not through by then counts as failed (at most one retry).
   */
  async #deliver(outgoing: readonly MpcMessage[], live: ReadonlySet<number>, deadline?: number): Promise<number[]> {
    const self = this.#o.index;
    const failed = new Set<number>();
    const sends: Array<Promise<void>> = [];
    const sendTo = (message: MpcMessage, to: number): void => {
      if (to === self) {
        this.#o.mailbox.record(message);
        return;
      }
      sends.push(
        this.#send(message, to, deadline).catch((error: unknown) => {
          failed.add(to);
          const code = (error as { code?: unknown } | null)?.code;
          process.stderr.write(`${JSON.stringify({ event: 'mpc_send_failed', op: message.op, to, code: typeof code === 'string' ? code : 'error' })}\n`);
        }),
      );
    };
    for (const message of outgoing) {
      if ('to' in message) {
        if (live.has(message.to)) sendTo(message, message.to);
      } else {
        for (const to of live) sendTo(message, to);
      }
    }
    await Promise.all(sends);
    return [...live].filter((x) => !failed.has(x)).sort((a, b) => a - b);
  }

  /**
   * One message to one peer, tried up to 3 times (a first contact attests the peer), or twice and within
   * `deadline` when one is given. A peer's `replay` on a retry means the earlier attempt arrived; on the first
   * attempt it means another message holds the slot, which is a failure.
   */
  async #send(message: MpcMessage, to: number, deadline?: number): Promise<void> {
    const attempts = deadline === undefined ? 3 : 2;
    for (let attempt = 1; ; attempt++) {
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) throw new NodeTransportError('timeout', `node ${to} did not take the message before the step's deadline`);
      try {
        const timeoutMs = Math.min(left ?? SEND_ATTEMPT_TIMEOUT_MS, SEND_ATTEMPT_TIMEOUT_MS);
        return await within(this.#o.client.send(message, to, { timeoutMs }), left);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (code === 'replay' && attempt > 1) return;
        if (attempt >= attempts || (code !== 'peer_unavailable' && code !== 'timeout')) throw error;
        await sleep(Math.min(100 * attempt, Math.max(0, (deadline ?? Infinity) - Date.now())));
      }
    }
  }

  async #output(sessionId: string, task: Task): Promise<StepOutput> {
    const run = task.run!;
    const share = (task.machine as MpcProgramMachine).outputShare();
    const plaintext = canonicalBytes({
      type: MPC_OUTPUT_SHARE_TYPE,
      sessionId,
      runTag: task.tag,
      programId: task.programId,
      index: this.#o.index,
      length: share.vector.length,
      share: toBase64Url(fieldVectorToBytes(share.vector)),
    });
    const sealed = await sealEnvelope(run.sessionKey, plaintext, { info: MPC_OUTPUT_INFO });
    plaintext.fill(0);
    const statement: MpcNodeOutputStatement = {
      type: MPC_NODE_OUTPUT_TYPE,
      sessionId,
      runTag: task.tag,
      programId: task.programId,
      index: this.#o.index,
      inputs: run.inputs,
      sessionKey: run.sessionKeyText,
      outputHash: `sha256:${sha256Hex(sealed)}`,
    };
    return { statement, signature: signMpcNodeOutputStatement(this.#o.identity.signingPrivateKey, statement), sealed: toBase64Url(sealed) };
  }
}
