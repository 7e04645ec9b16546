/**
 * What a client remembers between verifications (issue 3): the last signed tree head it accepted for each
 * log, so a later head must be consistent with it; the first log key it saw at each host, so a host that
 * rotates its key cannot start a "new" log unnoticed; the commitment each of its parties submitted to a
 * session, so it can check that its own contribution is the one the host logged and aggregated; and, per
 * session, the last event of a trail it verified and the reportHash of the result it opened, so a later
 * trail that drops events from the end (or rewrites them) is caught.
 *
 * `MemoryAuditStore` is the default (it lives as long as the `TenzroPlatform`); `FileAuditStore` keeps a
 * JSON file under Node. The SDK runs in browsers too, so `node:fs` is fetched at call time through
 * `process.getBuiltinModule`, never imported.
 */
import { parseStrictJson } from '@tenzro/crypto';
import { Base64Url, Commitment, SignedTreeHead, type SignedTreeHead as SignedTreeHeadType } from '@tenzro/protocol';
import { z } from 'zod';

/** What a client remembers of one session. */
export interface SessionMemory {
  /** The event with the highest sessionSeq in a trail this client verified, and its leaf hash (base64url). */
  lastEvent?: { sessionSeq: number; leafHash: string };
  /** The reportHash of the result this client opened. */
  reportHash?: string;
}

export interface AuditStore {
  /** The last tree head this client accepted for the log `logId`. */
  getTreeHead(logId: string): Promise<SignedTreeHeadType | undefined>;
  putTreeHead(logId: string, signedTreeHead: SignedTreeHeadType): Promise<void>;
  /** The commitment `partyId` submitted to `sessionId` through this client. */
  getCommitment(sessionId: string, partyId: string): Promise<string | undefined>;
  putCommitment(sessionId: string, partyId: string, commitment: string): Promise<void>;
  /** The log public key (base64url) this client first saw at the host `baseUrl`. */
  getLogKey(baseUrl: string): Promise<string | undefined>;
  putLogKey(baseUrl: string, publicKey: string): Promise<void>;
  /** What this client remembers of `sessionId`. */
  getSessionMemory(sessionId: string): Promise<SessionMemory | undefined>;
  /** Sets the fields given (the others are kept). */
  putSessionMemory(sessionId: string, memory: SessionMemory): Promise<void>;
}

/** The methods an AuditStore must have (a caller-supplied store is checked for them). */
export const AUDIT_STORE_METHODS = [
  'getTreeHead',
  'putTreeHead',
  'getCommitment',
  'putCommitment',
  'getLogKey',
  'putLogKey',
  'getSessionMemory',
  'putSessionMemory',
] as const;

/** Thrown when a store's file cannot be read, parsed or written. */
export class AuditStoreError extends Error {
  readonly code = 'audit_store_unavailable' as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuditStoreError';
  }
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

function copyHead(signedTreeHead: SignedTreeHeadType, name = 'signedTreeHead'): SignedTreeHeadType {
  const parsed = SignedTreeHead.safeParse(signedTreeHead);
  if (!parsed.success) throw new TypeError(`${name} must be a SignedTreeHead`);
  return parsed.data;
}

function requireCommitment(value: unknown): string {
  if (!Commitment.safeParse(value).success) throw new TypeError('commitment must be "sha256:" followed by 64 lowercase hex digits');
  return value as string;
}

const SessionMemorySchema = z.strictObject({
  lastEvent: z.strictObject({ sessionSeq: z.number().int().min(0), leafHash: Base64Url }).optional(),
  reportHash: Commitment.optional(),
});

/** The state both stores hold (logKeys and sessions were added later: a file without them still reads). */
const StoreContent = z.strictObject({
  version: z.literal(1),
  treeHeads: z.record(z.string(), SignedTreeHead),
  commitments: z.record(z.string(), z.record(z.string(), Commitment)),
  logKeys: z.record(z.string(), Base64Url).default({}),
  sessions: z.record(z.string(), SessionMemorySchema).default({}),
});
type StoreContent = z.infer<typeof StoreContent>;

