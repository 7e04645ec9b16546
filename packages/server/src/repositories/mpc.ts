/**
 * mpc storage: the preprocessings (prep ids) of a session already handed to a run. A prep is recorded
 * before the run starts, whether the run then succeeds or fails, so its triples never serve two runs.
 */
import type { Executor } from './executor.js';

/** Records `prepId` as spent. @throws the dialect's unique violation when it was already recorded. */
export async function insertPrepUsed(db: Executor, sessionId: string, prepId: string, at: string): Promise<void> {
  await db.insertInto('mpc_preps_used').values({ session_id: sessionId, prep_id: prepId, used_at: at }).execute();
}

/** The session's spent prep ids. */
export async function usedPreps(db: Executor, sessionId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('mpc_preps_used').select('prep_id').where('session_id', '=', sessionId).execute();
  return new Set(rows.map((r) => r.prep_id));
}
