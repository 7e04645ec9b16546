// A holder for secret key material. The raw bytes are reachable only through `expose()`, so every place
// that touches a private key is found by searching for that one call. A SecretBytes cannot be logged,
// stringified or JSON-serialised by accident, and destroy() zero-fills it (crypto-shredding in memory).

import { assertBytes } from './encoding.js';

/** Raised by expose() on a secret that was destroyed. */
export class SecretDestroyedError extends Error {
  readonly code = 'secret_destroyed' as const;
  constructor() {
    super('SecretBytes: the secret was destroyed and can no longer be read');
    this.name = 'SecretDestroyedError';
  }
}

export class SecretBytes {
  #bytes: Uint8Array;
  #destroyed = false;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Wraps a copy of `bytes`; the caller's array is not aliased (the caller may zero its own copy). */
  static from(bytes: Uint8Array): SecretBytes {
    assertBytes(bytes, 'bytes');
    return new SecretBytes(bytes.slice());
  }

  /** The raw secret. This is the one greppable read: do not keep the result longer than needed. */
  expose(): Uint8Array {
    if (this.#destroyed) throw new SecretDestroyedError();
    return this.#bytes;
  }

  get length(): number {
    return this.#bytes.length;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Zero-fills the secret; later expose() calls throw SecretDestroyedError. Idempotent. */
  destroy(): void {
    this.#bytes.fill(0);
    this.#destroyed = true;
  }

  toJSON(): never {
    throw new TypeError('SecretBytes cannot be serialised to JSON');
  }

  toString(): string {
    return '[SecretBytes]';
  }

  // util.inspect / console.log in Node (looked up by symbol, so no `node:` import is needed).
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[SecretBytes]';
  }
}

/** Accepts a raw key or a SecretBytes and returns the raw bytes after checking the length. */
export function secretKeyBytes(key: Uint8Array | SecretBytes, name: string, length: number): Uint8Array {
  const raw = key instanceof SecretBytes ? key.expose() : key;
  if (!(raw instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array or SecretBytes`);
  if (raw.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${raw.length}`);
  return raw;
}
