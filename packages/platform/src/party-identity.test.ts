// Party key files (DESIGN §4) and the SDK's Node-only defaults: TENZRO_PARTY_KEY and the development
// credentials file (simulated root and measurement).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64Url, signingPublicKeyFromPrivate, toBase64Url } from '@tenzro/crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MEASUREMENT, makeFixture } from './fake-host.fixture.js';
import { PartyIdentityError, generatePartyIdentity, loadPartyIdentity } from './identity.js';
import { TenzroPlatform } from './platform.js';
import { ConfigurationError } from './defaults.js';

const ENV = ['TENZRO_PARTY_KEY', 'TENZRO_CREDENTIALS', 'TENZRO_DATA_DIR', 'TENZRO_BASE_URL'] as const;
let saved: (string | undefined)[] = [];
beforeEach(() => {
  saved = ENV.map((name) => process.env[name]);
  for (const name of ENV) delete process.env[name];
  process.env.TENZRO_DATA_DIR = mkdtempSync(join(tmpdir(), 'tenzro-none-'));
});
afterEach(() => {
  ENV.forEach((name, i) => {
    if (saved[i] === undefined) delete process.env[name];
    else process.env[name] = saved[i];
  });
});

describe('generatePartyIdentity / loadPartyIdentity', () => {
  it('generates Ed25519 + X25519 key pairs as base64url raw bytes, and loads them back', async () => {
    const identity = await generatePartyIdentity('party::bankA::treasury');
    expect(identity.partyId).toBe('party::bankA::treasury');
    for (const key of [identity.signingKey.publicKey, identity.signingKey.privateKey, identity.encryptionKey.publicKey, identity.encryptionKey.privateKey]) {
      expect(fromBase64Url(key)).toHaveLength(32);
    }
    expect(toBase64Url(signingPublicKeyFromPrivate(fromBase64Url(identity.signingKey.privateKey)))).toBe(identity.signingKey.publicKey);
    expect(await loadPartyIdentity(JSON.stringify(identity))).toEqual(identity);
    expect(await loadPartyIdentity(identity)).toEqual(identity);
  });

  it('refuses a file whose public keys are not those of its private keys', async () => {
    const a = await generatePartyIdentity('party::bankA::treasury');
    const b = await generatePartyIdentity('party::bankA::treasury');
    await expect(loadPartyIdentity({ ...a, signingKey: { ...a.signingKey, publicKey: b.signingKey.publicKey } })).rejects.toThrow(
      /signingKey\.publicKey does not match/,
    );
    await expect(loadPartyIdentity({ ...a, encryptionKey: { ...a.encryptionKey, publicKey: b.encryptionKey.publicKey } })).rejects.toThrow(
      /encryptionKey\.publicKey does not match/,
    );
  });

  it('refuses malformed files, naming the field', async () => {
    const a = await generatePartyIdentity('party::bankA::treasury');
    await expect(loadPartyIdentity('{')).rejects.toBeInstanceOf(PartyIdentityError);
    await expect(loadPartyIdentity({ ...a, partyId: 'bankA' })).rejects.toThrow(/partyId/);
    await expect(loadPartyIdentity({ ...a, signingKey: { ...a.signingKey, privateKey: 'short' } })).rejects.toThrow(/signingKey\.privateKey/);
    await expect(loadPartyIdentity({ ...a, extra: 1 })).rejects.toBeInstanceOf(PartyIdentityError);
    await expect(generatePartyIdentity('treasury')).rejects.toThrow(TypeError);
  });

  it('an SDK with a mismatched key file fails on first use, before sending anything', async () => {
    const fixture = await makeFixture();
    const b = await generatePartyIdentity('party::bankA::treasury');
    const broken = { ...fixture.bankA, encryptionKey: { ...fixture.bankA.encryptionKey, publicKey: b.encryptionKey.publicKey } };
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://h.test', party: broken, trustedRoots: [], fetch: fixture.fetch });
    await expect(platform.ai.listMultiPartySessions()).rejects.toBeInstanceOf(PartyIdentityError);
    expect(fixture.requests).toHaveLength(0);
  });
});

describe('Node defaults', () => {
  it('takes the party from the key file named by TENZRO_PARTY_KEY', async () => {
    const fixture = await makeFixture();
    const dir = mkdtempSync(join(tmpdir(), 'tenzro-key-'));
    const path = join(dir, 'bankA.key.json');
    writeFileSync(path, JSON.stringify(fixture.bankA));
    process.env.TENZRO_PARTY_KEY = path;
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://h.test', trustedRoots: [], fetch: fixture.fetch });
    expect(platform.partyId).toBe('party::bankA::treasury');
    await platform.ai.getMultiPartySession(fixture.sessionId);
    expect(fixture.requests[0]!.headers['x-tenzro-party-id']).toBe('party::bankA::treasury');
    process.env.TENZRO_PARTY_KEY = join(dir, 'missing.json');
    expect(() => new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', trustedRoots: [] })).toThrow(ConfigurationError);
  });

  it('trusts the simulated root and measurement from the development credentials', async () => {
    const fixture = await makeFixture();
    const dataDir = mkdtempSync(join(tmpdir(), 'tenzro-data-'));
    mkdirSync(join(dataDir, 'dev'));
    writeFileSync(
      join(dataDir, 'dev', 'credentials.json'),
      JSON.stringify({ baseUrl: 'http://dev.test:8787', attestation: { rootPem: fixture.enclave.rootPem, measurement: MEASUREMENT }, parties: [] }),
    );
    process.env.TENZRO_DATA_DIR = dataDir;
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', party: fixture.bankA, fetch: fixture.fetch });
    expect(platform.baseUrl).toBe('http://dev.test:8787');
    const key = await platform.ai.getSessionKey(fixture.sessionId);
    expect(key.verified).toMatchObject({ verified: true, measurement: MEASUREMENT });

    // The same credentials with another measurement: the key is refused.
    const other = join(dataDir, 'other.json');
    writeFileSync(other, JSON.stringify({ attestation: { rootPem: fixture.enclave.rootPem, measurement: 'cd'.repeat(48) } }));
    process.env.TENZRO_CREDENTIALS = other;
    const strict = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', party: fixture.bankA, fetch: fixture.fetch, baseUrl: 'http://h.test' });
    await expect(strict.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'measurement_mismatch' });

    // Without credentials the simulated root is not trusted.
    process.env.TENZRO_CREDENTIALS = join(dataDir, 'absent.json');
    expect(() => new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA' })).toThrow(ConfigurationError);
    delete process.env.TENZRO_CREDENTIALS;
    process.env.TENZRO_DATA_DIR = mkdtempSync(join(tmpdir(), 'tenzro-none-'));
    const bare = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', party: fixture.bankA, fetch: fixture.fetch, baseUrl: 'http://h.test', expectedMeasurements: [MEASUREMENT] });
    await expect(bare.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'untrusted_root' });
    // ... and with no measurement pinned at all, nothing is verified.
    const unpinned = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', party: fixture.bankA, fetch: fixture.fetch, baseUrl: 'http://h.test' });
    await expect(unpinned.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'no_expected_measurement' });
  });
});
