/**
 * Diagnostics, to stderr only. Only event names, op names, error codes, counts, timings and stacks go
 * here: never party data, keys, plaintext, or error messages that could quote input.
 */

type Field = string | number | boolean;

export function logEvent(event: string, fields: Record<string, Field> = {}): void {
  process.stderr.write(JSON.stringify({ at: new Date().toISOString(), event, ...fields }) + '\n');
}

/**
 * Logs an unexpected error: its class name and stack frames (file:line), not its message, which may
 * quote data from the input that caused it.
 */
export function logError(context: string, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  const frames =
    error instanceof Error && typeof error.stack === 'string'
      ? error.stack
          .split('\n')
          .filter((line) => line.trimStart().startsWith('at '))
          .map((line) => line.trim())
          .join(' | ')
      : '';
  logEvent('error', { context, error: name, stack: frames });
}
