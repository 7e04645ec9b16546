/**
 * `run` for a secure_aggregation session (DESIGN §7, docs/secure-aggregation.md): the enclave plays the
 * server role of Bonawitz et al. (CCS 2017) on what the host relays, and sees masked vectors and the sum
 * only. After the common checks (run-common.ts):
 *
 *   2. consent  — as for every run; a party without a valid consent is never opened.
 *   3. open     — each consented masked-input submission is opened (secagg-submission.ts); one that fails is
 *                 left out. Two included ones with one commitment or ciphertext: `duplicate_submission`.
 *   4. stages   — createSecAggServer(config) → collectAdvertisements(secagg.advertisements) →
 *                 collectSharedKeys(secagg.shareKeys). The host relays these after checking them with the
 *                 same pure functions the parties use, and the parties refuse a bundle with any bad message,
 *                 so ANY message set aside here means the host relayed something the parties never saw
 *                 (forged, other session, duplicate): the run is refused (`secagg_rejected`).
 *                 → collectMaskedInputs(masked inputs of the included parties): derives the unmask request
 *                 (U3 = included ∩ U2 give self-mask shares, the rest of U2 pairwise-key shares).
 *   5. unmask   — each `secagg.unmask` blob is opened (HPKE, session key, info DATA_INFO) as a
 *                 SecAggUnmaskEnvelope; one for another session or run, or whose signed body names another
 *                 party than its channel entry, is set aside (a party's own answer cannot be checked by the
 *                 host). aggregate() keeps the answers to exactly the derived request and removes the masks;
 *                 fewer than threshold → `secagg_below_threshold`; other SecAggErrors → `secagg_rejected`.
 *   6. model    — the sum is decoded with the model's layout (decodeStatisticSum) and the model runs with
 *                 method 'secure_aggregation' on it, with the DP statement when noiseAddition is on.
 *   7. release  — release policy, report (includedParties = the survivors, aggregatedDataHash over their
 *                 masked-input commitments), attestation, one sealed body per survivor and observer.
 *
 * minParticipants applies to the survivors. With a capture sink (simulated provider, tests only) the run
 * writes what it received: masked vectors, opened shares, the request and the sum (secagg-capture.ts).
 */
import { ringVectorToBytes, toBase64Url, type SecretBytes } from '@tenzro/crypto';
import { cryptoRng, decodeStatisticSum } from '@tenzro/models';
import {
  SecAggError,
  SecAggUnmaskEnvelope,
  TenzroError,
  UnmaskBody,
  aggregate,
  collectAdvertisements,
  collectMaskedInputs,
  collectSharedKeys,
  createSecAggServer,
  type RejectedMessage,
  type UnmaskRequest,
} from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { refuse } from '../errors.js';
import { logEvent } from '../log.js';
import { SECAGG_CAPTURE_TYPE, type CaptureSink, type CapturedShare } from '../secagg-capture.js';
import { noiseStatement, openMaskedInput, secAggRefusal, secAggSessionOf, type OpenedMaskedInput, type SecAggSession } from '../secagg-submission.js';
import { comparePartyIds, participantOf, type EnclaveModelImpl } from '../session.js';
import { openSealedJson } from '../submission.js';
import {
  assertDistinct,
  assertMinParticipants,
  assertUniqueParties,
  blobKey,
  consentedParties,
  elapsed,
  openEach,
  releaseChecked,
  runModel,
  type RunReply,
  type RunRequest,
} from './run-common.js';

type SecAggInputs = NonNullable<RunRequest['secagg']>;

/** Runs a protocol step; its SecAggError becomes the channel refusal. */
function step<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SecAggError) throw secAggRefusal(error);
    throw error;
  }
}

/** A relayed stage-0/1 message set aside: the host relayed what the parties would have refused. */
function assertNoneRejected(rejected: readonly RejectedMessage[], what: string): void {
  const first = rejected[0];
  if (first !== undefined) {
    throw refuse('secagg_rejected', `${first.code}: ${rejected.length} relayed ${what} message(s) refused (${first.message})`);
  }
}

