/**
 * What can stop the client role of secure aggregation on the party's side. A refusal of the protocol
 * itself (a forged advertisement, an unmask request asking for both shares of one party, …) is the
 * protocol's own `SecAggError` with its literal code, re-exported by the SDK; everything else is a
 * `SecureAggregationError`. Messages never carry records, statistics or key material.
 */
import type { ErrorDetail } from '@tenzro/protocol';

export type SecureAggregationErrorCode =
  /** The records break the data schema; `details` lists the problems (record index, field, message). */
  | 'schema_validation_failed'
  /** The data schema is not one this SDK knows. */
  | 'unknown_schema'
  /** The session's model declares no statistic layout (or not for this data schema). */
  | 'unsupported_model'
  /** The session does not use secure_aggregation (participate), or the SDK's party is not a participant. */
  | 'not_applicable'
  /** The round failed on the host (`reason` holds its code, e.g. secagg_below_threshold). */
  | 'round_failed'
  /** A stage closed without this party: it is not in U1 / U2 (it advertised or shared keys too late). */
  | 'left_out'
  /** The host's round does not match the session terms and the model (threshold, layout, vector length). */
  | 'round_mismatch'
  /** The state store holds a contribution to this session computed from other data. */
  | 'state_mismatch'
  /** The state store has nothing for this session and party (participate without contribute). */
  | 'no_state'
  /** The state store holds a value that does not parse, or that belongs to another session or party. */
  | 'invalid_state'
  /** The session's DP target needs a noise share no party can sample or encode (nothing was sent). */
  | 'noise_out_of_range'
  /** The records' statistics exceed the ranges the model's layout declares (nothing was sent). */
  | 'statistic_out_of_range';

export class SecureAggregationError extends Error {
  readonly code: SecureAggregationErrorCode;
  readonly details: ErrorDetail[] | undefined;
  /** For `round_failed`: the host's reason. */
  readonly reason: { code: string; message: string } | undefined;

  constructor(
    code: SecureAggregationErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; reason?: { code: string; message: string }; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SecureAggregationError';
    this.code = code;
    this.details = options.details;
    this.reason = options.reason;
  }
}
