// Public face of attestation documents (DESIGN §5.8): types, the strict parser and the validator.
export { AttestationError } from './errors.js';
export type { AttestationErrorCode } from './errors.js';
export { MAX_ATTESTATION_DOCUMENT_BYTES, SIMULATED_MODULE_ID_PREFIX, parseAttestationDocument } from './document.js';
export type { AttestationDocument, AttestationProvider } from './document.js';
export { ATTESTATION_CLOCK_SKEW_MS, verifyAttestation } from './verify.js';
export type { VerifiedAttestation, VerifyAttestationOptions } from './verify.js';
