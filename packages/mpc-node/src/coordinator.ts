// The host's side of the node control API (docs/mpc.md, "Coordinator"): lock-step rounds over the compute
// nodes. Round r: POST /control/steps on every live node in parallel, `senders` = the nodes that finished
// round r − 1 (every live node at round 0), `deadlineMs` = the call's timeout (a node bounds its sends to
// half of it); a node whose call fails, times out or answers unknown_run (it restarted) is down for the rest
// of the preprocessing or run, and so is a node the others' messages did not reach (survivorsOfRound). A
// preprocessing needs 2t − 1 live nodes throughout (GRR; t when the program does not multiply), a run t
// (Beaver, triples made beforehand); below that the call fails with MpcCoordinatorError
// mpc_nodes_unavailable (retryable). A node's refusal (4xx with a code) fails it with mpc_run_failed, naming
// the node and its code. Only nodes holding the run's
// preprocessing take part; every other node is told to drop it (a prep is used once), and every node drops
// the run once it is over, failed or not (DELETE /control/runs: its opened input shares are zeroed).
import { randomBytes, toBase64Url } from '@tenzro/crypto';
import { MpcNodeOutput, MpcNodeStatement, MpcPreprocessedResponse, MpcStepResponse, mpcProgramById, mpcProgramTripleLength, type MpcShareBundle } from '@tenzro/protocol';

export interface CoordinatedNode {
  index: number;
  url: string;
  controlToken: string;
}

export type MpcCoordinatorErrorCode = 'mpc_nodes_unavailable' | 'mpc_run_failed' | 'mpc_share_refused';

export class MpcCoordinatorError extends Error {
  readonly code: MpcCoordinatorErrorCode;
  readonly retryable: boolean;
  /** The nodes down when it failed (mpc_nodes_unavailable), if known. */
  readonly down?: number[];
  /** The refusing node and its code (mpc_run_failed, mpc_share_refused). */
  readonly node?: number;
  readonly nodeCode?: string;
  constructor(code: MpcCoordinatorErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean; down?: number[]; node?: number; nodeCode?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MpcCoordinatorError';
    this.code = code;
    this.retryable = options?.retryable ?? true;
    if (options?.down) this.down = options.down;
    if (options?.node !== undefined) this.node = options.node;
    if (options?.nodeCode !== undefined) this.nodeCode = options.nodeCode;
  }
}

const DEFAULT_STEP_TIMEOUT_MS = 30_000;
const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
/** DELETE calls after a run (best effort) wait at most this long for a node. */
const CLEANUP_TIMEOUT_MS = 3_000;
/** No program needs more rounds; a node that never finishes is a bug, not a wait. */
const MAX_ROUNDS = 10_000;

/** A node's refusal: HTTP 4xx with `{ code, message }`. */
class NodeRefusal extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Unreachable, timed out, 5xx, or an answer that does not parse: the node is down. */
class NodeDown extends Error {}

async function call(node: CoordinatedNode, method: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${node.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${node.controlToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new NodeDown(`node ${node.index} did not answer`, { cause });
  }
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw new NodeDown(`node ${node.index}'s answer broke off`, { cause });
  }
  if (response.status >= 400 && response.status < 500) {
    let refusal: { code?: unknown; message?: unknown } = {};
    try {
      refusal = JSON.parse(text) as typeof refusal;
    } catch {
      // not JSON
    }
    const code = typeof refusal.code === 'string' ? refusal.code : `http_${response.status}`;
    throw new NodeRefusal(code, response.status, typeof refusal.message === 'string' ? refusal.message : `HTTP ${response.status}`);
  }
  if (!response.ok) throw new NodeDown(`node ${node.index} failed (HTTP ${response.status})`);
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new NodeDown(`node ${node.index} answered something that is not JSON`, { cause });
  }
}

function refused(node: CoordinatedNode, refusal: NodeRefusal, what: string): MpcCoordinatorError {
  return new MpcCoordinatorError('mpc_run_failed', `compute node ${node.index} refused ${what}: [${refusal.code}] ${refusal.message}`, {
    cause: refusal,
    node: node.index,
    nodeCode: refusal.code,
  });
}

function unavailable(live: number, total: number, why: string, down: number[]): MpcCoordinatorError {
  return new MpcCoordinatorError(
    'mpc_nodes_unavailable',
    `only ${live} of ${total} compute nodes answered; ${why}; start the missing nodes and run again`,
    { retryable: true, down },
  );
}

