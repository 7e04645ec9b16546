// A tiny program for the `mpc` compute nodes (DESIGN §7): a declared list of steps over named shared
// registers, run by one state machine per node whose messages are the existing round messages
// (mul-reshare, trunc-pair, open, random-share). Steps:
//   - linear:   out[r] = Σ coefficient · register[index] over the row's terms, public integer coefficients
//               (local: gathers, additions, subtractions, scalings; no message);
//   - multiply: out = a ⊙ b, element-wise secure multiplication: Beaver (one opening of masked values,
//               needs t nodes; triples made beforehand by GRR with 2t − 1 nodes up) or GRR (needs 2t − 1);
//   - truncate: out = from / 2^bits (Catrina–Saxena, t contributors, t openers), |from| < 2^(valueBits−1);
//   - open:     reconstructs `from` for every node and names its elements: the program's outputs.
// Only `open` steps reveal a value; the other openings (Beaver's a − u ‖ b − v, the truncation's masked c)
// are masked (perfectly, resp. within 2^−40 statistically).
import { fieldVectorToBigInts, addShareVectors, randomBytes, reconstructVector, MpcCombineError, type MpcField, sliceFieldVector, concatFieldVectors, scaleFieldVector, addFieldVectors, zeroFieldVector, type RandomSource, type ShareVector, type FieldVector } from '@tenzro/crypto';
import { beaverRound1, beaverRound2, tripleRound1, tripleRound2, tripleRound3, type BeaverPending, type BeaverTriple, type TriplePending } from '../beaver.js';
import { validateMpcConfig } from '../config.js';
import { MpcError } from '../errors.js';
import type { MpcMessage, MulReshareMessage, OpenMessage, RandomShareMessage, TruncPairMessage } from '../messages.js';
import { mulRound1, mulRound2 } from '../multiply.js';
import type { MpcNode } from '../node.js';
import { openRound1, openRound2 } from '../open.js';
import { truncRound1, truncRound2, truncRound3, type TruncPending } from '../truncate.js';

/** One term of a linear row: coefficient · register[index]. */
export type MpcLinearTerm = readonly [register: string, index: number, coefficient: number];

export type MpcProgramStep =
  | { readonly kind: 'linear'; readonly out: string; readonly rows: ReadonlyArray<ReadonlyArray<MpcLinearTerm>> }
  | { readonly kind: 'multiply'; readonly out: string; readonly a: string; readonly b: string }
  | { readonly kind: 'truncate'; readonly out: string; readonly from: string; readonly bits: number; readonly valueBits: number }
  | { readonly kind: 'open'; readonly from: string; readonly names: readonly string[]; readonly scale: number };

export interface MpcProgram {
  /** Op ids are `<id>:<step>:<kind>`: 1–80 characters of A–Z a–z 0–9 . _ - */
  readonly id: string;
  /** The input register `in`: one element per name (the sum over the parties of their statistic vectors). */
  readonly inputNames: readonly string[];
  /** Most parties whose vectors are summed (the valueBits of the truncations assume it). */
  readonly maxParties: number;
  readonly steps: readonly MpcProgramStep[];
  /** The declared outputs, in order: the names of the open steps' elements. Nothing else is revealed. */
  readonly outputs: readonly string[];
}

export type MpcMultiplication = 'beaver' | 'grr';

/** One opened output: the signed integer and its scale (value = integer / 2^scale). */
export interface MpcProgramOutput {
  readonly integer: bigint;
  readonly scale: number;
  readonly value: number;
}

export interface MpcProgramMachine {
  readonly party: number;
  /** reveal 'recipient' only, once done: this node's share of the declared outputs, in `program.outputs` order. */
  outputShare(): ShareVector;
  /** 'offline' while Beaver triples are made, then 'online', then 'done'. */
  readonly phase: 'offline' | 'online' | 'done';
  /** Advances one round: consumes this node's incoming messages of the previous round, returns this round's. */
  advance(incoming: readonly MpcMessage[]): MpcMessage[];
  /** The outputs once done (MpcError otherwise). */
  outputs(): ReadonlyMap<string, MpcProgramOutput>;
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,80}$/;

