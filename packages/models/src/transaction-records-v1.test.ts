// transaction_records_v1: the JSON Schema and the validator that enforces it.
import { describe, expect, it } from 'vitest';
import { MAX_ERRORS, MAX_RECORDS, TRANSACTION_RECORDS_V1, getDataSchema, listDataSchemas, useCaseModels, type TransactionRecord } from './index.js';
import { parseTimestamp } from './schema.js';
import { ISO_3166_ALPHA2_COUNTRIES, ISO_4217_CURRENCIES } from './iso-codes.js';

const schema = getDataSchema(TRANSACTION_RECORDS_V1)!;

const valid = (over: Partial<TransactionRecord> = {}): TransactionRecord => ({
  transactionId: 'TX-0001',
  accountId: 'DE89370400440532013000',
  counterpartyAccountId: 'FR7630006000011234567890189',
  counterpartyBank: 'bankB',
  amount: 120.5,
  currency: 'EUR',
  direction: 'debit',
  timestamp: '2024-03-01T10:15:00Z',
  channel: 'wire',
  country: 'DE',
  ...over,
});

describe('registry', () => {
  it('knows transaction_records_v1 first, then only the use-case models\' schemas', () => {
    expect(listDataSchemas()).toEqual(['transaction_records_v1', ...useCaseModels().map((u) => u.spec.schema.id)]);
    expect(schema.id).toBe('transaction_records_v1');
    expect(getDataSchema('nope')).toBeUndefined();
    expect(() => getDataSchema(1 as unknown as string)).toThrow(TypeError);
  });

  it('publishes a JSON Schema 2020-12 of an array of closed records', () => {
    const js = schema.jsonSchema as Record<string, any>;
    expect(js.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(js.type).toBe('array');
    expect(js.maxItems).toBe(MAX_RECORDS);
    expect(js.items.additionalProperties).toBe(false);
    expect(js.items.required).toEqual([
      'transactionId', 'accountId', 'counterpartyAccountId', 'counterpartyBank', 'amount', 'currency', 'direction', 'timestamp', 'channel', 'country',
    ]);
    expect(js.items.properties.amount).toEqual({ type: 'number', exclusiveMinimum: 0, maximum: 1e15 });
    expect(js.items.properties.direction.enum).toEqual(['debit', 'credit']);
    expect(js.items.properties.channel.enum).toEqual(['wire', 'ach', 'card', 'cash', 'internal']);
    expect(js.items.properties.label.enum).toEqual(['fraud', 'legit']);
    expect(Object.isFrozen(js.items.properties)).toBe(true);
  });
});

describe('validate', () => {
  it('accepts valid records, with and without a label, and returns copies', () => {
    const input = [valid(), valid({ transactionId: 'TX-0002', direction: 'credit', label: 'fraud', timestamp: '2024-03-01 10:15' })];
    const result = schema.validate(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.records).toEqual(input);
    expect(result.records[0]).not.toBe(input[0]);
  });

  it('names index and field and never echoes the offending value', () => {
    const secret = 'SECRET-9f3a77';
    const bad = [
      valid(),
      valid({ transactionId: 'TX-2', amount: -5 }),
      valid({ transactionId: 'TX-3', currency: secret }),
      valid({ transactionId: 'TX-4', direction: secret as 'debit' }),
      valid({ transactionId: 'TX-5', timestamp: `2024-13-01T00:00:00Z${secret}` }),
      valid({ transactionId: 'TX-6', country: secret }),
      valid({ transactionId: 'TX-7', channel: secret as 'wire' }),
      valid({ transactionId: 'TX-8', label: secret as 'fraud' }),
      { ...valid({ transactionId: 'TX-9' }), [secret]: 1 },
      valid({ transactionId: 'TX-1'.repeat(100) }),
    ];
    const result = schema.validate(bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'amount'],
      [2, 'currency'],
      [3, 'direction'],
      [4, 'timestamp'],
      [5, 'country'],
      [6, 'channel'],
      [7, 'label'],
      [8, '<unknown>'],
      [9, 'transactionId'],
    ]);
    expect(JSON.stringify(result.errors)).not.toContain(secret);
    expect(JSON.stringify(result.errors)).not.toContain('-5');
    expect(result.errors[0]!.message).toBe('must be greater than 0');
    expect(result.errors[7]!.message).toMatch(/^unknown field/);
  });

  it('reports missing fields and wrong types', () => {
    const { amount: _a, ...noAmount } = valid();
    const result = schema.validate([noAmount, { ...valid(), transactionId: 7 }, 'x', null]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { index: 0, field: 'amount', message: 'is required' },
      { index: 1, field: 'transactionId', message: 'must be a string' },
      { index: 2, field: '', message: 'must be an object' },
      { index: 3, field: '', message: 'must be an object' },
    ]);
  });

  it('rejects duplicate transaction ids', () => {
    const result = schema.validate([valid(), valid()]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([{ index: 1, field: 'transactionId', message: 'duplicates the transactionId of an earlier record' }]);
  });

  it(`stops at ${MAX_ERRORS} errors`, () => {
    const many = Array.from({ length: 50 }, (_, i) => valid({ transactionId: `T${i}`, amount: 0 }));
    const result = schema.validate(many);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(MAX_ERRORS);
    expect(result.truncated).toBe(true);
  });

  it('rejects a non-array and more than 1,000,000 records without looking at them', () => {
    expect(schema.validate({})).toEqual({ ok: false, errors: [{ index: -1, field: '', message: 'must be an array of records' }], truncated: false });
    const huge = new Array(MAX_RECORDS + 1);
    expect(schema.validate(huge)).toEqual({ ok: false, errors: [{ index: -1, field: '', message: 'must hold at most 1000000 records' }], truncated: false });
  });

  it('accepts exactly the empty array', () => {
    expect(schema.validate([])).toEqual({ ok: true, records: [] });
  });
});

