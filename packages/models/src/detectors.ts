// Pattern detectors. Each returns per-record evidence in [0, 1] plus the groups ("findings") behind it.
// - Mule chains: transfers on a strong chain of pass-through links (flows.ts).
// - Structuring: repeated amounts in [90%, 100%) of the 10,000 reporting threshold, same account and
//   direction, consecutive ones at most 5 days apart: three or more, or a pair within 3 days with cash.
// - Dormant accounts: first activity after >= 90 days of silence moving a large sum (>= 5,000 and
//   >= 5x the account's earlier median and >= 1.5x its earlier maximum) within 30 days.
import { CHANNEL_CARD, CHANNEL_CASH, DAY, median, type Dataset } from './dataset.js';
import type { Flows } from './flows.js';

export const DETECTOR_PARAMETERS = Object.freeze({
  flagThreshold: 0.5,
  chain: { flagStrength: 1.75, minAmountForFullScore: 1000 },
  structuring: { threshold: 10_000, lowerFraction: 0.9, maxGapDays: 5, pairMaxSpanDays: 3 },
  dormant: { minGapDays: 90, longGapDays: 180, burstDays: 30, minAmount: 5_000, medianMultiple: 5, maxMultiple: 1.5 },
});

const CHAIN_FLAG_STRENGTH = DETECTOR_PARAMETERS.chain.flagStrength;

export type PatternKind = 'muleChain' | 'structuring' | 'dormant';

export interface Finding {
  kind: PatternKind;
  /** Global record indices. */
  records: number[];
  score: number;
  /** Aggregate-safe descriptors used for reasons and shared statistics. */
  detail: Record<string, number>;
}

export interface Evidence {
  /** Per-record evidence by pattern. */
  chain: Float64Array;
  structuring: Float64Array;
  dormant: Float64Array;
  /** Per-record index into `findings` (-1: none) for each pattern. */
  chainFinding: Int32Array;
  structuringFinding: Int32Array;
  dormantFinding: Int32Array;
  /** Best pass-through link touching each record (features and weak-evidence reasons). */
  passThroughQuality: Float64Array;
  passThroughDelayHours: Float64Array;
  passThroughRetained: Float64Array;
  findings: Finding[];
}

/**
 * Chain evidence from the strength S of the strongest chain through a transfer (sum of link qualities).
 * One pass-through (S <= 1) stays weak (<= 0.3); two fast, amount-preserving hops (S >= 1.75) reach the
 * flag threshold, as do three hops of up to two or three days each; longer chains approach 1. Chains moving under 1,000 count 30% less.
 */
export function chainScore(strength: number, maxAmount: number): number {
  let s: number;
  if (strength <= 0) return 0;
  if (strength < 1) s = 0.3 * strength;
  else if (strength < CHAIN_FLAG_STRENGTH) s = 0.3 + ((strength - 1) / (CHAIN_FLAG_STRENGTH - 1)) * 0.2;
  else if (strength < 2.5) s = 0.5 + ((strength - CHAIN_FLAG_STRENGTH) / (2.5 - CHAIN_FLAG_STRENGTH)) * 0.35;
  else s = 0.85 + (Math.min(strength - 2.5, 1.5) / 1.5) * 0.12;
  if (maxAmount < DETECTOR_PARAMETERS.chain.minAmountForFullScore) s *= 0.7;
  return s;
}

class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(x: number): number {
    let r = x;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[x] !== r) {
      const next = this.parent[x]!;
      this.parent[x] = r;
      x = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[ra] = rb;
  }
}

