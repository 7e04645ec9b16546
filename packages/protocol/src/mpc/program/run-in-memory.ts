// runMpcProgramInMemory: the compute nodes of one `mpc` run as in-memory state machines (program.ts),
// every message delivered as a process layer would (to its recipient, or to every node for an opening),
// nodes in `down` silent for the whole online phase. Used by the tests and by an orchestrator that runs
// the nodes in one process. It also records every value any opening reveals (`opened`), so a test can
// check that only the declared outputs are opened in the clear.
import { fieldVectorToBigInts, randomBytes, reconstructVector, type RandomSource, type ShareVector } from '@tenzro/crypto';
import { validateMpcConfig } from '../config.js';
import { MpcError } from '../errors.js';
import { MPC_TYPES, type MpcMessage, type OpenMessage } from '../messages.js';
import { createMpcNode } from '../node.js';
import { createMpcProgramMachine, mpcProgramMultiplies, reconstructMpcProgramOutputs, type MpcMultiplication, type MpcProgram, type MpcProgramMachine, type MpcProgramOutput } from './program.js';
import { RISK_ANALYZER_MPC_PROGRAM } from './risk-analyzer-v2.js';

export interface RunMpcProgramInMemoryOptions {
  threshold: number;
  totalParties: number;
  /** inputs[p] = party p's share vectors, one per node (x = 1..totalParties, in any order). */
  inputs: readonly (readonly ShareVector[])[];
  /** Nodes (x) down during the online phase (Beaver triples are made beforehand, all nodes up). */
  down?: readonly number[];
  /** Default: risk-analyzer-v2's (RISK_ANALYZER_MPC_PROGRAM); a sum program (mpcSumProgram) needs no triples. */
  program?: MpcProgram;
  /** Default 'beaver': online it needs t nodes (tolerates n − t down); 'grr' needs 2t − 1. */
  multiplication?: MpcMultiplication;
  /** Default a fixed development session id. */
  sessionId?: string;
  /** The randomness of node x (default: the platform CSPRNG). */
  randomFor?: (x: number) => RandomSource;
  /**
   * 'nodes' (default): the open steps reconstruct the outputs at every node. 'recipient': they open nothing;
   * `outputShares` holds the live nodes' output shares and `outputs` is what a recipient reconstructs from
   * them (reconstructMpcProgramOutputs), as the enclave does.
   */
  reveal?: 'nodes' | 'recipient';
}

export type MpcOpenedKind = 'output' | 'beaver_mask' | 'truncation_mask';

/** A value some opening revealed to every node that took part. */
export interface MpcOpenedValue {
  readonly op: string;
  readonly kind: MpcOpenedKind;
  readonly values: readonly bigint[];
}

export interface MpcProgramRun {
  /** The declared outputs, by name, in the program's order. */
  readonly outputs: ReadonlyMap<string, MpcProgramOutput>;
  /** Every opening of the run (instrumentation). */
  readonly opened: readonly MpcOpenedValue[];
  /** Communication rounds (offline included). */
  readonly rounds: number;
  /** reveal 'recipient' only: each live node's share of the declared outputs (x = the node). */
  readonly outputShares?: readonly ShareVector[];
}

const DEV_SESSION = 'mps_mpcprogramdevelopmentaaaaa';

function kindOf(op: string): MpcOpenedKind {
  if (op.endsWith(':open')) return 'output';
  if (op.endsWith(':mul')) return 'beaver_mask';
  return 'truncation_mask';
}

