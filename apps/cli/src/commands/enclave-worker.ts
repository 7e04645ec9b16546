// `tenzro enclave-worker`: one enclave worker of a scaled-out deployment (packages/server enclave-worker.ts):
// it starts an attested enclave process and relays its channel over TCP to the server instances that
// present the deployment's token. Workers of one deployment share TENZRO_ENCLAVE_STATE_DIR.
//
//   TENZRO_ENCLAVE_WORKER_TOKEN  required, ≥ 32 characters; never printed, and not passed to the enclave
//   TENZRO_ENCLAVE_STATE_DIR     required: the state directory shared by the workers of one deployment
//   TENZRO_ENCLAVE_ENTRY         optional: the enclave's main.js (default: this checkout's)
//   TENZRO_RUN_TIMEOUT_MS        optional: the longest one run may take in the enclave (default 10 min; as the servers')
//   TENZRO_LOG_LEVEL             optional: fatal | error | warn | info | debug | trace | silent (default info)
//
// Ready, it prints one line to stdout: `enclave worker listening on tcp://HOST:PORT measurement=<hex>`.
import { isAbsolute, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { DEFAULT_RUN_TIMEOUT_MS, createLogger, defaultEnclaveEntry, startEnclaveWorker, MIN_WORKER_TOKEN_LENGTH } from '@tenzro/server';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export interface EnclaveWorkerCommandOptions {
  host: string;
  port: number;
}

/** Exit 2 with a message naming the variable. */
class EnvError extends Error {}

function settingsFrom(env: NodeJS.ProcessEnv): { token: string; stateDir: string; entry: string; logLevel: string; runTimeoutMs: number } {
  const token = env.TENZRO_ENCLAVE_WORKER_TOKEN;
  if (token === undefined || token === '') throw new EnvError('TENZRO_ENCLAVE_WORKER_TOKEN must be set to the deployment’s worker token');
  if (token.length < MIN_WORKER_TOKEN_LENGTH) {
    throw new EnvError(`TENZRO_ENCLAVE_WORKER_TOKEN must be at least ${MIN_WORKER_TOKEN_LENGTH} characters`);
  }
  const stateDir = env.TENZRO_ENCLAVE_STATE_DIR;
  if (stateDir === undefined || stateDir === '') {
    throw new EnvError('TENZRO_ENCLAVE_STATE_DIR must name the enclave state directory shared by the workers of this deployment');
  }
  const entry = env.TENZRO_ENCLAVE_ENTRY ? resolve(env.TENZRO_ENCLAVE_ENTRY) : defaultEnclaveEntry();
  let isFile = false;
  try {
    isFile = statSync(entry).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) {
    throw new EnvError(
      env.TENZRO_ENCLAVE_ENTRY
        ? `TENZRO_ENCLAVE_ENTRY names no file (${entry})`
        : `the enclave is not built (${entry}); run npm run build or set TENZRO_ENCLAVE_ENTRY`,
    );
  }
  const logLevel = env.TENZRO_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new EnvError(`TENZRO_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  // The run timeout the servers use (the shared environment file names it once for both sides).
  const timeoutText = env.TENZRO_RUN_TIMEOUT_MS;
  let runTimeoutMs = DEFAULT_RUN_TIMEOUT_MS;
  if (timeoutText !== undefined && timeoutText !== '') {
    runTimeoutMs = Number(timeoutText);
    if (!/^\d+$/.test(timeoutText) || runTimeoutMs < 1_000 || runTimeoutMs > 6 * 3_600_000) {
      throw new EnvError('TENZRO_RUN_TIMEOUT_MS must be an integer from 1000 to 21600000 (milliseconds)');
    }
  }
  return { token, stateDir: isAbsolute(stateDir) ? stateDir : resolve(stateDir), entry, logLevel, runTimeoutMs };
}

/** Runs until SIGTERM or SIGINT; resolves with the exit code for a refusal to start. */
export async function enclaveWorker(options: EnclaveWorkerCommandOptions): Promise<number | undefined> {
  let settings: ReturnType<typeof settingsFrom>;
  try {
    settings = settingsFrom(process.env);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    console.error(`tenzro enclave-worker: ${error.message}`);
    return 2;
  }
  // The enclave child inherits this process's environment: it has no use for the token.
  delete process.env.TENZRO_ENCLAVE_WORKER_TOKEN;

  const logger = createLogger({ level: settings.logLevel });
  if (!LOOPBACK.test(options.host)) {
    logger.warn({ host: options.host }, 'the enclave worker channel is not encrypted: listen on a private network only');
  }
  let worker: Awaited<ReturnType<typeof startEnclaveWorker>>;
  try {
    worker = await startEnclaveWorker({
      host: options.host,
      port: options.port,
      token: settings.token,
      entry: settings.entry,
      stateDir: settings.stateDir,
      logger,
      supervisor: { timeoutsMs: { run: settings.runTimeoutMs } },
    });
  } catch (error) {
    const err = error as { code?: string; message?: string };
    console.error(`tenzro enclave-worker: could not start: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(error)}`);
    return 1;
  }
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'enclave worker: shutting down');
    worker.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'enclave worker: shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`enclave worker listening on ${worker.url} measurement=${worker.supervisor.info()?.measurement ?? 'unknown'}\n`);
  return undefined;
}
