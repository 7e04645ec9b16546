/** `destroySessionKey`: crypto-shreds the session key (tombstone first, then zeroing). Idempotent. */
import type { EnclaveRequestOf, EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';

export function destroySessionKey(
  ctx: EnclaveContext,
  request: EnclaveRequestOf<'destroySessionKey'>,
): Promise<EnclaveResultOf<'destroySessionKey'>> {
  return ctx.keys.destroySessionKey(request.sessionId);
}
