// compliance-checker-v1: one party's statistic vector, the analysis of the sum against the plaintext
// reference, the planted demo truth, what the shared findings never contain, and verdicts under noise.
import { describe, expect, it } from 'vitest';
import { checkRelease } from '../../release.js';
import { seededRng } from '../../rng.js';
import type { AggregationMethod, ModelOutput, Partition, PrivacyReport, Rng } from '../../types.js';
import type { SummedStatistics } from '../contract.js';
import {
  COMPLIANCE_STATISTICS,
  HIGH_RISK_COUNTRIES,
  RULE_IDS,
  SECTORS,
  checkRulesPlaintext,
  complianceSpec,
  type ComplianceFindings,
  type ExposureRecord,
  type RuleId,
  type Sector,
} from './index.js';
import { AMOUNT_UNIT, MAX_AMOUNT, SCALE } from './rules.js';
import { MAX_PARTY_STATISTIC } from './statistics.js';

type Books = { partyId: string; records: ExposureRecord[] }[];
const METHODS: AggregationMethod[] = ['federated', 'secure_aggregation', 'mpc'];

/** The sum of the parties' vectors as the kit hands it to `analyse`, with optional added noise. */
function summed(vectors: readonly number[][], options: { noise?: () => number; noiseStd?: number; method?: AggregationMethod } = {}): SummedStatistics {
  const values = COMPLIANCE_STATISTICS.map((_, i) => vectors.reduce((a, v) => a + v[i]!, 0) + (options.noise ? options.noise() : 0));
  const index = new Map(COMPLIANCE_STATISTICS.map((d, i) => [d.name, i]));
  return {
    values,
    get(name: string): number {
      const i = index.get(name);
      if (i === undefined) throw new RangeError('name: unknown statistic');
      return values[i]!;
    },
    parties: vectors.length,
    noiseStd: options.noiseStd ?? 0,
    scale: SCALE,
    method: options.method ?? 'secure_aggregation',
  };
}

const analyseBooks = (books: Books, method: AggregationMethod = 'secure_aggregation') =>
  complianceSpec.analyse(summed(books.map((b) => complianceSpec.partyStatistics(b.records)), { method }));

