// The CLI's file-backed SecAggStateStore: values round-trip, files are 0600 in a 0700 directory, writes
// are atomic and durable (temporary file fsynced, renamed, directory fsynced), keys cannot escape the
// directory; withLock is exclusive across store instances and processes (lock file created 'wx', removed
// after, a dead holder's stale lock recovered, a live holder's never); two SDK instances on one state
// directory answer an unmask request once; `tenzro agent` retries what is not a refusal and sweeps the
// state of sessions that are over.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DATA_INFO, openEnvelope, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import { generateDemoData, type TransactionRecord } from '@tenzro/models';
import { SecAggUnmaskEnvelope, tenantOfParty, type UnmaskRequest } from '@tenzro/protocol';
import {
  MemorySecAggStateStore,
  SecAggError,
  SecureAggregationError,
  TenzroApiError,
  TenzroPlatform,
  secAggStateKey,
  type PartyIdentity,
  type SecAggStateStore,
} from '@tenzro/platform';
import { describe, expect, it, vi } from 'vitest';
import { MEASUREMENT, apiError, json, makeFixture } from '../../../packages/platform/src/fake-host.fixture.js';
import { makeSecAggHost, type SecAggHost } from '../../../packages/platform/src/secagg-host.fixture.js';
import { agent, isRefusal, isTransientFailure, sweepSecAggState } from './commands/agent.js';
import { FileSecAggStateStore, StateLockError } from './secagg-store.js';

// Records what the store does on disk: opens, fsyncs (of files and of the directory) and renames.
const disk = vi.hoisted(() => ({ recording: false, events: [] as string[] }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const name = (path: unknown): string => String(path).split('/').pop()!.replace(/^\.[0-9a-f]{16}\.tmp$/, 'TEMP');
  return {
    ...actual,
    open: async (path: Parameters<typeof actual.open>[0], flags?: Parameters<typeof actual.open>[1], mode?: Parameters<typeof actual.open>[2]) => {
      const handle = await actual.open(path, flags, mode);
      if (disk.recording) {
        disk.events.push(`open ${name(path)} ${String(flags)}`);
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          disk.events.push(`fsync ${name(path)}`);
          return sync();
        };
      }
      return handle;
    },
    rename: async (from: Parameters<typeof actual.rename>[0], to: Parameters<typeof actual.rename>[1]) => {
      if (disk.recording) disk.events.push(`rename ${name(from)} ${name(to)}`);
      return actual.rename(from, to);
    },
  };
});

const KEY = 'secagg/mps_abcdefghijklmnopqrstuvwxyz/party::bankA::treasury';

function freshDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'tenzro-secagg-store-')), 'state');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached');
    await sleep(10);
  }
}