/** Runs `program` on in-memory nodes; MpcError (typed) for bad configurations or too many nodes down. */
export function runMpcProgramInMemory(options: RunMpcProgramInMemoryOptions): MpcProgramRun {
  if (typeof options !== 'object' || options === null) throw new MpcError('invalid_config', 'config', 'options must be an object');
  const program = options.program ?? RISK_ANALYZER_MPC_PROGRAM;
  const { threshold, totalParties } = validateMpcConfig(options, { multiplication: mpcProgramMultiplies(program) });
  const multiplication = options.multiplication ?? 'beaver';
  const reveal = options.reveal ?? 'nodes';
  if (reveal !== 'nodes' && reveal !== 'recipient') throw new MpcError('invalid_config', 'config', "reveal must be 'nodes' or 'recipient'");
  const sessionId = options.sessionId ?? DEV_SESSION;
  const randomFor = options.randomFor ?? (() => randomBytes);
  const down = new Set(options.down ?? []);
  for (const x of down) {
    if (!Number.isInteger(x) || x < 1 || x > totalParties) throw new MpcError('invalid_config', 'config', `down lists ${String(x)}, not a node of 1..${totalParties}`);
  }
  if (!Array.isArray(options.inputs) || options.inputs.length === 0) throw new MpcError('invalid_config', 'config', 'inputs must hold one array of share vectors per party');
  options.inputs.forEach((shares, p) => {
    if (!Array.isArray(shares) || shares.length !== totalParties) throw new MpcError('invalid_config', 'config', `inputs[${p}] must hold ${totalParties} share vectors`);
  });
  const machines: MpcProgramMachine[] = [];
  for (let x = 1; x <= totalParties; x++) {
    const node = createMpcNode({ sessionId, party: x, threshold, totalParties });
    const inputs = options.inputs.map((shares, p) => {
      const share = (shares as readonly ShareVector[]).find((s: ShareVector) => s?.x === x);
      if (share === undefined) throw new MpcError('invalid_config', 'config', `inputs[${p}] has no share for node ${x}`);
      return share;
    });
    machines.push(createMpcProgramMachine({ node, program, inputs, multiplication, reveal, random: randomFor(x) }));
  }
  const live = machines.filter((m) => !down.has(m.party));
  if (live.length === 0) throw new MpcError('too_few_parties', 'multiply', `every node is down, at least ${multiplication === 'beaver' ? threshold : 2 * threshold - 1} are needed`);

  const opened: MpcOpenedValue[] = [];
  let rounds = 0;
  const deliver = (group: readonly MpcProgramMachine[], sent: readonly MpcMessage[]): Map<number, MpcMessage[]> => {
    const inbox = new Map<number, MpcMessage[]>(group.map((m) => [m.party, []]));
    for (const message of sent) {
      if ('to' in message) inbox.get(message.to)?.push(message);
      else for (const list of inbox.values()) list.push(message);
    }
    // Instrumentation: reconstruct every opening as the nodes do.
    const opens = new Map<string, OpenMessage[]>();
    for (const message of sent) {
      if (message.type === MPC_TYPES.open) opens.set(message.op, [...(opens.get(message.op) ?? []), message]);
    }
    for (const [op, list] of opens) {
      if (list.length < threshold) continue; // the nodes refuse it too (too_few_parties)
      const value = reconstructVector(list.map((m) => ({ x: m.from, vector: m.share })), threshold);
      opened.push(Object.freeze({ op, kind: kindOf(op), values: Object.freeze(fieldVectorToBigInts(value, { signed: true })) }));
    }
    return inbox;
  };

  // Offline (Beaver triples): every node up.
  let inbox = new Map<number, MpcMessage[]>(machines.map((m) => [m.party, []]));
  while (machines.some((m) => m.phase === 'offline')) {
    const sent = machines.flatMap((m) => m.advance(inbox.get(m.party) ?? []));
    rounds++;
    inbox = deliver(machines, sent);
  }
  // Online: the live nodes only.
  inbox = new Map(live.map((m) => [m.party, []]));
  while (live.some((m) => m.phase !== 'done')) {
    const sent = live.flatMap((m) => m.advance(inbox.get(m.party) ?? []));
    rounds++;
    inbox = deliver(live, sent);
  }
  if (reveal === 'recipient') {
    const outputShares = Object.freeze(live.map((m) => m.outputShare()));
    const outputs = reconstructMpcProgramOutputs(program, { threshold, field: outputShares[0]!.vector.field, shares: outputShares });
    return Object.freeze({ outputs, opened: Object.freeze(opened), rounds, outputShares });
  }
  const outputs = live[0]!.outputs();
  for (const m of live.slice(1)) {
    for (const [name, out] of m.outputs()) {
      if (outputs.get(name)?.integer !== out.integer) throw new MpcError('inconsistent_shares', 'open', `nodes disagree on output ${name}`);
    }
  }
  return Object.freeze({ outputs, opened: Object.freeze(opened), rounds });
}
