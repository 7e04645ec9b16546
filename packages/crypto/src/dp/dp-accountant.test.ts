// Replays vectors/dp/dp_accountant_reference.json (TF Privacy / dp_accounting published numbers).
// Every RDP row is replayed. Excluded, by the named predicate `isPldCase`: the PLD-accountant rows, since
// this package implements an RDP accountant and PLD numbers depend on dp_accounting's PLD
// discretisation (PROVENANCE.md caveat 4). Two published RDP figures are not what the published
// algorithm computes; their tests say so and pin where they come from (`isWorOrder256`,
// `isUnreproducedOncePerEpochUserFigure`).
// Which series: rows from the older rdp_accountant (MNIST README, rdp_accountant_test) need the exact
// signed fractional-order series; rows from current dp_accounting need its absolute-value series
// (caveat 3: they differ by about 0.1% at q = 0.01).
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../../test/support/vectors.js';
import {
  DEFAULT_RDP_ORDERS,
  DP_ACCOUNTING_RDP_ORDERS,
  NoiseCalibrationError,
  calibrateNoiseMultiplier,
  computeDpSgdEpsilon,
  computeDpSgdExampleEpsilon,
  computeDpSgdUserEpsilon,
  computeRdp,
  computeRdpSampledWithoutReplacement,
  rdpToDelta,
  rdpToEpsilon,
  sampleGaussian,
  sampleGaussianVector,
  type FractionalOrderMethod,
} from './index.js';
import { logErfc } from './special.js';

type Num = number | 'inf';
interface DpSgdRow {
  id: string;
  n: number;
  batch_size: number;
  noise_multiplier: number;
  epochs: number;
  steps?: number;
  delta: number;
  epsilon: number;
  optimal_order?: number;
  conversion: 'improved' | 'classic';
  orders: 'tfp_compute_dp_sgd_privacy' | 'classic_tutorial_orders';
  tolerance_upstream: string;
}
interface PrimitiveRow {
  id: string;
  q?: number;
  noise_multiplier?: number;
  steps?: number;
  sampling_probabilities?: number[];
  noise_multipliers?: number[];
  steps_list?: number[];
  mechanism?: string;
  orders: Num[];
  rdp: Num[];
}
interface ExampleCase {
  used_microbatching: boolean;
  q: number | null;
  accountant: 'RDP' | 'PLD';
  epsilon: number;
}
interface StatementCase {
  accountant: 'RDP' | 'PLD';
  max_examples_per_user?: number;
  epsilon_each_example_once_per_epoch?: number;
  epsilon_poisson_sampling?: number;
  user_epsilon_once_per_epoch?: number;
  user_epsilon_poisson?: Num;
}
interface Reference {
  orders: { tfp_compute_dp_sgd_privacy: number[] };
  dp_sgd_rows: DpSgdRow[];
  rdp_primitive_rows: PrimitiveRow[];
  conversion_rows: Array<Record<string, unknown> & { id: string }>;
  example_level_rows: [
    { id: 'tfp-example-privacy'; cases: ExampleCase[] },
    { id: 'tfp-privacy-statement'; cases: StatementCase[] },
  ];
}

const ref = readVectorJson<Reference>('dp/dp_accountant_reference.json');
const num = (x: Num): number => (x === 'inf' ? Infinity : x);

/** Rows computed by dp_accounting's PLD accountant: not reproducible by an RDP accountant. */
function isPldCase(c: { accountant: 'RDP' | 'PLD' }): boolean {
  return c.accountant === 'PLD';
}

/** The one published entry this accountant does not reproduce as printed (see its test). */
function isWorOrder256(row: PrimitiveRow, order: number): boolean {
  return row.id === 'tfp-rdp-without-replacement' && order === 256;
}

/**
 * The user-level figures for "each example once per epoch" (56.224 at 3 examples per user, 366.374 at
 * 10) are not what the published algorithm computes: a line-by-line Python port of
 * compute_dp_sgd_privacy_lib._compute_dp_sgd_user_privacy on scipy 1.17 gives 85.940 and inf, as this
 * implementation does (and no single Gaussian RDP curve yields both printed figures). The Poisson
 * figures of the same rows (6.425 and inf) are reproduced.
 */
function isUnreproducedOncePerEpochUserFigure(c: StatementCase): boolean {
  return c.accountant === 'RDP' && c.max_examples_per_user !== undefined && c.user_epsilon_once_per_epoch !== undefined;
}

