import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretBytes, SecretDestroyedError } from './secret.js';

describe('SecretBytes', () => {
  it('copies on construction: the caller can wipe its own array', () => {
    const raw = Uint8Array.from([1, 2, 3]);
    const secret = SecretBytes.from(raw);
    raw.fill(0);
    expect(secret.expose()).toEqual(Uint8Array.from([1, 2, 3]));
    expect(secret.length).toBe(3);
  });

  it('destroy() zero-fills and later reads throw', () => {
    const secret = SecretBytes.from(Uint8Array.from([9, 9, 9]));
    const view = secret.expose();
    secret.destroy();
    expect(view).toEqual(new Uint8Array(3));
    expect(secret.destroyed).toBe(true);
    expect(() => secret.expose()).toThrow(SecretDestroyedError);
    expect(() => secret.expose()).toThrow('SecretBytes: the secret was destroyed and can no longer be read');
    secret.destroy(); // idempotent
  });

  it('cannot be logged or serialised by accident', () => {
    const secret = SecretBytes.from(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
    expect(() => JSON.stringify({ key: secret })).toThrow(new TypeError('SecretBytes cannot be serialised to JSON'));
    expect(String(secret)).toBe('[SecretBytes]');
    expect(`${secret}`).toBe('[SecretBytes]');
    expect(inspect(secret)).toBe('[SecretBytes]');
    expect(inspect({ nested: secret })).not.toMatch(/222|173|de|ad/);
    expect(Object.keys(secret)).toEqual([]);
  });

  it('checks its argument', () => {
    expect(() => SecretBytes.from([1, 2] as unknown as Uint8Array)).toThrow(new TypeError('bytes must be a Uint8Array'));
  });
});