function checkNodes(nodes: readonly CoordinatedNode[]): void {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new TypeError('nodes must be a non-empty array of { index, url, controlToken }');
  const seen = new Set<number>();
  for (const node of nodes) {
    if (!Number.isInteger(node?.index) || node.index < 1) throw new TypeError('nodes[].index must be a positive integer');
    if (typeof node.url !== 'string' || typeof node.controlToken !== 'string') throw new TypeError('nodes[].url and nodes[].controlToken must be strings');
    if (seen.has(node.index)) throw new TypeError(`nodes lists index ${node.index} twice`);
    seen.add(node.index);
  }
}

/** GET /attestation of every node (nonce bound when given); unreachable nodes are left out. Not verified here. */
export async function fetchNodeAttestations(
  nodes: readonly CoordinatedNode[],
  options: { nonce?: Uint8Array; timeoutMs?: number } = {},
): Promise<Array<{ index: number; attestation: string; statement: MpcNodeStatement }>> {
  checkNodes(nodes);
  const query = options.nonce ? `?nonce=${toBase64Url(options.nonce)}` : '';
  const answers = await Promise.all(
    nodes.map(async (node) => {
      try {
        const response = await fetch(`${node.url}/attestation${query}`, { signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS) });
        if (!response.ok) return undefined;
        const body = (await response.json()) as { attestation?: unknown; statement?: unknown };
        const statement = MpcNodeStatement.safeParse(body.statement);
        if (typeof body.attestation !== 'string' || !statement.success) return undefined;
        return { index: node.index, attestation: body.attestation, statement: statement.data };
      } catch {
        return undefined;
      }
    }),
  );
  return answers.filter((a): a is NonNullable<typeof a> => a !== undefined).sort((a, b) => a.index - b.index);
}

/** prepId → the (reachable) nodes holding it complete and unused. */
export async function listPreprocessed(nodes: readonly CoordinatedNode[], sessionId: string, options: { timeoutMs?: number } = {}): Promise<Map<string, number[]>> {
  checkNodes(nodes);
  const held = new Map<string, number[]>();
  await Promise.all(
    nodes.map(async (node) => {
      try {
        const body = MpcPreprocessedResponse.parse(await call(node, 'GET', `/control/preprocessed?sessionId=${encodeURIComponent(sessionId)}`, undefined, options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS));
        for (const prepId of body.prepIds) held.set(prepId, [...(held.get(prepId) ?? []), node.index]);
      } catch {
        // unreachable or refusing: holds nothing usable
      }
    }),
  );
  for (const indices of held.values()) indices.sort((a, b) => a - b);
  return held;
}

interface LockStepResult {
  live: CoordinatedNode[];
  rounds: number;
  outputs: Map<number, NonNullable<MpcStepResponse['output']>>;
}

/**
 * The nodes that stay live after a round, given what each answering node's messages reached: every
 * survivor's messages reached every other survivor (so all of them take the same senders' messages next
 * round). A receiver missing from the delivered lists of a majority of the other nodes is the one down (its
 * mailbox is broken, not their sending); then a sender that failed to reach a majority of the remaining
 * receivers; any single failure left drops the node in most of them (the receiver on a tie).
 */
export function survivorsOfRound(answers: ReadonlyArray<{ index: number; delivered: readonly number[] }>): number[] {
  const reached = new Map(answers.map((a) => [a.index, new Set(a.delivered)]));
  const live = new Set(answers.map((a) => a.index));
  const misses = (from: number, to: number) => from !== to && !reached.get(from)!.has(to);
  const majorityOf = (count: number, of: number) => of > 0 && count * 2 > of;
  const brokenReceivers = [...live].filter((r) => majorityOf([...live].filter((s) => misses(s, r)).length, live.size - 1));
  for (const r of brokenReceivers) live.delete(r);
  const failingSenders = [...live].filter((s) => majorityOf([...live].filter((r) => misses(s, r)).length, live.size - 1));
  for (const s of failingSenders) live.delete(s);
  for (;;) {
    const score = new Map<number, { out: number; in: number }>();
    for (const from of live) {
      for (const to of live) {
        if (!misses(from, to)) continue;
        const a = score.get(from) ?? { out: 0, in: 0 };
        a.out++;
        score.set(from, a);
        const b = score.get(to) ?? { out: 0, in: 0 };
        b.in++;
        score.set(to, b);
      }
    }
    if (score.size === 0) break;
    const [worst] = [...score].sort(([xa, a], [xb, b]) => b.out + b.in - (a.out + a.in) || b.in - a.in || xb - xa)[0]!;
    live.delete(worst);
  }
  return [...live].sort((a, b) => a - b);
}

