// The coarsened supply curve (supply-curve.ts): groups of consecutive bands of at least MIN_GROUP_SIZE
// lines, a short dearest group joined to the one before, empty bands skipped, and argument checks.
import { describe, expect, it } from 'vitest';
import { COST_BANDS, MIN_GROUP_SIZE } from './catalogue.js';
import { coarsenSupplyCurve, type BandSupply } from './supply-curve.js';

/** Bands from their line counts: each line 10 units at the band's middle cost. */
const bands = (lines: readonly number[]): BandSupply[] =>
  lines.map((n, b) => {
    const mid = (b + 0.5) / COST_BANDS;
    return { lines: n, capacity: 10 * n, cost: 10 * n * mid, costSquared: 10 * n * mid * mid };
  });
const spans = (lines: readonly number[]): [number, number, number][] => coarsenSupplyCurve(bands(lines)).map((g) => [g.first, g.last, g.lines]);

describe('coarsenSupplyCurve', () => {
  it('keeps a band of at least three lines as a group of its own', () => {
    expect(MIN_GROUP_SIZE).toBe(3);
    expect(spans([0, 0, 3, 0, 0, 0, 4, 0, 0, 0])).toEqual([[2, 2, 3], [6, 6, 4]]);
  });

  it('merges bands of fewer lines with the dearer bands after them, skipping empty bands', () => {
    expect(spans([0, 0, 2, 0, 0, 1, 0, 3, 0, 0])).toEqual([[2, 5, 3], [7, 7, 3]]);
    expect(spans([1, 1, 1, 1, 1, 1, 0, 0, 0, 0])).toEqual([[0, 2, 3], [3, 5, 3]]);
  });

  it('joins a dearest group short of three lines to the group before it', () => {
    expect(spans([0, 3, 0, 0, 0, 0, 0, 0, 1, 1])).toEqual([[1, 9, 5]]);
    expect(spans([0, 0, 0, 0, 2, 1, 0, 0, 0, 1])).toEqual([[4, 9, 4]]);
  });

  it('sums the bands of a group', () => {
    const [g] = coarsenSupplyCurve(bands([0, 0, 2, 0, 1, 0, 0, 0, 0, 0]));
    expect(g).toMatchObject({ first: 2, last: 4, lines: 3, capacity: 30 });
    expect(g!.cost).toBeCloseTo(20 * 0.25 + 10 * 0.45, 12);
    expect(g!.costSquared).toBeCloseTo(20 * 0.0625 + 10 * 0.2025, 12);
  });

  it('leaves fewer than three lines in one group (a suppressed SKU) and no capacity in none', () => {
    expect(spans([0, 1, 0, 0, 0, 0, 0, 1, 0, 0])).toEqual([[1, 7, 2]]);
    expect(spans(new Array(COST_BANDS).fill(0))).toEqual([]);
  });

  it('groups by capacity: a band without capacity (noise) is skipped, a negative line count counts 0', () => {
    const b = bands([3, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    b[4] = { lines: 2, capacity: 0, cost: 0, costSquared: 0 };
    b[5] = { lines: -1, capacity: 5, cost: 2.75, costSquared: 1.5 };
    expect(coarsenSupplyCurve(b).map((g) => [g.first, g.last, g.lines])).toEqual([[0, 0, 3], [5, 9, 3]]);
  });

  it('checks its argument, naming the wrong entry', () => {
    expect(() => coarsenSupplyCurve('x' as never)).toThrow(new TypeError('bands must be an array'));
    expect(() => coarsenSupplyCurve(bands([3]))).toThrow(new RangeError('bands must hold 10 entries, one per cost band'));
    const b: unknown[] = bands(new Array(COST_BANDS).fill(1));
    b[3] = null;
    expect(() => coarsenSupplyCurve(b as never)).toThrow(new TypeError('bands[3] must be an object'));
    b[3] = { lines: 1, capacity: Number.NaN, cost: 0, costSquared: 0 };
    expect(() => coarsenSupplyCurve(b as never)).toThrow(new TypeError('bands[3].capacity must be a finite number'));
  });
});
