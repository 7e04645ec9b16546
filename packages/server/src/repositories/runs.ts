/** Inference runs: the run worker (jobs.ts) claims a row with a lease its instance renews. */
import type { Executor } from './executor.js';
import { lockSession } from './sessions.js';
import type { RunsTable } from '../db/schema.js';

export async function insertRun(db: Executor, row: RunsTable): Promise<void> {
  await db.insertInto('runs').values(row).execute();
}

export async function findRun(db: Executor, sessionId: string, runId: string): Promise<RunsTable | undefined> {
  return db.selectFrom('runs').selectAll().where('session_id', '=', sessionId).where('id', '=', runId).executeTakeFirst();
}

export async function findRunById(db: Executor, runId: string): Promise<RunsTable | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
}

export async function activeRun(db: Executor, sessionId: string): Promise<RunsTable | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
}

export async function lastRun(db: Executor, sessionId: string): Promise<RunsTable | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('session_id', '=', sessionId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Runs nobody is on: queued since before `queuedBefore` (their job was lost), or running with a lease that
 * lapsed before `now` (their instance died). The reconciler sends each a fresh job.
 */
export async function unattendedRuns(db: Executor, now: string, queuedBefore: string): Promise<RunsTable[]> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('created_at', '<', queuedBefore)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
      ]),
    )
    .orderBy('created_at', 'asc')
    .execute();
}

/**
 * Reads a run under its session's row lock (held until the transaction ends), so two instances never
 * claim or finish one run at once. The session is locked first (the one lock order,
 * repositories/sessions.ts), then the run is read again: what it says now cannot change under us.
 */
export async function lockRun(trx: Executor, runId: string): Promise<RunsTable | undefined> {
  const unlocked = await findRunById(trx, runId);
  if (!unlocked) return undefined;
  await lockSession(trx, unlocked.session_id);
  return findRunById(trx, runId);
}

/** Extends a running run's lease, only while `attempt` is still the live one; true when it was. */
export async function renewRunLease(db: Executor, runId: string, attempt: number, leaseUntil: string): Promise<boolean> {
  const result = await db
    .updateTable('runs')
    .set({ lease_until: leaseUntil })
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .where('attempts', '=', attempt)
    .where('lease_until', '<', leaseUntil)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function runsInStatus(db: Executor, status: RunsTable['status']): Promise<RunsTable[]> {
  return db.selectFrom('runs').selectAll().where('status', '=', status).execute();
}

export async function updateRun(
  db: Executor,
  id: string,
  changes: Partial<Pick<RunsTable, 'status' | 'attempts' | 'error_json' | 'lease_until' | 'finished_at' | 'timings_json'>>,
): Promise<void> {
  await db.updateTable('runs').set(changes).where('id', '=', id).execute();
}