/** Checks a program's shape (registers defined before use, outputs = the open steps' names). */
export function validateMpcProgram(program: MpcProgram): void {
  const bad = (message: string): never => {
    throw new MpcError('invalid_config', 'config', `program: ${message}`);
  };
  if (typeof program !== 'object' || program === null) bad('must be an object');
  if (typeof program.id !== 'string' || !ID_PATTERN.test(program.id)) bad('id must be 1–80 characters of A–Z a–z 0–9 . _ -');
  if (!Array.isArray(program.inputNames) || program.inputNames.length === 0) bad('inputNames must be a non-empty array');
  if (!Number.isInteger(program.maxParties) || program.maxParties < 1) bad('maxParties must be a positive integer');
  const lengths = new Map<string, number>([['in', program.inputNames.length]]);
  const opened: string[] = [];
  program.steps.forEach((step, i) => {
    const len = (reg: string): number => lengths.get(reg) ?? bad(`steps[${i}] uses register ${reg} before it is defined`);
    switch (step.kind) {
      case 'linear':
        for (const row of step.rows) {
          for (const [reg, index, coefficient] of row) {
            if (!Number.isInteger(index) || index < 0 || index >= len(reg)) bad(`steps[${i}] reads ${reg}[${index}] out of range`);
            if (!Number.isSafeInteger(coefficient)) bad(`steps[${i}] has a coefficient that is not a safe integer`);
          }
        }
        lengths.set(step.out, step.rows.length);
        break;
      case 'multiply':
        if (len(step.a) !== len(step.b)) bad(`steps[${i}] multiplies registers of different lengths`);
        lengths.set(step.out, len(step.a));
        break;
      case 'truncate':
        lengths.set(step.out, len(step.from));
        break;
      case 'open':
        if (step.names.length !== len(step.from)) bad(`steps[${i}] names ${step.names.length} outputs for ${len(step.from)} elements`);
        opened.push(...step.names);
        break;
      default:
        bad(`steps[${i}] has an unknown kind`);
    }
  });
  if (opened.length !== program.outputs.length || opened.some((n, i) => n !== program.outputs[i])) bad('outputs must list exactly the open steps\' names, in order');
  if (new Set(opened).size !== opened.length) bad('outputs repeat a name');
}

function linearMap(x: number, registers: ReadonlyMap<string, ShareVector>, rows: ReadonlyArray<ReadonlyArray<MpcLinearTerm>>, zero: FieldVector): ShareVector {
  const out = rows.map((row) => {
    let acc = zero;
    for (const [reg, index, coefficient] of row) {
      const source = registers.get(reg)!.vector;
      acc = addFieldVectors(acc, scaleFieldVector(sliceFieldVector(source, index, index + 1), BigInt(coefficient)));
    }
    return acc;
  });
  return Object.freeze({ x, vector: out.length === 0 ? sliceFieldVector(zero, 0, 0) : concatFieldVectors(out) });
}

function sliceTriple(triple: BeaverTriple, start: number, end: number): BeaverTriple {
  const s = (v: ShareVector): ShareVector => Object.freeze({ x: v.x, vector: sliceFieldVector(v.vector, start, end) });
  return Object.freeze({ u: s(triple.u), v: s(triple.v), w: s(triple.w) });
}

export interface CreateMpcProgramMachineOptions {
  node: MpcNode;
  program: MpcProgram;
  /** This node's share of each party's input vector (x = node.party), summed locally. */
  inputs: readonly ShareVector[];
  multiplication?: MpcMultiplication;
  random?: RandomSource;
  /**
   * Prefix of every op id (default `program.id`): a run attempt's own prefix keeps a retried run's
   * messages apart from the failed attempt's (the node transport refuses a repeated session + op + sender).
   */
  opPrefix?: string;
  /**
   * Beaver triples made beforehand (createMpcTripleMachine, `mpcProgramTripleLength(program)` elements):
   * the machine starts online, so the run needs t nodes, not 2t − 1. Used once: never pass them twice.
   */
  triples?: BeaverTriple;
  /**
   * 'nodes' (default): `open` steps reconstruct the outputs at every node. 'recipient': `open` steps send
   * nothing; each node keeps its share of the outputs (`outputShare()`) for one recipient (the enclave) to
   * reconstruct with reconstructMpcProgramOutputs — the nodes never learn the outputs.
   */
  reveal?: 'nodes' | 'recipient';
}

/** Elements of the Beaver triple vector `program` consumes (0 when it does not multiply). */
export function mpcProgramTripleLength(program: MpcProgram): number {
  validateMpcProgram(program);
  const lengths = new Map<string, number>([['in', program.inputNames.length]]);
  let total = 0;
  for (const step of program.steps) {
    if (step.kind === 'linear') lengths.set(step.out, step.rows.length);
    else if (step.kind === 'truncate') lengths.set(step.out, lengths.get(step.from)!);
    else if (step.kind === 'multiply') {
      total += lengths.get(step.a)!;
      lengths.set(step.out, lengths.get(step.a)!);
    }
  }
  return total;
}

