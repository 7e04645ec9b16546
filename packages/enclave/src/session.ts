/**
 * Checks shared by the ops that act on a session: the terms the host passes are the ones the session id
 * commits to, and the model they name is one this enclave carries, with the digest they name.
 */
import { getModel, type ModelDefinition } from '@tenzro/models';
import { sessionIdOf, type SessionTerms } from '@tenzro/protocol';
import { refuse } from './errors.js';

export type EnclaveModelImpl = ModelDefinition;

/** The terms must hash to the session id: the host cannot swap rosters, policy or model. */
export function assertTermsMatch(sessionId: string, terms: SessionTerms): void {
  if (sessionIdOf(terms) !== sessionId) throw refuse('invalid_request', 'the terms do not hash to the session id');
}

/**
 * The session must not be past `terms.expiresAt` by the enclave's own clock: the host's word that a
 * session is still open is not enough to decrypt, run or attest for it.
 */
export function assertNotExpired(terms: SessionTerms, now: number = Date.now()): void {
  const expiresAt = Date.parse(terms.expiresAt);
  if (!Number.isFinite(expiresAt) || now >= expiresAt) {
    throw refuse('session_expired', 'the session has expired (terms.expiresAt has passed)');
  }
}

/** The session's model, checked against the digest in the terms. */
export function modelOf(terms: SessionTerms): EnclaveModelImpl {
  let model: EnclaveModelImpl | undefined;
  try {
    model = getModel(terms.modelId);
  } catch {
    model = undefined;
  }
  if (!model) throw refuse('unknown_model', 'this enclave does not carry the session model');
  if (model.digest !== terms.modelDigest) {
    throw refuse('unknown_model', "this enclave's build of the session model has another digest than the terms name");
  }
  return model;
}

export function participantOf(terms: SessionTerms, partyId: string): SessionTerms['participants'][number] {
  const participant = terms.participants.find((p) => p.partyId === partyId);
  if (!participant) throw refuse('unknown_party', 'the party is not a participant of the session');
  return participant;
}

/** Code-unit order, the order of `includedParties` and of the aggregated data hash's leaves. */
export function comparePartyIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