function gaussian(rng: Rng, std: number): () => number {
  return () => {
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

const rulesOf = (findings: Record<string, unknown>): Map<RuleId, ComplianceFindings['rules'][number]> =>
  new Map((findings as unknown as ComplianceFindings).rules.map((r) => [r.id, r]));

/** The verdicts of the plaintext reference, by rule. */
function plaintextVerdicts(books: Books): Record<RuleId, 'pass' | 'fail'> {
  const p = checkRulesPlaintext(books);
  const v = (passed: boolean): 'pass' | 'fail' => (passed ? 'pass' : 'fail');
  return {
    single_name_concentration: v(p.singleName.passed),
    sector_concentration: v(p.sector.passed),
    high_risk_jurisdictions: v(p.highRisk.passed),
    reporting_threshold: v(p.reporting.passed),
  };
}

/** Random books whose verdicts vary: concentrated or spread names, skewed sectors, some high-risk, some unreported. */
function randomBooks(seed: number): Books {
  const rng = seededRng(seed);
  const parties = 2 + Math.floor(rng.nextFloat() * 4);
  return Array.from({ length: parties }, (_, p) => {
    const n = 1 + Math.floor(rng.nextFloat() * 40);
    const names = 1 + Math.floor(rng.nextFloat() * (rng.nextFloat() < 0.5 ? 6 : 60));
    const favourite = SECTORS[Math.floor(rng.nextFloat() * SECTORS.length)]!;
    const bias = rng.nextFloat();
    const highRisk = rng.nextFloat() * 0.15;
    const unreported = rng.nextFloat() < 0.5 ? 0 : rng.nextFloat() * 0.2;
    // Heavy-tailed amounts (log-uniform over 1 … 10M, some rounding to 0 units) or even ones (100k … 1M).
    const amount = rng.nextFloat() < 0.5 ? () => Math.exp(rng.nextFloat() * Math.log(1e7)) : () => 1e5 + 9e5 * rng.nextFloat();
    const records = Array.from({ length: n }, (_, i): ExposureRecord => ({
      exposureId: `p${p}-exp-${i}`,
      counterpartyId: `name-${Math.floor(rng.nextFloat() * names)}`,
      sector: rng.nextFloat() < bias ? favourite : SECTORS[Math.floor(rng.nextFloat() * SECTORS.length)]!,
      country: rng.nextFloat() < highRisk ? HIGH_RISK_COUNTRIES[0]! : 'FR',
      amount: Math.max(0.01, Math.round(100 * amount()) / 100),
      reported: rng.nextFloat() >= unreported,
    }));
    return { partyId: `bank${p}`, records };
  });
}

const record = (over: Partial<ExposureRecord>): ExposureRecord => ({
  exposureId: 'x',
  counterpartyId: 'A',
  sector: 'other',
  country: 'DE',
  amount: 1000,
  reported: true,
  ...over,
});

describe('compliance-checker-v1 spec', () => {
  it('declares its statistics, constants and release policy', () => {
    expect(complianceSpec.id).toBe('compliance-checker-v1');
    expect(complianceSpec.useCase).toBe('compliance');
    expect(complianceSpec.schema.id).toBe('exposure_records_v1');
    expect(complianceSpec.identifierFields).toEqual(['exposureId', 'counterpartyId']);
    expect(complianceSpec.statistics).toHaveLength(18);
    const names = complianceSpec.statistics.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of complianceSpec.statistics) {
      expect(s.name).toMatch(/^[A-Za-z0-9_:*.-]{1,120}$/);
      expect(s.perRecordMax).toBe(SCALE);
    }
    // Only the sector sums form a group: an exposure is in exactly one sector.
    expect(complianceSpec.statistics.filter((s) => s.group !== undefined).map((s) => s.group)).toEqual(SECTORS.map(() => 'sector'));
    expect(complianceSpec.minGroupSize).toBe(1);
    expect(complianceSpec.constants.minGroupSize).toBe(1);
    expect(JSON.parse(JSON.stringify(complianceSpec.constants))).toEqual(complianceSpec.constants);
    expect(Object.isFrozen(complianceSpec.constants)).toBe(true);
  });
});

describe('party statistics', () => {
  it('match a hand-computed book', () => {
    const records = [
      record({ exposureId: 'r1', counterpartyId: 'A', sector: 'real_estate', country: 'DE', amount: 300_000 }),
      record({ exposureId: 'r2', counterpartyId: 'A', sector: 'real_estate', country: 'DE', amount: 100_000 }),
      record({ exposureId: 'r3', counterpartyId: 'B', sector: 'energy', country: 'IR', amount: 50_000, reported: false }),
      record({ exposureId: 'r4', counterpartyId: 'C', sector: 'retail', country: 'FR', amount: 40_400 }),
      record({ exposureId: 'r5', counterpartyId: 'D', sector: 'finance', country: 'US', amount: 9_600, reported: false }),
    ];
    // Units of 1,000: 300 + 100 + 50 + 40 (40.4) + 10 (9.6) = 500. Largest name A = 400 = 80% (band > 50%),
    // excess = 400 − floor(500 × 25%) = 275. Above 10,000: r1–r4; unreported among them: r3.
    expect(complianceSpec.partyStatistics(records)).toEqual([
      400, 50, 10, 40, 0, 0, 0, 0, // sectors, declaration order
      50, // high-risk (IR)
      5 * SCALE, 4 * SCALE, 1 * SCALE, SCALE, // exposures, above threshold, unreported, party has unreported
      0, 0, 0, SCALE, // single-name bands 0–10, 10–25, 25–50, 50–100
      275,
    ]);
    expect(complianceSpec.partyStatistics([])).toEqual(new Array(18).fill(0));
  });

  it('bound each statistic honestly: one exposure moves it by at most perRecordMax, and one sector at most', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const books = randomBooks(seed);
      const records = books[0]!.records;
      const full = complianceSpec.partyStatistics(records);
      for (let i = 0; i < records.length; i++) {
        const without = complianceSpec.partyStatistics(records.filter((_, j) => j !== i));
        const delta = full.map((v, k) => Math.abs(v - without[k]!));
        delta.forEach((d, k) => expect(d).toBeLessThanOrEqual(COMPLIANCE_STATISTICS[k]!.perRecordMax));
        expect(delta.slice(0, SECTORS.length).filter((d) => d > 0).length).toBeLessThanOrEqual(1);
      }
    }
  });

  it('are integers in [0, 2^40 − 1], at the extremes too', () => {
    const big = Array.from({ length: 50 }, (_, i) => record({ exposureId: `b${i}`, amount: MAX_AMOUNT, sector: 'public' }));
    for (const records of [big, ...complianceSpec.generateDemo().partitions.map((p) => p.records), ...randomBooks(7).map((b) => b.records)]) {
      for (const v of complianceSpec.partyStatistics(records)) {
        expect(Number.isInteger(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(MAX_PARTY_STATISTIC);
      }
    }
  });

  it('refuse records out of bounds (RangeError, naming the record and field) and wrong types (TypeError)', () => {
    expect(() => complianceSpec.partyStatistics([record({ amount: MAX_AMOUNT * 2 })])).toThrow(new RangeError('records[0].amount must be in (0, 1000000000]'));
    expect(() => complianceSpec.partyStatistics([record({}), record({ amount: 0 })])).toThrow(/^records\[1\]\.amount/);
    expect(() => complianceSpec.partyStatistics([record({ amount: Number.NaN })])).toThrow(RangeError);
    expect(() => complianceSpec.partyStatistics([record({ sector: 'crypto' as Sector })])).toThrow(new RangeError('records[0].sector is not a declared sector'));
    expect(() => complianceSpec.partyStatistics(new Array(1_000_001))).toThrow(RangeError);
    expect(() => complianceSpec.partyStatistics('x' as unknown as ExposureRecord[])).toThrow(new TypeError('records must be an array'));
    expect(() => complianceSpec.partyStatistics([record({ reported: 'no' as unknown as boolean })])).toThrow(TypeError);
  });
});

describe('analysis of the summed statistics', () => {
  it('equals the plaintext reference on the demo books, for every method', () => {
    const { partitions } = complianceSpec.generateDemo();
    const plain = checkRulesPlaintext(partitions);
    for (const method of METHODS) {
      const { findings } = analyseBooks(partitions, method);
      const f = findings as unknown as ComplianceFindings;
      expect(f.method).toBe(method);
      expect(f.participants).toBe(3);
      expect(f.exposures.count).toBe(plain.exposures);
      const r = rulesOf(findings);
      const e1 = r.get('single_name_concentration')!.evidence as Record<string, { count: number }> & { largestShareBands: { participants: { count: number } }[] };
      expect(e1.participantsInBreach.count).toBe(plain.singleName.participantsInBreach);
      expect(e1.largestShareBands.map((b) => b.participants.count)).toEqual(plain.singleName.bands);
      const e2 = r.get('sector_concentration')!.evidence as { largestSector: string; sectorSharesPercent: Record<Sector, number> };
      expect(e2.largestSector).toBe(plain.sector.largestSector);
      for (const s of SECTORS) expect(e2.sectorSharesPercent[s]).toBeCloseTo(plain.sector.sharesPercent[s]!, 2);
      expect((r.get('high_risk_jurisdictions')!.evidence as { sharePercent: number }).sharePercent).toBeCloseTo(plain.highRisk.sharePercent!, 2);
      const e4 = r.get('reporting_threshold')!.evidence as Record<string, { count: number }>;
      expect(e4.unreported.count).toBe(plain.reporting.unreported);
      expect(e4.aboveThreshold.count).toBe(plain.reporting.aboveThreshold);
      expect(e4.participantsInBreach.count).toBe(plain.reporting.participantsInBreach);
      for (const [id, verdict] of Object.entries(plaintextVerdicts(partitions))) {
        expect(r.get(id as RuleId)!.verdict).toBe(verdict);
        expect(r.get(id as RuleId)!.confidence).toBe(1);
      }
    }
  });

  it('gives the plaintext verdicts and counts on random books (property over 200 seeds)', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const books = randomBooks(seed);
      const plain = checkRulesPlaintext(books);
      const r = rulesOf(analyseBooks(books).findings);
      for (const [id, verdict] of Object.entries(plaintextVerdicts(books))) {
        expect(r.get(id as RuleId)!.verdict, `seed ${seed} rule ${id}`).toBe(verdict);
        seen.add(`${id}:${verdict}`);
      }
      const e1 = r.get('single_name_concentration')!.evidence as Record<string, { count: number }>;
      expect(e1.participantsInBreach!.count).toBe(plain.singleName.participantsInBreach);
      const e4 = r.get('reporting_threshold')!.evidence as Record<string, { count: number }>;
      expect(e4.unreported!.count).toBe(plain.reporting.unreported);
      expect(e4.participantsInBreach!.count).toBe(plain.reporting.participantsInBreach);
    }
    // The property was exercised both ways for every rule.
    for (const id of RULE_IDS) for (const v of ['pass', 'fail']) expect(seen.has(`${id}:${v}`), `${id}:${v}`).toBe(true);
  });

  it('decides a share exactly at the limit as a pass (exceeds means strictly above)', () => {
    // One party: a sector at exactly 35%, high-risk at exactly 5%, a name at exactly 25%.
    const books: Books = [
      {
        partyId: 'p',
        records: [
          record({ exposureId: '1', counterpartyId: 'A', sector: 'energy', amount: 350_000, country: 'IR' }),
          record({ exposureId: '2', counterpartyId: 'B', sector: 'finance', amount: 250_000 }),
          record({ exposureId: '3', counterpartyId: 'C', sector: 'retail', amount: 250_000 }),
          record({ exposureId: '4', counterpartyId: 'D', sector: 'public', amount: 150_000 }),
        ],
      },
    ];
    // energy 35% passes; the name A at 35% fails; high-risk (IR) at 35% fails.
    expect(plaintextVerdicts(books)).toEqual({ single_name_concentration: 'fail', sector_concentration: 'pass', high_risk_jurisdictions: 'fail', reporting_threshold: 'pass' });
    const r = rulesOf(analyseBooks(books).findings);
    expect(r.get('sector_concentration')!.verdict).toBe('pass');
    expect((r.get('sector_concentration')!.evidence as { marginPercentPoints: number }).marginPercentPoints).toBe(0);
  });

  it('refuses a sum of the wrong shape', () => {
    const ok = summed([new Array(18).fill(0), new Array(18).fill(0)]);
    expect(() => complianceSpec.analyse({ ...ok, values: [1, 2] })).toThrow(new RangeError('sum.values must hold 18 statistics'));
    expect(() => complianceSpec.analyse({ ...ok, scale: 1 })).toThrow(RangeError);
    expect(() => complianceSpec.analyse({ ...ok, noiseStd: -1 })).toThrow(RangeError);
    expect(() => complianceSpec.analyse({ ...ok, values: [...ok.values.slice(1), Number.NaN] })).toThrow(RangeError);
    expect(() => complianceSpec.analyse(null as unknown as SummedStatistics)).toThrow(TypeError);
  });

  it('copes with empty books (nothing to breach)', () => {
    const { findings, content } = complianceSpec.analyse(summed([new Array(18).fill(0), new Array(18).fill(0)]));
    const f = findings as unknown as ComplianceFindings;
    expect(f.summary.passed).toEqual([...RULE_IDS]);
    expect(content).toContain('n/a');
  });
});

