/** What the console shows of a failure: its message and, when it has one, its code (`signature_invalid`, …). */
export interface Failure {
  message: string;
  code?: string;
}

export function failureOf(error: unknown): Failure {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? { message, code } : { message };
}

/** Message text with its code in brackets, for one-line displays. */
export function message(error: unknown): string {
  const failure = failureOf(error);
  return failure.code ? `${failure.message} (${failure.code})` : failure.message;
}
