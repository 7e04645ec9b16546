// The PostgreSQL dialect beside SQLite (issue 8): the migrations apply on both from empty and again, every
// repository behaves the same on both (rows, number types, bytewise text order, unique violations, the
// partial unique indexes, a dense transparency log under concurrent appends), and a whole session runs
// through the server on PostgreSQL. The PostgreSQL cases run on a throwaway cluster this file starts.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merkleRoot, fromHex, rootAt } from '@tenzro/crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClockSkewError, clockSkewMs } from './clock-skew.js';
import { createTenant } from './domain/tenants.js';
import { createDatabase, migrate, type DatabaseHandle } from './db/database.js';
import { dialectFor, postgresDialect } from './db/dialect.js';
import { redactPostgresUrl } from './db/postgres-url.js';
import type { RunsTable, SessionsTable, SubmissionsTable } from './db/schema.js';
import { PARTY, consent, createTestSession, demoData, startTestServer, submitValid } from './harness.fixture.js';
import { postgresAvailability, startPostgres, type PostgresCluster } from './postgres.fixture.js';
import { appendAudit, auditOf, hasJoined } from './repositories/audit.js';
import { consentsOf, deleteConsent, findConsent, insertConsent } from './repositories/consents.js';
import { findTreeHead, insertTreeHead, logSize, merkleNodeReader, nextSessionSeq, sessionLeaves } from './repositories/log.js';
import { insertPrepUsed, usedPreps } from './repositories/mpc.js';
import { findParties, findParty, insertParty } from './repositories/parties.js';
import { activeRun, findRun, insertRun, lastRun, lockRun, renewRunLease, unattendedRuns, updateRun } from './repositories/runs.js';
import {
  clearSealedKey,
  findSession,
  findSessionByJoinCode,
  insertSession,
  listVisibleSessions,
  membersOf,
  nextExpiry,
  overdueOpenSessions,
  sessionsOwingKeyDestruction,
  setSessionStatus,
} from './repositories/sessions.js';
import {
  deletedBlobHashes,
  findSubmission,
  insertSubmission,
  isBlobReferenced,
  markSubmissionsDeleted,
  submissionsOf,
} from './repositories/submissions.js';
import { countTenants, findApiKeyByHash, insertApiKey, insertTenant, revokeApiKey, tenantExists } from './repositories/tenants.js';
import { rejection } from './rejection.fixture.js';

const availability = postgresAvailability();
const postgresReason = availability.available ? '' : availability.reason;

let cluster: PostgresCluster | undefined;
beforeAll(async () => {
  if (availability.available) cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.stop();
});

const AT = '2024-05-01T10:00:00.000Z';
const LATER = '2024-05-01T11:00:00.000Z';
const SESSION = 'mps_' + 'a'.repeat(26);
const OTHER_SESSION = 'mps_' + 'b'.repeat(26);
/** 6 GiB: past int4, as an upload size may be (TENZRO_MAX_UPLOAD_BYTES allows it). */
const BIG_SIZE = 6 * 1024 ** 3;

function sessionRow(id: string, overrides: Partial<SessionsTable> = {}): SessionsTable {
  return {
    id,
    tenant_id: 'bankA',
    terms_json: '{}',
    join_code: id === SESSION ? 'AAAA-AAAA' : 'BBBB-BBBB',
    status: 'created',
    expires_at: LATER,
    sealed_key: 'sealed',
    public_key: 'pk',
    suite: 'suite',
    attestation: 'att',
    key_destroyed_at: null,
    created_at: AT,
    updated_at: AT,
    version: 1,
    ...overrides,
  };
}

function submissionRow(id: string, partyId: string, overrides: Partial<SubmissionsTable> = {}): SubmissionsTable {
  return {
    id,
    session_id: SESSION,
    party_id: partyId,
    blob_hash: 'a'.repeat(64),
    size: BIG_SIZE,
    commitment: 'sha256:' + '0'.repeat(64),
    commitment_scheme: 'sha256',
    data_schema: 'transaction_records_v1',
    record_count: 40,
    received_at: AT,
    deleted_at: null,
    ...overrides,
  };
}

function runRow(id: string, status: RunsTable['status'], createdAt = AT): RunsTable {
  return {
    id,
    session_id: SESSION,
    status,
    prompt: 'p',
    parameters_json: '{}',
    attempts: 0,
    error_json: null,
    lease_until: null,
    created_at: createdAt,
    finished_at: null,
    timings_json: null,
  };
}

