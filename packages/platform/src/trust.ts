/**
 * What the SDK trusts (DESIGN §5.2, §5.8): the AWS Nitro root G1 always; a simulated enclave's root only
 * when the caller names it (explicitly, or through the development credentials); optionally a set of
 * accepted measurements. Every attestation the SDK believes goes through `verifyAttestation` here.
 */
import { fromBase64Url, toHex } from '@tenzro/crypto';
import {
  AttestationError,
  SIMULATED_MODULE_ID_PREFIX,
  parseAttestationDocument,
  verifyAttestation as verifyAttestationDocument,
  type AttestationErrorCode,
  type AttestationProvider,
  type VerifiedAttestation,
} from '@tenzro/protocol';
import { AWS_NITRO_ROOT_G1_PEM } from './nitro-root.js';

export interface TrustSettings {
  /** Root certificates (PEM), the Nitro root G1 first. */
  roots: readonly string[];
  expectedMeasurements: readonly string[] | undefined;
  now: () => Date;
}

/** A verified attestation, marked as such. */
export type AttestationVerified = VerifiedAttestation & { readonly verified: true };

/**
 * An attestation the SDK could not check because it chains to a root the SDK was not told to trust, in a
 * session whose policy does not require attestation. The claimed fields are read from the document but
 * are NOT verified.
 */
export interface AttestationUnverified {
  readonly verified: false;
  readonly code: AttestationErrorCode;
  readonly reason: string;
  readonly provider: AttestationProvider | null;
  readonly moduleId: string | null;
  readonly measurement: string | null;
  readonly timestamp: number | null;
}

export type AttestationCheck = AttestationVerified | AttestationUnverified;

/** The trusted roots: the Nitro root G1, then the caller's roots (duplicates dropped). */
export function trustedRoots(extra: readonly string[] | undefined): string[] {
  const roots = [AWS_NITRO_ROOT_G1_PEM];
  for (const [index, pem] of (extra ?? []).entries()) {
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new TypeError(`trustedRoots[${index}] must be a PEM certificate`);
    }
    if (!roots.some((root) => root.trim() === pem.trim())) roots.push(pem);
  }
  return roots;
}

export interface VerifyAttestationInput {
  /** Root certificates (PEM) to trust in addition to the AWS Nitro root G1, which is always trusted. */
  roots?: readonly string[];
  /** The verification time (default: now). */
  now?: Date;
  /** Accepted measurements (hex of PCR0); omit to accept any. */
  expectedMeasurements?: readonly string[];
  expectedPublicKey?: Uint8Array;
  expectedUserData?: Uint8Array;
}

/**
 * Verifies an attestation document (COSE_Sign1 bytes or their base64url text) against the AWS Nitro root
 * G1 plus `roots`. Throws AttestationError (with its code) when the document must not be trusted.
 */
export async function verifyAttestation(document: Uint8Array | string, options: VerifyAttestationInput = {}): Promise<VerifiedAttestation> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  return verifyAttestationDocument(document, {
    roots: trustedRoots(options.roots),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.expectedMeasurements === undefined ? {} : { expectedMeasurements: options.expectedMeasurements }),
    ...(options.expectedPublicKey === undefined ? {} : { expectedPublicKey: options.expectedPublicKey }),
    ...(options.expectedUserData === undefined ? {} : { expectedUserData: options.expectedUserData }),
  });
}

/**
 * Verifies `document` with the SDK's trust settings. When `attestationRequired` is false and the only
 * problem is that the document chains to a root the SDK does not trust, returns an unverified check
 * instead of throwing; every other failure (a bad signature, a wrong key, a wrong binding) throws.
 */
export async function checkAttestation(
  document: string,
  trust: TrustSettings,
  expect: { publicKey?: Uint8Array; userData: Uint8Array },
  attestationRequired: () => Promise<boolean>,
): Promise<AttestationCheck> {
  try {
    const verified = await verifyAttestationDocument(document, {
      roots: trust.roots,
      now: trust.now(),
      ...(trust.expectedMeasurements ? { expectedMeasurements: trust.expectedMeasurements } : {}),
      ...(expect.publicKey ? { expectedPublicKey: expect.publicKey } : {}),
      expectedUserData: expect.userData,
    });
    return { ...verified, verified: true };
  } catch (error) {
    if (!(error instanceof AttestationError) || error.code !== 'untrusted_root' || (await attestationRequired())) throw error;
    return unverified(document, error);
  }
}

function unverified(document: string, error: AttestationError): AttestationUnverified {
  let claimed: { provider: AttestationProvider; moduleId: string; measurement: string | null; timestamp: number } | undefined;
  try {
    const parsed = parseAttestationDocument(fromBase64Url(document, 'attestation'));
    const pcr0 = parsed.pcrs.get(0);
    claimed = {
      provider: parsed.moduleId.startsWith(SIMULATED_MODULE_ID_PREFIX) ? 'simulated' : 'nitro',
      moduleId: parsed.moduleId,
      measurement: pcr0 ? toHex(pcr0) : null,
      timestamp: parsed.timestamp,
    };
  } catch {
    claimed = undefined;
  }
  return {
    verified: false,
    code: error.code,
    reason: error.message,
    provider: claimed?.provider ?? null,
    moduleId: claimed?.moduleId ?? null,
    measurement: claimed?.measurement ?? null,
    timestamp: claimed?.timestamp ?? null,
  };
}

