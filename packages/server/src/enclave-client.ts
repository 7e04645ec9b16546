/**
 * The enclave supervisor: starts the enclave as a child process (`node <enclaveEntry>`), speaks the framed
 * channel of @tenzro/protocol over its stdin/stdout, and restarts it with backoff when it exits. Every reply
 * is parsed with the channel's schemas before the host believes it; a request outstanding when the child
 * dies is refused with `enclave_unavailable`. The child's stderr goes to the host log, line by line.
 *
 * The host never imports enclave code: the entry is a file path handed to `spawn`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  FrameDecoder,
  TenzroError,
  type EnclaveModel,
  type EnclaveOp,
  type EnclaveRequestOf,
  type EnclaveResultOf,
} from '@tenzro/protocol';
import { enclaveLost } from './enclave-lost.js';
import { encodeRequest, settleReply, type PendingCall } from './enclave-replies.js';
import { ReadyWaiters } from './ready-waiters.js';
import type { Logger } from './logger.js';

export { EnclaveCallError } from './enclave-replies.js';

export type EnclaveParams<Op extends EnclaveOp> = Omit<EnclaveRequestOf<Op>, 'id' | 'op'>;

export interface EnclaveInfo {
  provider: 'simulated' | 'nitro';
  moduleId: string;
  measurement: string;
  rootPem: string;
  models: EnclaveModel[];
  pid: number;
}

/** What the domain needs from the enclave; the supervisor below is the real one. */
export interface EnclavePort {
  call<Op extends Exclude<EnclaveOp, 'hello'>>(op: Op, params: EnclaveParams<Op>): Promise<EnclaveResultOf<Op>>;
  /** The last `hello` reply, or undefined before the first. */
  info(): EnclaveInfo | undefined;
  ready(): boolean;
}

export const DEFAULT_TIMEOUTS_MS: Readonly<Record<EnclaveOp, number>> = {
  hello: 30_000,
  createSessionKey: 30_000,
  verifySubmission: 5 * 60_000,
  run: 10 * 60_000,
  destroySessionKey: 30_000,
  attestSessionKey: 30_000,
};

export interface EnclaveSupervisorOptions {
  entry: string;
  stateDir: string;
  logger: Logger;
  timeoutsMs?: Partial<Record<EnclaveOp, number>>;
  /** First restart delay; doubles per consecutive failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a request waits for a (re)starting enclave before it is refused (default 30 s). */
  readyWaitMs?: number;
  /** Called after every successful `hello` (the attestation root may have changed). */
  onHello?: (info: EnclaveInfo) => void;
}

const STABLE_AFTER_MS = 30_000;

function unavailable(message: string): TenzroError {
  return new TenzroError('enclave_unavailable', message);
}

export class EnclaveSupervisor implements EnclavePort {
  readonly #options: EnclaveSupervisorOptions;
  readonly #timeouts: Record<EnclaveOp, number>;
  readonly #pending = new Map<number, PendingCall>();
  #child: ChildProcessWithoutNullStreams | undefined;
  #info: EnclaveInfo | undefined;
  #ready = false;
  #starting: Promise<EnclaveInfo> | undefined;
  #nextId = 1;
  #failures = 0;
  #startedAt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #readyWaiters = new ReadyWaiters();

  constructor(options: EnclaveSupervisorOptions) {
    if (typeof options.entry !== 'string' || options.entry === '') throw new TypeError('entry must be a file path');
    this.#options = options;
    this.#timeouts = { ...DEFAULT_TIMEOUTS_MS, ...options.timeoutsMs };
  }

  info(): EnclaveInfo | undefined {
    return this.#info;
  }

  ready(): boolean {
    return this.#ready;
  }

  /** Starts the child (if not running) and resolves with its `hello`. */
  start(): Promise<EnclaveInfo> {
    if (this.#closed) return Promise.reject(unavailable('the enclave supervisor is closed'));
    if (this.#ready && this.#info) return Promise.resolve(this.#info);
    if (!this.#starting) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = undefined;
      this.#starting = this.#spawnAndGreet().finally(() => {
        this.#starting = undefined;
      });
    }
    return this.#starting;
  }