/** `[1 + x / 10 for x in range(1, 100)] + list(range(12, 64))` (older TF Privacy MNIST tutorial). */
const CLASSIC_TUTORIAL_ORDERS = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => i + 12),
];

const conversionRow = (id: string): Record<string, unknown> => {
  const row = ref.conversion_rows.find((r) => r.id === id);
  if (!row) throw new Error(`missing conversion row ${id}`);
  return row;
};

describe('DEFAULT_RDP_ORDERS', () => {
  it('is the TF Privacy compute_dp_sgd_privacy order list', () => {
    expect([...DEFAULT_RDP_ORDERS]).toEqual(ref.orders.tfp_compute_dp_sgd_privacy);
  });
  it('DP_ACCOUNTING_RDP_ORDERS is dp_accounting RdpAccountant default list', () => {
    expect(DP_ACCOUNTING_RDP_ORDERS.length).toBe(99 + 53 + 4);
    expect(DP_ACCOUNTING_RDP_ORDERS.slice(0, 3)).toEqual([1.1, 1.2, 1.3]);
    expect(DP_ACCOUNTING_RDP_ORDERS.slice(-5)).toEqual([63, 128, 256, 512, 1024]);
  });
});

describe('dp_sgd_rows (compute_dp_sgd_privacy)', () => {
  for (const row of ref.dp_sgd_rows) {
    it(row.id, () => {
      if (row.conversion === 'improved') {
        // Current TF Privacy / dp_accounting: improved conversion, absolute-value fractional series.
        const got = computeDpSgdEpsilon({
          n: row.n,
          batchSize: row.batch_size,
          noiseMultiplier: row.noise_multiplier,
          epochs: row.epochs,
          delta: row.delta,
        });
        if (row.steps !== undefined) expect(got.steps).toBe(row.steps);
        // Upstream asserts 7 decimal places; Test2's epsilon is 5.9e6, so compare relatively.
        expect(Math.abs(got.epsilon - row.epsilon)).toBeLessThanOrEqual(Math.max(5e-8, 1e-11 * row.epsilon));
        expect(got.order).toBe(row.optimal_order);
        // The exact (signed) series gives the same figure to 1e-11 relative on these settings.
        const signed = computeDpSgdEpsilon({
          n: row.n,
          batchSize: row.batch_size,
          noiseMultiplier: row.noise_multiplier,
          epochs: row.epochs,
          delta: row.delta,
          fractionalMethod: 'signed',
        });
        expect(Math.abs(signed.epsilon - row.epsilon) / row.epsilon).toBeLessThan(1e-11);
      } else {
        // README numbers of the older MNIST tutorial: classic conversion, its own order list, and the
        // older rdp_accountant's exact (signed) fractional series (caveat 1 of PROVENANCE.md).
        const got = computeDpSgdEpsilon({
          n: row.n,
          batchSize: row.batch_size,
          noiseMultiplier: row.noise_multiplier,
          epochs: row.epochs,
          delta: row.delta,
          orders: CLASSIC_TUTORIAL_ORDERS,
          conversion: 'classic',
          fractionalMethod: 'signed',
        });
        const tolerance = row.tolerance_upstream.includes('+/-0.02') ? 0.02 : 0.005; // printed with 2 decimals
        expect(Math.abs(got.epsilon - row.epsilon)).toBeLessThanOrEqual(tolerance);
      }
    });
  }

  it('the improved conversion gives a smaller epsilon than the classic one on the tutorial rows', () => {
    for (const row of ref.dp_sgd_rows.filter((r) => r.conversion === 'classic')) {
      const args = { n: row.n, batchSize: row.batch_size, noiseMultiplier: row.noise_multiplier, epochs: row.epochs, delta: row.delta, orders: CLASSIC_TUTORIAL_ORDERS };
      expect(computeDpSgdEpsilon({ ...args, conversion: 'improved' }).epsilon).toBeLessThan(computeDpSgdEpsilon({ ...args, conversion: 'classic' }).epsilon);
    }
  });
});

