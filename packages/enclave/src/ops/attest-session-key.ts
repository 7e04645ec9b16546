/**
 * `attestSessionKey`: a fresh attestation document for an existing session key (DESIGN §5.2). The key is
 * unsealed (a destroyed key is refused: `data_deleted`), its public half derived, and the provider issues
 * a NEW document with `public_key` = the session key and `user_data` = `sessionKeyUserData(sessionId)`.
 * The host asks for one on every key fetch, so a party always verifies a document of the current time.
 */
import { toBase64Url } from '@tenzro/crypto';
import type { EnclaveRequestOf, EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { assertNotExpired, assertTermsMatch } from '../session.js';

export async function attestSessionKey(
  ctx: EnclaveContext,
  request: EnclaveRequestOf<'attestSessionKey'>,
): Promise<EnclaveResultOf<'attestSessionKey'>> {
  const { sessionId, terms } = request;
  assertTermsMatch(sessionId, terms);
  assertNotExpired(terms);
  const attested = await ctx.keys.attestSessionKey(sessionId, request.sealedKey);
  return { publicKey: toBase64Url(attested.publicKey), attestation: toBase64Url(attested.attestation) };
}
