// The CLI's file-backed SecAggStateStore: values round-trip, files are 0600 in a 0700 directory, writes
// are atomic (no temporary file left behind, an old value replaced whole), keys cannot escape the directory.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSecAggStateStore } from './secagg-store.js';

const KEY = 'secagg/mps_abcdefghijklmnopqrstuvwxyz/party::bankA::treasury';

function freshDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'tenzro-secagg-store-')), 'state');
}

describe('FileSecAggStateStore', () => {
  it('round-trips values per key; a missing key loads undefined; delete removes it (twice is fine)', async () => {
    const store = new FileSecAggStateStore(freshDir());
    expect(await store.load(KEY)).toBeUndefined();
    await store.save(KEY, '{"a":1}');
    await store.save(`${KEY}x`, 'other');
    expect(await store.load(KEY)).toBe('{"a":1}');
    await store.save(KEY, '{"a":2,"b":"ünïcode"}');
    expect(await store.load(KEY)).toBe('{"a":2,"b":"ünïcode"}');
    expect(await new FileSecAggStateStore(store.directory).load(KEY)).toBe('{"a":2,"b":"ünïcode"}');
    await store.delete(KEY);
    await store.delete(KEY);
    expect(await store.load(KEY)).toBeUndefined();
    expect(await store.load(`${KEY}x`)).toBe('other');
  });

  it('writes files mode 0600 in a directory mode 0700 (tightening an existing open directory)', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    const store = new FileSecAggStateStore(dir);
    await store.save(KEY, 'secret');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.pathOf(KEY)).mode & 0o777).toBe(0o600);
    await store.save(KEY, 'secret again');
    expect(statSync(store.pathOf(KEY)).mode & 0o777).toBe(0o600);
  });

  it('replaces atomically: only the final files remain, never a temporary one', async () => {
    const store = new FileSecAggStateStore(freshDir());
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(KEY, `value ${i}`)));
    expect(readdirSync(store.directory)).toEqual([store.pathOf(KEY).split('/').pop()]);
    expect(await store.load(KEY)).toMatch(/^value \d+$/);
  });

  it('keeps every key inside its directory, and distinct keys in distinct files', () => {
    const store = new FileSecAggStateStore(freshDir());
    for (const key of ['../../etc/passwd', '/abs', '..', 'a/b', 'a%2Fb', 'party::x']) {
      const path = store.pathOf(key);
      expect(path.startsWith(`${store.directory}/`)).toBe(true);
      expect(path.slice(store.directory.length + 1)).not.toContain('/');
    }
    expect(store.pathOf('a/b')).not.toBe(store.pathOf('a%2Fb'));
    expect(() => store.pathOf('')).toThrow(TypeError);
  });

  it('refuses a value that is not a string and reports other read errors', async () => {
    const dir = freshDir();
    const store = new FileSecAggStateStore(dir);
    await expect(store.save(KEY, 5 as unknown as string)).rejects.toThrow(TypeError);
    mkdirSync(store.pathOf(KEY), { recursive: true }); // a directory where the file should be
    await expect(store.load(KEY)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
