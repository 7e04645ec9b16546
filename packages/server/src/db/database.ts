/**
 * Opens the host database through its dialect and brings the schema up to date.
 */
import { Kysely, Migrator } from 'kysely';
import { dialectFor, type DatabaseLocation, type Dialect } from './dialect.js';
import { createMigrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

export class MigrationError extends Error {
  readonly code = 'migration_failed' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export async function migrate(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({ db, provider: createMigrationProvider(dialect.name) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed`, { cause: error });
  }
}

export async function createDatabase(location: DatabaseLocation): Promise<DatabaseHandle> {
  const dialect = dialectFor(location);
  const db = new Kysely<Database>({ dialect: dialect.createKyselyDialect() });
  try {
    await migrate(db as unknown as Kysely<unknown>, dialect);
  } catch (error) {
    await db.destroy();
    await dialect.close();
    throw error;
  }
  return {
    db,
    dialect,
    async close() {
      await db.destroy();
      await dialect.close();
    },
  };
}
