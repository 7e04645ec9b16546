// The attestation validator (DESIGN §5.8): one verifier for both providers. A document is trusted only if
// it parses strictly, chains to a trusted root, carries a valid COSE_Sign1 ES384 signature by its leaf
// certificate, and matches every expectation the caller states.
import { equalBytes, fromBase64Url, toHex, verifyCoseSign1 } from '@tenzro/crypto';
import { pemCertificateToDer, verifyCertificateChain } from './chain.js';
import { SIMULATED_MODULE_ID_PREFIX, parseSignedAttestation } from './document.js';
import type { AttestationDocument, AttestationProvider } from './document.js';
import { AttestationError } from './errors.js';

/** How far in the future (relative to `now`) a document's timestamp may lie: clocks drift. */
export const ATTESTATION_CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface VerifyAttestationOptions {
  /** Trusted root certificates (PEM). cabundle[0] must equal one of them byte for byte. */
  roots: readonly string[];
  /** The verification time (default: the current time). */
  now?: Date;
  /** Accepted measurements: hex of PCR0 (either case). Omit to accept any. */
  expectedMeasurements?: readonly string[];
  expectedPublicKey?: Uint8Array;
  expectedUserData?: Uint8Array;
  expectedNonce?: Uint8Array;
  /** Reject a document whose timestamp is older than this (ms before `now`). */
  maxAgeMs?: number;
}

export interface VerifiedAttestation {
  /** 'simulated' iff module_id starts with 'tenzro-simulated'. */
  readonly provider: AttestationProvider;
  readonly moduleId: string;
  /** Lowercase hex of PCR0. */
  readonly measurement: string;
  /** Milliseconds since the UNIX epoch. */
  readonly timestamp: number;
  readonly publicKey: Uint8Array | null;
  readonly userData: Uint8Array | null;
  readonly nonce: Uint8Array | null;
  readonly document: AttestationDocument;
}

/**
 * Verifies an attestation document: COSE_Sign1 bytes, or their base64url / standard base64 text.
 * @throws TypeError / RangeError for wrong arguments; AttestationError (see its codes) when the document
 * must not be trusted. Checks run in this order: parsing, root, chain signatures and CA constraints,
 * certificate validity, COSE signature, measurement, public key, user data, nonce, freshness.
 */
export async function verifyAttestation(document: Uint8Array | string, options: VerifyAttestationOptions): Promise<VerifiedAttestation> {
  const settings = readOptions(options);
  const bytes = readDocument(document);
  const { cose, document: parsed } = parseSignedAttestation(bytes);

  const leafKey = await verifyCertificateChain({
    cabundle: parsed.cabundle,
    certificate: parsed.certificate,
    roots: settings.roots,
    now: settings.now,
  });
  if (!(await verifyCoseSign1(cose, leafKey))) {
    throw new AttestationError('signature_invalid', 'attestation document signature does not verify under its certificate');
  }

  const pcr0 = parsed.pcrs.get(0);
  if (!pcr0) throw new AttestationError('malformed_document', 'attestation document: pcrs has no PCR0 (the measurement)');
  const measurement = toHex(pcr0);
  if (settings.expectedMeasurements && !settings.expectedMeasurements.includes(measurement)) {
    throw new AttestationError('measurement_mismatch', `attestation measurement ${measurement} is not one of the expected measurements`);
  }
  expectBytes(parsed.publicKey, options.expectedPublicKey, 'public_key_mismatch', 'public_key');
  expectBytes(parsed.userData, options.expectedUserData, 'user_data_mismatch', 'user_data');
  expectBytes(parsed.nonce, options.expectedNonce, 'nonce_mismatch', 'nonce');

  const now = settings.now.getTime();
  if (parsed.timestamp > now + ATTESTATION_CLOCK_SKEW_MS) {
    throw new AttestationError('stale_document', `attestation document timestamp ${new Date(parsed.timestamp).toISOString()} is in the future`);
  }
  if (settings.maxAgeMs !== undefined && now - parsed.timestamp > settings.maxAgeMs) {
    throw new AttestationError(
      'stale_document',
      `attestation document is ${now - parsed.timestamp} ms old, more than the ${settings.maxAgeMs} ms accepted`,
    );
  }

  return {
    provider: parsed.moduleId.startsWith(SIMULATED_MODULE_ID_PREFIX) ? 'simulated' : 'nitro',
    moduleId: parsed.moduleId,
    measurement,
    timestamp: parsed.timestamp,
    publicKey: parsed.publicKey,
    userData: parsed.userData,
    nonce: parsed.nonce,
    document: parsed,
  };
}