export interface MpcTripleMachine {
  readonly party: number;
  readonly phase: 'offline' | 'done';
  advance(incoming: readonly MpcMessage[]): MpcMessage[];
  /** The triples once done; handing them out twice is refused (a triple is used once). */
  takeTriples(): BeaverTriple;
}

/** True when `program` has a `multiply` step (then it needs 2t − 1 ≤ n and Beaver triples). */
export function mpcProgramMultiplies(program: MpcProgram): boolean {
  return program.steps.some((step) => step.kind === 'multiply');
}

/**
 * The offline phase alone: one node's rounds making `length` Beaver triples under op `op` (tripleRound1..3,
 * GRR: needs 2t − 1 nodes). Run while every node is up, before the data arrives; the online run then
 * tolerates n − t nodes down. `length` 0 (a program without multiplications, e.g. a sum program): the
 * machine is done from the start, sends nothing and hands out empty triples.
 */
export function createMpcTripleMachine(options: { node: MpcNode; op: string; length: number; random?: RandomSource }): MpcTripleMachine {
  const { node, op, length } = options;
  const random = options.random ?? randomBytes;
  if (!Number.isInteger(length) || length < 0) throw new MpcError('invalid_config', 'config', 'length must be a non-negative integer');
  validateMpcConfig(node, { multiplication: length > 0 });
  let round = 0;
  let pending: TriplePending | undefined;
  let triples: BeaverTriple | undefined;
  let taken = false;
  if (length === 0) {
    const empty = (): ShareVector => Object.freeze({ x: node.party, vector: zeroFieldVector(node.field, 0) });
    triples = Object.freeze({ u: empty(), v: empty(), w: empty() });
    round = 3;
  }
  return {
    party: node.party,
    get phase() {
      return round < 3 ? 'offline' : 'done';
    },
    advance(incoming: readonly MpcMessage[]): MpcMessage[] {
      if (!Array.isArray(incoming)) throw new MpcError('invalid_config', 'message', 'incoming must be an array of messages');
      if (round === 0) {
        round = 1;
        return tripleRound1(node, { op, length }, random);
      }
      if (round === 1) {
        round = 2;
        const step = tripleRound2(node, { op, incoming: incoming as RandomShareMessage[] }, random);
        pending = step.pending;
        return step.messages;
      }
      if (round === 2) {
        triples = tripleRound3(node, { pending: pending!, incoming: incoming as MulReshareMessage[] });
        pending = undefined;
        round = 3;
      }
      return [];
    },
    takeTriples(): BeaverTriple {
      if (triples === undefined) throw new MpcError('invalid_config', 'config', 'the triples are not made yet');
      if (taken) throw new MpcError('invalid_config', 'config', 'these triples were handed out already: a triple is used once');
      taken = true;
      return triples;
    },
  };
}

/**
 * The recipient's side of reveal 'recipient': the declared outputs from ≥ t nodes' output shares (more:
 * every one must lie on the same polynomials, else MpcError inconsistent_shares). `outputs` pairs each name
 * with its open step's scale.
 */
export function reconstructMpcProgramOutputs(
  program: MpcProgram,
  options: { threshold: number; field: MpcField; shares: readonly ShareVector[] },
): ReadonlyMap<string, MpcProgramOutput> {
  validateMpcProgram(program);
  const { threshold, shares } = options;
  if (!Array.isArray(shares) || shares.length < threshold) {
    throw new MpcError('too_few_parties', 'open', `${Array.isArray(shares) ? shares.length : 0} output shares arrived, at least ${threshold} are needed`);
  }
  const seen = new Set<number>();
  for (const share of shares) {
    if (seen.has(share.x)) throw new MpcError('duplicate_message', 'open', `two output shares of node ${share.x}`);
    seen.add(share.x);
    if (share.vector.field !== options.field || share.vector.length !== program.outputs.length) {
      throw new MpcError('length_mismatch', 'open', `an output share must hold ${program.outputs.length} elements over the field`);
    }
  }
  let vector: FieldVector;
  try {
    vector = reconstructVector(shares, threshold);
  } catch (cause) {
    if (cause instanceof MpcCombineError) throw new MpcError('inconsistent_shares', 'open', 'the output shares do not lie on one polynomial of degree t − 1', { cause });
    throw cause;
  }
  const integers = fieldVectorToBigInts(vector, { signed: true });
  const scales = program.steps.flatMap((s) => (s.kind === 'open' ? s.names.map(() => s.scale) : []));
  const outputs = new Map<string, MpcProgramOutput>();
  program.outputs.forEach((name, i) => {
    const integer = integers[i]!;
    outputs.set(name, Object.freeze({ integer, scale: scales[i]!, value: Number(integer) / 2 ** scales[i]! }));
  });
  return outputs;
}

