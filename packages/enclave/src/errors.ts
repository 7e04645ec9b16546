/**
 * The enclave's one error boundary: every failure an op raises becomes a TenzroError-shaped reply
 * `{ code, message, details? }`. Messages are fixed strings written here or in the ops; they never carry
 * party data, key material or plaintext. Anything unexpected is `internal_error` with a generic message,
 * and its stack (no data) goes to stderr.
 */
import { TenzroError, type ErrorCode, type ErrorDetail } from '@tenzro/protocol';
import { KeyStoreError } from './key-store.js';
import { logError } from './log.js';

export interface ReplyError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** Shorthand for refusing inside an op. */
export function refuse(code: ErrorCode, message: string, details?: ErrorDetail[]): TenzroError {
  return new TenzroError(code, message, details ? { details } : {});
}

export function toReplyError(error: unknown, context: string): ReplyError {
  if (error instanceof TenzroError) {
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (error instanceof KeyStoreError) {
    switch (error.code) {
      case 'key_destroyed':
        return { code: 'data_deleted', message: 'the session key was destroyed; its data can no longer be read' };
      case 'unseal_failed':
        return {
          code: 'invalid_request',
          message: 'the sealed session key cannot be unsealed by this enclave (tampered, of another session, or sealed by another measurement)',
        };
    }
  }
  logError(context, error);
  return { code: 'internal_error', message: 'the enclave failed while handling the request' };
}
