/**
 * `EmbeddedQueue`: the job queue (job-queue.ts) on the embedded SQLite database, for the single-process
 * default, with pg-boss's semantics (pg-boss-queue.ts):
 *
 *   - A job is a row of `embedded_jobs` (created by `start()` if missing), states created | retry | active |
 *     completed | failed. A worker claims the oldest due job of its name in one statement (an UPDATE of the
 *     row a sub-select picks, guarded on its state), which makes it active until `expire_at`.
 *   - A handler that returns completes the job; one that throws, or whose job expires, fails it: retried
 *     after `retryDelaySeconds` while fewer than `retryLimit` retries were used, else failed. Every change
 *     to a claimed job is fenced on (id, active, retry_count), so the late answer of a superseded attempt
 *     changes nothing.
 *   - A maintenance pass every `maintenanceIntervalSeconds` fails the active jobs past `expire_at` (retried
 *     as above) and deletes completed jobs after a day, failed ones after a week.
 *   - One process owns the SQLite file, so `start()` takes every job still active as abandoned by a process
 *     that died, and makes it due at once (using one retry, as an expiry does).
 *   - `send` wakes this queue's idle workers at once; otherwise they poll every `pollingIntervalSeconds`.
 *
 * Times are ISO 8601 strings from the `clock` option, like every other table's. Timers are unref'd.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Db } from '../db/database.js';
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

export type EmbeddedJobState = 'created' | 'retry' | 'active' | 'completed' | 'failed';

/** A row of `embedded_jobs`. */
export interface EmbeddedJobsTable {
  id: string;
  name: string;
  /** The job's data: one id (checks.ts `checkJobData`), never party data. */
  data_json: string;
  state: EmbeddedJobState;
  /** Retries used so far (a throw, an expiry or an abandonment each use one). */
  retry_count: number;
  start_after: string;
  started_at: string | null;
  expire_at: string | null;
  created_at: string;
  completed_at: string | null;
  /** The last failure's message (truncated), never a stack. */
  last_error: string | null;
}

export interface EmbeddedQueueOptions {
  /** The embedded database (db/database.ts); the queue adds its own table to it. */
  db: Db;
  settings: QueueSettings;
  logger: Logger;
  /** The time jobs are stamped and compared with (default: the system clock). Timers still run in real time. */
  clock?: () => Date;
}

/** How long a completed job is kept. */
export const COMPLETED_JOB_RETENTION_MS = 24 * 3_600_000;
/** How long a failed job is kept, to be looked at. */
export const FAILED_JOB_RETENTION_MS = 7 * 24 * 3_600_000;
const MAX_ERROR_LENGTH = 1_000;

type QueueDb = Kysely<{ embedded_jobs: EmbeddedJobsTable }>;
type Phase = 'new' | 'starting' | 'started' | 'stopping' | 'stopped';

/** One worker's idle wait, cut short by a wake-up; a wake-up that comes while it is busy is kept for its next wait. */
class Waker {
  #pending = false;
  #interrupt: (() => void) | undefined;

  wake(): void {
    this.#pending = true;
    this.#interrupt?.();
  }

  /** Forgets wake-ups so far (called before looking for a job: that look sees what they announced). */
  clear(): void {
    this.#pending = false;
  }

  async sleep(ms: number): Promise<void> {
    if (this.#pending) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#interrupt?.(), ms);
      timer.unref();
      this.#interrupt = () => {
        clearTimeout(timer);
        this.#interrupt = undefined;
        resolve();
      };
    });
  }
}

export class EmbeddedQueue implements JobQueue {
  readonly kind = 'embedded' as const;
  readonly settings: QueueSettings;
  readonly #db: QueueDb;
  readonly #logger: Logger;
  readonly #clock: () => Date;
  readonly #wakers = new Map<JobName, Waker[]>();
  readonly #loops = new Set<Promise<void>>();
  #phase: Phase = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #maintenanceTimer: NodeJS.Timeout | undefined;
  #maintenance: Promise<void> | undefined;

