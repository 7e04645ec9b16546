/** The error of the audit log client: a log key or a tree head the SDK will not believe. */
import type { SignedTreeHead } from '@tenzro/protocol';

export type AuditLogErrorCode =
  /** The served log key is malformed, or its logId is not the hash of the key. */
  | 'log_key_invalid'
  /** The served log key is not the one pinned with `logPublicKey`, or not the first one this client's store saw at the host. */
  | 'log_key_mismatch'
  /** The tree head is not signed by the log key, or names another log. */
  | 'tree_head_signature_invalid'
  /** The tree head is not consistent with the last one this client saw (a fork, a rollback, a rewrite). */
  | 'tree_head_inconsistent';

export class AuditLogError extends Error {
  readonly code: AuditLogErrorCode;
  /** For `tree_head_inconsistent`: the head seen before, the head just served, and how they differ. */
  readonly previous: SignedTreeHead | undefined;
  readonly current: SignedTreeHead | undefined;
  readonly reason: 'fork' | 'rollback' | 'inconsistent' | undefined;

  constructor(
    code: AuditLogErrorCode,
    message: string,
    options: {
      cause?: unknown;
      previous?: SignedTreeHead;
      current?: SignedTreeHead;
      reason?: 'fork' | 'rollback' | 'inconsistent';
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuditLogError';
    this.code = code;
    this.previous = options.previous;
    this.current = options.current;
    this.reason = options.reason;
  }
}
