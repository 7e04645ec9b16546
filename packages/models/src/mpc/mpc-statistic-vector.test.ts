// risk-analyzer-v2 under `mpc`, client side: the statistic vector is the layout's statistics / 256,
// encoded exactly at scale 8 and Shamir-shared (Shamir 1979) so that any threshold shares reconstruct it.
import { reconstructVector } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { RISK_ANALYZER_LAYOUT } from '../aggregates/layout.js';
import { computeStatistics } from '../aggregates/statistics.js';
import { generateDemoData } from '../demo.js';
import { MPC_STATISTIC_CODEC, MPC_STATISTIC_NAMES, mpcStatisticValues, mpcStatisticVector } from './statistics.js';

describe('mpcStatisticVector (risk-analyzer-v2 under mpc, client side)', () => {
  const data = generateDemoData({ banks: ['bankA', 'bankB'], recordsPerBank: 300, seed: 11 });
  const records = data.partitions['bankA']!;

  it('names only layout statistics, each once, starting with the record count', () => {
    const names = new Set(RISK_ANALYZER_LAYOUT.entries.map((e) => e.name));
    expect(MPC_STATISTIC_NAMES[0]).toBe('count:records');
    expect(new Set(MPC_STATISTIC_NAMES).size).toBe(MPC_STATISTIC_NAMES.length);
    for (const n of MPC_STATISTIC_NAMES) expect(names.has(n)).toBe(true);
  });

  it('takes the values from the layout statistics (divided by the layout scale)', () => {
    const all = computeStatistics(RISK_ANALYZER_LAYOUT, records);
    const values = mpcStatisticValues(records);
    MPC_STATISTIC_NAMES.forEach((name, i) => {
      const e = RISK_ANALYZER_LAYOUT.entries.findIndex((x) => x.name === name);
      expect(values[i]).toBe(all[e]! / RISK_ANALYZER_LAYOUT.scale);
    });
    expect(values[0]).toBe(records.length);
  });

  it('shares the exact encoding: any threshold of the totalParties shares reconstruct it', () => {
    const shares = mpcStatisticVector(records, { threshold: 3, totalParties: 5 });
    expect(shares.map((s) => s.x)).toEqual([1, 2, 3, 4, 5]);
    const decoded = MPC_STATISTIC_CODEC.decode(reconstructVector([shares[4]!, shares[1]!, shares[2]!], 3));
    expect(Array.from(decoded)).toEqual(mpcStatisticValues(records));
  });

  it('refuses a bad sharing configuration', () => {
    expect(() => mpcStatisticVector(records, { threshold: 1, totalParties: 3 })).toThrow(RangeError);
    expect(() => mpcStatisticVector(records, null as never)).toThrow(TypeError);
  });
});
