// The simulated attestation provider (DESIGN §5.8): a software stand-in for the Nitro Secure Module that
// produces documents in the exact Nitro format (COSE_Sign1 ES384 over the Nitro CBOR payload), chained to
// a software root CA that this process creates on first start and keeps in `stateDir`. Every document it
// issues says it is simulated: its module_id starts with 'tenzro-simulated'. A verifier accepts them only
// if it is told to trust `rootPem`.
//
// What it does not protect against (stated in docs/ARCHITECTURE.md as well): whoever can read
// `stateDir/simulated-ca.json` (the host operator) can forge documents and derive sealing keys. It proves
// the protocol end to end; the hardware guarantee comes only with the real Nitro provider.
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SecretBytes,
  encodeCbor,
  fromBase64Url,
  fromHex,
  randomBytes,
  sha256Hex,
  signCoseSign1,
  toBase64Url,
  toHex,
  utf8Encode,
} from '@tenzro/crypto';
import type { AttestationIssuer, IssueAttestationRequest } from './issuer.js';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, SubjectKeyIdentifierExtension, X509Certificate, X509CertificateGenerator } from './x509.js';

/** File in `stateDir` holding the simulated root CA and root secret (mode 0600). */
export const SIMULATED_CA_FILE = 'simulated-ca.json';
/** Subject of the simulated root certificate. */
export const SIMULATED_ROOT_SUBJECT = 'CN=Tenzro Simulated Nitro Root';
/** Prefix of every module_id this provider writes (the verifier's 'simulated' marker). */
export const SIMULATED_MODULE_ID = 'tenzro-simulated-enclave';