interface OpenedUnmask {
  partyId: string;
  /** The signed stage-3 message, for aggregate() to check. */
  unmask: unknown;
}

/** What the capture records of the unmask envelopes: every share of every body that parsed. */
function sharesOf(unmask: unknown): CapturedShare[] {
  const body = UnmaskBody.safeParse((unmask as { body?: unknown } | null)?.body);
  if (!body.success) return [];
  const from = body.data.partyId;
  return [
    ...body.data.selfMaskShares.map((s) => ({ of: s.of, from, kind: 'self-mask' as const, share: s.share })),
    ...body.data.pairwiseKeyShares.map((s) => ({ of: s.of, from, kind: 'pairwise-key' as const, share: s.share })),
  ];
}

/** Opens one unmask blob; undefined (set aside, logged) unless it answers this session and run as its party. */
async function openUnmask(
  privateKey: SecretBytes,
  request: RunRequest,
  entry: SecAggInputs['unmask'][number],
  captured: CapturedShare[] | undefined,
): Promise<OpenedUnmask | undefined> {
  const aside = (reason: string): undefined => {
    logEvent('unmask_excluded', { reason });
    return undefined;
  };
  let value: unknown;
  try {
    value = await openSealedJson(privateKey, entry.blobPath);
  } catch (error) {
    if (error instanceof TenzroError) return aside(error.code);
    throw error;
  }
  const parsed = SecAggUnmaskEnvelope.safeParse(value);
  if (!parsed.success) return aside('invalid_envelope');
  captured?.push(...sharesOf(parsed.data.unmask));
  if (parsed.data.sessionId !== request.sessionId) return aside('wrong_session');
  if (parsed.data.runId !== request.runId) return aside('wrong_run');
  if (parsed.data.unmask.body.partyId !== entry.partyId) return aside('wrong_party');
  return { partyId: entry.partyId, unmask: parsed.data.unmask };
}

/** What the capture records on the way (filled as the stages go, so a failed run is captured too). */
interface Seen {
  request: UnmaskRequest | null;
  /** undefined: no capture. */
  shares: CapturedShare[] | undefined;
}

interface Unmasked {
  sum: Uint32Array;
  /** U3: the parties whose masked inputs are in the sum, in roster order. */
  survivors: string[];
}

/**
 * Stages 0–3 of the server role over the relayed messages, the opened masked inputs and the unmask
 * envelopes: the sum of the survivors' inputs, masks removed.
 */
async function serverRole(
  privateKey: SecretBytes,
  request: RunRequest,
  secagg: SecAggInputs,
  session: SecAggSession,
  opened: readonly OpenedMaskedInput[],
  seen: Seen,
): Promise<Unmasked> {
  const start = step(() => createSecAggServer(session.config));
  const advertised = step(() => collectAdvertisements(start, secagg.advertisements));
  assertNoneRejected(advertised.rejected, 'advertisement');
  const shared = step(() => collectSharedKeys(advertised.state, secagg.shareKeys));
  assertNoneRejected(shared.rejected, 'share-keys');
  const masked = step(() => collectMaskedInputs(shared.state, opened.map((m) => m.message)));
  if (masked.rejected.length > 0) logEvent('masked_inputs_set_aside', { count: masked.rejected.length, code: masked.rejected[0]!.code });
  seen.request = masked.output;

  const answers = await openEach(secagg.unmask, (entry) => openUnmask(privateKey, request, entry, seen.shares), () => undefined);
  const kept = answers.filter((a): a is OpenedUnmask => a !== undefined);
  const done = step(() => aggregate(masked.state, kept.map((a) => a.unmask)));
  if (done.rejected.length > 0) logEvent('unmask_set_aside', { count: done.rejected.length, code: done.rejected[0]!.code });
  return { sum: done.output.sum, survivors: done.output.survivors };
}

