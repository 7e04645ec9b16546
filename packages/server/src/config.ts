/**
 * Server configuration from the environment. Every value has a safe default for development; production
 * is opt-in (`TENZRO_ENV=production`) and turns off the demo bootstrap.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresUrlProblem } from './db/postgres-url.js';

export type Environment = 'development' | 'production';

export interface ServerConfig {
  port: number;
  host: string;
  /** Everything the host persists lives under here: database, blobs, logs, enclave state, dev credentials. */
  dataDir: string;
  /**
   * DATABASE_URL: a `postgres://` or `postgresql://` URL; unset, the embedded SQLite file in the data
   * directory. It may hold a password: never log it (db/postgres-url.ts has a redacted form).
   */
  databaseUrl: string | undefined;
  environment: Environment;
  /** Largest accepted ciphertext upload, in bytes. */
  maxUploadBytes: number;
  /** Uploads streaming at once; the next one gets 429 with Retry-After. */
  maxConcurrentUploads: number;
  /** An upload that sends nothing for this long is aborted (a client sending 1 byte a second still counts). */
  uploadIdleTimeoutMs: number;
  /** The enclave's entry file, started as a child process; a path, never imported. */
  enclaveEntry: string;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const adminKey = env.TENZRO_ADMIN_KEY;
  if (adminKey !== undefined && adminKey !== '' && adminKey.length < 32) {
    throw new ConfigError('TENZRO_ADMIN_KEY must be at least 32 characters');
  }
  return {
    port: integer(env, 'PORT', DEFAULT_PORT, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.TENZRO_DATA_DIR || '.tenzro'),
    databaseUrl: databaseUrl(env),
    environment: env.TENZRO_ENV === 'production' ? 'production' : 'development',
    maxUploadBytes: integer(env, 'TENZRO_MAX_UPLOAD_BYTES', DEFAULT_MAX_UPLOAD_BYTES, 1, Number.MAX_SAFE_INTEGER),
    maxConcurrentUploads: integer(env, 'TENZRO_MAX_CONCURRENT_UPLOADS', DEFAULT_MAX_CONCURRENT_UPLOADS, 1, 10_000),
    uploadIdleTimeoutMs: integer(env, 'TENZRO_UPLOAD_IDLE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    enclaveEntry: env.TENZRO_ENCLAVE_ENTRY ? resolve(env.TENZRO_ENCLAVE_ENTRY) : defaultEnclaveEntry(),
    adminKey: adminKey ? adminKey : undefined,
    minSessionTtlMs: integer(env, 'TENZRO_MIN_SESSION_TTL_MS', 60_000, 1_000, 86_400_000),
    logLevel: env.TENZRO_LOG_LEVEL || 'info',
    secAggStageTimeoutMs: integer(env, 'TENZRO_SECAGG_STAGE_TIMEOUT_MS', DEFAULT_SECAGG_STAGE_TIMEOUT_MS, 100, 86_400_000),
    mpcNodesFile: env.TENZRO_MPC_NODES ? resolve(env.TENZRO_MPC_NODES) : undefined,
    consoleDir: env.TENZRO_CONSOLE_DIR || undefined,
    mpcStepTimeoutMs: env.TENZRO_MPC_STEP_TIMEOUT_MS ? integer(env, 'TENZRO_MPC_STEP_TIMEOUT_MS', 30_000, 100, 600_000) : undefined,
  };
}