describe('demo (planted truth)', () => {
  it('recovers the planted truth from the shared findings, for every method', () => {
    const demo = complianceSpec.generateDemo();
    expect(demo.partitions.map((p) => p.partyId)).toEqual(['bankA', 'bankB', 'bankC']);
    for (const method of METHODS) {
      const { findings } = analyseBooks(demo.partitions, method);
      const evaluation = complianceSpec.evaluateDemo(demo.truth, findings);
      expect(evaluation.recovered).toBe(true);
      expect(evaluation.figures).toMatchObject({
        rulesMatched: 4,
        rulesFailed: 3,
        rulesPassed: 1,
        rulesInconclusive: 0,
        singleNameVerdict: 'fail',
        singleNameParticipantsInBreach: 1,
        sectorVerdict: 'fail',
        largestSector: 'real_estate',
        highRiskVerdict: 'pass',
        reportingVerdict: 'fail',
        unreportedExposures: 3,
        reportingParticipantsInBreach: 1,
      });
      expect(evaluation.figures.largestSectorPercent as number).toBeCloseTo(42, 1);
      expect(evaluation.figures.highRiskPercent as number).toBeCloseTo(2, 1);
    }
  });

  it('plants the same truth for other seeds, sizes and party lists', () => {
    for (const [seed, recordsPerParty, parties] of [
      [2, 60, ['bankA', 'bankB']],
      [3, 400, ['a', 'b', 'c', 'd', 'e']],
      [4, 5000, undefined],
      [99, 61, ['x', 'y', 'z']],
    ] as const) {
      const demo = complianceSpec.generateDemo({ seed, recordsPerParty, parties });
      for (const p of demo.partitions) {
        expect(p.records).toHaveLength(recordsPerParty);
        expect(complianceSpec.schema.validate(p.records).ok).toBe(true);
      }
      expect(complianceSpec.evaluateDemo(demo.truth, analyseBooks(demo.partitions).findings).recovered).toBe(true);
    }
  });

  it('is deterministic in its seed', () => {
    expect(complianceSpec.generateDemo({ seed: 5 })).toEqual(complianceSpec.generateDemo({ seed: 5 }));
    expect(complianceSpec.generateDemo({ seed: 5 })).not.toEqual(complianceSpec.generateDemo({ seed: 6 }));
  });

  it('refuses bad options', () => {
    expect(() => complianceSpec.generateDemo({ parties: ['solo'] })).toThrow(new RangeError('options.parties must name 2 to 100 parties'));
    expect(() => complianceSpec.generateDemo({ parties: ['a', 'a'] })).toThrow(new RangeError('options.parties must not repeat a party'));
    expect(() => complianceSpec.generateDemo({ parties: ['a', ''] })).toThrow(TypeError);
    expect(() => complianceSpec.generateDemo({ recordsPerParty: 10 })).toThrow(RangeError);
    expect(() => complianceSpec.generateDemo({ recordsPerParty: 1.5 })).toThrow(TypeError);
    expect(() => complianceSpec.generateDemo({ seed: 0.5 })).toThrow(TypeError);
  });

  it('is not recovered when a verdict or a count differs', () => {
    const demo = complianceSpec.generateDemo();
    const { findings } = analyseBooks(demo.partitions);
    const flip = (id: RuleId, change: (r: Record<string, unknown>) => void): Record<string, unknown> => {
      const copy = JSON.parse(JSON.stringify(findings)) as { rules: Record<string, unknown>[] };
      change(copy.rules.find((r) => r.id === id)!);
      return copy;
    };
    expect(complianceSpec.evaluateDemo(demo.truth, flip('high_risk_jurisdictions', (r) => (r.verdict = 'fail'))).recovered).toBe(false);
    expect(complianceSpec.evaluateDemo(demo.truth, flip('sector_concentration', (r) => (r.verdict = 'inconclusive'))).recovered).toBe(false);
    expect(
      complianceSpec.evaluateDemo(demo.truth, flip('reporting_threshold', (r) => ((r.evidence as { unreported: { count: number } }).unreported.count = 2))).recovered,
    ).toBe(false);
    expect(complianceSpec.evaluateDemo(demo.truth, {}).recovered).toBe(false);
  });
});