function detectChains(d: Dataset, f: Flows, ev: Evidence): void {
  const threshold = DETECTOR_PARAMETERS.flagThreshold;
  const L = f.links;
  // Pass-through statistics go to the two records held at the account the money passed through
  // (its incoming credit and outgoing debit), never to the other sides of those transfers.
  for (let k = 0; k < L.count; k++) {
    for (const rec of [f.nodeIn[L.from[k]!]!, f.nodeOut[L.to[k]!]!]) {
      if (rec < 0 || d.account[rec] !== L.account[k] || L.quality[k]! <= ev.passThroughQuality[rec]!) continue;
      ev.passThroughQuality[rec] = L.quality[k]!;
      ev.passThroughDelayHours[rec] = L.delayHours[k]!;
      ev.passThroughRetained[rec] = L.retained[k]!;
    }
  }
  // Weak evidence for every transfer from its own strongest chain.
  const member = new Uint8Array(f.nodeCount);
  for (let v = 0; v < f.nodeCount; v++) {
    const s = chainScore(f.strength[v]!, f.nodeAmount[v]!);
    for (const rec of [f.nodeOut[v]!, f.nodeIn[v]!]) if (rec >= 0) ev.chain[rec] = s;
    if (f.strength[v]! >= CHAIN_FLAG_STRENGTH) member[v] = 1;
  }
  // Chains: transfers on a strong enough chain, joined by the pass-through links between them.
  const uf = new UnionFind(f.nodeCount);
  for (let k = 0; k < L.count; k++) if (member[L.from[k]!] && member[L.to[k]!]) uf.union(L.from[k]!, L.to[k]!);
  const groups = new Map<number, number[]>();
  for (let v = 0; v < f.nodeCount; v++) {
    if (!member[v]) continue;
    const root = uf.find(v);
    let g = groups.get(root);
    if (!g) groups.set(root, (g = []));
    g.push(v);
  }
  const linkDelays = new Map<number, number[]>();
  const linkRetained = new Map<number, number[]>();
  for (let k = 0; k < L.count; k++) {
    if (!member[L.from[k]!] || !member[L.to[k]!]) continue;
    const root = uf.find(L.from[k]!);
    (linkDelays.get(root) ?? linkDelays.set(root, []).get(root)!).push(L.delayHours[k]!);
    (linkRetained.get(root) ?? linkRetained.set(root, []).get(root)!).push(L.retained[k]!);
  }
  for (const [root, nodes] of groups) {
    const records: number[] = [];
    const parties = new Set<number>();
    const accounts = new Set<number>();
    let maxAmount = 0;
    let maxStrength = 0;
    for (const v of nodes) {
      for (const rec of [f.nodeOut[v]!, f.nodeIn[v]!]) {
        if (rec < 0) continue;
        records.push(rec);
        parties.add(d.party[rec]!);
      }
      if (f.nodeFrom[v]! >= 0) accounts.add(f.nodeFrom[v]!);
      if (f.nodeTo[v]! >= 0) accounts.add(f.nodeTo[v]!);
      maxAmount = Math.max(maxAmount, f.nodeAmount[v]!);
      maxStrength = Math.max(maxStrength, f.strength[v]!);
    }
    const score = chainScore(maxStrength, maxAmount);
    for (const rec of records) ev.chain[rec] = Math.max(ev.chain[rec]!, Math.min(score, 0.49));
    if (score < threshold) continue;
    const delays = linkDelays.get(root) ?? [];
    const retained = linkRetained.get(root) ?? [];
    const index = ev.findings.length;
    ev.findings.push({
      kind: 'muleChain',
      records,
      score,
      detail: {
        hops: delays.length,
        transfers: nodes.length,
        institutions: parties.size,
        accounts: accounts.size,
        medianHopHours: delays.length > 0 ? median(delays) : 0,
        medianRetained: retained.length > 0 ? median(retained) : 0,
        volume: maxAmount,
      },
    });
    for (const rec of records) {
      ev.chain[rec] = score;
      ev.chainFinding[rec] = index;
    }
  }
}

function nearThreshold(amount: number): boolean {
  const { threshold, lowerFraction } = DETECTOR_PARAMETERS.structuring;
  return amount >= lowerFraction * threshold && amount < threshold;
}

function detectStructuring(d: Dataset, ev: Evidence): void {
  const { maxGapDays, pairMaxSpanDays } = DETECTOR_PARAMETERS.structuring;
  for (let a = 0; a < d.accountCount; a++) {
    const s = d.accountStart[a]!;
    const e = d.accountStart[a + 1]!;
    if (e - s < 2) continue;
    for (const dir of [0, 1]) {
      let cluster: number[] = [];
      const flush = (): void => {
        if (cluster.length >= 2) emitStructuring(d, ev, cluster, pairMaxSpanDays);
        cluster = [];
      };
      for (let k = s; k < e; k++) {
        const rec = d.accountRecords[k]!;
        if (d.credit[rec] !== dir || d.channel[rec] === CHANNEL_CARD || !nearThreshold(d.amount[rec]!)) continue;
        if (cluster.length > 0 && d.time[rec]! - d.time[cluster[cluster.length - 1]!]! > maxGapDays * DAY) flush();
        cluster.push(rec);
      }
      flush();
    }
  }
}

