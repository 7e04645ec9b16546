// A compute node's long-lived keys: an X25519 (HPKE) key pair, to which peers seal messages, and an
// Ed25519 signing key, with which it signs what it sends. Kept in `stateDir/mpc-node-key.json`, mode 0600.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SecretBytes,
  encryptionPublicKeyFromPrivate,
  fromBase64Url,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  signingPublicKeyFromPrivate,
  toBase64Url,
} from '@tenzro/crypto';

export const NODE_KEY_FILE = 'mpc-node-key.json';
const KEY_FILE_TYPE = 'tenzro.mpc-node-key/v1';

export interface NodeIdentity {
  readonly hpkePublicKey: Uint8Array;
  readonly hpkePrivateKey: SecretBytes;
  readonly signingPublicKey: Uint8Array;
  readonly signingPrivateKey: SecretBytes;
}

export class NodeIdentityError extends Error {
  readonly code = 'invalid_key_file' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeIdentityError';
  }
}

/** Loads the node's keys from `stateDir`, or creates them there (0600) on first start. */
export async function loadOrCreateIdentity(stateDir: string): Promise<NodeIdentity> {
  if (typeof stateDir !== 'string' || stateDir.length === 0) throw new TypeError('stateDir must be a non-empty path');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, NODE_KEY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new NodeIdentityError(`cannot read ${path}`, { cause });
  }
  if (text === undefined) {
    const hpke = await generateEncryptionKeyPair();
    const signing = generateSigningKeyPair();
    const file = { type: KEY_FILE_TYPE, hpkePrivateKey: toBase64Url(hpke.privateKey.expose()), signingPrivateKey: toBase64Url(signing.privateKey.expose()) };
    try {
      await writeFile(path, JSON.stringify(file) + '\n', { mode: 0o600, flag: 'wx' });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
      return loadOrCreateIdentity(stateDir); // another process made it first
    }
    return Object.freeze({ hpkePublicKey: hpke.publicKey, hpkePrivateKey: hpke.privateKey, signingPublicKey: signing.publicKey, signingPrivateKey: signing.privateKey });
  }
  try {
    const file = JSON.parse(text) as { type?: unknown; hpkePrivateKey?: unknown; signingPrivateKey?: unknown };
    if (file.type !== KEY_FILE_TYPE || typeof file.hpkePrivateKey !== 'string' || typeof file.signingPrivateKey !== 'string') {
      throw new NodeIdentityError(`${path} is not a ${KEY_FILE_TYPE} file`);
    }
    const hpkePrivateKey = SecretBytes.from(fromBase64Url(file.hpkePrivateKey, 'hpkePrivateKey'));
    const signingPrivateKey = SecretBytes.from(fromBase64Url(file.signingPrivateKey, 'signingPrivateKey'));
    return Object.freeze({
      hpkePublicKey: await encryptionPublicKeyFromPrivate(hpkePrivateKey),
      hpkePrivateKey,
      signingPublicKey: signingPublicKeyFromPrivate(signingPrivateKey),
      signingPrivateKey,
    });
  } catch (cause) {
    if (cause instanceof NodeIdentityError) throw cause;
    throw new NodeIdentityError(`${path} is not a usable key file`, { cause });
  }
}
