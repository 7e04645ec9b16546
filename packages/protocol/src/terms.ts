/**
 * Session terms (DESIGN §5.1): the immutable statement every party signs into by signing the session id.
 * The data policy is normalised here (every default filled in), so two parties always hash the same terms.
 */
import { z } from 'zod';
import { computeSessionId } from './ids.js';
import { validateMpcConfig } from './mpc/config.js';
import { MpcError } from './mpc/errors.js';
import { Base64Url, PartyId, TenantId } from './primitives.js';

export const AggregationMethod = z.enum(['federated', 'secure_aggregation', 'mpc']);
export type AggregationMethod = z.infer<typeof AggregationMethod>;

export const RetentionPolicy = z.enum(['delete_after_inference', 'retain_until_expiry']);
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

export const DifferentialPrivacy = z.strictObject({
  enabled: z.boolean(),
  epsilon: z.number().positive().max(100),
  delta: z.number().gt(0).lt(1),
});

export const FederatedConfig = z.strictObject({
  localEpochs: z.number().int().min(1).max(100),
  aggregationRounds: z.number().int().min(1).max(1000),
  differentialPrivacy: DifferentialPrivacy,
});
export type FederatedConfig = z.infer<typeof FederatedConfig>;

/** The product doc's `secureAggConfig`; `differentialPrivacy` is ours (defaults to ε = 1, δ = 1e-5 with noise). */
export const SecureAggConfigInput = z.strictObject({
  threshold: z.number().int(),
  noiseAddition: z.boolean(),
  differentialPrivacy: z.strictObject({ epsilon: DifferentialPrivacy.shape.epsilon, delta: DifferentialPrivacy.shape.delta }).optional(),
});

/** Normalised: the DP target is present exactly when noiseAddition is on. */
export const SecureAggConfig = z.strictObject({
  threshold: z.number().int().min(2),
  noiseAddition: z.boolean(),
  differentialPrivacy: z.strictObject({ epsilon: DifferentialPrivacy.shape.epsilon, delta: DifferentialPrivacy.shape.delta }).optional(),
});
export type SecureAggConfig = z.infer<typeof SecureAggConfig>;

export const MpcConfig = z.strictObject({
  protocol: z.literal('shamir_secret_sharing'),
  threshold: z.number().int(),
  totalParties: z.number().int(),
});

/** What a caller may send: the product doc's `dataPolicy`, every field optional. */
export const DataPolicyInput = z.strictObject({
  minParticipants: z.number().int().optional(),
  aggregationMethod: AggregationMethod.optional(),
  encryptionRequired: z.boolean().optional(),
  attestationRequired: z.boolean().optional(),
  retentionPolicy: RetentionPolicy.optional(),
  federatedConfig: z
    .strictObject({
      localEpochs: FederatedConfig.shape.localEpochs.optional(),
      aggregationRounds: FederatedConfig.shape.aggregationRounds.optional(),
      differentialPrivacy: z
        .strictObject({
          enabled: z.boolean().optional(),
          epsilon: DifferentialPrivacy.shape.epsilon.optional(),
          delta: DifferentialPrivacy.shape.delta.optional(),
        })
        .optional(),
    })
    .optional(),
  secureAggConfig: SecureAggConfigInput.optional(),
  mpcConfig: MpcConfig.optional(),
});
export type DataPolicyInput = z.infer<typeof DataPolicyInput>;

/** The normalised policy stored in the terms. */
export const DataPolicy = z.strictObject({
  minParticipants: z.number().int().min(1),
  aggregationMethod: AggregationMethod,
  encryptionRequired: z.literal(true),
  attestationRequired: z.boolean(),
  retentionPolicy: RetentionPolicy,
  federatedConfig: FederatedConfig.optional(),
  secureAggConfig: SecureAggConfig.optional(),
  mpcConfig: MpcConfig.optional(),
});
export type DataPolicy = z.infer<typeof DataPolicy>;

export const DEFAULT_FEDERATED_CONFIG: FederatedConfig = {
  localEpochs: 5,
  aggregationRounds: 10,
  differentialPrivacy: { enabled: true, epsilon: 1.0, delta: 1e-5 },
};

export class DataPolicyError extends Error {
  readonly code = 'invalid_data_policy' as const;
}

/**
 * Fills every default and rejects combinations that cannot hold. Never clamps: a bad value is an error
 * that names the field.
 */