const STATE_TYPE = 'tenzro.simulated-nsm-state/v1';
const MEASUREMENT_PATTERN = /^[0-9a-f]{96}$/;
const ROOT_SECRET_BYTES = 32;
const PCR_COUNT = 16;
const PCR_BYTES = 48;
const MAX_USER_BYTES = 1024;
const SECOND = 1000;
const LEAF_LIFETIME_MS = 3 * 60 * 60 * SECOND;
const ROOT_LIFETIME_MS = Math.round(10 * 365.25 * 24 * 60 * 60 * SECOND);
// Certificates start a minute in the past, so a verifier whose clock lags slightly still accepts them.
const BACKDATE_MS = 60 * SECOND;
const P384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const ES384_SIGNING = { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams;

export type SimulatedNsmErrorCode = 'invalid_state' | 'root_expired';

/** Thrown by `SimulatedNsm.loadOrCreate` when the persisted CA cannot be used. */
export class SimulatedNsmError extends Error {
  readonly code: SimulatedNsmErrorCode;
  constructor(code: SimulatedNsmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulatedNsmError';
    this.code = code;
  }
}

interface PersistedState {
  type: typeof STATE_TYPE;
  createdAt: string;
  rootCertificatePem: string;
  /** PKCS#8 of the root's ECDSA P-384 private key, base64url. */
  rootPrivateKeyPkcs8: string;
  /** 32 random bytes, base64url: the input keying material of every sealing key. */
  rootSecret: string;
}

export interface SimulatedNsmOptions {
  /** Directory for the provider's state (created with mode 0700 if missing). */
  stateDir: string;
  /** Lowercase hex of the 48-byte enclave measurement (PCR0). */
  measurement: string;
}

export class SimulatedNsm implements AttestationIssuer {
  readonly provider = 'simulated' as const;
  readonly moduleId: string;
  readonly measurement: string;
  readonly rootPem: string;
  readonly #rootCertificate: X509Certificate;
  readonly #rootDer: Uint8Array;
  readonly #rootKey: CryptoKey;
  readonly #rootSecret: SecretBytes;
  readonly #pcr0: Uint8Array;

  private constructor(measurement: string, rootCertificate: X509Certificate, rootKey: CryptoKey, rootSecret: SecretBytes) {
    this.measurement = measurement;
    this.#pcr0 = fromHex(measurement, 'measurement');
    this.#rootCertificate = rootCertificate;
    this.#rootDer = new Uint8Array(rootCertificate.rawData);
    this.#rootKey = rootKey;
    this.#rootSecret = rootSecret;
    this.rootPem = rootCertificate.toString('pem');
    // Stable per CA, distinct between CAs: the first 8 bytes of SHA-256(root DER).
    this.moduleId = `${SIMULATED_MODULE_ID}-${sha256Hex(this.#rootDer).slice(0, 16)}`;
  }

  /**
   * Loads the simulated CA from `stateDir/simulated-ca.json`, or creates it there on first start: a
   * self-signed ECDSA P-384 root ('CN=Tenzro Simulated Nitro Root', 10 years) and a 32-byte root secret.
   * @throws TypeError / RangeError for bad options; SimulatedNsmError for an unusable state file.
   */
  static async loadOrCreate(options: SimulatedNsmOptions): Promise<SimulatedNsm> {
    if (typeof options !== 'object' || options === null) throw new TypeError('SimulatedNsm.loadOrCreate: options must be an object');
    const { stateDir, measurement } = options;
    if (typeof stateDir !== 'string' || stateDir.length === 0) throw new TypeError('SimulatedNsm.loadOrCreate: stateDir must be a non-empty path');
    if (typeof measurement !== 'string') throw new TypeError('SimulatedNsm.loadOrCreate: measurement must be a hex string');
    if (!MEASUREMENT_PATTERN.test(measurement)) {
      throw new RangeError('SimulatedNsm.loadOrCreate: measurement must be 96 lowercase hex characters (a 48-byte SHA-384 digest)');
    }
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, SIMULATED_CA_FILE);
    const state = (await readState(path)) ?? (await createState(path));
    const { certificate, privateKey, rootSecret } = await openState(state, path);
    return new SimulatedNsm(measurement, certificate, privateKey, rootSecret);
  }

  /**
   * Issues a fresh document: a new P-384 leaf certificate (3 hours, signed by the root) signs a
   * COSE_Sign1 ES384 over the Nitro payload, with pcrs 0..15 (PCR0 = measurement, the rest zero).
   */
  async issue(request: IssueAttestationRequest = {}): Promise<Uint8Array> {
    if (typeof request !== 'object' || request === null) throw new TypeError('SimulatedNsm.issue: request must be an object');
    const publicKey = optionalBytes(request.publicKey, 'publicKey', 1);
    const userData = optionalBytes(request.userData, 'userData', 0);
    const nonce = optionalBytes(request.nonce, 'nonce', 0);

    const now = Date.now();
    const leafKeys = (await globalThis.crypto.subtle.generateKey(P384, false, ['sign', 'verify'])) as CryptoKeyPair;
    const leaf = await X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${this.moduleId}`,
      issuer: this.#rootCertificate.subjectName,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + LEAF_LIFETIME_MS),
      publicKey: leafKeys.publicKey,
      signingKey: this.#rootKey,
      signingAlgorithm: ES384_SIGNING,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      ],
    });

    const pcrs = new Map<number, Uint8Array>();
    for (let index = 0; index < PCR_COUNT; index += 1) pcrs.set(index, index === 0 ? this.#pcr0.slice() : new Uint8Array(PCR_BYTES));
    const payload = encodeCbor(
      new Map<string, unknown>([
        ['module_id', this.moduleId],
        ['digest', 'SHA384'],
        ['timestamp', now],
        ['pcrs', pcrs],
        ['certificate', new Uint8Array(leaf.rawData)],
        ['cabundle', [this.#rootDer.slice()]],
        ['public_key', publicKey],
        ['user_data', userData],
        ['nonce', nonce],
      ]),
    );
    return signCoseSign1({ payload, privateKey: leafKeys.privateKey });
  }

  /**
   * HKDF-SHA256 (RFC 5869) with ikm = the root secret, salt = the measurement's 48 bytes, info = UTF-8 of
   * `info`: 32 bytes that only this CA's state and this exact enclave measurement can reproduce.
   */
  async deriveSealingKey(info: string): Promise<Uint8Array> {
    if (typeof info !== 'string' || info.length === 0) throw new TypeError('SimulatedNsm.deriveSealingKey: info must be a non-empty string');
    const ikm = await globalThis.crypto.subtle.importKey('raw', new Uint8Array(this.#rootSecret.expose()), 'HKDF', false, ['deriveBits']);
    const bits = await globalThis.crypto.subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(this.#pcr0), info: new Uint8Array(utf8Encode(info)) },
      ikm,
      256,
    );
    return new Uint8Array(bits);
  }
}

async function readState(path: string): Promise<PersistedState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SimulatedNsmError('invalid_state', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SimulatedNsmError('invalid_state', `${path} is not valid JSON`, { cause });
  }
  const state = value as Partial<PersistedState> | null;
  if (
    typeof state !== 'object' || state === null || state.type !== STATE_TYPE ||
    typeof state.rootCertificatePem !== 'string' || typeof state.rootPrivateKeyPkcs8 !== 'string' || typeof state.rootSecret !== 'string'
  ) {
    throw new SimulatedNsmError('invalid_state', `${path} is not a ${STATE_TYPE} state file`);
  }
  return state as PersistedState;
}

// Creates the CA and publishes it atomically: written to a private temporary file, then hard-linked to
// its final name, which fails if another process got there first (then that one's state is used).
async function createState(path: string): Promise<PersistedState> {
  const keys = (await globalThis.crypto.subtle.generateKey(P384, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: SIMULATED_ROOT_SUBJECT,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_LIFETIME_MS),
    keys,
    signingAlgorithm: ES384_SIGNING,
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = new Uint8Array(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const rootSecret = randomBytes(ROOT_SECRET_BYTES);
  const state: PersistedState = {
    type: STATE_TYPE,
    createdAt: new Date(now).toISOString(),
    rootCertificatePem: certificate.toString('pem'),
    rootPrivateKeyPkcs8: toBase64Url(pkcs8),
    rootSecret: toBase64Url(rootSecret),
  };
  pkcs8.fill(0);
  rootSecret.fill(0);

  const temporary = `${path}.${toHex(randomBytes(8))}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, path);
    return state;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
    const existing = await readState(path);
    if (!existing) throw new SimulatedNsmError('invalid_state', `${path} vanished while it was being created`, { cause });
    return existing;
  } finally {
    await unlink(temporary);
  }
}

