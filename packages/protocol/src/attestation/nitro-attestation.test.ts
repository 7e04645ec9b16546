// AWS Nitro Enclaves attestation documents (DESIGN §5.8), replayed from the real documents in
// vectors/nitro/ (see its PROVENANCE.md), plus documents made here by a throwaway CA to reach the
// branches real documents cannot.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { readFileSync } from 'node:fs';
import { CborTag, decodeCbor, encodeCbor, signCoseSign1 } from '@tenzro/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { readVectorBytes, readVectorJson, vectorPath } from '../../../../test/support/vectors.js';
import { AttestationError, parseAttestationDocument, verifyAttestation } from './index.js';
import type { AttestationErrorCode, VerifyAttestationOptions } from './index.js';

interface Sample {
  file: string;
  module_id: string;
  timestamp_ms: number;
  pcrs: Record<string, string>;
  user_data: string | null;
  nonce: string | null;
  public_key: string | null;
  chain: Array<{ subject: string; notBefore: string; notAfter: string }>;
  chain_valid_from: string;
  chain_valid_until: string;
  recommended_verify_time_ms: number;
}

const samples = readVectorJson<{ samples: Sample[] }>('nitro/samples.json').samples;
const rootPem = readFileSync(vectorPath('nitro/AWS_NitroEnclaves_Root-G1.pem'), 'utf8');
const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const ones = new Uint8Array(1024).fill(1);

function loadSample(sample: Sample): Uint8Array {
  if (sample.file.endsWith('.b64')) {
    return new Uint8Array(Buffer.from(readFileSync(vectorPath(`nitro/${sample.file}`), 'utf8').trim(), 'base64'));
  }
  return readVectorBytes(`nitro/${sample.file}`);
}

function at(sample: Sample): Date {
  return new Date(sample.recommended_verify_time_ms);
}

