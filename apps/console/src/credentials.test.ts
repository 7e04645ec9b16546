// The sign-in inputs read in the page: the party key file and the trust settings of a credentials file.
import { describe, expect, it } from 'vitest';
import { generatePartyIdentity } from '@tenzro/platform';
import { CredentialsFileError, checkTrust, readPartyKeyFile, readTrustFromCredentials, tenantOfPartyId } from './credentials.js';

const MEASUREMENT = 'ab'.repeat(48);
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

describe('party key file', () => {
  it('reads a keygen file and names its tenant', async () => {
    const identity = await generatePartyIdentity('party::bankA::treasury');
    const read = await readPartyKeyFile(JSON.stringify(identity));
    expect(read.partyId).toBe('party::bankA::treasury');
    expect(tenantOfPartyId(read.partyId)).toBe('bankA');
  });

  it('refuses a file whose public key is not its private key\'s', async () => {
    const identity = await generatePartyIdentity('party::bankA::treasury');
    const other = await generatePartyIdentity('party::bankA::treasury');
    const swapped = { ...identity, signingKey: { ...identity.signingKey, publicKey: other.signingKey.publicKey } };
    await expect(readPartyKeyFile(JSON.stringify(swapped))).rejects.toThrow('signingKey.publicKey does not match');
  });
});

describe('trust settings from credentials.json', () => {
  it('takes only the attestation fields', () => {
    const text = JSON.stringify({ baseUrl: 'x', attestation: { rootPem: PEM, measurement: MEASUREMENT, mpcNodeMeasurement: null }, parties: [{ apiKey: 'secret' }] });
    expect(readTrustFromCredentials(text)).toEqual({ rootPem: PEM, measurement: MEASUREMENT, mpcNodeMeasurement: '' });
  });

  it('says what is wrong with a file that is not one', () => {
    expect(() => readTrustFromCredentials('{')).toThrow(new CredentialsFileError('the credentials file is not valid JSON'));
    expect(() => readTrustFromCredentials('{}')).toThrow('the credentials file has no "attestation" object');
    expect(() => readTrustFromCredentials('{"attestation":{}}')).toThrow('the credentials file names no attestation.measurement');
  });

  it('checks each field and names the wrong one', () => {
    expect(checkTrust({ rootPem: PEM, measurement: MEASUREMENT, mpcNodeMeasurement: '' })).toEqual({});
    const errors = checkTrust({ rootPem: 'not a pem', measurement: 'abc', mpcNodeMeasurement: 'zz' });
    expect(Object.keys(errors).sort()).toEqual(['measurement', 'mpcNodeMeasurement', 'rootPem']);
  });
});
