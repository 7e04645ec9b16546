// The transaction_records_v1 data contract: its JSON Schema (2020-12) and a hand-written validator that
// enforces the same rules plus what JSON Schema cannot say (unique transactionId, a real calendar
// date). Error messages name the record index and the field, never the value.
import type { DataSchema, TransactionRecord, ValidationResult } from './types.js';
import { ISO_3166_ALPHA2_COUNTRIES, ISO_4217_CURRENCIES } from './iso-codes.js';
import { scanRecordDocument, type RecordDocumentRules } from './record-documents.js';

export const TRANSACTION_RECORDS_V1 = 'transaction_records_v1';
export const MAX_RECORDS = 1_000_000;
export const MAX_ERRORS = 20;
const MAX_ID_LENGTH = 128;
const MAX_AMOUNT = 1e15;

export const DIRECTIONS = ['debit', 'credit'] as const;
export const CHANNELS = ['wire', 'ach', 'card', 'cash', 'internal'] as const;
export const LABELS = ['fraud', 'legit'] as const;
const FIELDS = [
  'transactionId',
  'accountId',
  'counterpartyAccountId',
  'counterpartyBank',
  'amount',
  'currency',
  'direction',
  'timestamp',
  'channel',
  'country',
  'label',
] as const;
const REQUIRED = FIELDS.filter((f) => f !== 'label');

/** ISO 8601 date-time: date, 'T' or space, hh:mm[:ss[.fraction]], optional Z or ±hh[:]mm (none = UTC). */
export const TIMESTAMP_PATTERN = '^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?$';
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):?(\d{2}))?$/;
const CURRENCY_RE = /^[A-Z]{3}$/;
const COUNTRY_RE = /^[A-Z]{2}$/;

const idString = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } as const;

/** Freezes `value` and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const TRANSACTION_RECORDS_V1_JSON_SCHEMA: Readonly<Record<string, unknown>> = deepFreeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:tenzro:schema:transaction_records_v1',
  title: 'transaction_records_v1',
  description:
    'Bank transaction records of one party. A debit moves money out of accountId, a credit into it. Account ids are globally unique; a counterparty at a participating bank appears there under the same id.',
  type: 'array',
  maxItems: MAX_RECORDS,
  items: {
    type: 'object',
    additionalProperties: false,
    required: [...REQUIRED],
    properties: {
      transactionId: { ...idString, description: 'Unique within the party.' },
      accountId: { ...idString },
      counterpartyAccountId: { ...idString },
      counterpartyBank: { ...idString, description: "Tenant id of a participating bank (e.g. 'bankB') or another code." },
      amount: { type: 'number', exclusiveMinimum: 0, maximum: MAX_AMOUNT },
      currency: { type: 'string', enum: [...ISO_4217_CURRENCIES], description: 'ISO 4217 alphabetic code.' },
      direction: { enum: [...DIRECTIONS] },
      timestamp: { type: 'string', pattern: TIMESTAMP_PATTERN, description: 'ISO 8601 date-time; no zone means UTC.' },
      channel: { enum: [...CHANNELS] },
      country: { type: 'string', enum: [...ISO_3166_ALPHA2_COUNTRIES], description: 'ISO 3166-1 alpha-2 code.' },
      label: { enum: [...LABELS] },
    },
  },
});

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Milliseconds since the epoch of a timestamp matching TIMESTAMP_PATTERN, or NaN if it is not a real instant. */
export function parseTimestamp(text: string): number {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] === undefined ? 0 : Number(m[7]);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return NaN;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const maxDay = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > maxDay) return NaN;
  let offsetMinutes = 0;
  if (m[8] !== undefined && m[8] !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return NaN;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(fraction * 1000) - offsetMinutes * 60_000;
}

function validateTransactionRecords(value: unknown): ValidationResult<TransactionRecord> {
  return scanRecordDocument(value, { ...TRANSACTION_RULES, build: buildTransactionRecord });
}

