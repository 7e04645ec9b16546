/** The create form's rules (the protocol's, terms.ts and mpc/config.ts): messages name the field and the range. */
import { describe, expect, it } from 'vitest';
import { INITIAL_CREATE_FORM, splitPartyList, validateCreateForm, type CreateFormValues } from './create-form.js';

const A = 'party::bankA::treasury';
const B = 'party::bankB::treasury';
const C = 'party::bankC::treasury';
const form = (values: Partial<CreateFormValues>): CreateFormValues => ({ ...INITIAL_CREATE_FORM, name: 'n', modelId: 'm', participants: `${A}\n${B}`, ...values });

describe('validateCreateForm', () => {
  it('builds the SDK input with the federated defaults', () => {
    expect(validateCreateForm(form({}))).toEqual({
      ok: true,
      input: {
        name: 'n',
        modelId: 'm',
        participants: [A, B],
        dataPolicy: {
          aggregationMethod: 'federated',
          encryptionRequired: true,
          retentionPolicy: 'delete_after_inference',
          federatedConfig: { localEpochs: 5, aggregationRounds: 10, differentialPrivacy: { enabled: true, epsilon: 1, delta: 0.00001 } },
        },
      },
    });
  });

  it('sends only enabled:false when differential privacy is off', () => {
    const result = validateCreateForm(form({ privacyEnabled: false, epsilon: 'x' }));
    expect(result.ok && result.input.dataPolicy?.federatedConfig?.differentialPrivacy).toEqual({ enabled: false });
  });

  it.each([
    [{ name: '  ' }, 'name', 'Name is required'],
    [{ participants: `${A}\n${A}` }, 'participants', `Participants: ${A} is listed twice`],
    [{ observers: A }, 'observers', `Observers: ${A} is already a participant`],
    [{ minParticipants: '3' }, 'minParticipants', 'Minimum participants (3) is above the number of participants (2)'],
    [{ minParticipants: '1.5' }, 'minParticipants', 'Minimum participants must be a whole number of at least 1'],
    [{ localEpochs: '0' }, 'localEpochs', 'Local epochs must be a whole number from 1 to 100'],
    [{ aggregationRounds: '1001' }, 'aggregationRounds', 'Aggregation rounds must be a whole number from 1 to 1000'],
    [{ epsilon: '0' }, 'epsilon', 'Epsilon must be a number above 0 and at most 100'],
    [{ delta: '1' }, 'delta', 'Delta must be a number between 0 and 1 (exclusive)'],
    [{ method: 'secure_aggregation', secAggThreshold: '1' }, 'secAggThreshold', 'Threshold must be at least 2, got 1'],
    [{ method: 'secure_aggregation', secAggThreshold: '3' }, 'secAggThreshold', 'Threshold (3) is above the number of participants (2)'],
    [{ method: 'secure_aggregation', participants: `${A}\n${B}\n${C}`, secAggThreshold: '3', minParticipants: '2' }, 'secAggThreshold', 'Threshold (3) is above the minimum participants (2): such a run could never unmask'],
    [{ method: 'mpc', mpcThreshold: '1' }, 'mpcThreshold', 'Threshold must be at least 2, got 1'],
    [{ method: 'mpc', mpcThreshold: '3', mpcTotalParties: '2' }, 'mpcThreshold', 'Threshold (3) is above the number of compute nodes (2)'],
    [{ method: 'mpc', mpcTotalParties: '256' }, 'mpcTotalParties', 'Compute nodes must be a whole number from 2 to 255'],
  ] as Array<[Partial<CreateFormValues>, keyof CreateFormValues, string]>)('%o → %s', (values, field, message) => {
    const result = validateCreateForm(form(values));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[field]).toBe(message);
  });

  it('refuses a secure aggregation threshold of half the participants (two disjoint groups)', () => {
    const result = validateCreateForm(form({ method: 'secure_aggregation', participants: [A, B, C, 'party::bankD::t'].join('\n'), secAggThreshold: '2' }));
    expect(!result.ok && result.errors.secAggThreshold).toBe('Threshold (2) must be more than half the participants (4)');
  });

  it('builds an mpc policy', () => {
    const result = validateCreateForm(form({ method: 'mpc', mpcThreshold: '2', mpcTotalParties: '3' }));
    expect(result.ok && result.input.dataPolicy).toEqual({
      aggregationMethod: 'mpc',
      encryptionRequired: true,
      retentionPolicy: 'delete_after_inference',
      mpcConfig: { protocol: 'shamir_secret_sharing', threshold: 2, totalParties: 3 },
    });
  });

  it('splits party lists on lines and commas', () => {
    expect(splitPartyList(` ${A}, ${B}\n\n${C} `)).toEqual([A, B, C]);
  });
});
