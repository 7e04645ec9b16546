// The attestation issuer: the enclave side of DESIGN §5.8. The simulated provider (SimulatedNsm) and a
// future Nitro NSM binding both implement it; the validator is `verifyAttestation` in @tenzro/protocol.

export interface IssueAttestationRequest {
  /** Goes to the document's `public_key` (at most 1024 bytes, at least 1). */
  publicKey?: Uint8Array;
  /** Goes to `user_data` (at most 1024 bytes). */
  userData?: Uint8Array;
  /** Goes to `nonce` (at most 1024 bytes). */
  nonce?: Uint8Array;
}

export interface AttestationIssuer {
  readonly provider: 'nitro' | 'simulated';
  readonly moduleId: string;
  /** Lowercase hex of PCR0 (48 bytes: SHA-384 of the enclave bundle). */
  readonly measurement: string;
  /** The root certificate (PEM) that a verifier must trust to accept this issuer's documents. */
  readonly rootPem: string;
  /** A fresh attestation document (untagged COSE_Sign1, ES384, Nitro payload). */
  issue(request: IssueAttestationRequest): Promise<Uint8Array>;
  /** 32 bytes bound to this issuer's root secret and to the measurement. */
  deriveSealingKey(info: string): Promise<Uint8Array>;
}
