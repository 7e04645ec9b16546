/**
 * `destroySessionKey`: crypto-shreds the session key (tombstone first, then zeroing) and attests it
 * (issue 3, proof of deletion). The reply carries a DeletionStatement — the session, that its key is gone
 * and with it every listed ciphertext, why, and when (the tombstone's time) — and an attestation document
 * whose `user_data` is `deletionStatementDigest(statement)`, so any party can check the statement came from
 * the measured enclave. Idempotent: a second call states the first destruction time, in a fresh document.
 */
import { toBase64Url } from '@tenzro/crypto';
import {
  DELETION_STATEMENT_TYPE,
  DeletionStatement,
  deletionStatementDigest,
  type EnclaveRequestOf,
  type EnclaveResultOf,
} from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';

export async function destroySessionKey(
  ctx: EnclaveContext,
  request: EnclaveRequestOf<'destroySessionKey'>,
): Promise<EnclaveResultOf<'destroySessionKey'>> {
  const { destroyedAt } = await ctx.keys.destroySessionKey(request.sessionId);
  const statement = DeletionStatement.parse({
    type: DELETION_STATEMENT_TYPE,
    sessionId: request.sessionId,
    destroyed: { sessionKey: true, ciphertexts: [...new Set(request.ciphertexts)].sort() },
    reason: request.reason,
    destroyedAt,
  });
  const attestation = await ctx.nsm.issue({ userData: deletionStatementDigest(statement) });
  return { destroyedAt, statement, attestation: toBase64Url(attestation) };
}
