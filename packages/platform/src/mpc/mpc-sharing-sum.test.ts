// Which statistics a party shares for the session's program (mpcSharingOf, docs/mpc.md "Party: contribute"):
// risk-analyzer-v2's own vector, or for a use-case model's sum program its aggregate layout's statistics
// (computeStatistics), refused before anything is sent when this SDK has no layout of that length.
import { aggregateLayoutOf } from '@tenzro/models';
import { MPC_SUM_PROGRAM_MODELS, mpcProgramForModel, type MultiPartySession } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { MpcContributionError } from './errors.js';
import { mpcSharingOf } from './party.js';

function sessionOf(modelId: string, aggregationMethod: 'mpc' | 'federated' = 'mpc'): MultiPartySession {
  return {
    id: 'mps_sharingtestaaaaaaaaaaaaaaa',
    terms: { modelId, dataPolicy: { aggregationMethod, mpcConfig: { protocol: 'shamir_secret_sharing', threshold: 2, totalParties: 3 } } },
  } as unknown as MultiPartySession;
}

function refusal(fn: () => unknown): MpcContributionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MpcContributionError);
    return error as MpcContributionError;
  }
  throw new Error('expected a refusal');
}

describe('mpcSharingOf', () => {
  it('risk-analyzer-v2 shares its own statistic vector', () => {
    const sharing = mpcSharingOf(sessionOf('risk-analyzer-v2'));
    expect(sharing).toMatchObject({ threshold: 2, totalParties: 3, source: { kind: 'risk_analyzer' } });
    expect(sharing.program.id).toBe('risk-analyzer-v2.mpc.v1');
  });

  for (const { modelId } of MPC_SUM_PROGRAM_MODELS) {
    it(`${modelId} shares its layout's statistics, or is refused while this SDK has no layout of the program's length`, () => {
      const program = mpcProgramForModel(modelId)!;
      const layout = aggregateLayoutOf(modelId);
      if (layout !== undefined && layout.statisticCount === program.inputNames.length) {
        const sharing = mpcSharingOf(sessionOf(modelId));
        expect(sharing.program).toBe(program);
        expect(sharing.source).toEqual({ kind: 'sum', layout });
        return;
      }
      const error = refusal(() => mpcSharingOf(sessionOf(modelId)));
      expect(error.code).toBe('unsupported_model');
      expect(error.message).toBe(
        layout === undefined
          ? `this SDK knows no statistic layout for the model ${modelId}`
          : `the program ${program.id} takes ${program.inputNames.length} inputs, the layout ${layout.id} has ${layout.statisticCount} statistics`,
      );
    });
  }

  it('a model without a program, or a session on another method, is refused', () => {
    expect(refusal(() => mpcSharingOf(sessionOf('no-such-model'))).code).toBe('unsupported_model');
    expect(refusal(() => mpcSharingOf(sessionOf('risk-analyzer-v2', 'federated'))).code).toBe('not_applicable');
  });
});
