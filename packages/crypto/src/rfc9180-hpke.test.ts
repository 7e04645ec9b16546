// RFC 9180 test vectors (vectors/hpke) replayed through @hpke/core with this project's suite, and
// through hpke.ts / the internal sender setup for the suite the project uses (aead_id 2, base mode).
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, ExportOnly, HkdfSha256 } from '@hpke/core';
import type { AeadInterface, RecipientContextParams, SenderContextParams } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { fromHex, toHex, utf8Decode } from './encoding.js';
import { HPKE_SUITE, OpenError, encryptionPublicKeyFromPrivate, hpkeOpen } from './hpke.js';
import { SUITE_IDS, hpkeSuite, setupBaseSender } from './internal/hpke-suite.js';
import { SecretBytes } from './secret.js';

interface Encryption {
  sequence_number?: number;
  aad: string;
  ct: string;
  nonce: string;
  pt: string;
}
interface Vector {
  mode: string | number;
  kem_id: string | number;
  kdf_id: string | number;
  aead_id: string | number;
  info: string;
  ikmR: string;
  ikmS?: string;
  ikmE: string;
  skRm: string;
  pkRm: string;
  skSm?: string;
  pkSm?: string;
  enc: string;
  psk?: string;
  psk_id?: string;
  encryptions: Encryption[];
  exports: Array<{ exporter_context: string; L: number; exported_value: string }>;
}

const AEADS: Record<number, () => AeadInterface> = { 1: () => new Aes128Gcm(), 2: () => new Aes256Gcm(), 65535: () => new ExportOnly() };
const MODE_NAMES = ['base', 'psk', 'auth', 'auth_psk'];
const buf = (hex: string) => fromHex(hex);

function suiteFor(aeadId: number): CipherSuite {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: AEADS[aeadId]!() });
}

/** Replays one vector: key derivation, enc, every ciphertext at its sequence number, every export, both sides. */
async function replay(vector: Vector): Promise<void> {
  const mode = Number(vector.mode);
  const suite = suiteFor(Number(vector.aead_id));
  const recipient = await suite.kem.deriveKeyPair(buf(vector.ikmR));
  expect(toHex(new Uint8Array(await suite.kem.serializePublicKey(recipient.publicKey)))).toBe(vector.pkRm);
  expect(toHex(new Uint8Array(await suite.kem.serializePrivateKey(recipient.privateKey)))).toBe(vector.skRm);
  const info = buf(vector.info);
  const psk = mode === 1 || mode === 3 ? { psk: { key: buf(vector.psk!), id: buf(vector.psk_id!) } } : {};
  const senderKey = mode >= 2 ? await suite.kem.deriveKeyPair(buf(vector.ikmS!)) : undefined;
  const senderParams: SenderContextParams = {
    recipientPublicKey: recipient.publicKey,
    info,
    ekm: buf(vector.ikmE),
    ...psk,
    ...(senderKey ? { senderKey } : {}),
  };
  const sender = await suite.createSenderContext(senderParams);
  expect(toHex(new Uint8Array(sender.enc))).toBe(vector.enc);
  const recipientParams: RecipientContextParams = {
    recipientKey: recipient,
    enc: sender.enc,
    info,
    ...psk,
    ...(senderKey ? { senderPublicKey: senderKey.publicKey } : {}),
  };
  const receiver = await suite.createRecipientContext(recipientParams);

  // Encryption i uses sequence number i unless the file says otherwise (Appendix A lists 0,1,2,4,255,256).
  const bySequence = new Map(vector.encryptions.map((e, i) => [e.sequence_number ?? i, e]));
  const last = Math.max(-1, ...bySequence.keys());
  for (let seq = 0; seq <= last; seq++) {
    const e = bySequence.get(seq);
    const pt = e ? buf(e.pt) : new Uint8Array([seq & 0xff]);
    const aad = e ? buf(e.aad) : new Uint8Array(0);
    const ct = new Uint8Array(await sender.seal(pt, aad));
    if (e) expect(toHex(ct), `ct at sequence ${seq}`).toBe(e.ct);
    expect(new Uint8Array(await receiver.open(ct, aad)), `pt at sequence ${seq}`).toEqual(pt);
  }
  for (const x of vector.exports) {
    const context = buf(x.exporter_context);
    expect(toHex(new Uint8Array(await sender.export(context, x.L)))).toBe(x.exported_value);
    expect(toHex(new Uint8Array(await receiver.export(context, x.L)))).toBe(x.exported_value);
  }
}

