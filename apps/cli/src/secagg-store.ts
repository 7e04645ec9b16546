/**
 * A SecAggStateStore in a directory (Node): one file per key, files mode 0600 in a directory mode 0700. The
 * values hold the secure-aggregation client state — stage key pairs, the self-mask seed, shares held for
 * other parties — so the directory must stay private to the party, like its key file.
 *
 * Durability: `save` writes a temporary file in the same directory, fsyncs it, renames it over the old
 * one and fsyncs the directory, so after a crash a key holds either the old value or the new one, whole,
 * and a value reported saved survives a power loss. `delete` fsyncs the directory too.
 *
 * Mutual exclusion: `withLock(key, fn)` holds `<file>.lock`, created with `open(…, 'wx')` (exclusive), for
 * the time of `fn`; other holders — other processes (`tenzro demo` and `tenzro agent` may share the
 * directory) or other calls in this one — retry with backoff. The lock file names its holder (pid, host)
 * and is touched while held; a lock untouched for `staleMs` whose holder is gone (its pid is not alive on
 * this host, or it is on another host) is recovered, under a short guard so that two recoverers cannot
 * both win. A lock that cannot be had within `acquireTimeoutMs` fails with StateLockError.
 *
 * File names are the keys with every character outside [A-Za-z0-9._-] written as %XX (UTF-8), so a key
 * (`secagg/<sessionId>/<partyId>`) can never name a path outside the directory.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { SecAggStateStore } from '@tenzro/platform';

export const STATE_FILE_MODE = 0o600;
export const STATE_DIR_MODE = 0o700;
/** A lock untouched this long, whose holder is gone, is recovered. */
export const LOCK_STALE_MS = 60_000;
/** How long `withLock` waits for a lock before giving up. */
export const LOCK_ACQUIRE_TIMEOUT_MS = 120_000;

const VALUE_SUFFIX = '.json';
const LOCK_SUFFIX = '.lock';
const GUARD_SUFFIX = '.guard';

