// The supply_chain_lines_v1 data contract: one record per SKU a vendor deals in (its demand, capacity,
// unit cost and lead time this period). Its JSON Schema (2020-12) and a hand-written validator that also
// says what the schema says only clumsily (unitCost bounded by the record's own SKU) or not at all
// (one record per SKU, unique lineId). Messages name the record index and the field, never the value.
import { MIN_SUBSTRING_ID_LENGTH } from '../../release.js';
import { deepFreeze } from '../../schema.js';
import { scanRecordDocument, type RecordDocumentRules } from '../../record-documents.js';
import type { DataSchema, ValidationResult } from '../../types.js';
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

/** Validates a supply_chain_lines_v1 document and returns copies of its records. */
export function validateSupplyChainLines(value: unknown): ValidationResult<SupplyChainLine> {
  return scanRecordDocument(value, SUPPLY_CHAIN_RULES);
}

const SUPPLY_CHAIN_RULES: RecordDocumentRules<SupplyChainLine> = {
  fields: FIELDS,
  maxRecords: { count: SKU_IDS.length, message: `must hold at most ${SKU_IDS.length} records (one per SKU of the catalogue)` },
  unique: [
    { field: 'sku', message: 'duplicates the sku of an earlier record (one record per SKU)' },
    { field: 'lineId', message: 'duplicates the lineId of an earlier record' },
  ],
  checkFields(item, fail) {
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
  },
  build: (item) => ({
    lineId: item.lineId as string,
    sku: item.sku as string,
    demandUnits: item.demandUnits as number,
    capacityUnits: item.capacityUnits as number,
    unitCost: item.unitCost as number,
    leadTimeDays: item.leadTimeDays as number,
  }),
};

export const supplyChainLinesV1: DataSchema<SupplyChainLine> = Object.freeze({
  id: SUPPLY_CHAIN_LINES_V1,
  jsonSchema: SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA,
  validate: validateSupplyChainLines,
});
