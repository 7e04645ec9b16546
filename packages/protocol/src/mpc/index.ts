// The `mpc` method's protocols between compute nodes (DESIGN §7), as pure per-node round functions:
// configuration, messages, GRR multiplication, Beaver multiplication with GRR-made triples, opening,
// Catrina–Saxena truncation.
export { MpcError, type MpcErrorCode, type MpcStage } from './errors.js';
export {
  MPC_STATISTICAL_SECURITY,
  validateMpcConfig,
  multiplicationTolerance,
  maxTruncationValueBits,
  type MpcSharingConfig,
  type ValidateMpcConfigOptions,
} from './config.js';
export {
  MPC_TYPES,
  MPC_OP_PATTERN,
  MpcOpId,
  MpcPartyIndex,
  MulReshareWire,
  TruncPairWire,
  OpenWire,
  RandomShareWire,
  MpcWireMessage,
  encodeMpcMessage,
  decodeMpcMessage,
  type MulReshareMessage,
  type TruncPairMessage,
  type OpenMessage,
  type RandomShareMessage,
  type MpcMessage,
} from './messages.js';
export { createMpcNode, type MpcNode, type CreateMpcNodeOptions } from './node.js';
export { mulRound1, mulRound2, type MulRound1Input, type MulRound2Input } from './multiply.js';
export { openRound1, openRound2, type OpenRound1Input, type OpenRound2Input } from './open.js';
export {
  MPC_MAX_TRUNCATION_BITS,
  truncationErrorBound,
  truncRound1,
  truncRound2,
  truncRound3,
  type TruncationSpec,
  type TruncRound1Input,
  type TruncRound2Input,
  type TruncRound3Input,
  type TruncPending,
} from './truncate.js';
export {
  tripleRound1,
  tripleRound2,
  tripleRound3,
  beaverRound1,
  beaverRound2,
  type BeaverTriple,
  type TripleRound1Input,
  type TripleRound2Input,
  type TripleRound3Input,
  type TriplePending,
  type BeaverRound1Input,
  type BeaverRound2Input,
  type BeaverPending,
} from './beaver.js';
export {
  MPC_NODE_STATEMENT_TYPE,
  MPC_NODE_ROLE,
  MpcNodeStatement,
  MpcNodeAttestationError,
  mpcNodeStatement,
  mpcNodeUserData,
  verifyMpcNodeAttestation,
  type MpcNodeAttestationErrorCode,
  type VerifyMpcNodeAttestationOptions,
  type VerifiedMpcNode,
} from './node-attestation.js';
export {
  validateMpcProgram,
  createMpcProgramMachine,
  createMpcTripleMachine,
  mpcProgramTripleLength,
  mpcProgramMultiplies,
  reconstructMpcProgramOutputs,
  type MpcTripleMachine,
  type MpcProgram,
  type MpcProgramStep,
  type MpcLinearTerm,
  type MpcMultiplication,
  type MpcProgramOutput,
  type MpcProgramMachine,
  type CreateMpcProgramMachineOptions,
} from './program/program.js';
export {
  RISK_ANALYZER_MPC_PROGRAM,
  RISK_SCORE_WEIGHTS,
  MPC_PROGRAM_SCALE,
  MPC_PROGRAM_INPUT_MAX,
  MPC_PROGRAM_MAX_PARTIES,
  riskAnalyzerOutputErrorBound,
} from './program/risk-analyzer-v2.js';
export {
  MPC_SUM_SCALE,
  MPC_SUM_INPUT_MAX,
  MPC_SUM_MAX_PARTIES,
  MPC_SUM_MAX_STATISTICS,
  MPC_SUM_PROGRAM_MODELS,
  isMpcSumProgram,
  mpcSumProgram,
  mpcSumProgramForModel,
  mpcSumPrograms,
  mpcSumStatisticName,
  mpcSumValues,
} from './program/sum.js';
export {
  runMpcProgramInMemory,
  type RunMpcProgramInMemoryOptions,
  type MpcProgramRun,
  type MpcOpenedValue,
  type MpcOpenedKind,
} from './program/run-in-memory.js';
export * from './run.js';