function fileNameOf(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a non-empty string');
  const name = Array.from(new TextEncoder().encode(key), (byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return `${name}${VALUE_SUFFIX}`;
}

/** The key a value file was named after, or undefined for any other file of the directory. */
function keyOfFileName(name: string): string | undefined {
  if (!name.endsWith(VALUE_SUFFIX)) return undefined;
  const encoded = name.slice(0, -VALUE_SUFFIX.length);
  if (!/^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+$/.test(encoded)) return undefined;
  const bytes = Uint8Array.from(encoded.match(/%[0-9A-F]{2}|[^%]/g)!, (part) => (part.length === 3 ? parseInt(part.slice(1), 16) : part.charCodeAt(0)));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** `withLock` could not get the lock of a key in time. */
export class StateLockError extends Error {
  readonly code = 'state_locked' as const;
  readonly lockPath: string;

  constructor(lockPath: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StateLockError';
    this.lockPath = lockPath;
  }
}

export interface FileSecAggStateStoreOptions {
  /** Default LOCK_STALE_MS. */
  staleMs?: number;
  /** Default LOCK_ACQUIRE_TIMEOUT_MS. */
  acquireTimeoutMs?: number;
}

interface LockHolder {
  pid: number;
  host: string;
  token: string;
  since: string;
}

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

export class FileSecAggStateStore implements SecAggStateStore {
  readonly directory: string;
  readonly #staleMs: number;
  readonly #acquireTimeoutMs: number;

  constructor(directory: string, options: FileSecAggStateStoreOptions = {}) {
    if (typeof directory !== 'string' || directory.length === 0) throw new TypeError('directory must be a non-empty path');
    const staleMs = options.staleMs ?? LOCK_STALE_MS;
    const acquireTimeoutMs = options.acquireTimeoutMs ?? LOCK_ACQUIRE_TIMEOUT_MS;
    if (!(staleMs > 0)) throw new RangeError('options.staleMs must be a positive number of milliseconds');
    if (!(acquireTimeoutMs >= 0)) throw new RangeError('options.acquireTimeoutMs must be a non-negative number of milliseconds');
    this.directory = directory;
    this.#staleMs = staleMs;
    this.#acquireTimeoutMs = acquireTimeoutMs;
  }

  /** The file a key is stored in. */
  pathOf(key: string): string {
    return join(this.directory, fileNameOf(key));
  }

  /** The lock file of a key (present only while someone holds the lock). */
  lockPathOf(key: string): string {
    return `${this.pathOf(key)}${LOCK_SUFFIX}`;
  }

  async load(key: string): Promise<string | undefined> {
    try {
      return readFileSync(this.pathOf(key), 'utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Every key with a value in the directory (none when it does not exist). */
  async keys(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.directory);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw error;
    }
    return names.flatMap((name) => {
      const key = keyOfFileName(name);
      return key === undefined ? [] : [key];
    });
  }

  async save(key: string, value: string): Promise<void> {
    if (typeof value !== 'string') throw new TypeError('value must be a string');
    const path = this.pathOf(key);
    this.#ensureDirectory();
    const temporary = join(dirname(path), `.${randomBytes(8).toString('hex')}.tmp`);
    try {
      if (!(await this.#create(temporary, value))) throw new Error(`the temporary file ${temporary} already exists`);
      await fsp.rename(temporary, path);
    } catch (error) {
      await fsp.rm(temporary, { force: true });
      throw error;
    }
    await this.#syncDirectory();
  }

  async delete(key: string): Promise<void> {
    try {
      await fsp.unlink(this.pathOf(key));
    } catch (error) {
      if (errno(error) === 'ENOENT') return;
      throw error;
    }
    await this.#syncDirectory();
  }

  /** Runs `fn` holding the exclusive lock file of `key` (see the module header). */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    const lockPath = this.lockPathOf(key);
    this.#ensureDirectory();
    const token = await this.#acquire(lockPath);
    // Touch the lock while held, so a long step is never taken for a dead holder's.
    const heartbeat = setInterval(() => {
      const now = new Date();
      fsp.utimes(lockPath, now, now).catch(() => undefined);
    }, Math.max(10, Math.floor(this.#staleMs / 3)));
    heartbeat.unref();
    try {
      return await fn();
    } finally {
      clearInterval(heartbeat);
      await this.#release(lockPath, token);
    }
  }

  async #acquire(lockPath: string): Promise<string> {
    const token = randomBytes(16).toString('hex');
    const holder: LockHolder = { pid: process.pid, host: hostname(), token, since: new Date().toISOString() };
    const deadline = Date.now() + this.#acquireTimeoutMs;
    let delay = 5;
    for (;;) {
      if (await this.#create(lockPath, JSON.stringify(holder))) return token;
      await this.#recoverIfStale(lockPath);
      if (await this.#create(lockPath, JSON.stringify(holder))) return token;
      if (Date.now() >= deadline) {
        const current = await readHolder(lockPath);
        const who = current ? `process ${current.pid} on ${current.host} since ${current.since}` : 'another process';
        throw new StateLockError(
          lockPath,
          `the secure-aggregation state lock ${lockPath} is held by ${who}; gave up after ${this.#acquireTimeoutMs} ms (remove the file if no tenzro process uses this state directory)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 250);
    }
  }

  /** Creates `path` exclusively with `content` (fsynced); false when it exists. */
  async #create(path: string, content: string): Promise<boolean> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'wx', STATE_FILE_MODE);
    } catch (error) {
      if (errno(error) === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  }

  /** Removes the lock at `lockPath` if it is stale, under a guard file so that one recoverer acts at a time. */
  async #recoverIfStale(lockPath: string): Promise<void> {
    const seen = await lockState(lockPath);
    if (seen === undefined || !this.#isStale(seen)) return;
    const guardPath = `${lockPath}${GUARD_SUFFIX}`;
    if (!(await this.#create(guardPath, JSON.stringify({ pid: process.pid, host: hostname() })))) {
      // Someone else is recovering; a guard left by a crashed recoverer is itself recovered when stale.
      const guard = await lockState(guardPath);
      if (guard !== undefined && Date.now() - guard.mtimeMs > this.#staleMs) await fsp.rm(guardPath, { force: true });
      return;
    }
    try {
      // Under the guard: still the same stale holder? Then remove it.
      const again = await lockState(lockPath);
      if (again !== undefined && again.raw === seen.raw && again.mtimeMs === seen.mtimeMs && this.#isStale(again)) {
        await fsp.rm(lockPath, { force: true });
      }
    } finally {
      await fsp.rm(guardPath, { force: true });
    }
  }

  #isStale(lock: { holder: LockHolder | undefined; mtimeMs: number }): boolean {
    if (Date.now() - lock.mtimeMs <= this.#staleMs) return false;
    const { holder } = lock;
    // A holder on this host that is alive keeps its lock, however long it takes.
    if (holder !== undefined && holder.host === hostname() && isAlive(holder.pid)) return false;
    return true;
  }

  async #release(lockPath: string, token: string): Promise<void> {
    const holder = await readHolder(lockPath);
    // Never remove a lock that is no longer ours (recovered by someone after we were taken for dead).
    if (holder?.token === token) await fsp.rm(lockPath, { force: true });
  }

  async #syncDirectory(): Promise<void> {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(this.directory, 'r');
      await handle.sync();
    } catch (error) {
      // Some platforms cannot open or fsync a directory; the rename is still atomic there.
      if (!['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EBADF'].includes(errno(error) ?? '')) throw error;
    } finally {
      await handle?.close();
    }
  }

  #ensureDirectory(): void {
    mkdirSync(this.directory, { recursive: true, mode: STATE_DIR_MODE });
    // An existing directory keeps its mode on mkdir: tighten it if others can read it.
    if ((statSync(this.directory).mode & 0o077) !== 0) chmodSync(this.directory, STATE_DIR_MODE);
  }
}

async function lockState(path: string): Promise<{ raw: string; holder: LockHolder | undefined; mtimeMs: number } | undefined> {
  try {
    const [raw, stat] = await Promise.all([fsp.readFile(path, 'utf8'), fsp.stat(path)]);
    return { raw, holder: parseHolder(raw), mtimeMs: stat.mtimeMs };
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    return parseHolder(await fsp.readFile(path, 'utf8'));
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string' && typeof value.since === 'string') {
      return value as LockHolder;
    }
  } catch {
    // An empty or half-written lock file: judged by its age alone.
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM'; // exists, owned by someone else
  }
}
