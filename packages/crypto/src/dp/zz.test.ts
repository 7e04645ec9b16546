import { it } from 'vitest';
import { logAdd, logSubSign } from './special.js';
function forwardDiffs(fun: (x: number) => number, n: number): Float64Array {
  const vec = new Float64Array(n + 3);
  const signs = new Uint8Array(n + 3).fill(1);
  const deltas = new Float64Array(n + 2);
  for (let i = 1; i < n + 3; i++) vec[i] = fun(i - 1);
  for (let i = 0; i < n + 2; i++) {
    const m = n + 2 - i;
    for (let j = 0; j < m; j++) {
      if (signs[j] === signs[j + 1]) {
        const d = logSubSign(vec[j + 1]!, vec[j]!);
        vec[j] = d.log;
        signs[j] = d.positive === (signs[j + 1] === 1) ? 1 : 0;
      } else {
        vec[j] = logAdd(vec[j]!, vec[j + 1]!);
        signs[j] = signs[j + 1]!;
      }
    }
    deltas[i] = vec[0]!;
  }
  return deltas;
}
it('x', () => {
  const cgf = (x: number) => x * (x + 1) / 12.5;
  for (const a of [100, 200, 250, 256]) {
    const d = forwardDiffs(cgf, a);
    const rows = [];
    for (const i of [a - 3, a-2, a - 1, a]) {
      const lo = d[2 * Math.floor(i / 2) - 1]!, hi = d[2 * Math.ceil(i / 2) - 1]!;
      rows.push([i, Math.log(4) + 0.5 * (lo + hi), Math.LN2 + cgf(i - 1), lo, hi]);
    }
    console.log(a, JSON.stringify(rows));
  }
});
