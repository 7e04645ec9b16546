/** Signed consents, one per participant and session. */
import type { Executor } from './executor.js';
import type { ConsentsTable } from '../db/schema.js';

export async function insertConsent(db: Executor, row: ConsentsTable): Promise<void> {
  await db.insertInto('consents').values(row).execute();
}

export async function findConsent(db: Executor, sessionId: string, partyId: string): Promise<ConsentsTable | undefined> {
  return db
    .selectFrom('consents')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('party_id', '=', partyId)
    .executeTakeFirst();
}

export async function consentsOf(db: Executor, sessionId: string): Promise<ConsentsTable[]> {
  return db.selectFrom('consents').selectAll().where('session_id', '=', sessionId).orderBy('party_id').execute();
}

/** Deletes a participant's consent (a revocation); returns whether one was there. */
export async function deleteConsent(db: Executor, sessionId: string, partyId: string): Promise<boolean> {
  const result = await db.deleteFrom('consents').where('session_id', '=', sessionId).where('party_id', '=', partyId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
