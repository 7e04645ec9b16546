/**
 * The enclave as a pool of enclave workers (enclave-worker.ts): the host connects to each worker over TCP,
 * authenticates with the deployment's token, and keeps every connection up with reconnect and backoff.
 * Each call goes to a ready worker with the fewest outstanding requests (round-robin among equals); any
 * worker can serve any session, because the workers share one state directory and one measurement, so
 * each can unseal the keys the others sealed.
 *
 * A worker is used only if its `hello` shows the same measurement and the same attestation root as the
 * first worker the pool accepted (or `expectedMeasurement`): a worker running other code, or under another
 * simulated CA, could not unseal the deployment's keys and would attest with a key parties do not trust.
 * The pool's measurement is fixed for its life; an enclave upgrade is a server restart.
 *
 * Replies are parsed with the channel's schemas (enclave-replies.ts), exactly as the supervisor parses
 * its child's. A connection that drops fails its outstanding calls at once with `enclave_unavailable`,
 * marked lost (enclave-lost.ts: whether the enclave finished them is unknown, and they may be sent again),
 * and its worker gets no call until it reconnects.
 */
import { connect, type Socket } from 'node:net';
import {
  FrameDecoder,
  TenzroError,
  encodeFrame,
  type EnclaveOp,
  type EnclaveResultOf,
} from '@tenzro/protocol';
import { DEFAULT_TIMEOUTS_MS, type EnclaveInfo, type EnclaveParams, type EnclavePort } from './enclave-client.js';
import { enclaveLost } from './enclave-lost.js';
import { encodeRequest, settleReply, type PendingCall } from './enclave-replies.js';
import { ReadyWaiters } from './ready-waiters.js';
import { MAX_WORKER_TOKEN_LENGTH, MIN_WORKER_TOKEN_LENGTH, WorkerChallenge, WorkerGreeting } from './enclave-worker.js';
import { hostProof, newNonce, proofsMatch, workerProof } from './worker-auth.js';
import type { Logger } from './logger.js';

export interface EnclavePoolOptions {
  /** The workers, each `tcp://host:port`. */
  workers: string[];
  /** The token the workers were started with (≥ 32 characters; never logged). */
  token: string;
  logger: Logger;
  timeoutsMs?: Partial<Record<EnclaveOp, number>>;
  /** First reconnect delay; doubles per consecutive failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a call waits for a ready worker before it is refused (default 30 s). */
  readyWaitMs?: number;
  /** The only measurement accepted; unset, the first accepted worker's measurement becomes the pool's. */
  expectedMeasurement?: string;
  /** Called after each worker is accepted, with its `hello`. */
  onHello?: (info: EnclaveInfo) => void;
}

export type EnclaveWorkerState = 'connecting' | 'ready' | 'refused' | 'down' | 'closed';

export interface EnclaveWorkerStatus {
  url: string;
  /** `refused`: it refused the token, or the pool refused its measurement or root; retried later. */
  state: EnclaveWorkerState;
  ready: boolean;
  /** The measurement of the last `hello` it sent, accepted or not. */
  measurement?: string;
  outstanding: number;
}

interface Link {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  state: EnclaveWorkerState;
  socket: Socket | undefined;
  hello: EnclaveInfo | undefined;
  readonly pending: Map<number, PendingCall>;
  nextId: number;
  failures: number;
  readyAt: number;
  /** Why the last attempt failed, so a worker that stays down is logged once, not at every retry. */
  lastProblem: string | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  heartbeat: NodeJS.Timeout | undefined;
}

const MEASUREMENT_PATTERN = /^[0-9a-f]{96}$/;
const STABLE_AFTER_MS = 30_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 15_000;

function unavailable(message: string): TenzroError {
  return new TenzroError('enclave_unavailable', message);
}