/** One node's state machine for `program` (see the module header). */
export function createMpcProgramMachine(options: CreateMpcProgramMachineOptions): MpcProgramMachine {
  const { node, program, inputs } = options;
  const multiplication = options.multiplication ?? 'beaver';
  const reveal = options.reveal ?? 'nodes';
  const opPrefix = options.opPrefix ?? program.id;
  if (typeof opPrefix !== 'string' || !/^[A-Za-z0-9._:/-]{1,80}$/.test(opPrefix)) throw new MpcError('invalid_config', 'config', 'opPrefix must be 1–80 characters of A–Z a–z 0–9 . _ : / -');
  if (reveal !== 'nodes' && reveal !== 'recipient') throw new MpcError('invalid_config', 'config', "reveal must be 'nodes' or 'recipient'");
  if (options.triples !== undefined && multiplication !== 'beaver') throw new MpcError('invalid_config', 'config', 'preprocessed triples need multiplication beaver');
  const random = options.random ?? randomBytes;
  validateMpcProgram(program);
  validateMpcConfig(node, { multiplication: mpcProgramMultiplies(program) }); // a multiplication needs 2t − 1 ≤ n
  if (multiplication !== 'beaver' && multiplication !== 'grr') throw new MpcError('invalid_config', 'config', "multiplication must be 'beaver' or 'grr'");
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > program.maxParties) {
    throw new MpcError('invalid_config', 'config', `inputs must hold 1 to ${program.maxParties} share vectors (one per party)`);
  }
  inputs.forEach((s, p) => {
    if (s?.x !== node.party) throw new MpcError('invalid_config', 'config', `inputs[${p}] is not this node's share (x = ${node.party})`);
    if (s.vector?.field !== node.field || s.vector.length !== program.inputNames.length) {
      throw new MpcError('length_mismatch', 'config', `inputs[${p}] must be a vector of ${program.inputNames.length} elements over the node's field`);
    }
  });
  const registers = new Map<string, ShareVector>([['in', inputs.reduce((a, b) => addShareVectors(a, b))]]);
  const zero = zeroFieldVector(node.field, 1);
  const x = node.party;
  const op = (i: number, kind: string) => `${opPrefix}:${i}:${kind}`;

  // Offline: one triple vector for all Beaver multiplications, sliced per step.
  const tripleSlices = new Map<number, [number, number]>();
  let tripleLength = 0;
  if (multiplication === 'beaver') {
    const lengths = new Map<string, number>([['in', program.inputNames.length]]);
    program.steps.forEach((step, i) => {
      if (step.kind === 'linear') lengths.set(step.out, step.rows.length);
      else if (step.kind === 'truncate') lengths.set(step.out, lengths.get(step.from)!);
      else if (step.kind === 'multiply') {
        const l = lengths.get(step.a)!;
        tripleSlices.set(i, [tripleLength, tripleLength + l]);
        tripleLength += l;
        lengths.set(step.out, l);
      }
    });
  }
  const tripleOp = `${opPrefix}:triples`;
  let offlineRound = tripleLength > 0 ? 0 : 3;
  let triplePending: TriplePending | undefined;
  let triples: BeaverTriple | undefined;
  if (options.triples !== undefined) {
    const t = options.triples;
    for (const part of [t?.u, t?.v, t?.w]) {
      if (part?.x !== node.party || part.vector?.field !== node.field || part.vector.length !== tripleLength) {
        throw new MpcError('length_mismatch', 'config', `triples must be this node's shares of ${tripleLength} Beaver triples`);
      }
    }
    triples = t;
    offlineRound = 3;
  }
  const outputShares: FieldVector[] = [];
  let outputShare: ShareVector | undefined;

  let pc = 0;
  let round = 0;
  let beaverPending: BeaverPending | undefined;
  let truncPending: TruncPending | undefined;
  const outputs = new Map<string, MpcProgramOutput>();
  let phase: 'offline' | 'online' | 'done' = offlineRound < 3 ? 'offline' : 'online';

  const offline = (incoming: readonly MpcMessage[]): MpcMessage[] => {
    if (offlineRound === 0) {
      offlineRound = 1;
      return tripleRound1(node, { op: tripleOp, length: tripleLength }, random);
    }
    if (offlineRound === 1) {
      offlineRound = 2;
      const step = tripleRound2(node, { op: tripleOp, incoming: incoming as RandomShareMessage[] }, random);
      triplePending = step.pending;
      return step.messages;
    }
    triples = tripleRound3(node, { pending: triplePending!, incoming: incoming as MulReshareMessage[] });
    triplePending = undefined;
    offlineRound = 3;
    phase = 'online';
    return [];
  };

  /** Runs local steps, then the current communicating step's round; [] when waiting produced nothing. */
  const online = (incoming: readonly MpcMessage[]): MpcMessage[] => {
    for (;;) {
      const step = program.steps[pc];
      if (step === undefined) {
        phase = 'done';
        if (reveal === 'recipient') outputShare = Object.freeze({ x, vector: outputShares.length === 0 ? sliceFieldVector(zero, 0, 0) : concatFieldVectors(outputShares) });
        registers.clear();
        return [];
      }
      const finish = (): void => {
        pc++;
        round = 0;
        incoming = [];
      };
      switch (step.kind) {
        case 'linear':
          registers.set(step.out, linearMap(x, registers, step.rows, zero));
          finish();
          continue;
        case 'multiply': {
          const a = registers.get(step.a)!;
          const b = registers.get(step.b)!;
          if (multiplication === 'grr') {
            if (round === 0) {
              round = 1;
              return mulRound1(node, { op: op(pc, 'mul'), a, b }, random);
            }
            registers.set(step.out, mulRound2(node, { op: op(pc, 'mul'), incoming: incoming as MulReshareMessage[] }));
          } else {
            if (round === 0) {
              const [start, end] = tripleSlices.get(pc)!;
              const r1 = beaverRound1(node, { op: op(pc, 'mul'), a, b, triple: sliceTriple(triples!, start, end) });
              beaverPending = r1.pending;
              round = 1;
              return [r1.message];
            }
            registers.set(step.out, beaverRound2(node, { pending: beaverPending!, incoming: incoming as OpenMessage[] }));
            beaverPending = undefined; // a triple is used once
          }
          finish();
          continue;
        }
        case 'truncate': {
          const spec = { bits: step.bits, valueBits: step.valueBits };
          const from = registers.get(step.from)!;
          if (round === 0) {
            round = 1;
            return truncRound1(node, { op: op(pc, 'trunc'), length: from.vector.length, ...spec }, random);
          }
          if (round === 1) {
            const r2 = truncRound2(node, { op: op(pc, 'trunc'), share: from, incoming: incoming as TruncPairMessage[], ...spec });
            truncPending = r2.pending;
            round = 2;
            return [r2.message];
          }
          registers.set(step.out, truncRound3(node, { pending: truncPending!, incoming: incoming as OpenMessage[] }));
          truncPending = undefined;
          finish();
          continue;
        }
        case 'open': {
          if (reveal === 'recipient') {
            outputShares.push(registers.get(step.from)!.vector);
            finish();
            continue;
          }
          if (round === 0) {
            round = 1;
            return [openRound1(node, { op: op(pc, 'open'), share: registers.get(step.from)! })];
          }
          const vector = openRound2(node, { op: op(pc, 'open'), incoming: incoming as OpenMessage[], length: step.names.length });
          const integers = fieldVectorToBigInts(vector, { signed: true });
          step.names.forEach((name, i) => {
            const integer = integers[i]!;
            outputs.set(name, Object.freeze({ integer, scale: step.scale, value: Number(integer) / 2 ** step.scale }));
          });
          finish();
          continue;
        }
      }
    }
  };

  return {
    party: x,
    get phase() {
      return phase;
    },
    advance(incoming: readonly MpcMessage[]): MpcMessage[] {
      if (!Array.isArray(incoming)) throw new MpcError('invalid_config', 'message', 'incoming must be an array of messages');
      if (phase === 'offline') return offline(incoming);
      if (phase === 'online') return online(incoming);
      return [];
    },
    outputs(): ReadonlyMap<string, MpcProgramOutput> {
      if (phase !== 'done') throw new MpcError('invalid_config', 'open', 'the program has not finished');
      if (reveal === 'recipient') throw new MpcError('invalid_config', 'open', "reveal 'recipient': the nodes hold output shares, not outputs");
      return outputs;
    },
    outputShare(): ShareVector {
      if (phase !== 'done' || outputShare === undefined) throw new MpcError('invalid_config', 'open', "no output share: the program has not finished, or reveal is not 'recipient'");
      return outputShare;
    },
  };
}
