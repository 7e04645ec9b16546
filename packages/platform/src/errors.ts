/**
 * The SDK's errors. Every refusal of the API arrives as a `TenzroApiError` carrying the platform's literal
 * code (protocol `ERROR_STATUS`); failures that happen on the SDK's side of the wire have their own codes
 * (`network_error`, `invalid_response`, `timeout`, `aborted`). Evidence the SDK will not believe raises
 * `AttestationError` (from @tenzro/protocol), `SessionVerificationError` or `ResultVerificationError`.
 * Messages never carry party data or key material.
 */
import { ERROR_STATUS, isErrorCode, type ErrorCode, type ErrorDetail } from '@tenzro/protocol';

/** Codes raised by the SDK itself, on top of the API's. `status` is 0 for these unless a reply had one. */
export type ClientErrorCode = 'network_error' | 'invalid_response' | 'timeout' | 'aborted';

export type TenzroApiErrorCode = ErrorCode | ClientErrorCode;

export class TenzroApiError extends Error {
  readonly code: TenzroApiErrorCode;
  /** The HTTP status of the reply; 0 when no reply came (network failure, timeout, abort). */
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;

  constructor(
    code: TenzroApiErrorCode,
    message: string,
    options: { status?: number; details?: ErrorDetail[] | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TenzroApiError';
    this.code = code;
    this.status = options.status ?? (isErrorCode(code) ? ERROR_STATUS[code] : 0);
    this.details = options.details;
  }
}

/** The host's session record does not match what it claims: its terms do not hash to its id, the
 *  record's roster, model or key belongs to another session, or the terms are not what the caller asked
 *  for (`session_terms_mismatch`); or `contribute` was handed a key whose attestation is not verified
 *  (`session_key_unverified`, only possible in the local insecure mode). */
export class SessionVerificationError extends Error {
  readonly code: 'session_terms_mismatch' | 'session_key_unverified';

  constructor(code: SessionVerificationError['code'], message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SessionVerificationError';
    this.code = code;
  }
}

/** A sealed result that does not open, or does not match its attested report, or leaves out the
 *  reading participant although it submitted data (`party_not_included`). */
export class ResultVerificationError extends Error {
  readonly code: 'decryption_failed' | 'invalid_result_body' | 'result_hash_mismatch' | 'result_binding_mismatch' | 'party_not_included';

  constructor(code: ResultVerificationError['code'], message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ResultVerificationError';
    this.code = code;
  }
}
