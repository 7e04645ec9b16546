/**
 * What a person brings to sign in, read in the page: the party key file (`tenzro keygen`, or the dev
 * bootstrap's `party__<tenant>__<name>.key.json`) and the trust settings (the simulated enclave's root and
 * the pinned measurements), typed or taken from a development `credentials.json`. Nothing here is fetched
 * from the host: trusting the host's word about its own enclave would defeat attestation.
 */
import { loadPartyIdentity, type PartyIdentity } from '@tenzro/platform';

export interface TrustInput {
  /** PEM of an extra root to trust (the simulated enclave's); empty: only the AWS Nitro root. */
  rootPem: string;
  /** The enclave measurement (hex of PCR0) results and session keys must show. */
  measurement: string;
  /** The mpc compute nodes' measurement; empty when the party does not use mpc sessions. */
  mpcNodeMeasurement: string;
}

export class CredentialsFileError extends Error {
  readonly code = 'invalid_credentials_file' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialsFileError';
  }
}

const PCR0_HEX = /^(?:[0-9a-fA-F]{2}){32,64}$/;

/** Reads a key file's text; the keys are checked (each public half derives from its private half). */
export async function readPartyKeyFile(text: string): Promise<PartyIdentity> {
  return loadPartyIdentity(text);
}

/** The tenant a party id belongs to (`party::<tenantId>::<name>`). */
export function tenantOfPartyId(partyId: string): string {
  return partyId.split('::')[1] ?? '';
}

/**
 * Takes `attestation.rootPem`, `measurement` and `mpcNodeMeasurement` from a development credentials file.
 * Only those three fields are read; the file's other contents (API keys, private keys) are not kept.
 */
export function readTrustFromCredentials(text: string): TrustInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CredentialsFileError('the credentials file is not valid JSON', { cause });
  }
  const attestation = typeof json === 'object' && json !== null ? (json as { attestation?: unknown }).attestation : undefined;
  if (typeof attestation !== 'object' || attestation === null) {
    throw new CredentialsFileError('the credentials file has no "attestation" object');
  }
  const field = (name: string): string => {
    const value = (attestation as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : '';
  };
  const trust = { rootPem: field('rootPem'), measurement: field('measurement'), mpcNodeMeasurement: field('mpcNodeMeasurement') };
  if (trust.measurement === '') throw new CredentialsFileError('the credentials file names no attestation.measurement');
  return trust;
}

/** A message per wrong field, or an empty object. */
export function checkTrust(trust: TrustInput): Partial<Record<keyof TrustInput, string>> {
  const errors: Partial<Record<keyof TrustInput, string>> = {};
  if (!PCR0_HEX.test(trust.measurement.trim())) errors.measurement = 'Enter the enclave measurement: the hex of PCR0 (64 to 128 hex digits).';
  if (trust.mpcNodeMeasurement.trim() !== '' && !PCR0_HEX.test(trust.mpcNodeMeasurement.trim())) {
    errors.mpcNodeMeasurement = 'The compute-node measurement must be the hex of PCR0, or empty.';
  }
  const pem = trust.rootPem.trim();
  if (pem !== '' && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/.test(pem)) {
    errors.rootPem = 'The root must be one PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----), or empty.';
  }
  return errors;
}

/** Reads a file picked in an <input type=file>, reporting progress (bytes read of the file's size). */
export function readFileText(file: Blob, onProgress?: (loaded: number, total: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onprogress = (event) => onProgress?.(event.loaded, event.lengthComputable ? event.total : file.size);
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsText(file);
  });
}
