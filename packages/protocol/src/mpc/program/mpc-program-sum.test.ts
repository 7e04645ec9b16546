// The sum program (sum.ts): the use-case models' `mpc` program. Its shape (one open of `in`, scale 0, no
// multiplication, no triples), the table of use-case models behind mpcProgramForModel / mpcProgramById, the
// trivial preprocessing (a triple machine of length 0), and a run on in-memory nodes with reveal
// 'recipient' and n − t nodes down that reconstructs the exact integer sum of 3 parties' vectors while
// nothing is opened in the clear. Argument errors are checked by message.
import { MPC_FIELD, createMpcCodec, shareVector, fieldVectorFromBigInts, type ShareVector } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MpcError } from '../errors.js';
import { createMpcNode } from '../node.js';
import { mpcProgramById, mpcProgramForModel } from '../run.js';
import { createMpcProgramMachine, createMpcTripleMachine, mpcProgramMultiplies, mpcProgramTripleLength, validateMpcProgram } from './program.js';
import { RISK_ANALYZER_MPC_PROGRAM } from './risk-analyzer-v2.js';
import { runMpcProgramInMemory } from './run-in-memory.js';
import {
  MPC_SUM_INPUT_MAX,
  MPC_SUM_MAX_STATISTICS,
  MPC_SUM_PROGRAM_MODELS,
  isMpcSumProgram,
  mpcSumProgram,
  mpcSumProgramForModel,
  mpcSumValues,
} from './sum.js';

const SESSION = 'mps_sumprogramaaaaaaaaaaaaaaaa';
/** The codec the parties use (models mpcSumCodec: scale 0, [0, 2^40]). */
const codec = createMpcCodec({ scale: 0, min: 0, max: MPC_SUM_INPUT_MAX });

/** Test-only PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `parties` integer vectors of `count` statistics in [0, 2^40], the extremes included. */
function vectors(parties: number, count: number, seed: number): number[][] {
  const r = prng(seed);
  return Array.from({ length: parties }, (_, p) =>
    Array.from({ length: count }, (_, i) => (i === 0 ? 0 : i === 1 ? MPC_SUM_INPUT_MAX : p === 0 && i === 2 ? MPC_SUM_INPUT_MAX - 1 : Math.floor(r() * 2 ** (40 * r())))),
  );
}

const share = (values: readonly number[], threshold: number, totalParties: number): ShareVector[] => shareVector(codec.encode(values), { threshold, parties: totalParties });

