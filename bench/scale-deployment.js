// A scaled-out deployment on this machine for the scale benchmark (docs/deploy.md): one throwaway
// PostgreSQL cluster, N enclave workers sharing one state directory, and M server instances over the same
// database and shared directory, each a child process whose stdout and stderr go to a log file in a temp
// directory. `stop()` ends every child (SIGTERM, then SIGKILL after 10 s) and the cluster; so does the
// bench process's exit, whatever the reason.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgresCluster } from '../packages/server/dist/dev/postgres-cluster.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitFor(what, probe, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readLog(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, with its ended and reaped children's; 0 when it is gone. */
function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a process and all its descendants alive now. */
function treeCpuSeconds(pid) {
  return cpuSecondsOf(pid) + childrenOf(pid).reduce((sum, child) => sum + treeCpuSeconds(child), 0);
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineCpuSeconds() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = values.slice(0, 8).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** Children still running, killed with SIGKILL if the bench process exits without stopping them. */
const running = new Set();
/** Deployments not yet stopped: an interrupted bench stops them (the cluster is no child of ours) first. */
const active = new Set();
let cleanupInstalled = false;

function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      // What the bench was doing fails as its servers go away: keep those failures from ending the process
      // before the cluster is stopped.
      process.on('unhandledRejection', () => undefined);
      process.on('uncaughtException', () => undefined);
      const timeout = new Promise((r) => setTimeout(r, 15_000));
      Promise.race([Promise.allSettled([...active].map((stop) => stop())), timeout]).finally(() => process.exit(130));
    });
  }
}

/**
 * @param {{ instances?: number, workers?: number, env?: Record<string, string>, nodeArgs?: string[] }} options
 *   env: extra environment for every server instance (e.g. TENZRO_MAX_CONCURRENT_UPLOADS);
 *   nodeArgs: node options for every server instance (e.g. --cpu-prof, which NODE_OPTIONS refuses).
 */
export async function startDeployment(options = {}) {
  const { instances = 2, workers = 2, env = {}, nodeArgs = [] } = options;
  installCleanup();
  const root = mkdtempSync(join(tmpdir(), 'tenzro-bench-scale-'));
  const shared = join(root, 'shared');
  mkdirSync(shared, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  const services = [];
  let cluster;
  let db;

  const startService = async (name, args, serviceEnv, ready, execArgs = []) => {
    const logFile = join(root, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...execArgs, cli, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...serviceEnv },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    running.add(child);
    child.once('exit', () => running.delete(child));
    const service = { name, child, logFile, pid: child.pid, log: () => readLog(logFile) };
    services.push(service);
    await waitFor(`${name} to be ready`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${service.log().slice(-4000)}`);
      }
      return (await ready(service)) ? true : undefined;
    });
    return service;
  };

  const stop = async () => {
    active.delete(stop);
    await db?.end().catch(() => undefined);
    await Promise.all(
      services.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }),
    );
    await cluster?.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  };

  active.add(stop);
  try {
    const t0 = performance.now();
    cluster = await startPostgresCluster();
    const databaseUrl = await cluster.createDatabase();
    const workerServices = [];
    const workerEnv = {
      TENZRO_ENCLAVE_WORKER_TOKEN: token,
      TENZRO_ENCLAVE_STATE_DIR: join(shared, 'enclave'),
      TENZRO_LOG_LEVEL: 'info',
    };
    for (let i = 0; i < workers; i++) {
      const port = await freePort();
      const service = await startService(`worker${i + 1}`, ['enclave-worker', '--host', '127.0.0.1', '--port', String(port)], workerEnv, (s) =>
        /enclave worker listening on tcp:\/\//.test(s.log()),
      );
      workerServices.push({ ...service, port, url: `tcp://127.0.0.1:${port}` });
    }
    const servers = [];
    for (let i = 0; i < instances; i++) {
      const port = await freePort();
      const dataDir = join(root, `server${i + 1}`);
      mkdirSync(dataDir);
      const baseUrl = `http://127.0.0.1:${port}`;
      const serverEnv = {
        PORT: String(port),
        HOST: '127.0.0.1',
        TENZRO_ENV: 'development',
        TENZRO_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        TENZRO_SHARED_DIR: shared,
        TENZRO_ENCLAVE_WORKERS: workerServices.map((w) => w.url).join(','),
        TENZRO_ENCLAVE_WORKER_TOKEN: token,
        TENZRO_LOG_LEVEL: 'warn',
        ...env,
      };
      // Instance A (started first) creates the development tenants; the others find them in the database.
      const service = await startService(`server${String.fromCharCode(65 + i)}`, ['start'], serverEnv, async () => {
        try {
          return (await fetch(`${baseUrl}/healthz`)).ok;
        } catch {
          return false;
        }
      }, nodeArgs);
      servers.push({ ...service, port, baseUrl, dataDir });
    }
    const credentials = JSON.parse(readFileSync(join(servers[0].dataDir, 'dev', 'credentials.json'), 'utf8'));
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    // The postmaster of the cluster: its pid is the first line of postmaster.pid in the data directory,
    // which sits in the socket directory the URL names.
    const socketDir = new URLSearchParams(databaseUrl.slice(databaseUrl.indexOf('?') + 1)).get('host');
    const postmaster = Number(readFileSync(join(socketDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    /** CPU seconds so far per piece (PostgreSQL, each instance, each worker with its enclave, this process). */
    const cpu = () => {
      const usage = process.cpuUsage();
      return {
        postgres: treeCpuSeconds(postmaster),
        ...Object.fromEntries(servers.map((s) => [s.name, treeCpuSeconds(s.pid)])),
        ...Object.fromEntries(workerServices.map((w) => [w.name, treeCpuSeconds(w.pid)])),
        'bench (load generator)': (usage.user + usage.system) / 1e6,
        machine: machineCpuSeconds(),
      };
    };
    return { root, servers, workers: workerServices, credentials, db, databaseUrl, startupMs: performance.now() - t0, cpu, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
