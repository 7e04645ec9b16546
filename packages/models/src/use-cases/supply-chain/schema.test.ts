// supply_chain_lines_v1: every refusal of the validator, messages that name the field but never echo the
// value, and the JSON Schema's shape.
import { describe, expect, it } from 'vitest';
import { MIN_SUBSTRING_ID_LENGTH } from '../../release.js';
import { MAX_ERRORS } from '../../schema.js';
import { SKU_IDS } from './catalogue.js';
import { SUPPLY_CHAIN_LINES_V1, SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA, supplyChainLinesV1, validateSupplyChainLines, type SupplyChainLine } from './schema.js';

const line = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  lineId: 'line-1',
  sku: 'SKU-01',
  demandUnits: 100,
  capacityUnits: 60,
  unitCost: 1.8,
  leadTimeDays: 14,
  ...over,
});

function refusal(value: unknown): { index: number; field: string; message: string }[] {
  const r = validateSupplyChainLines(value);
  if (r.ok) throw new Error('expected a refusal');
  return r.errors;
}

describe('supply_chain_lines_v1', () => {
  it('accepts a valid document and returns copies of its records', () => {
    const doc = [line(), line({ lineId: 'line-2', sku: 'SKU-12', unitCost: 192, capacityUnits: 0, demandUnits: 0, leadTimeDays: 365 })];
    const r = supplyChainLinesV1.validate(doc);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.records).toEqual(doc);
    expect(r.records[0]).not.toBe(doc[0]);
    expect(supplyChainLinesV1.id).toBe(SUPPLY_CHAIN_LINES_V1);
  });

  it('accepts an empty document and one line for every SKU', () => {
    expect(validateSupplyChainLines([]).ok).toBe(true);
    const all = SKU_IDS.map((sku, i) => line({ lineId: `line-${i}`, sku, unitCost: 1 }));
    expect(validateSupplyChainLines(all).ok).toBe(true);
  });

  it('refuses a document that is not an array or holds more lines than the catalogue has SKUs', () => {
    expect(refusal({})).toEqual([{ index: -1, field: '', message: 'must be an array of records' }]);
    expect(refusal('x')[0]!.index).toBe(-1);
    const tooMany = Array.from({ length: SKU_IDS.length + 1 }, (_, i) => line({ lineId: `line-${i}` }));
    expect(refusal(tooMany)).toEqual([{ index: -1, field: '', message: `must hold at most ${SKU_IDS.length} records (one per SKU of the catalogue)` }]);
  });

  it('refuses a record that is not a plain object', () => {
    expect(refusal([null])).toEqual([{ index: 0, field: '', message: 'must be an object' }]);
    expect(refusal([line(), [1]])[0]).toMatchObject({ index: 1, field: '' });
  });

  it('refuses a missing field, naming it', () => {
    for (const field of ['lineId', 'sku', 'demandUnits', 'capacityUnits', 'unitCost', 'leadTimeDays']) {
      const rec = line();
      delete rec[field];
      expect(refusal([rec])).toEqual([{ index: 0, field, message: 'is required' }]);
    }
  });

  const cases: [string, unknown, string][] = [
    ['lineId', 7, 'must be a string'],
    ['lineId', '', 'must be 6 to 128 characters long'],
    ['lineId', 'ln-01', 'must be 6 to 128 characters long'],
    ['lineId', 'x'.repeat(129), 'must be 6 to 128 characters long'],
    ['sku', 'SKU-13', "must be one of the catalogue's SKUs SKU-01 to SKU-12"],
    ['sku', 3, "must be one of the catalogue's SKUs SKU-01 to SKU-12"],
    ['demandUnits', 1.5, 'must be an integer'],
    ['demandUnits', '5', 'must be an integer'],
    ['demandUnits', -1, 'must be between 0 and 1000000'],
    ['demandUnits', 1_000_001, 'must be between 0 and 1000000'],
    ['capacityUnits', 2.25, 'must be an integer'],
    ['capacityUnits', -3, 'must be between 0 and 1000000'],
    ['capacityUnits', 7_654_321, 'must be between 0 and 1000000'],
    ['unitCost', '1.2', 'must be a finite number'],
    ['unitCost', Number.NaN, 'must be a finite number'],
    ['unitCost', Number.POSITIVE_INFINITY, 'must be a finite number'],
    ['unitCost', 0, 'must be greater than 0'],
    ['unitCost', -2.5, 'must be greater than 0'],
    ['unitCost', 13.51, "must be at most 3 times the spot price of the record's sku"],
    ['leadTimeDays', 2.5, 'must be an integer'],
    ['leadTimeDays', -1, 'must be between 0 and 365'],
    ['leadTimeDays', 366, 'must be between 0 and 365'],
  ];
  it.each(cases)('refuses %s = %j without echoing it', (field, value, message) => {
    const errors = refusal([line({ [field]: value })]);
    expect(errors).toEqual([{ index: 0, field, message }]);
    if (typeof value === 'string' && value.length > 0) expect(errors[0]!.message).not.toContain(value);
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) > 10) expect(errors[0]!.message).not.toContain(String(value));
  });

  it('takes a lineId of 6 characters, the shortest the release policy also finds inside text', () => {
    expect(validateSupplyChainLines([line({ lineId: 'ln-001' })]).ok).toBe(true);
    expect((SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA as Record<string, any>).items.properties.lineId).toMatchObject({ minLength: MIN_SUBSTRING_ID_LENGTH, maxLength: 128 });
    expect(MIN_SUBSTRING_ID_LENGTH).toBe(6);
  });

  it("bounds unitCost by the record's own SKU (3 × spot)", () => {
    expect(validateSupplyChainLines([line({ sku: 'SKU-11', unitCost: 5.7 })]).ok).toBe(true);
    expect(refusal([line({ sku: 'SKU-11', unitCost: 5.71 })])[0]!.field).toBe('unitCost');
    expect(validateSupplyChainLines([line({ sku: 'SKU-12', unitCost: 192 })]).ok).toBe(true);
    // An unknown SKU is refused once, not again through unitCost.
    expect(refusal([line({ sku: 'nope', unitCost: 500 })])).toHaveLength(1);
  });

  it('refuses an unknown field without echoing its name', () => {
    const errors = refusal([line({ secretSupplierMargin: 0.3 })]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ index: 0, field: '<unknown>' });
    expect(errors[0]!.message).not.toContain('secretSupplierMargin');
  });

  it('refuses a second record of one sku and a repeated lineId', () => {
    expect(refusal([line(), line({ lineId: 'line-2' })])).toEqual([
      { index: 1, field: 'sku', message: 'duplicates the sku of an earlier record (one record per SKU)' },
    ]);
    expect(refusal([line(), line({ sku: 'SKU-02' })])).toEqual([{ index: 1, field: 'lineId', message: 'duplicates the lineId of an earlier record' }]);
  });

  it('reports every error of a record and stops at MAX_ERRORS', () => {
    const bad = line({ lineId: '', sku: 'x', demandUnits: -1, capacityUnits: 0.5, unitCost: 0, leadTimeDays: 999, extra: 1 });
    expect(refusal([bad])).toHaveLength(7);
    const r = validateSupplyChainLines(Array.from({ length: 12 }, () => bad));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(MAX_ERRORS);
    expect(r.truncated).toBe(true);
  });

  it('publishes a JSON Schema 2020-12 with the same bounds', () => {
    const s = SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA as Record<string, any>;
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.maxItems).toBe(SKU_IDS.length);
    expect(s.items.additionalProperties).toBe(false);
    expect(s.items.required).toEqual(['lineId', 'sku', 'demandUnits', 'capacityUnits', 'unitCost', 'leadTimeDays']);
    expect(s.items.properties.sku.enum).toEqual(SKU_IDS);
    expect(s.items.properties.demandUnits).toEqual({ type: 'integer', minimum: 0, maximum: 1_000_000 });
    expect(s.items.allOf).toHaveLength(SKU_IDS.length);
    expect(s.items.allOf[0]).toEqual({ if: { properties: { sku: { const: 'SKU-01' } }, required: ['sku'] }, then: { properties: { unitCost: { maximum: 13.5 } } } });
    expect(Object.isFrozen(s.items.properties)).toBe(true);
  });

  it('types a valid record as SupplyChainLine', () => {
    const r = validateSupplyChainLines([line()]);
    const rec: SupplyChainLine | undefined = r.ok ? r.records[0] : undefined;
    expect(rec?.sku).toBe('SKU-01');
  });
});
