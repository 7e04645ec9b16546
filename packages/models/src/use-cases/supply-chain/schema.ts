// The supply_chain_lines_v1 data contract: one record per SKU a vendor deals in (its demand, capacity,
// unit cost and lead time this period). Its JSON Schema (2020-12) and a hand-written validator that also
// says what the schema says only clumsily (unitCost bounded by the record's own SKU) or not at all
// (one record per SKU, unique lineId). Messages name the record index and the field, never the value.
import { MIN_SUBSTRING_ID_LENGTH } from '../../release.js';
import { MAX_ERRORS, deepFreeze } from '../../schema.js';
import type { DataSchema, ValidationError, ValidationResult } from '../../types.js';
import { MAX_COST_RATIO, MAX_LEAD_TIME_DAYS, MAX_UNITS, SKU_CATALOGUE, SKU_IDS, skuIndex } from './catalogue.js';

export const SUPPLY_CHAIN_LINES_V1 = 'supply_chain_lines_v1';
/**
 * lineId bounds. The release policy (release.ts) finds an identifier shorter than MIN_SUBSTRING_ID_LENGTH
 * only as a whole string, so a short lineId inside a sentence of the findings would pass unseen: refused.
 */
const MIN_ID_LENGTH = MIN_SUBSTRING_ID_LENGTH;
const MAX_ID_LENGTH = 128;

/** One line of a vendor: a SKU it deals in this period. */
export interface SupplyChainLine {
  /** The vendor's own identifier of the line, 6 to 128 characters; never released. */
  lineId: string;
  /** One of the catalogue's SKUs; at most one record per SKU in a document. */
  sku: string;
  /** Units the vendor itself needs this period (integer, 0 to MAX_UNITS). */
  demandUnits: number;
  /** Units the vendor can make this period (integer, 0 to MAX_UNITS). */
  capacityUnits: number;
  /** What one unit made by the vendor costs, in CURRENCY: > 0 and at most MAX_COST_RATIO × the SKU's spot price. */
  unitCost: number;
  /** Days from order to delivery of the vendor's own production (integer, 0 to MAX_LEAD_TIME_DAYS). */
  leadTimeDays: number;
}

const FIELDS = ['lineId', 'sku', 'demandUnits', 'capacityUnits', 'unitCost', 'leadTimeDays'] as const;
const FIELD_SET: ReadonlySet<string> = new Set(FIELDS);
const UNIT_FIELDS = ['demandUnits', 'capacityUnits'] as const;
/** MAX_COST_RATIO × the SKU's spot price, to the cent (3 × 1.90 is 5.70, not 5.699999999999999). */
const MAX_UNIT_COST: readonly number[] = SKU_CATALOGUE.map((s) => Math.round(MAX_COST_RATIO * s.spotPrice * 100) / 100);

export const SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA: Readonly<Record<string, unknown>> = deepFreeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `urn:tenzro:schema:${SUPPLY_CHAIN_LINES_V1}`,
  title: SUPPLY_CHAIN_LINES_V1,
  description:
    'Supply lines of one vendor this period, one record per SKU of the catalogue it deals in: its own demand, its capacity, its cost per unit made and its lead time. Every sku appears at most once and every lineId is unique in the document.',
  type: 'array',
  maxItems: SKU_IDS.length,
  items: {
    type: 'object',
    additionalProperties: false,
    required: [...FIELDS],
    properties: {
      lineId: { type: 'string', minLength: MIN_ID_LENGTH, maxLength: MAX_ID_LENGTH, description: 'Unique within the document; never released.' },
      sku: { enum: [...SKU_IDS] },
      demandUnits: { type: 'integer', minimum: 0, maximum: MAX_UNITS },
      capacityUnits: { type: 'integer', minimum: 0, maximum: MAX_UNITS },
      unitCost: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: Math.max(...MAX_UNIT_COST),
        description: `Cost per unit made; at most ${MAX_COST_RATIO} times the spot price of the record's sku.`,
      },
      leadTimeDays: { type: 'integer', minimum: 0, maximum: MAX_LEAD_TIME_DAYS },
    },
    allOf: SKU_CATALOGUE.map((s, k) => ({
      if: { properties: { sku: { const: s.sku } }, required: ['sku'] },
      then: { properties: { unitCost: { maximum: MAX_UNIT_COST[k] } } },
    })),
  },
});

const plainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** Validates a supply_chain_lines_v1 document and returns copies of its records. */
export function validateSupplyChainLines(value: unknown): ValidationResult<SupplyChainLine> {
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
  if (value.length > SKU_IDS.length) {
    push(-1, '', `must hold at most ${SKU_IDS.length} records (one per SKU of the catalogue)`);
    return { ok: false, errors, truncated };
  }
  const records: SupplyChainLine[] = [];
  const seenSkus = new Set<string>();
  const seenIds = new Set<string>();
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
    // An unknown key is client data: it is not echoed.
    for (const key of Object.keys(item)) if (!FIELD_SET.has(key)) fail('<unknown>', `unknown field; allowed fields are ${FIELDS.join(', ')}`);
    for (const field of FIELDS) if (item[field] === undefined) fail(field, 'is required');
    const { lineId, sku, unitCost, leadTimeDays } = item;
    if (lineId !== undefined) {
      if (typeof lineId !== 'string') fail('lineId', 'must be a string');
      else if (lineId.length < MIN_ID_LENGTH || lineId.length > MAX_ID_LENGTH) fail('lineId', `must be ${MIN_ID_LENGTH} to ${MAX_ID_LENGTH} characters long`);
    }
    const k = typeof sku === 'string' ? skuIndex(sku) : -1;
    if (sku !== undefined && k < 0) fail('sku', `must be one of the catalogue's SKUs ${SKU_IDS[0]} to ${SKU_IDS[SKU_IDS.length - 1]}`);
    for (const field of UNIT_FIELDS) {
      const v = item[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, 'must be an integer');
      else if (v < 0 || v > MAX_UNITS) fail(field, `must be between 0 and ${MAX_UNITS}`);
    }
    if (unitCost !== undefined) {
      if (typeof unitCost !== 'number' || !Number.isFinite(unitCost)) fail('unitCost', 'must be a finite number');
      else if (!(unitCost > 0)) fail('unitCost', 'must be greater than 0');
      else if (k >= 0 && unitCost > MAX_UNIT_COST[k]!) {
        fail('unitCost', `must be at most ${MAX_COST_RATIO} times the spot price of the record's sku`);
      }
    }
    if (leadTimeDays !== undefined) {
      if (typeof leadTimeDays !== 'number' || !Number.isInteger(leadTimeDays)) fail('leadTimeDays', 'must be an integer');
      else if (leadTimeDays < 0 || leadTimeDays > MAX_LEAD_TIME_DAYS) fail('leadTimeDays', `must be between 0 and ${MAX_LEAD_TIME_DAYS}`);
    }
    if (!recordOk) continue;
    if (seenSkus.has(sku as string)) {
      push(i, 'sku', 'duplicates the sku of an earlier record (one record per SKU)');
      continue;
    }
    if (seenIds.has(lineId as string)) {
      push(i, 'lineId', 'duplicates the lineId of an earlier record');
      continue;
    }
    seenSkus.add(sku as string);
    seenIds.add(lineId as string);
    records.push({
      lineId: lineId as string,
      sku: sku as string,
      demandUnits: item.demandUnits as number,
      capacityUnits: item.capacityUnits as number,
      unitCost: unitCost as number,
      leadTimeDays: leadTimeDays as number,
    });
  }
  if (errors.length > 0) return { ok: false, errors, truncated };
  return { ok: true, records };
}

export const supplyChainLinesV1: DataSchema<SupplyChainLine> = Object.freeze({
  id: SUPPLY_CHAIN_LINES_V1,
  jsonSchema: SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA,
  validate: validateSupplyChainLines,
});
