/**
 * The one mapping from anything thrown to the wire error `{ error: { code, message, details? } }`.
 * TenzroError keeps its code and status; framework refusals (bad JSON, wrong content type, too large) get
 * theirs; anything else is a 500 whose message says nothing about the cause (the cause goes to the log).
 */
import { ERROR_STATUS, TenzroError, type ErrorBody, type ErrorCode, type ErrorDetail } from '@tenzro/protocol';
import type { ZodError } from 'zod';
import { UPLOAD_RETRY_AFTER_SECONDS } from '../upload-gate.js';

export interface ErrorReply {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Whether this is a server fault worth logging with its stack. */
  fault: boolean;
}

/** A zod failure as `invalid_request`, naming each failing path (never echoing values). */
export function fromZodError(error: ZodError, where: string): TenzroError {
  const details: ErrorDetail[] = error.issues.slice(0, 20).map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const first = details[0];
  return new TenzroError('invalid_request', first ? `${first.field}: ${first.message}` : `invalid ${where}`, { details });
}

const FRAMEWORK_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid_request',
};

const FRAMEWORK_MESSAGES: Partial<Record<ErrorCode, string>> = {
  unsupported_media_type: 'unsupported content type for this route',
  payload_too_large: 'the request body is too large',
  invalid_json: 'the body is not valid JSON',
  invalid_request: 'the request is malformed',
};

function codeOf(error: unknown): ErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'invalid_json') return 'invalid_json'; // JsonInputError from the strict JSON parser
  return FRAMEWORK_CODES[code];
}

export function toErrorReply(error: unknown): ErrorReply {
  const headers: Record<string, string> = {};
  let code: ErrorCode;
  let message: string;
  let details: ErrorDetail[] | undefined;
  let fault = false;
  if (error instanceof TenzroError) {
    code = error.code;
    message = error.message;
    details = error.details;
    fault = error.status >= 500 && code !== 'enclave_unavailable' && code !== 'insufficient_storage';
  } else {
    const mapped = codeOf(error);
    if (mapped) {
      code = mapped;
      message = mapped === 'invalid_json' && error instanceof Error && (error as { code?: unknown }).code === 'invalid_json'
        ? `the body is not valid JSON: ${error.message}`
        : (FRAMEWORK_MESSAGES[mapped] ?? 'the request was refused');
    } else {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        code = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request';
        message = FRAMEWORK_MESSAGES[code] ?? 'the request was refused';
      } else {
        code = 'internal_error';
        message = 'internal error';
        fault = true;
      }
    }
  }
  if (code === 'rate_limited') headers['retry-after'] = String(UPLOAD_RETRY_AFTER_SECONDS);
  if (code === 'payload_too_large') headers.connection = 'close';
  return {
    status: ERROR_STATUS[code],
    body: { error: { code, message, ...(details && details.length > 0 ? { details } : {}) } },
    headers,
    fault,
  };
}
