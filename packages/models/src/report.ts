// Shared findings (aggregates only) and the deterministic narrative written from them.
import type { Aggregate } from './types.js';

export function aggregate(count: number, minGroupSize: number, stats: Record<string, unknown> | null): Aggregate {
  if (count > 0 && count < minGroupSize) return { count: null, suppressed: true, stats: null };
  return { count, suppressed: false, stats: count === 0 ? null : stats };
}

const BUCKETS: ReadonlyArray<[number, string]> = [
  [10_000, 'under 10k'],
  [100_000, '10k-100k'],
  [1_000_000, '100k-1M'],
  [10_000_000, '1M-10M'],
  [Infinity, '10M or more'],
];

/** Coarse amount bucket (amounts are summed across currencies at face value). */
export function volumeBucket(total: number): string {
  for (const [limit, label] of BUCKETS) if (total < limit) return label;
  return BUCKETS[BUCKETS.length - 1]![1];
}

/** 12345 -> "12,345" (locale-independent). */
export function formatInt(n: number): string {
  const s = String(Math.round(Math.abs(n)));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${grouped}` : grouped;
}

/** Short, locale-independent rendering: 1e-5 rather than 0.00001, 1.5 rather than 1.50. */
export function formatNumber(x: number): string {
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential();
  return String(round(x, 6));
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface NarrativeInput {
  modelId: string;
  participants: number;
  recordsAnalysed: number;
  focus: string;
  minGroupSize: number;
  patterns: { muleChains: Aggregate; structuring: Aggregate; dormantAccounts: Aggregate };
  needingOtherParties: Aggregate;
  flagged: Aggregate;
  privacyStatement: string;
  modelLine: string;
}

function countPhrase(a: Aggregate, noun: string, plural: string, minGroupSize: number): string {
  if (a.suppressed) return `fewer than ${minGroupSize} ${plural} (suppressed)`;
  if (a.count === 0) return `no ${plural}`;
  return `${formatInt(a.count!)} ${a.count === 1 ? noun : plural}`;
}

/** The report text, written from aggregates only and cut to `maxWords` words. */
export function writeNarrative(input: NarrativeInput, maxWords: number): string {
  const m = input.minGroupSize;
  const lines: string[] = [];
  lines.push(
    `Cross-institution risk analysis (${input.modelId}, federated method) over ${formatInt(input.recordsAnalysed)} transaction records from ${input.participants} participating institution${input.participants === 1 ? '' : 's'}.`,
  );
  if (input.focus.length > 0) lines.push(`Analysis focus: ${input.focus}`);
  const chains = input.patterns.muleChains;
  let chainLine = `Mule chains: ${countPhrase(chains, 'chain', 'chains', m)} of fast, amount-preserving pass-through transfers`;
  if (!chains.suppressed && chains.count! > 0 && chains.stats) {
    const s = chains.stats;
    chainLine += ` (${formatInt(s.transactions as number)} transactions; median ${s.medianHops} hops across ${s.medianInstitutions} institution(s), median ${s.medianHopHours} h per hop; total volume ${s.volumeBucket})`;
  }
  lines.push(`${chainLine}.`);
  const st = input.patterns.structuring;
  let stLine = `Structuring: ${countPhrase(st, 'account episode', 'account episodes', m)} of repeated amounts just below the 10,000 reporting threshold`;
  if (!st.suppressed && st.count! > 0 && st.stats) stLine += ` (${formatInt(st.stats.transactions as number)} transactions; volume ${st.stats.volumeBucket})`;
  lines.push(`${stLine}.`);
  const dm = input.patterns.dormantAccounts;
  let dmLine = `Dormant accounts: ${countPhrase(dm, 'account', 'accounts', m)} suddenly moving large sums after long inactivity`;
  if (!dm.suppressed && dm.count! > 0 && dm.stats) {
    dmLine += ` (${formatInt(dm.stats.transactions as number)} transactions; median ${dm.stats.medianGapDays} days dormant; volume ${dm.stats.volumeBucket})`;
  }
  lines.push(`${dmLine}.`);
  const x = input.needingOtherParties;
  lines.push(
    `Findings that needed other institutions' data: ${x.suppressed ? `fewer than ${m} (suppressed)` : formatInt(x.count!)}; they are invisible to any single institution and appear only once transfers are linked across institutions inside the enclave.`,
  );
  const f = input.flagged;
  lines.push(
    `Flagged transactions: ${f.suppressed ? `fewer than ${m} (suppressed)` : formatInt(f.count!)}. Each institution receives the list of its own flagged transactions only.`,
  );
  lines.push(input.modelLine);
  lines.push(input.privacyStatement);
  const words = lines.join('\n').split(/(\s+)/);
  let count = 0;
  let out = '';
  for (const token of words) {
    if (/\S/.test(token)) {
      if (count === maxWords) return `${out.trimEnd()} …`;
      count++;
    }
    out += token;
  }
  return out;
}

/** Words of narrative a run writes when its parameters name no maxTokens. */
export const DEFAULT_MAX_TOKENS = 400;

/** Prompt and generation parameters, common to every method. */
export function checkGeneration(input: { prompt: unknown; parameters?: { maxTokens?: number; temperature?: number } }): { maxTokens: number; temperature: number } {
  if (typeof input.prompt !== 'string') throw new TypeError('prompt must be a string');
  const params = input.parameters ?? {};
  if (typeof params !== 'object' || params === null) throw new TypeError('parameters must be an object');
  const maxTokens = params.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 100_000) throw new RangeError('parameters.maxTokens must be an integer in [1, 100000]');
  const temperature = params.temperature ?? 0;
  if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2)) throw new RangeError('parameters.temperature must be in [0, 2]');
  return { maxTokens, temperature };
}
