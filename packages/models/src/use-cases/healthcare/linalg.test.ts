// The small dense linear algebra of the pooled regression against hand-computed results.
import { describe, expect, it } from 'vitest';
import { cholesky, choleskyInverse, choleskySolve, householderLeastSquares, symmetricEigenvalues } from './linalg.js';

describe('linalg', () => {
  const a = [
    [4, 12, -16],
    [12, 37, -43],
    [-16, -43, 98],
  ];

  it('factors a positive definite matrix (Cholesky) and refuses one that is not', () => {
    expect(cholesky(a)).toEqual([
      [2, 0, 0],
      [6, 1, 0],
      [-8, 5, 3],
    ]);
    expect(cholesky([[1, 2], [2, 1]])).toBeNull();
    expect(cholesky([[0]])).toBeNull();
  });

  it('solves and inverts through the factor', () => {
    const l = cholesky(a)!;
    const x = choleskySolve(l, [1, 2, 3]);
    a.forEach((row, i) => expect(row.reduce((s, v, j) => s + v * x[j]!, 0)).toBeCloseTo([1, 2, 3][i]!, 10));
    const inv = choleskyInverse(l);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(a[i]!.reduce((s, v, k) => s + v * inv[k]![j]!, 0)).toBeCloseTo(i === j ? 1 : 0, 10);
  });

  it('finds the eigenvalues of a symmetric matrix (Jacobi)', () => {
    expect(symmetricEigenvalues([[2, 1], [1, 2]]).map((v) => Number(v.toFixed(12)))).toEqual([1, 3]);
    const ev = symmetricEigenvalues(a);
    expect(ev.reduce((s, v) => s + v, 0)).toBeCloseTo(4 + 37 + 98, 9);
    expect(ev.reduce((s, v) => s * v, 1)).toBeCloseTo(36, 6); // det = (2·1·3)²
  });

  it('fits least squares by Householder QR with (XᵀX)⁻¹', () => {
    // y = 1 + 2x exactly on x = 0..3.
    const fit = householderLeastSquares([Float64Array.of(1, 1, 1, 1), Float64Array.of(0, 1, 2, 3)], Float64Array.of(1, 3, 5, 7))!;
    expect(fit.coefficients.map((v) => Number(v.toFixed(12)))).toEqual([1, 2]);
    // XᵀX = [[4, 6], [6, 14]], inverse [[0.7, −0.3], [−0.3, 0.2]].
    expect(fit.inverseGram.flat().map((v) => Number(v.toFixed(12)))).toEqual([0.7, -0.3, -0.3, 0.2]);
    expect(householderLeastSquares([Float64Array.of(1, 1), Float64Array.of(2, 2)], Float64Array.of(1, 2))).toBeNull();
  });
});
