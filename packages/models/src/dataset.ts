// Columnar, interned view of the partitions the model run sees. Records are addressed by a global index;
// identifiers become small integers so the analysis never compares strings in its inner loops.
import { parseTimestamp } from './schema.js';
import type { Channel, Partition } from './types.js';

export const CHANNEL_CODES: Readonly<Record<Channel, number>> = { wire: 0, ach: 1, card: 2, cash: 3, internal: 4 };
export const CHANNEL_CARD = 2;
export const CHANNEL_CASH = 3;

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface Dataset {
  parties: readonly string[];
  n: number;
  /** Party index of each record. */
  party: Uint16Array;
  /** Index of each record inside its party's records array. */
  local: Int32Array;
  /** First global index of each party's records; party p owns [offset[p], offset[p + 1]). */
  offset: Int32Array;
  transactionId: readonly string[];
  account: Int32Array;
  counterparty: Int32Array;
  amount: Float64Array;
  time: Float64Array;
  credit: Uint8Array;
  channel: Uint8Array;
  currency: Int32Array;
  country: Int32Array;
  /** -1 unlabelled, 0 legit, 1 fraud. Used for training only, never for flagging. */
  label: Int8Array;
  /** Party that holds the account's records (-1: an account outside every partition). */
  accountOwner: Int32Array;
  accountCount: number;
  /** Account id -> index (accounts and counterparties). */
  accountIndex: ReadonlyMap<string, number>;
  /** Set of every transactionId, built on first use. */
  transactionIndex(): ReadonlySet<string>;
  /** Records of each owned account, sorted by time: CSR over accounts. */
  accountStart: Int32Array;
  accountRecords: Int32Array;
}

class Interner {
  readonly map = new Map<string, number>();
  id(text: string): number {
    let v = this.map.get(text);
    if (v === undefined) {
      v = this.map.size;
      this.map.set(text, v);
    }
    return v;
  }
}

/** Builds the columnar dataset. Records must already satisfy transaction_records_v1. */
export function buildDataset(partitions: readonly Partition[]): Dataset {
  let n = 0;
  const offset = new Int32Array(partitions.length + 1);
  partitions.forEach((p, i) => {
    offset[i] = n;
    n += p.records.length;
  });
  offset[partitions.length] = n;
  const party = new Uint16Array(n);
  const local = new Int32Array(n);
  const transactionId: string[] = new Array(n);
  const account = new Int32Array(n);
  const counterparty = new Int32Array(n);
  const amount = new Float64Array(n);
  const time = new Float64Array(n);
  const credit = new Uint8Array(n);
  const channel = new Uint8Array(n);
  const currency = new Int32Array(n);
  const country = new Int32Array(n);
  const label = new Int8Array(n);
  const accounts = new Interner();
  const currencies = new Interner();
  const countries = new Interner();
  let g = 0;
  partitions.forEach((p, pi) => {
    for (let i = 0; i < p.records.length; i++, g++) {
      const r = p.records[i]!;
      party[g] = pi;
      local[g] = i;
      transactionId[g] = r.transactionId;
      account[g] = accounts.id(r.accountId);
      counterparty[g] = accounts.id(r.counterpartyAccountId);
      amount[g] = r.amount;
      time[g] = parseTimestamp(r.timestamp);
      credit[g] = r.direction === 'credit' ? 1 : 0;
      channel[g] = CHANNEL_CODES[r.channel];
      currency[g] = currencies.id(r.currency);
      country[g] = countries.id(r.country);
      label[g] = r.label === 'fraud' ? 1 : r.label === 'legit' ? 0 : -1;
    }
  });
  const accountCount = accounts.map.size;
  const accountOwner = new Int32Array(accountCount).fill(-1);
  const counts = new Int32Array(accountCount + 1);
  for (let i = 0; i < n; i++) {
    accountOwner[account[i]!] = party[i]!;
    counts[account[i]! + 1]!++;
  }
  const accountStart = new Int32Array(accountCount + 1);
  for (let a = 0; a < accountCount; a++) accountStart[a + 1] = accountStart[a]! + counts[a + 1]!;
  const fill = accountStart.slice(0, accountCount);
  const accountRecords = new Int32Array(n);
  for (let i = 0; i < n; i++) accountRecords[fill[account[i]!]!++] = i;
  for (let a = 0; a < accountCount; a++) {
    const s = accountStart[a]!;
    const e = accountStart[a + 1]!;
    if (e - s > 1) {
      const slice = Array.from(accountRecords.subarray(s, e)).sort((x, y) => time[x]! - time[y]! || x - y);
      accountRecords.set(slice, s);
    }
  }
  let txIndex: Set<string> | undefined;
  return {
    accountIndex: accounts.map,
    transactionIndex: () => (txIndex ??= new Set(transactionId)),
    parties: partitions.map((p) => p.partyId),
    n,
    party,
    local,
    offset,
    transactionId,
    account,
    counterparty,
    amount,
    time,
    credit,
    channel,
    currency,
    country,
    label,
    accountOwner,
    accountCount,
    accountStart,
    accountRecords,
  };
}

/** Median of a non-empty numeric array (copied, not mutated). */
export function median(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
