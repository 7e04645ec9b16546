/**
 * The host's side of the enclave channel, shared by everything that speaks it (the supervisor over a
 * child's stdio, the pool over enclave workers' TCP): a request is checked against `EnclaveRequest` before it
 * is framed, and the reply envelope is parsed with
 * `EnclaveReply`, its result with the op's schema in `ENCLAVE_RESULT_SCHEMAS`, and an enclave refusal
 * becomes an `EnclaveCallError` carrying the enclave's own code. Nothing is believed before it parses.
 */
import {
  ENCLAVE_RESULT_SCHEMAS,
  EnclaveReply,
  EnclaveRequest,
  TenzroError,
  encodeFrame,
  isErrorCode,
  type EnclaveOp,
  type ErrorDetail,
} from '@tenzro/protocol';
import type { Logger } from './logger.js';

/** A refusal or failure reported by the enclave, with the code it used. */
export class EnclaveCallError extends TenzroError {
  readonly op: EnclaveOp;
  readonly enclaveCode: string;
  constructor(op: EnclaveOp, enclaveCode: string, message: string, details?: ErrorDetail[]) {
    super(isErrorCode(enclaveCode) ? enclaveCode : 'internal_error', message, details ? { details } : {});
    this.op = op;
    this.enclaveCode = enclaveCode;
  }
}

/**
 * The frame of request `id`: `{ ...params, id, op }` checked against the channel's schema (a failure is a
 * host bug) and framed (a request too large for the channel is refused). Throws TenzroError.
 */
export function encodeRequest(op: EnclaveOp, id: number, params: object): Uint8Array {
  const parsed = EnclaveRequest.safeParse({ ...params, id, op });
  if (!parsed.success) throw new TenzroError('internal_error', `host bug: an invalid ${op} request was about to be sent`);
  try {
    return encodeFrame(parsed.data);
  } catch (cause) {
    throw new TenzroError('internal_error', `the ${op} request is too large for the channel`, { cause });
  }
}

/** A request sent on one channel and not answered yet, by its channel id. */
export interface PendingCall {
  op: EnclaveOp;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** The `id` of a message that failed its schema, when it still has a usable one. */
export function readableId(message: unknown): number | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined;
}

/**
 * Settles the pending call a reply answers: resolves it with the result parsed by its op's schema, or
 * rejects it with the enclave's refusal (`EnclaveCallError`) or with `internal_error` when the reply or
 * its result fails its schema. A malformed envelope whose id still names a waiting call fails that call
 * at once instead of at its timeout. Logs ids, ops and schema paths, never values.
 */
export function settleReply(message: unknown, pending: Map<number, PendingCall>, logger: Logger): void {
  const reply = EnclaveReply.safeParse(message);
  if (!reply.success) {
    const id = readableId(message);
    const call = id === undefined ? undefined : pending.get(id);
    logger.error({ id: id ?? null, op: call?.op ?? null }, 'enclave channel: a reply failed its schema');
    if (id !== undefined && call) {
      pending.delete(id);
      clearTimeout(call.timer);
      call.reject(new TenzroError('internal_error', `the enclave's ${call.op} reply failed its schema`));
    }
    return;
  }
  const call = pending.get(reply.data.id);
  if (!call) {
    logger.warn({ id: reply.data.id }, 'enclave channel: a reply to no outstanding request');
    return;
  }
  pending.delete(reply.data.id);
  clearTimeout(call.timer);
  if (!reply.data.ok) {
    const { code, message: text, details } = reply.data.error;
    call.reject(new EnclaveCallError(call.op, code, text, details));
    return;
  }
  const result = ENCLAVE_RESULT_SCHEMAS[call.op].safeParse(reply.data.result);
  if (!result.success) {
    logger.error({ op: call.op, issues: result.error.issues.map((i) => i.path.join('.')) }, 'enclave reply failed its schema');
    call.reject(new TenzroError('internal_error', `the enclave's ${call.op} reply failed its schema`));
    return;
  }
  call.resolve(result.data);
}
