/**
 * Where the client role of secure aggregation keeps its state between stages (and across crashes): a
 * `SecAggStateStore` of string values under string keys, one record per (session, party). The record is
 * written BEFORE each stage message leaves, together with the message itself, so a party that crashes
 * and resumes sends the very same message again — it can never answer one stage twice with different
 * values (two different share sets, or two masked inputs under one set of masks, would leak).
 *
 * A record holds secrets (the stage key pairs, the self-mask seed, the Shamir shares held for others),
 * so a persistent store must be private to the party (the CLI's file store writes mode 0600). The
 * party's roster signing key is never written: it is put back from the party's identity on load, and the
 * protocol configuration is rebuilt from the session's verified terms.
 *
 * Format (JSON, `type: 'tenzro.secagg.client-record/v1'`), every byte string base64url:
 *   { type, sessionId, partyId, layout, vectorLength, dataSchema, inputDigest,
 *     protocol: { stage: 'advertised' | 'keys-shared' | 'input-masked' | 'done', partyId, index,
 *                 cPrivateKey?, sPrivateKey?, bSeed?, ownShares?, u1?, u2?, held? },
 *     outbox: { advertise, shareKeys, maskedInput: { envelope, commitment, salt, noiseVariance, u1, u2 } | null },
 *     receipt,            // the host's SubmissionResponse for the masked input, once acknowledged
 *     answer,             // the stage-3 answer: { request, message, runId, envelope } | null
 *     answeredRuns, updatedAt }
 */
import { SecretBytes, fromBase64Url, parseStrictJson, toBase64Url } from '@tenzro/crypto';
import {
  Base64Url,
  Commitment,
  PartyId,
  SessionId,
  SubmissionResponse,
  UnmaskRequest,
  type SecAggClientState,
  type SecAggConfig,
  type Signed,
  type SubmissionResponse as SubmissionResponseType,
  type UnmaskRequest as UnmaskRequestType,
} from '@tenzro/protocol';
import { z } from 'zod';
import { SecureAggregationError } from './errors.js';

/**
 * A private key-value store for the client role's state (string values; see the module header).
 *
 * `withLock(key, fn)` (optional, but needed whenever two processes — `tenzro demo` and `tenzro agent`, two
 * SDK instances — may share the store) runs `fn` while holding an exclusive lock on `key`, across every
 * user of the store; the SDK wraps each stage's load → compute → save → send in it, so a party answers
 * every stage (above all the unmask request) once, whoever calls. Without it, calls are serialised within
 * one SDK instance only.
 */
