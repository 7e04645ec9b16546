/** What every repository function runs on: the database handle or an open transaction. */
import { PostgresAdapter, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export type Executor = Kysely<Database>;

/**
 * Whether the executor speaks to PostgreSQL, where concurrent transactions need explicit locks. An embedded
 * SQLite database has one writer at a time already (one connection; Kysely runs its transactions in turn).
 */
export function needsRowLocks(db: Executor): boolean {
  return db.isTransaction && db.getExecutor().adapter instanceof PostgresAdapter;
}