describe.each(['sqlite', 'postgres'] as const)('repositories on %s', (dialect) => {
  const skip = dialect === 'postgres' && !availability.available;
  let handle: DatabaseHandle;
  let dataDir: string;

  beforeEach(async () => {
    if (skip) return;
    dataDir = await mkdtemp(join(tmpdir(), 'tenzro-dialect-test-'));
    const url = dialect === 'postgres' ? await cluster!.createDatabase() : undefined;
    handle = await createDatabase({ dataDir, url });
  });
  afterEach(async () => {
    if (skip) return;
    await handle.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A tenant, its party and a session with bankA and bankB on the roster. */
  async function seed(): Promise<void> {
    const db = handle.db;
    for (const tenant of ['bankA', 'bankB']) {
      await insertTenant(db, tenant, AT);
      await insertParty(db, { party_id: `party::${tenant}::treasury`, tenant_id: tenant, signing_key: 's', encryption_key: 'e', created_at: AT });
    }
    await insertSession(db, sessionRow(SESSION), [
      { session_id: SESSION, party_id: PARTY.bankA, tenant_id: 'bankA', role: 'participant' },
      { session_id: SESSION, party_id: PARTY.bankB, tenant_id: 'bankB', role: 'participant' },
    ]);
  }

  describe.skipIf(skip)(`(${dialect}${skip ? `: skipped, ${postgresReason}` : ''})`, () => {
    it('applies the migrations from empty, and again without change', async () => {
      expect(handle.dialect.name).toBe(dialect);
      const migrations = async () =>
        (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db)).rows.map((r) => r.name);
      const applied = await migrations();
      expect(applied).toEqual(['0001_initial', '0002_transparency_log', '0003_run_timings', '0004_secure_aggregation', '0005_mpc_preps_used']);
      await migrate(handle.db as never, handle.dialect);
      expect(await migrations()).toEqual(applied);
      const tables = (await handle.db.introspection.getTables()).map((t) => t.name).sort();
      expect(tables).toEqual(
        [
          'api_keys', 'audit_events', 'consents', 'merkle_nodes', 'mpc_preps_used', 'parties', 'results', 'runs', 'secagg_messages',
          'secagg_rounds', 'secagg_unmask', 'session_members', 'sessions', 'submissions', 'tenants', 'tree_heads',
        ].sort(),
      );
    });

    it('tenants and API keys: rows, a count as a number, unique violations recognised as such', async () => {
      const db = handle.db;
      expect(await countTenants(db)).toBe(0);
      await insertTenant(db, 'bankA', AT);
      expect(await tenantExists(db, 'bankA')).toBe(true);
      expect(await tenantExists(db, 'bankZ')).toBe(false);
      expect(await countTenants(db)).toBe(1);
      expect(handle.dialect.isUniqueViolation(await rejection(insertTenant(db, 'bankA', AT)))).toBe(true);

      await insertApiKey(db, { id: 'key1', tenantId: 'bankA', keyHash: 'f'.repeat(64), at: AT });
      expect(await findApiKeyByHash(db, 'f'.repeat(64))).toEqual({ id: 'key1', tenant_id: 'bankA', key_hash: 'f'.repeat(64), created_at: AT, revoked_at: null });
      expect(handle.dialect.isUniqueViolation(await rejection(insertApiKey(db, { id: 'key2', tenantId: 'bankA', keyHash: 'f'.repeat(64), at: AT })))).toBe(true);
      // A foreign-key violation is an error, but not a unique violation.
      const foreign = await rejection(insertApiKey(db, { id: 'key3', tenantId: 'nobody', keyHash: 'e'.repeat(64), at: AT }));
      expect(handle.dialect.isUniqueViolation(foreign)).toBe(false);
      await revokeApiKey(db, 'key1', LATER);
      expect((await findApiKeyByHash(db, 'f'.repeat(64)))?.revoked_at).toBe(LATER);
      expect(await countTenants(db)).toBe(1);
    });

    it('parties: rows by id and by list; a second registration of an id is a unique violation', async () => {
      await seed();
      const db = handle.db;
      expect(await findParty(db, PARTY.bankA)).toEqual({ party_id: PARTY.bankA, tenant_id: 'bankA', signing_key: 's', encryption_key: 'e', created_at: AT });
      expect((await findParties(db, [PARTY.bankB, PARTY.bankA, PARTY.bankC])).map((p) => p.party_id).sort()).toEqual([PARTY.bankA, PARTY.bankB]);
      expect(await findParties(db, [])).toEqual([]);
      const again = await rejection(insertParty(db, { party_id: PARTY.bankA, tenant_id: 'bankA', signing_key: 'x', encryption_key: 'y', created_at: AT }));
      expect(handle.dialect.isUniqueViolation(again)).toBe(true);
    });

    it('sessions: roster, version as a number bumped by every status write, join codes unique, expiry queries', async () => {
      await seed();
      const db = handle.db;
      expect(await findSession(db, SESSION)).toEqual(sessionRow(SESSION));
      expect((await findSessionByJoinCode(db, 'AAAA-AAAA'))?.id).toBe(SESSION);
      expect((await membersOf(db, SESSION)).map((m) => m.party_id).sort()).toEqual([PARTY.bankA, PARTY.bankB]);

      await setSessionStatus(db, SESSION, 'collecting', LATER);
      const row = await findSession(db, SESSION);
      expect(row?.version).toBe(2);
      expect(typeof row?.version).toBe('number');
      expect(row?.status).toBe('collecting');

      const clash = await rejection(insertSession(db, sessionRow(OTHER_SESSION, { join_code: 'AAAA-AAAA' }), []));
      expect(handle.dialect.isUniqueViolation(clash)).toBe(true);
      expect(await findSession(db, OTHER_SESSION)).toBeUndefined();

      await insertSession(db, sessionRow(OTHER_SESSION, { tenant_id: 'bankB', created_at: LATER, expires_at: AT }), []);
      expect((await listVisibleSessions(db, 'bankA')).map((s) => s.id)).toEqual([SESSION]);
      expect((await listVisibleSessions(db, 'bankB')).map((s) => s.id)).toEqual([OTHER_SESSION, SESSION]);
      expect((await overdueOpenSessions(db, AT)).map((s) => s.id)).toEqual([OTHER_SESSION]);
      expect(await nextExpiry(db)).toBe(AT);

      await clearSealedKey(db, SESSION, LATER);
      expect(await sessionsOwingKeyDestruction(db)).toEqual([SESSION]);
      expect((await findSession(db, SESSION))?.version).toBe(3);
    });

    it('submissions: a size past 2^31 comes back exactly, one per party, deletion marks', async () => {
      await seed();
      const db = handle.db;
      await insertSubmission(db, submissionRow('sub1', PARTY.bankA));
      const row = await findSubmission(db, SESSION, PARTY.bankA);
      expect(row).toEqual(submissionRow('sub1', PARTY.bankA));
      expect(typeof row?.size).toBe('number');
      const twice = await rejection(insertSubmission(db, submissionRow('sub2', PARTY.bankA)));
      expect(handle.dialect.isUniqueViolation(twice)).toBe(true);

      await insertSubmission(db, submissionRow('sub3', PARTY.bankB, { blob_hash: 'b'.repeat(64) }));
      expect((await submissionsOf(db, SESSION)).map((s) => s.id)).toEqual(['sub1', 'sub3']);
      expect(await isBlobReferenced(db, 'a'.repeat(64))).toBe(true);
      expect((await markSubmissionsDeleted(db, SESSION, LATER)).sort()).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
      expect(await markSubmissionsDeleted(db, SESSION, LATER)).toEqual([]);
      expect(await isBlobReferenced(db, 'a'.repeat(64))).toBe(false);
      expect((await deletedBlobHashes(db)).sort()).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
    });

    it('consents: ordered bytewise by party id (as SQLite sorts), one per party, revocation', async () => {
      await seed();
      const db = handle.db;
      // Upper case before lower case, '-' before digits: byte order, which a locale collation would not keep.
      const parties = ['party::bankA::b', 'party::bankA::B', 'party::bankA::a', 'party::bankA::A-1', 'party::bankA::a-1', 'party::bankA::1'];
      for (const party of parties) {
        await insertParty(db, { party_id: party, tenant_id: 'bankA', signing_key: 's', encryption_key: 'e', created_at: AT });
        await insertConsent(db, { session_id: SESSION, party_id: party, consent_json: '{}', signature: 'sig', received_at: AT });
      }
      expect((await consentsOf(db, SESSION)).map((c) => c.party_id)).toEqual([...parties].sort());
      expect(await findConsent(db, SESSION, 'party::bankA::B')).toEqual({ session_id: SESSION, party_id: 'party::bankA::B', consent_json: '{}', signature: 'sig', received_at: AT });
      const twice = await rejection(insertConsent(db, { session_id: SESSION, party_id: 'party::bankA::B', consent_json: '{}', signature: 'sig', received_at: AT }));
      expect(handle.dialect.isUniqueViolation(twice)).toBe(true);
      expect(await deleteConsent(db, SESSION, 'party::bankA::B')).toBe(true);
      expect(await deleteConsent(db, SESSION, 'party::bankA::B')).toBe(false);
    });

    it('runs: the partial unique indexes allow one active and one completed run per session', async () => {
      await seed();
      const db = handle.db;
      await insertRun(db, runRow('run1', 'queued'));
      expect(handle.dialect.isUniqueViolation(await rejection(insertRun(db, runRow('run2', 'queued'))))).toBe(true);
      expect(handle.dialect.isUniqueViolation(await rejection(insertRun(db, runRow('run2', 'running'))))).toBe(true);
      expect((await activeRun(db, SESSION))?.id).toBe('run1');
      // queued since AT: unattended only once the grace (queuedBefore) is past it
      expect(await unattendedRuns(db, AT, AT)).toEqual([]);
      expect((await unattendedRuns(db, AT, LATER)).map((r) => r.id)).toEqual(['run1']);

      await updateRun(db, 'run1', { status: 'running', attempts: 1, lease_until: AT });
      expect(await unattendedRuns(db, AT, LATER)).toEqual([]);
      expect((await unattendedRuns(db, LATER, LATER)).map((r) => r.id)).toEqual(['run1']);
      // the lease is renewed only for the live attempt, and never shortened
      expect(await renewRunLease(db, 'run1', 2, LATER)).toBe(false);
      expect(await renewRunLease(db, 'run1', 1, LATER)).toBe(true);
      expect(await renewRunLease(db, 'run1', 1, AT)).toBe(false);
      expect(await db.transaction().execute(async (trx) => (await lockRun(trx, 'run1'))?.lease_until)).toBe(LATER);
      expect(await db.transaction().execute((trx) => lockRun(trx, 'nope'))).toBeUndefined();
      await updateRun(db, 'run1', { status: 'failed', finished_at: LATER, lease_until: null });
      expect(await activeRun(db, SESSION)).toBeUndefined();

      // Failed runs do not count; a new active run is allowed, and it can complete once.
      await insertRun(db, runRow('run2', 'queued', LATER));
      await updateRun(db, 'run2', { status: 'completed', attempts: 1, finished_at: LATER, timings_json: '{}' });
      const run2 = await findRun(db, SESSION, 'run2');
      expect(run2).toMatchObject({ status: 'completed', attempts: 1 });
      expect(typeof run2?.attempts).toBe('number');
      await insertRun(db, runRow('run3', 'queued', LATER));
      const second = await rejection(updateRun(db, 'run3', { status: 'completed' }));
      expect(handle.dialect.isUniqueViolation(second)).toBe(true);
      expect((await lastRun(db, SESSION))?.id).toBe('run3');
    });

    it('audit and log: dense log indices and session sequence numbers, nodes and tree heads read back', async () => {
      await seed();
      const db = handle.db;
      expect(await logSize(db)).toBe(0);
      const kinds = ['session_created', 'key_issued', 'session_joined'] as const;
      for (const kind of kinds) {
        await appendAudit(db, { sessionId: SESSION, type: kind, actorTenant: 'bankB', actorParty: PARTY.bankB, payload: { n: 1 }, at: AT });
      }
      await appendAudit(db, { sessionId: null, type: 'tenant_created', actorTenant: null, actorParty: null, payload: {}, at: AT });
      expect(await logSize(db)).toBe(4);
      expect(await nextSessionSeq(db, SESSION)).toBe(3);
      const rows = await auditOf(db, SESSION);
      expect(rows.map((r) => [r.type, r.log_index, r.session_seq])).toEqual([
        ['session_created', 0, 0],
        ['key_issued', 1, 1],
        ['session_joined', 2, 2],
      ]);
      expect(rows.every((r) => typeof r.seq === 'number')).toBe(true);
      expect(await hasJoined(db, SESSION, PARTY.bankB)).toBe(true);
      expect(await hasJoined(db, SESSION, PARTY.bankA)).toBe(false);
      expect((await sessionLeaves(db, SESSION, 2)).map((r) => r.log_index)).toEqual([0, 1]);

      const all = await db.selectFrom('audit_events').select('leaf_hash').orderBy('log_index').execute();
      const root = await rootAt(merkleNodeReader(db), 4);
      expect(root).toEqual(merkleRoot(all.map((r) => fromHex(r.leaf_hash!))));
      expect(root).toBeInstanceOf(Uint8Array);

      await insertTreeHead(db, { log_id: 'log', tree_size: 4, root_hash: 'r', timestamp: AT, signature: 's' });
      expect(await findTreeHead(db, 'log', 4)).toEqual({ log_id: 'log', tree_size: 4, root_hash: 'r', timestamp: AT, signature: 's' });
      const twice = await rejection(insertTreeHead(db, { log_id: 'log', tree_size: 4, root_hash: 'r', timestamp: AT, signature: 's' }));
      expect(handle.dialect.isUniqueViolation(twice)).toBe(true);
    });

    it('audit: concurrent appends (each its own transaction) keep the log dense and its nodes right', async () => {
      await seed();
      const db = handle.db;
      await Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          appendAudit(db, { sessionId: n % 2 === 0 ? SESSION : null, type: 'access_denied', actorTenant: null, actorParty: null, payload: { n }, at: AT }),
        ),
      );
      const rows = await db.selectFrom('audit_events').select(['log_index', 'session_seq', 'leaf_hash']).orderBy('log_index').execute();
      expect(rows.map((r) => r.log_index)).toEqual(Array.from({ length: 12 }, (_, n) => n));
      expect(rows.filter((r) => r.session_seq !== null).map((r) => r.session_seq)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(await rootAt(merkleNodeReader(db), 12)).toEqual(merkleRoot(rows.map((r) => fromHex(r.leaf_hash!))));
    });

    it('transactions: a rolled-back transaction leaves no row; mpc preps are spent once', async () => {
      await seed();
      const db = handle.db;
      const failed = await rejection(
        db.transaction().execute(async (trx) => {
          await insertRun(trx, runRow('run1', 'queued'));
          await appendAudit(trx, { sessionId: SESSION, type: 'run_requested', actorTenant: null, actorParty: null, payload: {}, at: AT });
          throw new Error('abort');
        }),
      );
      expect((failed as Error).message).toBe('abort');
      expect(await findRun(db, SESSION, 'run1')).toBeUndefined();
      expect(await logSize(db)).toBe(0);

      await insertPrepUsed(db, SESSION, 'prep1', AT);
      expect(handle.dialect.isUniqueViolation(await rejection(insertPrepUsed(db, SESSION, 'prep1', AT)))).toBe(true);
      expect(await usedPreps(db, SESSION)).toEqual(new Set(['prep1']));
    });
  });
});

