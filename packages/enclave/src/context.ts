/** What every op handler gets: the attestation provider and the key store of this enclave process. */
import type { AttestationProvider, KeyStore } from './key-store.js';

export interface EnclaveContext {
  readonly nsm: AttestationProvider;
  readonly keys: KeyStore;
}
