/**
 * The job queue: the small interface the domain uses for work that must happen even if the instance that
 * asked for it dies — runs, session expiry, and the deletion (crypto-shredding) that follows a run or an
 * expiry. Two implementations stand behind it:
 *
 *   - `PgBossQueue` (pg-boss-queue.ts): pg-boss 10 on the deployment's PostgreSQL, shared by every server
 *     instance; a job whose instance died is retried by another one.
 *   - `EmbeddedQueue` (embedded-queue.ts): the same contract on the embedded SQLite database, for the
 *     single-process default.
 *
 * Delivery is at least once: a handler can see the same job twice (a retry after its instance died, or a
 * second `send` for the same work), so every handler checks the database first and does nothing when the
 * work is already done. A handler that throws has its job retried after `retryDelaySeconds`, up to
 * `retryLimit` more times. A job still active `expireInSeconds` after it started is treated as failed (its
 * worker died) and retried; the bound on that retry is
 *
 *     expireInSeconds + maintenanceIntervalSeconds + retryDelaySeconds (+ one polling interval)
 *
 * since expired jobs are found by the queue's maintenance pass.
 */

/** The jobs and what each carries (ids only: never data, keys or results). */
export interface JobPayloads {
  /** Run the queued run `runId` (jobs.ts `handleRunJob`). */
  run: { runId: string };
  /** Expire the session if it is overdue (expiry.ts). */
  'session-expiry': { sessionId: string };
  /** Finish the crypto-shredding of a session: destroy its key in the enclave, delete its blobs. */
  'finish-shredding': { sessionId: string };
}

export type JobName = keyof JobPayloads;
export const JOB_NAMES: readonly JobName[] = ['run', 'session-expiry', 'finish-shredding'];

export interface JobSettings {
  /** A job active this long is considered abandoned (its worker died) and is retried. */
  expireInSeconds: number;
  /** Retries after the first attempt (a throwing handler or an expiry each use one). */
  retryLimit: number;
  /** Delay before a retry. */
  retryDelaySeconds: number;
}

export interface QueueSettings {
  jobs: Record<JobName, JobSettings>;
  /** How often the queue looks for expired jobs (pg-boss `maintenanceIntervalSeconds`). */
  maintenanceIntervalSeconds: number;
  /** How often an idle worker polls for new jobs (pg-boss `pollingIntervalSeconds`); `send` also wakes local workers. */
  pollingIntervalSeconds: number;
}

export interface SendOptions {
  /** Not before this time (an expiry job is sent at session creation for the session's `expiresAt`). */
  startAfter?: Date;
}

export type JobHandler<N extends JobName> = (data: JobPayloads[N]) => Promise<void>;

export interface JobQueue {
  readonly kind: 'pg-boss' | 'embedded';
  readonly settings: QueueSettings;
  /** Creates the queue's tables/queues; idempotent, safe for several instances at once. */
  start(): Promise<void>;
  /** Registers the handler of a job name and starts fetching (at most `concurrency` jobs at a time, default 1). */
  work<N extends JobName>(name: N, handler: JobHandler<N>, options?: { concurrency?: number }): Promise<void>;
  send<N extends JobName>(name: N, data: JobPayloads[N], options?: SendOptions): Promise<void>;
  /** Stops fetching and waits for handlers in progress (up to `timeoutMs`, default 10 s); no new job starts after. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The largest retry bound for a job whose worker died, as the docs state it. pg-boss 10's maintenance pass
 * schedules an expired job's retry after the job's retry delay, so that is part of the bound too.
 */
export function abandonedJobRetryBoundSeconds(settings: QueueSettings, name: JobName): number {
  const job = settings.jobs[name];
  return job.expireInSeconds + settings.maintenanceIntervalSeconds + job.retryDelaySeconds + settings.pollingIntervalSeconds;
}
