// COSE_Sign1 with ES384 (RFC 9052 §4.2 and §4.4, RFC 9053 §2.1).
import { beforeAll, describe, expect, it } from 'vitest';
import { CborTag, decodeCbor, encodeCbor } from './cbor.js';
import { CoseError, parseCoseSign1, signCoseSign1, verifyCoseSign1 } from './cose.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

let keys: CryptoKeyPair;
let otherKeys: CryptoKeyPair;
const payload = encodeCbor(new Map<string, unknown>([['module_id', 'test'], ['timestamp', 1]]));

beforeAll(async () => {
  const generate = () =>
    globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  keys = await generate();
  otherKeys = await generate();
});

function expectCoseError(run: () => unknown, code: CoseError['code'], message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CoseError);
    expect((error as CoseError).code).toBe(code);
    expect((error as CoseError).message).toMatch(message);
    return;
  }
  throw new Error('expected a CoseError');
}

// Re-serialises a COSE_Sign1 with one part replaced.
function rebuild(message: Uint8Array, index: number, value: unknown): Uint8Array {
  const parts = decodeCbor(message) as unknown[];
  parts[index] = value;
  return encodeCbor(parts);
}

describe('COSE_Sign1 ES384', () => {
  it('signs in the Nitro shape: untagged [h\'a1013822\', {}, payload, r||s]', async () => {
    const message = await signCoseSign1({ payload, privateKey: keys.privateKey });
    expect(toHex(message.subarray(0, 7))).toBe('8444a1013822a0');
    const parts = decodeCbor(message) as unknown[];
    expect(parts).toHaveLength(4);
    expect(parts[2]).toEqual(payload);
    expect((parts[3] as Uint8Array).length).toBe(96);
  });

  it('verifies what it signs, tagged or untagged', async () => {
    const message = await signCoseSign1({ payload, privateKey: keys.privateKey });
    const parsed = parseCoseSign1(message);
    expect(parsed.protectedHeader).toEqual(new Map([[1, -35]]));
    expect(parsed.protectedBytes).toEqual(hex('a1013822'));
    expect(parsed.unprotected).toEqual(new Map());
    expect(parsed.payload).toEqual(payload);
    expect(await verifyCoseSign1(parsed, keys.publicKey)).toBe(true);
    const tagged = encodeCbor(new CborTag(18, decodeCbor(message)));
    expect(toHex(tagged.subarray(0, 1))).toBe('d2');
    expect(await verifyCoseSign1(parseCoseSign1(tagged), keys.publicKey)).toBe(true);
  });

  it('rejects another key, a changed payload, a changed signature and a changed protected header', async () => {
    const message = await signCoseSign1({ payload, privateKey: keys.privateKey });
    const parsed = parseCoseSign1(message);
    expect(await verifyCoseSign1(parsed, otherKeys.publicKey)).toBe(false);
    const payload2 = payload.slice();
    payload2[payload2.length - 1]! ^= 1;
    expect(await verifyCoseSign1({ ...parsed, payload: payload2 }, keys.publicKey)).toBe(false);
    for (const index of [0, 47, 48, 95]) {
      const signature = parsed.signature.slice();
      signature[index]! ^= 0x80;
      expect(await verifyCoseSign1({ ...parsed, signature }, keys.publicKey)).toBe(false);
    }
    expect(await verifyCoseSign1({ ...parsed, signature: parsed.signature.subarray(0, 95) }, keys.publicKey)).toBe(false);
    // Same header map, different serialisation (alg as a 2-byte negative int): the signature covers the bytes.
    const reencoded = parseCoseSign1(rebuild(message, 0, hex('a101390022')));
    expect(reencoded.protectedHeader).toEqual(new Map([[1, -35]]));
    expect(await verifyCoseSign1(reencoded, keys.publicKey)).toBe(false);
  });

  it('rejects algorithms other than ES384 in the protected header', async () => {
    const message = await signCoseSign1({ payload, privateKey: keys.privateKey });
    expectCoseError(() => parseCoseSign1(rebuild(message, 0, encodeCbor(new Map([[1, -7]])))), 'unsupported_algorithm', /alg -7 is not supported/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 0, encodeCbor(new Map([[1, -36]])))), 'unsupported_algorithm', /alg -36/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 0, new Uint8Array(0))), 'unsupported_algorithm', /has no alg/);
    // alg only in the unprotected bucket does not count.
    const unprotectedAlg = encodeCbor([new Uint8Array(0), new Map([[1, -35]]), payload, new Uint8Array(96)]);
    expectCoseError(() => parseCoseSign1(unprotectedAlg), 'unsupported_algorithm', /has no alg/);
  });

  it('rejects malformed messages', async () => {
    const message = await signCoseSign1({ payload, privateKey: keys.privateKey });
    const trailing = new Uint8Array([...message, 0]);
    expectCoseError(() => parseCoseSign1(trailing), 'malformed_cose', /not valid CBOR/);
    expectCoseError(() => parseCoseSign1(encodeCbor(new CborTag(98, decodeCbor(message)))), 'malformed_cose', /tag 98/);
    expectCoseError(() => parseCoseSign1(encodeCbor([1, 2, 3])), 'malformed_cose', /array of 4 items/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 2, null)), 'malformed_cose', /detached/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 2, 'text')), 'malformed_cose', /payload must be a byte string/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 1, [])), 'malformed_cose', /unprotected header must be a map/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 0, new Map())), 'malformed_cose', /protected header must be a byte string/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 0, hex('80'))), 'malformed_cose', /must encode a map/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 3, 5)), 'malformed_cose', /signature must be a byte string/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 0, encodeCbor(new Map<number, unknown>([[1, -35], [2, [99]]])))), 'malformed_cose', /crit/);
    expectCoseError(() => parseCoseSign1(rebuild(message, 1, new Map([[1, -35]]))), 'malformed_cose', /both buckets/);
  });

  it('checks its arguments', async () => {
    await expect(signCoseSign1({ payload: 'x' as unknown as Uint8Array, privateKey: keys.privateKey })).rejects.toThrow(
      new TypeError('signCoseSign1: payload must be a Uint8Array'),
    );
    await expect(signCoseSign1({ payload, privateKey: keys.publicKey })).rejects.toThrow(
      new TypeError('signCoseSign1: privateKey must be a private key (got a public key)'),
    );
    const p256 = (await globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    await expect(signCoseSign1({ payload, privateKey: p256.privateKey })).rejects.toThrow(
      new TypeError('signCoseSign1: privateKey must be an ECDSA P-384 key (got ECDSA P-256)'),
    );
    const parsed = parseCoseSign1(await signCoseSign1({ payload, privateKey: keys.privateKey }));
    await expect(verifyCoseSign1(parsed, p256.publicKey)).rejects.toThrow(/verifyCoseSign1: publicKey must be an ECDSA P-384 key/);
    await expect(verifyCoseSign1(parsed, new Uint8Array(97) as unknown as CryptoKey)).rejects.toThrow(
      new TypeError('verifyCoseSign1: publicKey must be a CryptoKey'),
    );
    expect(() => parseCoseSign1([] as unknown as Uint8Array)).toThrow(new TypeError('parseCoseSign1: bytes must be a Uint8Array'));
  });
});