/** One capture file per run (simulated provider only); a write failure is logged, never thrown. */
async function writeCapture(sink: CaptureSink, request: RunRequest, opened: readonly OpenedMaskedInput[], seen: Seen, unmasked: Unmasked | undefined): Promise<void> {
  try {
    await sink.write({
      type: SECAGG_CAPTURE_TYPE,
      sessionId: request.sessionId,
      runId: request.runId,
      request: seen.request,
      maskedInputs: opened.map((m) => ({ partyId: m.partyId, maskedInput: m.message.body.maskedInput })),
      shares: seen.shares ?? [],
      sum: unmasked === undefined ? null : toBase64Url(ringVectorToBytes(unmasked.sum)),
    });
  } catch (error) {
    logEvent('capture_failed', { error: error instanceof Error ? error.name : 'unknown' });
  }
}

export async function runSecureAggregation(ctx: EnclaveContext, request: RunRequest, model: EnclaveModelImpl): Promise<RunReply> {
  const { terms } = request;
  const secagg = request.secagg;
  if (secagg === undefined) throw refuse('invalid_request', 'a secure_aggregation run needs its secagg inputs (stage messages and unmask envelopes)');
  const session = secAggSessionOf(terms, model);
  assertUniqueParties(secagg.unmask, 'unmask answers');
  for (const entry of secagg.unmask) participantOf(terms, entry.partyId);
  assertDistinct([...request.submissions, ...secagg.unmask], blobKey, 'blob');

  // 2. consent, 3. open
  const started = performance.now();
  const consented = consentedParties(request);
  const candidates = request.submissions.filter((s) => consented.has(s.partyId));
  const privateKey = await ctx.keys.unsealSessionKey(request.sessionId, request.sealedKey);
  const opened = (
    await openEach(
      candidates,
      (submission) => openMaskedInput(privateKey, model, session, terms, submission),
      (error) => (error instanceof TenzroError ? error.code : undefined),
    )
  ).sort((a, b) => comparePartyIds(a.partyId, b.partyId));
  assertDistinct(opened, (m) => m.commitment, 'commitment');
  assertDistinct(opened, (m) => m.ciphertextHash, 'ciphertext');
  const decryptVerifyMs = elapsed(started);

  // fewer opened than minParticipants can never run: refuse before anything is unmasked
  if (opened.length >= session.config.threshold) assertMinParticipants(request, opened.length);

  // 4. stages 0–2, 5. unmask (server role)
  const unmaskStarted = performance.now();
  const seen: Seen = { request: null, shares: ctx.capture ? [] : undefined };
  let unmasked: Unmasked | undefined;
  try {
    unmasked = await serverRole(privateKey, request, secagg, session, opened, seen);
  } finally {
    if (ctx.capture) await writeCapture(ctx.capture, request, opened, seen, unmasked);
  }
  const { sum, survivors } = unmasked;
  const unmaskMs = elapsed(unmaskStarted);
  assertMinParticipants(request, survivors.length, 'survivor(s) have a consented, valid masked input in the sum');

  // 6. model on the decoded sum
  const trainStarted = performance.now();
  const byParty = new Map(opened.map((m) => [m.partyId, m] as const));
  const included: OpenedMaskedInput[] = survivors.map((id) => byParty.get(id)!).sort((a, b) => comparePartyIds(a.partyId, b.partyId));
  let values: number[];
  try {
    values = decodeStatisticSum(session.layout, sum, survivors.length);
  } catch {
    throw refuse('secagg_rejected', 'invalid_message: the unmasked sum is not a sum of valid statistic vectors (a party encoded out of range)');
  }
  const noise = noiseStatement(session, survivors.length);
  const output = await runModel(() =>
    model.run({
      method: 'secure_aggregation',
      aggregate: { layoutId: session.layout.id, values, parties: included.map((m) => m.partyId), noise },
      prompt: request.prompt,
      parameters: request.parameters,
      rng: cryptoRng(),
    }),
  );
  const trainMs = elapsed(trainStarted);

  // 7. release, report, attest, seal
  const reportStarted = performance.now();
  const partitions = included.map((m) => ({ partyId: m.partyId, records: [] }));
  const released = await releaseChecked(ctx, request, model, included, output, partitions);
  const reportMs = elapsed(reportStarted);
  return { ...released, timings: { decryptVerifyMs, unmaskMs, trainMs, reportMs } };
}
