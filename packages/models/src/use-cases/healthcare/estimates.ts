// The estimates of healthcare-outcomes-v1 and the closed-form estimators both paths share: the analysis of
// the summed statistics (pooled.ts) and the plaintext reference over records (plaintext.ts).
//   - Event proportions per arm and their risk difference, Wald 95% interval.
//   - Exponential (constant hazard) survival per arm: hazard = events / person-time (the maximum-likelihood
//     estimate), hazard ratio intervention / standard with SE(log HR) = sqrt(1/d1 + 1/d0).
//   - The same ratio stratified by diagnosis: Mantel-Haenszel rate ratio with the Greenland-Robins
//     variance (Greenland & Robins, Biometrics 41:55-68, 1985).
// A quantity read from a noisy sum carries the variance of that noise (`Noisy.variance`); every interval
// adds it to the sampling variance (delta method), so intervals widen with the noise. Without noise the
// variance is 0 and these are the textbook estimators.
import type { Treatment } from './schema.js';

/** 97.5% quantile of the standard normal. */
export const Z_95 = 1.959963984540054;
export const DAYS_PER_YEAR = 365.25;

/** Terms of the length-of-stay regression, in the order of the design columns [1, age/10, male, intervention, comorbidities]. */
export const REGRESSION_TERMS = ['intercept', 'agePerDecade', 'male', 'intervention', 'comorbidity'] as const;
export type RegressionTerm = (typeof REGRESSION_TERMS)[number];

/** A pooled quantity in real units and the variance of the noise it carries (0 without noise). */
export interface Noisy {
  readonly value: number;
  readonly variance: number;
}

export const exact = (value: number): Noisy => ({ value, variance: 0 });

/** Sums of one treatment arm (or one arm within one diagnosis), real units. */
export interface ArmSums {
  readonly patients: Noisy;
  readonly events: Noisy;
  readonly followUpDays: Noisy;
  readonly lengthOfStayDays: Noisy;
}

export interface ArmEstimates {
  /** Patients (noise removed by rounding and clamping at 0 when noisy). */
  readonly patients: number;
  readonly events: number;
  readonly personYears: number;
  readonly eventProportion: number | null;
  readonly hazardPerPersonYear: number | null;
  readonly meanLengthOfStayDays: number | null;
}

export interface DifferenceEstimate {
  readonly estimate: number;
  readonly se: number;
  readonly ci95: readonly [number, number];
}

export interface RatioEstimate {
  readonly estimate: number;
  /** Standard error of the log ratio. */
  readonly logSe: number;
  readonly ci95: readonly [number, number];
}

export interface CoefficientEstimate {
  readonly term: RegressionTerm;
  readonly estimate: number;
  /** Total standard error (sampling and noise); null when the residual variance is not estimable. */
  readonly se: number | null;
  readonly ci95: readonly [number, number] | null;
  /** Standard error the noise alone adds (0 without noise). */
  readonly noiseSe: number;
}

export type RegressionEstimates =
  | {
      readonly status: 'estimated';
      readonly observations: number;
      readonly coefficients: readonly CoefficientEstimate[];
      /** sqrt(RSS / (n − p)); null when the noise swamps the residual sum of squares. */
      readonly residualStdDays: number | null;
    }
  | { readonly status: 'not_estimable'; readonly reason: string };

export interface HealthcareEstimates {
  readonly patients: number;
  readonly events: number;
  readonly arms: Readonly<Record<Treatment, ArmEstimates>>;
  /** Event proportion intervention − standard. */
  readonly riskDifference: DifferenceEstimate | null;
  /** Crude exponential hazard ratio intervention / standard. */
  readonly hazardRatio: RatioEstimate | null;
  /** Mantel-Haenszel hazard ratio stratified by diagnosis. */
  readonly stratifiedHazardRatio: RatioEstimate | null;
  readonly regression: RegressionEstimates;
}

/** Clamped values of an arm's sums (noise can push them out of range). */
export interface CleanArm {
  readonly n: number;
  readonly d: number;
  readonly t: number;
  readonly los: number;
  readonly varN: number;
  readonly varD: number;
  readonly varT: number;
  readonly varLos: number;
}

export function cleanArm(s: ArmSums): CleanArm {
  const n = Math.max(0, s.patients.value);
  return {
    n,
    d: Math.min(n, Math.max(0, s.events.value)),
    t: Math.max(0, s.followUpDays.value),
    los: Math.max(0, s.lengthOfStayDays.value),
    varN: s.patients.variance,
    varD: s.events.variance,
    varT: s.followUpDays.variance,
    varLos: s.lengthOfStayDays.variance,
  };
}