  /**
   * Sends one request. While the enclave is (re)starting the request waits for it, up to `readyWaitMs`,
   * so a call right after a crash is served by the restarted enclave instead of failing.
   */
  async call<Op extends Exclude<EnclaveOp, 'hello'>>(op: Op, params: EnclaveParams<Op>): Promise<EnclaveResultOf<Op>> {
    if (!this.#ready) await this.#waitReady(Math.min(this.#timeouts[op], this.#options.readyWaitMs ?? 30_000));
    return this.#send(op, params);
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    if (this.#closed) throw unavailable('the enclave supervisor is closed');
    if (this.#ready) return;
    if (!(await this.#readyWaiters.wait(timeoutMs))) throw unavailable('the enclave is restarting; try again shortly');
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#readyWaiters.fail(unavailable('the enclave supervisor is closed'));
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.stdin.end();
      child.kill('SIGTERM');
    });
  }

  async #spawnAndGreet(): Promise<EnclaveInfo> {
    const logger = this.#options.logger;
    const env: NodeJS.ProcessEnv = { ...process.env, TENZRO_ENCLAVE_STATE_DIR: this.#options.stateDir };
    // The enclave needs none of the host's secrets.
    delete env.TENZRO_ADMIN_KEY;
    delete env.DATABASE_URL;
    delete env.TENZRO_ENCLAVE_WORKER_TOKEN;
    const child = spawn(process.execPath, [this.#options.entry], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#startedAt = Date.now();
    const decoder = new FrameDecoder();

    child.stdout.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (error) {
        logger.error({ err: error }, 'enclave channel: malformed frame; restarting the enclave');
        child.kill('SIGKILL');
        return;
      }
      for (const message of messages) this.#onMessage(message);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      logger.info({ source: 'enclave-stderr', enclavePid: child.pid }, line.length > 2000 ? line.slice(0, 2000) + '…' : line);
    });
    child.stdin.on('error', (error) => logger.warn({ err: error }, 'enclave channel: write failed'));
    child.on('error', (error) => logger.error({ err: error }, 'enclave process error'));
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));

    try {
      const hello = await this.#send('hello', {});
      if (this.#info && this.#info.measurement !== hello.measurement) {
        logger.warn({ previous: this.#info.measurement, current: hello.measurement }, 'enclave measurement changed');
      }
      this.#info = {
        provider: hello.provider,
        moduleId: hello.moduleId,
        measurement: hello.measurement,
        rootPem: hello.rootPem,
        models: hello.models,
        pid: hello.pid,
      };
      this.#ready = true;
      this.#readyWaiters.wake();
      logger.info({ provider: hello.provider, measurement: hello.measurement, enclavePid: child.pid }, 'enclave ready');
      this.#options.onHello?.(this.#info);
      return this.#info;
    } catch (error) {
      logger.error({ err: error }, 'enclave did not answer hello');
      child.kill('SIGKILL');
      throw error instanceof TenzroError ? error : unavailable('the enclave did not start');
    }
  }

  #send<Op extends EnclaveOp>(op: Op, params: EnclaveParams<Op>): Promise<EnclaveResultOf<Op>> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null || !child.stdin.writable) {
      return Promise.reject(unavailable('the enclave is not running'));
    }
    const id = this.#nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeRequest(op, id, params);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<EnclaveResultOf<Op>>((resolve, reject) => {
      const timeoutMs = this.#timeouts[op];
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#options.logger.error({ op, timeoutMs }, 'enclave request timed out');
        reject(unavailable(`the enclave did not answer ${op} within ${Math.round(timeoutMs / 1000)} s`));
        // A run that does not finish is a stuck enclave: restart it rather than let it hold the CPU.
        if (op === 'run' || op === 'hello') child.kill('SIGKILL');
      }, timeoutMs);
      this.#pending.set(id, { op, resolve: resolve as (value: unknown) => void, reject, timer });
      child.stdin.write(frame);
    });
  }

  #onMessage(message: unknown): void {
    settleReply(message, this.#pending, this.#options.logger);
  }

  #onExit(child: ChildProcessWithoutNullStreams, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#ready = false;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(enclaveLost(`the enclave stopped while handling ${pending.op}`));
    }
    if (this.#closed) return;
    const lived = Date.now() - this.#startedAt;
    this.#failures = lived > STABLE_AFTER_MS ? 1 : this.#failures + 1;
    const initial = this.#options.initialBackoffMs ?? 250;
    const delay = Math.min(this.#options.maxBackoffMs ?? 15_000, initial * 2 ** (this.#failures - 1));
    this.#options.logger.error({ code, signal, restartInMs: delay }, 'enclave exited; restarting');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.start().catch(() => undefined);
    }, delay);
    this.#restartTimer.unref();
  }
}
