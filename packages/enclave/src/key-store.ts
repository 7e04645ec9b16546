/**
 * Session keys (DESIGN §5.2): one X25519 key pair per session, made here and never leaving the enclave in
 * the clear. The host keeps only the *sealed* private key:
 *
 *   sealedKey = base64url( 0x01 | IV (12 bytes) | AES-256-GCM(privateKey) )
 *
 * under `nsm.deriveSealingKey('tenzro/mpi/v1/session-key-sealing')` (bound to the provider's root secret
 * and the enclave measurement, so a changed enclave cannot unseal) with additional data
 * `'tenzro/session-key/v1|' + sessionId` (so a sealed key of one session cannot be used for another).
 *
 * Destroying a key writes a tombstone (append-only, fsync'd) before the in-memory copy is zeroed, and a
 * tombstoned session is never unsealed again: a backup of the sealed key is as dead as the original.
 * Enclave workers of one measurement share the state directory, so every tombstone check re-reads the
 * file first (tombstones.ts `refresh()`): a key destroyed by one worker is refused by all of them.
 */
import { join } from 'node:path';
import {
  SecretBytes,
  concatBytes,
  encryptionPublicKeyFromPrivate,
  fromBase64Url,
  generateEncryptionKeyPair,
  randomBytes,
  toBase64Url,
  utf8Encode,
} from '@tenzro/crypto';
import { SESSION_ID_PATTERN, sessionKeyUserData } from '@tenzro/protocol';
import type { AttestationIssuer } from './attestation/issuer.js';
import { TOMBSTONE_FILE, Tombstones } from './tombstones.js';

export const SESSION_KEY_SEALING_INFO = 'tenzro/mpi/v1/session-key-sealing';
export const SEALED_KEY_VERSION = 0x01;
const IV_BYTES = 12;
const PRIVATE_KEY_BYTES = 32;
const GCM_TAG_BYTES = 16;
const SEALED_KEY_BYTES = 1 + IV_BYTES + PRIVATE_KEY_BYTES + GCM_TAG_BYTES;

/** The additional authenticated data of a sealed session key. */
export function sealedKeyAad(sessionId: string): Uint8Array {
  return utf8Encode('tenzro/session-key/v1|' + sessionId);
}

export type KeyStoreErrorCode = 'key_destroyed' | 'unseal_failed';

/**
 * `key_destroyed`: the session has a tombstone. `unseal_failed`: the sealed key is malformed, tampered,
 * of another session, or sealed by an enclave with another measurement or root secret (all look alike).
 */
export class KeyStoreError extends Error {
  readonly code: KeyStoreErrorCode;
  constructor(code: KeyStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyStoreError';
    this.code = code;
  }
}

export interface AttestedSessionKey {
  publicKey: Uint8Array;
  /** A document issued now: `public_key` = publicKey, `user_data` = sessionKeyUserData(sessionId). */
  attestation: Uint8Array;
}

export interface CreatedSessionKey {
  publicKey: Uint8Array;
  /** The provider's attestation document: `public_key` = publicKey, `user_data` = sessionKeyUserData(sessionId). */
  attestation: Uint8Array;
  sealedKey: string;
}

function checkSessionId(sessionId: unknown): asserts sessionId is string {
  if (typeof sessionId !== 'string') throw new TypeError('sessionId must be a string');
  if (!SESSION_ID_PATTERN.test(sessionId)) throw new TypeError('sessionId: not a session id (mps_…)');
}

export class KeyStore {
  readonly #nsm: AttestationIssuer;
  readonly #sealingKey: CryptoKey;
  readonly #tombstones: Tombstones;
  /** Unsealed keys by `sessionId + '\n' + sealedKey` (a session may, in principle, have had two keys). */
  readonly #cache = new Map<string, { sessionId: string; key: SecretBytes }>();

  private constructor(nsm: AttestationIssuer, sealingKey: CryptoKey, tombstones: Tombstones) {
    this.#nsm = nsm;
    this.#sealingKey = sealingKey;
    this.#tombstones = tombstones;
  }

