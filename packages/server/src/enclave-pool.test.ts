// The enclave pool over REAL enclave workers: `node apps/cli/dist/main.js enclave-worker --port 0`
// processes (build first: npx tsc -b) sharing one state directory. Two workers started at once on an empty
// directory share one CA; a key sealed through one worker is attested and refused after destruction through
// the other; a wrong token, a worker of another measurement, kill -9 of a worker and a restart on the same
// port are each handled as DESIGN says.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, generateEncryptionKeyPair, generateSigningKeyPair, toBase64Url } from '@tenzro/crypto';
import {
  encodeFrame,
  SESSION_TERMS_TYPE,
  computeSessionId,
  normalizeDataPolicy,
  sessionKeyUserData,
  verifyAttestation,
  type SessionTerms,
} from '@tenzro/protocol';
import { EnclaveCallError, type EnclaveInfo } from './enclave-client.js';
import { isEnclaveLost } from './enclave-lost.js';
import { EnclavePool, type EnclavePoolOptions } from './enclave-pool.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');
const gguf = join(repoRoot, 'test', 'fixtures', 'models', 'stories260K.gguf');
const TOKEN = randomBytes(32).toString('base64url');
const READY_LINE = /^enclave worker listening on (tcp:\/\/127\.0\.0\.1:(\d+)) measurement=([0-9a-f]{96})$/m;

interface Worker {
  child: ChildProcess;
  url: string;
  port: number;
  measurement: string;
  exited: Promise<number | null>;
  output: () => string;
}

let root: string;
let stateDir: string;
const running = new Set<ChildProcess>();

/** The environment of a worker: this one's, minus anything that would change its enclave, plus `extra`. */
function workerEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TENZRO_')) env[name] = value;
  }
  return { ...env, TENZRO_LOG_LEVEL: 'info', ...extra };
}

function runCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const chunks: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (text: string) => chunks.push(text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => chunks.push(text));
  const exited = new Promise<number | null>((resolvePromise) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolvePromise(code);
    }),
  );
  return { child, exited, output: () => chunks.join('') };
}

/** Starts `tenzro enclave-worker` and resolves once it printed its ready line. */
async function startWorker(options: { port?: number; env?: Record<string, string> } = {}): Promise<Worker> {
  const env = workerEnv({ TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN, TENZRO_ENCLAVE_STATE_DIR: stateDir, ...options.env });
  const { child, exited, output } = runCli(['enclave-worker', '--port', String(options.port ?? 0)], env);
  const deadline = Date.now() + 20_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? -1));
  for (;;) {
    const match = READY_LINE.exec(output());
    if (match) return { child, url: match[1]!, port: Number(match[2]), measurement: match[3]!, exited, output };
    if (exitCode !== undefined) throw new Error(`the worker exited (${exitCode}) before it was ready:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`the worker was not ready in time:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A pool whose log lines are kept, parsed. */
function poolOf(workers: string[], options: Partial<EnclavePoolOptions> = {}): { pool: EnclavePool; log: Record<string, any>[] } {
  const log: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') log.push(JSON.parse(line) as Record<string, any>);
      callback();
    },
  });
  const pool = new EnclavePool({ workers, token: TOKEN, logger: pino({ level: 'debug' }, sink), initialBackoffMs: 100, maxBackoffMs: 400, ...options });
  return { pool, log };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Alive and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function sessionFor(info: EnclaveInfo): Promise<{ terms: SessionTerms; sessionId: string }> {
  const model = info.models.find((m) => m.modelId === 'risk-analyzer-v2') ?? info.models[0]!;
  const participants = await Promise.all(
    ['bankA', 'bankB'].map(async (bank) => ({
      partyId: `party::${bank}::treasury`,
      signingKey: toBase64Url(generateSigningKeyPair().publicKey),
      encryptionKey: toBase64Url((await generateEncryptionKeyPair()).publicKey),
    })),
  );
  const now = Date.now();
  const terms: SessionTerms = {
    type: SESSION_TERMS_TYPE,
    tenantId: 'bankA',
    name: 'enclave pool test session',
    description: 'built by enclave-pool.test.ts',
    modelId: model.modelId,
    modelDigest: model.modelDigest,
    participants,
    observers: [],
    dataPolicy: normalizeDataPolicy({}, participants.length),
    expiresAt: new Date(now + 3600_000).toISOString(),
    createdAt: new Date(now).toISOString(),
    nonce: toBase64Url(randomBytes(16)),
  };
  return { terms, sessionId: computeSessionId(terms) };
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: Error & { code?: string }) => error,
  );
}

