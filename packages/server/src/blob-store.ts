/**
 * Content-addressed ciphertext store on disk: `<root>/ab/cdef…`, the name being the lowercase hex SHA-256
 * of the bytes. An upload streams into a temp file in the store's own directory (same filesystem, so the
 * final rename is atomic) while it is hashed and counted; it is cut at the byte limit, fsynced, renamed,
 * and its directory fsynced. No temp file outlives a failed write, and `init()` sweeps any a crash left.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { TenzroError } from '@tenzro/protocol';

export const BLOB_HASH_PATTERN = /^[0-9a-f]{64}$/;
const TEMP_PREFIX = '.incoming-';

export interface BlobWriteOptions {
  /** Bytes beyond this abort the write with 413 payload_too_large. */
  maxBytes: number;
  /** Milliseconds without a chunk before the write is aborted. */
  idleTimeoutMs: number;
}

export interface StoredBlob {
  hash: string;
  size: number;
}

function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** FileHandle#write may write less than asked (a nearly full disk): loop until every byte is down. */
async function writeFully(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten <= 0) throw Object.assign(new Error('no progress writing a blob'), { code: 'ENOSPC', syscall: 'write' });
    offset += bytesWritten;
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class BlobStore {
  readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '') throw new TypeError('root must be a directory path');
    this.root = root;
  }

  /**
   * Creates the store and deletes temp files a crash may have left behind. A store shared by several
   * instances passes `staleTempMs`: only temp files unmodified that long are deleted (a live upload writes
   * at least every idle timeout), so a starting instance never cuts another one's upload.
   */
  async init(options: { staleTempMs?: number } = {}): Promise<void> {
    const staleTempMs = options.staleTempMs ?? 0;
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const name of await readdir(this.root)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.root, name);
      if (staleTempMs > 0) {
        const modified = await stat(path).then((s) => s.mtimeMs, () => undefined);
        if (modified === undefined || now - modified < staleTempMs) continue;
      }
      await rm(path, { force: true });
    }
  }

  /** The file of a stored blob. The host hands this path to the enclave, which only reads it. */
  path(hash: string): string {
    if (!BLOB_HASH_PATTERN.test(hash)) throw new TypeError('hash must be 64 lowercase hex characters');
    return join(this.root, hash.slice(0, 2), hash.slice(2));
  }

  async exists(hash: string): Promise<boolean> {
    try {
      await stat(this.path(hash));
      return true;
    } catch {
      return false;
    }
  }

  /** Removes a blob; a missing one is not an error (deletes are retried after crashes). */
  async delete(hash: string): Promise<void> {
    await rm(this.path(hash), { force: true });
  }

  /** Names of the temp files currently in the store (tests assert none survive). */
  async tempFiles(): Promise<string[]> {
    return (await readdir(this.root)).filter((name) => name.startsWith(TEMP_PREFIX));
  }

  /**
   * Streams `source` into the store. On overflow the source is paused and left unread (never destroyed),
   * so the HTTP layer can still answer 413 on the same connection before closing it.
   */
  async write(source: Readable, options: BlobWriteOptions): Promise<StoredBlob> {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) throw new RangeError('maxBytes must be a positive integer');
    const tempPath = join(this.root, TEMP_PREFIX + randomBytes(12).toString('hex'));
    const hasher = createHash('sha256');
    let size = 0;
    let renamed = false;
    let handle: FileHandle | undefined;
    let idleExpired = false;
    try {
      handle = await open(tempPath, 'wx', 0o600);
      const file = handle;
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        let ended = false;
        let idleTimer: NodeJS.Timeout | undefined;
        const armIdle = (): void => {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => {
            idleExpired = true;
            finish(new Error('upload idle timeout'));
            source.destroy();
          }, options.idleTimeoutMs);
        };
        const finish = (error?: unknown): void => {
          if (settled) return;
          settled = true;
          clearTimeout(idleTimer);
          source.off('data', onData);
          source.off('end', onEnd);
          source.off('error', onError);
          source.off('close', onClose);
          if (error === undefined) resolve();
          else {
            source.pause();
            reject(error);
          }
        };
        // The write of the latest chunk; 'end' can arrive while it is still in flight.
        let pending: Promise<void> = Promise.resolve();
        const onData = (chunk: Buffer | string): void => {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          size += bytes.length;
          if (size > options.maxBytes) {
            finish(new TenzroError('payload_too_large', `the upload exceeds the limit of ${options.maxBytes} bytes`));
            return;
          }
          hasher.update(bytes);
          source.pause();
          pending = writeFully(file, bytes).then(
            () => {
              if (settled || ended) return;
              armIdle();
              source.resume();
            },
            (error: unknown) => finish(error),
          );
        };
        const onEnd = (): void => {
          ended = true;
          clearTimeout(idleTimer);
          void pending.then(() => finish());
        };
        const onError = (error: unknown): void => finish(error);
        const onClose = (): void => {
          if (!ended) finish(new Error('the upload was aborted'));
        };
        source.on('data', onData);
        source.on('end', onEnd);
        source.on('error', onError);
        source.on('close', onClose);
        armIdle();
        source.resume();
      });
      await handle.sync();
      await handle.close();
      handle = undefined;
      const hash = hasher.digest('hex');
      const directory = join(this.root, hash.slice(0, 2));
      await mkdir(directory, { recursive: true, mode: 0o700 });
      await rename(tempPath, join(directory, hash.slice(2)));
      renamed = true;
      await fsyncDirectory(directory);
      return { hash, size };
    } catch (error) {
      if (error instanceof TenzroError) throw error;
      if (isStorageFull(error)) {
        throw new TenzroError('insufficient_storage', 'the host is out of storage; try again later', { cause: error });
      }
      // A filesystem failure other than "full" is the host's fault: let it surface as a 500.
      if (typeof (error as { syscall?: unknown } | null)?.syscall === 'string') throw error;
      if (idleExpired) throw new TenzroError('invalid_request', 'the upload stalled and was aborted', { cause: error });
      throw new TenzroError('invalid_request', 'the upload was interrupted', { cause: error });
    } finally {
      if (handle) await handle.close().catch(() => undefined);
      if (!renamed) await unlink(tempPath).catch(() => undefined);
    }
  }
}
