/**
 * A throwaway PostgreSQL cluster for development tools (the scale benchmark) and, through
 * postgres.fixture.ts, the tests. The cluster lives in a temp directory (data in `data/`, the unix socket
 * beside it), listens on no TCP address, runs without fsync, and is stopped with `pg_ctl stop -m immediate`
 * and deleted afterwards. As root (CI, these machines) initdb and pg_ctl run as the `postgres` OS user,
 * which owns the directory.
 *
 * Not for production: no durability, trust authentication. Not exported from the package index; import it
 * by path (`@tenzro/server`'s dist/dev/postgres-cluster.js).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Debian's postgresql-15 if there, else the newest /usr/lib/postgresql/<major>/bin that has initdb. */
function defaultPostgresBin(): string {
  const preferred = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(preferred, 'initdb'))) return preferred;
  let majors: number[] = [];
  try {
    majors = readdirSync('/usr/lib/postgresql').map(Number).filter((n) => Number.isInteger(n));
  } catch {
    return preferred;
  }
  const found = majors.sort((a, b) => b - a).map((n) => `/usr/lib/postgresql/${n}/bin`).find((bin) => existsSync(join(bin, 'initdb')));
  return found ?? preferred;
}

/** Where PostgreSQL's server binaries are (TENZRO_PG_BIN overrides). */
export const POSTGRES_BIN = process.env.TENZRO_PG_BIN ?? defaultPostgresBin();

export type PostgresAvailability = { available: true } | { available: false; reason: string };

/** Whether PostgreSQL's server binaries (initdb, pg_ctl) are in POSTGRES_BIN, and if not, why. */
export function postgresBinaries(): PostgresAvailability {
  if (existsSync(join(POSTGRES_BIN, 'initdb')) && existsSync(join(POSTGRES_BIN, 'pg_ctl'))) return { available: true };
  return { available: false, reason: `PostgreSQL server binaries not found in ${POSTGRES_BIN} (install postgresql-15, or set TENZRO_PG_BIN)` };
}

export interface PostgresCluster {
  /** URL of the cluster's first database (`tenzro_1`), over the unix socket. */
  url: string;
  /** URL of the maintenance database (`postgres`), for a client that creates databases itself. */
  adminUrl: string;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The OS user the cluster runs as: `postgres` when we are root (initdb refuses root), else ourselves. */
async function clusterUser(): Promise<{ uid: number; gid: number; prefix: string[] } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid, prefix: ['runuser', '-u', 'postgres', '--'] };
}

const USER = 'tenzro';

function urlOf(socketDir: string, port: number, database: string): string {
  return `postgresql://${USER}@/${database}?host=${encodeURIComponent(socketDir)}&port=${port}`;
}

export interface PostgresClusterOptions {
  /** The server's max_connections (default 60; a test run sharing one cluster across files needs more). */
  maxConnections?: number;
}

/** Starts a fresh cluster with one empty database (`url`); throws when the binaries are missing. */
export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const availability = postgresBinaries();
  if (!availability.available) throw new Error(availability.reason);
  const dir = await mkdtemp(join(tmpdir(), 'tenzro-pg-'));
  const dataDir = join(dir, 'data');
  const user = await clusterUser();
  const exec = (command: string, args: string[]) =>
    user ? run(user.prefix[0]!, [...user.prefix.slice(1), command, ...args]) : run(command, args);
  let started = false;
  try {
    await mkdir(dataDir, { mode: 0o700 });
    if (user) {
      await chown(dir, user.uid, user.gid);
      await chown(dataDir, user.uid, user.gid);
    }
    await exec(join(POSTGRES_BIN, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', USER, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    const port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=''",
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c shared_buffers=16MB',
      `-c max_connections=${options.maxConnections ?? 60}`,
    ].join(' ');
    await exec(join(POSTGRES_BIN, 'pg_ctl'), ['-D', dataDir, '-o', serverOptions, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    started = true;

    let databases = 0;
    const createDatabase = async (): Promise<string> => {
      const name = `tenzro_${++databases}`;
      const client = new pg.Client({ connectionString: urlOf(dir, port, 'postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return urlOf(dir, port, name);
    };
    const url = await createDatabase();
    return {
      url,
      adminUrl: urlOf(dir, port, 'postgres'),
      createDatabase,
      async stop() {
        await exec(join(POSTGRES_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (started) await exec(join(POSTGRES_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
