/**
 * `run`: the one place where the parties' data meets (DESIGN §5.5–5.7, §7, §8 release).
 *
 * Stages, in order (shared steps live in `run-common.ts`):
 *   1. terms   — the terms hash to the session id; the session has not expired (enclave clock); the method is
 *                one this build runs and the model declares; the model and its digest are the ones the terms name.
 *   2. consent — every consent is checked against the roster signing key in the terms, and must grant
 *                all four permissions. Data of a party without a valid consent is never decrypted.
 *   3. open    — each consented submission is decrypted, its commitment recomputed and its content checked;
 *                a submission that fails is left out (the host checked it at upload with `verifySubmission`,
 *                so this is rare).
 *   4. include — included = consented ∧ valid, sorted by party id; two included submissions with one
 *                commitment or one ciphertext (the host replaying a party's blob under another party)
 *                refuse the whole run (`duplicate_submission`); fewer than `minParticipants` refuses.
 *   5. train   — federated: the model runs over per-party partitions (never pooled), with DP from the terms.
 *                secure_aggregation (`secagg-run.ts`): the masks are removed from the sum of the included
 *                masked statistic vectors and the model runs on the decoded sum.
 *                mpc (`mpc-run.ts`): the program's declared outputs are reconstructed from ≥ threshold
 *                verified compute-node output shares and analysed (models analyzeMpcOutputs).
 *   6. release — the release policy checks the output; any violation refuses the whole result.
 *   7. report  — the result report, attested with `user_data = reportDigest(report)`, and one sealed
 *                result body per recipient (included participants, then observers).
 */
import { cryptoRng } from '@tenzro/models';
import { TenzroError } from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { refuse } from '../errors.js';
import { comparePartyIds, modelOf, type EnclaveModelImpl } from '../session.js';
import { openSubmission } from '../submission.js';
import {
  assertDistinct,
  assertMinParticipants,
  assertModelMethod,
  checkRunRequest,
  consentedParties,
  elapsed,
  openEach,
  releaseChecked,
  runModel,
  type RunReply,
  type RunRequest,
} from './run-common.js';
import { runMpc } from './mpc-run.js';
import { runSecureAggregation } from './secagg-run.js';

export async function run(ctx: EnclaveContext, request: RunRequest): Promise<RunReply> {
  // 1. terms
  checkRunRequest(request);
  const method = request.terms.dataPolicy.aggregationMethod;
  if (method !== 'mpc' && request.mpc !== undefined) throw refuse('invalid_request', 'mpc inputs belong to mpc sessions only');
  switch (method) {
    case 'federated': {
      const model = modelOf(request.terms);
      assertModelMethod(model, 'federated');
      return runFederated(ctx, request, model);
    }
    case 'secure_aggregation': {
      const model = modelOf(request.terms);
      assertModelMethod(model, 'secure_aggregation');
      return runSecureAggregation(ctx, request, model);
    }
    case 'mpc': {
      // the enclave's own path (mpc-run.ts): the model's mpc program and models' analyzeMpcOutputs
      return runMpc(ctx, request, modelOf(request.terms));
    }
    default:
      throw refuse('method_not_available', `this enclave does not run ${method} sessions`);
  }
}

async function runFederated(ctx: EnclaveContext, request: RunRequest, model: EnclaveModelImpl): Promise<RunReply> {
  const policy = request.terms.dataPolicy;
  const federated = policy.federatedConfig;
  if (!federated) throw refuse('invalid_request', 'a federated session must carry its federatedConfig');
  if (request.secagg !== undefined) throw refuse('invalid_request', 'secagg inputs belong to secure_aggregation sessions only');

  // 2. consent, 3. open
  const started = performance.now();
  const consented = consentedParties(request);
  const candidates = request.submissions.filter((s) => consented.has(s.partyId));
  const privateKey = candidates.length > 0 ? await ctx.keys.unsealSessionKey(request.sessionId, request.sealedKey) : undefined;
  const opened = await openEach(
    candidates,
    (submission) => openSubmission(privateKey!, model, submission),
    (error) => (error instanceof TenzroError ? error.code : undefined),
  );
  const included = opened.sort((a, b) => comparePartyIds(a.partyId, b.partyId));
  const decryptVerifyMs = elapsed(started);

  // 4. include
  assertDistinct(included, (s) => s.commitment, 'commitment');
  assertDistinct(included, (s) => s.ciphertextHash, 'ciphertext');
  assertMinParticipants(request, included.length);

  // 5. train
  const trainStarted = performance.now();
  // Records of the data schema each submission names (one the model declares; submission.ts validated them):
  // transaction records for risk-analyzer-v2, a use-case model's own records otherwise. The model checks them
  // again against its schema.
  const partitions = included.map((p) => ({ partyId: p.partyId, records: p.records }));
  const output = await runModel(() =>
    model.run({ method: 'federated', partitions, federated, prompt: request.prompt, parameters: request.parameters, rng: cryptoRng() }),
  );
  const trainMs = elapsed(trainStarted);

  // 6. release, 7. report, attest, seal
  const reportStarted = performance.now();
  const released = await releaseChecked(ctx, request, model, included, output, partitions);
  const reportMs = elapsed(reportStarted);
  return { ...released, timings: { decryptVerifyMs, trainMs, reportMs } };
}
