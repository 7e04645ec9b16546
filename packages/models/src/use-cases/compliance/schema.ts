// The exposure_records_v1 data contract: one participant's (bank's) credit exposures in its reporting
// currency. JSON Schema (2020-12) plus a hand-written validator that enforces the same rules and what JSON
// Schema cannot say (exposureId unique within the document). Messages name the record index and the field,
// never the value. exposureId and counterpartyId have at least MIN_SUBSTRING_ID_LENGTH characters: the release
// policy (release.ts) finds an identifier inside text only from that length, shorter ones only as whole strings.
import { ISO_3166_ALPHA2_COUNTRIES } from '../../iso-codes.js';
import { MIN_SUBSTRING_ID_LENGTH } from '../../release.js';
import { MAX_RECORDS, deepFreeze } from '../../schema.js';
import { scanRecordDocument, type RecordDocumentRules } from '../../record-documents.js';
import type { DataSchema, ValidationResult } from '../../types.js';
import { EXPOSURE_RECORDS_V1, MAX_AMOUNT, SECTORS, type Sector } from './rules.js';

/** One exposure of the exposure_records_v1 contract. */
export interface ExposureRecord {
  /** Unique within the participant's document. */
  exposureId: string;
  /** The counterparty (single name) the exposure is to. */
  counterpartyId: string;
  sector: Sector;
  /** ISO 3166-1 alpha-2 code of the counterparty's jurisdiction. */
  country: string;
  /** Strictly positive, at most MAX_AMOUNT, in the reporting currency. */
  amount: number;
  /** Whether the exposure was reported to the regulator. */
  reported: boolean;
}

/** Shortest exposureId / counterpartyId: the release policy finds it inside released text, not only as a whole string. */
export const MIN_ID_LENGTH = MIN_SUBSTRING_ID_LENGTH;
const MAX_ID_LENGTH = 128;
const FIELDS = ['exposureId', 'counterpartyId', 'sector', 'country', 'amount', 'reported'] as const;
const COUNTRY_RE = /^[A-Z]{2}$/;

const idString = { type: 'string', minLength: MIN_ID_LENGTH, maxLength: MAX_ID_LENGTH } as const;

export const EXPOSURE_RECORDS_V1_JSON_SCHEMA: Readonly<Record<string, unknown>> = deepFreeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `urn:tenzro:schema:${EXPOSURE_RECORDS_V1}`,
  title: EXPOSURE_RECORDS_V1,
  description:
    "Credit exposures of one participant, in its reporting currency. exposureId is unique within the document; the same counterpartyId on several records means the same single name.",
  type: 'array',
  maxItems: MAX_RECORDS,
  items: {
    type: 'object',
    additionalProperties: false,
    required: [...FIELDS],
    properties: {
      exposureId: { ...idString, description: `Unique within the document; at least ${MIN_ID_LENGTH} characters, so the release policy can find it inside released text.` },
      counterpartyId: {
        ...idString,
        description: `The single name (counterparty) of the exposure; at least ${MIN_ID_LENGTH} characters, so the release policy can find it inside released text.`,
      },
      sector: { enum: [...SECTORS] },
      country: { type: 'string', enum: [...ISO_3166_ALPHA2_COUNTRIES], description: 'ISO 3166-1 alpha-2 code.' },
      amount: { type: 'number', exclusiveMinimum: 0, maximum: MAX_AMOUNT, description: 'In the reporting currency.' },
      reported: { type: 'boolean', description: 'Whether the exposure was reported to the regulator.' },
    },
  },
});

function validateExposureRecords(value: unknown): ValidationResult<ExposureRecord> {
  return scanRecordDocument(value, EXPOSURE_RULES);
}

const EXPOSURE_RULES: RecordDocumentRules<ExposureRecord> = {
  fields: FIELDS,
  unique: [{ field: 'exposureId', message: 'duplicates the exposureId of an earlier record' }],
  checkFields(item, fail) {
    for (const field of ['exposureId', 'counterpartyId'] as const) {
      const v = item[field];
      if (v === undefined) continue;
      if (typeof v !== 'string') fail(field, 'must be a string');
      else if (v.length < MIN_ID_LENGTH) fail(field, `must be at least ${MIN_ID_LENGTH} characters long, so the release policy can find it inside released text`);
      else if (v.length > MAX_ID_LENGTH) fail(field, `must be at most ${MAX_ID_LENGTH} characters long`);
    }
    if (item.sector !== undefined && !(SECTORS as readonly unknown[]).includes(item.sector)) {
      fail('sector', `must be one of ${SECTORS.join(', ')}`);
    }
    const country = item.country;
    if (country !== undefined) {
      if (typeof country !== 'string' || !COUNTRY_RE.test(country)) fail('country', 'must be an ISO 3166-1 alpha-2 code of two uppercase letters');
      else if (!ISO_3166_ALPHA2_COUNTRIES.has(country)) fail('country', 'is not an assigned ISO 3166-1 alpha-2 country code');
    }
    const amount = item.amount;
    if (amount !== undefined) {
      if (typeof amount !== 'number' || !Number.isFinite(amount)) fail('amount', 'must be a finite number');
      else if (!(amount > 0)) fail('amount', 'must be greater than 0');
      else if (amount > MAX_AMOUNT) fail('amount', `must be at most ${MAX_AMOUNT}`);
    }
    if (item.reported !== undefined && typeof item.reported !== 'boolean') fail('reported', 'must be a boolean');
  },
  build: (item) => ({
    exposureId: item.exposureId as string,
    counterpartyId: item.counterpartyId as string,
    sector: item.sector as Sector,
    country: item.country as string,
    amount: item.amount as number,
    reported: item.reported as boolean,
  }),
};

export const exposureRecordsV1: DataSchema<ExposureRecord> = Object.freeze({
  id: EXPOSURE_RECORDS_V1,
  jsonSchema: EXPOSURE_RECORDS_V1_JSON_SCHEMA,
  validate: validateExposureRecords,
});
