// Certificate chain of an attestation document (Nitro attestation_process.md §3.2.3, RFC 5280 §6.1 in the
// subset Nitro uses): cabundle[0] is the root and must equal a trusted root byte for byte, then each
// cabundle[i] and finally the leaf `certificate` must be signed by the certificate before it with
// ECDSA P-384 / SHA-384, name-chained to it, and valid at `now`; every certificate but the leaf must be a
// CA (basicConstraints cA, pathLenConstraint respected, keyCertSign if keyUsage is present).
import { equalBytes, verifyEcdsaP384Sha384 } from '@tenzro/crypto';
import { splitCertificate } from './der.js';
import type { CertificateParts } from './der.js';
import { AttestationError } from './errors.js';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate } from './x509.js';

// AlgorithmIdentifier { ecdsa-with-SHA384 (1.2.840.10045.4.3.3) } with absent parameters (RFC 5758 §3.2).
const ECDSA_WITH_SHA384 = new Uint8Array([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
// Critical extensions this check understands (RFC 5280 §4.2: any other critical one means reject).
const UNDERSTOOD_CRITICAL = new Set([BASIC_CONSTRAINTS, KEY_USAGE]);

interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  readonly parts: CertificateParts;
  readonly label: string;
}

export interface CertificateChainInput {
  /** DER certificates, root first. */
  readonly cabundle: readonly Uint8Array[];
  /** DER leaf certificate. */
  readonly certificate: Uint8Array;
  /** DER trust anchors. */
  readonly roots: readonly Uint8Array[];
  readonly now: Date;
}

/** Verifies the chain and returns the leaf's public key, ready to verify the COSE signature. */
export async function verifyCertificateChain(input: CertificateChainInput): Promise<CryptoKey> {
  const chain = [
    ...input.cabundle.map((der, index) => parseCertificate(der, index === 0 ? 'root certificate (cabundle[0])' : `cabundle[${index}]`)),
    parseCertificate(input.certificate, 'leaf certificate'),
  ];
  const root = chain[0]!;
  if (!input.roots.some((trusted) => equalBytes(trusted, root.der))) {
    throw new AttestationError('untrusted_root', `attestation root certificate (${root.x509.subject}) is not one of the trusted roots`);
  }

  const keys = await Promise.all(chain.map(importPublicKey));
  for (let index = 1; index < chain.length; index += 1) {
    const child = chain[index]!;
    const parent = chain[index - 1]!;
    if (!equalBytes(child.parts.signatureAlgorithm, ECDSA_WITH_SHA384) || !equalBytes(child.parts.tbsSignatureAlgorithm, ECDSA_WITH_SHA384)) {
      throw new AttestationError('unsupported_algorithm', `${child.label} is not signed with ecdsa-with-SHA384`);
    }
    if (!equalBytes(child.parts.issuer, parent.parts.subject)) {
      throw chainInvalid(`${child.label} names issuer "${child.x509.issuer}", not "${parent.x509.subject}"`);
    }
    const signed = await verifyEcdsaP384Sha384({
      publicKey: keys[index - 1]!,
      data: child.parts.tbsCertificate,
      signature: child.parts.signatureValue,
      format: 'der',
    });
    if (!signed) throw chainInvalid(`${child.label} signature does not verify under ${parent.label}`);
  }

  for (let index = 0; index < chain.length; index += 1) checkExtensions(chain[index]!, index, chain.length);

  const time = input.now.getTime();
  for (const certificate of chain) {
    const { notBefore, notAfter } = certificate.x509;
    if (time < notBefore.getTime() || time > notAfter.getTime()) {
      throw new AttestationError(
        'certificate_expired',
        `${certificate.label} is valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}, not at ${input.now.toISOString()}`,
      );
    }
  }
  return keys[chain.length - 1]!;
}

/** Decodes a PEM certificate to DER; throws TypeError naming `name` when it is not one. */
export function pemCertificateToDer(pem: string, name: string): Uint8Array {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TypeError(`${name} must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  try {
    return new Uint8Array(new X509Certificate(pem).rawData);
  } catch (cause) {
    throw new TypeError(`${name} is not a valid PEM certificate`, { cause });
  }
}

function parseCertificate(der: Uint8Array, label: string): ParsedCertificate {
  const parts = splitCertificate(der);
  let x509: X509Certificate | undefined;
  try {
    if (parts) x509 = new X509Certificate(new Uint8Array(der));
  } catch (cause) {
    throw chainInvalid(`${label} is not a valid X.509 certificate`, cause);
  }
  if (!parts || !x509) throw chainInvalid(`${label} is not a DER X.509 certificate`);
  return { der, x509, parts, label };
}

async function importPublicKey(certificate: ParsedCertificate): Promise<CryptoKey> {
  try {
    const spki = new Uint8Array(certificate.x509.publicKey.rawData);
    return await globalThis.crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']);
  } catch (cause) {
    throw new AttestationError('unsupported_algorithm', `${certificate.label} does not hold an ECDSA P-384 public key`, { cause });
  }
}

function checkExtensions(certificate: ParsedCertificate, index: number, length: number): void {
  const { x509, label } = certificate;
  for (const extension of x509.extensions) {
    if (extension.critical && !UNDERSTOOD_CRITICAL.has(extension.type)) {
      throw chainInvalid(`${label} has an unsupported critical extension ${extension.type}`);
    }
  }
  const isLeaf = index === length - 1;
  const keyUsage = x509.getExtension(KeyUsagesExtension);
  if (isLeaf) {
    if (keyUsage && (keyUsage.usages & KeyUsageFlags.digitalSignature) === 0) {
      throw chainInvalid(`${label} key usage does not allow digitalSignature`);
    }
    return;
  }
  const constraints = x509.getExtension(BasicConstraintsExtension);
  if (!constraints || !constraints.ca) throw chainInvalid(`${label} is not a CA certificate (basicConstraints cA is not set)`);
  // Intermediate CAs below this one (the leaf does not count): RFC 5280 §4.2.1.9.
  const below = length - 2 - index;
  if (constraints.pathLength !== undefined && below > constraints.pathLength) {
    throw chainInvalid(`${label} allows ${constraints.pathLength} intermediate CAs below it, the chain has ${below}`);
  }
  if (keyUsage && (keyUsage.usages & KeyUsageFlags.keyCertSign) === 0) {
    throw chainInvalid(`${label} key usage does not allow keyCertSign`);
  }
}

function chainInvalid(message: string, cause?: unknown): AttestationError {
  return new AttestationError('certificate_chain_invalid', `attestation certificate chain: ${message}`, cause === undefined ? undefined : { cause });
}
