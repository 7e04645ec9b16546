// A toy use-case model for the kit's tests (kit.test.ts): parcel deliveries of several depots, five
// statistics (two counts, a sum and a two-bin histogram), its own tiny schema `toy_deliveries_v1`. Not
// registered: the tests define it with defineUseCaseModel themselves.
import { aggregate, round } from '../report.js';
import { seededRng } from '../rng.js';
import type { DataSchema, ValidationError, ValidationResult } from '../types.js';
import type { UseCaseModelSpec } from './contract.js';

export interface ToyDelivery {
  deliveryId: string;
  courierId: string;
  late: boolean;
  /** In [0, 50]. */
  weightKg: number;
}

export const TOY_SCHEMA_ID = 'toy_deliveries_v1';
export const TOY_SCALE = 10;
export const TOY_MIN_GROUP_SIZE = 5;
const FIELDS = ['deliveryId', 'courierId', 'late', 'weightKg'] as const;
const HEAVY_KG = 20;

function validate(value: unknown): ValidationResult<ToyDelivery> {
  const errors: ValidationError[] = [];
  if (!Array.isArray(value)) return { ok: false, errors: [{ index: -1, field: '', message: 'must be an array of records' }], truncated: false };
  const records: ToyDelivery[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push({ index, field: '', message: 'must be an object' });
      return;
    }
    const r = item as Record<string, unknown>;
    for (const key of Object.keys(r)) if (!(FIELDS as readonly string[]).includes(key)) errors.push({ index, field: '<unknown>', message: 'unknown field' });
    for (const field of ['deliveryId', 'courierId'] as const) {
      if (typeof r[field] !== 'string' || (r[field] as string).length === 0) errors.push({ index, field, message: 'must be a non-empty string' });
    }
    if (typeof r.late !== 'boolean') errors.push({ index, field: 'late', message: 'must be a boolean' });
    if (typeof r.weightKg !== 'number' || !(r.weightKg >= 0 && r.weightKg <= 50)) errors.push({ index, field: 'weightKg', message: 'must be a number from 0 to 50' });
    records.push({ deliveryId: r.deliveryId as string, courierId: r.courierId as string, late: r.late as boolean, weightKg: r.weightKg as number });
  });
  return errors.length > 0 ? { ok: false, errors, truncated: false } : { ok: true, records };
}

export const TOY_SCHEMA: DataSchema<ToyDelivery> = Object.freeze({
  id: TOY_SCHEMA_ID,
  jsonSchema: Object.freeze({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: TOY_SCHEMA_ID,
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: [...FIELDS],
      properties: {
        deliveryId: { type: 'string', minLength: 1 },
        courierId: { type: 'string', minLength: 1 },
        late: { type: 'boolean' },
        weightKg: { type: 'number', minimum: 0, maximum: 50 },
      },
    },
  }),
  validate,
});

/** The toy spec with `overrides` (tests vary one field at a time). */
export function toySpec(overrides: Partial<UseCaseModelSpec<ToyDelivery>> = {}): UseCaseModelSpec<ToyDelivery> {
  return {
    id: 'toy-deliveries',
    version: '1.0.0',
    useCase: 'supply-chain',
    description: 'Toy model: pooled late-delivery rate and parcel weight of several depots.',
    schema: TOY_SCHEMA,
    identifierFields: ['deliveryId', 'courierId'],
    scale: TOY_SCALE,
    statistics: [
      { name: 'count:deliveries', kind: 'count', perRecordMax: TOY_SCALE },
      { name: 'count:late', kind: 'count', perRecordMax: TOY_SCALE },
      { name: 'sum:weight_kg', kind: 'sum', perRecordMax: 50 * TOY_SCALE },
      { name: 'histogram:weight_light', kind: 'histogram', perRecordMax: TOY_SCALE, group: 'weight' },
      { name: 'histogram:weight_heavy', kind: 'histogram', perRecordMax: TOY_SCALE, group: 'weight' },
    ],
    constants: { heavyKg: HEAVY_KG },
    minGroupSize: TOY_MIN_GROUP_SIZE,
    partyStatistics(records) {
      const v = [0, 0, 0, 0, 0];
      for (const r of records) {
        v[0]! += TOY_SCALE;
        if (r.late) v[1]! += TOY_SCALE;
        v[2]! += Math.round(TOY_SCALE * r.weightKg);
        v[r.weightKg >= HEAVY_KG ? 4 : 3]! += TOY_SCALE;
      }
      return v;
    },
    analyse(sum) {
      const n = Math.max(0, Math.round(sum.get('count:deliveries') / sum.scale));
      const late = Math.min(n, Math.max(0, Math.round(sum.get('count:late') / sum.scale)));
      const weight = Math.max(0, sum.get('sum:weight_kg') / sum.scale);
      const deliveries = aggregate(n, TOY_MIN_GROUP_SIZE, { meanWeightKg: n > 0 ? round(weight / n, 2) : 0 });
      const lateDeliveries = aggregate(late, TOY_MIN_GROUP_SIZE, n >= TOY_MIN_GROUP_SIZE ? { rate: round(late / n, 4) } : null);
      return {
        findings: { deliveries, lateDeliveries },
        content: `Pooled deliveries of ${sum.parties} depots: ${deliveries.suppressed ? 'too few to report' : String(deliveries.count)}; late: ${lateDeliveries.suppressed ? 'suppressed' : String(lateDeliveries.count)}.`,
      };
    },
    privateFindings(records, analysis) {
      const late = records.filter((r) => r.late).length;
      const pooled = (analysis.findings.lateDeliveries as { stats: { rate?: number } | null }).stats?.rate ?? null;
      return { flagged: [], summary: { deliveriesAnalysed: records.length, ownLateShare: records.length ? round(late / records.length, 4) : 0, pooledLateRate: pooled } };
    },
    generateDemo(options = {}) {
      const parties = options.parties ?? ['depotA', 'depotB', 'depotC'];
      const n = options.recordsPerParty ?? 60;
      const rng = seededRng(options.seed ?? 1);
      const lateRate = 0.2;
      const partitions = parties.map((partyId) => ({
        partyId,
        records: Array.from({ length: n }, (_, i) => ({
          deliveryId: `${partyId}-delivery-${String(i).padStart(4, '0')}`,
          courierId: `${partyId}-courier-${i % 7}`,
          late: rng.nextFloat() < lateRate,
          weightKg: round(50 * rng.nextFloat(), 1),
        })),
      }));
      return { partitions, truth: { lateRate } };
    },
    evaluateDemo(truth, findings) {
      const rate = (findings.lateDeliveries as { stats: { rate?: number } | null } | undefined)?.stats?.rate;
      const recovered = typeof rate === 'number' && Math.abs(rate - (truth.lateRate as number)) < 0.1;
      return { recovered, figures: { lateRate: rate ?? 'suppressed' } };
    },
    ...overrides,
  };
}
