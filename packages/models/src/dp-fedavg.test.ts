// DP-FedAvg: the noise the model adds is the noise the RDP accountant certifies.
import { calibrateNoiseMultiplier, computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { aggregateRound, clipInPlace, rocAuc } from './federated.js';
import { demoPartitions, generateDemoData, getModel, seededRng } from './index.js';

const model = getModel('risk-analyzer-v2')!;

describe('noise calibration', () => {
  const data = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 1500, seed: 5 });
  const run = (epsilon: number, delta: number, rounds: number, enabled = true) =>
    model.run({
      method: 'federated',
      partitions: demoPartitions(data),
      federated: { localEpochs: 1, aggregationRounds: rounds, differentialPrivacy: { enabled, epsilon, delta } },
      prompt: '',
      parameters: {},
      rng: seededRng(3),
    });

  it.each([
    [1, 1e-5, 5],
    [4, 1e-6, 20],
    [0.5, 1e-5, 1],
  ])('epsilon %s, delta %s, %s rounds: the accountant\'s smallest sigma', async (epsilon, delta, rounds) => {
    const out = await run(epsilon, delta, rounds);
    const expected = calibrateNoiseMultiplier({ targetEpsilon: epsilon, delta, sampleRate: 1, steps: rounds });
    expect(out.privacy).toMatchObject({ mechanism: 'gaussian', epsilon, delta, rounds, clippingNorm: 1, accountant: 'rdp', unit: 'party' });
    expect(out.privacy.noiseMultiplier).toBe(expected.noiseMultiplier);
    // The certified epsilon at that sigma meets the target; 0.1% less noise would not.
    const at = (sigma: number): number =>
      rdpToEpsilon({ orders: DEFAULT_RDP_ORDERS, rdp: computeRdp({ q: 1, noiseMultiplier: sigma, steps: rounds, orders: DEFAULT_RDP_ORDERS }), delta }).epsilon;
    expect(at(out.privacy.noiseMultiplier)).toBeLessThanOrEqual(epsilon);
    expect(at(out.privacy.noiseMultiplier * (1 - 1e-3))).toBeGreaterThan(epsilon);
    expect(out.privacy.epsilonSpent!).toBeLessThanOrEqual(epsilon);
  });

  it('adds no noise and claims no guarantee without DP', async () => {
    const out = await run(1, 1e-5, 3, false);
    expect(out.privacy).toMatchObject({ mechanism: 'none', epsilon: null, delta: null, noiseMultiplier: 0, clippingNorm: 0 });
    expect(out.shared.content).toContain('trained without differential privacy');
  });
});

describe('aggregateRound', () => {
  it('adds N(0, (zC)^2) to the sum of clipped updates, then averages over the parties', () => {
    const dim = 60_000;
    const parties = 3;
    const z = 2.5;
    const deltas = Array.from({ length: parties }, () => new Float64Array(dim));
    const out = aggregateRound(deltas, { dp: true, clippingNorm: 1, noiseMultiplier: z, rng: seededRng(9) });
    let sum = 0;
    let sq = 0;
    for (const x of out) {
      sum += x;
      sq += x * x;
    }
    const mean = sum / dim;
    const sd = Math.sqrt(sq / dim - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(sd / ((z * 1) / parties)).toBeGreaterThan(0.98);
    expect(sd / ((z * 1) / parties)).toBeLessThan(1.02);
  });

  it('clips each update to the clipping norm and leaves small ones alone', () => {
    const big = Float64Array.from([30, 40]);
    clipInPlace(big, 1);
    expect(Array.from(big).map((x) => Math.round(x * 1e12) / 1e12)).toEqual([0.6, 0.8]);
    const small = Float64Array.from([0.3, 0.4]);
    clipInPlace(small, 1);
    expect(Array.from(small)).toEqual([0.3, 0.4]);
    const mean = aggregateRound([Float64Array.from([30, 40]), Float64Array.from([0, 0])], { dp: true, clippingNorm: 1, noiseMultiplier: 0, rng: seededRng(1) });
    expect(Array.from(mean).map((x) => Math.round(x * 1e12) / 1e12)).toEqual([0.3, 0.4]);
  });

  it('does not clip without DP', () => {
    const mean = aggregateRound([Float64Array.from([30, 40]), Float64Array.from([0, 0])], { dp: false, clippingNorm: 1, noiseMultiplier: 0, rng: seededRng(1) });
    expect(Array.from(mean)).toEqual([15, 20]);
  });
});

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0.5 for ties, NaN for one class', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([0.9, 0.1], [0, 1])).toBe(0);
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
  });
});