/** `tcp://host:port` → host and port; throws RangeError naming the entry. */
function parseWorkerUrl(worker: unknown, index: number): { host: string; port: number } {
  if (typeof worker !== 'string') throw new TypeError(`workers[${index}] must be a string`);
  let url: URL | undefined;
  try {
    url = new URL(worker);
  } catch {
    url = undefined;
  }
  const port = url ? Number(url.port) : NaN;
  if (!url || url.protocol !== 'tcp:' || url.hostname === '' || url.pathname !== '' || url.search !== '' || url.hash !== '' ||
    url.username !== '' || url.password !== '' || !Number.isSafeInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`workers[${index}] must be a tcp://host:port address with a port in 1..65535`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port };
}

function checkOptions(options: EnclavePoolOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { workers, token, logger, initialBackoffMs, maxBackoffMs, readyWaitMs, expectedMeasurement, onHello } = options;
  if (!Array.isArray(workers)) throw new TypeError('workers must be an array of tcp://host:port addresses');
  if (workers.length === 0) throw new RangeError('workers must name at least one enclave worker');
  workers.forEach(parseWorkerUrl);
  if (new Set(workers).size !== workers.length) throw new RangeError('workers names a worker twice');
  if (typeof token !== 'string') throw new TypeError('token must be a string');
  if (token.length < MIN_WORKER_TOKEN_LENGTH || token.length > MAX_WORKER_TOKEN_LENGTH) {
    throw new RangeError(`token must be ${MIN_WORKER_TOKEN_LENGTH} to ${MAX_WORKER_TOKEN_LENGTH} characters`);
  }
  if (typeof logger !== 'object' || logger === null) throw new TypeError('logger must be a logger');
  for (const [name, value] of [['initialBackoffMs', initialBackoffMs], ['maxBackoffMs', maxBackoffMs], ['readyWaitMs', readyWaitMs]] as const) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) {
      throw new RangeError(`${name} must be a positive number of milliseconds`);
    }
  }
  if (expectedMeasurement !== undefined && (typeof expectedMeasurement !== 'string' || !MEASUREMENT_PATTERN.test(expectedMeasurement))) {
    throw new RangeError('expectedMeasurement must be 96 lowercase hex characters');
  }
  if (onHello !== undefined && typeof onHello !== 'function') throw new TypeError('onHello must be a function');
}

export class EnclavePool implements EnclavePort {
  readonly #options: EnclavePoolOptions;
  readonly #timeouts: Record<EnclaveOp, number>;
  readonly #links: Link[];
  readonly #readyWaiters = new ReadyWaiters();
  /** The first accepted worker's hello: every other worker must match its measurement and root. */
  #reference: EnclaveInfo | undefined;
  #cursor = 0;
  #started = false;
  #closed = false;

