/**
 * The one check of a party's records before anything derived from them leaves the party (secure
 * aggregation's statistics, mpc's Shamir shares): the data schema must be one of the session model's, and
 * the records must follow it. A refusal lists the first problems in its message and all of them in
 * `details` (record index, field, message — never a value).
 */
import { getDataSchema, getModel } from '@tenzro/models';
import type { ErrorDetail, SessionTerms } from '@tenzro/protocol';

/** How many schema problems a message spells out (all of them are in `details`). */
const LISTED_PROBLEMS = 5;

export type RecordCheckFailure =
  | { code: 'unknown_schema'; message: string }
  | { code: 'schema_validation_failed'; message: string; details: ErrorDetail[] };

/** The records of `data` under `dataSchema`, or why they cannot be used (nothing has been sent). */
export function checkRecords(terms: SessionTerms, dataSchema: string, data: unknown): { ok: true; records: unknown[] } | ({ ok: false } & RecordCheckFailure) {
  const model = getModel(terms.modelId);
  if (model === undefined) return { ok: false, code: 'unknown_schema', message: `this SDK does not know the model ${terms.modelId} of the session` };
  if (!model.dataSchemas.includes(dataSchema)) {
    return { ok: false, code: 'unknown_schema', message: `the model ${terms.modelId} takes ${model.dataSchemas.join(', ')}, not ${dataSchema}` };
  }
  const schema = getDataSchema(dataSchema);
  if (schema === undefined) return { ok: false, code: 'unknown_schema', message: `this SDK does not know the data schema ${dataSchema}` };
  const result = schema.validate(data);
  if (result.ok) return { ok: true, records: result.records };
  const details: ErrorDetail[] = result.errors.map((e) => ({
    ...(e.index >= 0 ? { index: e.index } : {}),
    ...(e.field ? { field: e.field } : {}),
    message: e.message,
  }));
  const listed = result.errors.slice(0, LISTED_PROBLEMS).map((e) => `${e.index >= 0 ? `record ${e.index}` : 'the data'}${e.field ? ` field ${e.field}` : ''}: ${e.message}`);
  const more = result.errors.length - listed.length;
  const tail = more > 0 || result.truncated ? `; and ${result.truncated ? 'more' : more} more` : '';
  return {
    ok: false,
    code: 'schema_validation_failed',
    message: `the records do not follow ${dataSchema} (nothing was sent): ${listed.join('; ')}${tail}`,
    details,
  };
}