describe.skipIf(!availability.available)(`PostgreSQL only${postgresReason ? ` (skipped: ${postgresReason})` : ''}`, () => {
  it('refuses an int8 beyond Number.MAX_SAFE_INTEGER rather than rounding it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenzro-dialect-test-'));
    const handle = await createDatabase({ dataDir, url: await cluster!.createDatabase() });
    try {
      const safe = await sql<{ n: number }>`select 9007199254740991::bigint as n`.execute(handle.db);
      expect(safe.rows[0]?.n).toBe(Number.MAX_SAFE_INTEGER);
      const error = await rejection(sql`select 9007199254740993::bigint as n`.execute(handle.db));
      expect(error).toBeInstanceOf(RangeError);
      // The pool survives the refused row.
      expect((await sql<{ n: number }>`select 1::bigint as n`.execute(handle.db)).rows[0]?.n).toBe(1);
    } finally {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('session row locks: two transactions on one session run one after the other; on two sessions, at once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenzro-dialect-test-'));
    const handle = await createDatabase({ dataDir, url: await cluster!.createDatabase() });
    const other = 'mps_000000000000000000000002';
    try {
      const db = handle.db;
      await insertTenant(db, 'bankA', AT);
      await insertSession(db, sessionRow(SESSION), []);
      await insertSession(db, { ...sessionRow(other), join_code: 'JOIN-OTHER' }, []);
      const events: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      // A: locks SESSION, holds it until released, moves it to `collecting`.
      const a = db.transaction().execute(async (trx) => {
        await findSession(trx, SESSION);
        locked();
        await held;
        await setSessionStatus(trx, SESSION, 'collecting', LATER);
        events.push('A committed');
      });
      await lockTaken;
      // B: wants the same session; it must wait for A, then see A's write.
      const b = db.transaction().execute(async (trx) => {
        const row = await findSession(trx, SESSION);
        events.push(`B read ${row?.status}`);
      });
      // C: another session, not held up by A.
      await db.transaction().execute(async (trx) => {
        await findSession(trx, other);
        await setSessionStatus(trx, other, 'collecting', LATER);
        events.push('C committed');
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(events).toEqual(['C committed']);
      release();
      await Promise.all([a, b]);
      expect(events).toEqual(['C committed', 'A committed', 'B read collecting']);
      // A run is locked through its session: the same wait applies to lockRun.
      await insertRun(db, runRow('run1', 'queued'));
      const order: string[] = [];
      await Promise.all([
        db.transaction().execute(async (trx) => {
          await lockRun(trx, 'run1');
          await new Promise((r) => setTimeout(r, 150));
          await updateRun(trx, 'run1', { status: 'running', attempts: 1, lease_until: LATER });
          order.push('first claimed');
        }),
        new Promise((r) => setTimeout(r, 30)).then(() =>
          db.transaction().execute(async (trx) => {
            const run = await lockRun(trx, 'run1');
            order.push(`second saw ${run?.status}`);
          }),
        ),
      ]);
      expect(order).toEqual(['first claimed', 'second saw running']);
    } finally {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('one tenant created by several instances at once: one is created, the others get a conflict (409), not a 500', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenzro-dialect-test-'));
    const handle = await createDatabase({ dataDir, url: await cluster!.createDatabase() });
    try {
      const ctx = { db: handle.db, dialect: handle.dialect, clock: () => new Date() };
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => createTenant(ctx, 'bankZ')));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes.filter((o) => o.status === 'rejected')) {
        expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict', message: 'tenant bankZ already exists' });
      }
    } finally {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('measures this host against the database clock, and refuses to start an instance whose clock is off by more than a third of the lease', async () => {
    const url = await cluster!.createDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'tenzro-skew-test-'));
    const handle = await createDatabase({ dataDir, url });
    try {
      expect(Math.abs(await clockSkewMs(handle.db))).toBeLessThan(250);
      // The database's clock an hour ahead: a clock_timestamp() found before pg_catalog's for this database.
      await sql`create function public.clock_timestamp() returns timestamptz language sql as $$ select pg_catalog.clock_timestamp() + interval '1 hour' $$`.execute(handle.db);
      await sql.raw(`alter database ${new URL(url.replace('postgresql://tenzro@/', 'postgresql://tenzro@h/')).pathname.slice(1)} set search_path = public, pg_catalog`).execute(handle.db);
    } finally {
      await handle.close();
    }
    try {
      const refusal = await rejection(startTestServer({ dataDir, databaseUrl: url }));
      expect(refusal).toBeInstanceOf(ClockSkewError);
      expect((refusal as Error).message).toMatch(/^this host's clock is 36\d{5} ms behind the database's \(at most 10000 ms is safe with TENZRO_RUN_LEASE_MS\)/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('runs a session end to end through the server (create, upload, consent, run, result), logging no password', async () => {
    const password = 'not-logged-8f3a1c';
    const url = (await cluster!.createDatabase()).replace('postgresql://tenzro@', `postgresql://tenzro:${password}@`);
    const dataDir = await mkdtemp(join(tmpdir(), 'tenzro-pg-server-test-'));
    const t = await startTestServer({ databaseUrl: url, dataDir, env: { TENZRO_LOG_LEVEL: 'debug' } });
    try {
      expect(t.server.ctx.dialect.name).toBe('postgres');
      const session = await createTestSession(t);
      expect(t.json(await submitValid(t, 'bankA', session.id, demoData('bankA'))).status).toBe('collecting');
      expect(t.json(await submitValid(t, 'bankB', session.id, demoData('bankB'))).status).toBe('awaiting_consent');
      expect(t.json(await consent(t, 'bankA', session.id)).status).toBe('awaiting_consent');
      expect(t.json(await consent(t, 'bankB', session.id)).status).toBe('ready');
      const again = await consent(t, 'bankB', session.id);
      expect(again.statusCode).toBe(409);
      expect(t.json(again).error.code).toBe('already_consented');

      const started = await t.inject('bankB', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt: 'Find cross-bank fraud rings' } });
      expect([200, 202]).toContain(started.statusCode);
      const runId = t.json(started).runId;
      let run: any;
      for (let i = 0; i < 600; i++) {
        run = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/runs/${runId}` }));
        if (run.status === 'completed' || run.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      expect(run.attempts).toBe(1);

      for (const who of ['bankA', 'bankB', 'regulator'] as const) {
        const result = await t.inject(who, { method: 'GET', url: `/v1/sessions/${session.id}/result` });
        expect(result.statusCode, result.body).toBe(200);
        expect(t.json(result)).toMatchObject({ sessionId: session.id, runId, recipient: PARTY[who] });
      }
      const audit = await t.server.ctx.db.selectFrom('audit_events').select(['type', 'log_index']).where('session_id', '=', session.id).orderBy('seq').execute();
      expect(audit.slice(0, 7).map((a) => a.type)).toEqual([
        'session_created', 'key_issued', 'data_submitted', 'session_joined', 'data_submitted', 'consent_recorded', 'consent_recorded',
      ]);
      expect(audit.map((a) => a.type)).toContain('result_released');
      const head = await t.inject('bankA', { method: 'GET', url: '/v1/log/tree-head' });
      expect(head.statusCode, head.body).toBe(200);
      expect(t.json(head).treeHead.treeSize).toBeGreaterThanOrEqual(audit.length);

      // The server used PostgreSQL, not a SQLite file in its data directory.
      expect(await readdir(t.dataDir)).not.toContain('tenzro.db');
      await t.close();
      // Nothing the server logged (at debug level) holds the password.
      const log = await readFile(join(dataDir, 'logs', 'server.log'), 'utf8');
      expect(log.length).toBeGreaterThan(0);
      expect(log).not.toContain(password);
    } finally {
      await t.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('redactPostgresUrl', () => {
  it('replaces the password, in the user information or as a parameter, and keeps the rest', () => {
    expect(redactPostgresUrl('postgres://u:secret@db.example:5432/tenzro')).toBe('postgres://u:***@db.example:5432/tenzro');
    expect(redactPostgresUrl('postgresql://tenzro@/tenzro?host=%2Ftmp%2Fpg&port=5433')).toBe('postgresql://tenzro@/tenzro?host=%2Ftmp%2Fpg&port=5433');
    expect(redactPostgresUrl('postgresql://u@db/tenzro?password=secret')).toBe('postgresql://u@db/tenzro?password=***');
    expect(redactPostgresUrl('mysql://u:secret@db/x')).toBeUndefined();
  });
});

describe('postgresDialect and dialectFor arguments', () => {
  it('names the wrong argument and never repeats the URL', () => {
    expect(() => postgresDialect({} as never)).toThrow(new TypeError('connectionString: expected a string'));
    expect(() => postgresDialect({ connectionString: 'mysql://u:secret@db/x' })).toThrow(
      new TypeError('connectionString: must be a postgres:// or postgresql:// URL, not mysql:'),
    );
    expect(() => postgresDialect({ connectionString: 'postgres://u:secret@db:99999/x' })).toThrow(/^connectionString: is not a valid URL/);
    expect(() => postgresDialect({ connectionString: 'postgres://db/x', poolSize: 0 })).toThrow(
      new RangeError('poolSize: expected an integer of at least 1, got 0'),
    );
    expect(() => dialectFor({ dataDir: '/nonexistent', url: 'sqlite://secret' })).toThrow(new TypeError('url: must be a postgres:// or postgresql:// URL'));
  });

  it('picks PostgreSQL for a postgres URL (opening nothing yet) and SQLite without one', async () => {
    const postgres = dialectFor({ dataDir: '/nonexistent', url: 'postgresql://u@/x?host=/tmp' });
    expect(postgres.name).toBe('postgres');
    expect(postgres.isUniqueViolation({ code: '23505' })).toBe(true);
    expect(postgres.isUniqueViolation({ code: '23503' })).toBe(false);
    await postgres.close();
    const dataDir = await mkdtemp(join(tmpdir(), 'tenzro-dialect-test-'));
    try {
      const sqlite = dialectFor({ dataDir });
      expect(sqlite.name).toBe('sqlite');
      expect(sqlite.isUniqueViolation({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe(true);
      expect(sqlite.isUniqueViolation({ code: '23505' })).toBe(false);
      await sqlite.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