describe('EnclavePool over real enclave workers', () => {
  let a: Worker;
  let b: Worker;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tenzro-enclave-pool-'));
    stateDir = join(root, 'enclave'); // empty: the two workers race to create the simulated CA
    [a, b] = await Promise.all([startWorker(), startWorker()]);
  });
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await rm(root, { recursive: true, force: true });
  });

  it('accepts two workers started at once on an empty state directory and spreads calls over them', async () => {
    const { pool } = poolOf([a.url, b.url]);
    try {
      const info = await pool.start();
      await until(() => pool.workers().every((w) => w.ready), 5_000, 'both workers');
      expect(a.measurement).toBe(b.measurement);
      expect(info.measurement).toBe(a.measurement);
      expect(pool.ready()).toBe(true);
      const sessions = ['c', 'd', 'e', 'f'].map((ch) => 'mps_' + ch.repeat(26));
      const calls = sessions.map((sessionId) => pool.call('createSessionKey', { sessionId }));
      expect(pool.workers().map((w) => w.outstanding)).toEqual([2, 2]);
      expect(pool.workers().map((w) => w.measurement)).toEqual([a.measurement, a.measurement]);
      const keys = await Promise.all(calls);
      expect(new Set(keys.map((k) => k.publicKey)).size).toBe(4);
      expect(pool.workers().map((w) => w.outstanding)).toEqual([0, 0]);
    } finally {
      await pool.close();
    }
  });

  it('a key sealed through one worker is attested through the other, and refused there once destroyed', async () => {
    const onlyA = poolOf([a.url]).pool;
    const onlyB = poolOf([b.url]).pool;
    try {
      const [infoA, infoB] = await Promise.all([onlyA.start(), onlyB.start()]);
      expect(infoA.pid).not.toBe(infoB.pid);
      expect(infoA.rootPem).toBe(infoB.rootPem); // one simulated CA, although both were created at once
      const { terms, sessionId } = await sessionFor(infoA);
      const created = await onlyA.call('createSessionKey', { sessionId });
      const attested = await onlyB.call('attestSessionKey', { sessionId, sealedKey: created.sealedKey, terms });
      expect(attested.publicKey).toBe(created.publicKey);
      await verifyAttestation(fromBase64Url(attested.attestation), {
        roots: [infoA.rootPem],
        expectedMeasurements: [infoA.measurement],
        expectedPublicKey: fromBase64Url(created.publicKey),
        expectedUserData: sessionKeyUserData(sessionId),
      });

      await onlyA.call('destroySessionKey', { sessionId, reason: 'expired', ciphertexts: [] });
      const refused = await failure(onlyB.call('attestSessionKey', { sessionId, sealedKey: created.sealedKey, terms }));
      expect(refused).toBeInstanceOf(EnclaveCallError);
      expect(refused.code).toBe('data_deleted');
    } finally {
      await Promise.all([onlyA.close(), onlyB.close()]);
    }
  });

  it('a key destruction reaches every ready worker, so none keeps the unsealed key in memory', async () => {
    const both = poolOf([a.url, b.url]).pool;
    const onlyA = poolOf([a.url]).pool;
    const onlyB = poolOf([b.url]).pool;
    try {
      await Promise.all([both.start(), onlyA.start(), onlyB.start()]);
      await until(() => both.workers().every((w) => w.ready), 10_000, 'both workers ready');
      const { terms, sessionId } = await sessionFor(both.info()!);
      const created = await onlyA.call('createSessionKey', { sessionId });
      // both enclaves now hold the unsealed key
      await onlyB.call('attestSessionKey', { sessionId, sealedKey: created.sealedKey, terms });
      const before = [a.output(), b.output()].map((text) => text.split('"op":"destroySessionKey"').length);
      await both.call('destroySessionKey', { sessionId, reason: 'expired', ciphertexts: [] });
      await until(
        () => [a.output(), b.output()].every((text, i) => text.split('"op":"destroySessionKey"').length > before[i]!),
        5_000,
        'each worker to log the destruction',
      );
    } finally {
      await Promise.all([both.close(), onlyA.close(), onlyB.close()]);
    }
  });

  it('something answering at a worker address that does not know the token learns nothing and is refused', async () => {
    // A squatter on a worker's port: it challenges the pool, records what it is sent, and greets with a
    // made-up proof over a hello copied from a real worker.
    const received: Buffer[] = [];
    const real = poolOf([a.url]).pool;
    const hello = await real.start();
    await real.close();
    const squatter = createServer((socket) => {
      socket.write(encodeFrame({ type: 'challenge', nonce: randomBytes(32).toString('base64url') }));
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        const { pid, ...rest } = hello;
        socket.write(encodeFrame({ type: 'welcome', hello: { ...rest, pid }, proof: randomBytes(32).toString('base64url') }));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
    const port = (squatter.address() as { port: number }).port;
    const { pool, log } = poolOf([`tcp://127.0.0.1:${port}`], { readyWaitMs: 1_500 });
    try {
      const refused = await failure(pool.call('createSessionKey', { sessionId: 'mps_' + 'z'.repeat(26) }));
      expect(refused.code).toBe('enclave_unavailable');
      expect(pool.workers()[0]!.state).toBe('refused');
      expect(log.some((l) => /could not prove it knows the token/.test(String(l.msg)))).toBe(true);
      const sent = Buffer.concat(received);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.includes(Buffer.from(TOKEN))).toBe(false); // the token never crosses the wire
      expect(sent.toString('utf8')).not.toContain('createSessionKey'); // nor does any request
    } finally {
      await pool.close();
      await new Promise((r) => squatter.close(r));
    }
  });

  it('a wrong token is refused: the pool logs it once, keeps retrying, and refuses calls after readyWaitMs', async () => {
    const wrong = 'w'.repeat(40);
    const { pool, log } = poolOf([a.url], { token: wrong, readyWaitMs: 800 });
    try {
      const started = Date.now();
      const error = await failure(pool.call('createSessionKey', { sessionId: 'mps_' + 'g'.repeat(26) }));
      expect(error.code).toBe('enclave_unavailable');
      expect(Date.now() - started).toBeGreaterThanOrEqual(750);
      expect(pool.workers()[0]).toMatchObject({ url: a.url, state: 'refused', ready: false, outstanding: 0 });
      expect(pool.ready()).toBe(false);
      const refusals = log.filter((line) => line.level === 50 && /refused the token/.test(line.msg));
      expect(refusals).toHaveLength(1); // once, not at every retry
      expect(JSON.stringify(log)).not.toContain(wrong);
      expect(a.output()).not.toContain(wrong);
    } finally {
      await pool.close();
    }
  });

  it('kill -9 of a worker: its outstanding calls fail at once, the next go to the other, and its enclave exits', async () => {
    const probe = poolOf([a.url]).pool;
    const enclavePid = (await probe.start()).pid;
    await probe.close();
    expect(isAlive(enclavePid)).toBe(true);

    const { pool } = poolOf([a.url, b.url]);
    try {
      await pool.start();
      await until(() => pool.workers().every((w) => w.ready), 5_000, 'both workers');
      a.child.kill('SIGSTOP'); // a's calls stay outstanding
      const settled: { at: number; error?: Error & { code?: string } }[] = [];
      const calls = ['h', 'i', 'j', 'k'].map((ch) =>
        pool.call('createSessionKey', { sessionId: 'mps_' + ch.repeat(26) }).then(
          () => settled.push({ at: Date.now() }),
          (error: Error) => settled.push({ at: Date.now(), error }),
        ),
      );
      await until(() => settled.length === 2, 5_000, "b's calls");
      expect(pool.workers().map((w) => w.outstanding)).toEqual([2, 0]);
      const killedAt = Date.now();
      a.child.kill('SIGKILL');
      await Promise.all(calls);
      const failed = settled.filter((s) => s.error);
      expect(failed).toHaveLength(2);
      for (const { at, error } of failed) {
        expect(error!.code).toBe('enclave_unavailable');
        expect(isEnclaveLost(error)).toBe(true); // may be sent again: jobs.ts requeues such a run
        expect(error!.message).toMatch(new RegExp(`the enclave worker ${a.url} stopped while handling createSessionKey`));
        expect(at - killedAt).toBeLessThan(2_000);
      }
      expect(pool.workers()[0]).toMatchObject({ ready: false, outstanding: 0 });
      // the next calls go to the other worker
      const next = await Promise.all(['l', 'm', 'n'].map((ch) => pool.call('createSessionKey', { sessionId: 'mps_' + ch.repeat(26) })));
      expect(next).toHaveLength(3);
      // the dead worker's enclave saw its stdin close and exited
      await until(() => !isAlive(enclavePid), 5_000, "the killed worker's enclave to exit");
      expect(await a.exited).toBe(null);
    } finally {
      await pool.close();
    }
  });

  it('refuses a worker of another measurement (logged with both) and keeps using the others', async () => {
    const port = await freePort();
    const otherUrl = `tcp://127.0.0.1:${port}`;
    const { pool, log } = poolOf([b.url, otherUrl]);
    let other: Worker | undefined;
    try {
      await pool.start(); // b is the first accepted: its measurement is the pool's
      other = await startWorker({ port, env: { TENZRO_LLM_GGUF: gguf } });
      expect(other.measurement).not.toBe(b.measurement);
      await until(() => pool.workers()[1]!.state === 'refused', 10_000, 'the other worker to be refused');
      expect(pool.workers()[1]).toMatchObject({ url: otherUrl, ready: false, measurement: other.measurement, outstanding: 0 });
      const refusal = log.find((line) => line.level === 50 && /measurement is not the pool/.test(line.msg));
      expect(refusal).toMatchObject({ worker: otherUrl, expected: b.measurement, measurement: other.measurement });
      const keys = await Promise.all(['o', 'p', 'q'].map((ch) => pool.call('createSessionKey', { sessionId: 'mps_' + ch.repeat(26) })));
      expect(keys).toHaveLength(3);
      expect(pool.info()!.measurement).toBe(b.measurement);

      // with expectedMeasurement, even a pool of that worker alone never uses it
      const pinned = poolOf([otherUrl], { expectedMeasurement: b.measurement, readyWaitMs: 500 }).pool;
      try {
        expect((await failure(pinned.start())).code).toBe('enclave_unavailable');
        expect(pinned.workers()[0]).toMatchObject({ state: 'refused', measurement: other.measurement });
        expect(pinned.info()).toBeUndefined();
      } finally {
        await pinned.close();
      }
    } finally {
      await pool.close();
      other?.child.kill('SIGTERM');
      if (other) expect(await other.exited).toBe(0);
    }
  });

  it('reconnects after a worker restarts on the same port; a call made meanwhile waits for it', async () => {
    const { pool } = poolOf([b.url]);
    try {
      const before = await pool.start();
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      await until(() => !pool.ready(), 5_000, 'the pool to notice');
      await until(() => !isAlive(before.pid), 5_000, "the stopped worker's enclave to exit");
      const waiting = pool.call('createSessionKey', { sessionId: 'mps_' + 'r'.repeat(26) });
      b = await startWorker({ port: b.port });
      const key = await waiting;
      expect(key.sealedKey).toEqual(expect.any(String));
      expect(pool.workers()[0]).toMatchObject({ url: b.url, ready: true, measurement: before.measurement });
    } finally {
      await pool.close();
    }
  });
});

