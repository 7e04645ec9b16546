/**
 * The log key: the host's own Ed25519 key pair that signs tree heads (issue 3). It is the host's
 * commitment to one history: a host that shows two parties different histories must sign two heads that
 * cannot both be consistent, and that fork is what parties detect. Made on first start and kept at
 * `dataDir/log/log-key.json` (mode 0600, directory 0700):
 *
 *   { "type": "tenzro.log-key/v1", "algorithm": "Ed25519", "publicKey": b64url, "privateKey": b64url, "createdAt": iso }
 *
 * The file is written to a temporary name, fsync'd, then hard-linked into place, so a crash never leaves a
 * torn key file and two starts racing on an empty directory end up with one key. A file that does not
 * parse, or whose public key does not match its private key, stops the server (a new key would be a new
 * log, silently forking the old one).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SecretBytes,
  equalBytes,
  fromBase64Url,
  generateSigningKeyPair,
  parseStrictJson,
  signingPublicKeyFromPrivate,
  toBase64Url,
} from '@tenzro/crypto';
import { logIdOf } from '@tenzro/protocol';
import { z } from 'zod';

export const LOG_KEY_TYPE = 'tenzro.log-key/v1';
export const LOG_KEY_FILE = 'log-key.json';

export interface LogKey {
  publicKey: Uint8Array;
  privateKey: SecretBytes;
  /** `sha256:` + hex SHA-256 of the public key. */
  logId: string;
}

export class LogKeyError extends Error {
  readonly code = 'log_key_invalid' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogKeyError';
  }
}

const LogKeyFile = z.strictObject({
  type: z.literal(LOG_KEY_TYPE),
  algorithm: z.literal('Ed25519'),
  publicKey: z.string(),
  privateKey: z.string(),
  createdAt: z.string(),
});

export function logKeyPath(dataDir: string): string {
  return join(dataDir, 'log', LOG_KEY_FILE);
}

function parseLogKey(text: string, path: string): LogKey {
  let file: z.infer<typeof LogKeyFile>;
  let publicKey: Uint8Array;
  let privateBytes: Uint8Array;
  try {
    file = LogKeyFile.parse(parseStrictJson(text, { maxDepth: 4 }));
    publicKey = fromBase64Url(file.publicKey, 'publicKey');
    privateBytes = fromBase64Url(file.privateKey, 'privateKey');
  } catch (cause) {
    throw new LogKeyError(`${path} is not a log key file`, { cause });
  }
  if (privateBytes.length !== 32 || publicKey.length !== 32) {
    privateBytes.fill(0);
    throw new LogKeyError(`${path}: the keys must be 32 bytes each`);
  }
  const privateKey = SecretBytes.from(privateBytes);
  privateBytes.fill(0);
  if (!equalBytes(signingPublicKeyFromPrivate(privateKey), publicKey)) {
    privateKey.destroy();
    throw new LogKeyError(`${path}: the public key does not belong to the private key`);
  }
  return { publicKey, privateKey, logId: logIdOf(publicKey) };
}

async function writeNewKey(path: string, now: Date): Promise<void> {
  const pair = generateSigningKeyPair();
  const text =
    JSON.stringify({
      type: LOG_KEY_TYPE,
      algorithm: 'Ed25519',
      publicKey: toBase64Url(pair.publicKey),
      privateKey: toBase64Url(pair.privateKey.expose()),
      createdAt: now.toISOString(),
    }) + '\n';
  pair.privateKey.destroy();
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // another start made the key first: keep theirs
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Loads the log key, making it on first start. */
export async function loadOrCreateLogKey(dataDir: string, now: Date = new Date()): Promise<LogKey> {
  if (typeof dataDir !== 'string' || dataDir.length === 0) throw new TypeError('dataDir must be a non-empty string');
  const path = logKeyPath(dataDir);
  await mkdir(join(dataDir, 'log'), { recursive: true, mode: 0o700 });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await writeNewKey(path, now);
    text = await readFile(path, 'utf8');
  }
  return parseLogKey(text, path);
}
