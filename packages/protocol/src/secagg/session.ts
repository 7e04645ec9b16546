// Secure aggregation inside a session (DESIGN §7, docs/secure-aggregation.md): how the four stages of
// Bonawitz et al. ride on the session's HTTP API and enclave channel. The host relays stage 0 and 1
// messages (public keys and pairwise-encrypted shares), stores each party's masked input as a normal
// sealed submission, and passes every unmask response — sealed to the session key — to the enclave,
// which runs the server role of the protocol. The host never holds a masked input and the shares needed
// to unmask it at once.

import { z } from 'zod';
import { Base64Url, PartyId, SessionId } from '../primitives.js';
import { sessionIdOf, type SessionTerms } from '../terms.js';
import { fromBase64Url } from '@tenzro/crypto';
import { validateSecAggConfig, type SecAggConfig } from './config.js';
import { SECAGG_TYPES, UnmaskRequest } from './messages.js';
import { secAggGraphFor } from './neighbours.js';

/** The data schema a masked-input submission is filed under (X-Tenzro-Data-Schema). */
export const SECAGG_MASKED_INPUT_SCHEMA = 'tenzro.secagg.masked-input/v1';
/** The `type` of the document sealed in a masked-input submission (the `data` of a salted contribution). */
export const SECAGG_MASKED_CONTRIBUTION_TYPE = 'tenzro.secagg.masked-contribution/v1';
/** The `type` of the document sealed in an unmask submission. */
export const SECAGG_UNMASK_ENVELOPE_TYPE = 'tenzro.secagg.unmask-envelope/v1';

const SignedEnvelope = z.strictObject({ body: z.record(z.string(), z.unknown()), signature: Base64Url });

/**
 * What a party seals to the enclave as its masked input (inside `{ type: 'tenzro.contribution/v1', salt,
 * data }`, committed with the salted commitment like any contribution). It names the statistic layout the
 * vector follows, and the noise share the party added (so the enclave can state the DP guarantee);
 * never a record count or any other unmasked value.
 */
export const SecAggMaskedContribution = z.strictObject({
  type: z.literal(SECAGG_MASKED_CONTRIBUTION_TYPE),
  /** The model's statistic layout id, e.g. `risk-analyzer-v2/aggregates/v1`. */
  layout: z.string().min(1).max(100),
  /** The data schema of the records the statistics were computed from. */
  sourceSchema: z.string().min(1).max(100),
  /** Skellam noise share added before masking: its variance in ring units, or null without noiseAddition. */
  noiseVariance: z.number().nonnegative().nullable(),
  /** The signed stage-2 message (`tenzro.secagg.masked-input/v1`). */
  maskedInput: SignedEnvelope,
});
export type SecAggMaskedContribution = z.infer<typeof SecAggMaskedContribution>;

/** What a party seals to the enclave as its stage-3 answer (HPKE envelope, info DATA_INFO). */
export const SecAggUnmaskEnvelope = z.strictObject({
  type: z.literal(SECAGG_UNMASK_ENVELOPE_TYPE),
  sessionId: SessionId,
  runId: z.string().min(1).max(64),
  /** The signed stage-3 message (`tenzro.secagg.unmask/v1`). */
  unmask: SignedEnvelope,
});
export type SecAggUnmaskEnvelope = z.infer<typeof SecAggUnmaskEnvelope>;

export const SECAGG_ROUND_STAGES = ['advertise', 'share-keys', 'masked-input', 'awaiting-run', 'unmask', 'done', 'failed'] as const;
export const SecAggRoundStage = z.enum(SECAGG_ROUND_STAGES);
export type SecAggRoundStage = z.infer<typeof SecAggRoundStage>;

/** The communication graph: all-to-all (Bonawitz et al.) or a k-regular Harary graph (SecAgg+). */
export const SecAggGraph = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('complete') }),
  z.strictObject({ kind: z.literal('harary'), k: z.number().int().min(2), seed: Base64Url }),
]);
export type SecAggGraph = z.infer<typeof SecAggGraph>;