describe('what the shared findings never contain', () => {
  const demo = complianceSpec.generateDemo();
  const analysis = analyseBooks(demo.partitions);
  const shared = JSON.stringify(analysis.findings) + '\n' + analysis.content;

  it('no exposureId or counterpartyId', () => {
    for (const p of demo.partitions) {
      for (const r of p.records) {
        expect(shared.includes(r.exposureId)).toBe(false);
        expect(shared.includes(r.counterpartyId)).toBe(false);
      }
      expect(shared.includes(p.partyId)).toBe(false);
    }
  });

  it("no single bank's total, in units or in the reporting currency", () => {
    const numbers: number[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'number') numbers.push(v);
      else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
    };
    walk(analysis.findings);
    const digits = analysis.content.replace(/,/g, '');
    for (const p of demo.partitions) {
      const units = checkRulesPlaintext([p]).totalUnits;
      const exact = p.records.reduce((a, r) => a + r.amount, 0);
      for (const total of [units, units * AMOUNT_UNIT, Math.round(exact)]) {
        expect(numbers).not.toContain(total);
        expect(digits.includes(String(total))).toBe(false);
      }
    }
  });

  it('passes the release policy with minGroupSize 1, private findings included', () => {
    // checkRelease knows transaction records: map each exposure's identifiers onto its identifier fields.
    const partitions: Partition[] = demo.partitions.map((p) => ({
      partyId: p.partyId,
      records: p.records.map((r) => ({
        transactionId: r.exposureId,
        accountId: r.counterpartyId,
        counterpartyAccountId: r.counterpartyId,
        counterpartyBank: 'n/a',
        amount: r.amount,
        currency: 'EUR',
        direction: 'debit' as const,
        timestamp: '2024-01-01T00:00:00Z',
        channel: 'wire' as const,
        country: r.country,
      })),
    }));
    const output: ModelOutput = {
      shared: { content: analysis.content, findings: analysis.findings },
      privateFindings: Object.fromEntries(
        demo.partitions.map((p) => [p.partyId, { flagged: [], summary: complianceSpec.privateFindings!(p.records, analysis).summary }]),
      ),
      privacy: { mechanism: 'none', parties: 3, threshold: 2, totalNodes: 3, nodesUsed: [1, 2, 3], unit: 'party_vector' } as PrivacyReport,
    };
    expect(checkRelease(output, partitions, { minGroupSize: complianceSpec.minGroupSize })).toEqual({ ok: true });
  });

  it('writes one deterministic paragraph per rule for the regulator', () => {
    expect(analyseBooks(demo.partitions).content).toBe(analysis.content);
    const lines = analysis.content.split('\n');
    expect(lines[1]).toMatch(/^1\. Single-name concentration: FAIL\. .*Participants in breach: 1 participant of 3\./);
    expect(lines[2]).toMatch(/^2\. Sector concentration: FAIL\. .*Largest sector: real_estate at 42\.\d\d%/);
    expect(lines[3]).toMatch(/^3\. High-risk jurisdictions: PASS\. .*: [12]\.\d\d% of consortium exposure \(limit 5%/);
    expect(lines[4]).toMatch(/^4\. Reporting threshold: FAIL\. .*: 3 of [\d,]+ exposures .*held by 1 participant\./);
    expect(lines[5]).toMatch(/^Result: 3 of 4 rules failed/);
  });
});

