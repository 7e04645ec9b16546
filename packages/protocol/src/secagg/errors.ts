// The one refusal of the secure-aggregation protocol: a literal code, the stage that refused, a message
// that never carries key material or party data.

export type SecAggStage = 'config' | 'advertise' | 'share-keys' | 'masked-input' | 'unmask' | 'aggregate';

export type SecAggErrorCode =
  | 'invalid_config'
  | 'invalid_message'
  | 'wrong_session'
  | 'unknown_party'
  | 'invalid_signature'
  | 'duplicate_party'
  | 'duplicate_key'
  | 'stage_out_of_order'
  | 'below_threshold'
  | 'both_shares_requested'
  | 'inconsistent_request'
  | 'decryption_failed'
  | 'reconstruction_failed';

export class SecAggError extends Error {
  readonly code: SecAggErrorCode;
  readonly stage: SecAggStage;
  constructor(code: SecAggErrorCode, stage: SecAggStage, message: string, options?: { cause?: unknown }) {
    super(`secagg ${stage}: ${message}`, options);
    this.name = 'SecAggError';
    this.code = code;
    this.stage = stage;
  }
}

/** A message the server set aside (it continues with the others; the threshold check decides the rest). */
export interface RejectedMessage {
  /** Position in the batch the server received. */
  index: number;
  partyId?: string;
  code: SecAggErrorCode;
  message: string;
}
