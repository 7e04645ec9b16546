import { it } from 'vitest';
import { logErfc, logAdd, binomialSeries } from './special.js';

function logAInt(q: number, sigma: number, alpha: number) {
  const { logAbs } = binomialSeries(alpha, alpha + 1);
  let la = -Infinity; const l1mq = Math.log1p(-q), lq = Math.log(q);
  for (let i = 0; i <= alpha; i++) la = logAdd(la, logAbs[i]! + i * lq + (alpha - i) * l1mq + (i * i - i) / (2 * sigma * sigma));
  return la;
}
function logAFrac(q: number, sigma: number, alpha: number, variant: 'abs'|'signed') {
  const z0 = sigma ** 2 * Math.log(1 / q - 1) + 0.5;
  const l1mq = Math.log1p(-q), lq = Math.log(q);
  let a0 = -Infinity, a1 = -Infinity; // abs variant
  let s0sum = 0, s1sum = 0; // signed: track as linear relative? use sign-log
  let A0 = { p: true, l: -Infinity }, A1 = { p: true, l: -Infinity };
  const N = variant === 'abs' ? 1000 : 200000;
  const { logAbs, sign } = binomialSeries(alpha, N);
  let last0 = -Infinity, last1 = -Infinity;
  const add = (X: {p: boolean, l: number}, l: number, pos: boolean) => {
    if (X.l === -Infinity) return { p: pos, l };
    if (X.p === pos) return { p: pos, l: logAdd(X.l, l) };
    // different signs
    if (X.l >= l) return { p: X.p, l: X.l + Math.log1p(-Math.exp(l - X.l)) };
    return { p: pos, l: l + Math.log1p(-Math.exp(X.l - l)) };
  };
  for (let i = 0; i < N; i++) {
    const lc = logAbs[i]!; const j = alpha - i;
    const t0 = lc + i * lq + j * l1mq, t1 = lc + j * lq + i * l1mq;
    const e0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const e1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const s0 = t0 + (i * i - i) / (2 * sigma ** 2) + e0;
    const s1 = t1 + (j * j - j) / (2 * sigma ** 2) + e1;
    if (variant === 'abs') {
      a0 = logAdd(a0, s0); a1 = logAdd(a1, s1);
      const tot = logAdd(a0, a1);
      if (s0 < last0 && s1 < last1 && Math.max(s0, s1) < tot - 30) return tot;
      last0 = s0; last1 = s1;
    } else {
      const pos = sign[i]! > 0;
      A0 = add(A0, s0, pos); A1 = add(A1, s1, pos);
      const tot = logAdd(A0.l, A1.l);
      if (s0 < last0 && s1 < last1 && Math.max(s0, s1) < tot - 30) { if (!A0.p || !A1.p) throw new Error('neg'); (globalThis as any).maxIt = Math.max((globalThis as any).maxIt ?? 0, i); return tot; }
      last0 = s0; last1 = s1;
    }
  }
  return Infinity;
}
function rdp(q: number, sigma: number, steps: number, orders: number[], v: 'abs'|'signed') {
  return orders.map(a => {
    if (q === 0) return 0; if (!isFinite(a)) return Infinity; if (q === 1) return steps * a / (2 * sigma ** 2);
    const la = Number.isInteger(a) ? logAInt(q, sigma, a) : logAFrac(q, sigma, a, v);
    return steps * la / (a - 1);
  });
}
function epsImproved(orders: number[], r: number[], delta: number) {
  let best = Infinity, bo = 0;
  orders.forEach((a, k) => { const x = r[k]!; let e: number;
    if (x < 0) e = 0; else if (delta ** 2 + Math.expm1(-x) > 0) e = 0; else if (a > 1.01) e = x + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1); else e = Infinity;
    if (e < best) { best = e; bo = a; } });
  return [Math.max(0, best), bo];
}
function epsClassic(orders: number[], r: number[], delta: number) {
  let best = Infinity, bo = 0;
  orders.forEach((a, k) => { const e = r[k]! - Math.log(delta) / (a - 1); if (e < best) { best = e; bo = a; } });
  return [best, bo];
}
const TFP = [1.25, 1.5, 1.75, 2., 2.25, 2.5, 3., 3.5, 4., 4.5, ...Array.from({length: 59}, (_, i) => i + 5), 128, 256, 512];
const DPA = [...Array.from({length: 99}, (_, x) => 1 + (x+1) / 10), ...Array.from({length: 53}, (_, i) => i + 11), 128, 256, 512, 1024];
const CLS = [...Array.from({length: 99}, (_, x) => 1 + (x+1) / 10), ...Array.from({length: 52}, (_, i) => i + 12)];
it('proto', () => {
  for (const v of ['abs', 'signed'] as const) {
    const t0 = performance.now();
    for (const [n, b, s, e, d, ref] of [[60000,150,1.3,15,1e-5,0.7242234026109595],[100000,100,1.0,30,1e-7,1.4154988495444842],[1e8,1024,0.1,10,1e-7,5907982.3113978775]]) {
      const steps = Math.ceil(e! * n! / b!);
      const [eps, o] = epsImproved(TFP, rdp(b!/n!, s!, steps, TFP, v), d!);
      console.log(v, eps, o, ref, (eps! - ref!) / ref!);
    }
    for (const [s, e, ref] of [[1.12,60,2.92],[1.12,1,1.0],[1.12,2,1.04],[0.6,30,9.74],[1.2,10,1.2]]) {
      const steps = Math.ceil(e! * 60000 / 256);
      const [eps, o] = epsClassic(CLS, rdp(256/60000, s!, steps, CLS, v), 1e-5);
      console.log('classic', v, eps, o, ref);
    }
    console.log(v, rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity], v), '[0.00065, 0.001085, 0.00218075, 0.023846, 167.416307]');
    console.log(v, rdp(0.1, 2, 10, [5], v), 0.07737);
    for (const [mb, q, ref] of [[false, null, 10.8602036],[true, null, 26.2880374],[false, 0.01, 3.2392676],[true, 0.01, 22.6248601]] as const) {
      const sig = mb ? 0.35 : 0.7; const count = q === null ? Math.ceil(1.2) : Math.ceil(1.2 / q);
      const delta = -Math.expm1(Math.log1p(-1e-5));
      const [eps, o] = epsImproved(DPA, rdp(q ?? 1, sig, count, DPA, v), delta);
      console.log('ex', v, eps, o, ref, eps! - ref);
    }
    console.log(v, 'ms', performance.now() - t0, (globalThis as any).maxIt);
  }
});
