// The host's side of the node control API (docs/mpc.md, "Coordinator"): lock-step rounds over the compute
// nodes. Round r: POST /control/steps on every live node in parallel, `senders` = the nodes that finished
// round r − 1 (every live node at round 0); a node whose call fails or times out, or whose messages did not
// reach every node that answered, is down for the rest of the preprocessing or run. A preprocessing needs
// 2t − 1 live nodes throughout (GRR), a run t (Beaver, triples made beforehand); below that the call fails
// with MpcCoordinatorError mpc_nodes_unavailable (retryable). A node's refusal (4xx with a code) fails it
// with mpc_run_failed, naming the node and its code. Only nodes holding the run's preprocessing take part.
import { randomBytes, toBase64Url } from '@tenzro/crypto';
import { MpcNodeOutput, MpcNodeStatement, MpcPreprocessedResponse, MpcStepResponse, type MpcShareBundle } from '@tenzro/protocol';

export interface CoordinatedNode {
  index: number;
  url: string;
  controlToken: string;
}

export type MpcCoordinatorErrorCode = 'mpc_nodes_unavailable' | 'mpc_run_failed';

export class MpcCoordinatorError extends Error {
  readonly code: MpcCoordinatorErrorCode;
  readonly retryable: boolean;
  /** The nodes down when it failed (mpc_nodes_unavailable), if known. */
  readonly down?: number[];
  /** The refusing node and its code (mpc_run_failed). */
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

/** Rounds until every live node is done; drops failing nodes; throws below `need`. */
async function lockStep(
  start: CoordinatedNode[],
  input: { sessionId: string; tag: string; need: number; total: number; why: string; timeoutMs: number; what: string },
): Promise<LockStepResult> {
  let live = [...start].sort((a, b) => a.index - b.index);
  const outputs = new Map<number, NonNullable<MpcStepResponse['output']>>();
  const downOf = () => Array.from({ length: input.total }, (_, i) => i + 1).filter((x) => !live.some((n) => n.index === x));
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (live.length < input.need) throw unavailable(live.length, input.total, input.why, downOf());
    const senders = live.map((n) => n.index);
    const answers = await Promise.all(
      live.map(async (node) => {
        try {
          const body = await call(node, 'POST', '/control/steps', { sessionId: input.sessionId, tag: input.tag, round, senders }, input.timeoutMs);
          const parsed = MpcStepResponse.safeParse(body);
          return parsed.success ? { node, response: parsed.data } : { node, down: true as const };
        } catch (error) {
          if (error instanceof NodeRefusal) return { node, refusal: error };
          return { node, down: true as const };
        }
      }),
    );
    const refusal = answers.find((a) => 'refusal' in a && a.refusal);
    if (refusal && 'refusal' in refusal) throw refused(refusal.node, refusal.refusal!, `round ${round} of ${input.what}`);
    const answered = answers.filter((a): a is { node: CoordinatedNode; response: MpcStepResponse } => 'response' in a);
    const reached = (a: { response: MpcStepResponse }) => answered.every((b) => a.response.delivered.includes(b.node.index));
    const next = answered.filter(reached);
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

/** POST /control/preprocess on every node, then its rounds; needs 2t − 1 nodes throughout. */
export async function preprocessAcrossNodes(input: {
  nodes: readonly CoordinatedNode[];
  sessionId: string;
  prepId: string;
  programId: string;
  threshold: number;
  totalParties: number;
  stepTimeoutMs?: number;
}): Promise<{ holders: number[] }> {
  const { nodes, sessionId, prepId, programId, threshold, totalParties } = input;
  checkNodes(nodes);
  checkConfig(threshold, totalParties, nodes);
  const timeoutMs = input.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const need = 2 * threshold - 1;
  const started = await Promise.all(
    nodes.map(async (node) => {
      try {
        await call(node, 'POST', '/control/preprocess', { sessionId, prepId, programId, threshold, totalParties }, timeoutMs);
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
  const result = await lockStep(live, { sessionId, tag: prepId, need, total: totalParties, why: whyText('preprocessing', need, '2 × threshold − 1'), timeoutMs, what: `preprocessing ${prepId}` });
  return { holders: result.live.map((n) => n.index) };
}

function whyText(what: string, need: number, rule: string): string {
  return `${what} needs ${need} (${rule})`;
}

/** A run over the nodes holding `prepId`: POST /control/runs, rounds, then each output with a fresh attestation. */
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
}): Promise<{ outputs: MpcNodeOutput[]; down: number[]; rounds: number }> {
  const { nodes, sessionId, runTag, programId, terms, prepId, sessionKey, bundles, threshold, totalParties } = input;
  checkNodes(nodes);
  checkConfig(threshold, totalParties, nodes);
  const timeoutMs = input.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
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
  const refusal = started.find((s) => s.refusal);
  if (refusal?.refusal) throw refused(refusal.node, refusal.refusal, `run ${runTag}`);
  const result = await lockStep(
    started.filter((s) => !s.down).map((s) => s.node),
    { sessionId, tag: runTag, need: threshold, total: totalParties, why, timeoutMs, what: `run ${runTag}` },
  );
  const attestations = await fetchNodeAttestations(
    result.live.filter((n) => result.outputs.has(n.index)),
    { nonce: randomBytes(16), timeoutMs },
  );
  const outputs: MpcNodeOutput[] = [];
  for (const { index, attestation, statement } of attestations) {
    const output = result.outputs.get(index)!;
    const parsed = MpcNodeOutput.safeParse({ index, attestation, nodeStatement: statement, ...output });
    if (parsed.success) outputs.push(parsed.data);
  }
  const used = new Set(outputs.map((o) => o.index));
  const down = Array.from({ length: totalParties }, (_, i) => i + 1).filter((x) => !used.has(x));
  if (outputs.length < threshold) throw unavailable(outputs.length, totalParties, why, down);
  return { outputs, down, rounds: result.rounds };
}

/** DELETE /control/sessions/:sessionId on every node; best effort (unreachable nodes forget on restart or TTL). */
export async function forgetSession(nodes: readonly CoordinatedNode[], sessionId: string): Promise<void> {
  checkNodes(nodes);
  await Promise.all(nodes.map((node) => call(node, 'DELETE', `/control/sessions/${encodeURIComponent(sessionId)}`, undefined, DEFAULT_FETCH_TIMEOUT_MS).catch(() => undefined)));
}
