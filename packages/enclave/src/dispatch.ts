/**
 * One request in, one reply out. Parses the request with protocol's EnclaveRequest schema, runs the op,
 * and maps every failure to a TenzroError-shaped reply (errors.ts). Never throws.
 */
import { EnclaveRequest, assertNever, type EnclaveReply } from '@tenzro/protocol';
import type { EnclaveContext } from './context.js';
import { toReplyError } from './errors.js';
import { logEvent } from './log.js';
import { attestSessionKey } from './ops/attest-session-key.js';
import { createSessionKey } from './ops/create-session-key.js';
import { destroySessionKey } from './ops/destroy-session-key.js';
import { hello } from './ops/hello.js';
import { run } from './ops/run.js';
import { verifySubmission } from './ops/verify-submission.js';

/** The id to answer a request with: its own, when it has a usable one, else -1. */
export function replyIdOf(message: unknown): number {
  if (typeof message === 'object' && message !== null && !Array.isArray(message)) {
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  }
  return -1;
}

async function perform(ctx: EnclaveContext, request: EnclaveRequest): Promise<unknown> {
  switch (request.op) {
    case 'hello':
      return hello(ctx);
    case 'createSessionKey':
      return createSessionKey(ctx, request);
    case 'verifySubmission':
      return verifySubmission(ctx, request);
    case 'run':
      return run(ctx, request);
    case 'destroySessionKey':
      return destroySessionKey(ctx, request);
    case 'attestSessionKey':
      return attestSessionKey(ctx, request);
    default:
      return assertNever(request, 'op');
  }
}

export type RequestHandler = (message: unknown) => Promise<EnclaveReply>;

export function createHandler(ctx: EnclaveContext): RequestHandler {
  return async (message) => {
    const parsed = EnclaveRequest.safeParse(message);
    if (!parsed.success) {
      // The issue paths name fields, never the values sent.
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(0, 10);
      return {
        id: replyIdOf(message),
        ok: false,
        error: { code: 'invalid_request', message: `malformed enclave request (${fields.join(', ')})` },
      };
    }
    const request = parsed.data;
    const started = performance.now();
    try {
      const result = await perform(ctx, request);
      logEvent('op', { op: request.op, ok: true, ms: Math.round(performance.now() - started) });
      return { id: request.id, ok: true, result };
    } catch (error) {
      const replyError = toReplyError(error, request.op);
      logEvent('op', { op: request.op, ok: false, code: replyError.code, ms: Math.round(performance.now() - started) });
      return { id: request.id, ok: false, error: replyError };
    }
  };
}
