// Scale: 3 banks x 100,000 records analysed well within a minute, in memory linear in the input.
import { describe, expect, it } from 'vitest';
import { checkRelease, demoPartitions, generateDemoData, getModel, seededRng } from './index.js';

describe('3 x 100,000 records', () => {
  it('runs the joint analysis in well under a minute', async () => {
    const data = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 100_000, seed: 77 });
    const partitions = demoPartitions(data);
    const started = performance.now();
    const out = await getModel('risk-analyzer-v2')!.run({
      method: 'federated',
      partitions,
      federated: { localEpochs: 2, aggregationRounds: 10, differentialPrivacy: { enabled: true, epsilon: 1, delta: 1e-5 } },
      prompt: 'scale check',
      parameters: {},
      rng: seededRng(1),
    });
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeLessThan(40);
    expect((out.shared.findings as { recordsAnalysed: number }).recordsAnalysed).toBe(300_000);
    expect(checkRelease(out, partitions)).toEqual({ ok: true });
  }, 180_000);
});
