/**
 * `verifySubmission`: the enclave's check of one upload, so a bad submission is refused while its party
 * can still fix it: decrypts, checks the commitment and the content, and answers only a record count.
 * Records (federated): the data schema; the count of records. Masked inputs (secure_aggregation,
 * `secagg-submission.ts`): document, layout, signed stage-2 message, vector length, noise share; the
 * count is 0 (not disclosed under this method). Share bundles (mpc, `mpc-submission.ts`): the plain JSON
 * bundle, its commitment, signature and node list (the shares, sealed to the nodes, are not opened); the
 * count the party declared. Schema/method mismatches are refused before decryption.
 */
import type { EnclaveRequestOf, EnclaveResultOf } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { mpcSessionOf, openShareBundle } from '../mpc-submission.js';
import { assertMaskedInputSubmission, openMaskedInput, secAggSessionOf } from '../secagg-submission.js';
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
  if (terms.dataPolicy.aggregationMethod === 'mpc') {
    const session = mpcSessionOf(terms);
    await ctx.keys.unsealSessionKey(sessionId, request.sealedKey); // a destroyed session takes nothing
    const opened = await openShareBundle(sessionId, terms, model, session, submission);
    return { recordCount: opened.recordCount };
  }
  if (terms.dataPolicy.aggregationMethod === 'secure_aggregation') {
    assertMaskedInputSubmission(terms, submission);
    const session = secAggSessionOf(terms, model);
    const privateKey = await ctx.keys.unsealSessionKey(sessionId, request.sealedKey);
    await openMaskedInput(privateKey, model, session, terms, submission);
    return { recordCount: 0 };
  }
  assertMaskedInputSubmission(terms, submission); // a masked input here is submission_rejected
  assertSchemaDeclared(model, submission.dataSchema);
  const privateKey = await ctx.keys.unsealSessionKey(sessionId, request.sealedKey);
  const opened = await openSubmission(privateKey, model, submission);
  return { recordCount: opened.records.length };
}
