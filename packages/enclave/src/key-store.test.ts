// Session key sealing and crypto-shredding, through the internal module with real SimulatedNsm instances.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptionPublicKeyFromPrivate, fromBase64Url, toBase64Url, equalBytes } from '@tenzro/crypto';
import { sessionKeyUserData, verifyAttestation } from '@tenzro/protocol';
import { tempDir } from '../test/enclave-process.js';
import { SimulatedNsm } from './attestation/simulated-nsm.js';
import { KeyStore, KeyStoreError } from './key-store.js';

const MEASUREMENT_A = 'a'.repeat(96);
const MEASUREMENT_B = 'b'.repeat(96);
const SESSION_1 = 'mps_' + 'a'.repeat(26);
const SESSION_2 = 'mps_' + 'b'.repeat(26);

async function open(stateDir: string, measurement = MEASUREMENT_A) {
  const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
  return { nsm, keys: await KeyStore.open({ nsm, stateDir }) };
}

async function expectRefusal(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyStoreError);
  expect((error as KeyStoreError).code).toBe(code);
}

describe('KeyStore', () => {
  it('attests the session public key bound to the session id, and seals the private key', async () => {
    const { nsm, keys } = await open(await tempDir('tenzro-keys-'));
    const created = await keys.createSessionKey(SESSION_1);
    const verified = await verifyAttestation(created.attestation, {
      roots: [nsm.rootPem],
      expectedMeasurements: [MEASUREMENT_A],
      expectedPublicKey: created.publicKey,
      expectedUserData: sessionKeyUserData(SESSION_1),
    });
    expect(verified.provider).toBe('simulated');
    const sealed = fromBase64Url(created.sealedKey);
    expect(sealed.length).toBe(1 + 12 + 32 + 16);
    expect(sealed[0]).toBe(1);
  });

  it('unseals after a restart with the same state and measurement', async () => {
    const stateDir = await tempDir('tenzro-keys-');
    const created = await (await open(stateDir)).keys.createSessionKey(SESSION_1);
    const { keys } = await open(stateDir);
    const privateKey = await keys.unsealSessionKey(SESSION_1, created.sealedKey);
    expect(equalBytes(await encryptionPublicKeyFromPrivate(privateKey), created.publicKey)).toBe(true);
  });

  it('an enclave with another measurement cannot unseal', async () => {
    const stateDir = await tempDir('tenzro-keys-');
    const created = await (await open(stateDir, MEASUREMENT_A)).keys.createSessionKey(SESSION_1);
    const { keys } = await open(stateDir, MEASUREMENT_B);
    await expectRefusal(keys.unsealSessionKey(SESSION_1, created.sealedKey), 'unseal_failed');
  });

  it('an enclave with another root secret cannot unseal', async () => {
    const created = await (await open(await tempDir('tenzro-keys-'))).keys.createSessionKey(SESSION_1);
    const { keys } = await open(await tempDir('tenzro-keys-'));
    await expectRefusal(keys.unsealSessionKey(SESSION_1, created.sealedKey), 'unseal_failed');
  });

  it('a sealed key is bound to its session, and any tampering is refused alike', async () => {
    const stateDir = await tempDir('tenzro-keys-');
    const created = await (await open(stateDir)).keys.createSessionKey(SESSION_1);
    const { keys } = await open(stateDir); // a fresh process: nothing cached
    await expectRefusal(keys.unsealSessionKey(SESSION_2, created.sealedKey), 'unseal_failed');
    const bytes = fromBase64Url(created.sealedKey);
    for (const index of [0, 5, 20, bytes.length - 1]) {
      const tampered = bytes.slice();
      tampered[index]! ^= 1;
      await expectRefusal(keys.unsealSessionKey(SESSION_1, toBase64Url(tampered)), 'unseal_failed');
    }
    await expectRefusal(keys.unsealSessionKey(SESSION_1, created.sealedKey.slice(0, 20)), 'unseal_failed');
    await expectRefusal(keys.unsealSessionKey(SESSION_1, '!!'), 'unseal_failed');
  });

  it('destroy writes a durable tombstone; no later process unseals the key, not even from a backup', async () => {
    const stateDir = await tempDir('tenzro-keys-');
    const first = await open(stateDir);
    const created = await first.keys.createSessionKey(SESSION_1);
    const backup = created.sealedKey;
    const cached = await first.keys.unsealSessionKey(SESSION_1, created.sealedKey);
    const { destroyedAt } = await first.keys.destroySessionKey(SESSION_1);
    expect(cached.destroyed).toBe(true);
    await expectRefusal(first.keys.unsealSessionKey(SESSION_1, backup), 'key_destroyed');
    expect(await first.keys.destroySessionKey(SESSION_1)).toEqual({ destroyedAt });
    await expectRefusal(first.keys.createSessionKey(SESSION_1), 'key_destroyed');

    const tombstones = await readFile(join(stateDir, 'tombstones.jsonl'), 'utf8');
    expect(tombstones).toContain(SESSION_1);
    expect(tombstones).not.toContain(backup);

    const second = await open(stateDir);
    await expectRefusal(second.keys.unsealSessionKey(SESSION_1, backup), 'key_destroyed');
    expect(second.keys.destroyedAt(SESSION_1)).toBe(destroyedAt);
  });

  it('checks its arguments', async () => {
    const { keys } = await open(await tempDir('tenzro-keys-'));
    await expect(keys.createSessionKey('nope')).rejects.toThrow(TypeError);
    await expect(keys.unsealSessionKey(SESSION_1, 42 as unknown as string)).rejects.toThrow(/sealedKey/);
    await expect(KeyStore.open({ nsm: {} as never, stateDir: '/tmp' })).rejects.toThrow(/nsm/);
  });
});