/** A pid no process has now (a child that ran and exited). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

function writeLock(path: string, holder: { pid: number; host?: string }, ageMs: number): void {
  writeFileSync(path, JSON.stringify({ pid: holder.pid, host: holder.host ?? hostname(), token: 'x'.repeat(32), since: new Date().toISOString() }), { mode: 0o600 });
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
}

describe('FileSecAggStateStore', () => {
  it('round-trips values per key; a missing key loads undefined; delete removes it (twice is fine)', async () => {
    const store = new FileSecAggStateStore(freshDir());
    expect(await store.load(KEY)).toBeUndefined();
    expect(await store.keys()).toEqual([]);
    await store.save(KEY, '{"a":1}');
    await store.save(`${KEY}x`, 'other');
    expect(await store.load(KEY)).toBe('{"a":1}');
    await store.save(KEY, '{"a":2,"b":"ünïcode"}');
    expect(await store.load(KEY)).toBe('{"a":2,"b":"ünïcode"}');
    expect(await new FileSecAggStateStore(store.directory).load(KEY)).toBe('{"a":2,"b":"ünïcode"}');
    expect((await store.keys()).sort()).toEqual([KEY, `${KEY}x`]);
    await store.delete(KEY);
    await store.delete(KEY);
    expect(await store.load(KEY)).toBeUndefined();
    expect(await store.load(`${KEY}x`)).toBe('other');
    expect(await store.keys()).toEqual([`${KEY}x`]);
  });

  it('writes files mode 0600 in a directory mode 0700 (tightening an existing open directory)', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    const store = new FileSecAggStateStore(dir);
    await store.save(KEY, 'secret');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.pathOf(KEY)).mode & 0o777).toBe(0o600);
    await store.save(KEY, 'secret again');
    expect(statSync(store.pathOf(KEY)).mode & 0o777).toBe(0o600);
  });

  it('saves durably: the temporary file is fsynced before the rename, the directory after it', async () => {
    const store = new FileSecAggStateStore(freshDir());
    const file = basename(store.pathOf(KEY));
    disk.events.length = 0;
    disk.recording = true;
    try {
      await store.save(KEY, 'value');
      await store.delete(KEY);
    } finally {
      disk.recording = false;
    }
    expect(disk.events).toEqual([
      'open TEMP wx',
      'fsync TEMP',
      `rename TEMP ${file}`,
      'open state r',
      'fsync state',
      // delete: the unlink made durable too
      'open state r',
      'fsync state',
    ]);
  });

  it('replaces atomically: only the final files remain, never a temporary one', async () => {
    const store = new FileSecAggStateStore(freshDir());
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(KEY, `value ${i}`)));
    expect(readdirSync(store.directory)).toEqual([store.pathOf(KEY).split('/').pop()]);
    expect(await store.load(KEY)).toMatch(/^value \d+$/);
  });

  it('keeps every key inside its directory, and distinct keys in distinct files', async () => {
    const store = new FileSecAggStateStore(freshDir());
    for (const key of ['../../etc/passwd', '/abs', '..', 'a/b', 'a%2Fb', 'party::x']) {
      const path = store.pathOf(key);
      expect(path.startsWith(`${store.directory}/`)).toBe(true);
      expect(path.slice(store.directory.length + 1)).not.toContain('/');
      await store.save(key, 'v');
    }
    expect(store.pathOf('a/b')).not.toBe(store.pathOf('a%2Fb'));
    expect((await store.keys()).sort()).toEqual(['../../etc/passwd', '/abs', '..', 'a/b', 'a%2Fb', 'party::x'].sort());
    expect(() => store.pathOf('')).toThrow(TypeError);
  });

  it('refuses a value that is not a string and reports other read errors', async () => {
    const dir = freshDir();
    const store = new FileSecAggStateStore(dir);
    await expect(store.save(KEY, 5 as unknown as string)).rejects.toThrow(TypeError);
    mkdirSync(store.pathOf(KEY), { recursive: true }); // a directory where the file should be
    await expect(store.load(KEY)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('FileSecAggStateStore.withLock', () => {
  it('is exclusive across store instances on one directory; the lock file is gone after, also after a failure', async () => {
    const dir = freshDir();
    const stores = [new FileSecAggStateStore(dir), new FileSecAggStateStore(dir), new FileSecAggStateStore(dir)];
    let inside = 0;
    let most = 0;
    const task = (i: number) => async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(15);
      inside--;
      if (i === 2) throw new Error('failed inside');
      return i;
    };
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => stores[i % 3]!.withLock(KEY, task(i))));
    expect(most).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(readdirSync(dir)).toEqual([]);
    // Other keys are not held up.
    const held = stores[0]!.withLock(KEY, () => sleep(200));
    const start = Date.now();
    await stores[1]!.withLock(`${KEY}x`, async () => undefined);
    expect(Date.now() - start).toBeLessThan(150);
    await held;
  });

  it('recovers a stale lock whose holder is dead; never takes the lock of a live holder', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const store = new FileSecAggStateStore(dir, { staleMs: 200, acquireTimeoutMs: 600 });
    const lock = store.lockPathOf(KEY);

    writeLock(lock, { pid: deadPid() }, 10_000); // a crashed holder, long ago
    await expect(store.withLock(KEY, async () => 'mine')).resolves.toBe('mine');
    expect(readdirSync(dir)).toEqual([]);

    writeLock(lock, { pid: deadPid() }, 0); // a dead holder, just now: recovered once stale
    const start = Date.now();
    await expect(store.withLock(KEY, async () => 'mine')).resolves.toBe('mine');
    expect(Date.now() - start).toBeGreaterThanOrEqual(150);

    writeLock(lock, { pid: process.pid }, 10_000); // alive (this process), however old
    const error = await store.withLock(KEY, async () => 'stolen').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateLockError);
    expect(error).toMatchObject({ code: 'state_locked', lockPath: lock });
    expect((error as Error).message).toMatch(new RegExp(`process ${process.pid}`));

    writeLock(lock, { pid: process.pid, host: 'another-host.example' }, 10_000); // another host, untouched: stale
    await expect(store.withLock(KEY, async () => 'mine')).resolves.toBe('mine');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps a lock held longer than staleMs fresh, so nobody takes it', async () => {
    const dir = freshDir();
    const a = new FileSecAggStateStore(dir, { staleMs: 90 });
    const b = new FileSecAggStateStore(dir, { staleMs: 90, acquireTimeoutMs: 5_000 });
    const order: string[] = [];
    const long = a.withLock(KEY, async () => {
      order.push('a in');
      await sleep(400);
      order.push('a out');
    });
    await sleep(20);
    await b.withLock(KEY, async () => {
      order.push('b in');
    });
    await long;
    expect(order).toEqual(['a in', 'a out', 'b in']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The SDK (as the CLI uses it, @tenzro/platform) on this store, against the in-memory secure-aggregation host.

const SCHEMA = 'transaction_records_v1';
const demo = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 100, seed: 5 });
const recordsOf = (party: PartyIdentity): TransactionRecord[] => demo.partitions[tenantOfParty(party.partyId)]!;
const banksOf = (host: SecAggHost): PartyIdentity[] => [host.fixture.bankA, host.fixture.bankB, host.fixture.bankC!];

function sdk(host: SecAggHost, party: PartyIdentity, store: SecAggStateStore, fetch?: typeof globalThis.fetch): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: tenantOfParty(party.partyId),
    baseUrl: 'http://host.test',
    party,
    trustedRoots: [host.fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fetch ?? ((input, init) => host.fixture.fetch(input, init)),
    secAggStateStore: store,
  });
}

/** bankA on `storeA`, the others on memory stores, contribute together. */
async function contributeAll(host: SecAggHost, storeA: SecAggStateStore): Promise<TenzroPlatform[]> {
  const banks = banksOf(host);
  const platforms = banks.map((bank, i) => sdk(host, bank, i === 0 ? storeA : new MemorySecAggStateStore()));
  await Promise.all(banks.map((bank, i) => platforms[i]!.ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(bank), dataSchema: SCHEMA })));
  return platforms;
}