async function expectRejected(
  document: Uint8Array | string,
  options: VerifyAttestationOptions,
  code: AttestationErrorCode,
  message?: RegExp,
): Promise<void> {
  let error: unknown;
  try {
    await verifyAttestation(document, options);
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(AttestationError);
  expect((error as AttestationError).code).toBe(code);
  if (message) expect((error as AttestationError).message).toMatch(message);
}

// The COSE parts of a document, and a way to put them back together.
function split(document: Uint8Array): unknown[] {
  return decodeCbor(document) as unknown[];
}
function withPayload(document: Uint8Array, edit: (payload: Map<string, unknown>) => void): Uint8Array {
  const parts = split(document);
  const payload = decodeCbor(parts[2] as Uint8Array) as Map<string, unknown>;
  edit(payload);
  parts[2] = encodeCbor(payload);
  return encodeCbor(parts);
}

describe('real Nitro documents', () => {
  for (const sample of samples) {
    describe(sample.file, () => {
      const document = loadSample(sample);

      it('verifies against the AWS Nitro root G1 at its stated time', async () => {
        const verified = await verifyAttestation(document, { roots: [rootPem], now: at(sample), expectedMeasurements: [sample.pcrs['0']!] });
        expect(verified.provider).toBe('nitro');
        expect(verified.moduleId).toBe(sample.module_id);
        expect(verified.measurement).toBe(sample.pcrs['0']);
        expect(verified.timestamp).toBe(sample.timestamp_ms);
        expect(verified.document.digest).toBe('SHA384');
        expect(verified.document.cabundle).toHaveLength(sample.chain.length - 1);
        for (const [index, value] of Object.entries(sample.pcrs)) {
          expect(Buffer.from(verified.document.pcrs.get(Number(index))!).toString('hex')).toBe(value);
        }
        if (sample.user_data === '1024 bytes, all 0x01') {
          expect(verified.userData).toEqual(ones);
          expect(verified.publicKey).toEqual(ones);
          expect(verified.nonce).toEqual(ones);
        } else {
          expect(verified.userData).toEqual(hex(sample.user_data!));
          expect(verified.publicKey).toBeNull();
          expect(verified.nonce).toBeNull();
        }
      });

      it('accepts standard base64 and base64url text', async () => {
        const options = { roots: [rootPem], now: at(sample) };
        const base64 = Buffer.from(document).toString('base64');
        expect((await verifyAttestation(base64, options)).moduleId).toBe(sample.module_id);
        expect((await verifyAttestation(Buffer.from(document).toString('base64url'), options)).moduleId).toBe(sample.module_id);
        await expectRejected(`${base64}!`, options, 'malformed_document', /not valid base64/);
        await expectRejected(base64.replace(/\+/, '-'), options, 'malformed_document');
      });

      it("is rejected one second after its chain's notAfter, and one second before its notBefore", async () => {
        const after = new Date(Date.parse(sample.chain_valid_until) + 1000);
        await expectRejected(document, { roots: [rootPem], now: after }, 'certificate_expired', /not at/);
        const before = new Date(Date.parse(sample.chain_valid_from) - 1000);
        await expectRejected(document, { roots: [rootPem], now: before }, 'certificate_expired');
        // The bounds themselves are inside the validity period (RFC 5280 §4.1.2.5).
        await verifyAttestation(document, { roots: [rootPem], now: new Date(sample.chain_valid_until) });
      });

      it('is rejected with any single byte of the COSE signature flipped', async () => {
        const signatureStart = document.length - 96;
        const options = { roots: [rootPem], now: at(sample) };
        for (let index = 0; index < 96; index += 1) {
          const tampered = document.slice();
          tampered[signatureStart + index]! ^= 0xff;
          await expectRejected(tampered, options, 'signature_invalid');
        }
      });

      it('is rejected when one payload byte changes (user data) or the protected header is re-encoded', async () => {
        const options = { roots: [rootPem], now: at(sample) };
        await expectRejected(withPayload(document, (p) => p.set('user_data', new Uint8Array(3))), options, 'signature_invalid');
        await expectRejected(withPayload(document, (p) => p.set('timestamp', sample.timestamp_ms + 1)), options, 'signature_invalid');
        const parts = split(document);
        parts[0] = hex('a101390022'); // {1: -35} with a non-preferred integer: same map, other bytes
        await expectRejected(encodeCbor(parts), options, 'signature_invalid');
      });

      it('is rejected with a trailing CBOR byte', async () => {
        await expectRejected(new Uint8Array([...document, 0x00]), { roots: [rootPem], now: at(sample) }, 'malformed_document', /Extra data/);
      });

      it('is rejected for a measurement outside the expected set; matches in any case', async () => {
        const options = { roots: [rootPem], now: at(sample) };
        await expectRejected(document, { ...options, expectedMeasurements: ['ab'.repeat(48)] }, 'measurement_mismatch');
        await verifyAttestation(document, { ...options, expectedMeasurements: ['ab'.repeat(48), sample.pcrs['0']!.toUpperCase()] });
      });

      it('is rejected when public key, user data or nonce differ from what is expected', async () => {
        const options = { roots: [rootPem], now: at(sample) };
        const wrong = new Uint8Array(32).fill(7);
        await expectRejected(document, { ...options, expectedPublicKey: wrong }, 'public_key_mismatch');
        await expectRejected(document, { ...options, expectedUserData: wrong }, 'user_data_mismatch');
        await expectRejected(document, { ...options, expectedNonce: wrong }, 'nonce_mismatch');
      });

      it('is rejected when older than maxAgeMs', async () => {
        const now = new Date(sample.timestamp_ms + 60_000);
        await expectRejected(document, { roots: [rootPem], now, maxAgeMs: 59_999 }, 'stale_document', /60000 ms old/);
        await verifyAttestation(document, { roots: [rootPem], now, maxAgeMs: 60_000 });
      });

      it('is rejected when the cabundle is reordered or loses an intermediate', async () => {
        const options = { roots: [rootPem], now: at(sample) };
        const swapped = withPayload(document, (p) => {
          const bundle = [...(p.get('cabundle') as Uint8Array[])];
          [bundle[1], bundle[2]] = [bundle[2]!, bundle[1]!];
          p.set('cabundle', bundle);
        });
        await expectRejected(swapped, options, 'certificate_chain_invalid', /names issuer/);
        const shortened = withPayload(document, (p) => p.set('cabundle', (p.get('cabundle') as Uint8Array[]).filter((_, i) => i !== 2)));
        await expectRejected(shortened, options, 'certificate_chain_invalid');
      });
    });
  }

  describe('against a look-alike root (same subject, another key)', () => {
    let lookAlikePem: string;
    let lookAlikeDer: Uint8Array;
    beforeAll(async () => {
      const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const real = new x509.X509Certificate(rootPem);
      const fake = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: real.serialNumber,
        name: real.subjectName,
        notBefore: real.notBefore,
        notAfter: real.notAfter,
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
      });
      expect(fake.subject).toBe(real.subject);
      lookAlikePem = fake.toString('pem');
      lookAlikeDer = new Uint8Array(fake.rawData);
    });

    for (const sample of samples) {
      it(`rejects ${sample.file} as untrusted_root`, async () => {
        const document = loadSample(sample);
        await expectRejected(document, { roots: [lookAlikePem], now: at(sample) }, 'untrusted_root', /aws\.nitro-enclaves/);
        // The look-alike also placed in the document as cabundle[0] cannot have signed the next certificate.
        const swapped = withPayload(document, (p) => p.set('cabundle', [lookAlikeDer, ...(p.get('cabundle') as Uint8Array[]).slice(1)]));
        await expectRejected(swapped, { roots: [lookAlikePem], now: at(sample) }, 'certificate_chain_invalid', /signature does not verify/);
      });
    }
  });
});