// Enclave workers of one deployment share the state directory: any worker of the same measurement serves
// any session, and a key one worker destroyed is dead in all of them, without a restart.
describe('KeyStore on a state directory shared by two workers', () => {
  it('a key sealed by one store unseals and attests in the other', async () => {
    const stateDir = await tempDir('tenzro-keys-shared-');
    const [a, b] = await Promise.all([open(stateDir), open(stateDir)]);
    expect(a.nsm.rootPem).toBe(b.nsm.rootPem);
    const created = await a.keys.createSessionKey(SESSION_1);
    const privateKey = await b.keys.unsealSessionKey(SESSION_1, created.sealedKey);
    expect(equalBytes(await encryptionPublicKeyFromPrivate(privateKey), created.publicKey)).toBe(true);
    const attested = await b.keys.attestSessionKey(SESSION_1, created.sealedKey);
    expect(equalBytes(attested.publicKey, created.publicKey)).toBe(true);
    await verifyAttestation(attested.attestation, {
      roots: [a.nsm.rootPem],
      expectedMeasurements: [MEASUREMENT_A],
      expectedPublicKey: created.publicKey,
      expectedUserData: sessionKeyUserData(SESSION_1),
    });
  });

  it('a key destroyed in one store is refused by the other, which zeroes its cached copy', async () => {
    const stateDir = await tempDir('tenzro-keys-shared-');
    const a = await open(stateDir);
    const b = await open(stateDir);
    const created = await a.keys.createSessionKey(SESSION_1);
    const other = await a.keys.createSessionKey(SESSION_2);
    const cachedInB = await b.keys.unsealSessionKey(SESSION_1, created.sealedKey);
    await b.keys.attestSessionKey(SESSION_1, created.sealedKey);

    const { destroyedAt } = await a.keys.destroySessionKey(SESSION_1);
    await expectRefusal(b.keys.unsealSessionKey(SESSION_1, created.sealedKey), 'key_destroyed');
    expect(cachedInB.destroyed).toBe(true);
    await expectRefusal(b.keys.attestSessionKey(SESSION_1, created.sealedKey), 'key_destroyed');
    await expectRefusal(b.keys.createSessionKey(SESSION_1), 'key_destroyed');
    expect(b.keys.destroyedAt(SESSION_1)).toBe(destroyedAt);
    // destroying again in the other store keeps the first time, and writes no second tombstone
    expect(await b.keys.destroySessionKey(SESSION_1)).toEqual({ destroyedAt });
    const lines = (await readFile(join(stateDir, 'tombstones.jsonl'), 'utf8')).split('\n').filter((l) => l.includes(SESSION_1));
    expect(lines).toHaveLength(1);
    // the other session is untouched
    await b.keys.unsealSessionKey(SESSION_2, other.sealedKey);
  });

  it('purgeDestroyed zeroes the copy another store destroyed without waiting for a request about it', async () => {
    const stateDir = await tempDir('tenzro-keys-shared-');
    const a = await open(stateDir);
    const b = await open(stateDir);
    const created = await a.keys.createSessionKey(SESSION_1);
    const kept = await a.keys.createSessionKey(SESSION_2);
    const cachedInB = await b.keys.unsealSessionKey(SESSION_1, created.sealedKey);
    const otherInB = await b.keys.unsealSessionKey(SESSION_2, kept.sealedKey);
    expect(await b.keys.purgeDestroyed()).toBe(0);
    await a.keys.destroySessionKey(SESSION_1);
    expect(cachedInB.destroyed).toBe(false); // nothing has asked b about SESSION_1 since
    expect(await b.keys.purgeDestroyed()).toBe(1);
    expect(cachedInB.destroyed).toBe(true);
    expect(otherInB.destroyed).toBe(false);
    expect(await b.keys.purgeDestroyed()).toBe(0);
  });

  it('a tombstone written before the other store first looked at the file counts too', async () => {
    const stateDir = await tempDir('tenzro-keys-shared-');
    const a = await open(stateDir);
    const b = await open(stateDir); // opened while no tombstone file exists yet
    const created = await a.keys.createSessionKey(SESSION_1);
    await a.keys.destroySessionKey(SESSION_1);
    await expectRefusal(b.keys.attestSessionKey(SESSION_1, created.sealedKey), 'key_destroyed');
  });

  it('a store of another measurement on the same directory cannot unseal', async () => {
    const stateDir = await tempDir('tenzro-keys-shared-');
    const [a, b] = await Promise.all([open(stateDir, MEASUREMENT_A), open(stateDir, MEASUREMENT_B)]);
    expect(b.nsm.rootPem).toBe(a.nsm.rootPem);
    const created = await a.keys.createSessionKey(SESSION_1);
    await expectRefusal(b.keys.unsealSessionKey(SESSION_1, created.sealedKey), 'unseal_failed');
    await expectRefusal(b.keys.attestSessionKey(SESSION_1, created.sealedKey), 'unseal_failed');
  });
});
