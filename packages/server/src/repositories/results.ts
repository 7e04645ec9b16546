/** Sealed results, one per recipient; (session, party) is unique, so a session never has two results. */
import type { Executor } from './executor.js';
import type { ResultsTable } from '../db/schema.js';

export async function insertResults(db: Executor, rows: ResultsTable[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('results').values(rows).execute();
}

export async function findResult(db: Executor, sessionId: string, partyId: string): Promise<ResultsTable | undefined> {
  return db
    .selectFrom('results')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('party_id', '=', partyId)
    .executeTakeFirst();
}
