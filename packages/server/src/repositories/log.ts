/**
 * The transparency log's storage: its size, its perfect-subtree nodes (a `MerkleNodeReader` over the
 * `merkle_nodes` table for @tenzro/crypto's incremental log), and the signed tree heads.
 */
import type { MerkleNode, MerkleNodeKey, MerkleNodeReader } from '@tenzro/crypto';
import type { Selectable } from 'kysely';
import type { AuditEventsTable, TreeHeadsTable } from '../db/schema.js';
import { sql } from 'kysely';
import { needsRowLocks, type Executor } from './executor.js';

/** Key of the transaction-scoped advisory lock that serialises appends to the log ('tenzro' in ASCII). */
export const LOG_LOCK_KEY = '127978994037359';

/**
 * Holds the log's append lock until the transaction ends (PostgreSQL; SQLite has one writer already). The
 * log's size is read after it, so two appends never take one index, and the log stays dense. Taken last in
 * a transaction (after any session row lock).
 */
export async function lockLog(trx: Executor): Promise<void> {
  if (needsRowLocks(trx)) await sql`select pg_advisory_xact_lock(${LOG_LOCK_KEY}::bigint)`.execute(trx);
}

/** How many leaves the log holds: the next leaf's index. */
export async function logSize(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('log_index').as('last'))
    .where('log_index', 'is not', null)
    .executeTakeFirst();
  const last = row?.last;
  return last === null || last === undefined ? 0 : Number(last) + 1;
}

/** The next sequence number within a session's trail. */
export async function nextSessionSeq(db: Executor, sessionId: string): Promise<number> {
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('session_seq').as('last'))
    .where('session_id', '=', sessionId)
    .where('session_seq', 'is not', null)
    .executeTakeFirst();
  const last = row?.last;
  return last === null || last === undefined ? 0 : Number(last) + 1;
}

export class MissingMerkleNodeError extends Error {
  readonly code = 'merkle_node_missing' as const;
  constructor(key: MerkleNodeKey) {
    super(`the log has no node (level ${key.level}, index ${key.index})`);
    this.name = 'MissingMerkleNodeError';
  }
}

/** Reads stored nodes in one query; a node that is not stored is an error (the log is damaged). */
export function merkleNodeReader(db: Executor): MerkleNodeReader {
  return {
    async readNodes(keys: MerkleNodeKey[]): Promise<Uint8Array[]> {
      if (keys.length === 0) return [];
      const rows = await db
        .selectFrom('merkle_nodes')
        .select(['level', 'idx', 'hash'])
        .where((eb) => eb.or(keys.map((k) => eb.and([eb('level', '=', k.level), eb('idx', '=', k.index)]))))
        .execute();
      const found = new Map(rows.map((r) => [`${r.level}:${Number(r.idx)}`, r.hash]));
      return keys.map((k) => {
        const hash = found.get(`${k.level}:${k.index}`);
        if (!hash) throw new MissingMerkleNodeError(k);
        return new Uint8Array(hash);
      });
    },
  };
}

export async function insertMerkleNodes(db: Executor, nodes: readonly MerkleNode[]): Promise<void> {
  if (nodes.length === 0) return;
  await db
    .insertInto('merkle_nodes')
    .values(nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash })))
    .execute();
}

/** The logged events of one session below `treeSize`, in log order. */
export async function sessionLeaves(
  db: Executor,
  sessionId: string,
  treeSize: number,
): Promise<Array<Pick<Selectable<AuditEventsTable>, 'log_index' | 'event_json'>>> {
  return db
    .selectFrom('audit_events')
    .select(['log_index', 'event_json'])
    .where('session_id', '=', sessionId)
    .where('log_index', 'is not', null)
    .where('log_index', '<', treeSize)
    .orderBy('log_index')
    .execute();
}

export async function findTreeHead(db: Executor, logId: string, treeSize: number): Promise<TreeHeadsTable | undefined> {
  return db
    .selectFrom('tree_heads')
    .selectAll()
    .where('log_id', '=', logId)
    .where('tree_size', '=', treeSize)
    .executeTakeFirst();
}

export async function insertTreeHead(db: Executor, row: TreeHeadsTable): Promise<void> {
  await db.insertInto('tree_heads').values(row).execute();
}