function emitStructuring(d: Dataset, ev: Evidence, cluster: number[], pairMaxSpanDays: number): void {
  const span = (d.time[cluster[cluster.length - 1]!]! - d.time[cluster[0]!]!) / DAY;
  const k = cluster.length;
  if (k === 2 && span > pairMaxSpanDays) return;
  const cash = cluster.filter((r) => d.channel[r] === CHANNEL_CASH).length;
  // Three or more is structuring; a pair is only when cash is involved (classic cash structuring).
  let score = k >= 3 ? 0.9 : cash > 0 ? 0.55 : 0.45;
  if (k >= 3 && cash * 2 >= k) score += 0.05;
  if (k >= 5) score += 0.03;
  let total = 0;
  for (const r of cluster) total += d.amount[r]!;
  const index = ev.findings.length;
  ev.findings.push({ kind: 'structuring', records: [...cluster], score, detail: { transactions: k, spanDays: span, cash, volume: total } });
  for (const r of cluster) {
    if (score > ev.structuring[r]!) {
      ev.structuring[r] = score;
      ev.structuringFinding[r] = index;
    }
  }
}

function detectDormant(d: Dataset, ev: Evidence): void {
  const P = DETECTOR_PARAMETERS.dormant;
  for (let a = 0; a < d.accountCount; a++) {
    const s = d.accountStart[a]!;
    const e = d.accountStart[a + 1]!;
    if (e - s < 2) continue;
    for (let k = s + 1; k < e; k++) {
      const prev = d.accountRecords[k - 1]!;
      const first = d.accountRecords[k]!;
      const gapDays = (d.time[first]! - d.time[prev]!) / DAY;
      if (gapDays < P.minGapDays) continue;
      const prior: number[] = [];
      for (let j = s; j < k; j++) prior.push(d.amount[d.accountRecords[j]!]!);
      const priorMedian = median(prior);
      let priorMax = 0;
      for (const v of prior) if (v > priorMax) priorMax = v;
      const bar = Math.max(P.minAmount, P.medianMultiple * priorMedian, P.maxMultiple * priorMax);
      const burst: number[] = [];
      let credit = false;
      let debit = false;
      let volume = 0;
      for (let j = k; j < e; j++) {
        const rec = d.accountRecords[j]!;
        if (d.time[rec]! - d.time[first]! > P.burstDays * DAY) break;
        if (d.amount[rec]! < bar) continue;
        burst.push(rec);
        volume += d.amount[rec]!;
        if (d.credit[rec]) credit = true;
        else debit = true;
      }
      if (burst.length === 0) continue;
      let score = 0.75;
      if (gapDays >= P.longGapDays) score += 0.1;
      if (credit && debit) score += 0.05;
      if (volume >= 20 * priorMedian * burst.length) score += 0.03;
      const index = ev.findings.length;
      ev.findings.push({
        kind: 'dormant',
        records: burst,
        score,
        detail: { gapDays, transactions: burst.length, multipleOfMedian: volume / burst.length / Math.max(priorMedian, 0.01), volume },
      });
      for (const rec of burst) {
        if (score > ev.dormant[rec]!) {
          ev.dormant[rec] = score;
          ev.dormantFinding[rec] = index;
        }
      }
    }
  }
}

/** Runs every detector over the dataset. */
export function detect(d: Dataset, flows: Flows): Evidence {
  const ev: Evidence = {
    chain: new Float64Array(d.n),
    structuring: new Float64Array(d.n),
    dormant: new Float64Array(d.n),
    chainFinding: new Int32Array(d.n).fill(-1),
    structuringFinding: new Int32Array(d.n).fill(-1),
    dormantFinding: new Int32Array(d.n).fill(-1),
    passThroughQuality: new Float64Array(d.n),
    passThroughDelayHours: new Float64Array(d.n).fill(NaN),
    passThroughRetained: new Float64Array(d.n).fill(NaN),
    findings: [],
  };
  detectChains(d, flows, ev);
  detectStructuring(d, ev);
  detectDormant(d, ev);
  return ev;
}

/** Noisy-or of the pattern evidence of one record. */
export function detectorScore(ev: Evidence, rec: number): number {
  return 1 - (1 - ev.chain[rec]!) * (1 - ev.structuring[rec]!) * (1 - ev.dormant[rec]!);
}
