// The sum program's input codec (sum.ts): integers at scale 0 in [0, 2^40], round trips exactly through the
// field and through Shamir sharing; every refusal names the argument or index (never the value) and nothing
// is clipped or rounded.
import { MPC_FIELD, reconstructVector } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MPC_SUM_STATISTIC_MAX, MPC_SUM_STATISTIC_SCALE, mpcSumCodec, mpcSumVector } from './sum.js';

const layout = { id: 'test_layout_v1', statisticCount: 5 };
const sharing = { threshold: 2, totalParties: 3 };

describe('mpcSumCodec', () => {
  it('encodes integers of [0, 2^40] at scale 0 into the mpc field and decodes them exactly', () => {
    expect(mpcSumCodec).toMatchObject({ scale: 0, min: 0, max: 2 ** 40, field: MPC_FIELD });
    expect(MPC_SUM_STATISTIC_SCALE).toBe(0);
    expect(MPC_SUM_STATISTIC_MAX).toBe(2 ** 40);
    const values = [0, 1, 2 ** 40 - 1, 2 ** 40, 123_456_789];
    expect([...mpcSumCodec.decode(mpcSumCodec.encode(values))]).toEqual(values);
  });

  it('refuses values outside the range, naming the index', () => {
    expect(() => mpcSumCodec.encode([0, -1])).toThrow(new RangeError('values[1] is outside the declared range [0, 1099511627776]'));
    expect(() => mpcSumCodec.encode([2 ** 40 + 1])).toThrow(new RangeError('values[0] is outside the declared range [0, 1099511627776]'));
    expect(() => mpcSumCodec.encode([Number.NaN])).toThrow(new RangeError('values[0] is not a finite number'));
  });
});

describe('mpcSumVector', () => {
  it('shares the vector so that any t shares reconstruct it exactly', () => {
    const values = [0, 7, 2 ** 40, 2 ** 40 - 1, 31];
    const shares = mpcSumVector(layout, values, sharing);
    expect(shares.map((s) => s.x)).toEqual([1, 2, 3]);
    for (const pair of [[0, 1], [1, 2], [0, 2]]) {
      const vector = reconstructVector(pair.map((i) => shares[i]!), 2);
      expect([...mpcSumCodec.decode(vector)]).toEqual(values);
    }
    expect(values).toEqual([0, 7, 2 ** 40, 2 ** 40 - 1, 31]); // the caller's array is not touched
  });

  it('refuses, never clips or rounds: wrong length, non-integers, out-of-range values', () => {
    expect(() => mpcSumVector(layout, [1, 2, 3], sharing)).toThrow(new RangeError('values must hold 5 statistics (layout test_layout_v1), got 3'));
    expect(() => mpcSumVector(layout, [0, 0, 1.5, 0, 0], sharing)).toThrow(new RangeError('values[2] is not an integer'));
    expect(() => mpcSumVector(layout, [0, 0, 0, Number.NaN, 0], sharing)).toThrow(new RangeError('values[3] is not an integer'));
    expect(() => mpcSumVector(layout, [0, -3, 0, 0, 0], sharing)).toThrow(new RangeError('values[1] is outside the declared range [0, 2^40]'));
    expect(() => mpcSumVector(layout, [0, 0, 0, 0, 2 ** 40 + 1], sharing)).toThrow(new RangeError('values[4] is outside the declared range [0, 2^40]'));
  });

  it('refuses wrong types, naming the argument', () => {
    expect(() => mpcSumVector(null as never, [], sharing)).toThrow(new TypeError('layout must be an aggregate layout'));
    expect(() => mpcSumVector({ id: 'x', statisticCount: 0 }, [], sharing)).toThrow(new TypeError('layout.statisticCount must be a positive integer'));
    expect(() => mpcSumVector(layout, 'abc' as never, sharing)).toThrow(new TypeError('values must be an array of integers'));
    expect(() => mpcSumVector(layout, [0, '1', 0, 0, 0] as never, sharing)).toThrow(new TypeError('values[1] must be a number'));
    expect(() => mpcSumVector(layout, [0, 0, 0, 0, 0], null as never)).toThrow(new TypeError('sharing must be an object'));
    expect(() => mpcSumVector(layout, [0, 0, 0, 0, 0], { threshold: 1, totalParties: 3 })).toThrow(RangeError);
  });
});
