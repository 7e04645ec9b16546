// The simulated Nitro provider (DESIGN §5.8): its documents go through the same verifier as real Nitro
// documents, say they are simulated, and are trusted only under its own root.
import { hkdfSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCbor, encodeCbor, parseCoseSign1, toHex } from '@tenzro/crypto';
import { AttestationError, parseAttestationDocument, verifyAttestation } from '@tenzro/protocol';
import type { AttestationErrorCode, VerifyAttestationOptions } from '@tenzro/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIMULATED_CA_FILE, SimulatedNsm, SimulatedNsmError } from './simulated-nsm.js';

const measurement = 'ab'.repeat(48);
const otherMeasurement = 'cd'.repeat(48);
let stateDir: string;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tenzro-nsm-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

async function expectRejected(document: Uint8Array, options: VerifyAttestationOptions, code: AttestationErrorCode): Promise<void> {
  const error = await verifyAttestation(document, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(AttestationError);
  expect((error as AttestationError).code).toBe(code);
}

describe('SimulatedNsm', () => {
  it('issues documents that verify under its root, bound to key, user data and nonce', async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const publicKey = new Uint8Array(32).fill(1);
    const userData = new Uint8Array([1, 2, 3]);
    const nonce = new Uint8Array(16).fill(9);
    const before = Date.now();
    const document = await nsm.issue({ publicKey, userData, nonce });
    const verified = await verifyAttestation(document, {
      roots: [nsm.rootPem],
      expectedMeasurements: [measurement],
      expectedPublicKey: publicKey,
      expectedUserData: userData,
      expectedNonce: nonce,
      maxAgeMs: 60_000,
    });
    expect(verified.provider).toBe('simulated');
    expect(verified.moduleId).toBe(nsm.moduleId);
    expect(verified.moduleId).toMatch(/^tenzro-simulated-enclave-[0-9a-f]{16}$/);
    expect(verified.measurement).toBe(measurement);
    expect(verified.timestamp).toBeGreaterThanOrEqual(before);
    expect(verified.publicKey).toEqual(publicKey);
    expect(verified.userData).toEqual(userData);
    expect(verified.nonce).toEqual(nonce);
    expect(nsm.provider).toBe('simulated');
    expect(nsm.measurement).toBe(measurement);
    expect(nsm.rootPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('writes the Nitro shape: untagged COSE_Sign1 ES384, 16 PCRs, one-certificate cabundle, nulls for absent fields', async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const document = await nsm.issue({});
    expect(toHex(document.subarray(0, 7))).toBe('8444a1013822a0');
    const parsed = parseAttestationDocument(document);
    expect(parsed.digest).toBe('SHA384');
    expect([...parsed.pcrs.keys()]).toEqual([...Array(16).keys()]);
    expect(toHex(parsed.pcrs.get(0)!)).toBe(measurement);
    expect(parsed.pcrs.get(1)).toEqual(new Uint8Array(48));
    expect(parsed.pcrs.get(2)).toEqual(new Uint8Array(48));
    expect(parsed.cabundle).toHaveLength(1);
    expect(parsed.publicKey).toBeNull();
    expect(parsed.userData).toBeNull();
    expect(parsed.nonce).toBeNull();
    const payload = decodeCbor(parseCoseSign1(document).payload) as Map<string, unknown>;
    expect(payload.get('nonce')).toBeNull();
    // Each document has its own short-lived leaf.
    const again = parseAttestationDocument(await nsm.issue({}));
    expect(again.certificate).not.toEqual(parsed.certificate);
    expect(again.cabundle[0]).toEqual(parsed.cabundle[0]);
  });

  it('is rejected for a measurement outside the expected set', async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    await expectRejected(await nsm.issue({}), { roots: [nsm.rootPem], expectedMeasurements: [otherMeasurement] }, 'measurement_mismatch');
  });

  it('reloads the same root, module id and sealing keys from disk (file mode 0600)', async () => {
    const first = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const second = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    expect(second.rootPem).toBe(first.rootPem);
    expect(second.moduleId).toBe(first.moduleId);
    expect(await second.deriveSealingKey('tenzro/test')).toEqual(await first.deriveSealingKey('tenzro/test'));
    await verifyAttestation(await second.issue({}), { roots: [first.rootPem] });
    const mode = (await stat(join(stateDir, SIMULATED_CA_FILE))).mode & 0o777;
    expect(mode).toBe(0o600);
    const state = JSON.parse(await readFile(join(stateDir, SIMULATED_CA_FILE), 'utf8')) as Record<string, string>;
    expect(state.type).toBe('tenzro.simulated-nsm-state/v1');
    expect(state.rootCertificatePem).toBe(first.rootPem);
  });

  it('creates one CA when started twice at once', async () => {
    const [a, b] = await Promise.all([
      SimulatedNsm.loadOrCreate({ stateDir, measurement }),
      SimulatedNsm.loadOrCreate({ stateDir, measurement }),
    ]);
    expect(a.rootPem).toBe(b.rootPem);
  });

  it("rejects another CA's documents as untrusted_root", async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const otherDir = await mkdtemp(join(tmpdir(), 'tenzro-nsm-other-'));
    try {
      const other = await SimulatedNsm.loadOrCreate({ stateDir: otherDir, measurement });
      expect(other.rootPem).not.toBe(nsm.rootPem);
      await expectRejected(await other.issue({}), { roots: [nsm.rootPem] }, 'untrusted_root');
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('is rejected when the payload is tampered with', async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const document = await nsm.issue({ userData: new Uint8Array(32) });
    const parts = decodeCbor(document) as unknown[];
    const payload = decodeCbor(parts[2] as Uint8Array) as Map<string, unknown>;
    payload.set('user_data', new Uint8Array(32).fill(1));
    parts[2] = encodeCbor(payload);
    await expectRejected(encodeCbor(parts), { roots: [nsm.rootPem] }, 'signature_invalid');
    // A flipped byte inside the user data, in place.
    const raw = document.slice();
    const label = Buffer.from(raw).indexOf(Buffer.from('757365725f646174615820', 'hex')); // "user_data", bstr(32)
    expect(label).toBeGreaterThan(0);
    raw[label + 11]! ^= 1;
    await expectRejected(raw, { roots: [nsm.rootPem] }, 'signature_invalid');
  });

  it('derives sealing keys bound to the measurement and to the info string', async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const changed = await SimulatedNsm.loadOrCreate({ stateDir, measurement: otherMeasurement });
    const key = await nsm.deriveSealingKey('tenzro/mpi/v1/session-key-sealing');
    expect(key).toHaveLength(32);
    expect(await changed.deriveSealingKey('tenzro/mpi/v1/session-key-sealing')).not.toEqual(key);
    expect(await nsm.deriveSealingKey('tenzro/other')).not.toEqual(key);
    expect(changed.rootPem).toBe(nsm.rootPem);
  });

  it('derives HKDF-SHA256(ikm = root secret, salt = measurement bytes, info)', async () => {
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const state = JSON.parse(await readFile(join(stateDir, SIMULATED_CA_FILE), 'utf8')) as { rootSecret: string };
    const expected = hkdfSync('sha256', Buffer.from(state.rootSecret, 'base64url'), Buffer.from(measurement, 'hex'), Buffer.from('info-x'), 32);
    expect(await nsm.deriveSealingKey('info-x')).toEqual(new Uint8Array(expected));
  });

  it('refuses a corrupt or mismatched state file', async () => {
    await writeFile(join(stateDir, SIMULATED_CA_FILE), '{"type":"something else"}', { mode: 0o600 });
    await expect(SimulatedNsm.loadOrCreate({ stateDir, measurement })).rejects.toBeInstanceOf(SimulatedNsmError);
    await rm(join(stateDir, SIMULATED_CA_FILE));
    await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    const otherDir = await mkdtemp(join(tmpdir(), 'tenzro-nsm-other-'));
    try {
      await SimulatedNsm.loadOrCreate({ stateDir: otherDir, measurement });
      const mine = JSON.parse(await readFile(join(stateDir, SIMULATED_CA_FILE), 'utf8')) as Record<string, string>;
      const theirs = JSON.parse(await readFile(join(otherDir, SIMULATED_CA_FILE), 'utf8')) as Record<string, string>;
      await writeFile(join(stateDir, SIMULATED_CA_FILE), JSON.stringify({ ...mine, rootPrivateKeyPkcs8: theirs.rootPrivateKeyPkcs8 }));
      await expect(SimulatedNsm.loadOrCreate({ stateDir, measurement })).rejects.toThrow(/does not match the root certificate/);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('checks its arguments', async () => {
    await expect(SimulatedNsm.loadOrCreate({ stateDir, measurement: 'AB'.repeat(48) })).rejects.toThrow(
      new RangeError('SimulatedNsm.loadOrCreate: measurement must be 96 lowercase hex characters (a 48-byte SHA-384 digest)'),
    );
    await expect(SimulatedNsm.loadOrCreate({ stateDir, measurement: 'ab'.repeat(32) })).rejects.toThrow(RangeError);
    await expect(SimulatedNsm.loadOrCreate({ stateDir: '', measurement })).rejects.toThrow(TypeError);
    const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
    await expect(nsm.issue({ userData: new Uint8Array(1025) })).rejects.toThrow(
      new RangeError('SimulatedNsm.issue: request.userData must be 0 to 1024 bytes, got 1025'),
    );
    await expect(nsm.issue({ publicKey: new Uint8Array(0) })).rejects.toThrow(/request.publicKey must be 1 to 1024 bytes/);
    await expect(nsm.issue({ nonce: 'n' as unknown as Uint8Array })).rejects.toThrow(new TypeError('SimulatedNsm.issue: request.nonce must be a Uint8Array'));
    await expect(nsm.deriveSealingKey('')).rejects.toThrow(/info must be a non-empty string/);
  });
});
