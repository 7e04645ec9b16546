// HPKE envelope seal + open against node:crypto AES-256-GCM over the same bytes: the cost of the envelope.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { generateEncryptionKeyPair, openEnvelope, sealEnvelope, DATA_INFO } from '@tenzro/crypto';

async function timeIt(fn, repeats) {
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

function nodeAesGcm(key, plaintext) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

export async function benchHpke({ quick }) {
  const sizes = quick ? [1 << 20, 16 << 20] : [1 << 20, 100 << 20];
  const { publicKey, privateKey } = await generateEncryptionKeyPair();
  const rows = [];
  for (const size of sizes) {
    const plaintext = randomBytes(size);
    const repeats = size > 32 << 20 ? 3 : 10;
    const envelopeMs = await timeIt(async () => {
      const envelope = await sealEnvelope(publicKey, plaintext, { info: DATA_INFO });
      const opened = await openEnvelope(privateKey, envelope, { info: DATA_INFO });
      if (opened.length !== size) throw new Error('round trip failed');
    }, repeats);
    const key = randomBytes(32);
    const nodeMs = await timeIt(async () => {
      if (nodeAesGcm(key, plaintext).length !== size) throw new Error('round trip failed');
    }, repeats);
    rows.push({
      size: `${size >> 20} MiB`,
      'envelope seal+open (ms)': +envelopeMs.toFixed(1),
      'node AES-256-GCM (ms)': +nodeMs.toFixed(1),
      ratio: +(envelopeMs / nodeMs).toFixed(2),
      'envelope MB/s': +((2 * size) / 1e6 / (envelopeMs / 1000)).toFixed(0),
    });
  }
  return { rows };
}
