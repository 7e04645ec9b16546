/**
 * A storage dialect: the few things that differ between databases, behind one small interface, so the
 * repositories and the domain never name a database. SQLite (better-sqlite3) is the one shipped; a
 * PostgreSQL dialect adds a file here and a case in `createDatabase`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteDialect, type Dialect as KyselyDialect } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

export interface Dialect {
  readonly name: DialectName;
  /** The Kysely dialect; called once per database handle. */
  createKyselyDialect(): KyselyDialect;
  /** Whether an error thrown by a query is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
  /** Releases what `createKyselyDialect` opened beyond Kysely's own `destroy()`. */
  close(): void;
}

export interface SqliteOptions {
  /** A file path, or ':memory:'. */
  filename: string;
}

/**
 * SQLite through better-sqlite3: WAL journal, foreign keys on, `synchronous=FULL` so an acknowledged
 * commit survives power loss, and a busy timeout for the odd external reader.
 */
export function sqliteDialect(options: SqliteOptions): Dialect {
  let database: BetterSqlite3.Database | undefined;
  return {
    name: 'sqlite',
    createKyselyDialect() {
      return new SqliteDialect({
        database: async () => {
          database = new BetterSqlite3(options.filename);
          database.pragma('journal_mode = WAL');
          database.pragma('foreign_keys = ON');
          database.pragma('synchronous = FULL');
          database.pragma('busy_timeout = 5000');
          return database;
        },
      });
    },
    isUniqueViolation(error: unknown): boolean {
      const code = (error as { code?: unknown } | null)?.code;
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
    close() {
      if (database?.open) database.close();
    },
  };
}

export interface DatabaseLocation {
  dataDir: string;
  /** Defaults to 'sqlite'. */
  dialect?: DialectName;
}

/** Picks the dialect for a configuration. */
export function dialectFor(location: DatabaseLocation): Dialect {
  const name = location.dialect ?? 'sqlite';
  switch (name) {
    case 'sqlite':
      mkdirSync(location.dataDir, { recursive: true });
      return sqliteDialect({ filename: join(location.dataDir, 'tenzro.db') });
    case 'postgres':
      throw new TypeError('dialect: postgres is not shipped in this release');
  }
}
