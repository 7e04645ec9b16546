/**
 * A masked-input submission of a secure_aggregation session (docs/secure-aggregation.md): a salted
 * contribution `{ type: 'tenzro.contribution/v1', salt, data }` sealed to the session key, filed under data
 * schema `tenzro.secagg.masked-input/v1`, whose `data` is a SecAggMaskedContribution carrying the party's
 * signed stage-2 message. Opening one checks, in order:
 *
 *   schema       — a masked input on a session of another method: `submission_rejected`; any other schema on
 *                  a secure_aggregation session: `secure_aggregation_required`; a plain commitment:
 *                  `submission_rejected` (masked inputs are always salted)
 *   envelope     — decryption, strict JSON, salted commitment (the refusals of submission.ts)
 *   document     — SecAggMaskedContribution (zod): `schema_validation_failed` naming fields, never values
 *   layout       — `layout` is the model's aggregate layout id (`submission_rejected`); `sourceSchema` one of
 *                  the model's data schemas (`unknown_schema`)
 *   message      — the signed stage-2 message: type, session, roster key of its `partyId`, signature, and
 *                  `partyId` = the submission's party, vector of the layout's ring length (`secagg_rejected`
 *                  `<SecAggError code>: …`)
 *   noise        — with noiseAddition, `noiseVariance` ≥ the per-party share the session needs
 *                  (secAggNoiseShare(μ, threshold) = μ / (threshold − 1), μ = calibrateSkellam(DP target,
 *                  layout sensitivities).variance; 1e-9 relative tolerance); without it, `noiseVariance`
 *                  must be null (`submission_rejected`)
 */
import { calibrateSkellam, skellamEpsilon, type SecretBytes } from '@tenzro/crypto';
import { aggregateLayoutOf, type AggregateLayout, type SkellamNoiseConfig } from '@tenzro/models';
import {
  MaskedInputBody,
  SECAGG_MASKED_INPUT_SCHEMA,
  SECAGG_TYPES,
  SecAggError,
  SecAggMaskedContribution,
  TenzroError,
  decodeBytes,
  parseSigned,
  secAggConfigOf,
  secAggNoiseShare,
  secAggProtectingVariance,
  type ChannelSubmission,
  type SecAggConfig,
  type SessionTerms,
  type SignedMaskedInput,
} from '@tenzro/protocol';
import { refuse } from './errors.js';
import type { EnclaveModelImpl } from './session.js';
import { openContribution } from './submission.js';

/** Relative slack on the declared noise variance (floating-point round trips through JSON and division). */
export const NOISE_VARIANCE_TOLERANCE = 1e-9;

/** Skellam noise the session requires (noiseAddition on). */
export interface SecAggNoiseTarget {
  /** Total variance μ that makes the sum (ε, δ)-DP for one record. */
  totalVariance: number;
  /**
   * secAggNoiseShare(μ, threshold) = μ / (threshold − 1): what each party must add, so that with any
   * s ≥ threshold survivors the s − 1 draws a recipient does not know (its own removed) still carry ≥ μ.
   */
  perPartyVariance: number;
  epsilon: number;
  delta: number;
}

/** A session's secure-aggregation parameters, derived from its terms and its model. */
export interface SecAggSession {
  config: SecAggConfig;
  layout: AggregateLayout;
  /** null without noiseAddition. */
  noise: SecAggNoiseTarget | null;
}

/** A SecAggError as the refusal that crosses the channel: below_threshold apart, the rest secagg_rejected. */
export function secAggRefusal(error: SecAggError): TenzroError {
  if (error.code === 'below_threshold') return refuse('secagg_below_threshold', error.message);
  return refuse('secagg_rejected', `${error.code}: ${error.message}`);
}

/**
 * The protocol configuration (roster, threshold, vector length = the layout's ring length) and the noise
 * target of a secure_aggregation session. `method_not_available` when the model has no aggregate layout.
 */
export function secAggSessionOf(terms: SessionTerms, model: EnclaveModelImpl): SecAggSession {
  const policy = terms.dataPolicy;
  const secure = policy.secureAggConfig;
  if (policy.aggregationMethod !== 'secure_aggregation' || secure === undefined) {
    throw refuse('invalid_request', 'the session does not use secure_aggregation');
  }
  const layout = aggregateLayoutOf(model.id);
  if (layout === undefined) throw refuse('method_not_available', 'the session model declares no aggregate layout');
  let config: SecAggConfig;
  try {
    config = secAggConfigOf(terms, layout.ringLength);
  } catch (error) {
    if (error instanceof SecAggError) throw secAggRefusal(error);
    throw refuse('invalid_data_policy', 'the session terms do not give a valid secure-aggregation configuration');
  }
  let noise: SecAggNoiseTarget | null = null;
  if (secure.noiseAddition) {
    const target = secure.differentialPrivacy;
    if (target === undefined) throw refuse('invalid_data_policy', 'noiseAddition needs a differential-privacy target');
    let totalVariance: number;
    try {
      totalVariance = calibrateSkellam({ epsilon: target.epsilon, delta: target.delta, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity }).variance;
    } catch {
      throw refuse('invalid_data_policy', 'no Skellam noise reaches the session DP target for this layout');
    }
    let perPartyVariance: number;
    try {
      perPartyVariance = secAggNoiseShare(totalVariance, config.threshold);
    } catch {
      throw refuse('invalid_data_policy', 'the session threshold gives no valid per-party noise share');
    }
    noise = { totalVariance, perPartyVariance, epsilon: target.epsilon, delta: target.delta };
  }
  return { config, layout, noise };
}

