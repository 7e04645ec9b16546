/**
 * What can stop an `mpc` contribution on the party's side (docs/mpc.md, "Party: contribute"). Nothing has
 * been sent to the host when one of these is thrown. Messages never carry records, statistics or shares.
 */
import { ERROR_STATUS, type ErrorDetail } from '@tenzro/protocol';

export type MpcContributionErrorCode =
  /** A compute node's attestation did not verify (`nodeIndex`, `attestationCode` say which and why). */
  | 'node_unverified'
  /** The host's node list does not match the session terms (count, threshold, program, order, keys). */
  | 'nodes_mismatch'
  /** The records break the data schema; `details` lists the problems (record index, field, message). */
  | 'schema_validation_failed'
  /** The data schema is not one of the session model's (or this SDK does not know it). */
  | 'unknown_schema'
  /** The session's model has no mpc program this SDK knows. */
  | 'unsupported_model'
  /** The SDK's party is not a participant of the session. */
  | 'not_applicable'
  /** The records' statistics do not fit the mpc codec's range. */
  | 'statistic_out_of_range';

/** Why a node failed: a MpcNodeAttestationError code, or the underlying AttestationError code. */
export interface NodeFailure {
  nodeIndex: number;
  attestationCode: string;
}

export class MpcContributionError extends Error {
  readonly code: MpcContributionErrorCode;
  /** 422 for every code (the API's status for the same refusals). */
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  /** For `node_unverified`: the node (1..totalParties) that failed. */
  readonly nodeIndex: number | undefined;
  /** For `node_unverified`: the attestation code (e.g. `measurement_mismatch`, `nonce_mismatch`, `statement_mismatch`). */
  readonly attestationCode: string | undefined;

  constructor(
    code: MpcContributionErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; node?: NodeFailure; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MpcContributionError';
    this.code = code;
    this.status = code === 'node_unverified' || code === 'schema_validation_failed' || code === 'unknown_schema' ? ERROR_STATUS[code] : 422;
    this.details = options.details;
    this.nodeIndex = options.node?.nodeIndex;
    this.attestationCode = options.node?.attestationCode;
  }
}
