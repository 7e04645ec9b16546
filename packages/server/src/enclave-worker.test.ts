// The enclave worker's TCP side, in-process over the real built enclave (packages/enclave/dist/main.js),
// spoken to with raw frames: the handshake, concurrent requests with per-connection ids, refusals of bad
// frames, the connection limit and the handshake deadline, and what never reaches the log.
import { connect, type Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame } from '@tenzro/protocol';
import { defaultEnclaveEntry } from './config.js';
import { startEnclaveWorker, type RunningEnclaveWorker } from './enclave-worker.js';
import { hostProof, newNonce, workerProof } from './worker-auth.js';

const TOKEN = randomBytes(32).toString('base64url');
const SESSION = 'mps_' + 'a'.repeat(26);

interface Frame {
  type?: string;
  id?: number;
  ok?: boolean;
  result?: any;
  error?: { code: string; message: string };
  hello?: any;
  code?: string;
  nonce?: string;
  proof?: string;
}

/** A raw client of the worker: frames in order, and whether the worker closed the connection. */
class RawClient {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect({ host: hostname, port: Number(port) });
    const decoder = new FrameDecoder();
    this.socket.on('data', (chunk: Buffer) => {
      for (const message of decoder.push(new Uint8Array(chunk))) this.frames.push(message as Frame);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  send(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  /** Resolves with the first frame (at or after index `from`) that `match` accepts. */
  async next(match: (frame: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('no matching frame in time');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The handshake of worker-auth.ts: answers the challenge, and checks the worker's proof over its hello. */
  async welcome(token = TOKEN): Promise<Frame> {
    const challenge = await this.next((f) => f.type === 'challenge');
    const nonce = newNonce();
    this.send({ type: 'auth', nonce, proof: hostProof(token, challenge.nonce!, nonce) });
    const greeting = await this.next((f) => f.type === 'welcome' || f.type === 'refused');
    expect(greeting.type).toBe('welcome');
    expect(greeting.proof).toBe(workerProof(TOKEN, challenge.nonce!, nonce, greeting.hello));
    return greeting;
  }

  reply(id: number): Promise<Frame> {
    return this.next((f) => f.id === id);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('enclave worker', () => {
  let dir: string;
  let worker: RunningEnclaveWorker;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenzro-enclave-worker-'));
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        logLines.push(String(chunk));
        callback();
      },
    });
    worker = await startEnclaveWorker({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      entry: defaultEnclaveEntry(),
      stateDir: join(dir, 'enclave'),
      logger: pino({ level: 'debug' }, sink),
      supervisor: { initialBackoffMs: 100 },
      maxConnections: 4,
      handshakeTimeoutMs: 500,
    });
  });
  afterAll(async () => {
    await worker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('welcomes a host with the right token and answers concurrent requests by their ids', async () => {
    expect(worker.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const client = new RawClient(worker.url);
    const { hello } = await client.welcome();
    expect(hello).toEqual(worker.supervisor.info());
    expect(hello.measurement).toMatch(/^[0-9a-f]{96}$/);
    // ids are the host's, per connection, in any order, concurrent
    client.send({ id: 9, op: 'createSessionKey', sessionId: SESSION });
    client.send({ id: 2, op: 'hello' });
    client.send({ id: 5, op: 'destroySessionKey', sessionId: 'mps_' + 'z'.repeat(26), reason: 'expired', ciphertexts: [] });
    const [created, again, destroyed] = await Promise.all([client.reply(9), client.reply(2), client.reply(5)]);
    expect(created.ok).toBe(true);
    expect(created.result.sealedKey).toEqual(expect.any(String));
    expect(again).toEqual({ id: 2, ok: true, result: hello });
    expect(destroyed.ok).toBe(true);

    // the enclave's own refusal code comes through
    client.send({ id: 11, op: 'destroySessionKey', sessionId: SESSION, reason: 'expired', ciphertexts: [] });
    expect((await client.reply(11)).ok).toBe(true);
    client.send({ id: 12, op: 'createSessionKey', sessionId: SESSION });
    expect((await client.reply(12)).error?.code).toBe('data_deleted');

    // what never reaches the log: the token, sealed keys; requests are logged by op and id only
    const log = logLines.join('');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(created.result.sealedKey);
    expect(log).toMatch(/"op":"createSessionKey","id":9/);
    client.socket.destroy();
  });

  it('refuses a wrong token or a first frame that is not auth, and closes', async () => {
    const wrongToken = 'y'.repeat(40);
    const firsts = [
      (nonce: string) => ({ type: 'auth', nonce: newNonce(), proof: hostProof(wrongToken, nonce, newNonce()) }),
      (nonce: string) => {
        const mine = newNonce();
        return { type: 'auth', nonce: mine, proof: hostProof(TOKEN, newNonce(), mine) }; // a proof for another challenge (a replay)
      },
      () => ({ type: 'auth', token: TOKEN }), // the token itself is not accepted: it must never be sent
      () => ({ id: 1, op: 'hello' }),
      () => 'auth',
    ];
    for (const first of firsts) {
      const client = new RawClient(worker.url);
      const challenge = await client.next((f) => f.type === 'challenge');
      client.send(first(challenge.nonce!));
      await client.closed;
      expect(client.frames).toEqual([challenge, expect.objectContaining({ type: 'refused', code: 'unauthorized' })]);
    }
    // a request sent before the handshake completes is not served
    const eager = new RawClient(worker.url);
    eager.socket.write(Buffer.concat([encodeFrame({ id: 1, op: 'createSessionKey', sessionId: SESSION }), encodeFrame({ type: 'auth', token: TOKEN })]));
    await eager.closed;
    expect(eager.frames).toHaveLength(2);
    expect(eager.frames[0]).toMatchObject({ type: 'challenge' });
    expect(eager.frames[1]).toMatchObject({ type: 'refused' });
  });

  it('answers a malformed request by its id, and closes on one without an id or on a frame that is not JSON', async () => {
    const client = new RawClient(worker.url);
    await client.welcome();
    client.send({ id: 3, op: 'createSessionKey', sessionId: 'not-a-session' });
    client.send({ id: 4, op: 'nope' });
    expect(await client.reply(3)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(await client.reply(4)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect((await client.reply(3)).error!.message).not.toContain('not-a-session');
    client.send({ op: 'hello' });
    await client.closed;

    const garbled = new RawClient(worker.url);
    await garbled.welcome();
    const body = Buffer.from('{not json');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    garbled.socket.write(Buffer.concat([head, body]));
    await garbled.closed;
  });

  it('closes a connection that does not authenticate in time, or sends too much first', async () => {
    const silent = new RawClient(worker.url);
    const started = Date.now();
    await silent.closed;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(silent.frames).toEqual([expect.objectContaining({ type: 'challenge' })]);

    const flood = new RawClient(worker.url);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(10 * 1024 * 1024); // announces a 10 MiB frame, never buffered
    flood.socket.write(Buffer.concat([head, Buffer.alloc(8192)]));
    await flood.closed;
    expect(flood.frames).toEqual([expect.objectContaining({ type: 'challenge' })]);
  });

  it('caps the connections open at once', async () => {
    const clients = Array.from({ length: 4 }, () => new RawClient(worker.url));
    await Promise.all(clients.map((client) => client.welcome()));
    const extra = new RawClient(worker.url);
    await extra.closed;
    expect(extra.frames).toEqual([]);
    for (const client of clients) client.socket.destroy();
    await Promise.all(clients.map((client) => client.closed));
  });

  it('closes connections welcomed by an enclave that died, without answering what it lost; a reconnect is welcomed by the new one', async () => {
    const client = new RawClient(worker.url);
    const { hello } = await client.welcome();
    process.kill(hello.pid, 'SIGSTOP'); // the request below stays in the enclave
    client.send({ id: 1, op: 'createSessionKey', sessionId: 'mps_' + 'q'.repeat(26) });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(hello.pid, 'SIGKILL');
    await client.closed;
    expect(client.frames.filter((f) => f.id === 1)).toEqual([]); // lost with its enclave, not refused
    await until(() => worker.supervisor.ready(), 10_000, 'the enclave to restart');
    const again = new RawClient(worker.url);
    const welcome = await again.welcome();
    expect(welcome.hello.pid).not.toBe(hello.pid);
    expect(welcome.hello.measurement).toBe(hello.measurement);
    expect(welcome.hello.rootPem).toBe(hello.rootPem);
    again.socket.destroy();
  });

  it('close() stops listening and stops the enclave child', async () => {
    const pid = worker.supervisor.info()!.pid;
    const client = new RawClient(worker.url);
    await client.welcome();
    await worker.close();
    await client.closed;
    await until(() => !isAlive(pid), 5_000, 'the enclave child to exit');
    const late = new RawClient(worker.url);
    await late.closed;
    expect(late.frames).toEqual([]);
    expect(await readFile(join(dir, 'enclave', 'simulated-ca.json'), 'utf8')).toContain('rootSecret');
  });
});

describe('startEnclaveWorker arguments', () => {
  const base = {
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    entry: defaultEnclaveEntry(),
    stateDir: '/nonexistent',
    logger: pino({ level: 'silent' }),
  };
  it('names the argument that is wrong', async () => {
    await expect(startEnclaveWorker({ ...base, token: 'short' })).rejects.toThrow(/token must be 32/);
    await expect(startEnclaveWorker({ ...base, token: 42 as never })).rejects.toThrow(TypeError);
    await expect(startEnclaveWorker({ ...base, port: 70_000 })).rejects.toThrow(/port must be/);
    await expect(startEnclaveWorker({ ...base, host: '' })).rejects.toThrow(/host/);
    await expect(startEnclaveWorker({ ...base, entry: '' })).rejects.toThrow(/entry/);
    await expect(startEnclaveWorker({ ...base, stateDir: '' })).rejects.toThrow(/stateDir/);
    await expect(startEnclaveWorker({ ...base, maxConnections: 0 })).rejects.toThrow(/maxConnections/);
  });
});
