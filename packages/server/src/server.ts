/**
 * `startServer`: wires configuration, log, database, session change bus (LISTEN/NOTIFY on PostgreSQL), blob
 * store, enclave (a supervised child process, or a pool of `tenzro enclave-worker`s), job queue (pg-boss on
 * PostgreSQL, embedded on SQLite) with its run, expiry and deletion workers, expiry watcher and the HTTP
 * app; runs startup recovery (temp files, unfinished shredding, runs a killed server left running),
 * bootstraps development credentials, and listens. Several instances may run over one PostgreSQL and one
 * shared directory (docs/deploy.md).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { bootstrapDevelopment, credentialsPath, refreshCredentials } from './bootstrap.js';
import { BlobStore } from './blob-store.js';
import { loadConfig, type ServerConfig } from './config.js';
import type { Context, Signals } from './context.js';
import { assertSharedStateInPlace } from './shared-dir.js';
import { ClockSkewError, clockSkewMs, describeSkew, maxClockSkewMs } from './clock-skew.js';
import { createDatabase } from './db/database.js';
import { enforceExpiry, finishShreddingJob, resumeShredding } from './domain/lifecycle.js';
import { EnclaveSupervisor, type EnclaveInfo, type EnclavePort, type EnclaveSupervisorOptions } from './enclave-client.js';
import { EnclavePool } from './enclave-pool.js';
import { EmbeddedQueue } from './queue/embedded-queue.js';
import type { JobQueue } from './queue/job-queue.js';
import { PgBossQueue } from './queue/pg-boss-queue.js';
import { queueSettingsOf } from './queue/settings.js';
import { ExpiryWatcher } from './expiry.js';
import { JobRunner } from './jobs.js';
import { AnchorPublisher, type LedgerAnchor } from './log/anchor.js';
import { loadOrCreateLogKey, type LogKey } from './log/log-key.js';
import { TransparencyLog } from './log/transparency-log.js';
import { createLogger, type Logger } from './logger.js';
import { preprocessingSettled } from './domain/mpc.js';
import { MpcNodes, loadMpcNodesFile, type ConfiguredFleets } from './mpc-nodes.js';
import type { ListenerBackoff } from './session-change-listener.js';
import { createSessionChangeBus, type SessionChangeBus } from './session-changes.js';
import { UploadGate } from './upload-gate.js';

export interface StartOptions {
  /** Listen on config.host:config.port (default true); tests may use only `app.inject()`. */
  listen?: boolean;
  /** A logger to use instead of stdout + server.log. */
  logger?: Logger;
  clock?: () => Date;
  /** How long to wait for the enclave's first hello before serving anyway (default 60 s). */
  enclaveStartTimeoutMs?: number;
  enclave?: Pick<EnclaveSupervisorOptions, 'timeoutsMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'readyWaitMs'>;
  /** Runs this instance executes at once (default 2). */
  runConcurrency?: number;
  expirySweepMs?: number;
  /** External ledgers each newly signed tree head is published to (default none: the built-in log only). */
  anchors?: readonly LedgerAnchor[];
  /** PostgreSQL only: delays before reopening a lost LISTEN connection (default 100 ms, doubling up to 5 s). */
  sessionChangeBackoff?: ListenerBackoff;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  ctx: Context;
  enclave: EnclaveService;
  jobs: JobRunner;
  queue: JobQueue;
  expiry: ExpiryWatcher;
  /** The development credentials file, when one was written or refreshed. */
  credentialsFile: string | undefined;
  close(): Promise<void>;
}

/** The enclave a server talks to: its own supervised child, or a pool of enclave workers. */
export type EnclaveService = EnclavePort & { start(): Promise<unknown>; close(): Promise<void> };

