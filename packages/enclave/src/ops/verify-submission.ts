/**
 * `verifySubmission`: the enclave's check of one upload, so a bad submission is refused while its party
 * can still fix it: decrypts, checks the commitment and the data schema, and answers only a record count.
 */
import type { EnclaveRequestOf, EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { assertNotExpired, assertTermsMatch, modelOf, participantOf } from '../session.js';
import { assertSchemaDeclared, openSubmission } from '../submission.js';

export async function verifySubmission(
  ctx: EnclaveContext,
  request: EnclaveRequestOf<'verifySubmission'>,
): Promise<EnclaveResultOf<'verifySubmission'>> {
  const { sessionId, terms, submission } = request;
  assertTermsMatch(sessionId, terms);
  assertNotExpired(terms);
  participantOf(terms, submission.partyId);
  const model = modelOf(terms);
  assertSchemaDeclared(model, submission.dataSchema);
  const privateKey = await ctx.keys.unsealSessionKey(sessionId, request.sealedKey);
  const opened = await openSubmission(privateKey, model, submission);
  return { recordCount: opened.records.length };
}