interface LockStepResult {
  live: CoordinatedNode[];
  rounds: number;
  outputs: Map<number, NonNullable<MpcStepResponse['output']>>;
}

/** Rounds until every live node is done; drops failing nodes; throws below `need`. */
async function lockStep(
  start: CoordinatedNode[],
  input: {
    sessionId: string;
    tag: string;
    need: number;
    total: number;
    why: string;
    timeoutMs: number;
    what: string;
    onRound?: (round: number, live: readonly number[]) => void | Promise<void>;
  },
): Promise<LockStepResult> {
  let live = [...start].sort((a, b) => a.index - b.index);
  const outputs = new Map<number, NonNullable<MpcStepResponse['output']>>();
  const downOf = () => Array.from({ length: input.total }, (_, i) => i + 1).filter((x) => !live.some((n) => n.index === x));
  const deadlineMs = Math.min(Math.max(Math.floor(input.timeoutMs), 100), 600_000);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (live.length < input.need) throw unavailable(live.length, input.total, input.why, downOf());
    const senders = live.map((n) => n.index);
    await input.onRound?.(round, senders);
    const answers = await Promise.all(
      live.map(async (node) => {
        try {
          const body = await call(node, 'POST', '/control/steps', { sessionId: input.sessionId, tag: input.tag, round, senders, deadlineMs }, input.timeoutMs);
          const parsed = MpcStepResponse.safeParse(body);
          return parsed.success ? { node, response: parsed.data } : { node, down: true as const };
        } catch (error) {
          // unknown_run: the node restarted (or dropped the task); it is down, not refusing
          if (error instanceof NodeRefusal && error.code !== 'unknown_run') return { node, refusal: error };
          return { node, down: true as const };
        }
      }),
    );
    const refusal = answers.find((a) => 'refusal' in a && a.refusal);
    if (refusal && 'refusal' in refusal) throw refused(refusal.node, refusal.refusal!, `round ${round} of ${input.what}`);
    const answered = answers.filter((a): a is { node: CoordinatedNode; response: MpcStepResponse } => 'response' in a);
    const survivors = new Set(survivorsOfRound(answered.map((a) => ({ index: a.node.index, delivered: a.response.delivered }))));
    const next = answered.filter((a) => survivors.has(a.node.index));
    live = next.map((a) => a.node);
    for (const a of next) if (a.response.output) outputs.set(a.node.index, a.response.output);
    if (live.length < input.need) throw unavailable(live.length, input.total, input.why, downOf());
    if (next.every((a) => a.response.phase === 'done')) return { live, rounds: round + 1, outputs };
  }
  throw new MpcCoordinatorError('mpc_run_failed', `${input.what} did not finish in ${MAX_ROUNDS} rounds`);
}

function checkConfig(threshold: number, totalParties: number, nodes: readonly CoordinatedNode[]): void {
  if (!Number.isInteger(totalParties) || totalParties < 2) throw new RangeError('totalParties must be an integer ≥ 2');
  if (!Number.isInteger(threshold) || threshold < 2 || 2 * threshold - 1 > totalParties) throw new RangeError('threshold must be an integer with 2 ≤ threshold and 2·threshold − 1 ≤ totalParties');
  if (nodes.some((n) => n.index > totalParties)) throw new RangeError(`nodes[].index must be at most totalParties (${totalParties})`);
}

/**
 * POST /control/preprocess on every node, then its rounds; needs 2t − 1 nodes throughout (GRR), or t for a
 * program without multiplications (a sum program: no triples to make, the preprocessing is done in one
 * silent round and only marks the nodes that may start the run).
 */
export async function preprocessAcrossNodes(input: {
  nodes: readonly CoordinatedNode[];
  sessionId: string;
  prepId: string;
  programId: string;
  threshold: number;
  totalParties: number;
  /** The session's expiry (ISO 8601): the nodes keep the unused preprocessing until then (each caps it). */
  expiresAt?: string;
  stepTimeoutMs?: number;
}): Promise<{ holders: number[] }> {
  const { nodes, sessionId, prepId, programId, threshold, totalParties, expiresAt } = input;
  checkNodes(nodes);
  checkConfig(threshold, totalParties, nodes);
  const timeoutMs = input.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const program = mpcProgramById(programId);
  const multiplies = program === undefined || mpcProgramTripleLength(program) > 0; // an unknown program: the nodes refuse it
  const need = multiplies ? 2 * threshold - 1 : threshold;
  const started = await Promise.all(
    nodes.map(async (node) => {
      try {
        await call(node, 'POST', '/control/preprocess', { sessionId, prepId, programId, threshold, totalParties, ...(expiresAt !== undefined ? { expiresAt } : {}) }, timeoutMs);
        return { node };
      } catch (error) {
        if (error instanceof NodeRefusal) return { node, refusal: error };
        return { node, down: true };
      }
    }),
  );
  const refusal = started.find((s) => s.refusal);
  if (refusal?.refusal) throw refused(refusal.node, refusal.refusal, `preprocessing ${prepId}`);
  const live = started.filter((s) => !s.down).map((s) => s.node);
  const result = await lockStep(live, { sessionId, tag: prepId, need, total: totalParties, why: whyText('preprocessing', need, multiplies ? '2 × threshold − 1' : 'threshold'), timeoutMs, what: `preprocessing ${prepId}` });
  return { holders: result.live.map((n) => n.index) };
}

