/**
 * Sessions and their roster index. Every status write bumps `version` and `updated_at`.
 *
 * Locking (PostgreSQL): the session row is the lock of everything in its session. `findSession` inside a
 * transaction reads it FOR UPDATE, so two transactions — on one instance or on two — never move one
 * session at once: the second waits for the first to commit and then reads what it wrote. Runs, the
 * secure-aggregation round and submissions are locked through their session, always session first, and
 * the transparency log's lock (appendAudit) comes last; that one order keeps transactions from deadlocking.
 */
import { needsRowLocks, type Executor } from './executor.js';
import type { SessionMembersTable, SessionsTable } from '../db/schema.js';
import type { SessionStatus } from '@tenzro/protocol';

export async function insertSession(db: Executor, row: SessionsTable, members: SessionMembersTable[]): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
  if (members.length > 0) await db.insertInto('session_members').values(members).execute();
}

/** The session; inside a PostgreSQL transaction with its row locked until the transaction ends. */
export async function findSession(db: Executor, id: string): Promise<SessionsTable | undefined> {
  const query = db.selectFrom('sessions').selectAll().where('id', '=', id);
  return (needsRowLocks(db) ? query.forUpdate() : query).executeTakeFirst();
}

/** Takes the session's row lock for the rest of the transaction (no-op outside one, and on SQLite). */
export async function lockSession(trx: Executor, id: string): Promise<void> {
  if (needsRowLocks(trx)) await trx.selectFrom('sessions').select('id').where('id', '=', id).forUpdate().execute();
}

export async function findSessionByJoinCode(db: Executor, joinCode: string): Promise<SessionsTable | undefined> {
  return db.selectFrom('sessions').selectAll().where('join_code', '=', joinCode).executeTakeFirst();
}

export async function membersOf(db: Executor, sessionId: string): Promise<SessionMembersTable[]> {
  return db.selectFrom('session_members').selectAll().where('session_id', '=', sessionId).execute();
}

/** Sessions a tenant created or has a party on the roster of, newest first. */
export async function listVisibleSessions(db: Executor, tenantId: string, limit = 500): Promise<SessionsTable[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('tenant_id', '=', tenantId),
        eb('id', 'in', eb.selectFrom('session_members').select('session_id').where('tenant_id', '=', tenantId)),
      ]),
    )
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

export async function setSessionStatus(db: Executor, id: string, status: SessionStatus, at: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set((eb) => ({ status, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .execute();
}

/** Forgets the sealed session key (crypto-shredding on the host side). */
export async function clearSealedKey(db: Executor, id: string, at: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set((eb) => ({ sealed_key: null, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .execute();
}

export async function markKeyDestroyed(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('sessions').set({ key_destroyed_at: at }).where('id', '=', id).execute();
}

/** Non-final sessions whose expiry has passed. */
export async function overdueOpenSessions(db: Executor, now: string): Promise<SessionsTable[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('status', 'not in', ['completed', 'expired', 'cancelled'])
    .where('expires_at', '<=', now)
    .execute();
}

/** Completed sessions past their expiry that still hold data (retain_until_expiry). */
export async function overdueRetainedSessions(db: Executor, now: string): Promise<SessionsTable[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('status', '=', 'completed')
    .where('expires_at', '<=', now)
    .where('sealed_key', 'is not', null)
    .execute();
}

/** The earliest expiry still to be enforced, if any. */
export async function nextExpiry(db: Executor): Promise<string | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select('expires_at')
    .where((eb) =>
      eb.or([
        eb('status', 'not in', ['completed', 'expired', 'cancelled']),
        eb.and([eb('status', '=', 'completed'), eb('sealed_key', 'is not', null)]),
      ]),
    )
    .orderBy('expires_at', 'asc')
    .limit(1)
    .executeTakeFirst();
  return row?.expires_at;
}

/** Sessions whose key the host forgot but whose enclave copy is not yet confirmed destroyed. */
export async function sessionsOwingKeyDestruction(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('sessions')
    .select('id')
    .where('sealed_key', 'is', null)
    .where('key_destroyed_at', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}
