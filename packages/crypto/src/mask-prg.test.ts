// Mask PRG (ChaCha20 keyed by HKDF), pairwise X25519 seeds, and the pairwise AE.
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { utf8Encode } from './encoding.js';
import {
  PairwiseOpenError,
  agreementPublicKey,
  deterministicRng,
  expandMask,
  openPairwise,
  pairwiseSeed,
  sealPairwise,
} from './mask-prg.js';
import { randomBytes } from './random.js';
import { SecretBytes } from './secret.js';

const ctx = { sessionId: 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa', parties: ['party::a::1', 'party::b::1'] as const, purpose: 'mask' };

describe('expandMask', () => {
  it('is ChaCha20 (RFC 8439) keyed by HKDF-SHA256(seed, salt, info = domain), read little-endian', () => {
    const seed = new Uint8Array(32).fill(3);
    const key = hkdf(sha256, seed, utf8Encode('tenzro.secagg.mask-prg/v1'), utf8Encode('d'), 32);
    const stream = chacha20(key, new Uint8Array(12), new Uint8Array(16));
    const view = new DataView(stream.buffer);
    expect(Array.from(expandMask(seed, 4, 'd'))).toEqual([0, 4, 8, 12].map((o) => view.getUint32(o, true)));
  });

  it('is deterministic, prefix-stable and domain-separated', () => {
    const seed = randomBytes(32);
    expect(expandMask(seed, 100, 'x')).toEqual(expandMask(seed, 100, 'x'));
    expect(expandMask(seed, 10, 'x')).toEqual(expandMask(seed, 100, 'x').subarray(0, 10));
    expect(expandMask(seed, 10, 'x')).not.toEqual(expandMask(seed, 10, 'y'));
  });

  it('refuses bad arguments', () => {
    expect(() => expandMask(new Uint8Array(31), 1, 'x')).toThrow(/seed must be 32 bytes/);
    expect(() => expandMask(new Uint8Array(32), -1, 'x')).toThrow(/length must be an integer/);
    expect(() => expandMask(new Uint8Array(32), 1, '')).toThrow(/domain must not be empty/);
    expect(() => expandMask(new Uint8Array(32), 1, 5 as unknown as string)).toThrow(TypeError);
  });
});

describe('pairwiseSeed', () => {
  it('both sides derive the same seed, bound to session, pair and purpose', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const ab = pairwiseSeed(a, agreementPublicKey(b), ctx);
    const ba = pairwiseSeed(SecretBytes.from(b), x25519.getPublicKey(a), { ...ctx, parties: [ctx.parties[1], ctx.parties[0]] });
    expect(ab).toEqual(ba);
    expect(ab).toHaveLength(32);
    expect(pairwiseSeed(a, agreementPublicKey(b), { ...ctx, purpose: 'other' })).not.toEqual(ab);
    expect(pairwiseSeed(a, agreementPublicKey(b), { ...ctx, sessionId: 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb' })).not.toEqual(ab);
    expect(pairwiseSeed(a, agreementPublicKey(b), { ...ctx, parties: ['party::a::1', 'party::c::1'] })).not.toEqual(ab);
  });

  it('refuses low-order keys, wrong lengths and a party paired with itself', () => {
    const a = randomBytes(32);
    expect(() => pairwiseSeed(a, new Uint8Array(32), ctx)).toThrow(/low-order/);
    expect(() => pairwiseSeed(a, new Uint8Array(31), ctx)).toThrow(/theirPublicKey must be 32 bytes/);
    expect(() => pairwiseSeed(new Uint8Array(31), agreementPublicKey(a), ctx)).toThrow(/myPrivateKey must be 32 bytes/);
    expect(() => pairwiseSeed(a, agreementPublicKey(a), { ...ctx, parties: ['p', 'p'] })).toThrow(/two different parties/);
  });
});

describe('sealPairwise / openPairwise', () => {
  it('round-trips per direction and fails closed on any change', () => {
    const key = randomBytes(32);
    const aad = utf8Encode('aad');
    const opts = { sender: 'a', recipient: 'b', aad };
    const sealed = sealPairwise(key, utf8Encode('hello'), opts);
    expect(openPairwise(key, sealed, opts)).toEqual(utf8Encode('hello'));
    expect(() => openPairwise(key, sealed, { sender: 'b', recipient: 'a', aad })).toThrow(PairwiseOpenError);
    expect(() => openPairwise(key, sealed, { ...opts, aad: utf8Encode('other') })).toThrow(PairwiseOpenError);
    const tampered = sealed.slice();
    tampered[0]! ^= 1;
    expect(() => openPairwise(key, tampered, opts)).toThrow(PairwiseOpenError);
    expect(() => openPairwise(randomBytes(32), sealed, opts)).toThrow(PairwiseOpenError);
    expect(() => openPairwise(key, new Uint8Array(3), opts)).toThrow(PairwiseOpenError);
    expect(() => sealPairwise(key, sealed, { sender: 'a', recipient: 'a', aad })).toThrow(/must differ/);
  });
});

describe('deterministicRng', () => {
  it('repeats for a seed and differs between calls', () => {
    const a = deterministicRng(new Uint8Array(32));
    const b = deterministicRng(new Uint8Array(32));
    const first = a(16);
    expect(first).toEqual(b(16));
    expect(a(16)).not.toEqual(first);
  });
});
