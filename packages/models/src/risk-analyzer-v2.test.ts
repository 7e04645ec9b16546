// risk-analyzer-v2: registry entry, detection on the demo data (siloed vs joint), detection on a
// hand-built fixture written independently of the demo generator, determinism, input errors.
import { hashCommitment } from '@tenzro/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ModelRunError,
  checkRelease,
  demoPartitions,
  evaluateDetection,
  flaggedTransactionIds,
  generateDemoData,
  getModel,
  listModels,
  seededRng,
  type DemoData,
  type ModelOutput,
  type FederatedPrivacyReport,
  type FederatedRunInput,
  type Partition,
  type TransactionRecord,
} from './index.js';

const model = getModel('risk-analyzer-v2')!;
const BANKS = ['bankA', 'bankB', 'bankC'];
const FEDERATED = { localEpochs: 2, aggregationRounds: 5, differentialPrivacy: { enabled: true, epsilon: 1, delta: 1e-5 } };

function input(partitions: Partition[], seed = 1, over: Partial<FederatedRunInput> = {}): FederatedRunInput {
  return { method: 'federated', partitions, federated: FEDERATED, prompt: 'Look for mule networks', parameters: { maxTokens: 400 }, rng: seededRng(seed), ...over };
}

describe('registry entry', () => {
  it('is listed with its schema, method and digest', async () => {
    expect(listModels().filter((m) => m.useCase === undefined).map((m) => m.id)).toEqual(['risk-analyzer-v2']);
    expect(model.dataSchemas).toEqual(['transaction_records_v1']);
    expect(model.methods).toEqual(['federated', 'secure_aggregation']);
    expect(model.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(model.digest).toBe(await hashCommitment(model.spec));
    expect(Object.keys(model.spec).sort()).toEqual(['hyperparameters', 'id', 'methods', 'schemas', 'version']);
    expect(getModel('gpt-5')).toBeUndefined();
  });
});

describe('demo data, 3 banks x 5,000 records', () => {
  let data: DemoData;
  let joint: ModelOutput;
  let siloed: ModelOutput[];
  beforeAll(async () => {
    data = generateDemoData({ banks: BANKS, recordsPerBank: 5000, seed: 20240601 });
    joint = await model.run(input(demoPartitions(data)));
    siloed = [];
    for (const bank of BANKS) siloed.push(await model.run(input(demoPartitions(data, [bank]))));
  });

  it('generates exactly the requested partitions, with planted truth', () => {
    expect(Object.keys(data.partitions)).toEqual(BANKS);
    for (const bank of BANKS) expect(data.partitions[bank]).toHaveLength(5000);
    expect(data.truth.muleChains.length).toBeGreaterThanOrEqual(3);
    expect(data.truth.structuring.length).toBeGreaterThanOrEqual(3);
    expect(data.truth.dormant.length).toBeGreaterThanOrEqual(3);
    expect(data.truth.muleChains.every((c) => c.banks.length >= 2)).toBe(true);
  });

  it('finds the planted patterns jointly (recall >= 0.9, precision >= 0.8)', () => {
    const report = evaluateDetection({ joint, siloed }, data.truth);
    expect(report.joint.recall).toBeGreaterThanOrEqual(0.9);
    expect(report.joint.precision).toBeGreaterThanOrEqual(0.8);
    for (const p of Object.values(report.byPattern)) expect(p.jointRecall).toBeGreaterThanOrEqual(0.8);
  });

  it('misses the mule chains when each bank runs alone', () => {
    const report = evaluateDetection({ joint, siloed }, data.truth);
    expect(report.byPattern.muleChains.jointRecall).toBeGreaterThanOrEqual(0.9);
    expect(report.byPattern.muleChains.siloedRecall).toBeLessThan(0.3);
    expect(report.joint.recall).toBeGreaterThan(report.siloed.recall + 0.3);
    // Same-account patterns need no linking: the siloed runs see them too.
    expect(report.byPattern.structuring.siloedRecall).toBe(report.byPattern.structuring.jointRecall);
  });

  it('reports aggregates only, and how many findings needed the other parties', () => {
    const f = joint.shared.findings as any;
    expect(f.participants).toBe(3);
    expect(f.recordsAnalysed).toBe(15000);
    expect(f.crossParty.findingsNeedingOtherParties.count).toBeGreaterThanOrEqual(data.truth.muleChains.length * 0.8);
    expect(f.patterns.muleChains.count).toBeGreaterThanOrEqual(3);
    expect(joint.shared.content).toContain('Analysis focus: Look for mule networks');
    expect(joint.shared.content).toMatch(/Findings that needed other institutions' data: \d+/);
    expect(checkRelease(joint, demoPartitions(data))).toEqual({ ok: true });
    for (const [i, bank] of BANKS.entries()) expect(checkRelease(siloed[i]!, demoPartitions(data, [bank]))).toEqual({ ok: true });
  });

  it('gives each party only its own flags, each with a score in [0, 1] and reasons', () => {
    for (const bank of BANKS) {
      const own = new Set(data.partitions[bank]!.map((r) => r.transactionId));
      const mine = joint.privateFindings[bank]!;
      expect(mine.flagged.length).toBeGreaterThan(0);
      for (const f of mine.flagged) {
        expect(own.has(f.transactionId)).toBe(true);
        expect(f.score).toBeGreaterThanOrEqual(0.5);
        expect(f.score).toBeLessThanOrEqual(1);
        expect(f.reasons.length).toBeGreaterThan(0);
      }
    }
  });

  it('is deterministic for a seeded rng', async () => {
    const again = await model.run(input(demoPartitions(data)));
    expect(again).toEqual(joint);
  });

  it('bounds the narrative by maxTokens (words)', async () => {
    const short = await model.run(input(demoPartitions(data), 1, { parameters: { maxTokens: 25, temperature: 0.7 } }));
    expect(short.shared.content.split(/\s+/).length).toBeLessThanOrEqual(26);
    expect(short.shared.content.endsWith('…')).toBe(true);
    expect((short.shared.findings as any).generation).toMatchObject({ maxTokens: 25, temperature: 0.7 });
  });

  it('redacts identifiers that a prompt carries', async () => {
    const account = data.partitions.bankA![0]!.accountId;
    const out = await model.run(input(demoPartitions(data), 1, { prompt: `Explain why ${account} moved money` }));
    expect(out.shared.content).toContain('Analysis focus: Explain why [redacted] moved money');
    expect(checkRelease(out, demoPartitions(data))).toEqual({ ok: true });
  });
});

// ---- A fixture written by hand, independent of generateDemoData ----

const T0 = Date.UTC(2024, 0, 1);
const H = 3_600_000;
const D = 24 * H;

class Fixture {
  readonly parts: Record<string, TransactionRecord[]> = { bankA: [], bankB: [], bankC: [] };
  private n = 0;
  readonly ids: Record<string, string[]> = { chain: [], structuring: [], dormant: [], benignLarge: [], benignNearThreshold: [], forwarded: [] };

  rec(bank: string, accountId: string, cp: string, cpBank: string, amount: number, direction: 'debit' | 'credit', t: number, channel: TransactionRecord['channel'], country: string, tag?: string): string {
    const transactionId = `${bank}-${String(++this.n).padStart(6, '0')}`;
    this.parts[bank]!.push({ transactionId, accountId, counterpartyAccountId: cp, counterpartyBank: cpBank, amount, currency: 'EUR', direction, timestamp: new Date(t).toISOString(), channel, country });
    if (tag) this.ids[tag]!.push(transactionId);
    return transactionId;
  }

  /** Both sides of a transfer between accounts at participating banks. */
  transfer(fromBank: string, from: string, toBank: string, to: string, amount: number, t: number, tag?: string): void {
    const ch = fromBank === toBank ? 'internal' : 'wire';
    this.rec(fromBank, from, to, toBank, amount, 'debit', t, ch, country(fromBank), tag);
    this.rec(toBank, to, from, fromBank, amount, 'credit', t + 4 * 60_000, ch, country(toBank), tag);
  }

  partitions(only?: string[]): Partition[] {
    return (only ?? BANKS).map((partyId) => ({ partyId, records: this.parts[partyId]! }));
  }
}

const country = (bank: string): string => ({ bankA: 'DE', bankB: 'FR', bankC: 'NL' })[bank]!;
const acct = (bank: string, i: number): string => `${country(bank)}00${bank.toUpperCase()}${String(i).padStart(8, '0')}`;

function buildFixture(): Fixture {
  const fx = new Fixture();
  // Ordinary customers: monthly salary, rent, weekly card spend, an ATM visit now and then.
  for (const bank of BANKS) {
    for (let i = 1; i <= 12; i++) {
      const me = acct(bank, i);
      for (let m = 0; m < 12; m++) {
        const month = Date.UTC(2024, m, 1);
        fx.rec(bank, me, `EMPLOYER-${i % 4}`, 'EXTBANK', 2500 + 100 * i, 'credit', month + 25 * D + 9 * H, 'ach', country(bank));
        fx.rec(bank, me, `LANDLORD-${i}`, 'EXTBANK', 900 + 10 * i, 'debit', month + 2 * D + 10 * H, 'ach', country(bank));
        for (let w = 0; w < 4; w++) fx.rec(bank, me, `SHOP-${(i + w) % 9}`, 'CARDNET', 12 + ((i * 7 + w * 13 + m) % 80), 'debit', month + (w * 7 + 1) * D + 15 * H, 'card', country(bank));
        if (m % 2 === 0) fx.rec(bank, me, `ATM-${bank}-${i % 3}`, 'CASH', 60 + 20 * (i % 5), 'debit', month + 12 * D + 18 * H, 'cash', country(bank));
      }
    }
  }
  // Benign transfers between customers of different banks.
  for (let k = 0; k < 30; k++) {
    const from = BANKS[k % 3]!;
    const to = BANKS[(k + 1) % 3]!;
    fx.transfer(from, acct(from, 1 + (k % 12)), to, acct(to, 1 + ((k * 5) % 12)), 40 + 37 * k, T0 + (10 + 11 * k) * D + 13 * H);
  }
  // A benign forward: a reimbursement passed on once (one pass-through, not a chain).
  fx.transfer('bankA', acct('bankA', 3), 'bankB', acct('bankB', 4), 600, T0 + 40 * D, 'forwarded');
  fx.transfer('bankB', acct('bankB', 4), 'bankC', acct('bankC', 5), 560, T0 + 41 * D, 'forwarded');
  // Benign: a car bought by an active customer; a one-off tuition fee just under 10,000.
  fx.rec('bankA', acct('bankA', 6), 'CAR-DEALER', 'EXTBANK', 35_000, 'debit', T0 + 150 * D, 'wire', 'DE', 'benignLarge');
  fx.rec('bankC', acct('bankC', 7), 'UNIVERSITY', 'EXTBANK', 9_400, 'debit', T0 + 200 * D, 'wire', 'NL', 'benignNearThreshold');

  // Mule chain: victim -> A9 (bankA) -> B10 (bankB) -> C11 (bankC) -> cash, within a day.
  // Each bank alone sees one customer receive a transfer and send most of it on: harmless-looking.
  const t = T0 + 120 * D + 8 * H;
  fx.rec('bankA', acct('bankA', 9), 'VICTIM-ACCOUNT-77', 'EXTBANK', 12_000, 'credit', t, 'wire', 'DE', 'chain');
  fx.transfer('bankA', acct('bankA', 9), 'bankB', acct('bankB', 10), 11_500, t + 3 * H, 'chain');
  fx.transfer('bankB', acct('bankB', 10), 'bankC', acct('bankC', 11), 11_000, t + 9 * H, 'chain');
  fx.rec('bankC', acct('bankC', 11), 'ATM-bankC-1', 'CASH', 10_600, 'debit', t + 15 * H, 'cash', 'NL', 'chain');

  // Structuring: four cash deposits just under 10,000 within five days at bankB.
  [9_500, 9_800, 9_650, 9_900].forEach((amount, i) =>
    fx.rec('bankB', acct('bankB', 2), 'CASH-DESK', 'CASH', amount, 'credit', T0 + 220 * D + i * 30 * H, 'cash', 'FR', 'structuring'),
  );

  // Dormant: used a little in January, silent until late September, then 50,000 in and 48,000 out.
  const sleeper = acct('bankC', 99);
  fx.rec('bankC', sleeper, 'SHOP-1', 'CARDNET', 25, 'debit', T0 + 5 * D, 'card', 'NL');
  fx.rec('bankC', sleeper, 'SHOP-2', 'CARDNET', 40, 'debit', T0 + 12 * D, 'card', 'NL');
  fx.rec('bankC', sleeper, 'FRIEND-1', 'EXTBANK', 150, 'credit', T0 + 20 * D, 'ach', 'NL');
  fx.rec('bankC', sleeper, 'OFFSHORE-SENDER', 'EXTBANK-KY', 50_000, 'credit', T0 + 265 * D, 'wire', 'NL', 'dormant');
  fx.rec('bankC', sleeper, 'OFFSHORE-RECEIVER', 'EXTBANK-HK', 48_000, 'debit', T0 + 266 * D, 'wire', 'NL', 'dormant');
  return fx;
}

describe('hand-built fixture (independent of the demo generator)', () => {
  const fx = buildFixture();
  let joint: ModelOutput<FederatedPrivacyReport>;
  let jointFlags: Set<string>;
  beforeAll(async () => {
    joint = (await model.run(input(fx.partitions()))) as ModelOutput<FederatedPrivacyReport>;
    jointFlags = flaggedTransactionIds(joint);
  });

  it('finds the chain, the structuring and the dormant account jointly', () => {
    for (const tag of ['chain', 'structuring', 'dormant']) {
      for (const id of fx.ids[tag]!) expect(jointFlags.has(id), `${tag} ${id}`).toBe(true);
    }
    const chainFlag = joint.privateFindings.bankB!.flagged.find((f) => f.transactionId === fx.ids.chain![2])!;
    expect(chainFlag, JSON.stringify(joint.privateFindings.bankB)).toBeDefined();
    expect(chainFlag.reasons.join(' ')).toMatch(/chain of 3 fast, amount-preserving pass-through hop\(s\) over 3 accounts at 3 participating institution/);
    expect(chainFlag.reasons).toContain('only visible by linking this transaction with records held by other participating institutions');
  });

  it('flags nothing else: benign large, near-threshold and forwarded payments stay clean', () => {
    const planted = new Set([...fx.ids.chain!, ...fx.ids.structuring!, ...fx.ids.dormant!]);
    expect([...jointFlags].filter((id) => !planted.has(id))).toEqual([]);
    for (const tag of ['benignLarge', 'benignNearThreshold', 'forwarded']) for (const id of fx.ids[tag]!) expect(jointFlags.has(id)).toBe(false);
  });

  it('needs the other banks for the chain but not for the rest', async () => {
    const siloedFlags = new Set<string>();
    for (const bank of BANKS) for (const id of flaggedTransactionIds(await model.run(input(fx.partitions([bank]))))) siloedFlags.add(id);
    expect(fx.ids.chain!.filter((id) => siloedFlags.has(id))).toEqual([]);
    for (const id of [...fx.ids.structuring!, ...fx.ids.dormant!]) expect(siloedFlags.has(id)).toBe(true);
    const f = joint.shared.findings as any;
    // 3 findings (one of each pattern) is exactly the minimum group size: released, not suppressed.
    expect(f.patterns.muleChains).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.crossParty.findingsNeedingOtherParties).toEqual({ count: null, suppressed: true, stats: null });
    expect(f.flaggedTransactions.count).toBe(fx.ids.chain!.length + fx.ids.structuring!.length + fx.ids.dormant!.length);
  });

  it('says when no labels exist and relies on the detectors', () => {
    expect(joint.privacy.mechanism).toBe('none');
    expect(joint.privacy.epsilon).toBeNull();
    expect((joint.shared.findings as any).globalModel).toMatchObject({ trained: false, notTrainedBecause: 'no labelled records' });
    expect(joint.shared.content).toContain('Global model: not trained (no labelled records)');
    expect(checkRelease(joint, fx.partitions())).toEqual({ ok: true });
  });
});

describe('input errors', () => {
  const fx = buildFixture();
  it('supports only the federated method', async () => {
    const err = await model.run({ ...input(fx.partitions()), method: 'mpc' as 'federated' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRunError);
    expect(err).toMatchObject({ code: 'unsupported_method' });
  });

  it('rejects invalid records naming partition, index and field, not the value', async () => {
    const parts = fx.partitions();
    const bad = { ...parts[1]!, records: [...parts[1]!.records] };
    bad.records[3] = { ...bad.records[3]!, currency: 'euro-SECRET' };
    const err = await model.run(input([parts[0]!, bad])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRunError);
    expect((err as ModelRunError).code).toBe('invalid_input');
    expect((err as Error).message).toBe('partitions[1] record 3 field currency: must be an ISO 4217 code of three uppercase letters');
  });

  it('checks the federated configuration and parameters', async () => {
    const base = input(fx.partitions());
    await expect(model.run({ ...base, federated: { ...FEDERATED, localEpochs: 0 } })).rejects.toThrow(/federated.localEpochs/);
    await expect(model.run({ ...base, federated: { ...FEDERATED, differentialPrivacy: { enabled: true, epsilon: 0, delta: 1e-5 } } })).rejects.toThrow(/epsilon must be > 0/);
    await expect(model.run({ ...base, parameters: { maxTokens: 0 } })).rejects.toThrow(/maxTokens/);
    await expect(model.run({ ...base, rng: {} as never })).rejects.toThrow(/rng must have a nextFloat/);
    await expect(model.run({ ...base, partitions: [] })).rejects.toThrow(/partitions must be a non-empty array/);
    await expect(model.run({ ...base, partitions: [base.partitions[0]!, base.partitions[0]!] })).rejects.toThrow(/duplicates an earlier partition/);
  });
});

describe('evaluateDetection inputs', () => {
  it('accepts outputs, id lists and flag objects alike', () => {
    const truth = { muleChains: [{ transactionIds: ['a', 'b'], banks: ['bankA', 'bankB'] }], structuring: [['c']], dormant: [], fraudTransactionIds: ['a', 'b', 'c'] };
    const flags = [{ transactionId: 'a', score: 0.9, reasons: [] }, { transactionId: 'x', score: 0.6, reasons: [] }];
    const report = evaluateDetection({ joint: flags, siloed: ['c'] }, truth);
    expect(report.joint).toEqual({ recall: 1 / 3, precision: 0.5, flagged: 2, truePositives: 1 });
    expect(report.siloed).toEqual({ recall: 1 / 3, precision: 1, flagged: 1, truePositives: 1 });
    expect(report.byPattern.muleChains).toMatchObject({ jointRecall: 0.5, siloedRecall: 0, jointInstancesFound: 1 });
    expect(() => evaluateDetection({ joint: 5 as never, siloed: [] }, truth)).toThrow(TypeError);
  });
});
