/**
 * The binding between a session key and its session (DESIGN §5.2). The enclave's attestation document for
 * a session key carries the key in `public_key` and, in `user_data`,
 * `SHA-256(JCS({ type: "tenzro.session-key/v1", sessionId }))` (32 bytes). A verifier recomputes it from
 * the session id it expects, so an attested key of one session cannot be passed off as another's.
 */
import { canonicalBytes, sha256 } from '@tenzro/crypto';
import { SESSION_ID_PATTERN } from './ids.js';

export const SESSION_KEY_TYPE = 'tenzro.session-key/v1';

/** The `user_data` an attestation of `sessionId`'s key must carry. */
export function sessionKeyUserData(sessionId: string): Uint8Array {
  if (typeof sessionId !== 'string') throw new TypeError('sessionId must be a string');
  if (!SESSION_ID_PATTERN.test(sessionId)) throw new TypeError('sessionId: not a session id (mps_…)');
  return sha256(canonicalBytes({ type: SESSION_KEY_TYPE, sessionId }));
}