describe('tenzro enclave-worker refuses a bad environment', () => {
  it('exits 2 naming the variable, and never prints the token', async () => {
    const shortToken = 'secret-'.repeat(4); // 28 characters
    const cases: [Record<string, string>, RegExp][] = [
      [{ TENZRO_ENCLAVE_STATE_DIR: '/tmp/x' }, /TENZRO_ENCLAVE_WORKER_TOKEN must be set/],
      [{ TENZRO_ENCLAVE_WORKER_TOKEN: shortToken, TENZRO_ENCLAVE_STATE_DIR: '/tmp/x' }, /TENZRO_ENCLAVE_WORKER_TOKEN must be at least 32/],
      [{ TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN }, /TENZRO_ENCLAVE_STATE_DIR must name/],
      [{ TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN, TENZRO_ENCLAVE_STATE_DIR: '/tmp/x', TENZRO_ENCLAVE_ENTRY: '/nonexistent/main.js' }, /TENZRO_ENCLAVE_ENTRY names no file/],
      [{ TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN, TENZRO_ENCLAVE_STATE_DIR: '/tmp/x', TENZRO_LOG_LEVEL: 'loud' }, /TENZRO_LOG_LEVEL must be one of/],
    ];
    await Promise.all(
      cases.map(async ([extra, message]) => {
        const env = workerEnv({});
        delete env.TENZRO_LOG_LEVEL;
        const { exited, output } = runCli(['enclave-worker', '--port', '0'], { ...env, ...extra });
        expect(await exited).toBe(2);
        expect(output()).toMatch(message);
        expect(output()).not.toContain(shortToken);
        expect(output()).not.toContain(TOKEN);
      }),
    );
  });
});

