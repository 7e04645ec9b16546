/**
 * Opening one submission inside the enclave: stream-decrypt the blob under the session key (HPKE envelope,
 * info DATA_INFO), parse the plaintext as strict JSON, recompute the commitment (plain or salted, DESIGN
 * §5.4) and validate the records against the data schema the session's model declares.
 *
 * Refusals (TenzroError): `decryption_failed` (every envelope failure looks the same: no oracle),
 * `invalid_json`, `commitment_mismatch`, `schema_validation_failed` (details name record index and field,
 * never a value), `unknown_schema`, `payload_too_large`, `invalid_request` (unreadable blob).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  COMMITMENT_SALT_LENGTH,
  DATA_INFO,
  JsonInputError,
  fromBase64Url,
  hashCommitment,
  openEnvelopeStream,
  parseStrictJson,
  saltedCommitment,
  utf8Decode,
  type SecretBytes,
} from '@tenzro/crypto';
import { getDataSchema, type DataSchema } from '@tenzro/models';
import { CONTRIBUTION_TYPE, TenzroError, type ChannelSubmission, type ErrorDetail } from '@tenzro/protocol';
import { refuse } from './errors.js';

/** The `type` of a salted contribution payload: `{ type, salt: base64url(32 bytes), data }`. */

/** Largest plaintext the enclave will assemble for one submission. */
export const MAX_PLAINTEXT_BYTES = 256 * 1024 * 1024;

/** At most this many schema problems are reported (the first ones, in record order). */
export const MAX_SCHEMA_DETAILS = 100;

const JSON_MAX_DEPTH = 64;

export interface ModelSchemas {
  readonly dataSchemas: readonly string[];
}

/** Any registered schema: transaction_records_v1 or a use-case model's (records typed by the model, not here). */
type Schema = DataSchema<unknown>;

export interface OpenedSubmission {
  partyId: string;
  commitment: string;
  dataSchema: string;
  /** Hex SHA-256 of the ciphertext bytes read: two submissions of one blob have the same. */
  ciphertextHash: string;
  /** The records as the schema validated (and copied) them. */
  records: unknown[];
}

class BlobReadError extends Error {
  constructor(cause: unknown) {
    super('submission blob cannot be read', { cause });
    this.name = 'BlobReadError';
  }
}

async function* readBlob(path: string, hash: Hash): AsyncGenerator<Uint8Array> {
  let stream;
  try {
    stream = createReadStream(path, { highWaterMark: 1 << 16 });
  } catch (cause) {
    throw new BlobReadError(cause);
  }
  const iterator = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await iterator.next();
      } catch (cause) {
        throw new BlobReadError(cause);
      }
      if (next.done) return;
      hash.update(next.value);
      yield new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  } finally {
    stream.destroy();
  }
}

/** Whether `error` or anything in its `cause` chain is an instance of `kind`. */
function causedBy(error: unknown, kind: new (...args: never[]) => Error): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = (e as Error).cause, depth++) {
    if (e instanceof kind) return true;
  }
  return false;
}

