/**
 * Argument checks shared by the two job queues (pg-boss-queue.ts, embedded-queue.ts), so both refuse the
 * same inputs with the same messages: a wrong type is a TypeError, a value out of range a RangeError, and
 * each message names the argument. Job data is parsed at both ends (on `send`, and again when a worker
 * reads a job back), so a handler only ever sees the one id its job carries.
 */
import { JOB_NAMES, type JobName, type JobPayloads, type JobSettings, type QueueSettings, type SendOptions } from './job-queue.js';

/** The one field each job's data carries. */
export const JOB_DATA_KEY: { readonly [N in JobName]: keyof JobPayloads[N] & string } = Object.freeze({
  run: 'runId',
  'session-expiry': 'sessionId',
  'finish-shredding': 'sessionId',
});

/** Longest id a job may carry: ids are short tokens, never data. */
const MAX_ID_LENGTH = 200;

export function checkJobName(name: unknown): JobName {
  if (typeof name !== 'string' || !(JOB_NAMES as readonly string[]).includes(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name) : typeof name;
    throw new TypeError(`name: expected one of ${JOB_NAMES.join(', ')}, got ${shown}`);
  }
  return name as JobName;
}

/** The job's data as exactly `{ <its id field>: <non-empty string> }`, copied. */
export function checkJobData<N extends JobName>(name: N, data: unknown): JobPayloads[N] {
  const key = JOB_DATA_KEY[name];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError(`data: expected an object { ${key} } for a ${name} job`);
  }
  const keys = Object.keys(data);
  const extra = keys.find((k) => k !== key);
  if (extra !== undefined) throw new TypeError(`data.${extra}: a ${name} job carries only ${key}`);
  const value = (data as Record<string, unknown>)[key];
  if (typeof value !== 'string') throw new TypeError(`data.${key}: expected a string`);
  if (value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new RangeError(`data.${key}: expected 1 to ${MAX_ID_LENGTH} characters, got ${value.length}`);
  }
  return { [key]: value } as JobPayloads[N];
}

export function checkSendOptions(options: unknown): SendOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const { startAfter } = options as SendOptions;
  if (startAfter === undefined) return {};
  if (!(startAfter instanceof Date)) throw new TypeError('options.startAfter: expected a Date');
  if (Number.isNaN(startAfter.getTime())) throw new RangeError('options.startAfter: invalid Date');
  return { startAfter: new Date(startAfter.getTime()) };
}

/** The most workers one `work` call may register. */
export const MAX_CONCURRENCY = 100;

export function checkWorkArguments(handler: unknown, options: unknown): { concurrency: number } {
  if (typeof handler !== 'function') throw new TypeError('handler: expected a function');
  if (options === undefined) return { concurrency: 1 };
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const concurrency = (options as { concurrency?: unknown }).concurrency ?? 1;
  if (typeof concurrency !== 'number') throw new TypeError('options.concurrency: expected a number');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new RangeError(`options.concurrency: expected an integer from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`);
  }
  return { concurrency };
}

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export function checkStopOptions(options: unknown): { timeoutMs: number } {
  if (options === undefined) return { timeoutMs: DEFAULT_STOP_TIMEOUT_MS };
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const timeoutMs = (options as { timeoutMs?: unknown }).timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number') throw new TypeError('options.timeoutMs: expected a number');
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`options.timeoutMs: expected a finite number of at least 0, got ${timeoutMs}`);
  return { timeoutMs };
}

/** What may be logged of an error: its message and code, never its other fields (a pg error's `detail` can quote a row). */
export function describeError(error: unknown): { message: string; code?: string } {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    return { message: String(message), ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error) };
}

/** pg-boss 10 refuses an expiry of 24 hours or more. */
/** pg-boss 10 refuses expiries of a day or more; the embedded queue keeps the same bound. */
export const MAX_EXPIRE_SECONDS = 24 * 3600 - 1;
/** pg-boss 10's floor on the polling interval. */
const MIN_POLLING_SECONDS = 0.5;

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a number`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function numberIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a number`);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected a number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function checkJobSettings(value: unknown, name: string): JobSettings {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name}: expected an object`);
  const job = value as Partial<Record<keyof JobSettings, unknown>>;
  return Object.freeze({
    expireInSeconds: integerIn(job.expireInSeconds, `${name}.expireInSeconds`, 1, MAX_EXPIRE_SECONDS),
    retryLimit: integerIn(job.retryLimit, `${name}.retryLimit`, 0, 1_000),
    retryDelaySeconds: integerIn(job.retryDelaySeconds, `${name}.retryDelaySeconds`, 0, MAX_EXPIRE_SECONDS),
  });
}

/** The settings checked, as a frozen copy (the caller's object is neither kept nor changed). */
export function checkQueueSettings(settings: unknown): QueueSettings {
  if (typeof settings !== 'object' || settings === null) throw new TypeError('settings: expected an object');
  const { jobs, maintenanceIntervalSeconds, pollingIntervalSeconds } = settings as Partial<Record<keyof QueueSettings, unknown>>;
  if (typeof jobs !== 'object' || jobs === null) throw new TypeError('settings.jobs: expected an object');
  const checked = {} as Record<JobName, JobSettings>;
  for (const name of JOB_NAMES) checked[name] = checkJobSettings((jobs as Record<string, unknown>)[name], `settings.jobs.${name}`);
  return Object.freeze({
    jobs: Object.freeze(checked),
    maintenanceIntervalSeconds: numberIn(maintenanceIntervalSeconds, 'settings.maintenanceIntervalSeconds', 1, MAX_EXPIRE_SECONDS),
    pollingIntervalSeconds: numberIn(pollingIntervalSeconds, 'settings.pollingIntervalSeconds', MIN_POLLING_SECONDS, 3600),
  });
}