describe('private findings (federated)', () => {
  it("give each participant its own results only", () => {
    const demo = complianceSpec.generateDemo();
    const analysis = analyseBooks(demo.partitions, 'federated');
    for (const p of demo.partitions) {
      const mine = complianceSpec.privateFindings!(p.records, analysis);
      expect(mine.flagged).toEqual([]);
      const rules = mine.summary.rules as { id: RuleId; consortiumVerdict: string; own: Record<string, unknown> }[];
      const plain = checkRulesPlaintext([p]);
      const own = new Map(rules.map((r) => [r.id, r.own]));
      expect(own.get('single_name_concentration')!.passed).toBe(plain.singleName.passed);
      expect(own.get('reporting_threshold')!.unreported).toBe(plain.reporting.unreported);
      expect(rules.map((r) => r.consortiumVerdict)).toEqual(['fail', 'fail', 'pass', 'fail']);
      const text = JSON.stringify(mine);
      for (const other of demo.partitions.filter((o) => o.partyId !== p.partyId)) {
        for (const r of other.records) expect(text.includes(r.exposureId)).toBe(false);
      }
    }
    const bankB = complianceSpec.privateFindings!(demo.partitions[1]!.records, analysis);
    const reporting = (bankB.summary.rules as { id: string; own: { unreportedExposureIds: string[] } }[]).find((r) => r.id === 'reporting_threshold')!;
    expect(reporting.own.unreportedExposureIds).toHaveLength(3);
    const bankC = complianceSpec.privateFindings!(demo.partitions[2]!.records, analysis);
    const singleName = (bankC.summary.rules as { id: string; own: { passed: boolean; largestSharePercent: number } }[]).find((r) => r.id === 'single_name_concentration')!;
    expect(singleName.own.passed).toBe(false);
    expect(singleName.own.largestSharePercent).toBeCloseTo(35, 1);
  });
});

