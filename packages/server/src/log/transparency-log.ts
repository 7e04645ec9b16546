/**
 * The transparency log's read side (issue 3): the published log key, signed tree heads, consistency
 * proofs and a session's trail with inclusion proofs. Leaves are appended by `appendAudit`
 * (repositories/audit.ts), inside the transaction of the change they record; nothing here writes a leaf.
 *
 * Tree heads are signed lazily: a request that needs a head covering the current size reuses the head
 * already signed for that size, or signs one (TreeHead = { type, logId, treeSize, rootHash, timestamp },
 * signature = signStatement(logKey, treeHead)) and stores it in `tree_heads` in the same transaction that
 * read the size. Every newly signed head is handed to the configured ledger anchors, in the background.
 */
import { consistencyProofAt, inclusionProofAt, rootAt, signStatement, toBase64Url } from '@tenzro/crypto';
import {
  AuditEvent,
  SignedTreeHead,
  TREE_HEAD_TYPE,
  TenzroError,
  TreeHead,
  type ConsistencyResponse,
  type LogKeyResponse,
  type SessionTrailResponse,
} from '@tenzro/protocol';
import type { Db } from '../db/database.js';
import type { Dialect } from '../db/dialect.js';
import type { TreeHeadsTable } from '../db/schema.js';
import { findTreeHead, insertTreeHead, logSize, merkleNodeReader, sessionLeaves } from '../repositories/log.js';
import type { AnchorPublisher } from './anchor.js';
import type { LogKey } from './log-key.js';

export interface TransparencyLogOptions {
  db: Db;
  dialect: Dialect;
  key: LogKey;
  anchors: AnchorPublisher;
  clock: () => Date;
}

function headOf(row: TreeHeadsTable): SignedTreeHead {
  return {
    treeHead: {
      type: TREE_HEAD_TYPE,
      logId: row.log_id,
      treeSize: Number(row.tree_size),
      rootHash: row.root_hash,
      timestamp: row.timestamp,
    },
    signature: row.signature,
  };
}

export class TransparencyLog {
  readonly #db: Db;
  readonly #dialect: Dialect;
  readonly #key: LogKey;
  readonly #anchors: AnchorPublisher;
  readonly #clock: () => Date;

  constructor(options: TransparencyLogOptions) {
    this.#db = options.db;
    this.#dialect = options.dialect;
    this.#key = options.key;
    this.#anchors = options.anchors;
    this.#clock = options.clock;
  }

  get logId(): string {
    return this.#key.logId;
  }

  get anchors(): AnchorPublisher {
    return this.#anchors;
  }

  /** The log's public key, as published at /.well-known/tenzro-log-key. */
  keyResponse(): LogKeyResponse {
    return { logId: this.#key.logId, algorithm: 'Ed25519', publicKey: toBase64Url(this.#key.publicKey) };
  }

  async size(): Promise<number> {
    return logSize(this.#db);
  }

  /** A signed head covering every leaf committed so far (signed now if none covers this size yet). */
  async currentHead(): Promise<SignedTreeHead> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { head, signed } = await this.#db.transaction().execute(async (trx) => {
          const size = await logSize(trx);
          const existing = await findTreeHead(trx, this.#key.logId, size);
          if (existing) return { head: headOf(existing), signed: false };
          const root = await rootAt(merkleNodeReader(trx), size);
          const treeHead = TreeHead.parse({
            type: TREE_HEAD_TYPE,
            logId: this.#key.logId,
            treeSize: size,
            rootHash: toBase64Url(root),
            timestamp: this.#clock().toISOString(),
          });
          const signature = toBase64Url(signStatement(this.#key.privateKey, treeHead));
          await insertTreeHead(trx, {
            log_id: treeHead.logId,
            tree_size: treeHead.treeSize,
            root_hash: treeHead.rootHash,
            timestamp: treeHead.timestamp,
            signature,
          });
          return { head: { treeHead, signature }, signed: true };
        });
        if (signed) this.#anchors.offer(head);
        return SignedTreeHead.parse(head);
      } catch (error) {
        // Another request signed the same size first: use theirs.
        if (attempt < 3 && this.#dialect.isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  /** RFC 9162 §2.1.4 proof that the tree of `from` leaves is a prefix of the tree of `to` leaves. */
  async consistency(from: number, to: number): Promise<ConsistencyResponse> {
    const size = await this.size();
    if (to > size) throw new TenzroError('invalid_request', `to: the log holds ${size} leaves`, { details: [{ field: 'query.to', message: `must be at most ${size}` }] });
    if (from > to) throw new TenzroError('invalid_request', 'from: must be at most to', { details: [{ field: 'query.from', message: 'must be at most to' }] });
    const proof = await consistencyProofAt(merkleNodeReader(this.#db), from, to);
    return { from, to, proof: proof.map(toBase64Url) };
  }

  /**
   * Every logged event of the session, in log order, with its inclusion proof against one signed head
   * that covers them all. Events are served as stored: a tampered row shows up as a failing proof.
   */
  async sessionTrail(sessionId: string): Promise<SessionTrailResponse> {
    const signedTreeHead = await this.currentHead();
    const { treeSize } = signedTreeHead.treeHead;
    const rows = await sessionLeaves(this.#db, sessionId, treeSize);
    const reader = merkleNodeReader(this.#db);
    const entries = [];
    for (const row of rows) {
      const event = AuditEvent.parse(JSON.parse(row.event_json!));
      const proof = await inclusionProofAt(reader, Number(row.log_index), treeSize);
      entries.push({ event, proof: proof.map(toBase64Url) });
    }
    return { sessionId, signedTreeHead, entries };
  }
}