/**
 * GET /v1/sessions/:id/secagg — the round as the host relays it. `advertisements` (U1) appear once the
 * advertise stage has closed, `shareKeys` (U2, every message in roster order) once share-keys has closed,
 * `unmaskRequest` while a run waits for the survivors' shares.
 */
export const SecAggRoundResponse = z.strictObject({
  sessionId: SessionId,
  stage: SecAggRoundStage,
  threshold: z.number().int(),
  vectorLength: z.number().int(),
  layout: z.string(),
  graph: SecAggGraph,
  /** When the current stage closes even if some parties have not answered (null: no stage open). */
  stageDeadline: z.string().nullable(),
  advertised: z.array(PartyId),
  sharedKeys: z.array(PartyId),
  maskedInputs: z.array(PartyId),
  unmasked: z.array(PartyId),
  advertisements: z.array(SignedEnvelope).nullable(),
  shareKeys: z.array(SignedEnvelope).nullable(),
  unmaskRequest: z.strictObject({ runId: z.string(), request: UnmaskRequest }).nullable(),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
});
export type SecAggRoundResponse = z.infer<typeof SecAggRoundResponse>;

/** The protocol configuration of a secure-aggregation session, from its terms (roster order = index). */
export function secAggConfigOf(terms: SessionTerms, vectorLength: number): SecAggConfig {
  const threshold = terms.dataPolicy.secureAggConfig?.threshold;
  if (terms.dataPolicy.aggregationMethod !== 'secure_aggregation' || threshold === undefined) {
    throw new TypeError('secAggConfigOf: the session does not use secure_aggregation');
  }
  const sessionId = sessionIdOf(terms);
  const config = validateSecAggConfig({
    sessionId,
    threshold,
    vectorLength,
    parties: terms.participants.map((p) => ({ partyId: p.partyId, signingPublicKey: fromBase64Url(p.signingKey, 'signingKey') })),
  });
  // SecAgg+ from SECAGG_PLUS_MIN_PARTIES on, when a Harary degree halves the work (neighbours.ts; valid by
  // construction). A function of the terms alone: every party and the enclave derive the same graph.
  const graph = secAggGraphFor(config.parties.length, sessionId, threshold);
  return graph.kind === 'harary' ? { ...config, graph } : config;
}

/**
 * The host's stage-3 request for a run: the parties of U2 (in roster order) whose masked input is included
 * give up their self masks; the others of U2 — dropped, or excluded for lack of consent — their pairwise
 * keys. The enclave recomputes the same split from what it is given and refuses answers to another.
 */
export function buildUnmaskRequest(config: SecAggConfig, u2: readonly string[], included: ReadonlySet<string>): UnmaskRequest {
  const order = new Map(config.parties.map((p, i) => [p.partyId, i] as const));
  const sorted = [...u2].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return {
    type: SECAGG_TYPES.unmaskRequest,
    sessionId: config.sessionId,
    selfMaskShares: sorted.filter((id) => included.has(id)),
    pairwiseKeyShares: sorted.filter((id) => !included.has(id)),
  };
}

/**
 * The Skellam variance each party adds under `noiseAddition` (docs/secure-aggregation.md, "Noise"): the
 * calibrated total μ divided by threshold − 1, so that any ≥ threshold survivors carry at least μ even
 * after one of them — who knows its own draw and receives the result — subtracts its own share.
 */
export function secAggNoiseShare(calibratedVariance: number, threshold: number): number {
  if (!Number.isInteger(threshold) || threshold < 2) throw new RangeError(`threshold must be an integer ≥ 2, got ${threshold}`);
  if (!(calibratedVariance > 0) || !Number.isFinite(calibratedVariance)) throw new RangeError('calibratedVariance must be a positive finite number');
  return calibratedVariance / (threshold - 1);
}

/** The noise variance the released sum carries against any one recipient: the other survivors' shares. */
export function secAggProtectingVariance(share: number, survivors: number): number {
  return share * (survivors - 1);
}
