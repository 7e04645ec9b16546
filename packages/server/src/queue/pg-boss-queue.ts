/**
 * `PgBossQueue`: the job queue (job-queue.ts) on pg-boss 10.4 and the deployment's PostgreSQL, shared by
 * every server instance. What pg-boss 10 does, read from its source (node_modules/pg-boss/src), and what
 * this adapter adds:
 *
 *   - One pg-boss queue per job name, policy `standard`, with the name's retry limit, retry delay and expiry
 *     (also set on every job sent, so the sender's settings hold). `createQueue` is idempotent (an INSERT …
 *     ON CONFLICT DO NOTHING in `create_queue()`), but two instances creating queues at once can deadlock
 *     (40P01: the partition's foreign key to `queue` against the other's pending INSERT), so `start()` runs
 *     under a transaction-scoped advisory lock of its own, one instance after the other.
 *   - A worker fetches one job at a time (`FOR UPDATE SKIP LOCKED`, state → active). A handler that throws,
 *     or runs past `expireInSeconds` (pg-boss races it against a timer in-process; the handler itself goes
 *     on), fails the job: retried after `retryDelay` while `retry_count < retry_limit`, else failed.
 *   - A job whose worker died stays active until a maintenance pass (`expire()` in src/boss.js, at most one
 *     per `maintenanceIntervalSeconds` across all instances) fails it by timeout — which also uses one retry
 *     and applies the retry delay. The bound is therefore expireInSeconds + maintenanceIntervalSeconds +
 *     retryDelaySeconds + one polling interval (job-queue.test.ts measures it).
 *   - pg-boss 10 has no LISTEN/NOTIFY: other instances find a job at their next poll; `send` wakes this
 *     instance's workers at once (`notifyWorker`).
 *   - pg-boss records a job's outcome without awaiting it (manager.js `complete`/`fail` in `onFetch`), so a
 *     database error there would be an unhandled rejection. The adapter owns the connection pool (pg-boss's
 *     `db` option) and turns such a failure into a warning: the job stays active and is retried after it
 *     expires. The pool is ended by `stop()`, which leaves no connection open.
 *
 * The connection string may hold a password; nothing here logs it, nor any job data beyond job ids.
 */
import { createRequire } from 'node:module';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { postgresUrlProblem } from '../db/postgres-url.js';
import type { Logger } from '../logger.js';
import {
  checkJobData,
  checkJobName,
  checkQueueSettings,
  checkSendOptions,
  checkStopOptions,
  checkWorkArguments,
  describeError,
} from './checks.js';
import { JOB_NAMES, type JobHandler, type JobName, type JobPayloads, type JobQueue, type QueueSettings, type SendOptions } from './job-queue.js';

export interface PgBossQueueOptions {
  /** A `postgres://` or `postgresql://` URL; it may hold a password, so it is never logged. */
  connectionString: string;
  settings: QueueSettings;
  logger: Logger;
  /** The PostgreSQL schema pg-boss keeps its tables in (default `pgboss`). */
  schema?: string;
  /** Most connections the queue's own pool opens (default 5; at least 2, since `start()` holds one for its lock). */
  poolSize?: number;
}

export const DEFAULT_PG_BOSS_SCHEMA = 'pgboss';
export const DEFAULT_PG_BOSS_POOL_SIZE = 5;
/** How the queue's connections show in `pg_stat_activity`. */
export const PG_BOSS_APPLICATION_NAME = 'tenzro-job-queue';

/** The SQL pg-boss 10.4 records a job's outcome with, to recognise those queries (see the module comment). */
interface PgBossPlans {
  completeJobs(schema: string): string;
  failJobsById(schema: string): string;
}
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as PgBossPlans;

/** pg-boss's `assertPostgresObjectName`, checked up front so the message names the option. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,49}$/;

type QueryResult = Awaited<ReturnType<PgBoss.Db['executeSql']>>;
/** What pg-boss's own Db answers once closed; every pg-boss caller that can still run then accepts it. */
const CLOSED = undefined as unknown as QueryResult;

type Phase = 'new' | 'starting' | 'started' | 'stopping' | 'stopped';