function whyText(what: string, need: number, rule: string): string {
  return `${what} needs ${need} (${rule})`;
}

/**
 * A run over the nodes holding `prepId`: POST /control/runs, rounds, then each output with a fresh
 * attestation. Nodes that do not start the run are told to drop `prepId` (so no node keeps a prep that a run
 * used); once the run is over, failed or not, every node is told to drop it (best effort).
 */
export async function runMpcAcrossNodes(input: {
  nodes: readonly CoordinatedNode[];
  sessionId: string;
  runTag: string;
  programId: string;
  terms: unknown;
  prepId: string;
  sessionKey: { publicKey: string; attestation: string };
  bundles: MpcShareBundle[];
  threshold: number;
  totalParties: number;
  stepTimeoutMs?: number;
  /** Called before each round with the live nodes (diagnostics, tests). */
  onRound?: (round: number, live: readonly number[]) => void | Promise<void>;
}): Promise<{ outputs: MpcNodeOutput[]; down: number[]; rounds: number }> {
  const { nodes, sessionId, runTag, programId, terms, prepId, sessionKey, bundles, threshold, totalParties } = input;
  checkNodes(nodes);
  checkConfig(threshold, totalParties, nodes);
  const timeoutMs = input.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const cleanupMs = Math.min(timeoutMs, CLEANUP_TIMEOUT_MS);
  const why = whyText('the program', threshold, 'threshold');
  const body = { sessionId, runTag, programId, terms, prepId, sessionKey, bundles };
  const started = await Promise.all(
    nodes.map(async (node) => {
      try {
        await call(node, 'POST', '/control/runs', body, timeoutMs);
        return { node };
      } catch (error) {
        // a node without the preprocessing (restarted, or down when it was made) sits this run out
        if (error instanceof NodeRefusal && error.code !== 'unknown_prep') return { node, refusal: error };
        return { node, down: true };
      }
    }),
  );
  // Before the first step: no node that did not start the run may keep the prep (a later run could use it).
  const prepsDropped = Promise.all(
    started.filter((s) => s.down || s.refusal).map((s) => call(s.node, 'DELETE', `/control/preps/${encodeURIComponent(sessionId)}/${encodeURIComponent(prepId)}`, undefined, cleanupMs).catch(() => undefined)),
  );
  const dropRun = () => Promise.all([forgetRun(nodes, sessionId, runTag, { timeoutMs: cleanupMs }), prepsDropped]);
  let result: { outputs: MpcNodeOutput[]; down: number[]; rounds: number };
  let finished: CoordinatedNode[] = [];
  try {
    const refusal = started.find((s) => s.refusal);
    if (refusal?.refusal) {
      if (refusal.refusal.status === 413) {
        throw new MpcCoordinatorError('mpc_run_failed', `the run request exceeds node ${refusal.node.index}'s body limit (--max-body-bytes): ${refusal.refusal.message}`, {
          cause: refusal.refusal,
          node: refusal.node.index,
          nodeCode: refusal.refusal.code,
          retryable: false,
        });
      }
      throw refused(refusal.node, refusal.refusal, `run ${runTag}`);
    }
    const steps = await lockStep(
      started.filter((s) => !s.down).map((s) => s.node),
      { sessionId, tag: runTag, need: threshold, total: totalParties, why, timeoutMs, what: `run ${runTag}`, ...(input.onRound ? { onRound: input.onRound } : {}) },
    );
    const attestations = await fetchNodeAttestations(
      steps.live.filter((n) => steps.outputs.has(n.index)),
      { nonce: randomBytes(16), timeoutMs },
    );
    const outputs: MpcNodeOutput[] = [];
    for (const { index, attestation, statement } of attestations) {
      const output = steps.outputs.get(index)!;
      const parsed = MpcNodeOutput.safeParse({ index, attestation, nodeStatement: statement, ...output });
      if (parsed.success) outputs.push(parsed.data);
    }
    const used = new Set(outputs.map((o) => o.index));
    const down = Array.from({ length: totalParties }, (_, i) => i + 1).filter((x) => !used.has(x));
    if (outputs.length < threshold) throw unavailable(outputs.length, totalParties, why, down);
    result = { outputs, down, rounds: steps.rounds };
    finished = steps.live;
  } catch (error) {
    await dropRun();
    throw error;
  }
  // The outputs are out: nothing of the run is needed at any node. The result waits for the nodes that
  // finished the run (they answer at once), not for those found down (a hung one would hold it up).
  const others = nodes.filter((n) => !finished.includes(n));
  if (others.length > 0) void forgetRun(others, sessionId, runTag, { timeoutMs: cleanupMs }).catch(() => undefined);
  await Promise.all([finished.length > 0 ? forgetRun(finished, sessionId, runTag, { timeoutMs: cleanupMs }) : undefined, prepsDropped]);
  return result;
}