  /** Opens the store: derives the sealing key (held as a non-extractable CryptoKey) and loads tombstones. */
  static async open(options: { nsm: AttestationIssuer; stateDir: string }): Promise<KeyStore> {
    const { nsm, stateDir } = options ?? ({} as never);
    if (!nsm || typeof nsm.deriveSealingKey !== 'function') throw new TypeError('nsm must be an attestation provider');
    if (typeof stateDir !== 'string' || stateDir.length === 0) throw new TypeError('stateDir must be a non-empty string');
    const raw = await nsm.deriveSealingKey(SESSION_KEY_SEALING_INFO);
    let sealingKey: CryptoKey;
    try {
      if (raw.length !== 32) throw new RangeError('nsm.deriveSealingKey must return 32 bytes');
      sealingKey = await crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'AES-GCM' }, false, [
        'encrypt',
        'decrypt',
      ]);
    } finally {
      raw.fill(0);
    }
    const tombstones = await Tombstones.load(join(stateDir, TOMBSTONE_FILE));
    return new KeyStore(nsm, sealingKey, tombstones);
  }

  /** When the session's key was destroyed, if it was (as of the last tombstone check). */
  destroyedAt(sessionId: string): string | undefined {
    return this.#tombstones.destroyedAt(sessionId);
  }

  /** Makes the session's key pair, attests its public key bound to the session id, and seals the private key. */
  async createSessionKey(sessionId: string): Promise<CreatedSessionKey> {
    checkSessionId(sessionId);
    await this.#refuseDestroyed(sessionId);
    const { publicKey, privateKey } = await generateEncryptionKeyPair();
    const iv = randomBytes(IV_BYTES);
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: iv as Uint8Array<ArrayBuffer>, additionalData: sealedKeyAad(sessionId) as Uint8Array<ArrayBuffer> },
        this.#sealingKey,
        privateKey.expose() as Uint8Array<ArrayBuffer>,
      ),
    );
    const sealedKey = toBase64Url(concatBytes(Uint8Array.of(SEALED_KEY_VERSION), iv, ciphertext));
    const attestation = await this.#nsm.issue({ publicKey, userData: sessionKeyUserData(sessionId) });
    this.#remember(sessionId, sealedKey, privateKey);
    return { publicKey, attestation, sealedKey };
  }

  /**
   * The session's private key. The returned SecretBytes belongs to the store (cached until the key is
   * destroyed): callers must not destroy it. Throws KeyStoreError.
   */
  async unsealSessionKey(sessionId: string, sealedKey: string): Promise<SecretBytes> {
    checkSessionId(sessionId);
    if (typeof sealedKey !== 'string') throw new TypeError('sealedKey must be a string');
    await this.#refuseDestroyed(sessionId);
    const cached = this.#cache.get(cacheKey(sessionId, sealedKey));
    if (cached) return cached.key;

    let bytes: Uint8Array;
    try {
      bytes = fromBase64Url(sealedKey, 'sealedKey');
    } catch (cause) {
      throw new KeyStoreError('unseal_failed', 'the sealed session key cannot be unsealed by this enclave', { cause });
    }
    if (bytes.length !== SEALED_KEY_BYTES || bytes[0] !== SEALED_KEY_VERSION) {
      throw new KeyStoreError('unseal_failed', 'the sealed session key cannot be unsealed by this enclave');
    }
    let plain: Uint8Array;
    try {
      plain = new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: bytes.subarray(1, 1 + IV_BYTES) as Uint8Array<ArrayBuffer>,
            additionalData: sealedKeyAad(sessionId) as Uint8Array<ArrayBuffer>,
          },
          this.#sealingKey,
          bytes.subarray(1 + IV_BYTES) as Uint8Array<ArrayBuffer>,
        ),
      );
    } catch (cause) {
      throw new KeyStoreError('unseal_failed', 'the sealed session key cannot be unsealed by this enclave', { cause });
    }
    const key = SecretBytes.from(plain);
    plain.fill(0);
    // a destroy may have completed while we were decrypting (here or in another process)
    try {
      await this.#refuseDestroyed(sessionId);
    } catch (error) {
      key.destroy();
      throw error;
    }
    const again = this.#cache.get(cacheKey(sessionId, sealedKey));
    if (again) {
      key.destroy();
      return again.key;
    }
    this.#remember(sessionId, sealedKey, key);
    return key;
  }

  /**
   * A fresh attestation of an existing session key: unseals it (refusing a destroyed one), derives its
   * public key and issues a new document binding that key to the session. Documents are short-lived
   * (their leaf certificate expires), so the host asks for one each time a party fetches the key.
   * Throws KeyStoreError.
   */
  async attestSessionKey(sessionId: string, sealedKey: string): Promise<AttestedSessionKey> {
    const privateKey = await this.unsealSessionKey(sessionId, sealedKey);
    const publicKey = await encryptionPublicKeyFromPrivate(privateKey);
    const attestation = await this.#nsm.issue({ publicKey, userData: sessionKeyUserData(sessionId) });
    // a destroy may have completed while the document was being issued
    await this.#refuseDestroyed(sessionId);
    return { publicKey, attestation };
  }

  /**
   * Crypto-shreds the session key: the tombstone is durable before this resolves, then every in-memory
   * copy is zeroed and dropped. Idempotent: a second call returns the first destruction time.
   */
  async destroySessionKey(sessionId: string): Promise<{ destroyedAt: string }> {
    checkSessionId(sessionId);
    // add() re-reads the file first: a key another process already destroyed keeps that first time
    const destroyedAt = await this.#tombstones.add(sessionId, new Date().toISOString());
    this.#forget(sessionId);
    return { destroyedAt };
  }

  /**
   * Re-reads the tombstones and zeroes every cached key whose session another enclave sharing the state
   * directory destroyed (the host asks one worker to destroy a key; the others' copies go here). Returns
   * how many sessions were dropped. main.ts calls it every few seconds.
   */
  async purgeDestroyed(): Promise<number> {
    await this.#tombstones.refresh();
    const destroyed = new Set([...this.#cache.values()].map((e) => e.sessionId).filter((id) => this.#tombstones.destroyedAt(id) !== undefined));
    for (const sessionId of destroyed) this.#forget(sessionId);
    return destroyed.size;
  }

  /** Zeroes every cached key (process shutdown). */
  close(): void {
    for (const entry of this.#cache.values()) entry.key.destroy();
    this.#cache.clear();
  }

  /**
   * Throws `key_destroyed` when the session has a tombstone, this process's or another's that shares the
   * state directory (re-read first, cheaply), and then zeroes any copy of the key still cached here.
   */
  async #refuseDestroyed(sessionId: string): Promise<void> {
    await this.#tombstones.refresh();
    if (this.#tombstones.destroyedAt(sessionId) === undefined) return;
    this.#forget(sessionId);
    throw new KeyStoreError('key_destroyed', 'the session key was destroyed');
  }

  #forget(sessionId: string): void {
    for (const [k, entry] of this.#cache) {
      if (entry.sessionId === sessionId) {
        entry.key.destroy();
        this.#cache.delete(k);
      }
    }
  }

  #remember(sessionId: string, sealedKey: string, key: SecretBytes): void {
    this.#cache.set(cacheKey(sessionId, sealedKey), { sessionId, key });
  }
}

function cacheKey(sessionId: string, sealedKey: string): string {
  return sessionId + '\n' + sealedKey;
}