function emptyContent(): StoreContent {
  return { version: 1, treeHeads: {}, commitments: {}, logKeys: {}, sessions: {} };
}

function requireLogKey(value: unknown): string {
  if (!Base64Url.safeParse(value).success || (value as string).length !== 43) throw new TypeError('publicKey must be a 32-byte key in base64url');
  return value as string;
}

function copyMemory(memory: SessionMemory): SessionMemory {
  if (typeof memory !== 'object' || memory === null) throw new TypeError('memory must be a SessionMemory');
  const parsed = SessionMemorySchema.safeParse(
    Object.fromEntries(Object.entries(memory).filter(([, value]) => value !== undefined)),
  );
  if (!parsed.success) throw new TypeError(`memory must be a SessionMemory (${parsed.error.issues[0]?.path.join('.') ?? '?'})`);
  return parsed.data as SessionMemory;
}

function mergeMemory(content: StoreContent, sessionId: string, memory: SessionMemory): void {
  content.sessions[sessionId] = { ...own(content.sessions, sessionId), ...memory };
}

/** Lookups that do not fall through to Object.prototype. */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** An AuditStore in memory: what the SDK uses unless the caller supplies one. */
export class MemoryAuditStore implements AuditStore {
  readonly #content: StoreContent = emptyContent();

