/**
 * The tombstone file: an append-only, fsync'd list of sessions whose keys were destroyed
 * (crypto-shredding, DESIGN §6). A sealed key is only host-side ciphertext, so a backup of it would outlive
 * `destroySessionKey`; the enclave refuses to unseal any key whose session has a tombstone.
 *
 * Format: one JSON object per line, `{"sessionId":"mps_…","destroyedAt":"<ISO time>"}`. A torn last line
 * (a crash mid-append) is ignored on load; the next append starts on a new line.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const TOMBSTONE_FILE = 'tombstones.jsonl';

export class Tombstones {
  readonly #path: string;
  readonly #destroyed: Map<string, string>;
  #tail: Promise<unknown> = Promise.resolve();
  #fileKnownDurable: boolean;

  private constructor(path: string, destroyed: Map<string, string>, exists: boolean) {
    this.#path = path;
    this.#destroyed = destroyed;
    this.#fileKnownDurable = exists;
  }

  static async load(path: string): Promise<Tombstones> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const destroyed = new Map<string, string>();
    let text = '';
    let exists = true;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      exists = false;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as { sessionId?: unknown; destroyedAt?: unknown };
        if (typeof entry.sessionId === 'string' && typeof entry.destroyedAt === 'string') {
          if (!destroyed.has(entry.sessionId)) destroyed.set(entry.sessionId, entry.destroyedAt);
        }
      } catch {
        // a torn final line from a crash mid-append: the destroy was never acknowledged
      }
    }
    return new Tombstones(path, destroyed, exists);
  }

  /** When the session's key was destroyed, or undefined if it was not. */
  destroyedAt(sessionId: string): string | undefined {
    return this.#destroyed.get(sessionId);
  }

  /**
   * Records the destruction durably (write + fsync) before resolving; idempotent: a second call returns
   * the first time. Appends are serialised so concurrent calls never interleave lines.
   */
  async add(sessionId: string, destroyedAt: string): Promise<string> {
    const run = this.#tail.then(async () => {
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
        // the file was just created: make its directory entry durable too
        const dir = await open(dirname(this.#path), 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
        this.#fileKnownDurable = true;
      }
      this.#destroyed.set(sessionId, destroyedAt);
      return destroyedAt;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
