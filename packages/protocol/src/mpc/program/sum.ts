// The sum program (DESIGN §7, docs/mpc.md): for the use-case models (supply chain, healthcare research,
// compliance), whose analysis needs only the SUM over the parties of their integer statistic vectors. The
// nodes add the parties' share vectors locally (register `in`) and open that sum to the recipient only
// (reveal 'recipient': each node seals its share of it to the enclave). One `open` step, no
// multiplication: no Beaver triples (mpcProgramTripleLength = 0, preprocessing is trivial), no truncation,
// no fixed-point error — the enclave reconstructs the exact integer sums.
//
// Inputs: one party's statistic is an integer in [0, MPC_SUM_INPUT_MAX] (scale 0); the sum of at most
// MPC_SUM_MAX_PARTIES of them stays below 2^53 (a safe integer) and far inside the field.
//
// Protocol does not depend on models: MPC_SUM_PROGRAM_MODELS repeats each model's statistic count, and a test
// in the enclave package (mpc-sum-program.test.ts) pins it to models' aggregateLayoutOf(modelId).statisticCount.
import { MpcError } from '../errors.js';
import { validateMpcProgram, type MpcProgram, type MpcProgramOutput } from './program.js';

/** Scale of every input and output: integers. */
export const MPC_SUM_SCALE = 0;
/** Largest statistic one party contributes (inclusive): the use-case statistics are < 2^40. */
export const MPC_SUM_INPUT_MAX = 2 ** 40;
/** Most parties whose vectors are summed: MAX_PARTIES × MPC_SUM_INPUT_MAX < 2^53. */
export const MPC_SUM_MAX_PARTIES = 128;
/** Most statistics a sum program takes (input names are `stat_0000` … `stat_4095`). */
export const MPC_SUM_MAX_STATISTICS = 4096;

/**
 * The use-case models that run a sum program under `mpc`, and the length of their statistic vector.
 *
 * Protocol does not depend on @tenzro/models, so the counts are repeated here; the enclave test
 * `mpc-sum-program.test.ts` pins each to `aggregateLayoutOf(modelId)!.statisticCount`.
 */
export const MPC_SUM_PROGRAM_MODELS: ReadonlyArray<{ readonly modelId: string; readonly statisticCount: number }> = Object.freeze([
  Object.freeze({ modelId: 'supply-chain-optimizer-v1', statisticCount: 564 }),
  Object.freeze({ modelId: 'healthcare-outcomes-v1', statisticCount: 72 }),
  Object.freeze({ modelId: 'compliance-checker-v1', statisticCount: 18 }),
]);

const SUM_PROGRAM_VERSION = 'sum.v1';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The name of statistic `i` in a sum program's input and output: `stat_0000`, `stat_0001`, … */
export function mpcSumStatisticName(i: number): string {
  return `stat_${String(i).padStart(4, '0')}`;
}

/**
 * The sum program of `modelId` over `statisticCount` statistics: id `<modelId>.sum.v1`, inputs
 * `stat_0000…`, one step `open` of `in` at scale 0, outputs = the inputs' names.
 * @throws TypeError for a modelId that is not a string; RangeError for a bad modelId or count.
 */
export function mpcSumProgram(modelId: string, statisticCount: number): MpcProgram {
  if (typeof modelId !== 'string') throw new TypeError('modelId must be a string');
  const id = `${modelId}.${SUM_PROGRAM_VERSION}`;
  if (!/^[A-Za-z0-9._-]+$/.test(modelId) || id.length > 80) {
    throw new RangeError(`modelId must be characters of A–Z a–z 0–9 . _ - with at most ${80 - SUM_PROGRAM_VERSION.length - 1} of them, got ${JSON.stringify(modelId.slice(0, 100))}`);
  }
  if (typeof statisticCount !== 'number') throw new TypeError('statisticCount must be a number');
  if (!Number.isInteger(statisticCount) || statisticCount < 1 || statisticCount > MPC_SUM_MAX_STATISTICS) {
    throw new RangeError(`statisticCount must be an integer from 1 to ${MPC_SUM_MAX_STATISTICS}, got ${statisticCount}`);
  }
  const names = Array.from({ length: statisticCount }, (_, i) => mpcSumStatisticName(i));
  const program: MpcProgram = {
    id,
    inputNames: names,
    maxParties: MPC_SUM_MAX_PARTIES,
    steps: [{ kind: 'open', from: 'in', names: [...names], scale: MPC_SUM_SCALE }],
    outputs: [...names],
  };
  validateMpcProgram(program);
  return deepFreeze(program);
}

/** True when `program` has the sum program's shape: one `open` of `in` at scale 0, outputs = inputs. */
export function isMpcSumProgram(program: MpcProgram): boolean {
  if (typeof program !== 'object' || program === null || !Array.isArray(program.steps) || program.steps.length !== 1) return false;
  const [step] = program.steps;
  return (
    step!.kind === 'open' &&
    step.from === 'in' &&
    step.scale === MPC_SUM_SCALE &&
    program.maxParties <= MPC_SUM_MAX_PARTIES &&
    program.id.endsWith(`.${SUM_PROGRAM_VERSION}`) &&
    program.outputs.length === program.inputNames.length &&
    program.outputs.every((name, i) => name === program.inputNames[i] && name === mpcSumStatisticName(i))
  );
}

const SUM_PROGRAMS: ReadonlyMap<string, MpcProgram> = new Map(MPC_SUM_PROGRAM_MODELS.map(({ modelId, statisticCount }) => [modelId, mpcSumProgram(modelId, statisticCount)]));

/** The sum program of a use-case model (MPC_SUM_PROGRAM_MODELS), undefined for any other model. */
export function mpcSumProgramForModel(modelId: string): MpcProgram | undefined {
  return SUM_PROGRAMS.get(modelId);
}

/** Every sum program of MPC_SUM_PROGRAM_MODELS (what a node may be asked to run). */
export function mpcSumPrograms(): readonly MpcProgram[] {
  return [...SUM_PROGRAMS.values()];
}

/**
 * The revealed outputs of a sum program (reconstructMpcProgramOutputs) as the summed statistic vector, in
 * order: each an integer in [0, parties × MPC_SUM_INPUT_MAX]. A value outside that range cannot be the sum of
 * `parties` valid vectors (a party shared an out-of-range value): MpcError `out_of_range`, naming the
 * statistic's index, never its value.
 */
export function mpcSumValues(program: MpcProgram, outputs: ReadonlyMap<string, MpcProgramOutput>, parties: number): number[] {
  if (!isMpcSumProgram(program)) throw new TypeError('program must be a sum program (mpcSumProgram)');
  if (!(outputs instanceof Map)) throw new TypeError('outputs must be the Map reconstructMpcProgramOutputs returns');
  if (!Number.isInteger(parties) || parties < 1 || parties > program.maxParties) throw new RangeError(`parties must be an integer from 1 to ${program.maxParties}, got ${parties}`);
  const max = BigInt(parties) * BigInt(MPC_SUM_INPUT_MAX);
  return program.outputs.map((name, i) => {
    const out = outputs.get(name);
    if (out === undefined) throw new MpcError('length_mismatch', 'open', `output ${name} is missing`);
    if (out.scale !== MPC_SUM_SCALE || out.integer < 0n || out.integer > max) {
      throw new MpcError('out_of_range', 'open', `the sum of statistic ${i} is outside [0, ${parties} × 2^40]: a party shared a value outside the declared range`);
    }
    return Number(out.integer);
  });
}