/**
 * Upload-time check of one party's bundle: POST /control/check-bundle on every node (each opens its own
 * envelope and checks it as a run start would; nothing is kept). A refusal throws MpcCoordinatorError
 * mpc_share_refused (`node`, `nodeCode`: invalid_share naming the party, invalid_terms, …); nodes that do
 * not answer are listed as unreachable (their envelopes are checked at run time).
 */
export async function checkBundleOnNodes(
  nodes: readonly CoordinatedNode[],
  request: { sessionId: string; programId: string; terms: unknown; bundle: MpcShareBundle },
  options: { timeoutMs?: number } = {},
): Promise<{ checked: number[]; unreachable: number[] }> {
  checkNodes(nodes);
  const { sessionId, programId, terms, bundle } = request;
  const answers = await Promise.all(
    [...nodes]
      .sort((a, b) => a.index - b.index)
      .map(async (node) => {
        try {
          await call(node, 'POST', '/control/check-bundle', { sessionId, programId, terms, bundle }, options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
          return { node, ok: true };
        } catch (error) {
          return error instanceof NodeRefusal ? { node, ok: false, refusal: error } : { node, ok: false };
        }
      }),
  );
  const refusal = answers.find((a) => a.refusal);
  if (refusal?.refusal) {
    const why = refusal.refusal.status === 413 ? `the bundle exceeds its body limit (--max-body-bytes): ${refusal.refusal.message}` : `[${refusal.refusal.code}] ${refusal.refusal.message}`;
    throw new MpcCoordinatorError('mpc_share_refused', `compute node ${refusal.node.index} refused the share bundle: ${why}`, {
      cause: refusal.refusal,
      node: refusal.node.index,
      nodeCode: refusal.refusal.code,
      retryable: false,
    });
  }
  return {
    checked: answers.filter((a) => a.ok).map((a) => a.node.index),
    unreachable: answers.filter((a) => !a.ok).map((a) => a.node.index),
  };
}

/** DELETE /control/runs/:sessionId/:runTag on every node (vectors zeroed, tag refused after); best effort. */
export async function forgetRun(nodes: readonly CoordinatedNode[], sessionId: string, runTag: string, options: { timeoutMs?: number } = {}): Promise<void> {
  checkNodes(nodes);
  const path = `/control/runs/${encodeURIComponent(sessionId)}/${encodeURIComponent(runTag)}`;
  await Promise.all(nodes.map((node) => call(node, 'DELETE', path, undefined, options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS).catch(() => undefined)));
}

/** DELETE /control/preps/:sessionId/:prepId on every node (triples zeroed, never used after); best effort. */
export async function forgetPrep(nodes: readonly CoordinatedNode[], sessionId: string, prepId: string, options: { timeoutMs?: number } = {}): Promise<void> {
  checkNodes(nodes);
  const path = `/control/preps/${encodeURIComponent(sessionId)}/${encodeURIComponent(prepId)}`;
  await Promise.all(nodes.map((node) => call(node, 'DELETE', path, undefined, options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS).catch(() => undefined)));
}

/** DELETE /control/sessions/:sessionId on every node; best effort (unreachable nodes forget on restart or TTL). */
export async function forgetSession(nodes: readonly CoordinatedNode[], sessionId: string): Promise<void> {
  checkNodes(nodes);
  await Promise.all(nodes.map((node) => call(node, 'DELETE', `/control/sessions/${encodeURIComponent(sessionId)}`, undefined, DEFAULT_FETCH_TIMEOUT_MS).catch(() => undefined)));
}
