// Test support: the built enclave (`packages/enclave/dist/main.js`) as a real child process, spoken to
// over the framed channel exactly as the host does. Lives outside src/ so it is not part of the bundle.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, encodeFrame } from '@tenzro/protocol';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const enclaveEntry = join(repoRoot, 'packages', 'enclave', 'dist', 'main.js');

export interface Reply {
  id: number;
  ok: boolean;
  result?: any;
  error?: { code: string; message: string; details?: { index?: number; field?: string; message: string }[] };
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export class EnclaveProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stderr: string[] = [];
  readonly replies: Reply[] = [];
  readonly exited: Promise<number | null>;
  #nextId = 1;
  #waiters = new Map<number, (reply: Reply) => void>();
  #anyWaiters: ((reply: Reply) => void)[] = [];

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    const decoder = new FrameDecoder();
    child.stdout.on('data', (chunk: Buffer) => {
      for (const message of decoder.push(new Uint8Array(chunk))) {
        const reply = message as Reply;
        this.replies.push(reply);
        const waiter = this.#waiters.get(reply.id);
        if (waiter) {
          this.#waiters.delete(reply.id);
          waiter(reply);
        } else {
          this.#anyWaiters.shift()?.(reply);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => this.stderr.push(text));
    this.exited = new Promise((resolvePromise) => child.on('exit', (code) => resolvePromise(code)));
  }

  static start(stateDir: string, args: string[] = []): EnclaveProcess {
    const env = { ...process.env, TENZRO_ENCLAVE_STATE_DIR: stateDir };
    return new EnclaveProcess(spawn(process.execPath, [enclaveEntry, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Sends one request (an id is added) and resolves with its reply. */
  request(op: string, params: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolvePromise) => this.#waiters.set(id, resolvePromise));
    this.child.stdin.write(encodeFrame({ id, op, ...params }));
    return reply;
  }

  /** Resolves a successful reply's result, or throws with the error code. */
  async call(op: string, params: Record<string, unknown> = {}): Promise<any> {
    const reply = await this.request(op, params);
    if (!reply.ok) throw new Error(`${op} refused: ${reply.error?.code}: ${reply.error?.message}`);
    return reply.result;
  }

  /** Writes raw bytes and resolves with the next reply that no request is waiting for. */
  sendRaw(bytes: Uint8Array): Promise<Reply> {
    const reply = new Promise<Reply>((resolvePromise) => this.#anyWaiters.push(resolvePromise));
    this.child.stdin.write(bytes);
    return reply;
  }

  /** Closes stdin (the host going away) and resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }

  stderrText(): string {
    return this.stderr.join('');
  }
}