/** Validates without copying the records (for callers that only need the verdict). */
export function checkTransactionRecords(value: unknown): ValidationResult<TransactionRecord> {
  return scanRecordDocument<TransactionRecord>(value, TRANSACTION_RULES);
}

const TRANSACTION_RULES: RecordDocumentRules<TransactionRecord> = {
  fields: FIELDS,
  required: REQUIRED,
  unique: [{ field: 'transactionId', message: 'duplicates the transactionId of an earlier record' }],
  checkFields(item, fail) {
    for (const field of ['transactionId', 'accountId', 'counterpartyAccountId', 'counterpartyBank'] as const) {
      const v = item[field];
      if (v === undefined) continue;
      if (typeof v !== 'string') fail(field, 'must be a string');
      else if (v.length < 1 || v.length > MAX_ID_LENGTH) fail(field, `must be 1 to ${MAX_ID_LENGTH} characters long`);
    }
    const amount = item.amount;
    if (amount !== undefined) {
      if (typeof amount !== 'number' || !Number.isFinite(amount)) fail('amount', 'must be a finite number');
      else if (!(amount > 0)) fail('amount', 'must be greater than 0');
      else if (amount > MAX_AMOUNT) fail('amount', `must be at most ${MAX_AMOUNT}`);
    }
    if (item.currency !== undefined && (typeof item.currency !== 'string' || !CURRENCY_RE.test(item.currency))) {
      fail('currency', 'must be an ISO 4217 code of three uppercase letters');
    } else if (typeof item.currency === 'string' && !ISO_4217_CURRENCIES.has(item.currency)) {
      fail('currency', 'is not an ISO 4217 currency code');
    }
    if (item.country !== undefined && (typeof item.country !== 'string' || !COUNTRY_RE.test(item.country))) {
      fail('country', 'must be an ISO 3166-1 alpha-2 code of two uppercase letters');
    } else if (typeof item.country === 'string' && !ISO_3166_ALPHA2_COUNTRIES.has(item.country)) {
      fail('country', 'is not an assigned ISO 3166-1 alpha-2 country code');
    }
    if (item.direction !== undefined && !(DIRECTIONS as readonly unknown[]).includes(item.direction)) {
      fail('direction', `must be one of ${DIRECTIONS.join(', ')}`);
    }
    if (item.channel !== undefined && !(CHANNELS as readonly unknown[]).includes(item.channel)) {
      fail('channel', `must be one of ${CHANNELS.join(', ')}`);
    }
    if (item.label !== undefined && !(LABELS as readonly unknown[]).includes(item.label)) {
      fail('label', `must be one of ${LABELS.join(', ')} when present`);
    }
    if (item.timestamp !== undefined) {
      if (typeof item.timestamp !== 'string') fail('timestamp', 'must be a string');
      else if (Number.isNaN(parseTimestamp(item.timestamp))) fail('timestamp', 'must be an ISO 8601 date-time (YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm])');
    }
  },
};

function buildTransactionRecord(item: Record<string, unknown>): TransactionRecord {
  const record: TransactionRecord = {
    transactionId: item.transactionId as string,
    accountId: item.accountId as string,
    counterpartyAccountId: item.counterpartyAccountId as string,
    counterpartyBank: item.counterpartyBank as string,
    amount: item.amount as number,
    currency: item.currency as string,
    direction: item.direction as TransactionRecord['direction'],
    timestamp: item.timestamp as string,
    channel: item.channel as TransactionRecord['channel'],
    country: item.country as string,
  };
  if (item.label !== undefined) record.label = item.label as TransactionRecord['label'];
  return record;
}

/** The transaction_records_v1 schema. The registry (registry.ts getDataSchema) lists it with the use-case models' schemas. */
export const TRANSACTION_RECORDS_V1_SCHEMA: DataSchema<TransactionRecord> = Object.freeze({
  id: TRANSACTION_RECORDS_V1,
  jsonSchema: TRANSACTION_RECORDS_V1_JSON_SCHEMA,
  validate: validateTransactionRecords,
});
