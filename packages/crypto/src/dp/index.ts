// Differential-privacy accounting (RDP) and Gaussian noise. Pure and IO-free.
export {
  DEFAULT_RDP_ORDERS,
  DP_ACCOUNTING_RDP_ORDERS,
  computeRdp,
  computeRdpSampledWithoutReplacement,
  rdpToEpsilon,
  rdpToDelta,
  type ComputeRdpOptions,
  type FractionalOrderMethod,
  type RdpConversion,
  type RdpToDeltaOptions,
  type RdpToEpsilonOptions,
} from './rdp.js';
export {
  NoiseCalibrationError,
  calibrateNoiseMultiplier,
  computeDpSgdEpsilon,
  computeDpSgdExampleEpsilon,
  computeDpSgdUserEpsilon,
  type CalibrateNoiseOptions,
  type CalibratedNoise,
  type DpSgdEpsilon,
  type DpSgdEpsilonOptions,
  type ExamplePrivacyOptions,
  type UserPrivacyOptions,
} from './dp-sgd.js';
export { sampleGaussian, sampleGaussianVector, type UniformSource } from './gaussian.js';
export {
  MAX_SKELLAM_VARIANCE,
  SKELLAM_RDP_ORDERS,
  calibrateSkellam,
  sampleSkellam,
  skellamEpsilon,
  skellamRdp,
  type CalibrateSkellamOptions,
  type CalibratedSkellam,
  type SkellamEpsilonOptions,
  type SkellamRdpOptions,
} from './skellam.js';
