// A compute node's preprocessings and runs (docs/mpc.md, "Node control API"), in memory: a restarted node
// has none (it keeps its keys). The host's coordinator drives them in lock-step rounds:
//   preprocess(req)   a createMpcTripleMachine under op `<prepId>:triples` (Beaver triples, GRR: 2t − 1 nodes)
//   startRun(req)     every check of the contract, then the prep's triples (consumed) and a program machine
//                     (reveal 'recipient', op prefix = the run tag)
//   step(req)         one round: this node's mailbox messages of the ops it sent in the previous round, from
//                     `senders` only → advance → send (to each `to`, openings to senders ∪ self); done: the
//                     output share sealed to the enclave's session key and a signed statement
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
  type MpcNodeOutputStatement,
  type MpcPreprocessRequest,
  type MpcProgramMachine,
  type MpcStartRunRequest,
  type MpcStepRequest,
  type MpcStepResponse,
  type MpcTripleMachine,
} from '@tenzro/protocol';
import type { NodeClient } from './client.js';
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
const MAX_TASKS_PER_SESSION = 64;
const MAX_SESSIONS = 1024;

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
}

interface SessionState {
  readonly tasks: Map<string, Task>;
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

  /** Drops sessions unused for the TTL (called on every control request). */
  sweep(): void {
    const cutoff = this.#now() - this.#ttl;
    for (const [sessionId, state] of this.#sessions) if (state.touchedAt < cutoff) this.forget(sessionId);
  }

  /** Forgets a session's preprocessings, runs and received messages. */
  forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
    this.#o.mailbox.closeSession(sessionId);
  }

  #session(sessionId: string, create: boolean): SessionState | undefined {
    this.sweep();
    let state = this.#sessions.get(sessionId);
    if (!state && create) {
      if (this.#sessions.size >= MAX_SESSIONS) throw new MpcControlError('too_many_tasks', `this node holds ${MAX_SESSIONS} sessions already`);
      state = { tasks: new Map(), touchedAt: this.#now() };
      this.#sessions.set(sessionId, state);
      this.#o.mailbox.openSession(sessionId);
    }
    if (state) state.touchedAt = this.#now();
    return state;
  }

  #addTask(sessionId: string, task: Task): void {
    const state = this.#session(sessionId, true)!;
    if (state.tasks.has(task.tag)) throw new MpcControlError('tag_in_use', `${task.tag} already names a preprocessing or run of this session`);
    if (state.tasks.size >= MAX_TASKS_PER_SESSION) throw new MpcControlError('too_many_tasks', `this session holds ${MAX_TASKS_PER_SESSION} preprocessings and runs already`);
    state.tasks.set(task.tag, task);
  }