/** Decrypts the whole blob; wipes intermediate plaintext buffers. */
async function decryptBlob(privateKey: SecretBytes, blobPath: string): Promise<{ plaintext: Uint8Array; ciphertextHash: string }> {
  const hash = createHash('sha256');
  const parts: Uint8Array[] = [];
  let size = 0;
  const wipe = (): void => {
    for (const part of parts) part.fill(0);
  };
  try {
    for await (const chunk of openEnvelopeStream(privateKey, readBlob(blobPath, hash), { info: DATA_INFO })) {
      size += chunk.length;
      parts.push(chunk);
      if (size > MAX_PLAINTEXT_BYTES) {
        throw refuse('payload_too_large', `the decrypted submission exceeds ${MAX_PLAINTEXT_BYTES} bytes`);
      }
    }
  } catch (error) {
    wipe();
    if (causedBy(error, BlobReadError)) throw refuse('invalid_request', 'the submission blob cannot be read');
    if (error instanceof TenzroError) throw error;
    throw refuse('decryption_failed', 'the submission could not be decrypted with the session key');
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  wipe();
  return { plaintext: out, ciphertextHash: hash.digest('hex') };
}

function parsePayload(plaintext: Uint8Array): unknown {
  try {
    return parseStrictJson(utf8Decode(plaintext), { maxDepth: JSON_MAX_DEPTH });
  } catch (error) {
    if (error instanceof JsonInputError || error instanceof TypeError) {
      throw refuse('invalid_json', 'the decrypted submission is not valid strict JSON (UTF-8, no duplicate keys, safe integers)');
    }
    throw error;
  } finally {
    plaintext.fill(0);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the commitment and returns the data it commits to. */
async function checkCommitment(payload: unknown, submission: ChannelSubmission): Promise<unknown> {
  const mismatch = () => refuse('commitment_mismatch', 'the decrypted data does not match the submitted commitment');
  switch (submission.commitmentScheme) {
    case 'plain': {
      if ((await hashCommitment(payload)) !== submission.commitment) throw mismatch();
      return payload;
    }
    case 'salted': {
      const keys = isPlainObject(payload) ? Object.keys(payload).sort().join(',') : '';
      if (!isPlainObject(payload) || keys !== 'data,salt,type' || payload.type !== CONTRIBUTION_TYPE || typeof payload.salt !== 'string') {
        throw refuse('commitment_mismatch', `a salted submission must decrypt to { type: '${CONTRIBUTION_TYPE}', salt, data }`);
      }
      let salt: Uint8Array;
      try {
        salt = fromBase64Url(payload.salt, 'salt');
      } catch {
        throw refuse('commitment_mismatch', 'the salt of a salted submission is not base64url');
      }
      if (salt.length !== COMMITMENT_SALT_LENGTH) {
        throw refuse('commitment_mismatch', `the salt of a salted submission must be ${COMMITMENT_SALT_LENGTH} bytes`);
      }
      if ((await saltedCommitment(salt, payload.data)) !== submission.commitment) throw mismatch();
      return payload.data;
    }
    default: {
      const never: never = submission.commitmentScheme;
      throw refuse('invalid_request', `unknown commitment scheme ${String(never)}`);
    }
  }
}


/** The schema validator, if the model declares the schema and the models package knows it. */
function schemaFor(model: ModelSchemas, dataSchema: string): Schema {
  if (!model.dataSchemas.includes(dataSchema)) {
    throw refuse('unknown_schema', "the data schema is not one the session's model declares");
  }
  let schema: Schema | undefined;
  try {
    schema = getDataSchema(dataSchema);
  } catch {
    schema = undefined;
  }
  if (!schema) throw refuse('unknown_schema', 'the data schema is not known to this enclave');
  return schema;
}

/** Checks the schema is usable before any decryption (cheap refusals first). */
export function assertSchemaDeclared(model: ModelSchemas, dataSchema: string): void {
  schemaFor(model, dataSchema);
}

/**
 * Decrypts a blob sealed to the session key (info DATA_INFO) and parses it as strict JSON, with no
 * commitment: the unmask envelopes of secure aggregation. Same refusals as a submission's first steps.
 */
export async function openSealedJson(privateKey: SecretBytes, blobPath: string): Promise<unknown> {
  const { plaintext } = await decryptBlob(privateKey, blobPath);
  return parsePayload(plaintext);
}

/** A decrypted submission whose commitment checked: the committed data and the ciphertext's hash. */
export interface OpenedContribution {
  data: unknown;
  ciphertextHash: string;
}

/**
 * Decrypts a submission's blob, parses it as strict JSON and checks its commitment (plain or salted);
 * returns the data committed to. No schema check: that is the caller's.
 */
export async function openContribution(privateKey: SecretBytes, submission: ChannelSubmission): Promise<OpenedContribution> {
  const { plaintext, ciphertextHash } = await decryptBlob(privateKey, submission.blobPath);
  const payload = parsePayload(plaintext);
  const data = await checkCommitment(payload, submission);
  return { data, ciphertextHash };
}

export async function openSubmission(
  privateKey: SecretBytes,
  model: ModelSchemas,
  submission: ChannelSubmission,
): Promise<OpenedSubmission> {
  const schema = schemaFor(model, submission.dataSchema);
  const { data, ciphertextHash } = await openContribution(privateKey, submission);
  const verdict = schema.validate(data);
  if (!verdict.ok) {
    const details: ErrorDetail[] = verdict.errors.slice(0, MAX_SCHEMA_DETAILS).map((e) => ({
      ...(typeof e.index === 'number' ? { index: e.index } : {}),
      ...(typeof e.field === 'string' ? { field: e.field } : {}),
      message: String(e.message),
    }));
    throw refuse('schema_validation_failed', `${verdict.errors.length} problem(s) against data schema ${submission.dataSchema}`, details);
  }
  return {
    partyId: submission.partyId,
    commitment: submission.commitment,
    dataSchema: submission.dataSchema,
    ciphertextHash,
    records: verdict.records,
  };
}
