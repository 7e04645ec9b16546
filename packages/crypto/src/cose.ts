// COSE_Sign1 (RFC 9052 §4.2, §4.4) restricted to ES384 (RFC 9053 §2.1: ECDSA P-384 with SHA-384,
// signature = r || s, 48 bytes each), the profile of AWS Nitro Enclaves attestation documents.
//
// One verification primitive, `verifyEcdsaP384Sha384`, serves both COSE signatures (IEEE P1363 r || s)
// and X.509 certificate signatures (DER ECDSA-Sig-Value, RFC 5480 §2.2 / RFC 3279 §2.2.3), so both are
// pinned by the same Wycheproof vectors. The curve arithmetic is WebCrypto's.
import { CborError, CborTag, decodeCbor, encodeCbor } from './cbor.js';

/** COSE header label `alg` (RFC 9052 §3.1). */
export const COSE_HEADER_ALG = 1;
/** COSE algorithm identifier of ES384 (RFC 9053 §2.1). */
export const COSE_ALG_ES384 = -35;
/** CBOR tag of a COSE_Sign1 message (RFC 9052 §2). */
export const COSE_SIGN1_TAG = 18;

const P384_FIELD_BYTES = 48;
const ES384_SIGNATURE_BYTES = 2 * P384_FIELD_BYTES;

export type CoseErrorCode = 'malformed_cose' | 'unsupported_algorithm';

/** Thrown by `parseCoseSign1` for bytes that are not a COSE_Sign1 message this profile accepts. */
export class CoseError extends Error {
  readonly code: CoseErrorCode;
  constructor(code: CoseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CoseError';
    this.code = code;
  }
}

/** A parsed (not yet verified) COSE_Sign1 message. Header maps are CBOR maps (`Map`, label → value). */
export interface CoseSign1 {
  /** The decoded protected header; always holds `1 (alg) => -35`. */
  readonly protectedHeader: Map<unknown, unknown>;
  /** The protected header exactly as serialised in the message (a bstr's contents); signed as-is. */
  readonly protectedBytes: Uint8Array;
  readonly unprotected: Map<unknown, unknown>;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignCoseSign1Options {
  payload: Uint8Array;
  /** ECDSA P-384 private key with the `sign` usage. */
  privateKey: CryptoKey;
}

/**
 * Signs `payload` as an untagged COSE_Sign1 with ES384 (RFC 9052 §4.4):
 * `[ h'A10138 22' ({1: -35}), {}, payload, r || s ]`, the shape the Nitro Secure Module emits.
 */
export async function signCoseSign1(options: SignCoseSign1Options): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new TypeError('signCoseSign1: options must be an object');
  const { payload, privateKey } = options;
  if (!(payload instanceof Uint8Array)) throw new TypeError('signCoseSign1: payload must be a Uint8Array');
  assertP384Key(privateKey, 'private', 'sign', 'signCoseSign1: privateKey');
  const protectedBytes = encodeCbor(new Map([[COSE_HEADER_ALG, COSE_ALG_ES384]]));
  const toBeSigned = sigStructure(protectedBytes, payload);
  const signature = new Uint8Array(
    await globalThis.crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, privateKey, toBeSigned),
  );
  return encodeCbor([protectedBytes, new Map(), payload.slice(), signature]);
}

/**
 * Parses a COSE_Sign1 message, tagged (18) or untagged (RFC 9052 §4.2). Does not verify it.
 * @throws TypeError for a non-Uint8Array; CoseError('malformed_cose') for anything but a well-formed
 * COSE_Sign1 with an attached payload; CoseError('unsupported_algorithm') unless the protected header
 * says alg ES384 (-35).
 */
