// The tombstone file shared by the enclave workers of one deployment: refresh() picks up what another
// process appended, reads only new bytes, and treats a torn or in-progress last line as not yet written.
import { appendFile, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/enclave-process.js';
import { TOMBSTONE_FILE, Tombstones } from './tombstones.js';

const SESSION_1 = 'mps_' + 'a'.repeat(26);
const SESSION_2 = 'mps_' + 'b'.repeat(26);
const SESSION_3 = 'mps_' + 'c'.repeat(26);
const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-02T00:00:00.000Z';

function line(sessionId: string, destroyedAt: string): string {
  return JSON.stringify({ sessionId, destroyedAt });
}

describe('Tombstones.refresh', () => {
  it('sees what another instance appended, and nothing before it did', async () => {
    const path = join(await tempDir('tenzro-tombstones-'), TOMBSTONE_FILE);
    const a = await Tombstones.load(path);
    const b = await Tombstones.load(path);
    await a.add(SESSION_1, T1);
    expect(b.destroyedAt(SESSION_1)).toBeUndefined(); // not yet refreshed
    await b.refresh();
    expect(b.destroyedAt(SESSION_1)).toBe(T1);
    expect(await b.add(SESSION_1, T2)).toBe(T1);
    await b.add(SESSION_2, T2);
    await a.refresh();
    expect(a.destroyedAt(SESSION_2)).toBe(T2);
    const text = await readFile(path, 'utf8');
    expect(text.split('\n').filter((l) => l.trim() !== '')).toEqual([line(SESSION_1, T1), line(SESSION_2, T2)]);
  });

  it('leaves a partial last line for later and ignores a torn one once it is followed', async () => {
    const path = join(await tempDir('tenzro-tombstones-'), TOMBSTONE_FILE);
    await writeFile(path, line(SESSION_1, T1) + '\n');
    const tombstones = await Tombstones.load(path);
    expect(tombstones.destroyedAt(SESSION_1)).toBe(T1);

    // an append in progress: the first half of a line
    const whole = '\n' + line(SESSION_2, T2) + '\n';
    await appendFile(path, whole.slice(0, 20));
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_2)).toBeUndefined();
    await appendFile(path, whole.slice(20));
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_2)).toBe(T2);

    // a crash mid-append leaves a torn line; the next append terminates it and is read
    await appendFile(path, '\n{"sessionId":"' + SESSION_3);
    await tombstones.refresh();
    await appendFile(path, '\n' + line(SESSION_3, T1) + '\n');
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_3)).toBe(T1);
  });

  it('counts a whole record that lacks only its newline (failing closed), and reads it once when completed', async () => {
    const path = join(await tempDir('tenzro-tombstones-'), TOMBSTONE_FILE);
    await writeFile(path, line(SESSION_1, T1));
    const tombstones = await Tombstones.load(path);
    expect(tombstones.destroyedAt(SESSION_1)).toBe(T1);
    await appendFile(path, '\n' + line(SESSION_2, T2) + '\n');
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_2)).toBe(T2);
    expect(tombstones.destroyedAt(SESSION_1)).toBe(T1);
  });

  it('re-reads a replaced file whole and forgets nothing it has seen', async () => {
    const dir = await tempDir('tenzro-tombstones-');
    const path = join(dir, TOMBSTONE_FILE);
    await writeFile(path, line(SESSION_1, T1) + '\n');
    const tombstones = await Tombstones.load(path);
    const replacement = join(dir, 'replacement');
    await writeFile(replacement, line(SESSION_2, T2) + '\n');
    await rename(replacement, path);
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_2)).toBe(T2);
    expect(tombstones.destroyedAt(SESSION_1)).toBe(T1);
  });

  it('does not read the file when its size, mtime and inode are unchanged', async () => {
    const path = join(await tempDir('tenzro-tombstones-'), TOMBSTONE_FILE);
    await writeFile(path, line(SESSION_1, T1) + '\n');
    const tombstones = await Tombstones.load(path);
    const before = await stat(path);
    // the same bytes count, mtime kept: a refresh that re-read would find SESSION_2
    const forged = line(SESSION_2, T1) + '\n';
    expect(forged.length).toBe(line(SESSION_1, T1).length + 1);
    await writeFile(path, forged);
    await utimes(path, before.atime, before.mtime);
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_2)).toBeUndefined();
  });

  it('works before the file exists', async () => {
    const path = join(await tempDir('tenzro-tombstones-'), 'sub', TOMBSTONE_FILE);
    const tombstones = await Tombstones.load(path);
    await tombstones.refresh();
    expect(tombstones.destroyedAt(SESSION_1)).toBeUndefined();
    expect(await tombstones.add(SESSION_1, T1)).toBe(T1);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('checks its arguments', async () => {
    await expect(Tombstones.load('')).rejects.toThrow(/path must be a non-empty string/);
  });
});