  constructor(options: EnclavePoolOptions) {
    checkOptions(options);
    this.#options = { ...options, workers: [...options.workers] };
    this.#timeouts = { ...DEFAULT_TIMEOUTS_MS, ...options.timeoutsMs };
    this.#links = this.#options.workers.map((url, index) => ({
      url,
      ...parseWorkerUrl(url, index),
      logger: options.logger.child({ worker: url }),
      state: 'down',
      socket: undefined,
      hello: undefined,
      pending: new Map(),
      nextId: 1,
      failures: 0,
      readyAt: 0,
      lastProblem: undefined,
      retryTimer: undefined,
      heartbeat: undefined,
    }));
  }

  /** The first accepted worker's hello (all accepted workers share its measurement and root). */
  info(): EnclaveInfo | undefined {
    return this.#reference;
  }

  /** Whether at least one worker is ready. */
  ready(): boolean {
    return this.#links.some((link) => link.state === 'ready');
  }

  /** Each worker's state, for diagnostics. */
  workers(): EnclaveWorkerStatus[] {
    return this.#links.map((link) => ({
      url: link.url,
      state: link.state,
      ready: link.state === 'ready',
      ...(link.hello ? { measurement: link.hello.measurement } : {}),
      outstanding: link.pending.size,
    }));
  }

  /** Connects to every worker and resolves with the first accepted one's hello (refused after `readyWaitMs`). */
  async start(): Promise<EnclaveInfo> {
    this.#connectAll();
    await this.#waitForWorker(this.#options.readyWaitMs ?? 30_000);
    return this.#reference!;
  }

  /**
   * Sends one request to the ready worker with the fewest outstanding requests. With none ready, it waits
   * for one up to `readyWaitMs` (at most the op's timeout), then refuses with `enclave_unavailable`.
   */
  async call<Op extends Exclude<EnclaveOp, 'hello'>>(op: Op, params: EnclaveParams<Op>): Promise<EnclaveResultOf<Op>> {
    if (this.#closed) throw unavailable('the enclave pool is closed');
    this.#connectAll();
    const link = this.#pick() ?? (await this.#waitForWorker(Math.min(this.#timeouts[op], this.#options.readyWaitMs ?? 30_000)));
    if (op === 'destroySessionKey') return this.#destroyEverywhere(link, params as unknown as EnclaveParams<'destroySessionKey'>) as Promise<EnclaveResultOf<Op>>;
    return this.#send(link, op, params, this.#timeouts[op]);
  }

  /**
   * A key destruction goes to every ready worker, not one: each may hold the unsealed key in memory. The
   * tombstone is shared (the first answer's time stands for all); the answer is the picked worker's, and
   * the others' refusals are logged (their enclaves also drop the key within seconds of the tombstone).
   */
  async #destroyEverywhere(picked: Link, params: EnclaveParams<'destroySessionKey'>): Promise<EnclaveResultOf<'destroySessionKey'>> {
    const others = this.#links.filter((link) => link !== picked && link.state === 'ready');
    const timeout = this.#timeouts.destroySessionKey;
    const [answer, ...rest] = await Promise.allSettled([picked, ...others].map((link) => this.#send(link, 'destroySessionKey', params, timeout)));
    rest.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        this.#options.logger.warn({ worker: others[i]!.url, err: outcome.reason }, 'enclave pool: a worker did not confirm a key destruction');
      }
    });
    if (answer!.status === 'rejected') throw answer!.reason;
    return answer!.value;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#readyWaiters.fail(unavailable('the enclave pool is closed'));
    const closing: Promise<void>[] = [];
    for (const link of this.#links) {
      clearTimeout(link.retryTimer);
      clearInterval(link.heartbeat);
      this.#failPending(link, () => unavailable('the enclave pool is closed'));
      link.state = 'closed';
      const socket = link.socket;
      link.socket = undefined;
      if (socket && !socket.destroyed) {
        closing.push(new Promise((resolve) => socket.once('close', () => resolve())));
        socket.destroy();
      }
    }
    await Promise.all(closing);
  }

  #connectAll(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const link of this.#links) this.#connect(link);
  }

  /** A ready worker with the fewest outstanding requests, scanning from the round-robin cursor. */
  #pick(): Link | undefined {
    const count = this.#links.length;
    let best: Link | undefined;
    let bestIndex = 0;
    for (let step = 0; step < count; step += 1) {
      const index = (this.#cursor + step) % count;
      const link = this.#links[index]!;
      if (link.state !== 'ready') continue;
      if (!best || link.pending.size < best.pending.size) {
        best = link;
        bestIndex = index;
      }
    }
    if (best) this.#cursor = (bestIndex + 1) % count;
    return best;
  }

  async #waitForWorker(timeoutMs: number): Promise<Link> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) throw unavailable('the enclave pool is closed');
      const link = this.#pick();
      if (link) return link;
      const left = deadline - Date.now();
      if (left <= 0) throw unavailable('no enclave worker is ready; try again shortly');
      await this.#readyWaiters.wait(left);
    }
  }

  #connect(link: Link): void {
    if (this.#closed) return;
    link.retryTimer = undefined;
    link.state = 'connecting';
    const socket = connect({ host: link.host, port: link.port });
    link.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const decoder = new FrameDecoder();
    // challenge → (auth sent) → greeting → replies
    let phase: 'challenge' | 'greeting' | 'ready' = 'challenge';
    let hostNonce = '';
    let workerNonce = '';
    const handshake = setTimeout(() => {
      this.#problem(link, 'no greeting in time', 'enclave worker did not answer the handshake in time');
      socket.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    handshake.unref();

    socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (error) {
        link.logger.error({ err: error }, 'enclave worker channel: a malformed frame; reconnecting');
        socket.destroy();
        return;
      }
      for (const message of messages) {
        if (link.socket !== socket || socket.destroyed) return;
        if (phase === 'ready') {
          settleReply(message, link.pending, link.logger);
        } else if (phase === 'challenge') {
          const challenge = WorkerChallenge.safeParse(message);
          if (!challenge.success) {
            this.#refuse(link, 'challenge', 'enclave worker: its first frame is not a challenge');
            socket.destroy();
            return;
          }
          phase = 'greeting';
          workerNonce = challenge.data.nonce;
          hostNonce = newNonce();
          socket.write(encodeFrame({ type: 'auth', nonce: hostNonce, proof: hostProof(this.#options.token, workerNonce, hostNonce) }));
        } else {
          phase = 'ready';
          clearTimeout(handshake);
          this.#onGreeting(link, socket, message, (hello) => workerProof(this.#options.token, workerNonce, hostNonce, hello));
        }
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#problem(link, error.code ?? error.message, 'enclave worker connection failed', { code: error.code ?? null });
    });
    socket.on('close', () => {
      clearTimeout(handshake);
      this.#onClose(link, socket);
    });
  }

  #onGreeting(link: Link, socket: Socket, message: unknown, expectedProof: (hello: unknown) => string): void {
    const greeting = WorkerGreeting.safeParse(message);
    if (!greeting.success) {
      this.#refuse(link, 'greeting', 'enclave worker: its greeting failed its schema');
      socket.destroy();
      return;
    }
    if (greeting.data.type === 'refused') {
      const { code } = greeting.data;
      if (code === 'unauthorized') {
        this.#refuse(link, 'unauthorized', 'enclave worker refused the token: the pool and the worker have different TENZRO_ENCLAVE_WORKER_TOKENs');
      } else {
        this.#problem(link, code, 'enclave worker: its enclave is not ready', { code });
      }
      socket.destroy();
      return;
    }
    // Only a worker that knows the token can prove this hello on this connection (worker-auth.ts).
    if (!proofsMatch(greeting.data.proof, expectedProof(greeting.data.hello))) {
      this.#refuse(link, 'proof', 'enclave worker could not prove it knows the token: not one of this deployment’s workers');
      socket.destroy();
      return;
    }
    const { provider, moduleId, measurement, rootPem, models, pid } = greeting.data.hello;
    const hello: EnclaveInfo = { provider, moduleId, measurement, rootPem, models, pid };
    link.hello = hello;
    const reference = this.#reference;
    const expected = reference?.measurement ?? this.#options.expectedMeasurement;
    if (expected !== undefined && measurement !== expected) {
      this.#refuse(link, `measurement ${measurement}`, 'enclave worker refused: its measurement is not the pool’s', { expected, measurement });
      socket.destroy();
      return;
    }
    if (reference && rootPem !== reference.rootPem) {
      this.#refuse(link, `root ${moduleId}`, 'enclave worker refused: its attestation root is not the pool’s (another state directory?)', {
        expected: reference.measurement,
        measurement,
        expectedModuleId: reference.moduleId,
        moduleId,
      });
      socket.destroy();
      return;
    }
    if (!reference) this.#reference = hello;
    else if (JSON.stringify(models) !== JSON.stringify(reference.models)) {
      link.logger.warn('enclave worker offers other models or backends than the first worker (same measurement: check its TENZRO_LLM_* settings)');
    }
    link.state = 'ready';
    link.readyAt = Date.now();
    link.lastProblem = undefined;
    link.logger.info({ measurement, enclavePid: pid }, 'enclave worker ready');
    this.#startHeartbeat(link, socket);
    this.#readyWaiters.wake();
    try {
      this.#options.onHello?.(hello);
    } catch (error) {
      link.logger.error({ err: error }, 'enclave pool: onHello failed');
    }
  }

  /** A liveness probe: `hello` is answered by the worker itself; one that goes unanswered drops the link. */
  #startHeartbeat(link: Link, socket: Socket): void {
    clearInterval(link.heartbeat);
    let inFlight = false;
    link.heartbeat = setInterval(() => {
      if (inFlight || link.socket !== socket || link.state !== 'ready') return;
      inFlight = true;
      this.#send(link, 'hello', {}, HEARTBEAT_TIMEOUT_MS).then(
        (hello) => {
          inFlight = false;
          if (hello.pid !== link.hello?.pid || hello.measurement !== link.hello?.measurement) {
            link.logger.warn('enclave worker: its enclave changed; reconnecting');
            socket.destroy();
          }
        },
        () => {
          inFlight = false;
          if (link.socket === socket) socket.destroy();
        },
      );
    }, HEARTBEAT_MS);
    link.heartbeat.unref();
  }

  #onClose(link: Link, socket: Socket): void {
    if (link.socket !== socket) return;
    link.socket = undefined;
    clearInterval(link.heartbeat);
    link.heartbeat = undefined;
    const wasReady = link.state === 'ready';
    // Lost, not refused: whether the enclave finished the request is unknown, and another worker may take it.
    this.#failPending(link, (op) => enclaveLost(`the enclave worker ${link.url} stopped while handling ${op}`));
    if (this.#closed) {
      link.state = 'closed';
      return;
    }
    if (wasReady) link.logger.warn('enclave worker connection lost; reconnecting');
    if (link.state !== 'refused') link.state = 'down';
    link.failures = wasReady && Date.now() - link.readyAt > STABLE_AFTER_MS ? 1 : link.failures + 1;
    const initial = this.#options.initialBackoffMs ?? 250;
    const delay = Math.min(this.#options.maxBackoffMs ?? 15_000, initial * 2 ** Math.min(link.failures - 1, 30));
    link.retryTimer = setTimeout(() => this.#connect(link), delay);
    link.retryTimer.unref();
  }

  #failPending(link: Link, error: (op: EnclaveOp) => Error): void {
    for (const [id, pending] of link.pending) {
      clearTimeout(pending.timer);
      link.pending.delete(id);
      pending.reject(error(pending.op));
    }
  }

  /** Logs a connection problem once per kind, not at every retry. */
  #problem(link: Link, kind: string, message: string, fields: Record<string, unknown> = {}): void {
    if (link.lastProblem === kind) return;
    link.lastProblem = kind;
    link.logger.warn(fields, message);
  }

  /** The worker was refused (token, measurement, root): logged at error once per kind, retried with backoff. */
  #refuse(link: Link, kind: string, message: string, fields: Record<string, unknown> = {}): void {
    link.state = 'refused';
    if (link.lastProblem === kind) return;
    link.lastProblem = kind;
    link.logger.error(fields, message);
  }

  #send<Op extends EnclaveOp>(link: Link, op: Op, params: EnclaveParams<Op>, timeoutMs: number): Promise<EnclaveResultOf<Op>> {
    const socket = link.socket;
    if (!socket || link.state !== 'ready' || !socket.writable) return Promise.reject(unavailable(`the enclave worker ${link.url} is not connected`));
    const id = link.nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeRequest(op, id, params);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<EnclaveResultOf<Op>>((resolve, reject) => {
      const timer = setTimeout(() => {
        link.pending.delete(id);
        link.logger.error({ op, id, timeoutMs }, 'enclave worker request timed out');
        reject(unavailable(`the enclave worker ${link.url} did not answer ${op} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      link.pending.set(id, { op, resolve: resolve as (value: unknown) => void, reject, timer });
      socket.write(frame);
    });
  }
}
