// Live session events across server instances (issue 8): two servers on one throwaway PostgreSQL cluster
// (one database, one data directory), and a browser-like SSE client connected to instance B hears of
// changes made through instance A, through NOTIFY in the audit entry's transaction and B's LISTEN
// connection. Pinned here: delivery within a bound with the right status, nothing to another tenant,
// nothing before commit and nothing for a rollback, a resync and a working stream again after B's LISTEN
// backend is terminated, and no connection left behind when a server closes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consent, createTestSession, demoData, startTestServer, submitValid, type DemoName, type TestServer } from './harness.fixture.js';
import { openEventStream, type CollectedStream } from './event-stream.fixture.js';
import { createDatabase } from './db/database.js';
import { createLogger } from './logger.js';
import { postgresAvailability, startPostgres, type PostgresCluster } from './postgres.fixture.js';
import { SessionChangeListenerError, listenForSessionChanges } from './session-change-listener.js';
import { SESSION_CHANGES_CHANNEL, createSessionChangeBus, publishSessionChange } from './session-changes.js';

const availability = postgresAvailability();
const skip = !availability.available;
const LISTENER = 'tenzro-session-changes';
/** How long a change may take from instance A's answer to instance B's stream. */
const DELIVERY_BOUND_MS = 3_000;
/** B reopens its LISTEN connection only after this long: a change made meanwhile is missed and resynced. */
const B_BACKOFF_MS = 3_000;

let cluster: PostgresCluster | undefined;
let dataDir: string;
let a: TestServer | undefined;
let b: TestServer | undefined;
/** An observer connection of the test's own (not a server's). */
let admin: pg.Client | undefined;
/** A's LISTEN backend (the only one before B starts). */
let aListenerPid: number;

async function listenerPids(): Promise<number[]> {
  const result = await admin!.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and application_name = $1 order by pid',
    [LISTENER],
  );
  return result.rows.map((r) => r.pid);
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  if (skip) return;
  cluster = await startPostgres();
  dataDir = await mkdtemp(join(tmpdir(), 'tenzro-pg-events-test-'));
  admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  // A bootstraps the demo tenants; B, on the same database and data directory, finds them and their keys.
  a = await startTestServer({ databaseUrl: cluster.url, dataDir, start: { listen: true } });
  const aListener = await listenerPids();
  expect(aListener).toHaveLength(1);
  aListenerPid = aListener[0]!;
  b = await startTestServer({ databaseUrl: cluster.url, dataDir, start: { listen: true, sessionChangeBackoff: { initialMs: B_BACKOFF_MS, maxMs: B_BACKOFF_MS } } });
  expect(b.credentials.parties.map((p) => p.apiKey)).toEqual(a.credentials.parties.map((p) => p.apiKey));
}, 180_000);

