// Synthetic demo data for transaction_records_v1 and a detection scorer. For demos and tests only:
// driven by seededRng, it plants mule chains, structuring and dormant-account episodes among benign
// traffic (salaries, rent, bills, card spend, cash, person-to-person and own-account transfers between
// the banks, reimbursements forwarded on, large legitimate transfers, one-off amounts just below
// 10,000, low-activity accounts with long quiet spells).
import { nextInt, seededRng } from './rng.js';
import type { Channel, ModelOutput, Partition, Rng, TransactionRecord } from './types.js';

export interface DemoOptions {
  /** Tenant ids of the participating banks, e.g. ['bankA', 'bankB', 'bankC']. */
  banks: string[];
  recordsPerBank: number;
  seed: number;
  /** Share of records carrying a label (default 0.5). */
  labelFraction?: number;
}

export interface DemoTruth {
  muleChains: Array<{ transactionIds: string[]; banks: string[] }>;
  structuring: string[][];
  dormant: string[][];
  fraudTransactionIds: string[];
}

export interface DemoData {
  partitions: Record<string, TransactionRecord[]>;
  truth: DemoTruth;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2024, 0, 1);
const SPAN_DAYS = 365;
const HOME_COUNTRIES = ['DE', 'FR', 'NL', 'BE', 'ES', 'IT', 'AT', 'IE', 'PT', 'FI'];
const FOREIGN = ['GB', 'US', 'CH', 'AE', 'HK', 'SG', 'TR', 'NG', 'CY', 'MT'];

