/**
 * What the SDK trusts (DESIGN §5.2, §5.8): the AWS Nitro root G1 always; a simulated enclave's root only
 * when the caller names it (explicitly, or through the development credentials); and the enclave
 * measurements the caller pins (explicitly, or through the development credentials). Every attestation the
 * SDK believes goes through `verifyAttestation` here, and nothing the host sends can relax it: the only
 * way to accept an unverified document is the local, loudly named `insecureAcceptUnverifiedAttestation`.
 *
 * Two kinds of document, two clocks:
 * - a session key's document is fetched fresh (the host asks the enclave for one per request), so it is
 *   checked at the current time and must be at most `attestationMaxAgeMs` old;
 * - a result report's document is historical evidence of a release: its chain is checked at the document's
 *   own signed timestamp, which must lie between `report.releasedAt` (less a small skew) and now (plus the
 *   skew), so a result can be read and verified long after its leaf certificate expired.
 */
import { fromBase64Url, toBase64Url, toHex } from '@tenzro/crypto';
import {
  ATTESTATION_CLOCK_SKEW_MS,
  AttestationError,
  SIMULATED_MODULE_ID_PREFIX,
  parseAttestationDocument,
  verifyAttestation as verifyAttestationDocument,
  type AttestationErrorCode,
  type AttestationProvider,
  type VerifiedAttestation,
} from '@tenzro/protocol';
import { ConfigurationError } from './defaults.js';
import { AWS_NITRO_ROOT_G1_PEM } from './nitro-root.js';

/** Default maximum age of a session key's attestation document (it is issued per request). */
export const DEFAULT_ATTESTATION_MAX_AGE_MS = 10 * 60 * 1000;

/** How far a result document's timestamp may precede the report's `releasedAt` (both from the enclave clock). */
export const RELEASE_TIMESTAMP_SKEW_MS = 60 * 1000;

export interface TrustSettings {
  /** Root certificates (PEM), the Nitro root G1 first. */
  roots: readonly string[];
  /** Accepted measurements (hex of PCR0); undefined: none configured, and verification refuses. */
  expectedMeasurements: readonly string[] | undefined;
  /** Accepted mpc compute-node measurements (hex of PCR0); undefined: none configured, and contributing
   *  to an mpc session refuses (the nodes could be running any code). */
  expectedMpcNodeMeasurements: readonly string[] | undefined;
  now: () => Date;
  /** The oldest a session key's attestation document may be. */
  attestationMaxAgeMs: number;
  /** Local opt-out: return unverified checks instead of refusing (never set from host data). */
  insecureAcceptUnverifiedAttestation: boolean;
}

/** A verified attestation, marked as such. */
export type AttestationVerified = VerifiedAttestation & { readonly verified: true };

/** Why a check came back unverified: an attestation code, or no measurement pinned. */
export type UnverifiedCode = AttestationErrorCode | 'no_expected_measurement';

/**
 * An attestation the SDK did not verify. Only returned when the caller set
 * `insecureAcceptUnverifiedAttestation: true`, and only when the document chains to a root the SDK was not
 * told to trust or no measurement is pinned. The claimed fields are read from the document but are NOT
 * verified.
 */