afterAll(async () => {
  await b?.close().catch(() => undefined);
  await a?.close().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await cluster?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Opens a stream on `server` as `who` and collects its events, each with the time it arrived. */
function open(server: TestServer, who: DemoName, path: string): Promise<CollectedStream> {
  return openEventStream(`${server.server.url}${path}`, server.headers(who), { stampArrival: true });
}

/** Waits for `status` on the stream and returns how long after `since` it arrived. */
async function delivered(stream: Awaited<ReturnType<typeof open>>, sessionId: string, status: string, since: number): Promise<number> {
  await stream.until((e) => e.some((x) => x.sessionId === sessionId && x.status === status && x.receivedAt >= since), status, DELIVERY_BOUND_MS);
  return stream.events.find((x) => x.sessionId === sessionId && x.status === status && x.receivedAt >= since)!.receivedAt - since;
}

describe.skipIf(skip)(`live events across instances on PostgreSQL${skip ? ` (skipped: ${availability.available ? '' : availability.reason})` : ''}`, () => {
  it('a change made through instance A reaches a stream on instance B with the right status; another tenant hears nothing', async () => {
    const [A, B] = [a!, b!];
    expect(A.server.ctx.dialect.name).toBe('postgres');
    expect(A.server.url).not.toBe(B.server.url);
    const bankC = await open(B, 'bankC', '/v1/events');
    const bankBAll = await open(B, 'bankB', '/v1/events');
    expect(bankC.response.status).toBe(200);
    await bankBAll.until(() => true, 'open');

    let since = Date.now();
    const session = await createTestSession(A, { participants: ['bankA', 'bankB'], observers: [] });
    const latencies: number[] = [await delivered(bankBAll, session.id, 'created', since)];

    const stream = await open(B, 'bankA', `/v1/sessions/${session.id}/events`);
    expect(stream.response.status).toBe(200);
    await stream.until((e) => e.length >= 1, 'the initial event');
    expect(stream.events[0]).toMatchObject({ type: 'session.updated', sessionId: session.id, status: 'created' });

    expect((await submitValid(A, 'bankA', session.id, demoData('bankA'))).statusCode).toBe(201);
    since = Date.now();
    expect((await submitValid(A, 'bankB', session.id, demoData('bankB'))).statusCode).toBe(201);
    latencies.push(await delivered(stream, session.id, 'awaiting_consent', since));
    await consent(A, 'bankA', session.id);
    since = Date.now();
    expect(A.json(await consent(A, 'bankB', session.id)).status).toBe('ready');
    latencies.push(await delivered(stream, session.id, 'ready', since));
    latencies.push(await delivered(bankBAll, session.id, 'ready', since));
    for (const event of stream.events) expect(Object.keys(event).sort()).toEqual(['at', 'event', 'receivedAt', 'sessionId', 'status', 'type']);
    console.info(`cross-instance delivery, from the request to A to the event on B (ms): ${latencies.join(', ')}`);

    // bankC is on neither roster: its stream on B never names the session, B's rereads wrote nothing to the
    // session's trail on bankC's behalf, and bankC cannot open the session's own stream.
    await new Promise((r) => setTimeout(r, 600));
    expect(bankC.events.some((e) => e.sessionId === session.id)).toBe(false);
    const trail = await A.server.ctx.db.selectFrom('audit_events').select('actor_tenant').where('session_id', '=', session.id).execute();
    expect(trail.filter((e) => e.actor_tenant === 'bankC')).toEqual([]);
    const outsider = await open(B, 'bankC', `/v1/sessions/${session.id}/events`);
    expect(outsider.response.status).toBe(404);
    for (const s of [bankC, bankBAll, stream]) s.close();
  });

  it('a notice is delivered at commit, never before it and never for a rollback; a payload that is not a session id is ignored', async () => {
    const [A, B] = [a!, b!];
    const session = await createTestSession(A);
    const stream = await open(B, 'bankA', `/v1/sessions/${session.id}/events`);
    await stream.until((e) => e.length >= 1, 'the initial event');

    await expect(
      A.server.ctx.db.transaction().execute(async (trx) => {
        await publishSessionChange(trx, session.id);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await sql`select pg_notify(${SESSION_CHANGES_CHANNEL}, 'not a session id')`.execute(A.server.ctx.db);
    await new Promise((r) => setTimeout(r, 700));
    expect(stream.events).toHaveLength(1);

    let committedAt = 0;
    await A.server.ctx.db.transaction().execute(async (trx) => {
      await publishSessionChange(trx, session.id);
      await new Promise((r) => setTimeout(r, 700));
      expect(stream.events).toHaveLength(1); // queued, not delivered: the transaction is still open
      committedAt = Date.now();
    });
    await stream.until((e) => e.length >= 2, 'the committed notice', DELIVERY_BOUND_MS);
    expect(stream.events[1]).toMatchObject({ sessionId: session.id, status: 'created' });
    expect(stream.events[1].receivedAt).toBeGreaterThanOrEqual(committedAt);
    stream.close();
  });

  it("B's LISTEN connection comes back after pg_terminate_backend: a change missed meanwhile is resynced, and later ones flow", async () => {
    const [A, B] = [a!, b!];
    const session = await createTestSession(A);
    const stream = await open(B, 'bankA', `/v1/sessions/${session.id}/events`);
    const all = await open(B, 'regulator', '/v1/events');
    await stream.until((e) => e.length >= 1, 'the initial event');
    await all.until((e) => e.some((x) => x.sessionId === session.id), 'the listed session');

    // B's listener is the one that is not A's.
    const before = await listenerPids();
    expect(before).toHaveLength(2);
    expect(before).toContain(aListenerPid);
    const bPid = before.find((pid) => pid !== aListenerPid)!;
    const terminated = await admin!.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [bPid]);
    expect(terminated.rows[0]?.ok).toBe(true);
    await waitFor(listenerPids, (pids) => !pids.includes(bPid), 'the terminated listener to leave');

    // While B is not listening (its backoff is 3 s), a session created through A is missed by B's stream...
    const missed = Date.now();
    const created = await createTestSession(A);
    expect((await submitValid(A, 'bankA', session.id, demoData('bankA'))).statusCode).toBe(201);
    expect((await listenerPids()).length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(stream.events.filter((e) => e.receivedAt >= missed)).toEqual([]);
    // ...and told after B reconnects, by the resync: the session's stream rereads it, /v1/events lists anew.
    const after = await waitFor(listenerPids, (pids) => pids.length === 2, 'B to LISTEN again');
    expect(after).not.toContain(bPid);
    await stream.until((e) => e.some((x) => x.receivedAt >= missed && x.status === 'collecting'), 'the resync', B_BACKOFF_MS * 2 + DELIVERY_BOUND_MS);
    await all.until((e) => e.some((x) => x.sessionId === created.id), 'the session created meanwhile', B_BACKOFF_MS * 2 + DELIVERY_BOUND_MS);

    const since = Date.now();
    expect((await submitValid(A, 'bankB', session.id, demoData('bankB'))).statusCode).toBe(201);
    console.info(`delivery after reconnection (ms): ${await delivered(stream, session.id, 'awaiting_consent', since)}`);
    stream.close();
    all.close();
  });

  it('closing a server ends its LISTEN connection and its pool: nothing is left in pg_stat_activity', async () => {
    const listeners = await listenerPids();
    expect(listeners).toHaveLength(2);
    await b!.close();
    b = undefined;
    const left = await waitFor(listenerPids, (pids) => pids.length === 1, 'one listener');
    expect(listeners).toContain(left[0]);
    await a!.close();
    a = undefined;
    // A backend leaves pg_stat_activity a moment after its client disconnects.
    const others = async () =>
      (
        await admin!.query<{ pid: number; application_name: string; state: string; query: string }>(
          'select pid, application_name, state, query from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        )
      ).rows;
    expect(await waitFor(others, (rows) => rows.length === 0, 'no server connection', 5_000)).toEqual([]);
  });
});

describe('createSessionChangeBus arguments', () => {
  const logger = createLogger({ level: 'silent', stdout: false });

  it('names the wrong argument', async () => {
    await expect(createSessionChangeBus({ dialect: 'mysql' } as never)).rejects.toThrow(new TypeError("dialect: expected 'sqlite' or 'postgres', got mysql"));
    await expect(createSessionChangeBus({ dialect: 'postgres', connectionString: '', logger })).rejects.toThrow(
      new TypeError('connectionString: expected a non-empty string'),
    );
    await expect(
      createSessionChangeBus({ dialect: 'postgres', connectionString: 'postgresql://u@/x?host=/tmp', logger, backoff: { initialMs: 0, maxMs: 10 } }),
    ).rejects.toThrow(new RangeError('backoff.initialMs: expected a positive number, got 0'));
    await expect(
      createSessionChangeBus({ dialect: 'postgres', connectionString: 'postgresql://u@/x?host=/tmp', logger, backoff: { initialMs: 100, maxMs: 10 } }),
    ).rejects.toThrow(new RangeError('backoff.maxMs: expected a number of at least backoff.initialMs (100), got 10'));
    await expect(listenForSessionChanges({ channel: 'bad channel; drop', connectionString: 'postgresql://u@/x', logger })).rejects.toThrow(
      new TypeError('channel: expected a lower-case SQL identifier (letters, digits, _)'),
    );
  });

  it('a database it cannot reach is a startup error with a code, not the URL', async () => {
    const error = await createSessionChangeBus({
      dialect: 'postgres',
      connectionString: 'postgresql://u:hunter2-secret@/x?host=/nonexistent-tenzro-socket-dir&port=5999',
      logger,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SessionChangeListenerError);
    expect((error as SessionChangeListenerError).code).toBe('session_changes_unavailable');
    expect(String((error as Error).message)).not.toContain('hunter2');
  });

  it('on SQLite the bus is in process: a published change reaches subscribers until they unsubscribe or it closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenzro-bus-test-'));
    const handle = await createDatabase({ dataDir: dir });
    const bus = await createSessionChangeBus({ dialect: 'sqlite' });
    try {
      const heard: unknown[] = [];
      const unsubscribe = bus.subscribe((change) => heard.push(change));
      const id = 'mps_' + 'c'.repeat(26);
      await publishSessionChange(handle.db, id);
      expect(heard).toEqual([{ kind: 'session', sessionId: id }]);
      unsubscribe();
      await publishSessionChange(handle.db, id);
      expect(heard).toHaveLength(1);
      bus.subscribe((change) => heard.push(change));
      await bus.close();
      await publishSessionChange(handle.db, id);
      expect(heard).toHaveLength(1);
    } finally {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