describe('mpcSumProgram', () => {
  it('is one open of `in` at scale 0: no multiplication, no triples', () => {
    const program = mpcSumProgram('supply-chain-optimizer-v1', 3);
    expect(program.id).toBe('supply-chain-optimizer-v1.sum.v1');
    expect(program.inputNames).toEqual(['stat_0000', 'stat_0001', 'stat_0002']);
    expect(program.outputs).toEqual(program.inputNames);
    expect(program.steps).toEqual([{ kind: 'open', from: 'in', names: ['stat_0000', 'stat_0001', 'stat_0002'], scale: 0 }]);
    expect(() => validateMpcProgram(program)).not.toThrow();
    expect(mpcProgramTripleLength(program)).toBe(0);
    expect(mpcProgramMultiplies(program)).toBe(false);
    expect(isMpcSumProgram(program)).toBe(true);
    expect(isMpcSumProgram(RISK_ANALYZER_MPC_PROGRAM)).toBe(false);
    expect(Object.isFrozen(program) && Object.isFrozen(program.steps[0]) && Object.isFrozen(program.inputNames)).toBe(true);
    expect(mpcSumProgram('m', MPC_SUM_MAX_STATISTICS).inputNames.at(-1)).toBe('stat_4095');
  });

  it('refuses a bad modelId or statistic count, naming the argument', () => {
    expect(() => mpcSumProgram(7 as unknown as string, 3)).toThrow(new TypeError('modelId must be a string'));
    expect(() => mpcSumProgram('a b', 3)).toThrow(RangeError);
    expect(() => mpcSumProgram('', 3)).toThrow(/modelId must be characters of/);
    expect(() => mpcSumProgram('m'.repeat(74), 3)).toThrow(/at most 73 of them/);
    expect(mpcSumProgram('m'.repeat(73), 3).id).toHaveLength(80);
    expect(() => mpcSumProgram('m', '3' as unknown as number)).toThrow(new TypeError('statisticCount must be a number'));
    for (const bad of [0, -1, 1.5, MPC_SUM_MAX_STATISTICS + 1, Number.NaN]) {
      expect(() => mpcSumProgram('m', bad)).toThrow(new RangeError(`statisticCount must be an integer from 1 to ${MPC_SUM_MAX_STATISTICS}, got ${bad}`));
    }
  });

  it('is the mpc program of every use-case model in the table, found by id; risk-analyzer-v2 keeps its own', () => {
    expect(MPC_SUM_PROGRAM_MODELS.map((m) => m.modelId)).toEqual(['supply-chain-optimizer-v1', 'healthcare-outcomes-v1', 'compliance-checker-v1']);
    for (const { modelId, statisticCount } of MPC_SUM_PROGRAM_MODELS) {
      const program = mpcProgramForModel(modelId)!;
      expect(program).toBe(mpcSumProgramForModel(modelId));
      expect(program.id).toBe(`${modelId}.sum.v1`);
      expect(program.inputNames).toHaveLength(statisticCount);
      expect(isMpcSumProgram(program)).toBe(true);
      expect(mpcProgramById(program.id)).toBe(program);
    }
    expect(mpcProgramForModel('risk-analyzer-v2')).toBe(RISK_ANALYZER_MPC_PROGRAM);
    expect(mpcProgramById(RISK_ANALYZER_MPC_PROGRAM.id)).toBe(RISK_ANALYZER_MPC_PROGRAM);
    expect(mpcProgramForModel('no-such-model')).toBeUndefined();
    expect(mpcSumProgramForModel('risk-analyzer-v2')).toBeUndefined();
    expect(mpcProgramById('no-such-model.sum.v1')).toBeUndefined();
  });
});

describe('preprocessing a program without multiplications', () => {
  it('a triple machine of length 0 is done at once, sends nothing and hands out empty triples once', () => {
    const node = createMpcNode({ sessionId: SESSION, party: 2, threshold: 2, totalParties: 3 });
    const machine = createMpcTripleMachine({ node, op: 'prep-1:triples', length: 0 });
    expect(machine.phase).toBe('done');
    expect(machine.advance([])).toEqual([]);
    const triples = machine.takeTriples();
    for (const part of [triples.u, triples.v, triples.w]) expect(part).toMatchObject({ x: 2, vector: { length: 0, field: MPC_FIELD } });
    expect(() => machine.takeTriples()).toThrow(/handed out already/);
    expect(() => createMpcTripleMachine({ node, op: 'prep-1:triples', length: -1 })).toThrow(new MpcError('invalid_config', 'config', 'length must be a non-negative integer'));
  });

  it("a node's run from those triples finishes in one silent round with its output share", () => {
    const program = mpcSumProgram('m', 4);
    const threshold = 2;
    const totalParties = 3;
    const inputs = vectors(2, 4, 1).map((v) => share(v, threshold, totalParties));
    const node = createMpcNode({ sessionId: SESSION, party: 1, threshold, totalParties });
    const triples = createMpcTripleMachine({ node, op: 'p:triples', length: mpcProgramTripleLength(program) }).takeTriples();
    const machine = createMpcProgramMachine({ node, program, inputs: inputs.map((s) => s[0]!), triples, reveal: 'recipient', opPrefix: 'run_1.1' });
    expect(machine.phase).toBe('online');
    expect(machine.advance([])).toEqual([]);
    expect(machine.phase).toBe('done');
    expect(machine.outputShare()).toMatchObject({ x: 1, vector: { length: 4 } });
  });
});

