/**
 * The one error vocabulary of the platform: every refusal, on the HTTP API, over the enclave channel or in
 * the SDK, carries one of these literal codes. The HTTP status lives here too so that server and SDK agree.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  party_ambiguous: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  already_submitted: 409,
  already_consented: 409,
  session_not_ready: 409,
  session_completed: 409,
  run_in_progress: 409,
  session_expired: 410,
  session_cancelled: 410,
  data_deleted: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unknown_model: 422,
  unknown_schema: 422,
  unknown_party: 422,
  invalid_data_policy: 422,
  method_not_available: 422,
  decryption_failed: 422,
  commitment_mismatch: 422,
  schema_validation_failed: 422,
  consent_signature_invalid: 422,
  submission_rejected: 422,
  duplicate_submission: 422,
  /** A plain data upload on a secure_aggregation session: the party must use contribute (masked statistics). */
  secure_aggregation_required: 422,
  /** A secure-aggregation stage message the host refused (signature, session, roster, stage, duplicate). */
  secagg_rejected: 422,
  /** The stage this message belongs to is not open (closed, or not started yet). */
  secagg_stage_closed: 409,
  /** Fewer than `threshold` parties remained at a stage: nothing can be unmasked. */
  secagg_below_threshold: 422,
  /** A plain data upload on an mpc session: the party must use contribute (Shamir shares sealed to the nodes). */
  mpc_shares_required: 422,
  /** An /mpc/* route on a session of another method. */
  not_mpc_session: 409,
  /** Fewer compute nodes answered than the step needs (t online, 2t − 1 for preprocessing). */
  mpc_nodes_unavailable: 503,
  /** A compute node refused a step of the run. */
  mpc_run_failed: 502,
  /** Fewer than threshold node outputs passed the enclave's checks. */
  mpc_below_threshold: 422,
  /** A node output the enclave must refuse outright (two for one index, inputs that disagree). */
  mpc_rejected: 422,
  /** A compute node refused a party's share bundle at upload (its envelope does not open or check). */
  mpc_share_refused: 422,
  /** A compute node's attestation did not verify (SDK). */
  node_unverified: 422,
  /** The release policy refused the language model's text (it named what a recipient may not see): nothing released. */
  narrative_refused: 422,
  /** The run named a language-model backend the enclave does not offer, or the backend failed to answer. */
  narrative_unavailable: 502,
  rate_limited: 429,
  internal_error: 500,
  enclave_unavailable: 503,
  run_failed: 500,
  insufficient_storage: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, value);
}

/** A field-level problem, e.g. a record that breaks the data schema. Never carries the offending value. */
export interface ErrorDetail {
  index?: number;
  field?: string;
  message: string;
}

/** The wire shape of every error: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}

/** A refusal that may cross a boundary: its message must never contain party data or key material. */
export class TenzroError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetail[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TenzroError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options.details;
  }

  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

export function assertNever(value: never, what = 'value'): never {
  throw new TypeError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
