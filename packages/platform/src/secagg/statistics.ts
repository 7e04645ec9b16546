/**
 * The party's input to secure aggregation (docs/secure-aggregation.md, "Statistics" and "Noise"), computed
 * locally before anything is sent: the records are validated with the model's data schema, turned into the
 * model's integer statistics (`computeStatistics` of its aggregate layout), given this party's share of
 * the Skellam noise when the session asks for it, and encoded on the ring Z_2^32 (`encodeStatistics`).
 *
 * Noise share: the session's DP target (ε, δ) and the layout's per-record sensitivities give the total
 * variance μ (`calibrateSkellam`, the same calibration the enclave checks against); each party adds
 * Sk(μ / (threshold − 1)) to every statistic (`secAggNoiseShare`), so any s ≥ threshold survivors leave at
 * least Sk(μ) in the sum even against one of them who knows (and subtracts) its own draw. A target whose
 * share cannot be sampled or encoded is refused with `noise_out_of_range` before anything is sent.
 */
import { MAX_SKELLAM_VARIANCE, calibrateSkellam, sampleSkellam, type RandomSource, randomBytes } from '@tenzro/crypto';
import { aggregateLayoutOf, computeStatistics, encodeStatistics, getModel, type AggregateLayout } from '@tenzro/models';
import { secAggNoiseShare, type SessionTerms } from '@tenzro/protocol';
import { checkRecords } from '../records.js';
import { SecureAggregationError } from './errors.js';

export interface SecAggInput {
  layout: AggregateLayout;
  /** The data schema the statistics were computed from (the contribution's `sourceSchema`). */
  dataSchema: string;
  /** The ring vector to mask (length layout.ringLength). */
  encoded: Uint32Array;
  /** Variance of the Skellam share added to each statistic; null without noiseAddition. */
  noiseVariance: number | null;
}

/** The session model's aggregate layout, or `unsupported_model`. */
export function layoutOfSession(terms: SessionTerms): AggregateLayout {
  const model = getModel(terms.modelId);
  if (model === undefined) {
    throw new SecureAggregationError('unsupported_model', `this SDK does not know the model ${terms.modelId} of the session, so it cannot compute its statistics`);
  }
  const layout = aggregateLayoutOf(terms.modelId);
  if (layout === undefined || !model.methods.includes('secure_aggregation')) {
    throw new SecureAggregationError('unsupported_model', `the model ${terms.modelId} declares no aggregate statistics for secure_aggregation`);
  }
  return layout;
}

/** Validates `data` with `dataSchema` (one of the model's schemas) and returns the records. */
function validateRecords(terms: SessionTerms, dataSchema: string, data: unknown): unknown[] {
  const checked = checkRecords(terms, dataSchema, data);
  if (checked.ok) return checked.records;
  throw new SecureAggregationError(checked.code, checked.message, checked.code === 'schema_validation_failed' ? { details: checked.details } : {});
}

/**
 * The per-party Skellam variance the session asks for: `secAggNoiseShare(μ, threshold)` = μ / (threshold − 1),
 * or null without noiseAddition. A DP target no party can meet (no calibration, or a share the sampler
 * cannot draw) is `noise_out_of_range`.
 */
export function noiseShareOf(terms: SessionTerms, layout: AggregateLayout): number | null {
  const secure = terms.dataPolicy.secureAggConfig;
  if (secure === undefined || !secure.noiseAddition) return null;
  const target = secure.differentialPrivacy;
  if (target === undefined) throw new SecureAggregationError('unsupported_model', 'the session asks for noise without a differential-privacy target');
  const what = `the differential-privacy target (ε = ${target.epsilon}, δ = ${target.delta}) of the session`;
  let share: number;
  try {
    const { variance } = calibrateSkellam({ epsilon: target.epsilon, delta: target.delta, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity });
    share = secAggNoiseShare(variance, secure.threshold);
  } catch (cause) {
    throw new SecureAggregationError('noise_out_of_range', `${what} cannot be met with Skellam noise on the statistics of ${layout.id}`, { cause });
  }
  if (!(share <= MAX_SKELLAM_VARIANCE)) {
    throw new SecureAggregationError(
      'noise_out_of_range',
      `${what} needs a Skellam share of variance ${share.toExponential(3)} per party, above what a party can sample (${MAX_SKELLAM_VARIANCE}); nothing was sent`,
    );
  }
  return share;
}

/** Validate → statistics → noise share → ring encoding. Nothing leaves the party here. */
export function prepareSecAggInput(terms: SessionTerms, dataSchema: string, data: unknown, random: RandomSource = randomBytes): SecAggInput {
  const layout = layoutOfSession(terms);
  const records = validateRecords(terms, dataSchema, data);
  // risk-analyzer-v2's features, or a use-case model's partyStatistics: computeStatistics dispatches by layout
  const values = computeStatistics(layout, records);
  const noiseVariance = noiseShareOf(terms, layout);
  // The statistics alone must fit their declared ranges (a data problem, told apart from the noise's).
  try {
    encodeStatistics(layout, values).fill(0);
  } catch (cause) {
    throw new SecureAggregationError('statistic_out_of_range', `the statistics of these records do not fit the layout ${layout.id} (nothing was sent): ${(cause as Error).message}`, { cause });
  }
  let encoded: Uint32Array;
  if (noiseVariance === null) {
    encoded = encodeStatistics(layout, values);
  } else {
    let noise: Int32Array | undefined;
    try {
      noise = sampleSkellam(noiseVariance, values.length, random);
      encoded = encodeStatistics(layout, values, noise);
    } catch (cause) {
      throw new SecureAggregationError(
        'noise_out_of_range',
        `the Skellam share of variance ${noiseVariance.toExponential(3)} does not fit the noise range of ${layout.id} (|noise| ≤ ${layout.maxNoiseMagnitude}); nothing was sent`,
        { cause },
      );
    } finally {
      noise?.fill(0);
    }
  }
  if (encoded.length !== layout.ringLength) {
    throw new SecureAggregationError('unsupported_model', `the layout ${layout.id} encoded ${encoded.length} ring elements, not ${layout.ringLength}`);
  }
  return { layout, dataSchema, encoded, noiseVariance };
}
