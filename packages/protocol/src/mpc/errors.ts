// The one refusal of the `mpc` protocols: a literal code, the stage that refused, a message that never
// carries share values or party data.

export type MpcStage = 'config' | 'message' | 'multiply' | 'truncate' | 'open';

export type MpcErrorCode =
  /** A malformed configuration or argument (not an integer, out of bounds, wrong type). */
  | 'invalid_config'
  /** threshold < 2: one share would reveal the secret. */
  | 'threshold_too_small'
  /** threshold > totalParties: the secret could never be reconstructed. */
  | 'threshold_above_parties'
  /** 2·threshold − 1 > totalParties: GRR degree reduction needs 2t − 1 nodes' product shares. */
  | 'degree_reduction_impossible'
  /** The truncation's masked value could wrap around M (valueBits too large for the field). */
  | 'truncation_range_exceeded'
  | 'invalid_message'
  | 'wrong_session'
  | 'wrong_operation'
  | 'misdirected_message'
  | 'unknown_party'
  | 'duplicate_message'
  | 'length_mismatch'
  /** Fewer nodes answered than the step needs (2t − 1 for a multiplication, t for an opening). */
  | 'too_few_parties'
  | 'inconsistent_shares'
  /** A revealed value lies outside what valid inputs allow (a party shared a value outside the declared range). */
  | 'out_of_range';

export class MpcError extends Error {
  readonly code: MpcErrorCode;
  readonly stage: MpcStage;
  constructor(code: MpcErrorCode, stage: MpcStage, message: string, options?: { cause?: unknown }) {
    super(`mpc ${stage}: ${message}`, options);
    this.name = 'MpcError';
    this.code = code;
    this.stage = stage;
  }
}