  async getTreeHead(logId: string): Promise<SignedTreeHeadType | undefined> {
    const head = own(this.#content.treeHeads, requireText(logId, 'logId'));
    return head === undefined ? undefined : structuredClone(head);
  }

  async putTreeHead(logId: string, signedTreeHead: SignedTreeHeadType): Promise<void> {
    this.#content.treeHeads[requireText(logId, 'logId')] = copyHead(signedTreeHead);
  }

  async getCommitment(sessionId: string, partyId: string): Promise<string | undefined> {
    requireText(sessionId, 'sessionId');
    requireText(partyId, 'partyId');
    const bySession = own(this.#content.commitments, sessionId);
    return bySession === undefined ? undefined : own(bySession, partyId);
  }

  async putCommitment(sessionId: string, partyId: string, commitment: string): Promise<void> {
    requireText(sessionId, 'sessionId');
    requireText(partyId, 'partyId');
    const value = requireCommitment(commitment);
    const bySession = own(this.#content.commitments, sessionId) ?? {};
    bySession[partyId] = value;
    this.#content.commitments[sessionId] = bySession;
  }

  async getLogKey(baseUrl: string): Promise<string | undefined> {
    return own(this.#content.logKeys, requireText(baseUrl, 'baseUrl'));
  }

  async putLogKey(baseUrl: string, publicKey: string): Promise<void> {
    this.#content.logKeys[requireText(baseUrl, 'baseUrl')] = requireLogKey(publicKey);
  }

  async getSessionMemory(sessionId: string): Promise<SessionMemory | undefined> {
    const memory = own(this.#content.sessions, requireText(sessionId, 'sessionId'));
    return memory === undefined ? undefined : (structuredClone(memory) as SessionMemory);
  }

  async putSessionMemory(sessionId: string, memory: SessionMemory): Promise<void> {
    mergeMemory(this.#content, requireText(sessionId, 'sessionId'), copyMemory(memory));
  }
}

interface NodeFsLike {
  existsSync(path: string): boolean;
  readFileSync(path: string, encoding: 'utf8'): string;
  writeFileSync(path: string, data: string, options: { mode: number }): void;
  renameSync(from: string, to: string): void;
  mkdirSync(path: string, options: { recursive: true }): unknown;
}

function nodeFs(): NodeFsLike | undefined {
  const processLike = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const getBuiltinModule = processLike?.getBuiltinModule;
  if (typeof getBuiltinModule !== 'function') return undefined;
  const fs = getBuiltinModule.call(processLike, 'node:fs') as Partial<NodeFsLike> | undefined;
  const complete =
    fs &&
    typeof fs.existsSync === 'function' &&
    typeof fs.readFileSync === 'function' &&
    typeof fs.writeFileSync === 'function' &&
    typeof fs.renameSync === 'function' &&
    typeof fs.mkdirSync === 'function';
  return complete ? (fs as NodeFsLike) : undefined;
}

function parentOf(path: string): string | undefined {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut > 0 ? path.slice(0, cut) : undefined;
}

/**
 * An AuditStore in one JSON file (Node only). Every read loads the file, every write replaces it
 * atomically (a temporary file renamed over it, mode 0600); writes of one instance are serialised.
 * A missing file is an empty store; a file that does not parse is an error, never silently reset.
 */
export class FileAuditStore implements AuditStore {
  readonly path: string;
  readonly #fs: NodeFsLike;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = requireText(path, 'path');
    const fs = nodeFs();
    if (!fs) throw new AuditStoreError('FileAuditStore needs a file system (Node ≥ 20.16); use MemoryAuditStore or your own AuditStore here');
    this.#fs = fs;
  }

  async getTreeHead(logId: string): Promise<SignedTreeHeadType | undefined> {
    requireText(logId, 'logId');
    await this.#queue;
    return own(this.#read().treeHeads, logId);
  }

  async putTreeHead(logId: string, signedTreeHead: SignedTreeHeadType): Promise<void> {
    requireText(logId, 'logId');
    const head = copyHead(signedTreeHead);
    await this.#update((content) => {
      content.treeHeads[logId] = head;
    });
  }

  async getCommitment(sessionId: string, partyId: string): Promise<string | undefined> {
    requireText(sessionId, 'sessionId');
    requireText(partyId, 'partyId');
    await this.#queue;
    const bySession = own(this.#read().commitments, sessionId);
    return bySession === undefined ? undefined : own(bySession, partyId);
  }

  async putCommitment(sessionId: string, partyId: string, commitment: string): Promise<void> {
    requireText(sessionId, 'sessionId');
    requireText(partyId, 'partyId');
    const value = requireCommitment(commitment);
    await this.#update((content) => {
      const bySession = own(content.commitments, sessionId) ?? {};
      bySession[partyId] = value;
      content.commitments[sessionId] = bySession;
    });
  }

  async getLogKey(baseUrl: string): Promise<string | undefined> {
    requireText(baseUrl, 'baseUrl');
    await this.#queue;
    return own(this.#read().logKeys, baseUrl);
  }

  async putLogKey(baseUrl: string, publicKey: string): Promise<void> {
    requireText(baseUrl, 'baseUrl');
    const value = requireLogKey(publicKey);
    await this.#update((content) => {
      content.logKeys[baseUrl] = value;
    });
  }

  async getSessionMemory(sessionId: string): Promise<SessionMemory | undefined> {
    requireText(sessionId, 'sessionId');
    await this.#queue;
    return own(this.#read().sessions, sessionId) as SessionMemory | undefined;
  }

  async putSessionMemory(sessionId: string, memory: SessionMemory): Promise<void> {
    requireText(sessionId, 'sessionId');
    const value = copyMemory(memory);
    await this.#update((content) => mergeMemory(content, sessionId, value));
  }

  #update(change: (content: StoreContent) => void): Promise<void> {
    const next = this.#queue.then(() => {
      const content = this.#read();
      change(content);
      this.#write(content);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #read(): StoreContent {
    if (!this.#fs.existsSync(this.path)) return emptyContent();
    let json: unknown;
    try {
      json = parseStrictJson(this.#fs.readFileSync(this.path, 'utf8'), { maxDepth: 16 });
    } catch (cause) {
      throw new AuditStoreError(`audit store ${this.path} cannot be read as JSON`, { cause });
    }
    const parsed = StoreContent.safeParse(json);
    if (!parsed.success) throw new AuditStoreError(`audit store ${this.path} does not have the expected shape`, { cause: parsed.error });
    return parsed.data;
  }

  #write(content: StoreContent): void {
    const temporary = `${this.path}.${Date.now().toString(36)}.tmp`;
    try {
      const parent = parentOf(this.path);
      if (parent !== undefined) this.#fs.mkdirSync(parent, { recursive: true });
      this.#fs.writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
      this.#fs.renameSync(temporary, this.path);
    } catch (cause) {
      throw new AuditStoreError(`audit store ${this.path} cannot be written`, { cause });
    }
  }
}
