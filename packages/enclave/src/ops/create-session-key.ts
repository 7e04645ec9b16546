/** `createSessionKey`: a fresh X25519 key pair for the session, attested and sealed (DESIGN §5.2). */
import { HPKE_SUITE, toBase64Url } from '@tenzro/crypto';
import type { EnclaveRequestOf, EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';

export async function createSessionKey(
  ctx: EnclaveContext,
  request: EnclaveRequestOf<'createSessionKey'>,
): Promise<EnclaveResultOf<'createSessionKey'>> {
  const created = await ctx.keys.createSessionKey(request.sessionId);
  return {
    publicKey: toBase64Url(created.publicKey),
    suite: HPKE_SUITE,
    attestation: toBase64Url(created.attestation),
    sealedKey: created.sealedKey,
  };
}
