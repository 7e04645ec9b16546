// Release policy (DESIGN §8), checked on every model output before it is sealed:
// 1. `shared` (content and findings) holds no transactionId, accountId or counterpartyAccountId of any
//    party: every string (keys and values) is scanned.
// 2. Each party's private findings flag only that party's own transactions, and mention no identifier
//    of another party that the party does not already hold in its own records.
// 3. Aggregates: every object in `shared.findings` with a boolean `suppressed` key is an aggregate; its
//    `count` must be 0 or at least minGroupSize, and a suppressed aggregate carries count = stats = null.
//    Numeric fields named like a count outside such an object are rejected as undeclared.
// Violation messages name the place and the party, never the identifier found.
import type { ModelOutput, Partition } from './types.js';

/** Identifiers shorter than this are matched only as whole strings, longer ones also inside text. */
export const MIN_SUBSTRING_ID_LENGTH = 6;

/** Finds known identifiers inside strings: exact matches for short ids, substring matches for long ones. */
export class IdentifierIndex {
  private readonly ids = new Set<string>();
  private readonly lengths = new Set<number>();

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (id.length >= MIN_SUBSTRING_ID_LENGTH) this.lengths.add(id.length);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Every identifier occurring in `text`. */
  occurrences(text: string): string[] {
    const found: string[] = [];
    if (this.ids.has(text)) found.push(text);
    for (const len of this.lengths) {
      if (len >= text.length) continue;
      for (let i = 0; i + len <= text.length; i++) {
        const sub = text.substring(i, i + len);
        if (this.ids.has(sub)) found.push(sub);
      }
    }
    return found;
  }

  /** `text` with every identifier replaced by `replacement`. */
  redact(text: string, replacement = '[redacted]'): string {
    let out = text;
    const found = this.occurrences(out).sort((a, b) => b.length - a.length);
    for (const id of found) out = out.split(id).join(replacement);
    return out;
  }
}

type Visitor = (text: string, path: string) => void;

function walkStrings(value: unknown, path: string, visit: Visitor, seen = new Set<object>()): void {
  if (typeof value === 'string') {
    visit(value, path);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkStrings(v, `${path}[${i}]`, visit, seen));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    visit(k, `${path} (key)`);
    walkStrings(v, `${path}.${k}`, visit, seen);
  }
}

const COUNT_KEY = /count$/i;

function checkAggregates(value: unknown, path: string, minGroupSize: number, violations: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkAggregates(v, `${path}[${i}]`, minGroupSize, violations));
    return;
  }
  const obj = value as Record<string, unknown>;
  const isAggregate = typeof obj.suppressed === 'boolean';
  if (isAggregate) {
    if (obj.suppressed) {
      if (obj.count !== null || (obj.stats !== null && obj.stats !== undefined)) {
        violations.push(`${path}: a suppressed aggregate must carry count = null and stats = null`);
      }
    } else if (typeof obj.count !== 'number' || !Number.isInteger(obj.count) || obj.count < 0) {
      violations.push(`${path}.count: must be a non-negative integer`);
    } else if (obj.count > 0 && obj.count < minGroupSize) {
      violations.push(`${path}.count: aggregate over fewer than ${minGroupSize} items is not suppressed`);
    }
  }
  for (const [k, v] of Object.entries(obj)) {
    if (!(isAggregate && k === 'count') && COUNT_KEY.test(k) && typeof v === 'number') {
      violations.push(`${path}.${k}: count field outside a declared aggregate`);
    }
    checkAggregates(v, `${path}.${k}`, minGroupSize, violations);
  }
}

export interface ReleaseOptions {
  minGroupSize?: number;
}

export type ReleaseResult = { ok: true } | { ok: false; violations: string[] };

/** Checks `output` against the release policy for the given partitions. */
export function checkRelease(output: ModelOutput, partitions: readonly Partition[], options: ReleaseOptions = {}): ReleaseResult {
  if (typeof output !== 'object' || output === null) throw new TypeError('output must be a model output object');
  if (!Array.isArray(partitions)) throw new TypeError('partitions must be an array');
  const minGroupSize = options.minGroupSize ?? 3;
  if (!Number.isInteger(minGroupSize) || minGroupSize < 1) throw new RangeError('minGroupSize must be a positive integer');
  const violations: string[] = [];
  const everyone = new IdentifierIndex();
  const ownIds = new Map<string, IdentifierIndex>();
  const ownTransactions = new Map<string, Set<string>>();
  for (const p of partitions) {
    const own = ownIds.get(p.partyId) ?? new IdentifierIndex();
    const tx = ownTransactions.get(p.partyId) ?? new Set<string>();
    for (const r of p.records) {
      for (const id of [r.transactionId, r.accountId, r.counterpartyAccountId]) {
        everyone.add(id);
        own.add(id);
      }
      tx.add(r.transactionId);
    }
    ownIds.set(p.partyId, own);
    ownTransactions.set(p.partyId, tx);
  }

  const shared = output.shared;
  if (typeof shared !== 'object' || shared === null) {
    violations.push('shared: missing');
  } else {
    walkStrings(shared, 'shared', (text, path) => {
      if (everyone.occurrences(text).length > 0) violations.push(`${path}: contains a record identifier`);
    });
    checkAggregates(shared.findings, 'shared.findings', minGroupSize, violations);
  }

  for (const [partyId, findings] of Object.entries(output.privateFindings ?? {})) {
    const own = ownIds.get(partyId);
    const tx = ownTransactions.get(partyId);
    if (!own || !tx) {
      violations.push(`privateFindings: an entry for a party that is not among the partitions`);
      continue;
    }
    const base = `privateFindings[${JSON.stringify(partyId)}]`;
    (findings?.flagged ?? []).forEach((f, i) => {
      if (!tx.has(f.transactionId)) violations.push(`${base}.flagged[${i}]: not a transaction of this party`);
    });
    walkStrings(findings, base, (text, path) => {
      if (everyone.occurrences(text).some((id) => !own.has(id))) {
        violations.push(`${path}: contains an identifier of another party`);
      }
    });
  }
  return violations.length === 0 ? { ok: true } : { ok: false, violations };
}
