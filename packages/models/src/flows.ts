// Money flows: links the two sides of a transfer across (or inside) partitions, then finds pass-through
// chains. Runs inside the enclave on the decrypted partitions; nothing here leaves it.
//
// 1. Linking. A debit of account F to counterparty T is the same transfer as a credit of T from F when
//    both accounts are held by some party (account ids are globally unique), the amounts agree (same
//    currency: within 0.5%; otherwise any FX-plausible ratio) and the credit lands between 1 h before
//    and 5 days after the debit. Greedy, earliest debit first; O(n log n).
// 2. Transfers. A linked pair, or a lone debit/credit whose other side lies outside every partition.
// 3. Pass-through links. Money entering account m and leaving it again within 5 days, 70–102% of it
//    (one outgoing transfer, or a fan-out/fan-in of up to 5), card payments excluded. Each link gets a
//    quality in (0, 1]: the product of a retained-fraction weight (1 from 90%) and a delay weight
//    (1 within 6 h, 0.9 within a day, 0.8 within two, down to 0.45 at 5 days), halved when the money
//    arrives from or leaves to an established counterparty of the account (salary, rent, own savings).
// 4. Chains. Links form a DAG ordered by time; the strongest path through each transfer (sum of link
//    qualities) measures how long a chain of fast, amount-preserving hops it belongs to.
import { CHANNEL_CARD, DAY, HOUR, type Dataset } from './dataset.js';

export const FLOW_PARAMETERS = Object.freeze({
  amountTolerance: 0.005,
  fxRatioRange: [0.2, 5] as const,
  settlementSkewHours: 1,
  maxSettlementHours: 120,
  passThroughWindowHours: 120,
  retainedRange: [0.7, 1.02] as const,
  maxFanOut: 5,
  minPartFraction: 0.1,
  establishedRelationship: { minRecords: 4, minSpanDays: 60, qualityFactor: 0.5 },
});

const SKEW = FLOW_PARAMETERS.settlementSkewHours * HOUR;
const MAX_SETTLE = FLOW_PARAMETERS.maxSettlementHours * HOUR;
const WINDOW = FLOW_PARAMETERS.passThroughWindowHours * HOUR;
const EARLY = 10 * 60_000; // an outgoing leg may be stamped up to 10 min before the incoming one
const [RATIO_MIN, RATIO_MAX] = FLOW_PARAMETERS.retainedRange;
/** At most this many candidate legs are examined per transfer (busy business accounts). */
const SCAN_LIMIT = 400;

export interface Flows {
  nodeCount: number;
  /** Debit record of the transfer, or -1 when only the credit side is in the data. */
  nodeOut: Int32Array;
  /** Credit record of the transfer, or -1. */
  nodeIn: Int32Array;
  /** Sending / receiving account when a party holds it, else -1. */
  nodeFrom: Int32Array;
  nodeTo: Int32Array;
  nodeAmount: Float64Array;
  nodeTimeOut: Float64Array;
  nodeTimeIn: Float64Array;
  nodeOfRecord: Int32Array;
  /** Transfers whose two sides were found in two different partitions. */
  interPartyLinks: number;
  /** Transfers whose two sides were found in the same partition. */
  intraPartyLinks: number;
  links: PassThroughLinks;
  /** Strongest chain through each transfer: forward + backward sums of link qualities. */
  strength: Float64Array;
}

export interface PassThroughLinks {
  count: number;
  from: Int32Array;
  to: Int32Array;
  quality: Float64Array;
  /** Hours between the money arriving and leaving. */
  delayHours: Float64Array;
  /** Fraction of the incoming amount that left (per link; fan-out parts carry the group's total). */
  retained: Float64Array;
  /** The account the money passed through. */
  account: Int32Array;
}

function amountsAgree(d: Dataset, debit: number, credit: number): boolean {
  const a = d.amount[debit]!;
  const b = d.amount[credit]!;
  if (d.currency[debit] === d.currency[credit]) return Math.abs(a - b) <= Math.max(0.01, FLOW_PARAMETERS.amountTolerance * a);
  const ratio = b / a;
  return ratio >= FLOW_PARAMETERS.fxRatioRange[0] && ratio <= FLOW_PARAMETERS.fxRatioRange[1];
}