export interface AttestationUnverified {
  readonly verified: false;
  readonly code: UnverifiedCode;
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

/** The refusal when no measurement is pinned (the host's enclave could be running any code). */
export function noExpectedMeasurement(): ConfigurationError {
  return new ConfigurationError(
    'no expected enclave measurement is configured: pass options.expectedMeasurements (the hex PCR0 that ' +
      '`tenzro measure` prints for the enclave you trust) or development credentials naming one; without it ' +
      'any enclave code would be accepted',
    { code: 'no_expected_measurement' },
  );
}

/** The refusal when no compute-node measurement is pinned: shares would go to nodes running any code. */
export function noExpectedMpcNodeMeasurement(): ConfigurationError {
  return new ConfigurationError(
    'no expected mpc compute-node measurement is configured: pass options.expectedMpcNodeMeasurements (the hex ' +
      'PCR0 that `tenzro mpc-node measure` prints for the node code you trust) or development credentials naming ' +
      'one; without it shares of your data could be sealed to any node code',
    { code: 'no_expected_measurement' },
  );
}

interface Expectations {
  publicKey?: Uint8Array;
  userData: Uint8Array;
}

type Verify = (roots: readonly string[], measurements: readonly string[] | undefined) => Promise<VerifiedAttestation>;

/**
 * Runs `verify` under the trust settings: refuses without a pinned measurement, and, only in the local
 * insecure mode, turns an untrusted root or a missing measurement into an unverified check — after every
 * other check has passed (the document is re-verified against its own root, so its signature, key and
 * binding still must hold). Every other failure (a bad signature, a wrong key or binding, an expired or
 * stale document) throws, in every mode.
 */
async function check(document: string, trust: TrustSettings, verify: Verify): Promise<AttestationCheck> {
  const measurements = trust.expectedMeasurements;
  if (measurements === undefined && !trust.insecureAcceptUnverifiedAttestation) throw noExpectedMeasurement();
  let verified: VerifiedAttestation;
  try {
    verified = await verify(trust.roots, measurements);
  } catch (error) {
    if (trust.insecureAcceptUnverifiedAttestation && error instanceof AttestationError && error.code === 'untrusted_root') {
      await verify([ownRootPem(document)], measurements);
      return unverified(document, error.code, error.message);
    }
    throw error;
  }
  if (measurements === undefined) {
    return unverified(document, 'no_expected_measurement', noExpectedMeasurement().message);
  }
  return { ...verified, verified: true };
}

/**
 * A session key's document: checked at the current time (`trust.now()`), at most
 * `trust.attestationMaxAgeMs` old, naming `expect.publicKey` and binding `expect.userData`.
 */
export function checkKeyAttestation(document: string, trust: TrustSettings, expect: Expectations): Promise<AttestationCheck> {
  return check(document, trust, (roots, measurements) =>
    verifyAttestationDocument(document, {
      roots,
      now: trust.now(),
      maxAgeMs: trust.attestationMaxAgeMs,
      ...(measurements ? { expectedMeasurements: measurements } : {}),
      ...(expect.publicKey ? { expectedPublicKey: expect.publicKey } : {}),
      expectedUserData: expect.userData,
    }),
  );
}

/**
 * A result report's document: historical evidence, so its certificate chain is checked at the document's
 * own signed timestamp, not now. The timestamp must not lie after now (plus the clock skew the verifier
 * allows), nor before the report's `releasedAt` less RELEASE_TIMESTAMP_SKEW_MS.
 */
export function checkReportAttestation(
  document: string,
  trust: TrustSettings,
  expect: { userData: Uint8Array; releasedAt: string },
): Promise<AttestationCheck> {
  return check(document, trust, async (roots, measurements) => {
    const signedAt = claimedTimestamp(document);
    const verified = await verifyAttestationDocument(document, {
      roots,
      now: new Date(signedAt),
      ...(measurements ? { expectedMeasurements: measurements } : {}),
      expectedUserData: expect.userData,
    });
    const now = trust.now().getTime();
    if (verified.timestamp > now + ATTESTATION_CLOCK_SKEW_MS) {
      throw new AttestationError('stale_document', `the result attestation is dated ${new Date(verified.timestamp).toISOString()}, in the future`);
    }
    const releasedAt = Date.parse(expect.releasedAt);
    if (!Number.isFinite(releasedAt) || verified.timestamp < releasedAt - RELEASE_TIMESTAMP_SKEW_MS) {
      throw new AttestationError('stale_document', `the result attestation is dated ${new Date(verified.timestamp).toISOString()}, before the report's releasedAt`);
    }
    return verified;
  });
}

function documentBytes(document: string): Uint8Array {
  try {
    return fromBase64Url(document, 'attestation');
  } catch (cause) {
    throw new AttestationError('malformed_document', 'attestation document text is not valid base64url', { cause });
  }
}

/** The document's (not yet verified) timestamp: the time its chain is checked at. */
function claimedTimestamp(document: string): number {
  const timestamp = parseAttestationDocument(documentBytes(document)).timestamp;
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) throw new AttestationError('malformed_document', 'attestation document has no usable timestamp');
  return timestamp;
}

/** The document's own root (cabundle[0]) as PEM: only for re-checking an untrusted document's bindings. */
function ownRootPem(document: string): string {
  const der = parseAttestationDocument(documentBytes(document)).cabundle[0]!;
  const base64 = toBase64Url(der).replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const lines = padded.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function unverified(document: string, code: UnverifiedCode, reason: string): AttestationUnverified {
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
    code,
    reason,
    provider: claimed?.provider ?? null,
    moduleId: claimed?.moduleId ?? null,
    measurement: claimed?.measurement ?? null,
    timestamp: claimed?.timestamp ?? null,
  };
}

