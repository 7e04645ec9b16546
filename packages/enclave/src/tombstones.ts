/**
 * The tombstone file: an append-only, fsync'd list of sessions whose keys were destroyed
 * (crypto-shredding, DESIGN §6). A sealed key is only host-side ciphertext, so a backup of it would outlive
 * `destroySessionKey`; the enclave refuses to unseal any key whose session has a tombstone.
 *
 * Format: one JSON object per line, `{"sessionId":"mps_…","destroyedAt":"<ISO time>"}`. A torn last line
 * (a crash mid-append) is ignored on load; the next append starts on a new line.
 *
 * Several enclave processes (the workers of one deployment) may share the file: each appends its own
 * tombstones with one `O_APPEND` write, and `refresh()` reads what the others appended since (only the new
 * bytes, and only when the file's size, mtime or inode changed). A tombstone once read is never forgotten
 * by this process, even if the file is later replaced by an older copy.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export const TOMBSTONE_FILE = 'tombstones.jsonl';

const NEWLINE = 0x0a;

/** What the last read saw of the file: where complete lines end, and the stat it read against. */
interface ReadMark {
  /** Bytes up to and including the last newline read; a partial line after it is read again next time. */
  offset: number;
  size: number;
  mtimeMs: number;
  ino: number;
}

const NO_FILE: ReadMark = { offset: 0, size: -1, mtimeMs: -1, ino: -1 };

export class Tombstones {
  readonly #path: string;
  readonly #destroyed = new Map<string, string>();
  #tail: Promise<unknown> = Promise.resolve();
  #refreshTail: Promise<unknown> = Promise.resolve();
  #mark: ReadMark = NO_FILE;
  #fileKnownDurable = false;

  private constructor(path: string) {
    this.#path = path;
  }

  static async load(path: string): Promise<Tombstones> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tombstones = new Tombstones(path);
    await tombstones.refresh();
    return tombstones;
  }

  /** When the session's key was destroyed, or undefined if it was not (as of the last `refresh()`). */
  destroyedAt(sessionId: string): string | undefined {
    return this.#destroyed.get(sessionId);
  }

  /**
   * Reads the tombstones other processes appended since the last read. One `stat` when nothing changed;
   * otherwise only the bytes after the last complete line (the whole file again if it was replaced or
   * shrank). A partial last line (an append in progress, or torn by a crash) is read again next time.
   */
  refresh(): Promise<void> {
    const run = this.#refreshTail.then(() => this.#refresh());
    this.#refreshTail = run.catch(() => undefined);
    return run;
  }

  async #refresh(): Promise<void> {
    let info;
    try {
      info = await stat(this.#path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return;
    }
    this.#fileKnownDurable = true;
    const mark = this.#mark;
    if (info.size === mark.size && info.mtimeMs === mark.mtimeMs && info.ino === mark.ino) return;
    const from = info.ino === mark.ino && info.size >= mark.offset ? mark.offset : 0;
    const handle = await open(this.#path, 'r');
    let bytes: Buffer;
    try {
      // Read to the current end, which may be past info.size if an append landed in between.
      const size = (await handle.stat()).size;
      bytes = Buffer.alloc(Math.max(0, size - from));
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, from + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      bytes = bytes.subarray(0, filled);
    } finally {
      await handle.close();
    }
    const complete = bytes.lastIndexOf(NEWLINE) + 1;
    // A last line without its newline is read again next time; if it already parses, it counts now
    // (failing closed: a tombstone whose append may not have been acknowledged still stops an unseal).
    this.#parse(bytes.toString('utf8'));
    this.#mark = { offset: from + complete, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino };
  }

  #parse(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as { sessionId?: unknown; destroyedAt?: unknown };
        if (typeof entry.sessionId === 'string' && typeof entry.destroyedAt === 'string') {
          if (!this.#destroyed.has(entry.sessionId)) this.#destroyed.set(entry.sessionId, entry.destroyedAt);
        }
      } catch {
        // a torn line from a crash mid-append: the destroy was never acknowledged
      }
    }
  }

  /**
   * Records the destruction durably (write + fsync) before resolving; idempotent, across the processes
   * sharing the file too: a second call returns the first time. Appends are serialised so concurrent calls
   * never interleave lines, and each is one `O_APPEND` write, so other processes' lines stay whole.
   */
  async add(sessionId: string, destroyedAt: string): Promise<string> {
    const run = this.#tail.then(async () => {
      await this.refresh();
      const existing = this.#destroyed.get(sessionId);
      if (existing !== undefined) return existing;
      const handle = await open(this.#path, 'a', 0o600);
      try {
        // leading newline: terminates a torn line a crash may have left behind
        await handle.write('\n' + JSON.stringify({ sessionId, destroyedAt }) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (!this.#fileKnownDurable) {
        // the file may just have been created: make its directory entry durable too
        const dir = await open(dirname(this.#path), 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
        this.#fileKnownDurable = true;
      }
      // Read our own line back: when another process destroyed the same key at the same moment, the line
      // that came first in the file wins, in every process.
      await this.refresh();
      if (!this.#destroyed.has(sessionId)) this.#destroyed.set(sessionId, destroyedAt);
      return this.#destroyed.get(sessionId)!;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