/** A fetch that shows this SDK `request` as the run's unmask request and claims nobody answered yet. */
function lyingFetch(host: SecAggHost, request: UnmaskRequest): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await host.fixture.fetch(input, init);
    if ((init?.method ?? 'GET') !== 'GET' || !new URL(String(input)).pathname.endsWith('/secagg')) return response;
    const round = (await response.json()) as { unmaskRequest: { runId: string; request: UnmaskRequest } | null; unmasked: string[] };
    if (round.unmaskRequest !== null) round.unmaskRequest = { ...round.unmaskRequest, request };
    round.unmasked = [];
    return new Response(JSON.stringify(round), { status: response.status });
  }) as typeof globalThis.fetch;
}

describe('two SDK instances (two processes) on one state directory', () => {
  it('shown two different unmask requests at once, bankA produces one answer and refuses the other request', async () => {
    const host = await makeSecAggHost();
    const dir = freshDir();
    await contributeAll(host, new FileSecAggStateStore(dir));
    const [a, b, c] = banksOf(host).map((x) => x.partyId) as [string, string, string];
    const honest = host.startRun('run_1');
    const lying: UnmaskRequest = { ...honest, selfMaskShares: [a, b], pairwiseKeyShares: [c] };
    // Two "processes": two SDK instances, each with its own store object on the same directory.
    const settled: PromiseSettledResult<unknown>[] = [];
    for (const request of [honest, lying]) {
      sdk(host, host.fixture.bankA, new FileSecAggStateStore(dir), lyingFetch(host, request))
        .ai.participate(host.fixture.sessionId)
        .then((value) => settled.push({ status: 'fulfilled', value }), (reason: unknown) => settled.push({ status: 'rejected', reason }));
    }
    await until(() => settled.length === 1);
    expect(settled[0]).toMatchObject({ status: 'rejected' });
    const refusal = (settled[0] as PromiseRejectedResult).reason as SecAggError;
    expect(refusal).toBeInstanceOf(SecAggError);
    expect(refusal.code).toBe('both_shares_requested');
    host.finishRun('completed');
    await until(() => settled.length === 2);
    expect(settled[1]).toMatchObject({ status: 'fulfilled', value: { status: 'completed', answeredRuns: ['run_1'] } });
    const answers = new Set<string>();
    for (const post of host.unmaskPosts.filter((p) => p.partyId === a)) {
      const envelope = SecAggUnmaskEnvelope.parse(parseStrictJson(utf8Decode(await openEnvelope(host.fixture.sessionKey.privateKey, post.bytes, { info: DATA_INFO }))));
      answers.add(JSON.stringify(envelope.unmask));
    }
    expect(answers.size).toBe(1);
    // No lock file left behind; the completed session's state is gone.
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('tenzro agent', () => {
  it('classifies failures: refusals end a session, host trouble is retried', () => {
    expect(isRefusal(new SecAggError('both_shares_requested', 'unmask', 'no'))).toBe(true);
    expect(isRefusal(new SecureAggregationError('no_state', 'no'))).toBe(true);
    expect(isRefusal(new TenzroApiError('enclave_unavailable', 'down'))).toBe(false);
    expect(isTransientFailure(new TenzroApiError('network_error', 'reset', { status: 0 }))).toBe(true);
    expect(isTransientFailure(new TenzroApiError('invalid_response', 'HTTP 503 without an error body', { status: 503 }))).toBe(true);
    expect(isTransientFailure(new TenzroApiError('rate_limited', 'slow down'))).toBe(true);
    expect(isTransientFailure(new StateLockError('/x.lock', 'held'))).toBe(true);
    expect(isTransientFailure(new TenzroApiError('forbidden', 'no'))).toBe(false);
    expect(isTransientFailure(new TenzroApiError('aborted', 'stop', { status: 0 }))).toBe(false);
  });

  it('--once: a failure that is not a refusal is served again; the answer is sent; the state of ended and gone sessions is swept', async () => {
    const host = await makeSecAggHost();
    const dir = freshDir();
    const store = new FileSecAggStateStore(dir);
    const platforms = await contributeAll(host, store);
    const [a, b] = banksOf(host).map((x) => x.partyId) as [string, string, string];
    // Leftovers in the state directory: a session that completed, one the host no longer knows, and
    // another party's record (not the agent's to sweep).
    const completed = await makeFixture({ minParticipants: 2 });
    const goneKey = secAggStateKey('mps_abcdefghijklmnopqrstuvwxyz', a);
    const completedKey = secAggStateKey(completed.sessionId, a);
    const othersKey = secAggStateKey(completed.sessionId, b);
    for (const key of [goneKey, completedKey, othersKey]) await store.save(key, '{"left":"over"}');
    host.fixture.routes.set('GET /v1/sessions', () =>
      json(200, { sessions: [{ ...host.fixture.session, status: host.sessionStatus }, { ...completed.session, status: 'completed' }] }),
    );

    // The agent's SDK: the first fetch of the session record is refused (403, not a refusal of the round).
    let sessionGets = 0;
    const agentFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if ((init?.method ?? 'GET') === 'GET' && new URL(String(input)).pathname === `/v1/sessions/${host.fixture.sessionId}` && ++sessionGets === 1) {
        return apiError(403, 'forbidden', 'not now');
      }
      return host.fixture.fetch(input, init);
    }) as typeof globalThis.fetch;
    const platform = sdk(host, host.fixture.bankA, new FileSecAggStateStore(dir), agentFetch);

    host.startRun('run_1');
    const others = platforms.slice(1).map((p) => p.ai.participate(host.fixture.sessionId));
    const lines: string[] = [];
    const running = agent({ client: { platform, partyId: a }, stateDir: dir, once: true, interval: 0.05, log: (line) => lines.push(line) });
    await until(() => host.unmasked.size === 3);
    host.finishRun('completed');
    await expect(running).resolves.toBe(0);
    await Promise.all(others);

    const text = lines.join('\n');
    expect(text).toMatch(/failed \[forbidden\] not now; serving it again at the next listing/);
    expect(text).toMatch(/\(attempt 2\)/);
    expect(text).toMatch(/answered the unmask request of run run_1/);
    expect(text).toMatch(new RegExp(`${host.fixture.sessionId}: completed`));
    expect(text).toMatch(/deleted the saved secure-aggregation state \(session completed\)/);
    expect(text).toMatch(/deleted the saved secure-aggregation state \(session gone\)/);
    expect(posts(host, a)).toBe(1);
    expect((await store.keys()).sort()).toEqual([othersKey]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('sweepSecAggState keeps the state of open sessions and of sessions it cannot check', async () => {
    const host = await makeSecAggHost();
    const dir = freshDir();
    const store = new FileSecAggStateStore(dir);
    const a = host.fixture.bankA.partyId;
    const openKey = secAggStateKey(host.fixture.sessionId, a);
    const unknownKey = secAggStateKey('mps_abcdefghijklmnopqrstuvwxyz', a);
    await store.save(openKey, 'x');
    await store.save(unknownKey, 'y');
    host.fixture.routes.set('GET /v1/sessions/mps_abcdefghijklmnopqrstuvwxyz', () => apiError(503, 'enclave_unavailable', 'down'));
    const lines: string[] = [];
    const swept = await sweepSecAggState({
      store,
      platform: sdk(host, host.fixture.bankA, store),
      partyId: a,
      listed: new Map(), // the open session is not listed: looked up, status 'created'
      log: (line) => lines.push(line),
    });
    expect(swept).toEqual([]);
    expect((await store.keys()).sort()).toEqual([openKey, unknownKey].sort());
    expect(lines.join('\n')).toMatch(/cannot check whether the session is over, its state is kept \[enclave_unavailable\]/);
  });
});

function posts(host: SecAggHost, partyId: string): number {
  return host.fixture.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/secagg/unmask') && r.headers['x-tenzro-party-id'] === partyId).length;
}
