// The single-shot HPKE API: round trips, key handling, argument errors, and the no-oracle OpenError.
import { describe, expect, it, vi } from 'vitest';
import { utf8Decode, utf8Encode } from './encoding.js';
import {
  OpenError,
  SealError,
  encryptionPublicKeyFromPrivate,
  generateEncryptionKeyPair,
  hpkeOpen,
  hpkeSeal,
  isValidEncryptionPublicKey,
} from './hpke.js';
import { SecretBytes } from './secret.js';

const info = 'tenzro/mpi/v1/test';

async function expectOpenError(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OpenError);
  expect((error as OpenError).code).toBe('decryption_failed');
  expect((error as OpenError).message).toBe('decryption failed');
}

describe('key pairs', () => {
  it('generates X25519 pairs whose public key matches the private key', async () => {
    const pair = await generateEncryptionKeyPair();
    expect(pair.privateKey).toBeInstanceOf(SecretBytes);
    expect(pair.privateKey.length).toBe(32);
    expect(await encryptionPublicKeyFromPrivate(pair.privateKey)).toEqual(pair.publicKey);
    expect(isValidEncryptionPublicKey(pair.publicKey)).toBe(true);
    expect((await generateEncryptionKeyPair()).publicKey).not.toEqual(pair.publicKey);
  });

  it('RFC 7748 §6.1 example: Alice\'s public key', async () => {
    const alice = Uint8Array.from(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'));
    expect(Buffer.from(await encryptionPublicKeyFromPrivate(alice)).toString('hex')).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
  });

  it('checks private keys', async () => {
    await expect(encryptionPublicKeyFromPrivate(new Uint8Array(31))).rejects.toThrow(new RangeError('privateKey must be 32 bytes, got 31'));
  });
});

describe('hpkeSeal / hpkeOpen', () => {
  it('round-trips, with and without aad, with raw and SecretBytes keys', async () => {
    const { publicKey, privateKey } = await generateEncryptionKeyPair();
    const plaintext = utf8Encode('the quick brown fox');
    const sealed = await hpkeSeal(publicKey, plaintext, { info });
    expect(sealed.enc).toHaveLength(32);
    expect(sealed.ciphertext).toHaveLength(plaintext.length + 16);
    expect(utf8Decode(await hpkeOpen(privateKey, sealed, { info }))).toBe('the quick brown fox');
    expect(await hpkeOpen(privateKey.expose(), sealed, { info })).toEqual(plaintext);

    const aad = utf8Encode('header');
    const withAad = await hpkeSeal(publicKey, new Uint8Array(0), { info, aad });
    expect(await hpkeOpen(privateKey, withAad, { info, aad })).toEqual(new Uint8Array(0));
  });

  it('uses a fresh ephemeral key each time', async () => {
    const { publicKey } = await generateEncryptionKeyPair();
    const a = await hpkeSeal(publicKey, new Uint8Array(8), { info });
    const b = await hpkeSeal(publicKey, new Uint8Array(8), { info });
    expect(a.enc).not.toEqual(b.enc);
    expect(a.ciphertext).not.toEqual(b.ciphertext);
  });

  it('every failure to open is the same OpenError', async () => {
    const { publicKey, privateKey } = await generateEncryptionKeyPair();
    const other = await generateEncryptionKeyPair();
    const aad = utf8Encode('aad');
    const sealed = await hpkeSeal(publicKey, utf8Encode('secret'), { info, aad });
    const flipped = (bytes: Uint8Array, index: number) => {
      const copy = bytes.slice();
      copy[index]! ^= 1;
      return copy;
    };
    await expectOpenError(hpkeOpen(other.privateKey, sealed, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, sealed, { info: 'tenzro/mpi/v1/other', aad }));
    await expectOpenError(hpkeOpen(privateKey, sealed, { info }));
    await expectOpenError(hpkeOpen(privateKey, sealed, { info, aad: utf8Encode('aae') }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, enc: flipped(sealed.enc, 0) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, enc: flipped(sealed.enc, 31) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, ciphertext: flipped(sealed.ciphertext, 0) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, ciphertext: flipped(sealed.ciphertext, sealed.ciphertext.length - 1) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 15) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, ciphertext: new Uint8Array(0) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, enc: sealed.enc.subarray(1) }, { info, aad }));
    await expectOpenError(hpkeOpen(privateKey, { ...sealed, enc: new Uint8Array(32) }, { info, aad })); // low order
  });

  it('checks arguments with TypeError / RangeError naming them', async () => {
    const { publicKey, privateKey } = await generateEncryptionKeyPair();
    await expect(hpkeSeal(new Uint8Array(31), new Uint8Array(0), { info })).rejects.toThrow(
      new RangeError('recipientPublicKey must be 32 bytes, got 31'),
    );
    await expect(hpkeSeal('pk' as unknown as Uint8Array, new Uint8Array(0), { info })).rejects.toThrow(
      new TypeError('recipientPublicKey must be a Uint8Array'),
    );
    await expect(hpkeSeal(publicKey, 'text' as unknown as Uint8Array, { info })).rejects.toThrow(new TypeError('plaintext must be a Uint8Array'));
    await expect(hpkeSeal(publicKey, new Uint8Array(0), {} as { info: string })).rejects.toThrow(new TypeError('options.info must be a string'));
    await expect(hpkeSeal(publicKey, new Uint8Array(0), undefined as unknown as { info: string })).rejects.toThrow(TypeError);
    await expect(hpkeSeal(publicKey, new Uint8Array(0), { info, aad: 'x' as unknown as Uint8Array })).rejects.toThrow(
      new TypeError('options.aad must be a Uint8Array'),
    );
    await expect(hpkeOpen(new Uint8Array(16), { enc: new Uint8Array(32), ciphertext: new Uint8Array(16) }, { info })).rejects.toThrow(
      new RangeError('recipientPrivateKey must be 32 bytes, got 16'),
    );
    await expect(hpkeOpen(privateKey, { enc: new Uint8Array(32) } as { enc: Uint8Array; ciphertext: Uint8Array }, { info })).rejects.toThrow(
      new TypeError('sealed.ciphertext must be a Uint8Array'),
    );
  });

  it('a seal failure after the checks is a SealError with a cause', async () => {
    const { publicKey } = await generateEncryptionKeyPair();
    const boom = new Error('WebCrypto unavailable');
    const spy = vi.spyOn(globalThis.crypto.subtle, 'importKey').mockRejectedValueOnce(boom);
    try {
      const error = await hpkeSeal(publicKey, new Uint8Array(1), { info }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SealError);
      expect((error as SealError).code).toBe('seal_failed');
      expect((error as SealError).message).toBe('encryption failed');
      expect((error as SealError).cause).toBeDefined();
    } finally {
      spy.mockRestore();
    }
  });
});
