// Release policy (DESIGN §8), checked on every model output before it is sealed:
// 1. `shared` (content and findings) holds no record identifier of any party — by default a transaction
//    record's transactionId, accountId and counterpartyAccountId; a model with other records names its own
//    (`identifiersOf`, e.g. a use-case model's identifier fields): every string (keys and values) is scanned.
// 2. Each party's private findings flag only that party's own transactions, and mention no identifier
//    of another party that the party does not already hold in its own records.
// 3. Aggregates: every object in `shared.findings` with a boolean `suppressed` key is an aggregate; its
//    `count` must be 0 or at least minGroupSize, and a suppressed aggregate carries count = stats = null.
//    Numeric fields named like a count outside such an object are rejected as undeclared.
// Violation messages name the place and the party, never the identifier found.
import type { ModelOutput } from './types.js';

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
  /** Smallest count a released aggregate may hold (other than 0); default 3. */
  minGroupSize?: number;
  /** The identifiers in one record that no shared output may contain; default transactionIdentifiers. */
  identifiersOf?: (record: unknown) => readonly string[];
}

/** One party's records, as the release policy reads them (only through `identifiersOf`, and `transactionId`). */
export interface ReleasePartition {
  readonly partyId: string;
  readonly records: readonly unknown[];
}

export type ReleaseResult = { ok: true } | { ok: false; violations: string[] };

const stringField = (record: unknown, field: string): string | undefined => {
  if (typeof record !== 'object' || record === null) return undefined;
  const v = (record as Record<string, unknown>)[field];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
};

/** A transaction record's identifiers: transactionId, accountId and counterpartyAccountId (those present). */
export function transactionIdentifiers(record: unknown): string[] {
  const out: string[] = [];
  for (const field of ['transactionId', 'accountId', 'counterpartyAccountId']) {
    const v = stringField(record, field);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/**
 * Checks `output` against the release policy for the given partitions. Flagged private findings must name a
 * `transactionId` of the party's own records (models whose records have none flag nothing).
 */
export function checkRelease(output: ModelOutput, partitions: readonly ReleasePartition[], options: ReleaseOptions = {}): ReleaseResult {
  if (typeof output !== 'object' || output === null) throw new TypeError('output must be a model output object');
  if (!Array.isArray(partitions)) throw new TypeError('partitions must be an array');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const minGroupSize = options.minGroupSize ?? 3;
  if (!Number.isInteger(minGroupSize) || minGroupSize < 1) throw new RangeError('minGroupSize must be a positive integer');
  const identifiersOf = options.identifiersOf ?? transactionIdentifiers;
  if (typeof identifiersOf !== 'function') throw new TypeError('identifiersOf must be a function');
  const violations: string[] = [];
  const everyone = new IdentifierIndex();
  const ownIds = new Map<string, IdentifierIndex>();
  const ownTransactions = new Map<string, Set<string>>();
  for (const p of partitions) {
    const own = ownIds.get(p.partyId) ?? new IdentifierIndex();
    const tx = ownTransactions.get(p.partyId) ?? new Set<string>();
    for (const r of p.records) {
      const ids = identifiersOf(r);
      if (!Array.isArray(ids)) throw new TypeError('identifiersOf must return an array of strings');
      for (const id of ids) {
        if (typeof id !== 'string') throw new TypeError('identifiersOf must return an array of strings');
        if (id.length === 0) continue;
        everyone.add(id);
        own.add(id);
      }
      const transactionId = stringField(r, 'transactionId');
      if (transactionId !== undefined) tx.add(transactionId);
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
