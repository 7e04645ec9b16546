/**
 * Secure-aggregation storage: the round of a session, the relayed stage-0/1 messages, the survivors' unmask
 * answers (blobs). The round row is locked for the rest of a transaction by writing it first
 * (`lockRound`): an UPDATE takes the row lock on PostgreSQL and the write lock on SQLite, so two requests
 * never advance one round at once.
 */
import { FINAL_STATUSES } from '@tenzro/protocol';
import type { SecAggMessagesTable, SecAggRoundsTable, SecAggUnmaskTable } from '../db/schema.js';
import type { Executor } from './executor.js';
import { lockSession } from './sessions.js';

export type RoundChanges = Partial<
  Pick<
    SecAggRoundsTable,
    'stage' | 'stage_opened_at' | 'stage_deadline' | 'u1_json' | 'u2_json' | 'error_json' | 'unmask_run_id' | 'unmask_request_json'
  >
>;

export async function insertRound(db: Executor, row: SecAggRoundsTable): Promise<void> {
  await db.insertInto('secagg_rounds').values(row).execute();
}

export async function findRound(db: Executor, sessionId: string): Promise<SecAggRoundsTable | undefined> {
  return db.selectFrom('secagg_rounds').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
}

/**
 * Takes the round's row lock for the rest of the transaction and returns the row (undefined: no round).
 * The session's row is locked first (the one lock order, repositories/sessions.ts).
 */
export async function lockRound(trx: Executor, sessionId: string): Promise<SecAggRoundsTable | undefined> {
  await lockSession(trx, sessionId);
  const result = await trx
    .updateTable('secagg_rounds')
    .set((eb) => ({ version: eb('version', '+', 1) }))
    .where('session_id', '=', sessionId)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return undefined;
  return findRound(trx, sessionId);
}

export async function updateRound(db: Executor, sessionId: string, changes: RoundChanges, at: string): Promise<void> {
  await db
    .updateTable('secagg_rounds')
    .set((eb) => ({ ...changes, updated_at: at, version: eb('version', '+', 1) }))
    .where('session_id', '=', sessionId)
    .execute();
}

/** Stages the host closes by itself, at their deadline or when every expected party answered. */
export const RELAY_STAGES: ReadonlySet<string> = new Set(['advertise', 'share-keys', 'masked-input']);

/** Sessions (not final) whose open secure-aggregation stage is past its deadline (the sweep advances them). */
export async function roundsPastDeadline(db: Executor, now: string): Promise<string[]> {
  const rows = await db
    .selectFrom('secagg_rounds as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .select('r.session_id')
    .where('r.stage', 'in', [...RELAY_STAGES])
    .where('r.stage_deadline', 'is not', null)
    .where('r.stage_deadline', '<=', now)
    .where('s.status', 'not in', [...FINAL_STATUSES])
    .execute();
  return rows.map((r) => r.session_id);
}

/** The earliest deadline of an open stage the host closes by itself (advertise, share-keys, masked-input). */
export async function nextRoundDeadline(db: Executor): Promise<string | undefined> {
  const row = await db
    .selectFrom('secagg_rounds as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .select((eb) => eb.fn.min('r.stage_deadline').as('next'))
    .where('r.stage', 'in', [...RELAY_STAGES])
    .where('r.stage_deadline', 'is not', null)
    .where('s.status', 'not in', [...FINAL_STATUSES])
    .executeTakeFirst();
  return row?.next ?? undefined;
}

export async function insertMessage(db: Executor, row: SecAggMessagesTable): Promise<void> {
  await db.insertInto('secagg_messages').values(row).execute();
}

/** The stored messages of one stage, ordered by party id (callers reorder by roster). */
export async function messagesOf(db: Executor, sessionId: string, stage: 'advertise' | 'share-keys'): Promise<SecAggMessagesTable[]> {
  return db
    .selectFrom('secagg_messages')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('stage', '=', stage)
    .orderBy('party_id')
    .execute();
}

export async function insertUnmask(db: Executor, row: SecAggUnmaskTable): Promise<void> {
  await db.insertInto('secagg_unmask').values(row).execute();
}

/** The answers to one run's unmask request: the live ones, or every one (`withDeleted`: who answered). */
export async function unmaskAnswersOf(db: Executor, sessionId: string, runId: string, withDeleted = false): Promise<SecAggUnmaskTable[]> {
  let query = db.selectFrom('secagg_unmask').selectAll().where('session_id', '=', sessionId).where('run_id', '=', runId);
  if (!withDeleted) query = query.where('deleted_at', 'is', null);
  return query.orderBy('party_id').execute();
}

export async function findUnmask(db: Executor, sessionId: string, runId: string, partyId: string): Promise<SecAggUnmaskTable | undefined> {
  return db
    .selectFrom('secagg_unmask')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('run_id', '=', runId)
    .where('party_id', '=', partyId)
    .executeTakeFirst();
}

/** Every unmask answer of a session (deleted ones too: the deletion statement lists them). */
export async function unmaskOfSession(db: Executor, sessionId: string): Promise<SecAggUnmaskTable[]> {
  return db.selectFrom('secagg_unmask').selectAll().where('session_id', '=', sessionId).orderBy('received_at').execute();
}

/** Marks every live unmask answer of a session deleted (crypto-shredding); returns the blob hashes. */
export async function markUnmaskDeleted(db: Executor, sessionId: string, at: string): Promise<string[]> {
  const live = await db
    .selectFrom('secagg_unmask')
    .select('blob_hash')
    .where('session_id', '=', sessionId)
    .where('deleted_at', 'is', null)
    .execute();
  if (live.length > 0) {
    await db.updateTable('secagg_unmask').set({ deleted_at: at }).where('session_id', '=', sessionId).where('deleted_at', 'is', null).execute();
  }
  return live.map((r) => r.blob_hash);
}

/** Whether a live unmask answer names a blob. */
export async function isUnmaskBlobReferenced(db: Executor, blobHash: string): Promise<boolean> {
  const row = await db
    .selectFrom('secagg_unmask')
    .select('party_id')
    .where('blob_hash', '=', blobHash)
    .where('deleted_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Hashes of blobs named by deleted unmask answers only (what a crash may have left on disk). */
export async function deletedUnmaskBlobHashes(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('secagg_unmask as u')
    .select('u.blob_hash')
    .distinct()
    .where('u.deleted_at', 'is not', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom('secagg_unmask as v').select('v.party_id').whereRef('v.blob_hash', '=', 'u.blob_hash').where('v.deleted_at', 'is', null),
        ),
      ),
    )
    .execute();
  return rows.map((r) => r.blob_hash);
}