export async function startServer(config: ServerConfig = loadConfig(), options: StartOptions = {}): Promise<RunningServer> {
  assertSharedStateInPlace(config);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const logger = options.logger ?? createLogger({ level: config.logLevel, dataDir: config.dataDir });
  // TENZRO_MPC_NODES is checked before anything opens: a bad file is a startup error naming the problem.
  const configuredFleets: ConfiguredFleets | undefined = config.mpcNodesFile ? await loadMpcNodesFile(config.mpcNodesFile) : undefined;
  const database = await createDatabase({ dataDir: config.dataDir, url: config.databaseUrl });
  const clock = options.clock ?? (() => new Date());
  const skewLimitMs = maxClockSkewMs(config.runLeaseMs);
  const checkClock = async (): Promise<number | undefined> => {
    if (database.dialect.name !== 'postgres') return undefined;
    return clockSkewMs(database.db);
  };
  try {
    const skew = await checkClock();
    if (skew !== undefined && Math.abs(skew) > skewLimitMs) throw new ClockSkewError(describeSkew(skew, skewLimitMs));
  } catch (error) {
    await database.close();
    throw error;
  }
  let logKey: LogKey;
  let changes: SessionChangeBus;
  try {
    logKey = await loadOrCreateLogKey(config.sharedDir, clock());
    changes = await createSessionChangeBus(
      database.dialect.name === 'postgres'
        ? {
            dialect: 'postgres',
            connectionString: config.databaseUrl!,
            logger: logger.child({ component: 'session-changes' }),
            ...(options.sessionChangeBackoff !== undefined ? { backoff: options.sessionChangeBackoff } : {}),
          }
        : { dialect: 'sqlite' },
    );
  } catch (error) {
    await database.close();
    throw error;
  }
  const log = new TransparencyLog({
    db: database.db,
    dialect: database.dialect,
    key: logKey,
    anchors: new AnchorPublisher(options.anchors ?? [], logger.child({ component: 'ledger-anchor' })),
    clock,
  });
  const blobs = new BlobStore(join(config.sharedDir, 'blobs'));
  // Other instances may be writing into a shared store: only temp files idle for a while are a crash's.
  await blobs.init({ staleTempMs: Math.max(10 * 60_000, 2 * config.uploadIdleTimeoutMs) });
  const queueSettings = queueSettingsOf(config);
  const queue: JobQueue =
    database.dialect.name === 'postgres'
      ? new PgBossQueue({ connectionString: config.databaseUrl!, settings: queueSettings, logger: logger.child({ component: 'job-queue' }) })
      : new EmbeddedQueue({ db: database.db, settings: queueSettings, logger: logger.child({ component: 'job-queue' }), clock });

  let baseUrl = `http://${config.host}:${config.port}`;
  const devCredentials = config.environment === 'development' ? credentialsPath(config.dataDir) : undefined;
  const enclaveStateDir = join(config.sharedDir, 'enclave');
  const onHello = (info: EnclaveInfo): void => {
    if (devCredentials) {
      refreshCredentials(devCredentials, { info }).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not refresh the development credentials'),
      );
    }
  };
  const timeoutsMs = { run: config.runTimeoutMs, ...options.enclave?.timeoutsMs };
  const enclave: EnclaveService = config.enclaveWorkers
    ? new EnclavePool({
        workers: config.enclaveWorkers,
        token: config.enclaveWorkerToken!,
        ...(config.enclaveMeasurement !== undefined ? { expectedMeasurement: config.enclaveMeasurement } : {}),
        logger: logger.child({ component: 'enclave-pool' }),
        ...options.enclave,
        timeoutsMs,
        onHello,
      })
    : new EnclaveSupervisor({
        entry: config.enclaveEntry,
        stateDir: enclaveStateDir,
        logger: logger.child({ component: 'enclave-supervisor' }),
        ...options.enclave,
        timeoutsMs,
        onHello,
      });

  let expiry: ExpiryWatcher | undefined;
  const signals: Signals = {
    expiryChanged: () => void expiry?.rearm(),
  };
  const ctx: Context = {
    db: database.db,
    dialect: database.dialect,
    blobs,
    enclave,
    config,
    logger,
    clock,
    signals,
    uploads: new UploadGate(config.maxConcurrentUploads),
    log,
    mpc: new MpcNodes({
      dataDir: config.dataDir,
      logger: logger.child({ component: 'mpc-nodes' }),
      enclave,
      configured: configuredFleets,
      enclaveStateDir,
      onFleetStarted: (measurement) => {
        if (!devCredentials) return;
        refreshCredentials(devCredentials, { mpcNodeMeasurement: measurement }).catch((error: unknown) =>
          logger.warn({ err: error }, 'could not refresh the development credentials'),
        );
      },
    }),
    changes,
    queue,
  };
  const jobs = new JobRunner(ctx, { concurrency: options.runConcurrency });
  expiry = new ExpiryWatcher(ctx, {
    sweepIntervalMs: options.expirySweepMs ?? config.sweepIntervalMs,
    reconcileRuns: async () => {
      const skew = await checkClock();
      if (skew !== undefined && Math.abs(skew) > skewLimitMs) logger.error({ skewMs: skew }, describeSkew(skew, skewLimitMs));
      await jobs.reconcile();
    },
  });

  const enclaveTimeout = options.enclaveStartTimeoutMs ?? 60_000;
  await Promise.race([
    enclave.start().catch((error: unknown) => logger.error({ err: error }, 'the enclave did not start; serving without it')),
    new Promise((resolve) => setTimeout(resolve, enclaveTimeout).unref()),
  ]);

  const app = buildApp(ctx);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await jobs.close();
      await queue.stop();
      await expiry.close();
      await app.close();
    } finally {
      // The compute node fleets are stopped whatever failed above (stopped nodes also make a background
      // preprocessing fail fast).
      try {
        await ctx.mpc.close();
      } finally {
        await preprocessingSettled(ctx);
        await enclave.close();
        await changes.close();
        await database.close();
        logKey.privateKey.destroy();
        logger.flush?.();
      }
    }
  };

  try {
    await queue.start();
    await resumeShredding(ctx, { blobs: true });
    await jobs.recover();
    // The credentials exist before the first request is answered (clients poll /healthz, then read them).
    const credentialsFile = await bootstrapDevelopment(ctx, baseUrl);
    if (options.listen !== false) {
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      if (address && typeof address === 'object') {
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        const actual = `http://${host}:${address.port}`;
        if (actual !== baseUrl && credentialsFile) await refreshCredentials(credentialsFile, { baseUrl: actual });
        baseUrl = actual;
      }
    } else {
      await app.ready();
    }
    if (credentialsFile) logger.info({ path: credentialsFile }, `development credentials: ${credentialsFile}`);
    await jobs.start();
    await queue.work('session-expiry', ({ sessionId }) => enforceExpiry(ctx, sessionId));
    await queue.work('finish-shredding', ({ sessionId }) => finishShreddingJob(ctx, sessionId));
    expiry.start();
    logger.info({ url: baseUrl, environment: config.environment }, 'tenzro server listening');
    return { url: baseUrl, app, ctx, enclave, jobs, queue, expiry, credentialsFile, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
