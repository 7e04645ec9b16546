// @tenzro/server — the untrusted host: HTTP API, auth, session state machine, storage, blob store, jobs,
// audit log and enclave supervisor. It never imports enclave code; it talks to the enclave over the channel.
export { startServer, type RunningServer, type StartOptions } from './server.js';
export { buildApp, allRoutes } from './app.js';
export { loadConfig, defaultEnclaveEntry, ConfigError, DEFAULT_RUN_TIMEOUT_MS, type ServerConfig, type Environment } from './config.js';
export type { Context, Signals } from './context.js';
export { createDatabase, migrate, type Db, type DatabaseHandle } from './db/database.js';
export { dialectFor, postgresDialect, sqliteDialect, type Dialect, type DialectName } from './db/dialect.js';
export type { Database } from './db/schema.js';
export { BlobStore, type StoredBlob } from './blob-store.js';
export { EnclaveSupervisor, EnclaveCallError, type EnclavePort, type EnclaveInfo } from './enclave-client.js';
export { EnclavePool, type EnclavePoolOptions, type EnclaveWorkerState, type EnclaveWorkerStatus } from './enclave-pool.js';
export {
  startEnclaveWorker,
  MIN_WORKER_TOKEN_LENGTH,
  type EnclaveWorkerOptions,
  type RunningEnclaveWorker,
} from './enclave-worker.js';
export { JobRunner } from './jobs.js';
export { ExpiryWatcher } from './expiry.js';
export { createLogger, type Logger } from './logger.js';
export { MpcNodes, loadMpcNodesFile, type ConfiguredFleets, type MpcNodesOptions } from './mpc-nodes.js';
export { bootstrapDevelopment, credentialsPath, DEMO_PARTIES, type DevCredentials } from './bootstrap.js';
export { createTenant, hashApiKey, type CreatedTenant } from './domain/tenants.js';
export { buildOpenApi } from './http/openapi.js';
export { TransparencyLog, type TransparencyLogOptions } from './log/transparency-log.js';
export { loadOrCreateLogKey, logKeyPath, LogKeyError, type LogKey } from './log/log-key.js';
export { AnchorPublisher, type LedgerAnchor } from './log/anchor.js';