  constructor(options: EmbeddedQueueOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
    const { db, settings, logger, clock = () => new Date() } = options;
    if (typeof db !== 'object' || db === null || typeof db.withTables !== 'function') throw new TypeError('options.db: expected the database handle (Kysely)');
    if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
      throw new TypeError('options.logger: expected a pino logger');
    }
    if (typeof clock !== 'function') throw new TypeError('options.clock: expected a function returning a Date');
    this.settings = checkQueueSettings(settings);
    this.#db = db.withTables<{ embedded_jobs: EmbeddedJobsTable }>() as unknown as QueueDb;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** Creates the table if missing, takes the jobs left active as abandoned, and starts maintenance. Idempotent. */
  start(): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return Promise.reject(new Error('job queue: stopped; it does not start again'));
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#phase = 'new';
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#phase = 'starting';
    await this.#db.schema
      .createTable('embedded_jobs')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('data_json', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('retry_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('start_after', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('expire_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .addColumn('last_error', 'text')
      .execute();
    await this.#db.schema.createIndex('embedded_jobs_due').ifNotExists().on('embedded_jobs').columns(['name', 'state', 'start_after']).execute();
    const abandoned = await this.#db.selectFrom('embedded_jobs').selectAll().where('state', '=', 'active').execute();
    for (const job of abandoned) await this.#fail(job, 'abandoned: the process that ran it stopped', 0);
    if (abandoned.length > 0) {
      this.#logger.warn({ jobIds: abandoned.map((job) => job.id) }, 'job queue: jobs left active by a previous process are due again');
    }
    this.#phase = 'started';
    this.#maintenanceTimer = setInterval(() => this.#runMaintenance(), this.settings.maintenanceIntervalSeconds * 1000);
    this.#maintenanceTimer.unref();
  }

  async work<N extends JobName>(name: N, handler: JobHandler<N>, options?: { concurrency?: number }): Promise<void> {
    checkJobName(name);
    const { concurrency } = checkWorkArguments(handler, options);
    if (this.#phase !== 'started') throw new Error(`job queue: ${this.#phase === 'new' || this.#phase === 'starting' ? 'not started' : 'stopped'}`);
    if (this.#wakers.has(name)) throw new Error(`job queue: ${name} already has a handler`);
    const wakers = Array.from({ length: concurrency }, () => new Waker());
    this.#wakers.set(name, wakers);
    for (const waker of wakers) {
      const loop = this.#workLoop(name, handler, waker);
      this.#loops.add(loop);
      void loop.finally(() => this.#loops.delete(loop));
    }
  }

  async #workLoop<N extends JobName>(name: N, handler: JobHandler<N>, waker: Waker): Promise<void> {
    const pollMs = this.settings.pollingIntervalSeconds * 1000;
    while (this.#phase === 'started') {
      waker.clear();
      let job: EmbeddedJobsTable | undefined;
      try {
        job = await this.#claim(name);
      } catch (error) {
        this.#logger.error({ queue: name, err: describeError(error) }, 'job queue: claiming a job failed');
      }
      if (job === undefined) await waker.sleep(pollMs);
      else await this.#run(name, handler, job);
    }
  }

  /** The oldest due job of `name`, made active until its expiry; one statement, so two workers never share a job. */
  async #claim(name: JobName): Promise<EmbeddedJobsTable | undefined> {
    const now = this.#clock();
    const at = now.toISOString();
    const next = this.#db
      .selectFrom('embedded_jobs')
      .select('id')
      .where('name', '=', name)
      .where('state', 'in', ['created', 'retry'])
      .where('start_after', '<=', at)
      .orderBy('created_at')
      .orderBy('id')
      .limit(1);
    return this.#db
      .updateTable('embedded_jobs')
      .set({ state: 'active', started_at: at, expire_at: new Date(now.getTime() + this.settings.jobs[name].expireInSeconds * 1000).toISOString() })
      .where('id', '=', next)
      .where('state', 'in', ['created', 'retry'])
      .returningAll()
      .executeTakeFirst();
  }

  async #run<N extends JobName>(name: N, handler: JobHandler<N>, job: EmbeddedJobsTable): Promise<void> {
    try {
      await handler(checkJobData(name, JSON.parse(job.data_json)));
    } catch (error) {
      const described = describeError(error);
      const last = job.retry_count >= this.settings.jobs[name].retryLimit;
      this.#logger.warn(
        { queue: name, jobId: job.id, attempt: job.retry_count + 1, err: described },
        last ? 'job queue: a job failed and has no retries left' : 'job queue: a job failed; it is retried',
      );
      await this.#fail(job, described.message, this.settings.jobs[name].retryDelaySeconds * 1000).catch((recordError: unknown) =>
        this.#logger.error({ queue: name, jobId: job.id, err: describeError(recordError) }, 'job queue: recording a failure failed; the job is retried once it expires'),
      );
      return;
    }
    const completed = await this.#db
      .updateTable('embedded_jobs')
      .set({ state: 'completed', completed_at: this.#clock().toISOString(), expire_at: null })
      .where('id', '=', job.id)
      .where('state', '=', 'active')
      .where('retry_count', '=', job.retry_count)
      .executeTakeFirst()
      .catch((error: unknown) => {
        this.#logger.error({ queue: name, jobId: job.id, err: describeError(error) }, 'job queue: recording a completion failed; the job is retried once it expires');
        return undefined;
      });
    if (completed !== undefined && completed.numUpdatedRows === 0n) {
      this.#logger.warn({ queue: name, jobId: job.id }, 'job queue: a job finished after it had expired; its retry stands');
    }
  }

  /**
   * Fails the active attempt `job` (fenced on its retry count): due again after `delayMs` with one more retry
   * used, or failed for good once the name's retries are used up (or the name is unknown).
   */
  async #fail(job: EmbeddedJobsTable, reason: string, delayMs: number): Promise<void> {
    const now = this.#clock();
    const settings = (JOB_NAMES as readonly string[]).includes(job.name) ? this.settings.jobs[job.name as JobName] : undefined;
    const lastError = reason.slice(0, MAX_ERROR_LENGTH);
    const retry = settings !== undefined && job.retry_count < settings.retryLimit;
    await this.#db
      .updateTable('embedded_jobs')
      .set(
        retry
          ? { state: 'retry', retry_count: job.retry_count + 1, start_after: new Date(now.getTime() + delayMs).toISOString(), expire_at: null, last_error: lastError }
          : { state: 'failed', completed_at: now.toISOString(), expire_at: null, last_error: lastError },
      )
      .where('id', '=', job.id)
      .where('state', '=', 'active')
      .where('retry_count', '=', job.retry_count)
      .execute();
  }

