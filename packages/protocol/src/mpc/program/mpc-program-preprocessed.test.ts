// The `mpc` run as the compute nodes do it (docs/mpc.md): Beaver triples made beforehand by
// createMpcTripleMachine with every node up (GRR: 2t − 1), then the program online from those triples with
// n − t nodes down and reveal 'recipient' (the nodes keep output shares; the recipient reconstructs). The
// outputs equal runMpcProgramInMemory's within the truncation bound; triples are handed out once; every
// message's op carries the run's prefix.
import { MPC_FIELD, createMpcCodec, shareVector, sliceFieldVector, type ShareVector } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MpcError } from '../errors.js';
import type { MpcMessage } from '../messages.js';
import { createMpcNode } from '../node.js';
import { createMpcProgramMachine, createMpcTripleMachine, mpcProgramTripleLength, reconstructMpcProgramOutputs, type MpcProgramMachine, type MpcTripleMachine } from './program.js';
import { RISK_ANALYZER_MPC_PROGRAM as PROGRAM, riskAnalyzerOutputErrorBound } from './risk-analyzer-v2.js';
import { runMpcProgramInMemory } from './run-in-memory.js';

const SESSION = 'mps_preprocessedaaaaaaaaaaaaaa';
const codec = createMpcCodec({ scale: 8, min: 0, max: 2 ** 32 });

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

function partyShares(parties: number, threshold: number, totalParties: number, seed: number): ShareVector[][] {
  const r = prng(seed);
  return Array.from({ length: parties }, () => {
    const values = PROGRAM.inputNames.map(() => Math.floor(2 ** (30 * r()) * r() * 256) / 256);
    return shareVector(codec.encode(values), { threshold, parties: totalParties });
  });
}

type Machine = Pick<MpcProgramMachine, 'party' | 'phase' | 'advance'> | Pick<MpcTripleMachine, 'party' | 'phase' | 'advance'>;

/** Lock-step rounds among `live` (every message delivered to its recipient, openings to every live node). */
function runRounds(live: readonly Machine[], ops: Set<string>): number {
  let inbox = new Map<number, MpcMessage[]>(live.map((m) => [m.party, []]));
  let rounds = 0;
  while (live.some((m) => m.phase !== 'done')) {
    const sent = live.flatMap((m) => m.advance(inbox.get(m.party) ?? []));
    for (const message of sent) ops.add(message.op);
    inbox = new Map(live.map((m) => [m.party, []]));
    for (const message of sent) {
      if ('to' in message) inbox.get(message.to)?.push(message);
      else for (const list of inbox.values()) list.push(message);
    }
    if (++rounds > 100) throw new Error('the machines did not finish');
  }
  return rounds;
}

function preprocess(threshold: number, totalParties: number, prepId: string, ops: Set<string>): MpcTripleMachine[] {
  const length = mpcProgramTripleLength(PROGRAM);
  const machines = Array.from({ length: totalParties }, (_, i) =>
    createMpcTripleMachine({ node: createMpcNode({ sessionId: SESSION, party: i + 1, threshold, totalParties }), op: `${prepId}:triples`, length }),
  );
  runRounds(machines, ops);
  return machines;
}