describe('EnclavePool arguments', () => {
  const logger = pino({ level: 'silent' });
  const base = { workers: ['tcp://127.0.0.1:7400'], token: TOKEN, logger };
  it('names the argument that is wrong', () => {
    expect(() => new EnclavePool({ ...base, workers: 'tcp://127.0.0.1:7400' as never })).toThrow(/workers must be an array/);
    expect(() => new EnclavePool({ ...base, workers: [] })).toThrow(/at least one/);
    for (const bad of ['http://127.0.0.1:7400', 'tcp://127.0.0.1', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:7400/x', 'tcp://u@127.0.0.1:7400', '127.0.0.1:7400']) {
      expect(() => new EnclavePool({ ...base, workers: ['tcp://127.0.0.1:7401', bad] }), bad).toThrow(/workers\[1\] must be a tcp:\/\/host:port/);
    }
    expect(() => new EnclavePool({ ...base, workers: [42 as never] })).toThrow(TypeError);
    expect(() => new EnclavePool({ ...base, workers: ['tcp://127.0.0.1:7400', 'tcp://127.0.0.1:7400'] })).toThrow(/twice/);
    expect(() => new EnclavePool({ ...base, token: 'x'.repeat(31) })).toThrow(/token must be 32/);
    expect(() => new EnclavePool({ ...base, token: undefined as never })).toThrow(TypeError);
    expect(() => new EnclavePool({ ...base, readyWaitMs: 0 })).toThrow(/readyWaitMs/);
    expect(() => new EnclavePool({ ...base, maxBackoffMs: Number.NaN })).toThrow(/maxBackoffMs/);
    expect(() => new EnclavePool({ ...base, expectedMeasurement: 'AB'.repeat(48) })).toThrow(/expectedMeasurement/);
    expect(() => new EnclavePool({ ...base, workers: ['tcp://[::1]:7400'] })).not.toThrow();
  });

  it('does nothing before it is used, and refuses calls once closed', async () => {
    const pool = new EnclavePool(base);
    expect(pool.workers()).toEqual([{ url: base.workers[0], state: 'down', ready: false, outstanding: 0 }]);
    await pool.close();
    const error = await failure(pool.call('createSessionKey', { sessionId: 'mps_' + 'a'.repeat(26) }));
    expect(error.code).toBe('enclave_unavailable');
    expect(pool.workers()[0]!.state).toBe('closed');
  });
});
