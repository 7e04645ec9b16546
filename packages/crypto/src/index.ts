// @tenzro/crypto — pure, IO-free building blocks. Runs in Node and in browsers: no `node:` imports.
export * from './encoding.js';
export * from './jcs.js';
export * from './hash.js';
export * from './random.js';
export * from './secret.js';
export * from './commitment.js';
export * from './signature.js';
export * from './hpke.js';
export * from './envelope.js';
export * from './merkle.js';
export * from './merkle-log.js';
export * from './cbor.js';
export * from './cose.js';
export * from './dp/index.js';
export {
  SHAMIR_SECRET_LENGTH,
  SHAMIR_SHARE_LENGTH,
  SHAMIR_MAX_SHARES,
  ShamirCombineError,
  splitSecret,
  combineShares,
  type ShamirShare,
  type ShamirSplitOptions,
  type RandomSource,
} from './shamir.js';
export * from './fixed-point.js';
export {
  MASK_SEED_LENGTH,
  MAX_MASK_LENGTH,
  PAIRWISE_KEY_LENGTH,
  AGREEMENT_KEY_LENGTH,
  PairwiseOpenError,
  expandMask,
  pairwiseSeed,
  agreementPublicKey,
  isValidAgreementPublicKey,
  sealPairwise,
  openPairwise,
  type PairwiseContext,
  type PairwiseSealOptions,
} from './mask-prg.js';
export * from './mpc/index.js';