describe('verdicts under noise', () => {
  /** Two banks whose consortium sits close to every limit. */
  function nearLimits(): Books {
    const a: ExposureRecord[] = [];
    const b: ExposureRecord[] = [];
    let i = 0;
    const add = (to: ExposureRecord[], over: Partial<ExposureRecord>) => to.push(record({ exposureId: `n${i++}`, counterpartyId: `name-${i}`, ...over }));
    // Consortium ≈ 2,000,000 units (two books of 1,000,000): real_estate 35.2%, high-risk 4.9%, the rest
    // spread; names ≤ 2% of a book except bank a's largest name at 25.5%; one unreported exposure at bank b.
    for (let k = 0; k < 20; k++) add(a, { sector: 'real_estate', amount: 17_600_000 });
    for (let k = 0; k < 20; k++) add(b, { sector: 'real_estate', amount: 17_600_000 });
    for (let k = 0; k < 10; k++) add(a, { sector: 'energy', country: 'IR', amount: 9_800_000 });
    add(a, { sector: 'finance', counterpartyId: 'big', amount: 255_000_000 });
    for (let k = 0; k < 20; k++) add(a, { sector: 'retail', amount: 14_750_000 });
    for (let k = 0; k < 60; k++) add(b, { sector: ['manufacturing', 'technology', 'public'][k % 3] as Sector, amount: 10_799_700 });
    add(b, { sector: 'other', amount: 20_000, reported: false });
    return [
      { partyId: 'a', records: a },
      { partyId: 'b', records: b },
    ];
  }

  it('is near every limit as constructed', () => {
    const plain = checkRulesPlaintext(nearLimits());
    expect(plain.sector.sharesPercent.real_estate).toBeCloseTo(35.2, 1);
    expect(plain.highRisk.sharePercent).toBeCloseTo(4.9, 1);
    expect(plain.singleName.participantsInBreach).toBe(1);
    expect(plain.reporting.unreported).toBe(1);
  });

  it('says inconclusive near a limit rather than a wrong confident verdict', () => {
    const cases: [string, Books][] = [
      ['near limits', nearLimits()],
      ['demo', complianceSpec.generateDemo().partitions],
      ...[11, 12, 13].map((s): [string, Books] => [`random ${s}`, randomBooks(s)]),
    ];
    let inconclusive = 0;
    let confident = 0;
    let wrong = 0;
    for (const [label, books] of cases) {
      const vectors = books.map((b) => complianceSpec.partyStatistics(b.records));
      const truth = plaintextVerdicts(books);
      for (const std of [SCALE / 100, SCALE / 3, SCALE, 20 * SCALE]) {
        for (let trial = 0; trial < 100; trial++) {
          const noise = gaussian(seededRng(trial + 100 * cases.length + Math.round(std)), std);
          const { findings, content } = complianceSpec.analyse(summed(vectors, { noise, noiseStd: std }));
          for (const r of rulesOf(findings).values()) {
            if (r.verdict === 'inconclusive') {
              inconclusive++;
              expect(r.passed).toBeNull();
              expect(r.confidence).toBeNull();
            } else {
              confident++;
              if (r.verdict !== truth[r.id]) wrong++;
              expect(r.confidence!).toBeGreaterThanOrEqual(0.998);
            }
          }
          expect(content).toMatch(/Noise: every statistic carries noise/);
        }
      }
    }
    // A confident verdict is wrong with probability ≤ α = Φ(−3) ≈ 0.00135 per rule, and only when the truth
    // sits within a few σ of the limit: allow α × verdicts plus four binomial standard deviations.
    const verdicts = inconclusive + confident;
    const alpha = 0.00135;
    expect(wrong).toBeLessThanOrEqual(alpha * verdicts + 4 * Math.sqrt(alpha * verdicts));
    expect(inconclusive).toBeGreaterThan(verdicts / 4);
    expect(confident).toBeGreaterThan(verdicts / 10);
  });

  it('is inconclusive on the near-limit ratio rules at moderate noise, and decides them at tiny noise', () => {
    const vectors = nearLimits().map((b) => complianceSpec.partyStatistics(b.records));
    const at = (std: number) => rulesOf(complianceSpec.analyse(summed(vectors, { noise: gaussian(seededRng(3), std), noiseStd: std })).findings);
    const moderate = at(SCALE / 10);
    expect(moderate.get('sector_concentration')!.verdict).toBe('inconclusive');
    expect(moderate.get('high_risk_jurisdictions')!.verdict).toBe('inconclusive');
    // At σ = 100,000 currency units the single-name count is still resolvable (σ/SCALE = 0.1 participants).
    expect(moderate.get('single_name_concentration')!.verdict).toBe('fail');
    expect(moderate.get('reporting_threshold')!.verdict).toBe('fail');
    const tiny = at(50);
    expect(tiny.get('sector_concentration')!.verdict).toBe('fail');
    expect(tiny.get('high_risk_jurisdictions')!.verdict).toBe('pass');
    const huge = at(10 * SCALE);
    expect(huge.get('reporting_threshold')!.verdict).toBe('inconclusive');
  });

  it('recovers the demo at moderate noise and is inconclusive, never wrong, at noise of one maximal exposure', () => {
    const demo = complianceSpec.generateDemo();
    const vectors = demo.partitions.map((b) => complianceSpec.partyStatistics(b.records));
    // σ = 50,000 units (50M in the reporting currency): counts have sd 0.05, the sector margin is ~9.5 sd.
    const moderate = complianceSpec.analyse(summed(vectors, { noise: gaussian(seededRng(8), SCALE / 20), noiseStd: SCALE / 20 }));
    const evaluation = complianceSpec.evaluateDemo(demo.truth, moderate.findings);
    expect(evaluation.recovered).toBe(true);
    expect(evaluation.figures.rulesInconclusive).toBe(0);
    // σ = SCALE (one exposure of MAX_AMOUNT): the demo's ~7.5bn consortium book is smaller than the noise.
    const dp = complianceSpec.analyse(summed(vectors, { noise: gaussian(seededRng(9), SCALE), noiseStd: SCALE }));
    const truth = plaintextVerdicts(demo.partitions);
    for (const r of rulesOf(dp.findings).values()) expect(['inconclusive', truth[r.id]]).toContain(r.verdict);
    expect((dp.findings as unknown as ComplianceFindings).summary.inconclusive.length).toBeGreaterThan(0);
    expect(dp.content).toContain('INCONCLUSIVE');
    expect(complianceSpec.evaluateDemo(demo.truth, dp.findings).recovered).toBe(false);
  });
});