export function parseCoseSign1(bytes: Uint8Array): CoseSign1 {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseCoseSign1: bytes must be a Uint8Array');
  let message = decodeOrThrow(bytes, 'COSE_Sign1 message');
  if (message instanceof CborTag) {
    if (Number(message.tag) !== COSE_SIGN1_TAG) {
      throw new CoseError('malformed_cose', `COSE message has tag ${String(message.tag)}, expected ${COSE_SIGN1_TAG} (COSE_Sign1)`);
    }
    message = message.contents;
  }
  if (!Array.isArray(message) || message.length !== 4) {
    throw new CoseError('malformed_cose', 'COSE_Sign1 must be an array of 4 items');
  }
  const [protectedBytes, unprotected, payload, signature] = message as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw new CoseError('malformed_cose', 'COSE_Sign1 protected header must be a byte string');
  if (!(unprotected instanceof Map)) throw new CoseError('malformed_cose', 'COSE_Sign1 unprotected header must be a map');
  if (payload === null) throw new CoseError('malformed_cose', 'COSE_Sign1 payload is detached (nil); an attached payload is required');
  if (!(payload instanceof Uint8Array)) throw new CoseError('malformed_cose', 'COSE_Sign1 payload must be a byte string');
  if (!(signature instanceof Uint8Array)) throw new CoseError('malformed_cose', 'COSE_Sign1 signature must be a byte string');

  // RFC 9052 §3: a zero-length protected bstr stands for the empty map.
  const protectedHeader = protectedBytes.length === 0 ? new Map() : decodeOrThrow(protectedBytes, 'protected header');
  if (!(protectedHeader instanceof Map)) throw new CoseError('malformed_cose', 'COSE_Sign1 protected header must encode a map');
  if (protectedHeader.has(2)) throw new CoseError('malformed_cose', 'COSE_Sign1 protected header has critical (crit) parameters, which are not supported');
  for (const label of protectedHeader.keys()) {
    if (unprotected.has(label)) throw new CoseError('malformed_cose', `COSE_Sign1 header label ${String(label)} appears in both buckets`);
  }
  const alg = protectedHeader.get(COSE_HEADER_ALG);
  if (alg !== COSE_ALG_ES384) {
    throw new CoseError(
      'unsupported_algorithm',
      alg === undefined ? 'COSE_Sign1 protected header has no alg; ES384 (-35) is required' : `COSE_Sign1 alg ${String(alg)} is not supported; only ES384 (-35) is`,
    );
  }
  return { protectedHeader, protectedBytes, unprotected, payload, signature };
}

/**
 * Verifies a parsed COSE_Sign1 ES384 signature over Sig_structure
 * `["Signature1", protected, h'', payload]` (RFC 9052 §4.4). Returns false for any bad signature.
 * @param publicKey ECDSA P-384 public key with the `verify` usage.
 */
export async function verifyCoseSign1(message: CoseSign1, publicKey: CryptoKey): Promise<boolean> {
  if (typeof message !== 'object' || message === null) throw new TypeError('verifyCoseSign1: message must be a parsed COSE_Sign1');
  const { protectedHeader, protectedBytes, payload, signature } = message;
  if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new TypeError('verifyCoseSign1: message must be a parsed COSE_Sign1 (byte fields missing)');
  }
  if (!(protectedHeader instanceof Map) || protectedHeader.get(COSE_HEADER_ALG) !== COSE_ALG_ES384) {
    throw new CoseError('unsupported_algorithm', 'verifyCoseSign1: only ES384 (-35) messages can be verified');
  }
  assertP384Key(publicKey, 'public', 'verify', 'verifyCoseSign1: publicKey');
  return verifyEcdsaP384Sha384({ publicKey, data: sigStructure(protectedBytes, payload), signature, format: 'raw' });
}

export interface VerifyEcdsaP384Sha384Options {
  /** ECDSA P-384 public key with the `verify` usage. */
  publicKey: CryptoKey;
  /** The signed message (hashed with SHA-384 here). */
  data: Uint8Array;
  signature: Uint8Array;
  /** `raw`: r || s, 48 bytes each (COSE, IEEE P1363). `der`: ECDSA-Sig-Value in strict DER (X.509). */
  format: 'raw' | 'der';
}

