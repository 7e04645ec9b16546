/**
 * A SecAggStateStore in a directory (Node): one file per key, written atomically (a temporary file in the
 * same directory, renamed over the old one), files mode 0600 in a directory mode 0700. The values hold
 * the secure-aggregation client state — stage key pairs, the self-mask seed, shares held for other
 * parties — so the directory must stay private to the party, like its key file.
 *
 * File names are the keys with every character outside [A-Za-z0-9._-] written as %XX (UTF-8), so a key
 * (`secagg/<sessionId>/<partyId>`) can never name a path outside the directory.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SecAggStateStore } from '@tenzro/platform';

export const STATE_FILE_MODE = 0o600;
export const STATE_DIR_MODE = 0o700;

function fileNameOf(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a non-empty string');
  const name = Array.from(new TextEncoder().encode(key), (byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return `${name}.json`;
}

export class FileSecAggStateStore implements SecAggStateStore {
  readonly directory: string;

  constructor(directory: string) {
    if (typeof directory !== 'string' || directory.length === 0) throw new TypeError('directory must be a non-empty path');
    this.directory = directory;
  }

  /** The file a key is stored in. */
  pathOf(key: string): string {
    return join(this.directory, fileNameOf(key));
  }

  async load(key: string): Promise<string | undefined> {
    try {
      return readFileSync(this.pathOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async save(key: string, value: string): Promise<void> {
    if (typeof value !== 'string') throw new TypeError('value must be a string');
    const path = this.pathOf(key);
    this.#ensureDirectory();
    const temporary = join(dirname(path), `.${randomBytes(8).toString('hex')}.tmp`);
    try {
      writeFileSync(temporary, value, { mode: STATE_FILE_MODE, flag: 'wx' });
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      unlinkSync(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  #ensureDirectory(): void {
    mkdirSync(this.directory, { recursive: true, mode: STATE_DIR_MODE });
    // An existing directory keeps its mode on mkdir: tighten it if others can read it.
    if ((statSync(this.directory).mode & 0o077) !== 0) chmodSync(this.directory, STATE_DIR_MODE);
  }
}
