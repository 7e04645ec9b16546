/**
 * The host's part of the `mpc` method (docs/mpc.md, "Host (server)"): the session's compute nodes as
 * parties see them (freshly attested), a party's share bundle filed as its submission, the background
 * preprocessing at session creation, the run's mpc phase (the nodes run the program on the included
 * bundles; their sealed outputs go to the enclave), and forgetting a session on the nodes.
 *
 * The host holds ciphertexts only: bundles are sealed to the nodes, outputs to the enclave's session key.
 * Audit entries name nodes, prep ids and run tags, never values.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { fromBase64Url, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import {
  MpcShareBundle,
  TenzroError,
  mpcProgramForModel,
  mpcShareBundleCommitment,
  type MpcNodesResponse,
  type MpcRunInputs,
  type SessionTerms,
  type SubmissionResponse,
} from '@tenzro/protocol';
import {
  MpcCoordinatorError,
  checkBundleOnNodes,
  fetchNodeAttestations,
  forgetSession,
  listPreprocessed,
  preprocessAcrossNodes,
  runMpcAcrossNodes,
  type CoordinatedNode,
} from '@tenzro/mpc-node';
import { nowIso, type Context } from '../context.js';
import type { RunsTable, SessionsTable, SubmissionsTable } from '../db/schema.js';
import { fromZodError } from '../http/errors.js';
import { insertPrepUsed, usedPreps } from '../repositories/mpc.js';
import { actingParty, denyAndAudit, rosterRole, type Actor } from './access.js';
import { loadCurrent } from './load.js';
import { dataSchemasOf } from './models.js';
import { precheckSubmission, recordSubmission, type SubmissionGate, type SubmissionRules } from './submissions.js';

/** A share bundle is small (one envelope of ~136 field elements per node): bounded before it is parsed. */
export const MPC_SHARES_MAX_BYTES = 4 * 1024 * 1024;

export function isMpc(terms: SessionTerms): boolean {
  return terms.dataPolicy.aggregationMethod === 'mpc';
}

function mpcConfigOf(terms: SessionTerms): { threshold: number; totalParties: number } {
  const config = terms.dataPolicy.mpcConfig;
  if (!config) throw new TenzroError('internal_error', 'the mpc session has no mpcConfig');
  return { threshold: config.threshold, totalParties: config.totalParties };
}

function programIdOf(terms: SessionTerms): string {
  const program = mpcProgramForModel(terms.modelId);
  if (!program) throw new TenzroError('internal_error', `model ${terms.modelId} has no mpc program`);
  return program.id;
}

export function requireMpc(terms: SessionTerms, sessionId: string): void {
  if (!isMpc(terms)) {
    throw new TenzroError('not_mpc_session', `session ${sessionId} uses ${terms.dataPolicy.aggregationMethod}, not mpc`);
  }
}

/** Maps a coordinator refusal to the caller's error (both codes are retryable: 503 / 502). */
export function coordinatorFailure(error: unknown): TenzroError {
  if (error instanceof TenzroError) return error;
  if (error instanceof MpcCoordinatorError) return new TenzroError(error.code, error.message, { cause: error });
  return new TenzroError('mpc_nodes_unavailable', 'the compute nodes could not be reached', { cause: error });
}

/** The configured per-node timeout (TENZRO_MPC_STEP_TIMEOUT_MS), under the coordinator's option name. */
function timeouts<K extends string>(ctx: Context, name: K): Partial<Record<K, number>> {
  const ms = ctx.config.mpcStepTimeoutMs;
  return ms === undefined ? {} : ({ [name]: ms } as Partial<Record<K, number>>);
}

// ---------------------------------------------------------------------------------------------------------
// GET /v1/sessions/:id/mpc/nodes