describe('rdp_primitive_rows (rdp_accountant_test)', () => {
  for (const row of ref.rdp_primitive_rows) {
    it(row.id, () => {
      const orders = row.orders.map(num);
      const expected = row.rdp.map(num);
      let got: number[];
      if (row.sampling_probabilities) {
        // Heterogeneous composition: RDP of a sequence of events is the sum of their RDPs.
        got = orders.map(() => 0);
        row.sampling_probabilities.forEach((q, k) => {
          const part = computeRdp({ q, noiseMultiplier: row.noise_multipliers![k]!, steps: row.steps_list![k]!, orders });
          got = got.map((g, i) => g + part[i]!);
        });
      } else if (row.mechanism?.includes('WITHOUT replacement')) {
        got = computeRdpSampledWithoutReplacement({ q: row.q!, noiseMultiplier: row.noise_multiplier!, steps: row.steps!, orders });
      } else {
        // The older rdp_accountant summed the fractional-order series with signs (exact A_alpha).
        got = computeRdp({ q: row.q!, noiseMultiplier: row.noise_multiplier!, steps: row.steps!, orders, fractionalMethod: 'signed' });
        const bound = computeRdp({ q: row.q!, noiseMultiplier: row.noise_multiplier!, steps: row.steps!, orders, fractionalMethod: 'absolute' });
        bound.forEach((b, i) => expect(b).toBeGreaterThanOrEqual(got[i]! * (1 - 1e-12)));
      }
      expected.forEach((want, i) => {
        if (isWorOrder256(row, orders[i]!)) {
          // The published 792.838516 is the POISSON RDP at order 256 (next test); the upstream
          // without-replacement algorithm (rdp_accountant.py @09270afe, re-run with numpy 2.4 /
          // scipy 1.17 while writing this test) gives 792.974427, as this implementation does.
          expect(got[i]).toBeCloseTo(792.974427, 5);
          return;
        }
        if (want === Infinity) expect(got[i]).toBe(Infinity);
        else expect(Math.abs(got[i]! - want), `order ${orders[i]}`).toBeLessThanOrEqual(1e-5);
      });
    });
  }
});

describe('tfp-rdp-without-replacement, order 256', () => {
  it('the published figure is the Poisson-subsampled RDP at that order', () => {
    const row = ref.rdp_primitive_rows.find((r) => r.id === 'tfp-rdp-without-replacement')!;
    const i = row.orders.indexOf(256);
    const poisson = computeRdp({ q: row.q!, noiseMultiplier: row.noise_multiplier!, steps: row.steps!, orders: [256] });
    expect(Math.abs(poisson[0]! - num(row.rdp[i]!))).toBeLessThanOrEqual(1e-5);
  });
});

describe('conversion_rows (get_privacy_spent)', () => {
  const orders2to32 = Array.from({ length: 31 }, (_, i) => i + 2);
  const constant = orders2to32.map(() => 1.1);

  it('tfp-conv-const-rdp-eps', () => {
    const row = conversionRow('tfp-conv-const-rdp-eps');
    const got = rdpToEpsilon({ orders: orders2to32, rdp: constant, delta: row.target_delta as number });
    expect(got.epsilon).toBeCloseTo(row.epsilon as number, 10);
    expect(got.order).toBe(row.optimal_order);
  });

  it('tfp-conv-const-rdp-delta', () => {
    const row = conversionRow('tfp-conv-const-rdp-delta');
    const got = rdpToDelta({ orders: orders2to32, rdp: constant, epsilon: row.target_epsilon as number });
    expect(Math.abs(got.delta - (row.delta as number)) / (row.delta as number)).toBeLessThan(1e-9);
    expect(got.order).toBe(row.optimal_order);
  });

  it('tfp-conv-gaussian-exact (both directions)', () => {
    const row = conversionRow('tfp-conv-gaussian-exact');
    const orders = Array.from({ length: 99000 }, (_, k) => 0.001 * (k + 1000));
    const rdp = computeRdp({ q: row.q as number, noiseMultiplier: row.noise_multiplier as number, steps: row.steps as number, orders });
    const eps = rdpToEpsilon({ orders, rdp, delta: row.target_delta as number });
    expect(eps.epsilon).toBeCloseTo(row.epsilon as number, 7);
    const delta = rdpToDelta({ orders, rdp, epsilon: row.epsilon as number });
    expect(delta.delta).toBeCloseTo(row.target_delta as number, 7);
    expect(Math.abs(delta.delta - (row.target_delta as number)) / (row.target_delta as number)).toBeLessThan(1e-4);
  });

  it('tfp-conv-composition-upper-bound', () => {
    const row = conversionRow('tfp-conv-composition-upper-bound');
    const orders = row.orders as number[];
    const events = row.events as Array<{ q: number; noise_multiplier: number; steps: number }>;
    const composed = (fractionalMethod: FractionalOrderMethod): number[] =>
      events
        .map((e) => computeRdp({ q: e.q, noiseMultiplier: e.noise_multiplier, steps: e.steps, orders, fractionalMethod }))
        .reduce((acc, r) => acc.map((a, i) => a + r[i]!));
    const classic = rdpToEpsilon({ orders, rdp: composed('signed'), delta: row.target_delta as number, conversion: 'classic' });
    expect(classic.epsilon).toBeCloseTo(row.epsilon_classic as number, 5);
    expect(classic.order).toBe(row.optimal_order_classic);
    for (const method of ['signed', 'absolute'] as const) {
      const improved = rdpToEpsilon({ orders, rdp: composed(method), delta: row.target_delta as number, conversion: 'improved' });
      expect(improved.epsilon).toBeLessThanOrEqual(row.epsilon_classic as number);
    }
  });
});

