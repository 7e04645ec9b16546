/**
 * The create form as data: the text a person typed (`CreateFormValues`) becomes either the SDK's
 * `CreateMultiPartySessionInput` or a message per field. The rules are the protocol's (terms.ts,
 * mpc/config.ts), checked here only so the person sees them before sending; the server checks again.
 * Nothing is clamped: a value out of range is an error that says the range.
 */
import type { CreateMultiPartySessionInput, DataPolicyInput } from '@tenzro/platform';
import type { AggregationMethod } from './session-labels.js';

export const PARTY_ID_PATTERN = /^party::([a-zA-Z][a-zA-Z0-9_-]{0,62})::([a-zA-Z0-9][a-zA-Z0-9_.-]{0,62})$/;
export const MPC_MAX_PARTIES = 255;

export interface CreateFormValues {
  name: string;
  description: string;
  modelId: string;
  /** One party id per line (or separated by commas). */
  participants: string;
  observers: string;
  /** Empty: every participant. */
  minParticipants: string;
  retentionPolicy: 'delete_after_inference' | 'retain_until_expiry';
  method: AggregationMethod;
  localEpochs: string;
  aggregationRounds: string;
  /** federated: differential privacy on; secure_aggregation: noise addition on. */
  privacyEnabled: boolean;
  epsilon: string;
  delta: string;
  secAggThreshold: string;
  mpcThreshold: string;
  mpcTotalParties: string;
}

export type CreateFormField = keyof CreateFormValues;
export type CreateFormErrors = Partial<Record<CreateFormField, string>>;

export const INITIAL_CREATE_FORM: CreateFormValues = Object.freeze({
  name: '',
  description: '',
  modelId: '',
  participants: '',
  observers: '',
  minParticipants: '',
  retentionPolicy: 'delete_after_inference',
  method: 'federated',
  localEpochs: '5',
  aggregationRounds: '10',
  privacyEnabled: true,
  epsilon: '1',
  delta: '0.00001',
  secAggThreshold: '',
  mpcThreshold: '2',
  mpcTotalParties: '3',
}) as CreateFormValues;

/** The order fields appear in the form: the first one in error gets focus. */
export const CREATE_FORM_FIELD_ORDER: readonly CreateFormField[] = [
  'name',
  'description',
  'modelId',
  'participants',
  'observers',
  'minParticipants',
  'retentionPolicy',
  'method',
  'localEpochs',
  'aggregationRounds',
  'secAggThreshold',
  'privacyEnabled',
  'epsilon',
  'delta',
  'mpcThreshold',
  'mpcTotalParties',
];

export function splitPartyList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

function integer(text: string): number | undefined {
  const trimmed = text.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}

