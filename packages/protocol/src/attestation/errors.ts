// The one error type of attestation parsing and verification (DESIGN §5.8).

export type AttestationErrorCode =
  | 'malformed_document'
  | 'unsupported_algorithm'
  | 'untrusted_root'
  | 'certificate_chain_invalid'
  | 'certificate_expired'
  | 'signature_invalid'
  | 'measurement_mismatch'
  | 'public_key_mismatch'
  | 'user_data_mismatch'
  | 'nonce_mismatch'
  | 'stale_document';

/** Thrown by `parseAttestationDocument` and `verifyAttestation` when a document must not be trusted. */
export class AttestationError extends Error {
  readonly code: AttestationErrorCode;
  constructor(code: AttestationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttestationError';
    this.code = code;
  }
}
