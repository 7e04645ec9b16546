/** Submissions: metadata of each party's ciphertext; the ciphertext itself is a blob named by its hash. */
import type { Executor } from './executor.js';
import type { SubmissionsTable } from '../db/schema.js';

export async function insertSubmission(db: Executor, row: SubmissionsTable): Promise<void> {
  await db.insertInto('submissions').values(row).execute();
}

export async function findSubmission(db: Executor, sessionId: string, partyId: string): Promise<SubmissionsTable | undefined> {
  return db
    .selectFrom('submissions')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('party_id', '=', partyId)
    .executeTakeFirst();
}

export async function submissionsOf(db: Executor, sessionId: string): Promise<SubmissionsTable[]> {
  return db.selectFrom('submissions').selectAll().where('session_id', '=', sessionId).orderBy('party_id').execute();
}

/** Marks every live submission of a session deleted; returns the blob hashes they named. */
export async function markSubmissionsDeleted(db: Executor, sessionId: string, at: string): Promise<string[]> {
  const live = await db
    .selectFrom('submissions')
    .select('blob_hash')
    .where('session_id', '=', sessionId)
    .where('deleted_at', 'is', null)
    .execute();
  if (live.length > 0) {
    await db
      .updateTable('submissions')
      .set({ deleted_at: at })
      .where('session_id', '=', sessionId)
      .where('deleted_at', 'is', null)
      .execute();
  }
  return live.map((r) => r.blob_hash);
}

/** Whether any live submission still names a blob (identical ciphertexts share one file). */
export async function isBlobReferenced(db: Executor, blobHash: string): Promise<boolean> {
  const row = await db
    .selectFrom('submissions')
    .select('id')
    .where('blob_hash', '=', blobHash)
    .where('deleted_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Hashes of blobs whose every submission is deleted: what a crash may have left on disk. */
export async function deletedBlobHashes(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('submissions as s')
    .select('s.blob_hash')
    .distinct()
    .where('s.deleted_at', 'is not', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('submissions as t')
            .select('t.id')
            .whereRef('t.blob_hash', '=', 's.blob_hash')
            .where('t.deleted_at', 'is', null),
        ),
      ),
    )
    .execute();
  return rows.map((r) => r.blob_hash);
}

/** Marks one party's live submission deleted (a revoked consent); returns it, or undefined if none was live. */
export async function markPartySubmissionDeleted(
  db: Executor,
  sessionId: string,
  partyId: string,
  at: string,
): Promise<SubmissionsTable | undefined> {
  const live = await db
    .selectFrom('submissions')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('party_id', '=', partyId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!live) return undefined;
  await db.updateTable('submissions').set({ deleted_at: at }).where('id', '=', live.id).execute();
  return live;
}
