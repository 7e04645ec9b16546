/**
 * Server configuration from the environment. Every value has a safe default for development; production
 * is opt-in (`TENZRO_ENV=production`) and turns off the demo bootstrap.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresUrlProblem } from './db/postgres-url.js';
import { MAX_WORKER_TOKEN_LENGTH, MIN_WORKER_TOKEN_LENGTH } from './enclave-worker.js';

export type Environment = 'development' | 'production';

export interface ServerConfig {
  port: number;
  host: string;
  /** What this instance persists: the embedded database, its log file, the development credentials. */
  dataDir: string;
  /**
   * TENZRO_SHARED_DIR (default: the data directory): what every instance of a deployment must see alike —
   * the ciphertext blobs (`blobs/`, read by path by the enclave workers too), the transparency log's signing
   * key, and the state of an enclave this instance starts itself (`enclave/`). Several instances on one host
   * point it at one directory; across hosts, at one shared mount (docs/deploy.md).
   */
  sharedDir: string;
  /**
   * DATABASE_URL: a `postgres://` or `postgresql://` URL; unset, the embedded SQLite file in the data
   * directory. It may hold a password: never log it (db/postgres-url.ts has a redacted form).
   */
  databaseUrl: string | undefined;
  environment: Environment;
  /** Largest accepted ciphertext upload, in bytes. */
  maxUploadBytes: number;
  /** Uploads in progress at once (streaming, then verified by the enclave); the next one gets 429 with Retry-After. */
  maxConcurrentUploads: number;
  /** An upload that sends nothing for this long is aborted (a client sending 1 byte a second still counts). */
  uploadIdleTimeoutMs: number;
  /** The enclave's entry file, started as a child process; a path, never imported. */
  enclaveEntry: string;
  /**
   * TENZRO_ENCLAVE_WORKERS: comma-separated `tcp://host:port` of `tenzro enclave-worker` processes; set, the
   * server starts no enclave of its own and spreads enclave calls over these (enclave-pool.ts).
   */
  enclaveWorkers: string[] | undefined;
  /** TENZRO_ENCLAVE_WORKER_TOKEN: the shared secret the workers ask for (required with enclaveWorkers; never logged). */
  enclaveWorkerToken: string | undefined;
  /**
   * TENZRO_ENCLAVE_MEASUREMENT: the measurement (96 hex) every enclave worker must report; unset, the first
   * worker the pool accepts sets it for the others.
   */
  enclaveMeasurement: string | undefined;
  /** TENZRO_RUN_TIMEOUT_MS: the longest one enclave `run` call may take before it is abandoned (default 10 min). */
  runTimeoutMs: number;
  /**
   * TENZRO_RUN_LEASE_MS: how long a claimed run stays claimed without its instance renewing the lease (it
   * renews every third of it). A run whose instance died is claimed again by another once the lease lapses.
   */
  runLeaseMs: number;
  /** TENZRO_QUEUE_MAINTENANCE_S: how often the job queue looks for jobs whose worker died (default 30 s). */
  queueMaintenanceSeconds: number;
  /**
   * TENZRO_SWEEP_INTERVAL_MS: how often each instance sweeps for overdue sessions, owed key destructions and
   * runs nobody is on (default 30 s). A run whose instance died is picked up within runLeaseMs + this.
   */
  sweepIntervalMs: number;
  /** TENZRO_QUEUE_POLL_S: how often an idle instance polls the job queue (default 2 s; a local send wakes it at once). */
  queuePollingSeconds: number;
  /** Guards POST /v1/admin/tenants; without it the route does not exist. */
  adminKey: string | undefined;
  /** The shortest session lifetime a creator may ask for (policy; short sessions minimise exposure). */
  minSessionTtlMs: number;
  /** Log level of the host (never bodies, never auth headers). */
  logLevel: string;
  /**
   * How long a secure-aggregation stage stays open after it opened (TENZRO_SECAGG_STAGE_TIMEOUT_MS): at the
   * deadline it closes with the parties that answered, or the round fails below the threshold.
   */
  secAggStageTimeoutMs: number;
  /**
   * TENZRO_MPC_NODES: the path of a JSON file naming compute node fleets run elsewhere (docs/mpc.md);
   * unset, a development server with a simulated enclave starts its own fleets (mpc-nodes.ts).
   */
  mpcNodesFile: string | undefined;
  /**
   * TENZRO_MPC_STEP_TIMEOUT_MS: how long the host waits for one compute node's answer (attestation, one
   * round of a preprocessing or a run) before counting it down; unset: the coordinator's default (30 s).
   */
  mpcStepTimeoutMs: number | undefined;
  /** TENZRO_CONSOLE_DIR: the built web console served at `/` (default apps/console/dist; absent: not served). */
  consoleDir: string | undefined;
}

export const DEFAULT_PORT = 8787;
export const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 32;
export const DEFAULT_SECAGG_STAGE_TIMEOUT_MS = 120_000;

/** packages/enclave/dist/main.js, resolved from this file (packages/server/{src,dist}/config.*). */
export function defaultEnclaveEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', 'enclave', 'dist', 'main.js');
}

export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_RUN_LEASE_MS = 30_000;