/**
 * ECDSA P-384 / SHA-384 verification. A DER signature must be strict DER (minimal lengths and integers,
 * no trailing bytes); anything else is a bad signature. Returns false, never throws, for bad signatures.
 */
export async function verifyEcdsaP384Sha384(options: VerifyEcdsaP384Sha384Options): Promise<boolean> {
  if (typeof options !== 'object' || options === null) throw new TypeError('verifyEcdsaP384Sha384: options must be an object');
  const { publicKey, data, signature, format } = options;
  assertP384Key(publicKey, 'public', 'verify', 'verifyEcdsaP384Sha384: publicKey');
  if (!(data instanceof Uint8Array)) throw new TypeError('verifyEcdsaP384Sha384: data must be a Uint8Array');
  if (!(signature instanceof Uint8Array)) throw new TypeError('verifyEcdsaP384Sha384: signature must be a Uint8Array');
  if (format !== 'raw' && format !== 'der') throw new TypeError("verifyEcdsaP384Sha384: format must be 'raw' or 'der'");
  const raw = format === 'raw' ? new Uint8Array(signature) : derSignatureToRaw(signature);
  if (raw === null || raw.length !== ES384_SIGNATURE_BYTES) return false;
  return globalThis.crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, publicKey, raw, new Uint8Array(data));
}

// RFC 9052 §4.4: Sig_structure for COSE_Sign1, with empty external_aad.
function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3) in DER (X.690 §10) to r || s.
// For P-384 the whole value is at most 104 bytes, so every DER length is in the short form.
function derSignatureToRaw(der: Uint8Array): Uint8Array<ArrayBuffer> | null {
  if (der.length < 2 || der[0] !== 0x30 || der[1]! >= 0x80 || der[1] !== der.length - 2) return null;
  const r = readDerPositiveInteger(der, 2);
  if (r === null) return null;
  const s = readDerPositiveInteger(der, r.end);
  if (s === null || s.end !== der.length) return null;
  const raw = new Uint8Array(ES384_SIGNATURE_BYTES);
  raw.set(r.value, P384_FIELD_BYTES - r.value.length);
  raw.set(s.value, ES384_SIGNATURE_BYTES - s.value.length);
  return raw;
}

function readDerPositiveInteger(der: Uint8Array, offset: number): { value: Uint8Array; end: number } | null {
  if (offset + 2 > der.length || der[offset] !== 0x02) return null;
  const length = der[offset + 1]!;
  const start = offset + 2;
  const end = start + length;
  if (length === 0 || length >= 0x80 || end > der.length) return null;
  const first = der[start]!;
  if (first & 0x80) return null; // negative
  if (first === 0 && length > 1 && (der[start + 1]! & 0x80) === 0) return null; // non-minimal
  const value = first === 0 && length > 1 ? der.subarray(start + 1, end) : der.subarray(start, end);
  if (value.length > P384_FIELD_BYTES) return null;
  return { value, end };
}

function decodeOrThrow(bytes: Uint8Array, what: string): unknown {
  try {
    return decodeCbor(bytes);
  } catch (cause) {
    if (cause instanceof CborError) throw new CoseError('malformed_cose', `${what} is not valid CBOR: ${cause.message}`, { cause });
    throw cause;
  }
}

function assertP384Key(key: unknown, type: KeyType, usage: KeyUsage, name: string): asserts key is CryptoKey {
  if (typeof CryptoKey === 'undefined' || !(key instanceof CryptoKey)) throw new TypeError(`${name} must be a CryptoKey`);
  const algorithm = key.algorithm as EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-384') {
    throw new TypeError(`${name} must be an ECDSA P-384 key (got ${algorithm.name}${algorithm.namedCurve ? ` ${algorithm.namedCurve}` : ''})`);
  }
  if (key.type !== type) throw new TypeError(`${name} must be a ${type} key (got a ${key.type} key)`);
  if (!key.usages.includes(usage)) throw new TypeError(`${name} must allow the '${usage}' usage`);
}
