/**
 * A storage dialect: the few things that differ between databases, behind one small interface, so the
 * repositories and the domain never name a database. SQLite (better-sqlite3, a file in the data directory)
 * is the embedded default; PostgreSQL (pg) is chosen by a `postgres://` URL (`DATABASE_URL`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { PostgresDialect, SqliteDialect, type Dialect as KyselyDialect } from 'kysely';
import pg from 'pg';
import { isPostgresUrl, postgresUrlProblem } from './postgres-url.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Dialect {
  readonly name: DialectName;
  /** The Kysely dialect; called once per database handle. */
  createKyselyDialect(): KyselyDialect;
  /** Whether an error thrown by a query is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
  /** Releases what `createKyselyDialect` opened beyond Kysely's own `destroy()` (call it after that). */
  close(): Promise<void>;
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
    async close() {
      if (database?.open) database.close();
    },
  };
}

export interface PostgresOptions {
  /** A `postgres://` or `postgresql://` URL (libpq's form); it may hold a password, so it is never logged. */
  connectionString: string;
  /** Most connections the pool opens (default 10). */
  poolSize?: number;
}

export const DEFAULT_POSTGRES_POOL_SIZE = 10;

/** pg_type OID of int8 (bigint): `count(*)`, `bigserial` and every integer column on PostgreSQL. */
const INT8_OID = 20;

/**
 * int8 comes back as a number, as SQLite's INTEGER does: the schema types say `number`. A value beyond
 * 2^53 − 1 fails the query (RangeError) rather than losing precision silently.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`an int8 value (${text}) is outside Number's safe integer range`);
  return value;
}

/** The pool's own type parsers (pg's global table is left alone): int8 as a safe number, the rest pg's. */
const postgresTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};


/**
 * PostgreSQL through a pg Pool: int8 parsed to numbers for this pool only, and unique violations recognised
 * by SQLSTATE 23505. Concurrent transactions are serialised where they must be by row locks (a session's
 * row, repositories/sessions.ts) and by the transparency log's append lock (repositories/log.ts).
 */
export function postgresDialect(options: PostgresOptions): Dialect {
  if (typeof options?.connectionString !== 'string') throw new TypeError('connectionString: expected a string');
  const problem = postgresUrlProblem(options.connectionString);
  if (problem !== undefined) throw new TypeError(`connectionString: ${problem}`);
  const poolSize = options.poolSize ?? DEFAULT_POSTGRES_POOL_SIZE;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) throw new RangeError(`poolSize: expected an integer of at least 1, got ${poolSize}`);
  const connectionString = options.connectionString;
  let pool: pg.Pool | undefined;
  return {
    name: 'postgres',
    createKyselyDialect() {
      return new PostgresDialect({
        pool: async () => {
          pool = new pg.Pool({ connectionString, max: poolSize, types: postgresTypes });
          // An idle connection that breaks (a server restart) leaves the pool; the next query reports a
          // lasting problem. Without a listener pg's 'error' event would end the process.
          pool.on('error', () => undefined);
          return pool;
        },
      });
    },
    isUniqueViolation(error: unknown): boolean {
      return (error as { code?: unknown } | null)?.code === '23505';
    },
    async close() {
      // Kysely's destroy() ends the pool; this ends one it never got to.
      if (pool && !pool.ending) await pool.end();
    },
  };
}

export interface DatabaseLocation {
  /** Where the embedded SQLite file (`tenzro.db`) lives when no `url` is given. */
  dataDir: string;
  /** A `postgres://` or `postgresql://` URL (DATABASE_URL); absent: the embedded SQLite file. */
  url?: string | undefined;
  /** PostgreSQL only: the pool's size. */
  poolSize?: number | undefined;
}

/** Picks the dialect for a configuration: PostgreSQL when the location names its URL, else SQLite. */
export function dialectFor(location: DatabaseLocation): Dialect {
  if (location.url !== undefined) {
    if (!isPostgresUrl(location.url)) throw new TypeError('url: must be a postgres:// or postgresql:// URL');
    return postgresDialect({
      connectionString: location.url,
      ...(location.poolSize !== undefined ? { poolSize: location.poolSize } : {}),
    });
  }
  mkdirSync(location.dataDir, { recursive: true });
  return sqliteDialect({ filename: join(location.dataDir, 'tenzro.db') });
}