export interface SecAggStateStore {
  load(key: string): Promise<string | undefined>;
  save(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  withLock?<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export const SECAGG_STATE_STORE_METHODS = ['load', 'save', 'delete'] as const;

/** The default store: memory of this SDK instance (a crash loses the round for this party). */
export class MemorySecAggStateStore implements SecAggStateStore {
  readonly #values = new Map<string, string>();
  readonly #locks = new Map<string, Promise<unknown>>();

  async load(key: string): Promise<string | undefined> {
    return this.#values.get(requireKey(key));
  }

  async save(key: string, value: string): Promise<void> {
    if (typeof value !== 'string') throw new TypeError('value must be a string');
    this.#values.set(requireKey(key), value);
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(requireKey(key));
  }

  /** The keys held now (tests, sweeps). */
  async keys(): Promise<string[]> {
    return [...this.#values.keys()];
  }

  /** Runs `fn` after every earlier `withLock` on the same key of this store has settled. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    requireKey(key);
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    return queued(this.#locks, key, fn);
  }
}

/** Runs `task` after the previous task queued under `key` in `locks` settled (an in-process mutex). */
export function queued<T>(locks: Map<string, Promise<unknown>>, key: string, task: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const settled = next.catch(() => undefined);
  locks.set(key, settled);
  void settled.then(() => {
    if (locks.get(key) === settled) locks.delete(key);
  });
  return next;
}

function requireKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a non-empty string');
  return key;
}

/** The store key of a party's record for a session. */
export function secAggStateKey(sessionId: string, partyId: string): string {
  return `secagg/${sessionId}/${partyId}`;
}

/** The session and party of a store key made by `secAggStateKey`, or undefined for any other key. */
export function parseSecAggStateKey(key: string): { sessionId: string; partyId: string } | undefined {
  if (typeof key !== 'string') return undefined;
  const parts = key.split('/');
  if (parts.length !== 3 || parts[0] !== 'secagg') return undefined;
  const [, sessionId, partyId] = parts as [string, string, string];
  if (!SessionId.safeParse(sessionId).success || !PartyId.safeParse(partyId).success) return undefined;
  return { sessionId, partyId };
}

export const SECAGG_CLIENT_RECORD_TYPE = 'tenzro.secagg.client-record/v1';

const Key32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes as base64url');
const Index = z.number().int().min(1);
const AdvertisedJson = z.strictObject({ partyId: PartyId, index: Index, cPublicKey: Key32, sPublicKey: Key32 });
const HeldJson = z.strictObject({ sShare: Base64Url, bShare: Base64Url });
const SignedJson = z.strictObject({ body: z.record(z.string(), z.unknown()), signature: Base64Url });

const ProtocolStateJson = z.discriminatedUnion('stage', [
  z.strictObject({ stage: z.literal('advertised'), partyId: PartyId, index: Index, cPrivateKey: Key32, sPrivateKey: Key32 }),
  z.strictObject({
    stage: z.literal('keys-shared'),
    partyId: PartyId,
    index: Index,
    cPrivateKey: Key32,
    sPrivateKey: Key32,
    u1: z.array(AdvertisedJson),
    bSeed: Key32,
    ownShares: HeldJson,
  }),
  z.strictObject({
    stage: z.literal('input-masked'),
    partyId: PartyId,
    index: Index,
    u1: z.array(AdvertisedJson),
    u2: z.array(PartyId),
    held: z.record(PartyId, HeldJson),
  }),
  z.strictObject({ stage: z.literal('done'), partyId: PartyId, index: Index }),
]);
type ProtocolStateJson = z.infer<typeof ProtocolStateJson>;

const MaskedInputOutbox = z.strictObject({
  /** The sealed `{ type: 'tenzro.contribution/v1', salt, data }` envelope, exactly as sent. */
  envelope: Base64Url,
  commitment: Commitment,
  salt: Base64Url,
  noiseVariance: z.number().nonnegative().nullable(),
  /** U1 and U2 as this party verified them (who advertised keys, who shared keys). */
  u1: z.array(PartyId),
  u2: z.array(PartyId),
});

const AnswerJson = z.strictObject({
  request: UnmaskRequest,
  message: SignedJson,
  /** The run the envelope below was sealed for (a retried run with the same request gets a new one). */
  runId: z.string().min(1),
  envelope: Base64Url,
});

const RecordJson = z.strictObject({
  type: z.literal(SECAGG_CLIENT_RECORD_TYPE),
  sessionId: SessionId,
  partyId: PartyId,
  layout: z.string().min(1),
  vectorLength: z.number().int().positive(),
  dataSchema: z.string().min(1),
  /** hashCommitment({ dataSchema, data }) of the records: a resumed contribute must bring the same data. */
  inputDigest: Commitment,
  protocol: ProtocolStateJson,
  outbox: z.strictObject({ advertise: SignedJson.nullable(), shareKeys: SignedJson.nullable(), maskedInput: MaskedInputOutbox.nullable() }),
  receipt: SubmissionResponse.nullable(),
  answer: AnswerJson.nullable(),
  answeredRuns: z.array(z.string()),
  updatedAt: z.string(),
});

export type SignedMessage = Signed<Record<string, unknown>>;
export type MaskedInputOutbox = z.infer<typeof MaskedInputOutbox>;

/** A party's record in memory: the protocol state is live (SecretBytes, Uint8Array). */
export interface SecAggClientRecord {
  sessionId: string;
  partyId: string;
  layout: string;
  vectorLength: number;
  dataSchema: string;
  inputDigest: string;
  protocol: SecAggClientState;
  outbox: { advertise: SignedMessage | null; shareKeys: SignedMessage | null; maskedInput: MaskedInputOutbox | null };
  receipt: SubmissionResponseType | null;
  answer: { request: UnmaskRequestType; message: SignedMessage; runId: string; envelope: string } | null;
  answeredRuns: string[];
}

const secret = (key: SecretBytes): string => toBase64Url(key.expose());
const bytes = (value: Uint8Array): string => toBase64Url(value);

function encodeProtocol(state: SecAggClientState): ProtocolStateJson {
  const common = { partyId: state.partyId, index: state.index };
  switch (state.stage) {
    case 'advertised':
      return { stage: 'advertised', ...common, cPrivateKey: secret(state.cPrivateKey), sPrivateKey: secret(state.sPrivateKey) };
    case 'keys-shared':
      return {
        stage: 'keys-shared',
        ...common,
        cPrivateKey: secret(state.cPrivateKey),
        sPrivateKey: secret(state.sPrivateKey),
        u1: state.u1.map((p) => ({ partyId: p.partyId, index: p.index, cPublicKey: bytes(p.cPublicKey), sPublicKey: bytes(p.sPublicKey) })),
        bSeed: secret(state.bSeed),
        ownShares: { sShare: bytes(state.ownShares.sShare), bShare: bytes(state.ownShares.bShare) },
      };
    case 'input-masked':
      return {
        stage: 'input-masked',
        ...common,
        u1: state.u1.map((p) => ({ partyId: p.partyId, index: p.index, cPublicKey: bytes(p.cPublicKey), sPublicKey: bytes(p.sPublicKey) })),
        u2: [...state.u2],
        held: Object.fromEntries(Object.entries(state.held).map(([id, h]) => [id, { sShare: bytes(h.sShare), bShare: bytes(h.bShare) }])),
      };
    case 'done':
      return { stage: 'done', ...common };
    default: {
      const never: never = state;
      throw new TypeError(`unknown client stage ${String((never as { stage?: unknown }).stage)}`);
    }
  }
}

function decodeProtocol(json: ProtocolStateJson, config: SecAggConfig, signingKey: SecretBytes): SecAggClientState {
  const common = { config, partyId: json.partyId, index: json.index, signingKey };
  const key = (text: string): SecretBytes => {
    const raw = fromBase64Url(text, 'key');
    const held = SecretBytes.from(raw);
    raw.fill(0);
    return held;
  };
  const u1 = (list: z.infer<typeof AdvertisedJson>[]) =>
    list.map((p) => ({ partyId: p.partyId, index: p.index, cPublicKey: fromBase64Url(p.cPublicKey), sPublicKey: fromBase64Url(p.sPublicKey) }));
  const held = (h: z.infer<typeof HeldJson>) => ({ sShare: fromBase64Url(h.sShare, 'sShare'), bShare: fromBase64Url(h.bShare, 'bShare') });
  switch (json.stage) {
    case 'advertised':
      return { ...common, stage: 'advertised', cPrivateKey: key(json.cPrivateKey), sPrivateKey: key(json.sPrivateKey) };
    case 'keys-shared':
      return {
        ...common,
        stage: 'keys-shared',
        cPrivateKey: key(json.cPrivateKey),
        sPrivateKey: key(json.sPrivateKey),
        u1: u1(json.u1),
        bSeed: key(json.bSeed),
        ownShares: held(json.ownShares),
      };
    case 'input-masked':
      return {
        ...common,
        stage: 'input-masked',
        u1: u1(json.u1),
        u2: [...json.u2],
        held: Object.fromEntries(Object.entries(json.held).map(([id, h]) => [id, held(h)])),
      };
    case 'done':
      return { ...common, stage: 'done' };
  }
}

/** The record as the store keeps it (JSON text). Secret bytes are written explicitly, base64url. */
export function encodeClientRecord(record: SecAggClientRecord, now: Date = new Date()): string {
  const json: z.infer<typeof RecordJson> = {
    type: SECAGG_CLIENT_RECORD_TYPE,
    sessionId: record.sessionId,
    partyId: record.partyId,
    layout: record.layout,
    vectorLength: record.vectorLength,
    dataSchema: record.dataSchema,
    inputDigest: record.inputDigest,
    protocol: encodeProtocol(record.protocol),
    outbox: record.outbox,
    receipt: record.receipt,
    answer: record.answer,
    answeredRuns: [...record.answeredRuns],
    updatedAt: now.toISOString(),
  };
  return JSON.stringify(json);
}

export interface DecodeContext {
  sessionId: string;
  partyId: string;
  /** Rebuilt from the session's verified terms. */
  config: SecAggConfig;
  /** The party's roster signing key (never stored). */
  signingKey: SecretBytes;
}

/** Parses a stored record with its schema and checks that it belongs to this session, party and roster. */
export function decodeClientRecord(text: string, context: DecodeContext): SecAggClientRecord {
  const where = `the stored secure-aggregation state of ${context.partyId} in ${context.sessionId}`;
  let json: unknown;
  try {
    json = parseStrictJson(text, { maxDepth: 16 });
  } catch (cause) {
    throw new SecureAggregationError('invalid_state', `${where} is not JSON`, { cause });
  }
  const parsed = RecordJson.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SecureAggregationError('invalid_state', `${where} does not have the expected shape (${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'})`, {
      cause: parsed.error,
    });
  }
  const record = parsed.data;
  const index = context.config.parties.findIndex((p) => p.partyId === context.partyId) + 1;
  if (record.sessionId !== context.sessionId || record.partyId !== context.partyId || record.protocol.partyId !== context.partyId) {
    throw new SecureAggregationError('invalid_state', `${where} names another session or party`);
  }
  if (record.protocol.index !== index || record.vectorLength !== context.config.vectorLength) {
    throw new SecureAggregationError('invalid_state', `${where} does not match the session's roster or statistic layout`);
  }
  return {
    sessionId: record.sessionId,
    partyId: record.partyId,
    layout: record.layout,
    vectorLength: record.vectorLength,
    dataSchema: record.dataSchema,
    inputDigest: record.inputDigest,
    protocol: decodeProtocol(record.protocol, context.config, context.signingKey),
    outbox: record.outbox as SecAggClientRecord['outbox'],
    receipt: record.receipt,
    answer: record.answer as SecAggClientRecord['answer'],
    answeredRuns: [...record.answeredRuns],
  };
}