describe('timestamps (ISO 8601)', () => {
  it.each([
    ['2024-03-01T10:15:00Z', Date.UTC(2024, 2, 1, 10, 15)],
    ['2024-03-01T10:15:00.250Z', Date.UTC(2024, 2, 1, 10, 15, 0, 250)],
    ['2024-03-01T12:15:00+02:00', Date.UTC(2024, 2, 1, 10, 15)],
    ['2024-03-01T05:15:00-0500', Date.UTC(2024, 2, 1, 10, 15)],
    ['2024-03-01T10:15', Date.UTC(2024, 2, 1, 10, 15)],
    ['2024-02-29 10:15:00', Date.UTC(2024, 1, 29, 10, 15)],
  ])('%s', (text, ms) => expect(parseTimestamp(text)).toBe(ms));

  it.each(['2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-03-01T24:00:00Z', '2024-03-01', '01/03/2024 10:15', '2024-03-01T10:15:00+25:00'])(
    'rejects %s',
    (text) => expect(parseTimestamp(text)).toBeNaN(),
  );
});

describe('ISO code lists', () => {
  it('accepts real currency and country codes and refuses well-formed codes that are not assigned', () => {
    const ok = schema.validate([valid({ currency: 'CHF', country: 'LI' }), valid({ transactionId: 'tx-2', currency: 'JPY', country: 'JP' })]);
    expect(ok.ok).toBe(true);
    const bad = schema.validate([
      valid({ currency: 'XYZ' }),
      valid({ transactionId: 'tx-2', country: 'UK' }),
      valid({ transactionId: 'tx-3', country: 'ZZ' }),
    ]);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors).toEqual([
      { index: 0, field: 'currency', message: 'is not an ISO 4217 currency code' },
      { index: 1, field: 'country', message: 'is not an assigned ISO 3166-1 alpha-2 country code' },
      { index: 2, field: 'country', message: 'is not an assigned ISO 3166-1 alpha-2 country code' },
    ]);
  });

  it('holds the 249 assigned ISO 3166-1 elements', () => {
    expect(ISO_3166_ALPHA2_COUNTRIES.size).toBe(249);
    for (const code of ['DE', 'GB', 'US', 'CH', 'AX', 'SS', 'BQ']) expect(ISO_3166_ALPHA2_COUNTRIES.has(code)).toBe(true);
    for (const code of ['UK', 'EU', 'XK', 'ZZ', 'YU']) expect(ISO_3166_ALPHA2_COUNTRIES.has(code)).toBe(false);
    for (const code of ['EUR', 'USD', 'GBP', 'CHF', 'XOF', 'XAU']) expect(ISO_4217_CURRENCIES.has(code)).toBe(true);
  });
});