const full = readVectorJson<Vector[]>('hpke/rfc9180_test-vectors_x25519_sha256.json');
const appendix = readVectorJson<Vector[]>('hpke/rfc9180_appendixA_x25519.json');
// aead_id 3 (ChaCha20-Poly1305) is not part of @hpke/core nor of this project's suite: not replayed.
const supported = (v: Vector) => Number(v.aead_id) in AEADS;
const label = (v: Vector) => `mode ${v.mode} (${MODE_NAMES[Number(v.mode)]}), aead_id ${v.aead_id}`;

describe('RFC 9180 test vectors (X25519, HKDF-SHA256)', () => {
  it('the file holds the 16 suites and we replay the 12 with aead 1, 2 and export-only', () => {
    expect(full).toHaveLength(16);
    expect(full.filter(supported)).toHaveLength(12);
    expect(full.every((v) => Number(v.kem_id) === 32 && Number(v.kdf_id) === 1)).toBe(true);
  });

  for (const vector of full.filter(supported)) {
    it(`${label(vector)}: enc, ${vector.encryptions.length} ciphertexts, ${vector.exports.length} exports`, async () => {
      await replay(vector);
    });
  }
});

describe('RFC 9180 Appendix A (X25519 suites)', () => {
  for (const vector of appendix.filter(supported)) {
    it(`${label(vector)}: the printed sequence numbers`, async () => {
      await replay(vector);
    });
  }
});

describe("this project's suite against the vectors (aead_id 2, base mode)", () => {
  const vector = full.find((v) => Number(v.mode) === 0 && Number(v.aead_id) === 2)!;
  const info = buf(vector.info);

  it('suite ids and name', () => {
    expect(SUITE_IDS).toEqual({ kem: 0x20, kdf: 1, aead: 2 });
    expect(HPKE_SUITE).toBe('DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM');
    expect(hpkeSuite().aead.id).toBe(2);
  });

  it('the internal sender setup reproduces enc, every ciphertext and every export', async () => {
    const sender = await setupBaseSender(buf(vector.pkRm), info, buf(vector.ikmE));
    expect(toHex(new Uint8Array(sender.enc))).toBe(vector.enc);
    for (const e of vector.encryptions) expect(toHex(new Uint8Array(await sender.seal(buf(e.pt), buf(e.aad))))).toBe(e.ct);
    for (const x of vector.exports) {
      expect(toHex(new Uint8Array(await sender.export(buf(x.exporter_context), x.L)))).toBe(x.exported_value);
    }
  });

  it('encryptionPublicKeyFromPrivate(skRm) = pkRm', async () => {
    expect(toHex(await encryptionPublicKeyFromPrivate(buf(vector.skRm)))).toBe(vector.pkRm);
  });

  it('hpkeOpen opens the sequence-0 ciphertext, with a raw or a SecretBytes key', async () => {
    const e = vector.encryptions[0]!;
    const sealed = { enc: buf(vector.enc), ciphertext: buf(e.ct) };
    const options = { info: utf8Decode(info), aad: buf(e.aad) };
    expect(toHex(await hpkeOpen(buf(vector.skRm), sealed, options))).toBe(e.pt);
    expect(toHex(await hpkeOpen(SecretBytes.from(buf(vector.skRm)), sealed, options))).toBe(e.pt);
    // The sequence-1 ciphertext is not a single-shot ciphertext: it must not open at sequence 0.
    await expect(hpkeOpen(buf(vector.skRm), { ...sealed, ciphertext: buf(vector.encryptions[1]!.ct) }, options)).rejects.toThrow(OpenError);
  });
});