describe('example_level_rows', () => {
  const [examplePrivacy, statement] = ref.example_level_rows;

  it('PLD cases are exactly the ones excluded (isPldCase)', () => {
    expect(examplePrivacy.cases.filter(isPldCase)).toHaveLength(4);
    expect(statement.cases.filter(isPldCase)).toHaveLength(2);
    expect([...examplePrivacy.cases, ...statement.cases].filter((c) => !isPldCase(c)).every((c) => c.accountant === 'RDP')).toBe(true);
  });

  for (const c of examplePrivacy.cases.filter((x) => !isPldCase(x))) {
    it(`tfp-example-privacy microbatching=${c.used_microbatching} q=${c.q}`, () => {
      const got = computeDpSgdExampleEpsilon({
        epochs: 1.2,
        noiseMultiplier: 0.7,
        delta: 1e-5,
        usedMicrobatching: c.used_microbatching,
        ...(c.q === null ? {} : { poissonSamplingProbability: c.q }),
      });
      // assertAlmostEqual(places=7); the q = 0.01 cases need dp_accounting's absolute-value series
      // (caveat 3: the exact signed series differs there by about 0.1%).
      expect(Math.abs(got - c.epsilon)).toBeLessThan(5e-8);
    });
  }

  const base = { epochs: 5, noiseMultiplier: 2, delta: 1e-6, usedMicrobatching: true } as const;
  const q = 64 / 10000;
  for (const c of statement.cases.filter((x) => !isPldCase(x))) {
    const close = (got: number, want: Num): void => {
      if (want === 'inf') expect(got).toBe(Infinity);
      else expect(Math.abs(got - want)).toBeLessThanOrEqual(0.0005); // printed with 3 decimals
    };
    if (c.max_examples_per_user === undefined) {
      it('tfp-privacy-statement example level', () => {
        close(computeDpSgdExampleEpsilon(base), c.epsilon_each_example_once_per_epoch!);
        close(computeDpSgdExampleEpsilon({ ...base, poissonSamplingProbability: q }), c.epsilon_poisson_sampling!);
      });
    } else {
      it(`tfp-privacy-statement user level, ${c.max_examples_per_user} examples per user`, () => {
        const k = c.max_examples_per_user!;
        close(computeDpSgdUserEpsilon({ ...base, maxExamplesPerUser: k, poissonSamplingProbability: q }), c.user_epsilon_poisson!);
        const oncePerEpoch = computeDpSgdUserEpsilon({ ...base, maxExamplesPerUser: k });
        expect(isUnreproducedOncePerEpochUserFigure(c)).toBe(true);
        // Never a smaller (less private) figure than the printed one; pinned to the algorithm's value.
        expect(oncePerEpoch).toBeGreaterThanOrEqual(c.user_epsilon_once_per_epoch!);
        if (k === 3) expect(oncePerEpoch).toBeCloseTo(85.94, 2);
        else expect(oncePerEpoch).toBe(Infinity);
      });
    }
  }
});

describe('calibrateNoiseMultiplier', () => {
  it('finds the smallest sigma meeting the target to 1e-3 relative', () => {
    const args = { targetEpsilon: 1, delta: 1e-5, sampleRate: 1, steps: 10 };
    const got = calibrateNoiseMultiplier(args);
    expect(got.epsilon).toBeLessThanOrEqual(1);
    const below = computeRdp({ q: 1, noiseMultiplier: got.noiseMultiplier * (1 - 1e-3), steps: 10, orders: DEFAULT_RDP_ORDERS });
    expect(rdpToEpsilon({ orders: DEFAULT_RDP_ORDERS, rdp: below, delta: 1e-5 }).epsilon).toBeGreaterThan(1);
  });

  it('inverts computeDpSgdEpsilon on tfp-cdsp-Test0', () => {
    const row = ref.dp_sgd_rows[0]!;
    const got = calibrateNoiseMultiplier({ targetEpsilon: row.epsilon, delta: row.delta, sampleRate: row.batch_size / row.n, steps: row.steps! });
    expect(got.noiseMultiplier).toBeGreaterThanOrEqual(row.noise_multiplier * (1 - 1e-9));
    expect(got.noiseMultiplier).toBeLessThanOrEqual(row.noise_multiplier * (1 + 1.001e-3));
  });

  it('refuses targets no noise can meet', () => {
    expect(() => calibrateNoiseMultiplier({ targetEpsilon: 1e-9, delta: 1e-12, sampleRate: 1, steps: 1_000_000 })).toThrow(NoiseCalibrationError);
  });
});