export function addArms(a: ArmSums, b: ArmSums): ArmSums {
  const add = (x: Noisy, y: Noisy): Noisy => ({ value: x.value + y.value, variance: x.variance + y.variance });
  return {
    patients: add(a.patients, b.patients),
    events: add(a.events, b.events),
    followUpDays: add(a.followUpDays, b.followUpDays),
    lengthOfStayDays: add(a.lengthOfStayDays, b.lengthOfStayDays),
  };
}

export function armEstimates(s: ArmSums): ArmEstimates {
  const a = cleanArm(s);
  const patients = Math.round(a.n);
  return {
    patients,
    events: Math.round(a.d),
    personYears: a.t / DAYS_PER_YEAR,
    eventProportion: a.n >= 1 ? a.d / a.n : null,
    hazardPerPersonYear: a.t > 0 ? a.d / (a.t / DAYS_PER_YEAR) : null,
    meanLengthOfStayDays: a.n >= 1 ? a.los / a.n : null,
  };
}

const interval = (estimate: number, se: number): readonly [number, number] => [estimate - Z_95 * se, estimate + Z_95 * se];

/** Wald interval of p1 − p0 (intervention − standard), noise variance added by the delta method. */
export function riskDifference(intervention: ArmSums, standard: ArmSums): DifferenceEstimate | null {
  const a1 = cleanArm(intervention);
  const a0 = cleanArm(standard);
  if (a1.n < 1 || a0.n < 1) return null;
  const part = (a: CleanArm): { p: number; v: number } => {
    const p = a.d / a.n;
    return { p, v: (p * (1 - p)) / a.n + (a.varD + p * p * a.varN) / (a.n * a.n) };
  };
  const p1 = part(a1);
  const p0 = part(a0);
  const estimate = p1.p - p0.p;
  const se = Math.sqrt(p1.v + p0.v);
  return { estimate, se, ci95: interval(estimate, se) };
}

function ratio(logEstimate: number, logSe: number): RatioEstimate {
  const [lo, hi] = interval(logEstimate, logSe);
  return { estimate: Math.exp(logEstimate), logSe, ci95: [Math.exp(lo), Math.exp(hi)] };
}

/** Crude exponential hazard ratio; null when an arm has no events or no person-time. */
export function hazardRatio(intervention: ArmSums, standard: ArmSums): RatioEstimate | null {
  const a1 = cleanArm(intervention);
  const a0 = cleanArm(standard);
  if (!(a1.d > 0 && a0.d > 0 && a1.t > 0 && a0.t > 0)) return null;
  const logHr = Math.log(a1.d / a1.t) - Math.log(a0.d / a0.t);
  const v = (a: CleanArm): number => 1 / a.d + a.varD / (a.d * a.d) + a.varT / (a.t * a.t);
  return ratio(logHr, Math.sqrt(v(a1) + v(a0)));
}

/**
 * Mantel-Haenszel rate ratio over strata (Greenland & Robins 1985):
 *   HR = Σ d1 t0 / t ÷ Σ d0 t1 / t,   Var(log HR) = Σ t1 t0 (d1 + d0) / t² ÷ (Σ d1 t0 / t × Σ d0 t1 / t),
 * plus the noise variance through the gradient of log HR in each stratum's d1, d0, t1, t0.
 */
export function stratifiedHazardRatio(strata: readonly { intervention: ArmSums; standard: ArmSums }[]): RatioEstimate | null {
  const clean = strata.map((s) => ({ i: cleanArm(s.intervention), s: cleanArm(s.standard) })).filter((x) => x.i.t + x.s.t > 0);
  let r = 0;
  let q = 0;
  let gr = 0;
  for (const { i, s } of clean) {
    const t = i.t + s.t;
    r += (i.d * s.t) / t;
    q += (s.d * i.t) / t;
    gr += (i.t * s.t * (i.d + s.d)) / (t * t);
  }
  if (!(r > 0 && q > 0)) return null;
  let noise = 0;
  for (const { i, s } of clean) {
    const t = i.t + s.t;
    const dD1 = s.t / t / r;
    const dD0 = -(i.t / t) / q;
    const dT1 = -(i.d * s.t) / (t * t * r) - (s.d * s.t) / (t * t * q);
    const dT0 = (i.d * i.t) / (t * t * r) + (s.d * i.t) / (t * t * q);
    noise += dD1 * dD1 * i.varD + dD0 * dD0 * s.varD + dT1 * dT1 * i.varT + dT0 * dT0 * s.varT;
  }
  return ratio(Math.log(r / q), Math.sqrt(gr / (r * q) + noise));
}

/** A coefficient's interval from its sampling and noise standard errors. */
export function coefficient(term: RegressionTerm, estimate: number, samplingSe: number | null, noiseSe: number): CoefficientEstimate {
  if (samplingSe === null) return { term, estimate, se: null, ci95: null, noiseSe };
  const se = Math.sqrt(samplingSe * samplingSe + noiseSe * noiseSe);
  return { term, estimate, se, ci95: interval(estimate, se), noiseSe };
}
