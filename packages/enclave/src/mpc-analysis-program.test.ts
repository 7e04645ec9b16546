// The models side of `mpc` (analyzeMpcOutputs, MPC_OUTPUT_NAMES, MPC_RISK_SCORE_WEIGHTS) pinned to the
// protocol's program (RISK_ANALYZER_MPC_PROGRAM, RISK_SCORE_WEIGHTS), and the analysis of a real in-memory
// program run (runMpcProgramInMemory, n = 5, t = 3, one node down) on 3 demo banks within the stated bound.
import { describe, expect, it } from 'vitest';
import { MPC_OUTPUT_NAMES, MPC_RISK_SCORE_WEIGHTS, MPC_STATISTIC_NAMES, aggregateLayoutOf, analyzeMpcOutputs, generateDemoData, mpcStatisticValues, mpcStatisticVector } from '@tenzro/models';
import { MPC_PROGRAM_SCALE, RISK_ANALYZER_MPC_PROGRAM, RISK_SCORE_WEIGHTS, riskAnalyzerOutputErrorBound, runMpcProgramInMemory } from '@tenzro/protocol';

describe('analyzeMpcOutputs on the program risk-analyzer-v2.mpc.v1', () => {
  it('models names the same outputs, inputs and score weights as the program', () => {
    expect([...MPC_OUTPUT_NAMES]).toEqual([...RISK_ANALYZER_MPC_PROGRAM.outputs]);
    expect([...MPC_STATISTIC_NAMES]).toEqual([...RISK_ANALYZER_MPC_PROGRAM.inputNames]);
    expect(MPC_RISK_SCORE_WEIGHTS.map((w) => [...w])).toEqual(RISK_SCORE_WEIGHTS.map((w) => [...w]));
    expect(MPC_PROGRAM_SCALE).toBe(8);
  });

  it('3 demo banks, in-memory nodes (n = 5, t = 3, node 2 down): pooled statistics within the bound', () => {
    const data = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 200, seed: 9 });
    const banks = Object.values(data.partitions);
    const run = runMpcProgramInMemory({ threshold: 3, totalParties: 5, inputs: banks.map((r) => mpcStatisticVector(r, { threshold: 3, totalParties: 5 })), down: [2] });
    const bound = riskAnalyzerOutputErrorBound(3);
    const out = analyzeMpcOutputs(run.outputs, { parties: 3, threshold: 3, totalNodes: 5, nodesUsed: [1, 3, 4, 5], errorBound: bound });
    const findings = out.shared.findings as any;
    const summed = banks.map((r) => mpcStatisticValues(r)).reduce((s, v) => s.map((x, i) => x + v[i]!));
    const at = (name: string) => summed[MPC_STATISTIC_NAMES.indexOf(name)]!;
    const F = aggregateLayoutOf('risk-analyzer-v2')!.features;
    const n = at('count:records');
    expect(findings.records.count).toBe(n);
    F.forEach((f, j) => {
      const S = at(`${f.binary ? 'count' : 'sum'}:${f.name}`);
      const Q = f.binary ? S : at(`sum_squares:${f.name}`);
      expect(Math.abs(findings.featureStatistics.stats.features[j].variance - (Q / n - (S / n) ** 2))).toBeLessThanOrEqual(findings.fixedPoint.varianceErrorBound + 1e-6);
    });
    // every revealed numerator is within the bound of the exact one
    for (const [name, value] of run.outputs) {
      if (!name.startsWith('variance_numerator:')) continue;
      const f = F.find((x) => `variance_numerator:${x.name}` === name)!;
      const S = at(`${f.binary ? 'count' : 'sum'}:${f.name}`);
      const Q = f.binary ? S : at(`sum_squares:${f.name}`);
      expect(Math.abs(value.value - (n * Q - S * S))).toBeLessThanOrEqual(bound / 256 + 1e-9);
    }
    expect(findings.computeNodes.used).toEqual([1, 3, 4, 5]);
  });
});