  /** POST /control/preprocess. */
  preprocess(request: MpcPreprocessRequest): { ok: true; tripleLength: number } {
    const { sessionId, prepId, programId, threshold, totalParties } = request;
    if (totalParties !== this.#o.total) throw new MpcControlError('invalid_terms', `totalParties ${totalParties} is not this node's total (${this.#o.total})`);
    const program = mpcProgramById(programId);
    if (!program) throw new MpcControlError('invalid_terms', `no program ${programId}`);
    const existing = this.#sessions.get(sessionId)?.tasks.get(prepId);
    if (existing) throw new MpcControlError('tag_in_use', `${prepId} already names a preprocessing or run of this session`);
    let machine: MpcTripleMachine;
    let tripleLength: number;
    try {
      tripleLength = mpcProgramTripleLength(program);
      const node = createMpcNode({ sessionId, party: this.#o.index, threshold, totalParties });
      machine = createMpcTripleMachine({ node, op: `${prepId}:triples`, length: tripleLength });
    } catch (error) {
      fromMpcError(error);
    }
    this.#addTask(sessionId, { kind: 'prep', tag: prepId, programId, threshold, totalParties, machine, round: -1, busy: false, sent: [] });
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
    if (state.tasks.has(runTag)) throw new MpcControlError('tag_in_use', `${runTag} already names a preprocessing or run of this session`);
    // A run consumes its preprocessing, whether it starts or not (a triple is used once).
    state.tasks.delete(prepId);
    const triples = (prep.machine as MpcTripleMachine).takeTriples();

    const program = mpcProgramById(programId);
    if (!program) throw new MpcControlError('invalid_terms', `no program ${programId}`);
    const parsed = SessionTerms.safeParse(request.terms);
    if (!parsed.success) throw new MpcControlError('invalid_terms', `terms: ${parsed.error.issues[0]?.path.join('.') || 'terms'}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const terms = parsed.data;
    if (sessionIdOf(terms) !== sessionId) throw new MpcControlError('invalid_terms', 'the terms are not those of this session (sessionIdOf(terms) differs)');
    const { dataPolicy } = terms;
    if (dataPolicy.aggregationMethod !== 'mpc' || !dataPolicy.mpcConfig) throw new MpcControlError('invalid_terms', `the session's method is ${dataPolicy.aggregationMethod}, not mpc`);
    const { threshold, totalParties } = dataPolicy.mpcConfig;
    if (threshold !== prep.threshold || totalParties !== prep.totalParties || totalParties !== this.#o.total) {
      throw new MpcControlError('invalid_terms', `the terms' mpcConfig (${threshold} of ${totalParties}) differs from the preprocessing's (${prep.threshold} of ${prep.totalParties}) or this node's total (${this.#o.total})`);
    }
    if (mpcProgramForModel(terms.modelId)?.id !== programId) throw new MpcControlError('invalid_terms', `program ${programId} is not the mpc program of model ${terms.modelId}`);

    const sessionKey = await this.#verifySessionKey(sessionId, request.sessionKey);
    const participants = new Map(terms.participants.map((p) => [p.partyId, p]));
    const seen = new Set<string>();
    const inputs: ShareVector[] = [];
    const statementInputs: Array<{ partyId: string; commitment: string }> = [];
    for (const bundle of request.bundles) {
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
      if (body.programId !== programId) refuseShare(partyId, `the bundle is for program ${body.programId}`);
      if (body.nodes.length !== totalParties || body.nodes.some((n, i) => n.index !== i + 1)) refuseShare(partyId, `the bundle must hold nodes 1..${totalParties} in order`);
      const entry = body.nodes[this.#o.index - 1]!;
      if (entry.publicKey !== this.#ownKey) refuseShare(partyId, `its envelope for node ${this.#o.index} is sealed to another key`);
      inputs.push(await this.#openShare(partyId, entry.envelope, { sessionId, programId, length: program.inputNames.length }));
      statementInputs.push({ partyId, commitment: mpcShareBundleCommitment(bundle) });
    }
    statementInputs.sort((a, b) => (a.partyId < b.partyId ? -1 : a.partyId > b.partyId ? 1 : 0));

    let machine: MpcProgramMachine;
    try {
      const node = createMpcNode({ sessionId, party: this.#o.index, threshold, totalParties });
      machine = createMpcProgramMachine({ node, program, inputs, triples, reveal: 'recipient', opPrefix: runTag });
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
      run: { sessionKey, sessionKeyText: toBase64Url(sessionKey), inputs: statementInputs },
    });
    return { inputs: statementInputs };
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
    const { sessionId, tag, round, senders } = request;
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
        state.tasks.delete(tag); // a failed round ends the preprocessing or run
        fromMpcError(error);
      }
      task.round = round;
      task.sent = [...new Set(outgoing.map((m) => `${m.op}\n${m.type}`))];
      const delivered = await this.#deliver(outgoing, live);
      if (task.machine.phase === 'done' && task.run && !task.output) task.output = await this.#output(sessionId, task);
      return { phase: task.machine.phase, delivered, ...(task.output ? { output: task.output } : {}) };
    } finally {
      task.busy = false;
    }
  }

  /** Sends each message to its recipient (openings to every live node); the live nodes every message reached. */
  async #deliver(outgoing: readonly MpcMessage[], live: ReadonlySet<number>): Promise<number[]> {
    const self = this.#o.index;
    const failed = new Set<number>();
    const sends: Array<Promise<void>> = [];
    const sendTo = (message: MpcMessage, to: number): void => {
      if (to === self) {
        this.#o.mailbox.record(message);
        return;
      }
      sends.push(
        this.#send(message, to).catch((error: unknown) => {
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

  /** One message to one peer, tried up to 3 times (a first contact attests the peer); 'replay' = it arrived before. */
  async #send(message: MpcMessage, to: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#o.client.send(message, to);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (code === 'replay') return;
        if (attempt >= 3 || (code !== 'peer_unavailable' && code !== 'timeout')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
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
