import { it } from 'vitest';
import { computeRdpSampledWithoutReplacement, computeDpSgdUserEpsilon, computeDpSgdExampleEpsilon } from './index.js';
it('x', () => {
  console.log(computeRdpSampledWithoutReplacement({ q: 0.01, noiseMultiplier: 2.5, steps: 50, orders: [1.001, 1.5, 2.5, 5, 50, 100, 200, 250, 255, 256, 257, 512, 1024] }));
  const base = { epochs: 5, noiseMultiplier: 2, delta: 1e-6, usedMicrobatching: true } as const;
  for (const k of [1,2,3]) console.log(k, computeDpSgdUserEpsilon({ ...base, maxExamplesPerUser: k }));
});
