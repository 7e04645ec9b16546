/**
 * What every domain operation runs with: storage, blob store, enclave, configuration, log, clock, the
 * session change bus the live event streams subscribe to, and the job queue.
 * Built once by `startServer` (or a test) and passed down explicitly; no module keeps its own state.
 */
import type { BlobStore } from './blob-store.js';
import type { ServerConfig } from './config.js';
import type { Db } from './db/database.js';
import type { Dialect } from './db/dialect.js';
import type { EnclavePort } from './enclave-client.js';
import type { TransparencyLog } from './log/transparency-log.js';
import type { Logger } from './logger.js';
import type { MpcNodes } from './mpc-nodes.js';
import type { JobQueue } from './queue/job-queue.js';
import type { SessionChangeBus } from './session-changes.js';
import type { UploadGate } from './upload-gate.js';

export interface Signals {
  /** A session with an expiry was created, or a secure-aggregation stage opened: the timer may need to fire sooner. */
  expiryChanged(): void;
}

export interface Context {
  db: Db;
  dialect: Dialect;
  blobs: BlobStore;
  enclave: EnclavePort;
  config: ServerConfig;
  logger: Logger;
  clock: () => Date;
  signals: Signals;
  uploads: UploadGate;
  /** The transparency log's read side: log key, signed tree heads, proofs (leaves come from appendAudit). */
  log: TransparencyLog;
  /** The compute node fleets of mpc sessions (configured, or started here in development). */
  mpc: MpcNodes;
  /** Session change notices for the live event streams: in process on SQLite, LISTEN/NOTIFY on PostgreSQL. */
  changes: SessionChangeBus;
  /** Runs, expiries and deletions that must happen even if this instance dies: pg-boss on PostgreSQL, embedded on SQLite. */
  queue: JobQueue;
}

export function nowIso(ctx: Pick<Context, 'clock'>): string {
  return ctx.clock().toISOString();
}