describe('argument checks', () => {
  it('names the wrong argument', () => {
    const base = { q: 0.5, noiseMultiplier: 1, steps: 1, orders: [2] };
    expect(() => computeRdp({ ...base, q: 1.5 })).toThrow(/^q must be in \[0, 1\]/);
    expect(() => computeRdp({ ...base, q: 'x' as unknown as number })).toThrow(TypeError);
    expect(() => computeRdp({ ...base, noiseMultiplier: -1 })).toThrow(/noiseMultiplier must be >= 0/);
    expect(() => computeRdp({ ...base, steps: 1.5 })).toThrow(/steps must be a non-negative integer/);
    expect(() => computeRdp({ ...base, orders: [] })).toThrow(/orders must not be empty/);
    expect(() => computeRdp({ ...base, orders: [0.5] })).toThrow(/orders\[0\] must be >= 1/);
    expect(() => computeRdp({ ...base, orders: [1] })).toThrow(/orders\[0\] must be > 1 when 0 < q < 1/);
    expect(() => computeRdp(null as unknown as typeof base)).toThrow(TypeError);
    expect(() => rdpToEpsilon({ orders: [2, 3], rdp: [1], delta: 1e-5 })).toThrow(/rdp must have the same length as orders/);
    expect(() => rdpToEpsilon({ orders: [2], rdp: [1], delta: 2 })).toThrow(/delta must be in \[0, 1\]/);
    expect(() => rdpToEpsilon({ orders: [2], rdp: [1], delta: 1e-5, conversion: 'x' as 'classic' })).toThrow(/conversion must be one of/);
    expect(() => computeDpSgdEpsilon({ n: 10, batchSize: 20, noiseMultiplier: 1, epochs: 1, delta: 1e-5 })).toThrow(/batchSize must be <= n/);
    expect(() => calibrateNoiseMultiplier({ targetEpsilon: 0, delta: 1e-5, sampleRate: 1, steps: 1 })).toThrow(/targetEpsilon must be > 0/);
  });
});

describe('logErfc', () => {
  it('matches known erfc values and stays finite in the far tail', () => {
    expect(Math.exp(logErfc(0))).toBeCloseTo(1, 15);
    expect(Math.exp(logErfc(0.5))).toBeCloseTo(0.4795001221869535, 15);
    expect(Math.exp(logErfc(-1))).toBeCloseTo(1.8427007929497148, 15);
    expect(Math.exp(logErfc(3)) / 2.209049699858544e-5).toBeCloseTo(1, 13);
    // erfc(30) ~ 2.5646e-393 underflows a double; its log does not.
    expect(logErfc(30)).toBeCloseTo(-900 - Math.log(30 * Math.sqrt(Math.PI)) + Math.log1p(-1 / 1800 + 3 / (4 * 900 * 900) - 15 / (8 * 900 ** 3)), 9);
  });
});

describe('sampleGaussian', () => {
  const lcg = (seed: number) => {
    let s = seed >>> 0;
    return { nextFloat: () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) };
  };
  it('has the requested standard deviation', () => {
    const xs = sampleGaussianVector(lcg(7), 2.5, 200_000);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(sd).toBeGreaterThan(2.47);
    expect(sd).toBeLessThan(2.53);
    expect(Number.isFinite(sampleGaussian(lcg(1), 1))).toBe(true);
  });
  it('rejects a source outside [0, 1)', () => {
    expect(() => sampleGaussian({ nextFloat: () => 1 }, 1)).toThrow(/rng.nextFloat\(\) must return a number in \[0, 1\)/);
    expect(() => sampleGaussian({} as { nextFloat(): number }, 1)).toThrow(/rng must have a nextFloat\(\) method/);
    expect(() => sampleGaussian(lcg(1), -1)).toThrow(/sigma must be >= 0/);
  });
});
