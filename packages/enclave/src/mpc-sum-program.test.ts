// The use-case models under `mpc` (a sum program, protocol sum.ts): the protocol's table of use-case models
// pinned to models' layouts (the statistic counts must be aggregateLayoutOf(modelId).statisticCount), the
// two codecs' bounds pinned together, and the enclave's side of a sum program: revealMpcSum on the output
// shares of in-memory nodes (reveal 'recipient', n − t down) gives the exact integer sum of the parties'
// mpcSumVector vectors, and refuses shares that disagree or a sum no valid vectors can make.
import { MPC_FIELD, fieldVectorFromBigInts, shareVector, type ShareVector } from '@tenzro/crypto';
import { MPC_SUM_STATISTIC_MAX, MPC_SUM_STATISTIC_SCALE, aggregateLayoutOf, getModel, mpcSumCodec, mpcSumVector, type ModelDefinition } from '@tenzro/models';
import {
  MPC_SUM_INPUT_MAX,
  MPC_SUM_PROGRAM_MODELS,
  MPC_SUM_SCALE,
  TenzroError,
  mpcProgramForModel,
  mpcSumProgram,
  runMpcProgramInMemory,
} from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { mpcModelProgramOf } from './mpc-submission.js';
import { methodsOf } from './ops/hello.js';
import { revealMpcSum } from './ops/mpc-run.js';

describe('the sum programs of the use-case models', () => {
  // Fails until the use-case models' layouts are wired (aggregateLayoutOf) and protocol's
  // MPC_SUM_PROGRAM_MODELS carries their counts: then the parties share what the nodes sum.
  for (const { modelId, statisticCount } of MPC_SUM_PROGRAM_MODELS) {
    it(`${modelId}: protocol's statistic count is the model's layout's`, () => {
      const layout = aggregateLayoutOf(modelId);
      expect(layout, `aggregateLayoutOf('${modelId}') is undefined: wire the model's aggregate layout, then set its count in MPC_SUM_PROGRAM_MODELS (packages/protocol/src/mpc/program/sum.ts, placeholder ${statisticCount}) to layout.statisticCount`).toBeDefined();
      expect(
        statisticCount,
        `protocol MPC_SUM_PROGRAM_MODELS (packages/protocol/src/mpc/program/sum.ts) gives ${modelId} ${statisticCount} statistics; its layout ${layout!.id} has ${layout!.statisticCount}: set the table's count to ${layout!.statisticCount}`,
      ).toBe(layout!.statisticCount);
      expect(mpcProgramForModel(modelId)!.inputNames).toHaveLength(layout!.statisticCount);
      expect(mpcModelProgramOf(modelId)).toMatchObject({ kind: 'sum', layout: { id: layout!.id } });
    });
  }

  it("models' sum codec and protocol's sum program take the same range and scale", () => {
    expect(MPC_SUM_STATISTIC_MAX).toBe(MPC_SUM_INPUT_MAX);
    expect(MPC_SUM_STATISTIC_SCALE).toBe(MPC_SUM_SCALE);
    expect(mpcSumCodec.field).toBe(MPC_FIELD);
  });

  it('hello announces mpc for a use-case model only when its sum program fits its layout', () => {
    for (const { modelId } of MPC_SUM_PROGRAM_MODELS) {
      const model = getModel(modelId) ?? ({ id: modelId, methods: ['federated', 'secure_aggregation', 'mpc'] } as unknown as ModelDefinition);
      const fits = aggregateLayoutOf(modelId)?.statisticCount === mpcProgramForModel(modelId)!.inputNames.length;
      expect(methodsOf(model).includes('mpc')).toBe(fits);
      expect(methodsOf(model, { mpcNodesTrusted: false }).includes('mpc')).toBe(false);
    }
    expect(mpcModelProgramOf('risk-analyzer-v2')).toMatchObject({ kind: 'risk_analyzer' });
    expect(mpcModelProgramOf('no-such-model')).toBeUndefined();
  });
});

describe('revealMpcSum (the enclave reconstructs a sum program’s outputs)', () => {
  const count = 12;
  const layout = { id: 'test_sum_layout_v1', statisticCount: count };
  const program = mpcSumProgram('test-model-v1', count);
  const parties = [0, 1, 2].map((p) => Array.from({ length: count }, (_, i) => (i === 0 ? MPC_SUM_STATISTIC_MAX : (i * 7919 + p * 104_729) * (p + 1) ** i)));
  const exact = Array.from({ length: count }, (_, i) => parties.reduce((s, v) => s + v[i]!, 0));

  const nodeShares = (threshold: number, totalParties: number, down: number[], inputs = parties.map((v) => mpcSumVector(layout, v, { threshold, totalParties }))): readonly ShareVector[] =>
    runMpcProgramInMemory({ threshold, totalParties, program, inputs, down, reveal: 'recipient' }).outputShares!;

  it('n = 5, t = 3, nodes 1 and 4 down: the exact integer sum of 3 parties’ vectors', () => {
    const shares = nodeShares(3, 5, [1, 4]);
    expect(shares.map((s) => s.x)).toEqual([2, 3, 5]);
    expect(revealMpcSum(program, { threshold: 3, shares, parties: 3 })).toEqual(exact);
    expect(Number.isSafeInteger(exact[0]!) && exact[0]).toBe(3 * 2 ** 40);
  });

  it('n = 3, t = 2, from any t of the output shares', () => {
    const shares = nodeShares(2, 3, []);
    for (const pair of [[0, 1], [1, 2], [0, 2]]) expect(revealMpcSum(program, { threshold: 2, shares: pair.map((i) => shares[i]!), parties: 3 })).toEqual(exact);
  });

  function refusal(fn: () => unknown): TenzroError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(TenzroError);
      return error as TenzroError;
    }
    throw new Error('expected a refusal');
  }

  it('output shares off one polynomial: mpc_rejected', () => {
    const shares = [...nodeShares(2, 3, [])];
    const bad = shares[2]!;
    const residues = new Uint32Array(bad.vector.residues);
    residues[0] = (residues[0]! + 1) % MPC_FIELD.moduli[0]!;
    shares[2] = { x: bad.x, vector: { ...bad.vector, residues } };
    const error = refusal(() => revealMpcSum(program, { threshold: 2, shares, parties: 3 }));
    expect(error.code).toBe('mpc_rejected');
    expect(error.message).toBe('inconsistent_shares: the node output shares do not reconstruct one set of outputs');
  });

  it('a party that shared a value outside [0, 2^40]: mpc_rejected naming the statistic, never a value', () => {
    const inputs = parties.map((v) => mpcSumVector(layout, v, { threshold: 2, totalParties: 3 }));
    const evil = Array.from({ length: count }, (_, i) => (i === 5 ? -(2n ** 45n) : 0n));
    inputs.push(shareVector(fieldVectorFromBigInts(MPC_FIELD, evil), { threshold: 2, parties: 3 }));
    const error = refusal(() => revealMpcSum(program, { threshold: 2, shares: nodeShares(2, 3, [], inputs), parties: 4 }));
    expect(error.code).toBe('mpc_rejected');
    expect(error.message).toContain('statistic 5');
    expect(error.message).not.toMatch(/\d{6,}/);
  });

  it('fewer output shares than the threshold: mpc_rejected', () => {
    const shares = nodeShares(3, 5, []);
    expect(refusal(() => revealMpcSum(program, { threshold: 3, shares: shares.slice(0, 2), parties: 3 })).code).toBe('mpc_rejected');
  });
});