  #runMaintenance(): void {
    if (this.#maintenance !== undefined || this.#phase !== 'started') return;
    this.#maintenance = this.#maintain()
      .catch((error: unknown) => this.#logger.error({ err: describeError(error) }, 'job queue: maintenance failed'))
      .finally(() => (this.#maintenance = undefined));
  }

  /** Fails expired active jobs (their worker is gone or stuck) and deletes old finished ones. */
  async #maintain(): Promise<void> {
    const now = this.#clock();
    const at = now.toISOString();
    const expired = await this.#db.selectFrom('embedded_jobs').selectAll().where('state', '=', 'active').where('expire_at', '<', at).execute();
    for (const job of expired) {
      const settings = (JOB_NAMES as readonly string[]).includes(job.name) ? this.settings.jobs[job.name as JobName] : undefined;
      this.#logger.warn({ queue: job.name, jobId: job.id }, 'job queue: a job expired while active; it is retried');
      await this.#fail(job, 'expired while active', (settings?.retryDelaySeconds ?? 0) * 1000);
      if (settings !== undefined) this.#wake(job.name as JobName);
    }
    await this.#db.deleteFrom('embedded_jobs').where('state', '=', 'completed').where('completed_at', '<', new Date(now.getTime() - COMPLETED_JOB_RETENTION_MS).toISOString()).execute();
    await this.#db.deleteFrom('embedded_jobs').where('state', '=', 'failed').where('completed_at', '<', new Date(now.getTime() - FAILED_JOB_RETENTION_MS).toISOString()).execute();
  }

  #wake(name: JobName): void {
    for (const waker of this.#wakers.get(name) ?? []) waker.wake();
  }

  async send<N extends JobName>(name: N, data: JobPayloads[N], options?: SendOptions): Promise<void> {
    checkJobName(name);
    const payload = checkJobData(name, data);
    const { startAfter } = checkSendOptions(options);
    if (this.#phase !== 'started' && this.#phase !== 'stopping') throw new Error(`job queue: ${this.#phase === 'stopped' ? 'stopped' : 'not started'}`);
    const now = this.#clock();
    await this.#db
      .insertInto('embedded_jobs')
      .values({
        id: randomUUID(),
        name,
        data_json: JSON.stringify(payload),
        state: 'created',
        retry_count: 0,
        start_after: (startAfter ?? now).toISOString(),
        started_at: null,
        expire_at: null,
        created_at: now.toISOString(),
        completed_at: null,
        last_error: null,
      })
      .execute();
    if (startAfter === undefined || startAfter.getTime() <= now.getTime()) this.#wake(name);
  }

  /** Stops claiming and maintenance, and waits up to `timeoutMs` for handlers in progress (their jobs stay active if they outlast it). */
  stop(options?: { timeoutMs?: number }): Promise<void> {
    const { timeoutMs } = checkStopOptions(options);
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => undefined);
    this.#phase = 'stopping';
    clearInterval(this.#maintenanceTimer);
    for (const wakers of this.#wakers.values()) for (const waker of wakers) waker.wake();
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled([...this.#loops, this.#maintenance]).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (!settled) this.#logger.warn({ running: this.#loops.size }, 'job queue: handlers still running after stop(); their jobs are due again at the next start');
    this.#phase = 'stopped';
  }
}
