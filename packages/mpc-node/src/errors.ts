// The refusals of a compute node's transport: a literal code, an HTTP status, a message that never carries
// share values.

export type NodeTransportErrorCode =
  | 'invalid_request'
  | 'body_too_large'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'unknown_session'
  | 'wrong_recipient'
  | 'unattested_sender'
  | 'bad_signature'
  | 'replay'
  | 'decryption_failed'
  | 'header_mismatch'
  | 'invalid_message'
  | 'peer_unavailable'
  | 'timeout'
  | 'mpc_failed';

export const NODE_ERROR_STATUS: Record<NodeTransportErrorCode, number> = {
  invalid_request: 400,
  body_too_large: 413,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  unknown_session: 409,
  wrong_recipient: 409,
  unattested_sender: 403,
  bad_signature: 403,
  replay: 409,
  decryption_failed: 422,
  header_mismatch: 422,
  invalid_message: 422,
  peer_unavailable: 502,
  timeout: 504,
  mpc_failed: 422,
};

export class NodeTransportError extends Error {
  readonly code: NodeTransportErrorCode;
  readonly status: number;
  constructor(code: NodeTransportErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'NodeTransportError';
    this.code = code;
    this.status = options?.status ?? NODE_ERROR_STATUS[code];
  }
}