/**
 * The DP statement of a released sum. `survivors` parties each added at least the per-party share; a
 * recipient of the result who is one of them knows (and can subtract) its own draw, so what protects a
 * record against any one recipient is the other survivors' noise: `variance` in the statement is that
 * PROTECTING variance, secAggProtectingVariance(share, survivors) = share × (survivors − 1) ≥ μ (not the
 * sum's total variance, survivors × share), and ε is what the accountant certifies at it (≤ the target).
 */
export function noiseStatement(session: SecAggSession, survivors: number): SkellamNoiseConfig | null {
  if (session.noise === null) return null;
  // share × (survivors − 1) ≥ μ exactly; the max only absorbs the rounding of μ / (t − 1) × (t − 1).
  const variance = Math.max(secAggProtectingVariance(session.noise.perPartyVariance, survivors), session.noise.totalVariance);
  const { epsilon, order } = skellamEpsilon({ variance, delta: session.noise.delta, l1: session.layout.l1Sensitivity, l2: session.layout.l2Sensitivity });
  return { mechanism: 'skellam', variance, epsilon, delta: session.noise.delta, order, survivors, threshold: session.config.threshold };
}

export interface OpenedMaskedInput {
  partyId: string;
  commitment: string;
  /** Hex SHA-256 of the ciphertext bytes read. */
  ciphertextHash: string;
  contribution: SecAggMaskedContribution;
  /** The verified stage-2 message, as the server role's collectMaskedInputs takes it. */
  message: SignedMaskedInput;
}

/**
 * The stage-2 message, checked as the server role checks it (parseSigned: shape, type, session, roster,
 * signature), plus: it is the submitting party's, and its vector has the session's length.
 */
function verifyMaskedInputMessage(config: SecAggConfig, raw: SecAggMaskedContribution['maskedInput'], partyId: string): SignedMaskedInput {
  try {
    const signed = parseSigned(config, MaskedInputBody, raw, 'masked-input', SECAGG_TYPES.maskedInput);
    if (signed.body.partyId !== partyId) {
      throw new SecAggError('invalid_message', 'masked-input', "the masked input names another party than the submission's");
    }
    decodeBytes(signed.body.maskedInput, config.vectorLength * 4, 'masked-input', 'maskedInput');
    return signed;
  } catch (error) {
    if (error instanceof SecAggError) throw secAggRefusal(error);
    throw error;
  }
}

/**
 * Checks before any decryption: a masked input only on a secure_aggregation session and only there, and
 * always with a salted commitment. A records submission on a federated session passes untouched.
 */
export function assertMaskedInputSubmission(terms: SessionTerms, submission: ChannelSubmission): void {
  const secure = terms.dataPolicy.aggregationMethod === 'secure_aggregation';
  const masked = submission.dataSchema === SECAGG_MASKED_INPUT_SCHEMA;
  if (masked && !secure) throw refuse('submission_rejected', 'a masked input belongs to a secure_aggregation session only');
  if (!masked && secure) {
    throw refuse('secure_aggregation_required', 'this session aggregates masked statistics: contribute a masked input (platform.ai.contribute), not records');
  }
  if (masked && submission.commitmentScheme !== 'salted') throw refuse('submission_rejected', 'a masked input must carry a salted commitment');
}

/** Opens and checks one masked-input submission (see the module header). */
export async function openMaskedInput(
  privateKey: SecretBytes,
  model: EnclaveModelImpl,
  session: SecAggSession,
  terms: SessionTerms,
  submission: ChannelSubmission,
): Promise<OpenedMaskedInput> {
  assertMaskedInputSubmission(terms, submission);
  const { data, ciphertextHash } = await openContribution(privateKey, submission);
  const parsed = SecAggMaskedContribution.safeParse(data);
  if (!parsed.success) {
    const details = parsed.error.issues.slice(0, 20).map((issue) => ({ field: issue.path.join('.') || '(root)', message: issue.code }));
    throw refuse('schema_validation_failed', 'the masked input is not a SecAggMaskedContribution', details);
  }
  const contribution = parsed.data;
  if (contribution.layout !== session.layout.id) throw refuse('submission_rejected', "the masked input follows another layout than the model's");
  if (!model.dataSchemas.includes(contribution.sourceSchema)) {
    throw refuse('unknown_schema', "the masked input's source schema is not one the session's model declares");
  }
  const message = verifyMaskedInputMessage(session.config, contribution.maskedInput, submission.partyId);
  if (session.noise === null) {
    if (contribution.noiseVariance !== null) throw refuse('submission_rejected', 'the session adds no noise: noiseVariance must be null');
  } else {
    const required = session.noise.perPartyVariance;
    if (contribution.noiseVariance === null || contribution.noiseVariance < required * (1 - NOISE_VARIANCE_TOLERANCE)) {
      throw refuse('submission_rejected', `the masked input carries less noise than the session requires (per-party variance ${required})`);
    }
  }
  return { partyId: submission.partyId, commitment: submission.commitment, ciphertextHash, contribution, message };
}