function decimal(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

function partyListError(label: string, parties: string[]): string | undefined {
  const bad = parties.find((party) => !PARTY_ID_PATTERN.test(party));
  if (bad !== undefined) return `${label}: "${bad}" is not a party id (party::<tenant>::<name>)`;
  const seen = new Set<string>();
  for (const party of parties) {
    if (seen.has(party)) return `${label}: ${party} is listed twice`;
    seen.add(party);
  }
  if (parties.length > 100) return `${label}: at most 100, got ${parties.length}`;
  return undefined;
}

export type CreateFormResult = { ok: true; input: CreateMultiPartySessionInput } | { ok: false; errors: CreateFormErrors };

export function validateCreateForm(values: CreateFormValues): CreateFormResult {
  const errors: CreateFormErrors = {};
  const name = values.name.trim();
  if (name.length === 0) errors.name = 'Name is required';
  else if (name.length > 200) errors.name = 'Name must be at most 200 characters';
  const description = values.description.trim();
  if (description.length > 2000) errors.description = 'Description must be at most 2000 characters';
  const modelId = values.modelId.trim();
  if (modelId.length === 0) errors.modelId = 'Model is required';
  else if (modelId.length > 100) errors.modelId = 'Model id must be at most 100 characters';

  const participants = splitPartyList(values.participants);
  if (participants.length === 0) errors.participants = 'At least one participant is required';
  else {
    const problem = partyListError('Participants', participants);
    if (problem) errors.participants = problem;
  }
  const observers = splitPartyList(values.observers);
  const observerProblem = partyListError('Observers', observers);
  if (observerProblem) errors.observers = observerProblem;
  else {
    const both = observers.find((party) => participants.includes(party));
    if (both !== undefined) errors.observers = `Observers: ${both} is already a participant`;
  }

  const n = participants.length;
  let minParticipants: number | undefined;
  if (values.minParticipants.trim() !== '') {
    minParticipants = integer(values.minParticipants);
    if (minParticipants === undefined || minParticipants < 1) errors.minParticipants = 'Minimum participants must be a whole number of at least 1';
    else if (n > 0 && minParticipants > n) errors.minParticipants = `Minimum participants (${minParticipants}) is above the number of participants (${n})`;
  }
  const effectiveMin = minParticipants ?? n;

  const policy: DataPolicyInput = {
    aggregationMethod: values.method,
    encryptionRequired: true,
    retentionPolicy: values.retentionPolicy,
    ...(minParticipants === undefined ? {} : { minParticipants }),
  };

  const privacy = (): { epsilon: number; delta: number } | undefined => {
    const epsilon = decimal(values.epsilon);
    const delta = decimal(values.delta);
    if (epsilon === undefined || epsilon <= 0 || epsilon > 100) errors.epsilon = 'Epsilon must be a number above 0 and at most 100';
    if (delta === undefined || delta <= 0 || delta >= 1) errors.delta = 'Delta must be a number between 0 and 1 (exclusive)';
    return epsilon !== undefined && delta !== undefined ? { epsilon, delta } : undefined;
  };

  switch (values.method) {
    case 'federated': {
      const localEpochs = integer(values.localEpochs);
      if (localEpochs === undefined || localEpochs < 1 || localEpochs > 100) errors.localEpochs = 'Local epochs must be a whole number from 1 to 100';
      const aggregationRounds = integer(values.aggregationRounds);
      if (aggregationRounds === undefined || aggregationRounds < 1 || aggregationRounds > 1000) {
        errors.aggregationRounds = 'Aggregation rounds must be a whole number from 1 to 1000';
      }
      const dp = values.privacyEnabled ? privacy() : undefined;
      policy.federatedConfig = {
        ...(localEpochs === undefined ? {} : { localEpochs }),
        ...(aggregationRounds === undefined ? {} : { aggregationRounds }),
        differentialPrivacy: values.privacyEnabled ? { enabled: true, ...dp } : { enabled: false },
      };
      break;
    }
    case 'secure_aggregation': {
      const threshold = integer(values.secAggThreshold);
      if (threshold === undefined) errors.secAggThreshold = 'Threshold must be a whole number';
      else if (threshold < 2) errors.secAggThreshold = `Threshold must be at least 2, got ${threshold}`;
      else if (n > 0 && threshold > n) errors.secAggThreshold = `Threshold (${threshold}) is above the number of participants (${n})`;
      else if (n > 0 && threshold * 2 <= n) errors.secAggThreshold = `Threshold (${threshold}) must be more than half the participants (${n})`;
      else if (n > 0 && effectiveMin < threshold) {
        errors.secAggThreshold = `Threshold (${threshold}) is above the minimum participants (${effectiveMin}): such a run could never unmask`;
      }
      const dp = values.privacyEnabled ? privacy() : undefined;
      policy.secureAggConfig = {
        threshold: threshold ?? 0,
        noiseAddition: values.privacyEnabled,
        ...(dp === undefined ? {} : { differentialPrivacy: dp }),
      };
      break;
    }
    case 'mpc': {
      const threshold = integer(values.mpcThreshold);
      const totalParties = integer(values.mpcTotalParties);
      if (totalParties === undefined || totalParties < 2 || totalParties > MPC_MAX_PARTIES) {
        errors.mpcTotalParties = `Compute nodes must be a whole number from 2 to ${MPC_MAX_PARTIES}`;
      }
      if (threshold === undefined) errors.mpcThreshold = 'Threshold must be a whole number';
      else if (threshold < 2) errors.mpcThreshold = `Threshold must be at least 2, got ${threshold}`;
      else if (totalParties !== undefined && threshold > totalParties) {
        errors.mpcThreshold = `Threshold (${threshold}) is above the number of compute nodes (${totalParties})`;
      } else if (totalParties !== undefined && 2 * threshold - 1 > totalParties) {
        errors.mpcThreshold = `Threshold (${threshold}) needs at least ${2 * threshold - 1} compute nodes (2 × threshold − 1)`;
      }
      policy.mpcConfig = { protocol: 'shamir_secret_sharing', threshold: threshold ?? 0, totalParties: totalParties ?? 0 };
      break;
    }
    default: {
      const never: never = values.method;
      errors.method = `Unknown method ${String(never)}`;
    }
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    input: {
      name,
      ...(description.length > 0 ? { description } : {}),
      modelId,
      participants,
      ...(observers.length > 0 ? { observers } : {}),
      dataPolicy: policy,
    },
  };
}