describe('parseAttestationDocument', () => {
  const sample = samples[0]!;
  const document = loadSample(sample);

  function expectMalformed(bytes: Uint8Array, message: RegExp, code: AttestationErrorCode = 'malformed_document'): void {
    try {
      parseAttestationDocument(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(AttestationError);
      expect((error as AttestationError).code).toBe(code);
      expect((error as AttestationError).message).toMatch(message);
      return;
    }
    throw new Error('expected an AttestationError');
  }

  it('parses without verifying', () => {
    const parsed = parseAttestationDocument(document);
    expect(parsed.moduleId).toBe(sample.module_id);
    expect(parsed.pcrs.size).toBe(16);
    expect([...parsed.pcrs.keys()]).toEqual([...Array(16).keys()]);
  });

  it('accepts the COSE_Sign1 tag 18', () => {
    expect(parseAttestationDocument(encodeCbor(new CborTag(18, split(document)))).moduleId).toBe(sample.module_id);
  });

  it('rejects each field of the wrong type or size', () => {
    const edits: Array<[(p: Map<string, unknown>) => void, RegExp]> = [
      [(p) => p.set('digest', 'SHA256'), /digest must be "SHA384"/],
      [(p) => p.delete('module_id'), /module_id must be a non-empty text string/],
      [(p) => p.set('module_id', ''), /module_id/],
      [(p) => p.set('timestamp', -1), /timestamp must be a positive integer/],
      [(p) => p.set('timestamp', 1.5), /timestamp/],
      [(p) => p.set('timestamp', 2n ** 64n - 1n), /timestamp/],
      [(p) => p.set('pcrs', new Map()), /pcrs must hold 1 to 32 entries/],
      [(p) => p.set('pcrs', new Map([[0, new Uint8Array(47)]])), /pcrs\[0\] must be a byte string of 32, 48 or 64 bytes/],
      [(p) => p.set('pcrs', new Map([[32, new Uint8Array(48)]])), /pcrs index must be an integer in 0..31/],
      [(p) => p.set('pcrs', new Map([['0', new Uint8Array(48)]])), /pcrs index/],
      [(p) => p.set('cabundle', []), /cabundle must be a non-empty array/],
      [(p) => p.set('cabundle', [new Uint8Array(0)]), /cabundle\[0\] must be 1 to 1024 bytes/],
      [(p) => p.set('certificate', new Uint8Array(1025)), /certificate must be 1 to 1024 bytes/],
      [(p) => p.set('certificate', 'pem'), /certificate must be a byte string/],
      [(p) => p.set('public_key', new Uint8Array(0)), /public_key must be 1 to 1024 bytes/],
      [(p) => p.set('user_data', new Uint8Array(1025)), /user_data must be 0 to 1024 bytes/],
      [(p) => p.set('nonce', 5), /nonce must be a byte string/],
      [(p) => p.set('extra', 1), /unknown field "extra"/],
    ];
    for (const [edit, message] of edits) expectMalformed(withPayload(document, edit), message);
    const parts = split(document);
    parts[2] = encodeCbor([1]);
    expectMalformed(encodeCbor(parts), /payload must be a CBOR map/);
    parts[2] = new Uint8Array([0xa1]);
    expectMalformed(encodeCbor(parts), /payload is not valid CBOR/);
  });

  it('accepts absent and null optional fields', () => {
    const parsed = parseAttestationDocument(withPayload(document, (p) => {
      p.delete('nonce');
      p.set('user_data', null);
    }));
    expect(parsed.nonce).toBeNull();
    expect(parsed.userData).toBeNull();
  });

  it('rejects a protected alg other than ES384 as unsupported_algorithm', () => {
    const parts = split(document);
    parts[0] = encodeCbor(new Map([[1, -7]]));
    expectMalformed(encodeCbor(parts), /alg -7 is not supported/, 'unsupported_algorithm');
  });

  it('rejects non-COSE input and oversized input', () => {
    expectMalformed(encodeCbor([1, 2]), /array of 4 items/);
    expectMalformed(new Uint8Array(64 * 1024 + 1), /more than the 65536 accepted/);
    expect(() => parseAttestationDocument('x' as unknown as Uint8Array)).toThrow(new TypeError('parseAttestationDocument: bytes must be a Uint8Array'));
  });
});

// A throwaway CA, to make documents whose chains break in the ways real ones cannot.
describe('chain rules, on documents from a test CA', () => {
  const signing = { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams;
  const p384 = { name: 'ECDSA', namedCurve: 'P-384' };
  const now = new Date('2030-01-01T00:00:00Z');
  const hour = 3_600_000;
  let rootKeys: CryptoKeyPair;
  let root: x509.X509Certificate;
  let rootPemLocal: string;

  const caExtensions = (pathLength?: number) => [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
  ];
  const leafExtensions = () => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ];
  const newKeys = async (algorithm: EcKeyGenParams = p384) => (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;

  async function issue(
    subject: string,
    issuer: x509.X509Certificate,
    issuerKey: CryptoKey,
    publicKey: CryptoKey,
    extensions: x509.Extension[],
    validity = { notBefore: new Date(now.getTime() - hour), notAfter: new Date(now.getTime() + hour) },
  ): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({ subject, issuer: issuer.subjectName, publicKey, signingKey: issuerKey, signingAlgorithm: signing, extensions, ...validity });
  }

  async function document(options: {
    intermediates?: Array<{ extensions?: x509.Extension[]; keyAlgorithm?: EcKeyGenParams }>;
    leafExtensions?: x509.Extension[];
    leafValidity?: { notBefore: Date; notAfter: Date };
    timestamp?: number;
    moduleId?: string;
  } = {}): Promise<Uint8Array> {
    const bundle: x509.X509Certificate[] = [root];
    let parent = root;
    let parentKey = rootKeys.privateKey;
    for (const [index, spec] of (options.intermediates ?? [{}]).entries()) {
      const keys = await newKeys(spec.keyAlgorithm);
      const cert = await issue(`CN=intermediate ${index}`, parent, parentKey, keys.publicKey, spec.extensions ?? caExtensions());
      bundle.push(cert);
      parent = cert;
      parentKey = keys.privateKey;
    }
    const leafKeys = await newKeys();
    const leaf = await issue('CN=leaf', parent, parentKey, leafKeys.publicKey, options.leafExtensions ?? leafExtensions(), options.leafValidity);
    const payload = encodeCbor(new Map<string, unknown>([
      ['module_id', options.moduleId ?? 'test-module'],
      ['digest', 'SHA384'],
      ['timestamp', options.timestamp ?? now.getTime()],
      ['pcrs', new Map([[0, new Uint8Array(48).fill(0xaa)]])],
      ['certificate', new Uint8Array(leaf.rawData)],
      ['cabundle', bundle.map((cert) => new Uint8Array(cert.rawData))],
      ['public_key', null],
      ['user_data', null],
      ['nonce', null],
    ]));
    return signCoseSign1({ payload, privateKey: leafKeys.privateKey });
  }

  beforeAll(async () => {
    rootKeys = await newKeys();
    root = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Test Root',
      keys: rootKeys,
      signingAlgorithm: signing,
      extensions: caExtensions(),
      notBefore: new Date(now.getTime() - 24 * hour),
      notAfter: new Date(now.getTime() + 24 * hour),
    });
    rootPemLocal = root.toString('pem');
  });

  it('verifies a well-formed chain with any number of intermediates', async () => {
    for (const count of [0, 1, 3]) {
      const verified = await verifyAttestation(await document({ intermediates: Array.from({ length: count }, () => ({})) }), { roots: [rootPemLocal], now });
      expect(verified.measurement).toBe('aa'.repeat(48));
      expect(verified.provider).toBe('nitro');
    }
  });

  it('requires basicConstraints cA on every certificate but the leaf', async () => {
    const doc = await document({ intermediates: [{ extensions: leafExtensions() }] });
    await expectRejected(doc, { roots: [rootPemLocal], now }, 'certificate_chain_invalid', /not a CA certificate/);
  });

  it('enforces pathLenConstraint', async () => {
    const doc = await document({ intermediates: [{ extensions: caExtensions(0) }, {}] });
    await expectRejected(doc, { roots: [rootPemLocal], now }, 'certificate_chain_invalid', /allows 0 intermediate CAs below it, the chain has 1/);
    await verifyAttestation(await document({ intermediates: [{ extensions: caExtensions(1) }, { extensions: caExtensions(0) }] }), { roots: [rootPemLocal], now });
  });

  it('requires keyCertSign on CAs and digitalSignature on the leaf when keyUsage is present', async () => {
    const noCertSign = [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)];
    await expectRejected(await document({ intermediates: [{ extensions: noCertSign }] }), { roots: [rootPemLocal], now }, 'certificate_chain_invalid', /keyCertSign/);
    const noSignature = [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true)];
    await expectRejected(await document({ leafExtensions: noSignature }), { roots: [rootPemLocal], now }, 'certificate_chain_invalid', /digitalSignature/);
  });

  it('rejects an unknown critical extension', async () => {
    const critical = new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00]));
    await expectRejected(await document({ leafExtensions: [...leafExtensions(), critical] }), { roots: [rootPemLocal], now }, 'certificate_chain_invalid', /unsupported critical extension/);
  });

  it('rejects keys on other curves', async () => {
    const doc = await document({ intermediates: [{ keyAlgorithm: { name: 'ECDSA', namedCurve: 'P-256' } }] });
    await expectRejected(doc, { roots: [rootPemLocal], now }, 'unsupported_algorithm', /ECDSA P-384 public key/);
  });

  it('rejects a leaf that is not yet valid or expired', async () => {
    const expired = await document({ leafValidity: { notBefore: new Date(now.getTime() - 2 * hour), notAfter: new Date(now.getTime() - 1000) } });
    await expectRejected(expired, { roots: [rootPemLocal], now }, 'certificate_expired', /leaf certificate/);
  });

  it('rejects a timestamp in the future beyond the clock skew', async () => {
    const future = await document({ timestamp: now.getTime() + 5 * 60_000 + 1 });
    await expectRejected(future, { roots: [rootPemLocal], now }, 'stale_document', /in the future/);
    await verifyAttestation(await document({ timestamp: now.getTime() + 5 * 60_000 }), { roots: [rootPemLocal], now });
  });

  it("labels documents whose module_id starts with 'tenzro-simulated' as simulated", async () => {
    const verified = await verifyAttestation(await document({ moduleId: 'tenzro-simulated-enclave-x' }), { roots: [rootPemLocal], now });
    expect(verified.provider).toBe('simulated');
    expect((await verifyAttestation(await document({ moduleId: 'i-0abc-tenzro-simulated' }), { roots: [rootPemLocal], now })).provider).toBe('nitro');
  });

  it('checks its arguments', async () => {
    const doc = await document();
    await expect(verifyAttestation(doc, { roots: [] })).rejects.toThrow(new RangeError('verifyAttestation: options.roots must hold at least one root certificate'));
    await expect(verifyAttestation(doc, { roots: ['nope'] })).rejects.toThrow(new TypeError('verifyAttestation: options.roots[0] must be a PEM certificate (-----BEGIN CERTIFICATE-----)'));
    await expect(verifyAttestation(doc, { roots: [rootPemLocal], now: new Date(NaN) })).rejects.toThrow(/options.now must be a valid Date/);
    await expect(verifyAttestation(doc, { roots: [rootPemLocal], expectedMeasurements: [] })).rejects.toThrow(RangeError);
    await expect(verifyAttestation(doc, { roots: [rootPemLocal], expectedMeasurements: ['xyz'] })).rejects.toThrow(/expectedMeasurements\[0\] must be the hex/);
    await expect(verifyAttestation(doc, { roots: [rootPemLocal], expectedNonce: 'abc' as unknown as Uint8Array })).rejects.toThrow(/options.expectedNonce must be a Uint8Array/);
    await expect(verifyAttestation(doc, { roots: [rootPemLocal], maxAgeMs: -1 })).rejects.toThrow(/maxAgeMs must be a non-negative/);
    await expect(verifyAttestation(42 as unknown as Uint8Array, { roots: [rootPemLocal] })).rejects.toThrow(TypeError);
    await expect(verifyAttestation(doc, null as unknown as VerifyAttestationOptions)).rejects.toThrow(/options must be an object/);
  });
});