export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${text}`);
  }
  return value;
}

/** DATABASE_URL, checked; a message about it names the variable and never repeats the URL. */
function databaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const text = env.DATABASE_URL;
  if (text === undefined || text === '') return undefined;
  const problem = postgresUrlProblem(text);
  if (problem !== undefined) throw new ConfigError(`DATABASE_URL ${problem}`);
  return text;
}

/** TENZRO_ENCLAVE_WORKERS, checked: each entry a `tcp://host:port` with a port in 1..65535. */
function enclaveWorkers(env: NodeJS.ProcessEnv): string[] | undefined {
  const text = env.TENZRO_ENCLAVE_WORKERS;
  if (text === undefined || text.trim() === '') return undefined;
  const workers = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const worker of workers) {
    let url: URL;
    try {
      url = new URL(worker);
    } catch {
      throw new ConfigError(`TENZRO_ENCLAVE_WORKERS: ${JSON.stringify(worker)} is not a tcp://host:port address`);
    }
    if (url.protocol !== 'tcp:' || url.hostname === '' || url.port === '' || url.port === '0' || url.pathname !== '' || url.username !== '' || url.search !== '' || url.hash !== '') {
      throw new ConfigError(`TENZRO_ENCLAVE_WORKERS: ${JSON.stringify(worker)} is not a tcp://host:port address`);
    }
  }
  if (new Set(workers).size !== workers.length) throw new ConfigError('TENZRO_ENCLAVE_WORKERS names a worker twice');
  return workers;
}

function enclaveMeasurement(env: NodeJS.ProcessEnv): string | undefined {
  const text = env.TENZRO_ENCLAVE_MEASUREMENT;
  if (text === undefined || text === '') return undefined;
  if (!/^[0-9a-f]{96}$/.test(text)) throw new ConfigError('TENZRO_ENCLAVE_MEASUREMENT must be 96 lowercase hex characters (`tenzro measure` prints it)');
  return text;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const adminKey = env.TENZRO_ADMIN_KEY;
  if (adminKey !== undefined && adminKey !== '' && adminKey.length < 32) {
    throw new ConfigError('TENZRO_ADMIN_KEY must be at least 32 characters');
  }
  const workers = enclaveWorkers(env);
  const workerToken = env.TENZRO_ENCLAVE_WORKER_TOKEN || undefined;
  if (workers && workerToken === undefined) throw new ConfigError('TENZRO_ENCLAVE_WORKERS needs TENZRO_ENCLAVE_WORKER_TOKEN');
  if (workerToken !== undefined && (workerToken.length < MIN_WORKER_TOKEN_LENGTH || workerToken.length > MAX_WORKER_TOKEN_LENGTH)) {
    throw new ConfigError(`TENZRO_ENCLAVE_WORKER_TOKEN must be ${MIN_WORKER_TOKEN_LENGTH} to ${MAX_WORKER_TOKEN_LENGTH} characters`);
  }
  const dataDir = resolve(env.TENZRO_DATA_DIR || '.tenzro');
  const sharedDir = env.TENZRO_SHARED_DIR ? resolve(env.TENZRO_SHARED_DIR) : dataDir;
  // Two SQLite instances sharing a directory would sign two different logs with one key (a log fork).
  if (sharedDir !== dataDir && !env.DATABASE_URL) {
    throw new ConfigError('TENZRO_SHARED_DIR is for several instances over one PostgreSQL: set DATABASE_URL too, or leave it unset');
  }
  return {
    port: integer(env, 'PORT', DEFAULT_PORT, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir,
    sharedDir,
    databaseUrl: databaseUrl(env),
    environment: env.TENZRO_ENV === 'production' ? 'production' : 'development',
    maxUploadBytes: integer(env, 'TENZRO_MAX_UPLOAD_BYTES', DEFAULT_MAX_UPLOAD_BYTES, 1, Number.MAX_SAFE_INTEGER),
    maxConcurrentUploads: integer(env, 'TENZRO_MAX_CONCURRENT_UPLOADS', DEFAULT_MAX_CONCURRENT_UPLOADS, 1, 10_000),
    uploadIdleTimeoutMs: integer(env, 'TENZRO_UPLOAD_IDLE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    enclaveEntry: env.TENZRO_ENCLAVE_ENTRY ? resolve(env.TENZRO_ENCLAVE_ENTRY) : defaultEnclaveEntry(),
    enclaveWorkers: workers,
    enclaveWorkerToken: workerToken,
    enclaveMeasurement: enclaveMeasurement(env),
    runTimeoutMs: integer(env, 'TENZRO_RUN_TIMEOUT_MS', DEFAULT_RUN_TIMEOUT_MS, 1_000, 6 * 3_600_000),
    runLeaseMs: integer(env, 'TENZRO_RUN_LEASE_MS', DEFAULT_RUN_LEASE_MS, 1_500, 3_600_000),
    queueMaintenanceSeconds: integer(env, 'TENZRO_QUEUE_MAINTENANCE_S', 30, 1, 3_600),
    queuePollingSeconds: integer(env, 'TENZRO_QUEUE_POLL_S', 2, 1, 600),
    sweepIntervalMs: integer(env, 'TENZRO_SWEEP_INTERVAL_MS', 30_000, 100, 3_600_000),
    adminKey: adminKey ? adminKey : undefined,
    minSessionTtlMs: integer(env, 'TENZRO_MIN_SESSION_TTL_MS', 60_000, 1_000, 86_400_000),
    logLevel: env.TENZRO_LOG_LEVEL || 'info',
    secAggStageTimeoutMs: integer(env, 'TENZRO_SECAGG_STAGE_TIMEOUT_MS', DEFAULT_SECAGG_STAGE_TIMEOUT_MS, 100, 86_400_000),
    mpcNodesFile: env.TENZRO_MPC_NODES ? resolve(env.TENZRO_MPC_NODES) : undefined,
    consoleDir: env.TENZRO_CONSOLE_DIR || undefined,
    mpcStepTimeoutMs: env.TENZRO_MPC_STEP_TIMEOUT_MS ? integer(env, 'TENZRO_MPC_STEP_TIMEOUT_MS', 30_000, 100, 600_000) : undefined,
  };
}