/** The nonce a party asks the nodes to bind: base64url of 16–64 bytes (required). */
export function parseNonce(nonce: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(nonce, 'nonce');
  } catch {
    throw new TenzroError('invalid_request', 'nonce must be base64url', { details: [{ field: 'nonce', message: 'not base64url' }] });
  }
  if (bytes.length < 16 || bytes.length > 64) {
    throw new TenzroError('invalid_request', 'nonce must be 16 to 64 bytes', { details: [{ field: 'nonce', message: 'must be 16 to 64 bytes' }] });
  }
  return bytes;
}

/** The session's compute nodes, every one freshly attested (nonce bound); fewer than all → 503. */
export async function getMpcNodes(ctx: Context, actor: Actor, sessionId: string, nonce: string): Promise<MpcNodesResponse> {
  const { terms } = await loadCurrent(ctx, actor, sessionId);
  requireMpc(terms, sessionId);
  const partyId = actingParty(actor, terms);
  if (partyId === undefined || rosterRole(terms, partyId) === undefined) {
    throw await denyAndAudit(ctx.db, actor, sessionId, partyId, 'list the compute nodes', nowIso(ctx), 'only a party on the roster of this session may list its compute nodes');
  }
  const nonceBytes = parseNonce(nonce);
  const { threshold, totalParties } = mpcConfigOf(terms);
  let attested: Awaited<ReturnType<typeof fetchNodeAttestations>>;
  try {
    const nodes = await ctx.mpc.nodes(totalParties);
    attested = await fetchNodeAttestations([...nodes], { nonce: nonceBytes, ...timeouts(ctx, 'timeoutMs') });
  } catch (error) {
    throw coordinatorFailure(error);
  }
  const answered = [...attested].sort((a, b) => a.index - b.index);
  if (answered.length < totalParties) {
    throw new TenzroError(
      'mpc_nodes_unavailable',
      `only ${answered.length} of ${totalParties} compute nodes answered; a contribution needs every node's attestation`,
    );
  }
  return {
    sessionId,
    threshold,
    totalParties,
    programId: programIdOf(terms),
    nodes: answered.map((n) => ({ index: n.index, attestation: n.attestation, statement: n.statement })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// POST /v1/sessions/:id/mpc/shares

/** The share-bundle rules of the submission pipeline: an mpc session and a data schema the model takes. */
export const mpcShareRules: SubmissionRules = {
  action: 'contribute shares',
  async before({ terms, row }, _partyId, meta) {
    requireMpc(terms, row.id);
    if (!dataSchemasOf(terms.modelId).includes(meta.dataSchema)) {
      throw new TenzroError('unknown_schema', `model ${terms.modelId} does not take data schema ${JSON.stringify(meta.dataSchema)}`);
    }
  },
};

/** Reads at most `maxBytes` of `source` (payload_too_large beyond), aborting when it idles. */
async function readBounded(source: Readable, maxBytes: number, idleTimeoutMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => source.destroy(new TenzroError('invalid_request', 'the upload stalled and was aborted')), idleTimeoutMs);
  };
  try {
    arm();
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += bytes.length;
      if (size > maxBytes) {
        source.destroy();
        throw new TenzroError('payload_too_large', `a share bundle is at most ${maxBytes} bytes`);
      }
      chunks.push(bytes);
      arm();
    }
  } catch (error) {
    if (error instanceof TenzroError) throw error;
    throw new TenzroError('invalid_request', 'the upload was interrupted', { cause: error });
  } finally {
    clearTimeout(idle);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A party's share bundle. The refusals that need no upload come first (role, status, method, a run in
 * progress, an earlier submission: `precheckSubmission`); then, holding an upload slot, the bundle is
 * read (bounded), parsed, checked to name this session and the acting party and a data schema the model
 * takes, checked by the compute nodes (`checkBundleOnNodes`: a node that refuses it → 422
 * mpc_share_refused naming the node and its code; a node that does not answer is skipped, it checks the
 * bundle at run time) and stored. Then it is filed through the submission pipeline as the party's
 * submission (commitment = mpcShareBundleCommitment, scheme plain); the enclave checks the signature.
 */
export async function submitMpcShares(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  contentLength: number | undefined,
  body: Readable,
): Promise<SubmissionResponse> {
  const gate = await precheckSubmission(ctx, actor, sessionId, mpcShareRules.action, async ({ terms }) => requireMpc(terms, sessionId));
  const limit = Math.min(ctx.config.maxUploadBytes, MPC_SHARES_MAX_BYTES);
  if (contentLength !== undefined && contentLength > limit) {
    throw new TenzroError('payload_too_large', `the upload exceeds the limit of ${limit} bytes`);
  }
  const { meta, blob } = await ctx.uploads.run(async () => {
    const bundle = parseBundle(await readBounded(body, limit, ctx.config.uploadIdleTimeoutMs), sessionId, gate.partyId);
    const meta = {
      dataSchema: bundle.body.dataSchema,
      commitment: mpcShareBundleCommitment(bundle.parsed),
      commitmentScheme: 'plain' as const,
      contentLength: bundle.bytes.length,
    };
    await mpcShareRules.before(gate.loaded, gate.partyId, meta);
    await checkOnNodes(ctx, gate, bundle.parsed);
    const blob = await ctx.blobs.write(Readable.from([bundle.bytes]), { maxBytes: limit, idleTimeoutMs: ctx.config.uploadIdleTimeoutMs });
    return { meta, blob };
  });
  return recordSubmission(ctx, actor, gate, meta, blob, mpcShareRules);
}

/** The uploaded bytes as a share bundle of this session and party (invalid_json / 400 / 422). */
function parseBundle(bytes: Buffer, sessionId: string, partyId: string): { parsed: MpcShareBundle; body: MpcShareBundle['body']; bytes: Buffer } {
  if (bytes.length === 0) throw new TenzroError('invalid_request', 'the upload is empty');
  let json: unknown;
  try {
    json = parseStrictJson(utf8Decode(bytes), { maxDepth: 16 });
  } catch (error) {
    throw new TenzroError('invalid_json', 'the share bundle is not valid JSON', { cause: error });
  }
  const parsed = MpcShareBundle.safeParse(json);
  if (!parsed.success) throw fromZodError(parsed.error, 'body');
  const bundle = parsed.data;
  if (bundle.body.sessionId !== sessionId) {
    throw new TenzroError('submission_rejected', `the share bundle names session ${bundle.body.sessionId}, not ${sessionId}`, {
      details: [{ field: 'body.sessionId', message: 'not this session' }],
    });
  }
  if (bundle.body.partyId !== partyId) {
    throw new TenzroError('submission_rejected', `the share bundle is ${bundle.body.partyId}'s; the acting party is ${partyId}`, {
      details: [{ field: 'body.partyId', message: 'not the acting party' }],
    });
  }
  return { parsed: bundle, body: bundle.body, bytes };
}

/**
 * Each compute node opens and checks its envelope of the bundle (nothing is kept). A refusal → 422
 * mpc_share_refused naming the node and its code (a bundle one node cannot open would fail every run);
 * nodes that do not answer (or no fleet at all) are logged and skipped: they check at run time.
 */
async function checkOnNodes(ctx: Context, gate: SubmissionGate, bundle: MpcShareBundle): Promise<void> {
  const { terms, row } = gate.loaded;
  const sessionId = row.id;
  const { totalParties } = mpcConfigOf(terms);
  try {
    const nodes = await ctx.mpc.nodes(totalParties);
    const { unreachable } = await checkBundleOnNodes([...nodes], { sessionId, programId: programIdOf(terms), terms, bundle }, timeouts(ctx, 'timeoutMs'));
    if (unreachable.length > 0) {
      ctx.logger.warn({ sessionId, partyId: gate.partyId, unreachable: [...unreachable] }, 'compute nodes did not answer the share check; they check the bundle at run time');
    }
  } catch (error) {
    if (error instanceof MpcCoordinatorError && error.code === 'mpc_share_refused') {
      const node = error.node ?? 0;
      const code = error.nodeCode ?? 'refused';
      ctx.logger.warn({ sessionId, partyId: gate.partyId, node, code }, 'a compute node refused a share bundle');
      throw new TenzroError('mpc_share_refused', `compute node ${node} refused the share bundle (${code})`);
    }
    const code = (error as { code?: unknown } | null)?.code;
    ctx.logger.warn({ sessionId, partyId: gate.partyId, code: typeof code === 'string' ? code : 'error' }, 'the compute nodes could not check the share bundle; they check it at run time');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Preprocessing

function newPrepId(): string {
  return `prep-${randomBytes(6).toString('hex')}`;
}

/** Preprocessings started in the background, by session (a run waits for its session's before choosing). */
const pendingPreprocessing = new WeakMap<Context, Map<string, Promise<void>>>();

function pendingOf(ctx: Context): Map<string, Promise<void>> {
  let map = pendingPreprocessing.get(ctx);
  if (!map) pendingPreprocessing.set(ctx, (map = new Map()));
  return map;
}

/** Awaits every background preprocessing of this context (tests, shutdown). */
export async function preprocessingSettled(ctx: Context): Promise<void> {
  await Promise.all([...pendingOf(ctx).values()]);
}

/**
 * At mpc session creation: starts the session's fleet (development) and one preprocessing in the
 * background. A failure is logged (code only) and is not fatal: a run preprocesses when it finds none.
 */
export function startPreprocessing(ctx: Context, sessionId: string, terms: SessionTerms): void {
  if (!isMpc(terms)) return;
  const pending = pendingOf(ctx);
  const { threshold, totalParties } = mpcConfigOf(terms);
  const prepId = newPrepId();
  const task = (async () => {
    try {
      await ctx.mpc.restartExited(totalParties); // as before a run: a dev node that exited comes back first
      const nodes = await ctx.mpc.nodes(totalParties);
      await preprocessAcrossNodes({
        nodes: [...nodes],
        sessionId,
        prepId,
        programId: programIdOf(terms),
        threshold,
        totalParties,
        expiresAt: terms.expiresAt,
        ...timeouts(ctx, 'stepTimeoutMs'),
      });
      ctx.logger.info({ sessionId, prepId }, 'mpc preprocessing done');
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      ctx.logger.warn({ sessionId, prepId, code: typeof code === 'string' ? code : 'error' }, 'mpc preprocessing at session creation failed; a run preprocesses again');
    }
  })();
  pending.set(sessionId, task);
  void task.finally(() => {
    if (pending.get(sessionId) === task) pending.delete(sessionId);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The run's mpc phase

/** What the mpc phase records in the run's audit entries (never values). */
export interface MpcPhaseAudit {
  runTag: string;
  prepId?: string;
  /** Nodes whose outputs went to the enclave. */
  nodes?: number[];
  /** Nodes that were down (did not answer, or failed a round). */
  down?: number[];
  rounds?: number;
  /** True when the run had to preprocess (no preprocessing held by ≥ t live nodes). */
  preprocessed?: boolean;
  /** The node that refused a step (mpc_run_failed) and its code. */
  refusedBy?: { node: number; code: string };
}

export interface MpcPhaseResult {
  mpc: MpcRunInputs;
  audit: MpcPhaseAudit;
}

async function readBundle(ctx: Context, submission: SubmissionsTable): Promise<MpcShareBundle> {
  const bytes = await readFile(ctx.blobs.path(submission.blob_hash));
  const parsed = MpcShareBundle.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) throw new TenzroError('internal_error', `the stored share bundle of ${submission.party_id} does not parse`);
  return parsed.data;
}

/**
 * Before the enclave call of an mpc run: a fresh session-key attestation, the included parties' bundles, a
 * preprocessing held by ≥ t live nodes (else one made now), the nodes' run (run tag `<runId>.<attempt>`).
 * A coordinator refusal becomes the run's error (mpc_nodes_unavailable / mpc_run_failed, retryable);
 * `audit` is filled as far as the phase got.
 */
export async function mpcPhase(
  ctx: Context,
  run: RunsTable,
  attempt: number,
  session: SessionsTable,
  terms: SessionTerms,
  submissions: readonly SubmissionsTable[],
  audit: MpcPhaseAudit,
): Promise<MpcRunInputs> {
  const sessionId = session.id;
  const { threshold, totalParties } = mpcConfigOf(terms);
  const programId = programIdOf(terms);
  if (session.sealed_key === null) throw new TenzroError('data_deleted', 'the session key has been destroyed');

  const sessionKey = await ctx.enclave.call('attestSessionKey', { sessionId, sealedKey: session.sealed_key, terms });
  const bundles = await Promise.all(submissions.map((s) => readBundle(ctx, s)));

  try {
    await ctx.mpc.restartExited(totalParties); // never throws: a node that cannot restart is down for this run
    const nodes: CoordinatedNode[] = [...(await ctx.mpc.nodes(totalParties))];
    await pendingOf(ctx).get(sessionId); // a preprocessing still running since creation
    const held = await listPreprocessed(nodes, sessionId, timeouts(ctx, 'timeoutMs'));
    // A prep handed to an earlier run is spent even where a node that sat that run out still lists it.
    const spent = await usedPreps(ctx.db, sessionId);
    const usable = [...held.entries()]
      .filter(([prepId, indices]) => !spent.has(prepId) && indices.length >= threshold)
      .map(([prepId]) => prepId)
      .sort();
    let prepId = usable[0];
    if (prepId === undefined) {
      prepId = newPrepId();
      audit.preprocessed = true;
      await preprocessAcrossNodes({ nodes, sessionId, prepId, programId, threshold, totalParties, expiresAt: terms.expiresAt, ...timeouts(ctx, 'stepTimeoutMs') });
    }
    // Recorded before the run starts (durably): whatever becomes of the run, its triples are never used again.
    try {
      await insertPrepUsed(ctx.db, sessionId, prepId, nowIso(ctx));
    } catch (error) {
      if (!ctx.dialect.isUniqueViolation(error)) throw error;
      throw new TenzroError('mpc_run_failed', `preprocessing ${prepId} was taken by another run; run again`, { cause: error });
    }
    audit.prepId = prepId;
    const result = await runMpcAcrossNodes({
      nodes,
      sessionId,
      runTag: audit.runTag,
      programId,
      terms,
      prepId,
      sessionKey: { publicKey: sessionKey.publicKey, attestation: sessionKey.attestation },
      bundles,
      threshold,
      totalParties,
      ...timeouts(ctx, 'stepTimeoutMs'),
    });
    audit.nodes = result.outputs.map((o) => o.index).sort((a, b) => a - b);
    audit.down = [...result.down].sort((a, b) => a - b);
    audit.rounds = result.rounds;
    ctx.logger.info({ runId: run.id, attempt, nodes: audit.nodes, down: audit.down, rounds: audit.rounds }, 'mpc phase done');
    return { runTag: audit.runTag, programId, outputs: result.outputs };
  } catch (error) {
    if (error instanceof MpcCoordinatorError) {
      if (error.down) audit.down = [...error.down];
      if (error.node !== undefined) audit.refusedBy = { node: error.node, code: error.nodeCode ?? 'refused' };
    }
    throw coordinatorFailure(error);
  }
}

/** Runs tag of a run attempt: `<runId>.<attempt>` (a retried run never reuses an op id). */
export function runTagOf(runId: string, attempt: number): string {
  return `${runId}.${attempt}`;
}

/** Has the nodes forget the session (after a completed run, a deletion or an expiry); best effort. */
export async function forgetMpcSession(ctx: Context, sessionId: string, terms: SessionTerms): Promise<void> {
  if (!isMpc(terms)) return;
  const { totalParties } = mpcConfigOf(terms);
  try {
    const nodes = await ctx.mpc.started(totalParties);
    if (nodes) await forgetSession([...nodes], sessionId);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    ctx.logger.warn({ sessionId, code: typeof code === 'string' ? code : 'error' }, 'the compute nodes could not forget the session');
  }
}
