// Commitments of DESIGN §5.4, recomputed independently with node:crypto.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { COMMITMENT_PATTERN, hashCommitment, isCommitment, saltedCommitment } from './commitment.js';
import { toBase64Url } from './encoding.js';

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('hashCommitment', () => {
  it('is "sha256:" + hex(SHA-256(JCS(data)))', async () => {
    const data = { rows: [{ amount: 12.5, id: 'a' }], b: true, a: '€' };
    const jcs = '{"a":"€","b":true,"rows":[{"amount":12.5,"id":"a"}]}';
    expect(await hashCommitment(data)).toBe(`sha256:${sha256Hex(jcs)}`);
  });

  it('does not depend on key order', async () => {
    expect(await hashCommitment({ a: 1, b: 2 })).toBe(await hashCommitment({ b: 2, a: 1 }));
  });

  it('pins a known value', async () => {
    // SHA-256 of the 2 bytes "{}".
    expect(await hashCommitment({})).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });

  it('rejects what JCS rejects', async () => {
    await expect(hashCommitment({ when: new Date() })).rejects.toThrow(TypeError);
  });
});

describe('saltedCommitment', () => {
  const salt = Uint8Array.from({ length: 32 }, (_, i) => i);

  it('hashes JCS({ type, salt, data })', async () => {
    const expected = `{"data":{"x":1},"salt":"${toBase64Url(salt)}","type":"tenzro.commitment/v1"}`;
    expect(await saltedCommitment(salt, { x: 1 })).toBe(`sha256:${sha256Hex(expected)}`);
  });

  it('differs from the plain commitment and between salts', async () => {
    const other = salt.slice();
    other[0] = 0xff;
    const a = await saltedCommitment(salt, 'data');
    expect(a).not.toBe(await hashCommitment('data'));
    expect(a).not.toBe(await saltedCommitment(other, 'data'));
  });

  it('checks the salt', async () => {
    await expect(saltedCommitment(new Uint8Array(16), 1)).rejects.toThrow(new RangeError('salt must be 32 bytes, got 16'));
    await expect(saltedCommitment('salt' as unknown as Uint8Array, 1)).rejects.toThrow(new TypeError('salt must be a Uint8Array'));
  });
});

describe('isCommitment', () => {
  it('accepts exactly "sha256:" + 64 lowercase hex digits', async () => {
    expect(isCommitment(await hashCommitment(1))).toBe(true);
    expect(isCommitment(`sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isCommitment(`sha256:${'a'.repeat(63)}`)).toBe(false);
    expect(isCommitment(`sha256:${'a'.repeat(65)}`)).toBe(false);
    expect(isCommitment(`sha384:${'a'.repeat(64)}`)).toBe(false);
    expect(isCommitment(` sha256:${'a'.repeat(64)}`)).toBe(false);
    expect(isCommitment(42)).toBe(false);
    expect(COMMITMENT_PATTERN.source).toBe('^sha256:[0-9a-f]{64}$');
  });
});
