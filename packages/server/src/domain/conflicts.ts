/**
 * Check-then-insert without a lock (tenants, parties): two instances may both pass the check, and the
 * second insert meets the unique index. That is the same conflict the check reports, so it is answered the
 * same way (409), never as an internal error.
 */
import { TenzroError } from '@tenzro/protocol';
import type { Context } from '../context.js';

export async function conflictOnDuplicate<T>(ctx: Pick<Context, 'dialect'>, message: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (ctx.dialect.isUniqueViolation(error)) throw new TenzroError('conflict', message);
    throw error;
  }
}
