// Small dense linear algebra for the pooled regression (p = 5): Cholesky factorisation and inverse of a
// symmetric positive definite matrix (Golub & Van Loan, Matrix Computations, 4th ed., §4.2), the cyclic
// Jacobi eigenvalue method for a symmetric matrix (§8.5) and Householder QR least squares (§5.1–5.3),
// the last one for the plaintext reference only. Matrices are arrays of rows.

export type Matrix = number[][];

/** Lower-triangular L with A = L Lᵀ, or null when A is not (numerically) positive definite. */
export function cholesky(a: readonly (readonly number[])[]): Matrix | null {
  const n = a.length;
  const l: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    let d = a[j]![j]!;
    for (let k = 0; k < j; k++) d -= l[j]![k]! ** 2;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    l[j]![j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = s / ljj;
    }
  }
  return l;
}

/** x with L Lᵀ x = b. */
export function choleskySolve(l: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = l.length;
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/** (L Lᵀ)⁻¹, column by column. */
export function choleskyInverse(l: readonly (readonly number[])[]): Matrix {
  const n = l.length;
  const inv: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const e = new Array<number>(n).fill(0);
    e[j] = 1;
    const col = choleskySolve(l, e);
    for (let i = 0; i < n; i++) inv[i]![j] = col[i]!;
  }
  return inv;
}

export function matVec(a: readonly (readonly number[])[], x: readonly number[]): number[] {
  return a.map((row) => row.reduce((s, v, j) => s + v * x[j]!, 0));
}

/** Eigenvalues of a symmetric matrix, ascending (cyclic Jacobi rotations until the off-diagonal vanishes). */
export function symmetricEigenvalues(a: readonly (readonly number[])[]): number[] {
  const n = a.length;
  const m = a.map((row) => [...row]);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i]![i]! ** 2;
      for (let j = i + 1; j < n; j++) off += m[i]![j]! ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q]!;
        if (apq === 0) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
      }
    }
  }
  return m.map((row, i) => row[i]!).sort((x, y) => x - y);
}

export interface LeastSquaresFit {
  coefficients: number[];
  /** (XᵀX)⁻¹ = R⁻¹R⁻ᵀ. */
  inverseGram: Matrix;
}

/**
 * Least squares by Householder QR of the n × p design given by columns (each length n), or null when R
 * has a (numerically) zero diagonal entry.
 */
export function householderLeastSquares(columns: readonly Float64Array[], y: Float64Array): LeastSquaresFit | null {
  const p = columns.length;
  const n = y.length;
  const a = columns.map((c) => Float64Array.from(c));
  const qty = Float64Array.from(y);
  for (let k = 0; k < p; k++) {
    const col = a[k]!;
    let norm = 0;
    for (let i = k; i < n; i++) norm += col[i]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) return null;
    const alpha = col[k]! > 0 ? -norm : norm;
    const v = new Float64Array(n - k);
    for (let i = k; i < n; i++) v[i - k] = col[i]!;
    v[0]! -= alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i]! ** 2;
    const apply = (x: Float64Array): void => {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * x[k + i]!;
      const f = (2 * dot) / vv;
      for (let i = 0; i < v.length; i++) x[k + i]! -= f * v[i]!;
    };
    if (vv > 0) {
      for (let j = k; j < p; j++) apply(a[j]!);
      apply(qty);
    }
  }
  const r: Matrix = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => (j >= i ? a[j]![i]! : 0)));
  const scaleR = Math.max(...r.map((row, i) => Math.abs(row[i]!)));
  if (r.some((row, i) => !(Math.abs(row[i]!) > 1e-12 * scaleR))) return null;
  const coefficients = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) {
    let s = qty[i]!;
    for (let j = i + 1; j < p; j++) s -= r[i]![j]! * coefficients[j]!;
    coefficients[i] = s / r[i]![i]!;
  }
  // R⁻¹ (upper triangular), then R⁻¹R⁻ᵀ.
  const rInv: Matrix = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    rInv[j]![j] = 1 / r[j]![j]!;
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += r[i]![k]! * rInv[k]![j]!;
      rInv[i]![j] = -s / r[i]![i]!;
    }
  }
  const inverseGram: Matrix = Array.from({ length: p }, (_, i) =>
    Array.from({ length: p }, (_, j) => {
      let s = 0;
      for (let k = Math.max(i, j); k < p; k++) s += rInv[i]![k]! * rInv[j]![k]!;
      return s;
    }),
  );
  return { coefficients, inverseGram };
}