interface Account {
  id: string;
  bank: number;
  kind: 'retail' | 'business' | 'low' | 'dormant';
  weight: number;
  country: string;
  salary: number;
  rent: number;
  role: 'none' | 'mule';
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

class Gen {
  readonly rng: Rng;
  private readonly txIds = new Set<string>();
  constructor(seed: number) {
    this.rng = seededRng(seed);
  }
  u(a = 0, b = 1): number {
    return a + (b - a) * this.rng.nextFloat();
  }
  int(a: number, b: number): number {
    return a + nextInt(this.rng, b - a + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[nextInt(this.rng, xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rng.nextFloat() < p;
  }
  /** Log-uniform in [a, b]. */
  logU(a: number, b: number): number {
    return Math.exp(this.u(Math.log(a), Math.log(b)));
  }
  txId(): string {
    for (;;) {
      let id = 'TX';
      for (let i = 0; i < 14; i++) id += '0123456789ABCDEF'[nextInt(this.rng, 16)];
      if (!this.txIds.has(id)) {
        this.txIds.add(id);
        return id;
      }
    }
  }
}

/** ISO 13616 check digits over country + BBAN. */
function iban(country: string, bban: string): string {
  const digits = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let mod = 0;
  for (const ch of digits) mod = (mod * 10 + Number(ch)) % 97;
  return `${country}${String(98 - mod).padStart(2, '0')}${bban}`;
}

function bankCode(index: number): string {
  return `TZ${String.fromCharCode(65 + Math.floor(index / 26) % 26)}${String.fromCharCode(65 + (index % 26))}`;
}

export function generateDemoData(options: DemoOptions): DemoData {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { banks, recordsPerBank, seed } = options;
  if (!Array.isArray(banks) || banks.length === 0 || banks.some((b) => typeof b !== 'string' || b.length === 0)) {
    throw new TypeError('banks must be a non-empty array of tenant ids');
  }
  if (new Set(banks).size !== banks.length) throw new RangeError('banks must not repeat');
  if (!Number.isInteger(recordsPerBank) || recordsPerBank < 100 || recordsPerBank > 1_000_000) {
    throw new RangeError('recordsPerBank must be an integer in [100, 1000000]');
  }
  if (!Number.isInteger(seed)) throw new TypeError('seed must be an integer');
  const labelFraction = options.labelFraction ?? 0.5;
  if (typeof labelFraction !== 'number' || !(labelFraction >= 0 && labelFraction <= 1)) throw new RangeError('labelFraction must be in [0, 1]');

  const g = new Gen(seed);
  const B = banks.length;
  const R = recordsPerBank;
  const records: TransactionRecord[][] = banks.map(() => []);
  const fraud = new Set<string>();
  const used = new Int32Array(B);
  const truth: DemoTruth = { muleChains: [], structuring: [], dormant: [], fraudTransactionIds: [] };

  // ---- accounts ----
  const accounts: Account[][] = banks.map(() => []);
  let serial = 0;
  const newAccount = (bank: number, kind: Account['kind']): Account => {
    const country = HOME_COUNTRIES[bank % HOME_COUNTRIES.length]!;
    const id = iban(country, `${bankCode(bank)}${String(1_000_000_000 + serial++ * 7919 + g.int(0, 7000)).slice(-10)}`);
    const weight = kind === 'business' ? g.logU(3, 12) : kind === 'low' ? g.u(0.05, 0.15) : g.logU(0.4, 2.5);
    const salary = kind === 'retail' && g.chance(0.72) ? round2(g.logU(1800, 6500)) : 0;
    const rent = kind === 'retail' && g.chance(0.45) ? Math.round(g.logU(700, 2200)) : 0;
    const acc: Account = { id, bank, kind, weight, country, salary, rent, role: 'none' };
    accounts[bank]!.push(acc);
    return acc;
  };
  const perBank = Math.max(30, Math.round(R / 45));
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < perBank; i++) newAccount(b, g.chance(0.07) ? 'business' : g.chance(0.09) ? 'low' : 'retail');
  }
  let extSerial = 0;
  const external = (country?: string): { id: string; bank: string; country: string } => {
    const c = country ?? g.pick(FOREIGN.concat(HOME_COUNTRIES));
    const code = `XB${String.fromCharCode(65 + g.int(0, 25))}${String.fromCharCode(65 + g.int(0, 25))}`;
    return { id: iban(c, `${code}${String(2_000_000_000 + extSerial++ * 104_729).slice(-10)}`), bank: `EXT-${code}`, country: c };
  };
  const employers = Array.from({ length: 25 }, () => external(g.pick(HOME_COUNTRIES)));
  const utilities = Array.from({ length: 12 }, () => external(g.pick(HOME_COUNTRIES)));
  const landlordsOutside = Array.from({ length: 30 }, () => external(g.pick(HOME_COUNTRIES)));
  const merchants = Array.from({ length: 400 }, (_, i) => `MERCH-${String(i).padStart(5, '0')}`);

  // ---- record helpers ----
  const add = (
    bank: number,
    acc: Account,
    cp: { id: string; bank: string },
    amount: number,
    direction: 'debit' | 'credit',
    t: number,
    channel: Channel,
    country: string,
    isFraud = false,
  ): string => {
    const transactionId = g.txId();
    records[bank]!.push({
      transactionId,
      accountId: acc.id,
      counterpartyAccountId: cp.id,
      counterpartyBank: cp.bank,
      amount: round2(amount),
      currency: 'EUR',
      direction,
      timestamp: new Date(Math.round(t / 1000) * 1000).toISOString(),
      channel,
      country,
    });
    used[bank]!++;
    if (isFraud) fraud.add(transactionId);
    return transactionId;
  };
  const party = (acc: Account): { id: string; bank: string } => ({ id: acc.id, bank: banks[acc.bank]! });
  /** A transfer between two accounts held by participating banks: one record at each. */
  const transfer = (from: Account, to: Account, amount: number, t: number, isFraud = false, channel?: Channel): [string, string] => {
    const ch: Channel = channel ?? (from.bank === to.bank ? 'internal' : g.chance(0.5) ? 'wire' : 'ach');
    const out = add(from.bank, from, party(to), amount, 'debit', t, ch, from.country, isFraud);
    const inn = add(to.bank, to, party(from), amount, 'credit', t + g.u(0, 20) * 60_000, ch, to.country, isFraud);
    return [out, inn];
  };
  const randomTime = (fromDay = 0, toDay = SPAN_DAYS): number => START + g.u(fromDay, toDay) * DAY;
  const pool = (bank: number, pred: (a: Account) => boolean = () => true): Account[] => accounts[bank]!.filter(pred);

  // ---- planted patterns ----
  const total = R * B;
  const nChains = Math.max(3, Math.round(total / 1500));
  const nStructuring = Math.max(3, Math.round(total / 2500));
  const nDormant = Math.max(3, Math.round(total / 3000));

  const muleCandidates = banks.map((_, b) => pool(b, (a) => a.kind === 'retail'));
  const takeMule = (bank: number): Account => {
    for (;;) {
      const a = g.pick(muleCandidates[bank]!);
      if (a.role === 'none') {
        a.role = 'mule';
        return a;
      }
    }
  };
  const otherBank = (b: number): number => (B === 1 ? b : (b + 1 + g.int(0, B - 2)) % B);
  for (let c = 0; c < nChains; c++) {
    const L = g.chance(0.2) ? 2 : g.chance(0.6) ? 3 : 4;
    const chainBanks: number[] = [g.int(0, B - 1)];
    for (let i = 1; i < L; i++) chainBanks.push(otherBank(chainBanks[i - 1]!));
    const mules = chainBanks.map((b) => takeMule(b));
    const ids: string[] = [];
    let t = randomTime(10, SPAN_DAYS - 20);
    let amount = round2(g.logU(2500, 25_000));
    if (amount >= 9000 && amount < 10_000) amount = round2(amount * 1.15);
    const src = external(g.chance(0.4) ? g.pick(FOREIGN) : undefined);
    ids.push(add(mules[0]!.bank, mules[0]!, src, amount, 'credit', t, 'wire', mules[0]!.country, true));
    const split = L >= 3 && g.chance(0.25);
    for (let i = 0; i + 1 < L; i++) {
      t += g.logU(0.5, 30) * HOUR;
      amount = round2(amount * g.u(0.9, 0.985));
      if (split && i + 2 === L) {
        // The last mule's predecessor splits the funds over two mules at different banks.
        const second = takeMule(chainBanks.length > 2 ? chainBanks[i - 1]! : otherBank(mules[i]!.bank));
        const shares = [0.54, 0.42];
        const targets = [mules[i + 1]!, second];
        targets.forEach((to, k) => {
          const part = round2(amount * shares[k]!);
          ids.push(...transfer(mules[i]!, to, part, t + k * g.u(0.1, 2) * HOUR, true));
          const tc = t + g.logU(1, 20) * HOUR;
          ids.push(add(to.bank, to, { id: `ATM-${to.country}-${g.int(100, 999)}`, bank: 'CASH' }, round2(part * g.u(0.9, 0.99)), 'debit', tc, 'cash', to.country, true));
        });
        if (!chainBanks.includes(second.bank)) chainBanks.push(second.bank);
        amount = 0;
        break;
      }
      ids.push(...transfer(mules[i]!, mules[i + 1]!, amount, t, true));
    }
    if (amount > 0) {
      const last = mules[L - 1]!;
      t += g.logU(1, 24) * HOUR;
      const outAmount = round2(amount * g.u(0.9, 0.99));
      if (g.chance(0.55)) {
        const pieces = g.chance(0.3) ? 2 : 1;
        for (let k = 0; k < pieces; k++) {
          ids.push(add(last.bank, last, { id: `ATM-${last.country}-${g.int(100, 999)}`, bank: 'CASH' }, outAmount / pieces, 'debit', t + k * HOUR, 'cash', last.country, true));
        }
      } else {
        const dst = external(g.pick(FOREIGN));
        ids.push(add(last.bank, last, dst, outAmount, 'debit', t, 'wire', last.country, true));
      }
    }
    truth.muleChains.push({ transactionIds: ids, banks: [...new Set(chainBanks)].map((b) => banks[b]!) });
  }

  for (let s = 0; s < nStructuring; s++) {
    const bank = g.int(0, B - 1);
    const acc = g.pick(pool(bank, (a) => (a.kind === 'retail' || a.kind === 'business') && a.role === 'none'));
    const k = g.chance(0.15) ? 2 : g.int(3, 5);
    const cash = g.chance(0.6);
    const cp = cash ? { id: 'CASH-DEPOSIT', bank: 'CASH' } : external(g.pick(HOME_COUNTRIES));
    let t = randomTime(5, SPAN_DAYS - 10);
    const ids: string[] = [];
    for (let i = 0; i < k; i++) {
      const amount = cash ? Math.round(g.u(9000, 9990) / 10) * 10 : round2(g.u(9000, 9995));
      ids.push(add(bank, acc, cp, amount, cash ? 'credit' : 'debit', t, cash ? 'cash' : g.pick(['ach', 'wire'] as const), acc.country, true));
      t += (k === 2 ? g.u(4, 40) : g.u(6, 60)) * HOUR;
    }
    truth.structuring.push(ids);
  }

  for (let s = 0; s < nDormant; s++) {
    const bank = g.int(0, B - 1);
    const acc = newAccount(bank, 'dormant');
    acc.weight = 0;
    const early = g.int(3, 8);
    let last = START;
    for (let i = 0; i < early; i++) {
      const t = randomTime(0, 75);
      last = Math.max(last, t);
      const kind = g.int(0, 2);
      if (kind === 0) add(bank, acc, { id: g.pick(merchants), bank: 'CARDNET' }, g.logU(8, 150), 'debit', t, 'card', acc.country);
      else if (kind === 1) add(bank, acc, { id: `ATM-${acc.country}-${g.int(100, 999)}`, bank: 'CASH' }, g.int(2, 20) * 10, 'debit', t, 'cash', acc.country);
      else add(bank, acc, external(acc.country), g.logU(100, 500), 'credit', t, 'ach', acc.country);
    }
    let t = Math.min(last + g.u(150, 250) * DAY, START + (SPAN_DAYS - 5) * DAY);
    const big = round2(g.logU(15_000, 150_000));
    const ids = [add(bank, acc, external(g.pick(FOREIGN)), big, 'credit', t, 'wire', acc.country, true)];
    const outs = g.int(1, 3);
    const kept = g.u(0.85, 0.99);
    for (let i = 0; i < outs; i++) {
      t += g.logU(2, 72) * HOUR;
      ids.push(add(bank, acc, external(g.pick(FOREIGN)), (big * kept) / outs, 'debit', t, 'wire', acc.country, true));
    }
    truth.dormant.push(ids);
  }

  // ---- benign traffic ----
  const budget = (b: number): number => R - used[b]!;
  const scheduledShare = 0.35;
  for (let b = 0; b < B; b++) {
    const monthlyCap = Math.floor((R * scheduledShare) / 12);
    let monthly = 0;
    for (const acc of accounts[b]!) {
      if (acc.kind !== 'retail') continue;
      const landlord = acc.rent && g.chance(0.25) ? g.pick(pool(g.int(0, B - 1), (a) => a.kind === 'retail' && a !== acc)) : null;
      const streams = (acc.salary ? 1 : 0) + (acc.rent ? (landlord ? 2 : 1) : 0);
      if (monthly + streams > monthlyCap) continue;
      monthly += streams;
      const employer = g.pick(employers);
      const rentTarget = landlord ? null : g.pick(landlordsOutside);
      for (let m = 0; m < 12; m++) {
        const month = Date.UTC(2024, m, 1);
        if (acc.salary) add(b, acc, employer, acc.salary * g.u(0.98, 1.02), 'credit', month + (g.int(24, 27) + g.u(0.3, 0.5)) * DAY, 'ach', acc.country);
        if (acc.rent) {
          const t = month + g.u(0, 4) * DAY + g.u(8, 18) * HOUR;
          if (landlord) transfer(acc, landlord, acc.rent, t, false, 'ach');
          else add(b, acc, rentTarget!, acc.rent, 'debit', t, 'ach', acc.country);
        }
      }
    }
  }

  const weighted = banks.map((_, b) => {
    const list = accounts[b]!.filter((a) => a.weight > 0);
    const cumulative: number[] = [];
    let s = 0;
    for (const a of list) cumulative.push((s += a.weight));
    return { list, cumulative, total: s };
  });
  const activeAccount = (b: number): Account => {
    const w = weighted[b]!;
    const x = g.u(0, w.total);
    let lo = 0;
    let hi = w.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (w.cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return w.list[lo]!;
  };
  // Two-sided benign transfers between customers of the participating banks.
  const twoSidedTarget = banks.map(() => Math.round(R * 0.14));
  const twoSided = new Int32Array(B);
  let guard = 0;
  while (twoSided.some((v, b) => v < twoSidedTarget[b]!) && guard++ < R * B * 4) {
    const fb = g.int(0, B - 1);
    const tb = g.chance(0.3) ? fb : g.int(0, B - 1);
    if (twoSided[fb]! >= twoSidedTarget[fb]! || budget(fb) < 2 || budget(tb) < 2) continue;
    const from = activeAccount(fb);
    const to = activeAccount(tb);
    if (from === to) continue;
    const t = randomTime();
    const kind = g.u();
    if (kind < 0.06 && budget(tb) >= 3 && twoSided[tb]! < twoSidedTarget[tb]!) {
      // A reimbursement forwarded on: received, then 75-100% passed to someone else a day or two later.
      const amount = round2(g.logU(50, 2500));
      transfer(from, to, amount, t);
      const onward = activeAccount(g.int(0, B - 1));
      if (onward !== to && onward !== from && budget(onward.bank) >= 1) {
        transfer(to, onward, amount * g.u(0.75, 1), t + g.u(6, 60) * HOUR);
        twoSided[onward.bank]!++;
      }
      twoSided[fb]!++;
      twoSided[tb]! += 2;
    } else if (kind < 0.16) {
      // Own money moved between banks, later spent elsewhere.
      transfer(from, to, round2(g.logU(200, 6000)), t);
      twoSided[fb]!++;
      twoSided[tb]!++;
    } else {
      transfer(from, to, round2(g.logU(10, 1500)), t);
      twoSided[fb]!++;
      twoSided[tb]!++;
    }
  }

  // Single-sided traffic fills each bank to exactly recordsPerBank.
  for (let b = 0; b < B; b++) {
    while (budget(b) > 0) {
      const acc = activeAccount(b);
      const t = randomTime();
      const x = g.u();
      if (acc.kind === 'business') {
        if (x < 0.5) add(b, acc, { id: 'CARD-SETTLEMENT', bank: 'CARDNET' }, g.logU(300, 12_000), 'credit', t, 'ach', acc.country);
        else if (x < 0.85) add(b, acc, external(), g.logU(500, 40_000), 'debit', t, g.chance(0.6) ? 'wire' : 'ach', acc.country);
        else if (x < 0.95) add(b, acc, { id: 'CASH-DEPOSIT', bank: 'CASH' }, g.logU(200, 8000), 'credit', t, 'cash', acc.country);
        else add(b, acc, g.pick(utilities), g.logU(100, 3000), 'debit', t, 'ach', acc.country);
        continue;
      }
      if (x < 0.56) {
        const foreign = g.chance(0.08);
        add(b, acc, { id: g.pick(merchants), bank: 'CARDNET' }, g.logU(3, 250), 'debit', t, 'card', foreign ? g.pick(FOREIGN) : acc.country);
      } else if (x < 0.72) add(b, acc, g.pick(utilities), g.logU(25, 400), 'debit', t, 'ach', acc.country);
      else if (x < 0.85) add(b, acc, { id: `ATM-${acc.country}-${g.int(100, 999)}`, bank: 'CASH' }, g.int(2, 40) * 10, 'debit', t, 'cash', acc.country);
      else if (x < 0.93) add(b, acc, external(acc.country), g.logU(20, 2000), g.chance(0.5) ? 'credit' : 'debit', t, 'ach', acc.country);
      else if (x < 0.965) add(b, acc, { id: g.pick(merchants), bank: 'CARDNET' }, g.logU(5, 120), 'credit', t, 'card', acc.country);
      else if (x < 0.993) {
        // Large legitimate transfers: property, cars, inheritances, savings moved abroad.
        const foreign = g.chance(0.2);
        add(b, acc, external(foreign ? g.pick(FOREIGN) : acc.country), g.logU(12_000, 300_000), g.chance(0.55) ? 'debit' : 'credit', t, 'wire', acc.country);
      } else {
        // One-off payments just below the reporting threshold (tuition, a used car).
        add(b, acc, external(acc.country), g.u(9000, 9999), 'debit', t, g.pick(['wire', 'ach'] as const), acc.country);
      }
    }
  }

  // ---- labels and ordering ----
  const partitions: Record<string, TransactionRecord[]> = {};
  banks.forEach((bank, b) => {
    const list = records[b]!;
    for (const r of list) if (g.chance(labelFraction)) r.label = fraud.has(r.transactionId) ? 'fraud' : 'legit';
    list.sort((x, y) => (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : x.transactionId < y.transactionId ? -1 : 1));
    partitions[bank] = list;
  });
  truth.fraudTransactionIds = [...fraud].sort();
  return { partitions, truth };
}

/** The demo's partitions in the model's input shape. */
export function demoPartitions(data: DemoData, banks?: readonly string[]): Partition[] {
  return (banks ?? Object.keys(data.partitions)).map((partyId) => ({ partyId, records: data.partitions[partyId]! }));
}

/** A model output, several outputs (the siloed runs), or flagged transactions as ids or flag objects. */
export type FlagSource = ModelOutput | readonly ModelOutput[] | Iterable<string | { transactionId: string }>;

/** Every transactionId flagged in `source`. */
export function flaggedTransactionIds(source: FlagSource): Set<string> {
  const isOutput = (x: unknown): x is ModelOutput => typeof x === 'object' && x !== null && 'privateFindings' in x;
  const out = new Set<string>();
  const fromOutput = (o: ModelOutput): void => {
    for (const f of Object.values(o.privateFindings)) for (const x of f.flagged) out.add(x.transactionId);
  };
  if (isOutput(source)) {
    fromOutput(source);
    return out;
  }
  if (typeof source !== 'object' || source === null || typeof (source as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError('flags must be a model output, an array of outputs, or an iterable of flagged transactions');
  }
  for (const item of source as Iterable<unknown>) {
    if (isOutput(item)) fromOutput(item);
    else if (typeof item === 'string') out.add(item);
    else if (typeof item === 'object' && item !== null && typeof (item as { transactionId?: unknown }).transactionId === 'string') {
      out.add((item as { transactionId: string }).transactionId);
    } else throw new TypeError('flags must hold transaction ids, flag objects or model outputs');
  }
  return out;
}

export interface DetectionScore {
  recall: number;
  precision: number;
  flagged: number;
  truePositives: number;
}

export interface PatternScore {
  transactions: number;
  instances: number;
  siloedRecall: number;
  jointRecall: number;
  /** Instances with at least half of their transactions flagged. */
  siloedInstancesFound: number;
  jointInstancesFound: number;
}

export interface DetectionReport {
  siloed: DetectionScore;
  joint: DetectionScore;
  byPattern: { muleChains: PatternScore; structuring: PatternScore; dormant: PatternScore };
}

function score(flags: Set<string>, fraud: Set<string>): DetectionScore {
  let tp = 0;
  for (const id of flags) if (fraud.has(id)) tp++;
  return { recall: fraud.size ? tp / fraud.size : 1, precision: flags.size ? tp / flags.size : 1, flagged: flags.size, truePositives: tp };
}

function patternScore(groups: string[][], siloed: Set<string>, joint: Set<string>): PatternScore {
  const all = groups.flat();
  const rate = (flags: Set<string>): number => (all.length ? all.filter((id) => flags.has(id)).length / all.length : 1);
  const found = (flags: Set<string>): number => groups.filter((grp) => grp.filter((id) => flags.has(id)).length * 2 >= grp.length).length;
  return {
    transactions: all.length,
    instances: groups.length,
    siloedRecall: rate(siloed),
    jointRecall: rate(joint),
    siloedInstancesFound: found(siloed),
    jointInstancesFound: found(joint),
  };
}

/**
 * Recall and precision (transaction level) of the siloed runs (the model on each bank alone) and the
 * joint run (all banks together) against the planted truth.
 */
export function evaluateDetection(runs: { siloed: FlagSource; joint: FlagSource }, truth: DemoTruth): DetectionReport {
  if (typeof runs !== 'object' || runs === null) throw new TypeError('runs must be { siloed, joint }');
  if (typeof truth !== 'object' || truth === null || !Array.isArray(truth.fraudTransactionIds)) throw new TypeError('truth must be the demo truth');
  const siloed = flaggedTransactionIds(runs.siloed);
  const joint = flaggedTransactionIds(runs.joint);
  const fraud = new Set(truth.fraudTransactionIds);
  return {
    siloed: score(siloed, fraud),
    joint: score(joint, fraud),
    byPattern: {
      muleChains: patternScore(truth.muleChains.map((c) => c.transactionIds), siloed, joint),
      structuring: patternScore(truth.structuring, siloed, joint),
      dormant: patternScore(truth.dormant, siloed, joint),
    },
  };
}
