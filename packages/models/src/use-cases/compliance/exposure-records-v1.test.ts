// exposure_records_v1: the JSON Schema and the validator agree on what a document is; every refusal names
// the record and field and never echoes the offending value.
import { describe, expect, it } from 'vitest';
import { MAX_ERRORS, MAX_RECORDS } from '../../schema.js';
import { EXPOSURE_RECORDS_V1_JSON_SCHEMA, MIN_ID_LENGTH, exposureRecordsV1, type ExposureRecord } from './schema.js';
import { EXPOSURE_RECORDS_V1, MAX_AMOUNT, SECTORS } from './rules.js';

const SECRET = 'SECRET-7f3a9c';
const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  exposureId: 'exp-000001',
  counterpartyId: 'cp-000001',
  sector: 'energy',
  country: 'DE',
  amount: 12_500.5,
  reported: true,
  ...over,
});

function refusal(doc: unknown): { index: number; field: string; message: string }[] {
  const result = exposureRecordsV1.validate(doc);
  if (result.ok) throw new Error('expected a refusal');
  const text = JSON.stringify(result.errors);
  expect(text).not.toContain(SECRET);
  return result.errors;
}

describe('exposure_records_v1', () => {
  it('accepts a valid document and copies the records', () => {
    const doc = [valid(), valid({ exposureId: 'exp-000002', sector: 'real_estate', country: 'IR', amount: MAX_AMOUNT, reported: false })];
    const result = exposureRecordsV1.validate(doc);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.records).toEqual(doc);
    expect(result.records[0]).not.toBe(doc[0]);
    expect(exposureRecordsV1.validate([]).ok).toBe(true);
    expect(exposureRecordsV1.id).toBe(EXPOSURE_RECORDS_V1);
  });

  it('declares the same contract in JSON Schema 2020-12', () => {
    const s = EXPOSURE_RECORDS_V1_JSON_SCHEMA as { $schema: string; maxItems: number; items: Record<string, unknown> };
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.maxItems).toBe(MAX_RECORDS);
    const items = s.items as { additionalProperties: boolean; required: string[]; properties: Record<string, Record<string, unknown>> };
    expect(items.additionalProperties).toBe(false);
    expect([...items.required].sort()).toEqual(['amount', 'counterpartyId', 'country', 'exposureId', 'reported', 'sector']);
    expect(items.properties.sector!.enum).toEqual([...SECTORS]);
    expect(items.properties.amount).toMatchObject({ exclusiveMinimum: 0, maximum: MAX_AMOUNT });
    expect(items.properties.exposureId).toMatchObject({ minLength: 6, maxLength: 128 });
    expect(items.properties.counterpartyId).toMatchObject({ minLength: 6, maxLength: 128 });
    expect(Object.isFrozen(items.properties.amount)).toBe(true);
  });

  it('refuses a document that is not an array, or too long', () => {
    expect(refusal({ records: [] })).toEqual([{ index: -1, field: '', message: 'must be an array of records' }]);
    expect(refusal(new Array(MAX_RECORDS + 1))).toEqual([{ index: -1, field: '', message: `must hold at most ${MAX_RECORDS} records` }]);
  });

  it('refuses a record that is not a plain object', () => {
    expect(refusal([valid(), null, [1], 'x'])).toEqual([
      { index: 1, field: '', message: 'must be an object' },
      { index: 2, field: '', message: 'must be an object' },
      { index: 3, field: '', message: 'must be an object' },
    ]);
  });

  it('refuses an unknown field without echoing its name', () => {
    const errors = refusal([valid({ [SECRET]: 1 })]);
    expect(errors).toEqual([{ index: 0, field: '<unknown>', message: expect.stringContaining('unknown field') }]);
  });

  it.each(['exposureId', 'counterpartyId', 'sector', 'country', 'amount', 'reported'])('refuses a record without %s', (field) => {
    const doc = valid();
    delete doc[field];
    expect(refusal([doc])).toEqual([{ index: 0, field, message: 'is required' }]);
  });

  const bad: [string, unknown, string][] = [
    ['exposureId', 42, 'must be a string'],
    ['exposureId', '', 'must be at least 6 characters long, so the release policy can find it inside released text'],
    ['exposureId', 'e-123', 'must be at least 6 characters long, so the release policy can find it inside released text'],
    ['exposureId', SECRET.repeat(20), 'must be at most 128 characters long'],
    ['counterpartyId', { id: SECRET }, 'must be a string'],
    ['counterpartyId', '', 'must be at least 6 characters long, so the release policy can find it inside released text'],
    ['counterpartyId', 'cp-12', 'must be at least 6 characters long, so the release policy can find it inside released text'],
    ['counterpartyId', SECRET.repeat(20), 'must be at most 128 characters long'],
    ['sector', SECRET, `must be one of ${SECTORS.join(', ')}`],
    ['sector', 'Energy', `must be one of ${SECTORS.join(', ')}`],
    ['country', 'de', 'must be an ISO 3166-1 alpha-2 code of two uppercase letters'],
    ['country', 49, 'must be an ISO 3166-1 alpha-2 code of two uppercase letters'],
    ['country', 'XK', 'is not an assigned ISO 3166-1 alpha-2 country code'],
    ['amount', '1000', 'must be a finite number'],
    ['amount', Number.NaN, 'must be a finite number'],
    ['amount', Number.POSITIVE_INFINITY, 'must be a finite number'],
    ['amount', 0, 'must be greater than 0'],
    ['amount', -5, 'must be greater than 0'],
    ['amount', MAX_AMOUNT * 1.5, `must be at most ${MAX_AMOUNT}`],
    ['reported', 'yes', 'must be a boolean'],
    ['reported', 1, 'must be a boolean'],
  ];
  it.each(bad)('refuses %s = %j', (field, value, message) => {
    const errors = refusal([valid(), valid({ exposureId: 'exp-000002', [field]: value })]);
    expect(errors).toEqual([{ index: 1, field, message }]);
  });

  it('accepts identifiers of 6 characters, the shortest the release policy finds inside text, and never echoes a short one', () => {
    expect(MIN_ID_LENGTH).toBe(6);
    expect(exposureRecordsV1.validate([valid({ exposureId: 'exp-01', counterpartyId: 'cp-001' })]).ok).toBe(true);
    const short = SECRET.slice(0, 5);
    for (const field of ['exposureId', 'counterpartyId']) {
      const result = exposureRecordsV1.validate([valid({ [field]: short })]);
      expect(result).toEqual({ ok: false, errors: [{ index: 0, field, message: expect.stringMatching(/^must be at least 6 characters long/) }], truncated: false });
      expect(JSON.stringify(result)).not.toContain(short);
    }
  });

  it('refuses a duplicate exposureId, naming the later record', () => {
    expect(refusal([valid({ exposureId: SECRET }), valid({ exposureId: SECRET })])).toEqual([
      { index: 1, field: 'exposureId', message: 'duplicates the exposureId of an earlier record' },
    ]);
  });

  it('stops after MAX_ERRORS errors and says so', () => {
    const doc = Array.from({ length: 50 }, () => valid({ amount: -1 }));
    const result = exposureRecordsV1.validate(doc);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(MAX_ERRORS);
    expect(result.truncated).toBe(true);
  });

  it('types the records it returns', () => {
    const result = exposureRecordsV1.validate([valid()]);
    if (!result.ok) throw new Error('expected ok');
    const r: ExposureRecord = result.records[0]!;
    expect(r.sector).toBe('energy');
  });
});
