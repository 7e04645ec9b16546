// The AWS Nitro root G1 is embedded and always trusted: a real Nitro document verifies with no roots given.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vectorPath } from '../../../test/support/vectors.js';
import { AWS_NITRO_ROOT_G1_PEM } from './nitro-root.js';
import { trustedRoots, verifyAttestation } from './trust.js';

describe('AWS Nitro root G1', () => {
  it('is byte for byte the published root', () => {
    expect(AWS_NITRO_ROOT_G1_PEM.trim()).toBe(readFileSync(vectorPath('nitro/AWS_NitroEnclaves_Root-G1.pem'), 'utf8').trim());
  });

  it('is always first among the trusted roots', () => {
    expect(trustedRoots(undefined)).toEqual([AWS_NITRO_ROOT_G1_PEM]);
    expect(trustedRoots([AWS_NITRO_ROOT_G1_PEM])).toEqual([AWS_NITRO_ROOT_G1_PEM]);
    expect(() => trustedRoots(['not a pem'])).toThrow(/trustedRoots\[0\]/);
  });

  it('verifies a real Nitro attestation document without any configured root', async () => {
    const base64 = readFileSync(vectorPath('nitro/blocky-nitrite_nitro_attestation.b64'), 'utf8').trim();
    const verified = await verifyAttestation(new Uint8Array(Buffer.from(base64, 'base64')), { now: new Date('2024-09-07T14:37:39.545Z') });
    expect(verified.provider).toBe('nitro');
    expect(verified.measurement).toMatch(/^[0-9a-f]{96}$/);
    await expect(
      verifyAttestation(new Uint8Array(Buffer.from(base64, 'base64')), {
        now: new Date('2024-09-07T14:37:39.545Z'),
        expectedMeasurements: ['00'.repeat(48)],
      }),
    ).rejects.toMatchObject({ code: 'measurement_mismatch' });
  });
});
