// Log-space helpers and special functions for the RDP accountant.
//
// logErfc follows W. J. Cody, "Rational Chebyshev approximations for the error function",
// Math. Comp. 23 (1969) 631-638 (the SPECFUN CALERF coefficient sets), evaluated as the scaled
// function erfcx(x) = exp(x^2) erfc(x) so that log(erfc(x)) = log(erfcx(x)) - x^2 never underflows.

// Cody 1969, erf on |x| <= 0.46875.
const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
// Cody 1969, erfcx on 0.46875 < x <= 4.
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
// Cody 1969, erfcx on x > 4 (asymptotic form in 1/x^2).
const P = [0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4, 0.0163153871373020978];
const Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];
const ONE_OVER_SQRT_PI = 0.56418958354775628695;
const CODY_BREAK = 0.46875;

function erfSmall(x: number): number {
  // |x| <= 0.46875
  const z = x * x;
  let num = A[4]! * z;
  let den = z;
  for (let i = 0; i < 3; i++) {
    num = (num + A[i]!) * z;
    den = (den + B[i]!) * z;
  }
  return (x * (num + A[3]!)) / (den + B[3]!);
}

/** exp(x^2) * erfc(x) for x > 0.46875. */
function erfcxLarge(x: number): number {
  if (x <= 4) {
    let num = C[8]! * x;
    let den = x;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * x;
      den = (den + D[i]!) * x;
    }
    return (num + C[7]!) / (den + D[7]!);
  }
  const z = 1 / (x * x);
  let num = P[5]! * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + P[i]!) * z;
    den = (den + Q[i]!) * z;
  }
  const r = (z * (num + P[4]!)) / (den + Q[4]!);
  return (ONE_OVER_SQRT_PI - r) / x;
}

/** log(erfc(x)) for any real x, accurate in both tails. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  const ax = Math.abs(x);
  if (ax <= CODY_BREAK) return Math.log1p(-erfSmall(x));
  if (x > 0) return Math.log(erfcxLarge(x)) - x * x;
  // x < -0.46875: erfc(x) = 2 - erfc(-x).
  return Math.LN2 + Math.log1p(-0.5 * erfcxLarge(ax) * Math.exp(-ax * ax));
}

/** log(exp(a) + exp(b)). */
export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

/** log|exp(a) - exp(b)| and the sign of exp(a) - exp(b) (true when non-negative). */
export function logSubSign(a: number, b: number): { positive: boolean; log: number } {
  if (a > b) return { positive: true, log: a + Math.log1p(-Math.exp(b - a)) };
  if (a < b) return { positive: false, log: b + Math.log1p(-Math.exp(a - b)) };
  return { positive: true, log: -Infinity };
}

/**
 * Generalised binomial coefficients binom(alpha, i) for i = 0..count-1, as log|binom| and sign,
 * by the product recurrence binom(alpha, i) = binom(alpha, i-1) * (alpha - i + 1) / i.
 * The magnitude is carried as a plain double while it fits (exact for small i, about i ulps of
 * relative error after that) and in log space once it would overflow.
 */
export function binomialSeries(alpha: number, count: number): { logAbs: Float64Array; sign: Int8Array } {
  const logAbs = new Float64Array(count);
  const sign = new Int8Array(count);
  let value = 1; // binom(alpha, i) while |value| is representable
  let logOffset = 0; // binom = value * exp(logOffset)
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      value *= (alpha - i + 1) / i;
      const mag = Math.abs(value);
      if (mag > 1e280 || (mag < 1e-280 && mag !== 0)) {
        logOffset += Math.log(mag);
        value = value / mag;
      }
    }
    if (value === 0) {
      logAbs[i] = -Infinity;
      sign[i] = 0;
    } else {
      logAbs[i] = Math.log(Math.abs(value)) + logOffset;
      sign[i] = value > 0 ? 1 : -1;
    }
  }
  return { logAbs, sign };
}

/** log(binom(n, k)) for integers 0 <= k <= n. */
export function logComb(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  const kk = Math.min(k, n - k);
  const series = binomialSeries(n, kk + 1);
  return series.logAbs[kk]!;
}
