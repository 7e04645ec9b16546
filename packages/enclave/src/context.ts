/** What every op handler gets: the attestation provider and the key store of this enclave process. */
import type { AttestationIssuer } from './attestation/issuer.js';
import type { KeyStore } from './key-store.js';
import type { NarrativeBackends } from './narrative/registry.js';
import type { CaptureSink } from './secagg-capture.js';

export interface EnclaveContext {
  readonly nsm: AttestationIssuer;
  readonly keys: KeyStore;
  /** Simulated provider only, when TENZRO_ENCLAVE_CAPTURE_DIR is set (secagg-capture.ts). */
  readonly capture?: CaptureSink | undefined;
  /**
   * Compute-node measurements (hex PCR0) whose attestations `run` accepts for mpc sessions: the node bundle
   * of this checkout (measureMpcNodeBundle) and TENZRO_MPC_NODE_MEASUREMENTS. Node documents must chain to
   * this provider's root (`nsm.rootPem`). Empty or absent: every node output is set aside.
   */
  readonly mpcNodeMeasurements?: readonly string[] | undefined;
  /** Language-model backends for `content` (narrative/registry.ts); absent: deterministic only. */
  readonly narrative?: NarrativeBackends | undefined;
}