export class PgBossQueue implements JobQueue {
  readonly kind = 'pg-boss' as const;
  readonly settings: QueueSettings;
  readonly #connectionString: string;
  readonly #logger: Logger;
  readonly #schema: string;
  readonly #poolSize: number;
  readonly #outcomeCommands: ReadonlySet<string>;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** pg-boss worker ids by job name, to wake them after a local `send`. */
  readonly #workers = new Map<JobName, string[]>();
  #phase: Phase = 'new';
  #pool: pg.Pool | undefined;
  #boss: PgBoss | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: PgBossQueueOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
    const { connectionString, settings, logger, schema = DEFAULT_PG_BOSS_SCHEMA, poolSize = DEFAULT_PG_BOSS_POOL_SIZE } = options;
    if (typeof connectionString !== 'string') throw new TypeError('options.connectionString: expected a string');
    const problem = postgresUrlProblem(connectionString);
    if (problem !== undefined) throw new TypeError(`options.connectionString: ${problem}`);
    if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
      throw new TypeError('options.logger: expected a pino logger');
    }
    if (typeof schema !== 'string') throw new TypeError('options.schema: expected a string');
    if (!SCHEMA_NAME.test(schema)) throw new RangeError('options.schema: expected a PostgreSQL name (letters, digits, underscores; at most 50; not starting with a digit)');
    if (typeof poolSize !== 'number') throw new TypeError('options.poolSize: expected a number');
    if (!Number.isSafeInteger(poolSize) || poolSize < 2) throw new RangeError(`options.poolSize: expected an integer of at least 2, got ${poolSize}`);
    this.settings = checkQueueSettings(settings);
    this.#connectionString = connectionString;
    this.#logger = logger;
    this.#schema = schema;
    this.#poolSize = poolSize;
    this.#outcomeCommands = new Set([plans.completeJobs(schema), plans.failJobsById(schema)]);
  }

  /** Creates pg-boss's schema (or migrates it) and the queues; one instance at a time, so safe for several. */
  start(): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return Promise.reject(new Error('job queue: stopped; it does not start again'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#phase = 'starting';
    const pool = new pg.Pool({ connectionString: this.#connectionString, max: this.#poolSize, application_name: PG_BOSS_APPLICATION_NAME });
    // Without a listener pg's 'error' event (an idle connection that broke) would end the process.
    pool.on('error', (error) => this.#logger.warn({ err: describeError(error) }, 'job queue: an idle PostgreSQL connection failed'));
    this.#pool = pool;
    const boss = new PgBoss({
      db: { executeSql: (text, values) => this.#executeSql(text, values) },
      schema: this.#schema,
      supervise: true,
      schedule: false,
      migrate: true,
      maintenanceIntervalSeconds: this.settings.maintenanceIntervalSeconds,
    });
    boss.on('error', (error: Error & { queue?: unknown }) =>
      this.#logger.error({ err: describeError(error), ...(typeof error.queue === 'string' ? { queue: error.queue } : {}) }, 'job queue: pg-boss reported an error'),
    );
    this.#boss = boss;
    try {
      await this.#oneInstanceAtATime(async () => {
        await boss.start();
        for (const name of JOB_NAMES) {
          const options = { name, policy: 'standard' as const, ...this.#jobOptions(name) };
          await boss.createQueue(name, options);
          await boss.updateQueue(name, options);
        }
      });
    } catch (error) {
      await boss.stop({ graceful: false, close: false }).catch(() => undefined);
      this.#boss = undefined;
      this.#pool = undefined;
      await pool.end().catch(() => undefined);
      this.#phase = 'new';
      this.#starting = undefined;
      throw error;
    }
    this.#phase = 'started';
  }

  /** Runs `work` while holding a transaction-scoped advisory lock (per database and schema) on a connection of its own. */
  async #oneInstanceAtATime(work: () => Promise<void>): Promise<void> {
    const client = await this.#pool!.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '60s'");
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tenzro.job-queue.start.${this.#schema}`]);
      try {
        await work();
      } finally {
        await client.query('COMMIT');
      }
    } catch (error) {
      broken = error;
      throw error;
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  #jobOptions(name: JobName): { retryLimit: number; retryDelay: number; expireInSeconds: number } {
    const job = this.settings.jobs[name];
    return { retryLimit: job.retryLimit, retryDelay: job.retryDelaySeconds, expireInSeconds: job.expireInSeconds };
  }

  /** pg-boss's database access, through the queue's own pool (see the module comment). */
  async #executeSql(text: string, values?: unknown[]): Promise<QueryResult> {
    const pool = this.#pool;
    if (pool === undefined || this.#phase === 'stopped') return CLOSED;
    const query = pool.query(text, values);
    this.#inFlight.add(query);
    try {
      return await query;
    } catch (error) {
      if (!this.#outcomeCommands.has(text)) throw error;
      this.#logger.warn({ err: describeError(error) }, 'job queue: recording a job outcome failed; the job is retried once it expires');
      return CLOSED;
    } finally {
      this.#inFlight.delete(query);
    }
  }

  async work<N extends JobName>(name: N, handler: JobHandler<N>, options?: { concurrency?: number }): Promise<void> {
    checkJobName(name);
    const { concurrency } = checkWorkArguments(handler, options);
    const boss = this.#boss;
    if (this.#phase !== 'started' || boss === undefined) throw new Error(`job queue: ${this.#phase === 'new' || this.#phase === 'starting' ? 'not started' : 'stopped'}`);
    if (this.#workers.has(name)) throw new Error(`job queue: ${name} already has a handler`);
    const ids: string[] = [];
    this.#workers.set(name, ids);
    const workOptions = { batchSize: 1, includeMetadata: true as const, pollingIntervalSeconds: this.settings.pollingIntervalSeconds };
    for (let i = 0; i < concurrency; i++) {
      // pg-boss 10 waits out the rest of its polling interval after every job, even with more waiting: a
      // worker that just finished one is notified, so it fetches again at once and drains a backlog.
      const self = { id: '' };
      self.id = await boss.work<unknown>(name, workOptions, ([job]) =>
        this.#handle(name, handler, job!).finally(() => {
          if (this.#phase === 'started') boss.notifyWorker(self.id);
        }),
      );
      ids.push(self.id);
    }
  }

  async #handle<N extends JobName>(name: N, handler: JobHandler<N>, job: PgBoss.JobWithMetadata<unknown>): Promise<void> {
    // A fetch that was under way when stop() began: fail the job at once so another instance takes it.
    if (this.#phase !== 'started') throw new Error('the job queue was stopping');
    try {
      await handler(checkJobData(name, job.data));
    } catch (error) {
      const described = describeError(error);
      const last = job.retryCount >= job.retryLimit;
      this.#logger.warn(
        { queue: name, jobId: job.id, attempt: job.retryCount + 1, err: described },
        last ? 'job queue: a job failed and has no retries left' : 'job queue: a job failed; it is retried',
      );
      // pg-boss stores what is thrown in the job's row: the message and code only, never a stack or fields.
      throw Object.assign(new Error(described.message), described.code === undefined ? {} : { code: described.code });
    }
  }

  async send<N extends JobName>(name: N, data: JobPayloads[N], options?: SendOptions): Promise<void> {
    checkJobName(name);
    const payload = checkJobData(name, data);
    const { startAfter } = checkSendOptions(options);
    const boss = this.#boss;
    if ((this.#phase !== 'started' && this.#phase !== 'stopping') || boss === undefined) {
      throw new Error(`job queue: ${this.#phase === 'stopped' ? 'stopped' : 'not started'}`);
    }
    const id = await boss.send(name, payload, { ...this.#jobOptions(name), ...(startAfter ? { startAfter } : {}) });
    if (id === null) throw new Error(`job queue: pg-boss did not store the ${name} job`);
    if (startAfter === undefined || startAfter.getTime() <= Date.now()) {
      for (const workerId of this.#workers.get(name) ?? []) boss.notifyWorker(workerId);
    }
  }

  /**
   * Stops fetching, waits up to `timeoutMs` for handlers in progress (pg-boss waits at least 1 s and checks
   * every 0.5 s), fails the jobs of handlers still running (pg-boss's `failWip`: retried elsewhere after the
   * retry delay), waits for queries under way, and ends the pool.
   */
  stop(options?: { timeoutMs?: number }): Promise<void> {
    const { timeoutMs } = checkStopOptions(options);
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    const boss = this.#boss;
    const pool = this.#pool;
    this.#phase = 'stopping';
    if (boss !== undefined) {
      try {
        await boss.stop({ graceful: true, wait: true, close: false, timeout: timeoutMs });
      } catch (error) {
        this.#logger.error({ err: describeError(error) }, 'job queue: pg-boss did not stop cleanly');
      }
    }
    await this.#settleQueries(Math.max(deadline, Date.now() + 1_000));
    this.#phase = 'stopped';
    if (pool === undefined || pool.ending) return;
    // pg's end() waits for connections in use; a query hung on a broken network must not hold stop() forever.
    const ended = await Promise.race([pool.end().then(() => true), sleep(Math.max(deadline - Date.now(), 5_000)).then(() => false)]);
    if (!ended) this.#logger.warn('job queue: PostgreSQL connections still busy after stop(); they close when their queries end');
  }

  /** Waits for the queries under way, including those they lead to (a late fetch's `fail`), until `deadline`. */
  async #settleQueries(deadline: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const remaining = deadline - Date.now();
      if (this.#inFlight.size === 0 || remaining <= 0) return;
      await Promise.race([Promise.allSettled([...this.#inFlight]), sleep(remaining)]);
    }
  }
}

/** A delay that does not keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