describe('the sum program on in-memory nodes', () => {
  const count = 9;
  const parties = vectors(3, count, 7);
  const exact = Array.from({ length: count }, (_, i) => parties.reduce((s, v) => s + BigInt(v[i]!), 0n));

  for (const [threshold, totalParties, down] of [
    [3, 5, [2, 4]],
    [2, 3, [3]],
  ] as const) {
    it(`reveal 'recipient', t = ${threshold} of n = ${totalParties}, nodes ${down.join(', ')} down: the exact integer sum, nothing opened`, () => {
      const program = mpcSumProgram('healthcare-outcomes-v1', count);
      const run = runMpcProgramInMemory({ threshold, totalParties, program, inputs: parties.map((v) => share(v, threshold, totalParties)), down: [...down], reveal: 'recipient' });
      expect([...run.outputs.keys()]).toEqual(program.outputs);
      expect([...run.outputs.values()].map((o) => o.integer)).toEqual(exact);
      expect([...run.outputs.values()].every((o) => o.scale === 0)).toBe(true);
      expect(mpcSumValues(program, run.outputs, 3)).toEqual(exact.map(Number));
      expect(run.outputShares!.map((s) => s.x)).toEqual(Array.from({ length: totalParties }, (_, i) => i + 1).filter((x) => !(down as readonly number[]).includes(x)));
      expect(run.opened).toEqual([]); // no value is ever opened among the nodes
      expect(run.rounds).toBe(1);
    });
  }

  it("reveal 'nodes' opens the same sum", () => {
    const program = mpcSumProgram('m', count);
    const run = runMpcProgramInMemory({ threshold: 3, totalParties: 5, program, inputs: parties.map((v) => share(v, 3, 5)), down: [1, 5] });
    expect([...run.outputs.values()].map((o) => o.integer)).toEqual(exact);
    expect(run.opened.map((o) => o.kind)).toEqual(['output']);
  });

  it('fewer than t nodes up: too_few_parties', () => {
    const program = mpcSumProgram('m', count);
    const run = () => runMpcProgramInMemory({ threshold: 3, totalParties: 5, program, inputs: parties.map((v) => share(v, 3, 5)), down: [1, 2, 3], reveal: 'recipient' });
    expect(run).toThrow(expect.objectContaining({ code: 'too_few_parties' }));
  });
});

describe('mpcSumValues', () => {
  const program = mpcSumProgram('m', 2);
  const runOn = (values: readonly bigint[][]) =>
    runMpcProgramInMemory({
      threshold: 2,
      totalParties: 3,
      program,
      inputs: values.map((v) => shareVector(fieldVectorFromBigInts(MPC_FIELD, v), { threshold: 2, parties: 3 })),
      reveal: 'recipient',
    }).outputs;

  it('refuses a sum outside [0, parties × 2^40] (a party shared an out-of-range value), naming the index only', () => {
    const negative = runOn([[5n, 1n], [3n, -2n]]);
    expect(() => mpcSumValues(program, negative, 2)).toThrow(new MpcError('out_of_range', 'open', 'the sum of statistic 1 is outside [0, 2 × 2^40]: a party shared a value outside the declared range'));
    const above = runOn([[2n ** 41n + 1n, 0n], [0n, 0n]]);
    expect(() => mpcSumValues(program, above, 2)).toThrow(expect.objectContaining({ code: 'out_of_range', message: expect.stringContaining('statistic 0') }));
    expect(mpcSumValues(program, runOn([[2n ** 40n, 0n], [2n ** 40n, 0n]]), 2)).toEqual([2 ** 41, 0]);
  });

  it('refuses a program that is not a sum program, outputs that are not a Map and a bad party count', () => {
    const outputs = runOn([[1n, 2n], [3n, 4n]]);
    expect(() => mpcSumValues(RISK_ANALYZER_MPC_PROGRAM, outputs, 2)).toThrow(new TypeError('program must be a sum program (mpcSumProgram)'));
    expect(() => mpcSumValues(program, {} as never, 2)).toThrow(new TypeError('outputs must be the Map reconstructMpcProgramOutputs returns'));
    expect(() => mpcSumValues(program, outputs, 0)).toThrow(new RangeError('parties must be an integer from 1 to 128, got 0'));
    expect(() => mpcSumValues(program, new Map(), 2)).toThrow(expect.objectContaining({ code: 'length_mismatch' }));
  });
});