export function normalizeDataPolicy(input: DataPolicyInput | undefined, participantCount: number): DataPolicy {
  const policy = input ?? {};
  const minParticipants = policy.minParticipants ?? participantCount;
  if (minParticipants < 1) throw new DataPolicyError('dataPolicy.minParticipants must be at least 1');
  if (minParticipants > participantCount) {
    throw new DataPolicyError(
      `dataPolicy.minParticipants (${minParticipants}) is above the number of participants (${participantCount})`,
    );
  }
  if (policy.encryptionRequired === false) {
    throw new DataPolicyError('dataPolicy.encryptionRequired: data is always encrypted to the enclave; false is not supported');
  }
  const aggregationMethod = policy.aggregationMethod ?? 'federated';
  const normalized: DataPolicy = {
    minParticipants,
    aggregationMethod,
    encryptionRequired: true,
    attestationRequired: policy.attestationRequired ?? true,
    retentionPolicy: policy.retentionPolicy ?? 'delete_after_inference',
  };
  if (aggregationMethod === 'federated') {
    const fed = policy.federatedConfig ?? {};
    const dp = fed.differentialPrivacy ?? {};
    normalized.federatedConfig = {
      localEpochs: fed.localEpochs ?? DEFAULT_FEDERATED_CONFIG.localEpochs,
      aggregationRounds: fed.aggregationRounds ?? DEFAULT_FEDERATED_CONFIG.aggregationRounds,
      differentialPrivacy: {
        enabled: dp.enabled ?? DEFAULT_FEDERATED_CONFIG.differentialPrivacy.enabled,
        epsilon: dp.epsilon ?? DEFAULT_FEDERATED_CONFIG.differentialPrivacy.epsilon,
        delta: dp.delta ?? DEFAULT_FEDERATED_CONFIG.differentialPrivacy.delta,
      },
    };
  } else if (policy.federatedConfig) {
    throw new DataPolicyError(`dataPolicy.federatedConfig is only valid with aggregationMethod 'federated'`);
  }
  if (aggregationMethod === 'secure_aggregation') {
    normalized.secureAggConfig = normalizeSecureAggConfig(policy.secureAggConfig, participantCount, minParticipants);
  } else if (policy.secureAggConfig) {
    throw new DataPolicyError(`dataPolicy.secureAggConfig is only valid with aggregationMethod 'secure_aggregation'`);
  }
  if (aggregationMethod === 'mpc') {
    if (!policy.mpcConfig) throw new DataPolicyError('dataPolicy.mpcConfig is required for mpc');
    try {
      // The model's statistics need secure multiplication: 2 ≤ threshold ≤ totalParties and 2t − 1 ≤ n.
      validateMpcConfig(policy.mpcConfig, { multiplication: true });
    } catch (error) {
      if (error instanceof MpcError) throw new DataPolicyError(`dataPolicy.mpcConfig: ${error.message}`);
      throw error;
    }
    normalized.mpcConfig = policy.mpcConfig;
  }
  return normalized;
}

/**
 * Secure aggregation needs 2 ≤ threshold ≤ participants and threshold > participants / 2: with a
 * majority threshold no two disjoint groups of survivors exist, so a host cannot tell two groups two
 * different stories about who dropped (Bonawitz et al. §6). minParticipants below threshold could never
 * run, so it is refused too.
 */
function normalizeSecureAggConfig(config: z.infer<typeof SecureAggConfigInput> | undefined, participants: number, minParticipants: number): SecureAggConfig {
  if (!config) throw new DataPolicyError('dataPolicy.secureAggConfig is required for secure_aggregation');
  const { threshold, noiseAddition } = config;
  if (threshold < 2) throw new DataPolicyError(`dataPolicy.secureAggConfig.threshold must be at least 2, got ${threshold}`);
  if (threshold > participants) {
    throw new DataPolicyError(`dataPolicy.secureAggConfig.threshold (${threshold}) is above the number of participants (${participants})`);
  }
  if (threshold * 2 <= participants) {
    throw new DataPolicyError(
      `dataPolicy.secureAggConfig.threshold (${threshold}) must be more than half the participants (${participants}): a host could otherwise unmask two disjoint groups`,
    );
  }
  if (minParticipants < threshold) {
    throw new DataPolicyError(`dataPolicy.minParticipants (${minParticipants}) is below secureAggConfig.threshold (${threshold}): such a run could never unmask`);
  }
  if (!noiseAddition && config.differentialPrivacy) {
    throw new DataPolicyError('dataPolicy.secureAggConfig.differentialPrivacy needs noiseAddition: true');
  }
  return {
    threshold,
    noiseAddition,
    ...(noiseAddition ? { differentialPrivacy: config.differentialPrivacy ?? { epsilon: DEFAULT_FEDERATED_CONFIG.differentialPrivacy.epsilon, delta: DEFAULT_FEDERATED_CONFIG.differentialPrivacy.delta } } : {}),
  };
}

export const RosterParticipant = z.strictObject({
  partyId: PartyId,
  signingKey: Base64Url,
  encryptionKey: Base64Url,
});
export type RosterParticipant = z.infer<typeof RosterParticipant>;

export const RosterObserver = z.strictObject({
  partyId: PartyId,
  encryptionKey: Base64Url,
});
export type RosterObserver = z.infer<typeof RosterObserver>;

export const SESSION_TERMS_TYPE = 'tenzro.session-terms/v1';

export const SessionTerms = z.strictObject({
  type: z.literal(SESSION_TERMS_TYPE),
  tenantId: TenantId,
  name: z.string().min(1).max(200),
  description: z.string().max(2000),
  modelId: z.string().min(1).max(100),
  modelDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  participants: z.array(RosterParticipant).min(1).max(100),
  observers: z.array(RosterObserver).max(100),
  dataPolicy: DataPolicy,
  expiresAt: z.iso.datetime({ offset: false }),
  createdAt: z.iso.datetime({ offset: false }),
  nonce: Base64Url,
});
export type SessionTerms = z.infer<typeof SessionTerms>;

/** Recomputes the session id from the terms: any party can check that the host did not swap them. */
export function sessionIdOf(terms: SessionTerms): string {
  return computeSessionId(terms);
}

/** Everyone who receives the result: included participants and every observer. */
export function isRosterParty(terms: SessionTerms, partyId: string): boolean {
  return terms.participants.some((p) => p.partyId === partyId) || terms.observers.some((o) => o.partyId === partyId);
}
