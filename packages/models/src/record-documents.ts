// The document-level half of every data schema's validator: a document is an array of plain-object records;
// each record has only known fields and every required one; the schema's own field checks run; values named
// unique may not repeat; errors are collected up to MAX_ERRORS (then `truncated`). No message echoes a value
// or an unknown key: both are client data.
import { MAX_ERRORS, MAX_RECORDS } from './schema.js';
import type { ValidationError, ValidationResult } from './types.js';

export const plainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

export interface RecordDocumentRules<T> {
  /** Every field a record may have, in the order messages list them. */
  readonly fields: readonly string[];
  /** Fields a record must have (default: all of `fields`). */
  readonly required?: readonly string[];
  /** Most records per document, and the message past it (default MAX_RECORDS). */
  readonly maxRecords?: { readonly count: number; readonly message: string };
  /** The schema's checks of one record's present fields: `fail(field, message)` per problem. */
  checkFields(item: Record<string, unknown>, fail: (field: string, message: string) => void): void;
  /** Fields whose values may not repeat across the document, checked in order once a record's fields pass. */
  readonly unique: ReadonlyArray<{ readonly field: string; readonly message: string }>;
  /** The record kept for a valid item; omitted: the caller only wants the verdict (no copy is made). */
  build?(item: Record<string, unknown>): T;
}

export function scanRecordDocument<T>(value: unknown, rules: RecordDocumentRules<T>): ValidationResult<T> {
  const errors: ValidationError[] = [];
  let truncated = false;
  const push = (index: number, field: string, message: string): void => {
    if (errors.length >= MAX_ERRORS) truncated = true;
    else errors.push({ index, field, message });
  };
  if (!Array.isArray(value)) {
    push(-1, '', 'must be an array of records');
    return { ok: false, errors, truncated };
  }
  const limit = rules.maxRecords ?? { count: MAX_RECORDS, message: `must hold at most ${MAX_RECORDS} records` };
  if (value.length > limit.count) {
    push(-1, '', limit.message);
    return { ok: false, errors, truncated };
  }
  const allowed: ReadonlySet<string> = new Set(rules.fields);
  const required = rules.required ?? rules.fields;
  const seen = rules.unique.map(() => new Set<unknown>());
  const records: T[] = rules.build ? new Array(value.length) : [];
  for (let i = 0; i < value.length && !truncated; i++) {
    const item: unknown = value[i];
    if (!plainObject(item)) {
      push(i, '', 'must be an object');
      continue;
    }
    let recordOk = true;
    const fail = (field: string, message: string): void => {
      recordOk = false;
      push(i, field, message);
    };
    for (const key of Object.keys(item)) {
      if (!allowed.has(key)) fail('<unknown>', `unknown field; allowed fields are ${rules.fields.join(', ')}`);
    }
    for (const field of required) {
      if (!(field in item) || item[field] === undefined) fail(field, 'is required');
    }
    rules.checkFields(item, fail);
    if (!recordOk) continue;
    const repeated = rules.unique.findIndex((u, k) => seen[k]!.has(item[u.field]));
    if (repeated !== -1) {
      push(i, rules.unique[repeated]!.field, rules.unique[repeated]!.message);
      continue;
    }
    rules.unique.forEach((u, k) => seen[k]!.add(item[u.field]));
    if (rules.build) records[i] = rules.build(item);
  }
  if (errors.length > 0) return { ok: false, errors, truncated };
  return { ok: true, records };
}