async function openState(
  state: PersistedState,
  path: string,
): Promise<{ certificate: X509Certificate; privateKey: CryptoKey; rootSecret: SecretBytes }> {
  let certificate: X509Certificate;
  let privateKey: CryptoKey;
  let secret: Uint8Array;
  try {
    certificate = new X509Certificate(state.rootCertificatePem);
    const pkcs8 = fromBase64Url(state.rootPrivateKeyPkcs8, 'rootPrivateKeyPkcs8');
    privateKey = await globalThis.crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), P384, false, ['sign']);
    pkcs8.fill(0);
    secret = fromBase64Url(state.rootSecret, 'rootSecret');
  } catch (cause) {
    throw new SimulatedNsmError('invalid_state', `${path} holds an unreadable root certificate, key or secret`, { cause });
  }
  if (secret.length !== ROOT_SECRET_BYTES) throw new SimulatedNsmError('invalid_state', `${path}: rootSecret must be ${ROOT_SECRET_BYTES} bytes`);
  // The key must be the certificate's: sign a probe with it and check it under the certificate's key.
  const probe = randomBytes(32);
  const signature = await globalThis.crypto.subtle.sign(ES384_SIGNING, privateKey, new Uint8Array(probe));
  const publicKey = await globalThis.crypto.subtle
    .importKey('spki', new Uint8Array(certificate.publicKey.rawData), P384, false, ['verify'])
    .catch(() => null);
  if (!publicKey || !(await globalThis.crypto.subtle.verify(ES384_SIGNING, publicKey, signature, new Uint8Array(probe)))) {
    throw new SimulatedNsmError('invalid_state', `${path}: the root private key does not match the root certificate`);
  }
  if (Date.now() > certificate.notAfter.getTime()) {
    throw new SimulatedNsmError('root_expired', `${path}: the simulated root expired at ${certificate.notAfter.toISOString()}; remove the file to create a new CA`);
  }
  const rootSecret = SecretBytes.from(secret);
  secret.fill(0);
  return { certificate, privateKey, rootSecret };
}

function optionalBytes(value: unknown, name: string, min: number): Uint8Array | null {
  if (value === undefined) return null;
  if (!(value instanceof Uint8Array)) throw new TypeError(`SimulatedNsm.issue: request.${name} must be a Uint8Array`);
  if (value.length < min || value.length > MAX_USER_BYTES) {
    throw new RangeError(`SimulatedNsm.issue: request.${name} must be ${min} to ${MAX_USER_BYTES} bytes, got ${value.length}`);
  }
  return value.slice();
}

// A positive 127-bit serial number (RFC 5280 §4.1.2.2: positive, at most 20 octets).
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return toHex(bytes);
}
