// AWS Nitro Enclaves attestation documents (DESIGN §5.8): a COSE_Sign1 (ES384) whose payload is the CBOR
// map below, parsed with the syntactic checks of the Nitro specification
// (aws-nitro-enclaves-nsm-api, docs/attestation_process.md §3.2.2.1):
//
//   AttestationDocument = {
//     module_id: text,                  ; non-empty
//     digest: "SHA384",
//     timestamp: uint,                  ; ms since the UNIX epoch, > 0
//     pcrs: { + index => bytes },       ; index 0..31, 1..32 entries, each 32, 48 or 64 bytes
//     certificate: bytes,               ; DER, 1..1024 bytes
//     cabundle: [+ bytes],              ; DER, 1..1024 bytes each, root first
//     ? public_key: bytes / null,       ; 1..1024 bytes
//     ? user_data: bytes / null,        ; 0..1024 bytes
//     ? nonce: bytes / null,            ; 0..1024 bytes
//   }
//
// Parsing is strict: trailing bytes, unknown or duplicate keys and wrong types are all
// `malformed_document`; an algorithm other than ES384 is `unsupported_algorithm`.
import { CborError, CoseError, decodeCbor, parseCoseSign1 } from '@tenzro/crypto';
import type { CoseSign1 } from '@tenzro/crypto';
import { AttestationError } from './errors.js';

/** Who produced a document: the AWS Nitro Secure Module, or this project's software CA. */
export type AttestationProvider = 'nitro' | 'simulated';

/** A document whose `module_id` starts with this prefix comes from the simulated provider. */
export const SIMULATED_MODULE_ID_PREFIX = 'tenzro-simulated';

/** The payload of an attestation document, field by field (names in camelCase). */
export interface AttestationDocument {
  readonly moduleId: string;
  /** Always 'SHA384'. */
  readonly digest: 'SHA384';
  /** Creation time, milliseconds since the UNIX epoch. */
  readonly timestamp: number;
  /** Platform configuration registers by index; `pcrs.get(0)` is the enclave measurement. */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  /** DER certificate of the key that signed the document (the leaf). */
  readonly certificate: Uint8Array;
  /** DER certificates, root first, then each intermediate down to the leaf's issuer. */
  readonly cabundle: readonly Uint8Array[];
  readonly publicKey: Uint8Array | null;
  readonly userData: Uint8Array | null;
  readonly nonce: Uint8Array | null;
}

/** Maximum accepted size of an encoded document (a real one is 4 to 8 KiB). */
export const MAX_ATTESTATION_DOCUMENT_BYTES = 64 * 1024;

const PCR_LENGTHS = new Set([32, 48, 64]);
const MAX_PCR_INDEX = 31;
const MAX_CERTIFICATE_BYTES = 1024;
const MAX_USER_BYTES = 1024;
const FIELDS = new Set(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']);

/**
 * Parses an attestation document (COSE_Sign1 bytes) without verifying anything cryptographic.
 * @throws TypeError when `bytes` is not a Uint8Array; AttestationError ('malformed_document',
 * 'unsupported_algorithm') for anything but a well-formed Nitro document.
 */
export function parseAttestationDocument(bytes: Uint8Array): AttestationDocument {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseAttestationDocument: bytes must be a Uint8Array');
  return parseSignedAttestation(bytes).document;
}

/** Internal: the COSE envelope and its parsed payload. */
export function parseSignedAttestation(bytes: Uint8Array): { cose: CoseSign1; document: AttestationDocument } {
  if (bytes.length > MAX_ATTESTATION_DOCUMENT_BYTES) {
    throw malformed(`document is ${bytes.length} bytes, more than the ${MAX_ATTESTATION_DOCUMENT_BYTES} accepted`);
  }
  let cose: CoseSign1;
  try {
    cose = parseCoseSign1(bytes);
  } catch (cause) {
    if (cause instanceof CoseError) {
      const code = cause.code === 'unsupported_algorithm' ? 'unsupported_algorithm' : 'malformed_document';
      throw new AttestationError(code, `attestation document: ${cause.message}`, { cause });
    }
    throw cause;
  }
  let payload: unknown;
  try {
    payload = decodeCbor(cose.payload);
  } catch (cause) {
    if (cause instanceof CborError) throw malformed(`payload is not valid CBOR: ${cause.message}`, cause);
    throw cause;
  }
  return { cose, document: parsePayload(payload) };
}

function parsePayload(payload: unknown): AttestationDocument {
  if (!(payload instanceof Map)) throw malformed('payload must be a CBOR map');
  for (const key of payload.keys()) {
    if (typeof key !== 'string' || !FIELDS.has(key)) throw malformed(`payload has an unknown field ${describeKey(key)}`);
  }
  const moduleId = payload.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) throw malformed('module_id must be a non-empty text string');
  const digest = payload.get('digest');
  if (digest !== 'SHA384') throw malformed(`digest must be "SHA384", got ${describeValue(digest)}`);
  const timestamp = payload.get('timestamp');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw malformed('timestamp must be a positive integer (milliseconds)');
  }
  return {
    moduleId,
    digest,
    timestamp,
    pcrs: parsePcrs(payload.get('pcrs')),
    certificate: bytesField(payload.get('certificate'), 'certificate', 1, MAX_CERTIFICATE_BYTES),
    cabundle: parseCabundle(payload.get('cabundle')),
    publicKey: optionalBytesField(payload.get('public_key'), 'public_key', 1),
    userData: optionalBytesField(payload.get('user_data'), 'user_data', 0),
    nonce: optionalBytesField(payload.get('nonce'), 'nonce', 0),
  };
}

function parsePcrs(value: unknown): ReadonlyMap<number, Uint8Array> {
  if (!(value instanceof Map)) throw malformed('pcrs must be a map');
  if (value.size === 0 || value.size > MAX_PCR_INDEX + 1) throw malformed(`pcrs must hold 1 to ${MAX_PCR_INDEX + 1} entries, got ${value.size}`);
  const pcrs = new Map<number, Uint8Array>();
  const sorted = [...value.entries()].sort(([a], [b]) => Number(a) - Number(b));
  for (const [index, pcr] of sorted) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > MAX_PCR_INDEX) {
      throw malformed(`pcrs index must be an integer in 0..${MAX_PCR_INDEX}, got ${describeKey(index)}`);
    }
    if (!(pcr instanceof Uint8Array) || !PCR_LENGTHS.has(pcr.length)) {
      throw malformed(`pcrs[${index}] must be a byte string of 32, 48 or 64 bytes`);
    }
    pcrs.set(index, pcr);
  }
  return pcrs;
}

function parseCabundle(value: unknown): Uint8Array[] {
  if (!Array.isArray(value) || value.length === 0) throw malformed('cabundle must be a non-empty array');
  return value.map((item, index) => bytesField(item, `cabundle[${index}]`, 1, MAX_CERTIFICATE_BYTES));
}

function bytesField(value: unknown, name: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw malformed(`${name} must be a byte string`);
  if (value.length < min || value.length > max) throw malformed(`${name} must be ${min} to ${max} bytes, got ${value.length}`);
  return value;
}

function optionalBytesField(value: unknown, name: string, min: number): Uint8Array | null {
  if (value === undefined || value === null) return null;
  return bytesField(value, name, min, MAX_USER_BYTES);
}

function malformed(message: string, cause?: unknown): AttestationError {
  return new AttestationError('malformed_document', `attestation document: ${message}`, cause === undefined ? undefined : { cause });
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : typeof key === 'number' ? String(key) : typeof key;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}
