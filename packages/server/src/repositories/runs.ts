/** Inference runs: a job table the in-process runner claims rows from with a lease. */
import type { Executor } from './executor.js';
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

/** The oldest run that is queued, or running with a lapsed lease. */
export async function nextClaimableRun(db: Executor, now: string): Promise<RunsTable | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
      ]),
    )
    .orderBy('created_at', 'asc')
    .limit(1)
    .executeTakeFirst();
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