interface Settings {
  roots: Uint8Array[];
  now: Date;
  expectedMeasurements: string[] | undefined;
  maxAgeMs: number | undefined;
}

function readOptions(options: VerifyAttestationOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('verifyAttestation: options must be an object');
  const { roots, now, expectedMeasurements, maxAgeMs } = options;
  if (!Array.isArray(roots)) throw new TypeError('verifyAttestation: options.roots must be an array of PEM certificates');
  if (roots.length === 0) throw new RangeError('verifyAttestation: options.roots must hold at least one root certificate');
  const rootDers = roots.map((pem, index) => pemCertificateToDer(pem, `verifyAttestation: options.roots[${index}]`));
  if (now !== undefined && (!(now instanceof Date) || Number.isNaN(now.getTime()))) {
    throw new TypeError('verifyAttestation: options.now must be a valid Date');
  }
  let measurements: string[] | undefined;
  if (expectedMeasurements !== undefined) {
    if (!Array.isArray(expectedMeasurements)) throw new TypeError('verifyAttestation: options.expectedMeasurements must be an array of hex strings');
    if (expectedMeasurements.length === 0) {
      throw new RangeError('verifyAttestation: options.expectedMeasurements must list at least one measurement (omit it to accept any)');
    }
    measurements = expectedMeasurements.map((value, index) => {
      if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2}){32,64}$/.test(value)) {
        throw new TypeError(`verifyAttestation: options.expectedMeasurements[${index}] must be the hex of a 32- to 64-byte PCR0`);
      }
      return value.toLowerCase();
    });
  }
  for (const name of ['expectedPublicKey', 'expectedUserData', 'expectedNonce'] as const) {
    if (options[name] !== undefined && !(options[name] instanceof Uint8Array)) {
      throw new TypeError(`verifyAttestation: options.${name} must be a Uint8Array`);
    }
  }
  if (maxAgeMs !== undefined && (typeof maxAgeMs !== 'number' || !Number.isFinite(maxAgeMs) || maxAgeMs < 0)) {
    throw new RangeError('verifyAttestation: options.maxAgeMs must be a non-negative number of milliseconds');
  }
  return { roots: rootDers, now: now ?? new Date(), expectedMeasurements: measurements, maxAgeMs };
}

function readDocument(document: Uint8Array | string): Uint8Array {
  if (document instanceof Uint8Array) return document;
  if (typeof document !== 'string') throw new TypeError('verifyAttestation: document must be a Uint8Array or a base64 string');
  const text = document.trim();
  const standard = /[+/=]/.test(text);
  if (standard && /[-_]/.test(text)) throw malformedText('mixes the base64 and base64url alphabets');
  if (standard && !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw malformedText('is not valid base64');
  if (text.endsWith('=') && text.length % 4 !== 0) throw malformedText('has wrong base64 padding');
  const unpadded = standard ? text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') : text;
  try {
    return fromBase64Url(unpadded, 'attestation document');
  } catch (cause) {
    throw malformedText('is not valid base64 or base64url', cause);
  }
}

function malformedText(message: string, cause?: unknown): AttestationError {
  return new AttestationError('malformed_document', `attestation document text ${message}`, cause === undefined ? undefined : { cause });
}

function expectBytes(actual: Uint8Array | null, expected: Uint8Array | undefined, code: 'public_key_mismatch' | 'user_data_mismatch' | 'nonce_mismatch', field: string): void {
  if (expected === undefined) return;
  if (actual === null) throw new AttestationError(code, `attestation document has no ${field}, but one was expected`);
  if (!equalBytes(actual, expected)) throw new AttestationError(code, `attestation document ${field} differs from the expected value`);
}