function lowerBound(times: Float64Array, list: readonly number[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[list[mid]!]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Matches debits to credits and builds the transfer list. */
function linkTransfers(d: Dataset): Omit<Flows, 'links' | 'strength'> {
  const A = d.accountCount;
  const credits = new Map<number, number[]>();
  const debits: number[] = [];
  for (let i = 0; i < d.n; i++) {
    if (d.accountOwner[d.counterparty[i]!]! < 0) continue;
    if (d.credit[i]) {
      const key = d.account[i]! * A + d.counterparty[i]!;
      let list = credits.get(key);
      if (!list) credits.set(key, (list = []));
      list.push(i);
    } else {
      debits.push(i);
    }
  }
  for (const list of credits.values()) list.sort((x, y) => d.time[x]! - d.time[y]! || x - y);
  debits.sort((x, y) => d.time[x]! - d.time[y]! || x - y);
  const matchOf = new Int32Array(d.n).fill(-1);
  let interPartyLinks = 0;
  let intraPartyLinks = 0;
  for (const deb of debits) {
    const list = credits.get(d.counterparty[deb]! * A + d.account[deb]!);
    if (!list) continue;
    const t = d.time[deb]!;
    let best = -1;
    let bestCost = Infinity;
    for (let k = lowerBound(d.time, list, t - SKEW); k < list.length; k++) {
      const c = list[k]!;
      const tc = d.time[c]!;
      if (tc > t + MAX_SETTLE) break;
      if (matchOf[c]! >= 0 || !amountsAgree(d, deb, c)) continue;
      const cost = Math.abs(tc - t) / HOUR + 100 * Math.abs(d.amount[c]! / d.amount[deb]! - 1);
      if (cost < bestCost) {
        bestCost = cost;
        best = c;
      }
    }
    if (best >= 0) {
      matchOf[deb] = best;
      matchOf[best] = deb;
      if (d.party[deb] === d.party[best]) intraPartyLinks++;
      else interPartyLinks++;
    }
  }
  const nodeOfRecord = new Int32Array(d.n).fill(-1);
  const out: number[] = [];
  const inn: number[] = [];
  for (let i = 0; i < d.n; i++) {
    if (nodeOfRecord[i]! >= 0) continue;
    const m = matchOf[i]!;
    const node = out.length;
    if (d.credit[i]) {
      out.push(m);
      inn.push(i);
    } else {
      out.push(i);
      inn.push(m);
    }
    nodeOfRecord[i] = node;
    if (m >= 0) nodeOfRecord[m] = node;
  }
  const nodeCount = out.length;
  const nodeOut = Int32Array.from(out);
  const nodeIn = Int32Array.from(inn);
  const nodeFrom = new Int32Array(nodeCount);
  const nodeTo = new Int32Array(nodeCount);
  const nodeAmount = new Float64Array(nodeCount);
  const nodeTimeOut = new Float64Array(nodeCount);
  const nodeTimeIn = new Float64Array(nodeCount);
  for (let v = 0; v < nodeCount; v++) {
    const o = nodeOut[v]!;
    const c = nodeIn[v]!;
    const owned = (acc: number): number => (d.accountOwner[acc]! >= 0 ? acc : -1);
    if (o >= 0) {
      nodeFrom[v] = d.account[o]!;
      nodeTo[v] = c >= 0 ? d.account[c]! : owned(d.counterparty[o]!);
      nodeAmount[v] = d.amount[o]!;
      nodeTimeOut[v] = d.time[o]!;
      nodeTimeIn[v] = c >= 0 ? d.time[c]! : d.time[o]!;
    } else {
      nodeFrom[v] = owned(d.counterparty[c]!);
      nodeTo[v] = d.account[c]!;
      nodeAmount[v] = d.amount[c]!;
      nodeTimeIn[v] = d.time[c]!;
      nodeTimeOut[v] = d.time[c]!;
    }
  }
  return { nodeCount, nodeOut, nodeIn, nodeFrom, nodeTo, nodeAmount, nodeTimeOut, nodeTimeIn, nodeOfRecord, interPartyLinks, intraPartyLinks };
}

export function ratioQuality(r: number): number {
  if (r >= 0.9 && r <= RATIO_MAX) return 1;
  if (r >= 0.8 && r < 0.9) return 0.7;
  if (r >= RATIO_MIN && r < 0.8) return 0.4;
  return 0;
}

/** Faster forwarding is stronger evidence: full weight within 6 h, fading to 0.45 at 5 days. */
export function delayQuality(ms: number): number {
  if (ms <= 6 * HOUR) return 1;
  if (ms <= 24 * HOUR) return 0.9;
  if (ms <= 48 * HOUR) return 0.8;
  if (ms <= 72 * HOUR) return 0.65;
  if (ms <= WINDOW) return 0.45;
  return 0;
}

class LinkBuilder {
  from: number[] = [];
  to: number[] = [];
  quality: number[] = [];
  delay: number[] = [];
  retained: number[] = [];
  account: number[] = [];
  add(account: number, x: number, y: number, q: number, delayMs: number, retained: number): void {
    this.account.push(account);
    this.from.push(x);
    this.to.push(y);
    this.quality.push(q);
    this.delay.push(Math.max(0, delayMs) / HOUR);
    this.retained.push(retained);
  }
  build(): PassThroughLinks {
    return {
      count: this.from.length,
      from: Int32Array.from(this.from),
      to: Int32Array.from(this.to),
      quality: Float64Array.from(this.quality),
      delayHours: Float64Array.from(this.delay),
      retained: Float64Array.from(this.retained),
      account: Int32Array.from(this.account),
    };
  }
}

/** Counterparty identity of a transfer seen from account m's side, for excluding round trips. */
function otherSide(d: Dataset, f: Omit<Flows, 'links' | 'strength'>, node: number, incoming: boolean): number {
  const acc = incoming ? f.nodeFrom[node]! : f.nodeTo[node]!;
  if (acc >= 0) return acc;
  const rec = incoming ? f.nodeIn[node]! : f.nodeOut[node]!;
  return rec >= 0 ? d.counterparty[rec]! : -1;
}

function isCard(d: Dataset, f: Omit<Flows, 'links' | 'strength'>, node: number): boolean {
  const rec = f.nodeOut[node]! >= 0 ? f.nodeOut[node]! : f.nodeIn[node]!;
  return d.channel[rec] === CHANNEL_CARD;
}

/**
 * Established relationships: an account and a counterparty with at least 4 records between them
 * spread over at least 60 days (salary, rent, sweeps to one's own savings). Money passing through
 * along such a relationship is weaker evidence than money sent on to a new beneficiary.
 */
function establishedRelationships(d: Dataset): (account: number, other: number) => boolean {
  const A = d.accountCount;
  const stats = new Map<number, { n: number; first: number; last: number }>();
  for (let i = 0; i < d.n; i++) {
    const key = d.account[i]! * A + d.counterparty[i]!;
    const s = stats.get(key);
    if (!s) stats.set(key, { n: 1, first: d.time[i]!, last: d.time[i]! });
    else {
      s.n++;
      if (d.time[i]! < s.first) s.first = d.time[i]!;
      if (d.time[i]! > s.last) s.last = d.time[i]!;
    }
  }
  const { minRecords, minSpanDays } = FLOW_PARAMETERS.establishedRelationship;
  return (account, other) => {
    if (other < 0) return false;
    const s = stats.get(account * A + other);
    return s !== undefined && s.n >= minRecords && s.last - s.first >= minSpanDays * DAY;
  };
}

function passThroughLinks(d: Dataset, f: Omit<Flows, 'links' | 'strength'>): PassThroughLinks {
  const established = establishedRelationships(d);
  const discount = FLOW_PARAMETERS.establishedRelationship.qualityFactor;
  const inflows = new Map<number, number[]>();
  const outflows = new Map<number, number[]>();
  for (let v = 0; v < f.nodeCount; v++) {
    if (isCard(d, f, v)) continue;
    const to = f.nodeTo[v]!;
    const from = f.nodeFrom[v]!;
    if (to >= 0) {
      let l = inflows.get(to);
      if (!l) inflows.set(to, (l = []));
      l.push(v);
    }
    if (from >= 0) {
      let l = outflows.get(from);
      if (!l) outflows.set(from, (l = []));
      l.push(v);
    }
  }
  const links = new LinkBuilder();
  const maxParts = FLOW_PARAMETERS.maxFanOut;
  for (const [acc, ins] of inflows) {
    const outs = outflows.get(acc);
    if (!outs) continue;
    ins.sort((x, y) => f.nodeTimeIn[x]! - f.nodeTimeIn[y]! || x - y);
    outs.sort((x, y) => f.nodeTimeOut[x]! - f.nodeTimeOut[y]! || x - y);
    const singlyLinkedOut = new Set<number>();
    let start = 0;
    for (const x of ins) {
      const tIn = f.nodeTimeIn[x]!;
      const a = f.nodeAmount[x]!;
      while (start < outs.length && f.nodeTimeOut[outs[start]!]! < tIn - EARLY) start++;
      const origin = otherSide(d, f, x, true);
      const fromEstablished = established(acc, origin);
      let best = -1;
      let bestQ = 0;
      const parts: number[] = [];
      for (let k = start; k < outs.length && k - start < SCAN_LIMIT; k++) {
        const y = outs[k]!;
        const dt = f.nodeTimeOut[y]! - tIn;
        if (dt > WINDOW) break;
        if (y === x || (origin >= 0 && otherSide(d, f, y, false) === origin)) continue;
        const r = f.nodeAmount[y]! / a;
        let q = ratioQuality(r) * delayQuality(dt);
        if (fromEstablished || established(acc, otherSide(d, f, y, false))) q *= discount;
        if (q > bestQ) {
          bestQ = q;
          best = y;
        }
        if (r >= FLOW_PARAMETERS.minPartFraction && r <= RATIO_MAX) parts.push(y);
      }
      if (best >= 0) {
        links.add(acc, x, best, bestQ, f.nodeTimeOut[best]! - tIn, f.nodeAmount[best]! / a);
        singlyLinkedOut.add(best);
        continue;
      }
      // Fan-out: several outgoing parts that together forward the incoming amount.
      let sum = 0;
      const chosen: number[] = [];
      for (const y of parts) {
        if (chosen.length === maxParts) break;
        if (sum + f.nodeAmount[y]! > RATIO_MAX * a) continue;
        sum += f.nodeAmount[y]!;
        chosen.push(y);
      }
      if (chosen.length >= 2 && sum >= RATIO_MIN * a) {
        const lastDelay = f.nodeTimeOut[chosen[chosen.length - 1]!]! - tIn;
        let q = 0.9 * ratioQuality(sum / a) * delayQuality(lastDelay);
        if (fromEstablished || chosen.some((y) => established(acc, otherSide(d, f, y, false)))) q *= discount;
        for (const y of chosen) links.add(acc, x, y, q, f.nodeTimeOut[y]! - tIn, sum / a);
      }
    }
    // Fan-in: several incoming parts collected and forwarded in one outgoing transfer.
    let end = 0;
    for (const y of outs) {
      if (singlyLinkedOut.has(y)) continue;
      const tOut = f.nodeTimeOut[y]!;
      const b = f.nodeAmount[y]!;
      while (end < ins.length && f.nodeTimeIn[ins[end]!]! <= tOut + EARLY) end++;
      const target = otherSide(d, f, y, false);
      let sum = 0;
      const chosen: number[] = [];
      for (let k = end - 1; k >= 0 && chosen.length < maxParts && end - k <= SCAN_LIMIT; k--) {
        const x = ins[k]!;
        if (tOut - f.nodeTimeIn[x]! > WINDOW) break;
        if (x === y || (target >= 0 && otherSide(d, f, x, true) === target)) continue;
        const part = f.nodeAmount[x]!;
        if (part < FLOW_PARAMETERS.minPartFraction * b || b / (sum + part) < RATIO_MIN) continue;
        sum += part;
        chosen.push(x);
        if (b / sum <= RATIO_MAX) break;
      }
      const r = sum > 0 ? b / sum : 0;
      if (chosen.length >= 2 && r >= RATIO_MIN && r <= RATIO_MAX) {
        const firstDelay = tOut - f.nodeTimeIn[chosen[chosen.length - 1]!]!;
        let q = 0.9 * ratioQuality(r) * delayQuality(firstDelay);
        if (established(acc, target) || chosen.some((x) => established(acc, otherSide(d, f, x, true)))) q *= discount;
        for (const x of chosen) links.add(acc, x, y, q, tOut - f.nodeTimeIn[x]!, r);
      }
    }
  }
  return links.build();
}

/** Strongest path through each transfer in the time-ordered DAG of pass-through links. */
function chainStrength(f: Omit<Flows, 'links' | 'strength'>, links: PassThroughLinks): Float64Array {
  const order = Array.from({ length: f.nodeCount }, (_, i) => i).sort((x, y) => f.nodeTimeOut[x]! - f.nodeTimeOut[y]! || x - y);
  const rank = new Int32Array(f.nodeCount);
  order.forEach((v, i) => (rank[v] = i));
  // Keep only links that go forward in that order: the graph is then acyclic by construction.
  const valid: number[] = [];
  for (let k = 0; k < links.count; k++) if (rank[links.to[k]!]! > rank[links.from[k]!]!) valid.push(k);
  const byTo = [...valid].sort((a, b) => rank[links.to[a]!]! - rank[links.to[b]!]!);
  const byFrom = [...valid].sort((a, b) => rank[links.from[b]!]! - rank[links.from[a]!]!);
  const forward = new Float64Array(f.nodeCount);
  const backward = new Float64Array(f.nodeCount);
  for (const k of byTo) {
    const v = forward[links.from[k]!]! + links.quality[k]!;
    if (v > forward[links.to[k]!]!) forward[links.to[k]!] = v;
  }
  for (const k of byFrom) {
    const v = backward[links.to[k]!]! + links.quality[k]!;
    if (v > backward[links.from[k]!]!) backward[links.from[k]!] = v;
  }
  const strength = new Float64Array(f.nodeCount);
  for (let v = 0; v < f.nodeCount; v++) strength[v] = forward[v]! + backward[v]!;
  return strength;
}

export function analyseFlows(d: Dataset): Flows {
  const base = linkTransfers(d);
  const links = passThroughLinks(d, base);
  return { ...base, links, strength: chainStrength(base, links) };
}

