/** What every op handler gets: the attestation provider and the key store of this enclave process. */
import type { AttestationIssuer } from './attestation/issuer.js';
import type { KeyStore } from './key-store.js';
import type { CaptureSink } from './secagg-capture.js';

export interface EnclaveContext {
  readonly nsm: AttestationIssuer;
  readonly keys: KeyStore;
  /** Simulated provider only, when TENZRO_ENCLAVE_CAPTURE_DIR is set (secagg-capture.ts). */
  readonly capture?: CaptureSink | undefined;
}