describe('mpc program with preprocessed triples and reveal to a recipient', () => {
  it.each([
    { threshold: 3, totalParties: 5, down: [2, 4] },
    { threshold: 2, totalParties: 3, down: [3] },
  ])('$threshold of $totalParties, nodes $down down online: the recipient reconstructs the in-memory outputs within the bound', ({ threshold, totalParties, down }) => {
    const inputs = partyShares(3, threshold, totalParties, 4242 + threshold);
    const prepOps = new Set<string>();
    const tripleMachines = preprocess(threshold, totalParties, 'prep-1', prepOps);
    expect([...prepOps].every((op) => op.startsWith('prep-1:triples'))).toBe(true);

    const runOps = new Set<string>();
    const live = tripleMachines
      .filter((t) => !down.includes(t.party))
      .map((t) =>
        createMpcProgramMachine({
          node: createMpcNode({ sessionId: SESSION, party: t.party, threshold, totalParties }),
          program: PROGRAM,
          inputs: inputs.map((shares) => shares.find((s) => s.x === t.party)!),
          triples: t.takeTriples(),
          reveal: 'recipient',
          opPrefix: 'run-7.1',
        }),
      );
    expect(live.every((m) => m.phase === 'online')).toBe(true);
    runRounds(live, runOps);
    expect(runOps.size).toBeGreaterThan(0);
    for (const op of runOps) expect(op.startsWith('run-7.1:')).toBe(true);
    // the nodes never hold the outputs themselves
    expect(() => live[0]!.outputs()).toThrow(MpcError);

    const shares = live.map((m) => m.outputShare());
    const got = reconstructMpcProgramOutputs(PROGRAM, { threshold, field: MPC_FIELD, shares });
    // any t of them give the same outputs
    const fromT = reconstructMpcProgramOutputs(PROGRAM, { threshold, field: MPC_FIELD, shares: shares.slice(0, threshold) });
    const reference = runMpcProgramInMemory({ threshold, totalParties, inputs, program: PROGRAM });
    const bound = BigInt(riskAnalyzerOutputErrorBound(threshold));
    expect([...got.keys()]).toEqual(PROGRAM.outputs);
    for (const [name, out] of got) {
      expect(fromT.get(name)!.integer).toBe(out.integer);
      const ref = reference.outputs.get(name)!.integer;
      const diff = out.integer > ref ? out.integer - ref : ref - out.integer;
      // both are within the bound of the exact value
      expect(diff <= 2n * bound, `${name}: |${out.integer} − ${ref}|`).toBe(true);
    }
    // fewer than t output shares: refused
    expect(() => reconstructMpcProgramOutputs(PROGRAM, { threshold, field: MPC_FIELD, shares: shares.slice(0, threshold - 1) })).toThrow(
      expect.objectContaining({ name: 'MpcError', code: 'too_few_parties' }),
    );
  });

  it('hands triples out once, refuses triples of another length, and one node fewer than t online is too_few_parties', () => {
    const threshold = 3;
    const totalParties = 5;
    const machines = preprocess(threshold, totalParties, 'prep-2', new Set());
    const first = machines[0]!.takeTriples();
    expect(() => machines[0]!.takeTriples()).toThrow(expect.objectContaining({ name: 'MpcError', code: 'invalid_config' }));
    const inputs = partyShares(2, threshold, totalParties, 7);
    const node = (x: number) => createMpcNode({ sessionId: SESSION, party: x, threshold, totalParties });
    const short = { u: { x: 1, vector: sliceFieldVector(first.u.vector, 0, 1) }, v: first.v, w: first.w };
    expect(() =>
      createMpcProgramMachine({ node: node(1), program: PROGRAM, inputs: inputs.map((s) => s[0]!), triples: short, reveal: 'recipient' }),
    ).toThrow(MpcError);
    expect(() =>
      createMpcProgramMachine({ node: node(2), program: PROGRAM, inputs: inputs.map((s) => s[1]!), triples: first, reveal: 'recipient' }),
    ).toThrow(expect.objectContaining({ code: 'length_mismatch' }));

    // t − 1 = 2 nodes online: the first Beaver opening cannot complete
    const live = [machines[1]!, machines[2]!].map((t) =>
      createMpcProgramMachine({ node: node(t.party), program: PROGRAM, inputs: inputs.map((s) => s[t.party - 1]!), triples: t.takeTriples(), reveal: 'recipient', opPrefix: 'run-8.1' }),
    );
    expect(() => runRounds(live, new Set())).toThrow(expect.objectContaining({ name: 'MpcError', code: 'too_few_parties' }));
  });
});
