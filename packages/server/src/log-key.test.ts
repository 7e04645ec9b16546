// The log key (issue 3): made once, kept 0600, the same key on every later start; a damaged file stops the
// server instead of silently starting a new log (which would fork the old one).
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { equalBytes, signingPublicKeyFromPrivate } from '@tenzro/crypto';
import { logIdOf } from '@tenzro/protocol';
import { loadOrCreateLogKey, logKeyPath } from './log/log-key.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenzro-log-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateLogKey', () => {
  it('creates the key once (0600 in a 0700 directory) and loads the same key afterwards', async () => {
    const first = await loadOrCreateLogKey(dir);
    expect((await stat(logKeyPath(dir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'log'))).mode & 0o777).toBe(0o700);
    expect(first.logId).toBe(logIdOf(first.publicKey));
    expect(equalBytes(signingPublicKeyFromPrivate(first.privateKey), first.publicKey)).toBe(true);
    const again = await loadOrCreateLogKey(dir);
    expect(again.logId).toBe(first.logId);
    const [a, b] = await Promise.all([loadOrCreateLogKey(join(dir, 'race')), loadOrCreateLogKey(join(dir, 'race'))]);
    expect(a.logId).toBe(b.logId);
  });

  it('refuses a damaged or mismatched key file, and a bad argument', async () => {
    await loadOrCreateLogKey(dir);
    const text = await readFile(logKeyPath(dir), 'utf8');
    const file = JSON.parse(text);
    const other = await loadOrCreateLogKey(join(dir, 'other'));
    await writeFile(logKeyPath(dir), JSON.stringify({ ...file, publicKey: Buffer.from(other.publicKey).toString('base64url') }));
    await expect(loadOrCreateLogKey(dir)).rejects.toMatchObject({ code: 'log_key_invalid', message: /does not belong/ });
    await writeFile(logKeyPath(dir), text.slice(0, 40));
    await expect(loadOrCreateLogKey(dir)).rejects.toMatchObject({ code: 'log_key_invalid', message: /not a log key file/ });
    await expect(loadOrCreateLogKey('')).rejects.toThrow(TypeError);
  });
});
