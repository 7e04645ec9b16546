/** What every op handler gets: the attestation provider and the key store of this enclave process. */
import type { AttestationIssuer } from './attestation/issuer.js';
import type { KeyStore } from './key-store.js';

export interface EnclaveContext {
  readonly nsm: AttestationIssuer;
  readonly keys: KeyStore;
}
