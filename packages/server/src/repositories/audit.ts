/**
 * The audit log, the single choke point of the transparency log (issue 3). Every state change or refusal
 * appends one AuditEvent as a leaf of an RFC 9162 Merkle log, in the SAME transaction as the change it
 * records: the event (its log index = the log's size, its per-session sequence number), its canonical
 * JSON and leaf hash go to `audit_events`, and the perfect-subtree nodes the leaf completes go to
 * `merkle_nodes`. A rolled-back transaction leaves no leaf and no node; the unique index on `log_index`
 * refuses two leaves at one position. Payloads hold ids, hashes, commitments, codes, signatures and
 * attestation documents only — never party data.
 */
import { completedNodes, canonicalize, leafHash, toHex, utf8Encode } from '@tenzro/crypto';
import { AUDIT_EVENT_TYPE, AuditEvent, type AuditEventKind } from '@tenzro/protocol';
import type { Selectable } from 'kysely';
import type { AuditEventsTable } from '../db/schema.js';
import type { Executor } from './executor.js';
import { insertMerkleNodes, lockLog, logSize, merkleNodeReader, nextSessionSeq } from './log.js';
import { publishSessionChange } from '../session-changes.js';

export type AuditEventType = AuditEventKind;

/** JSON values only: `canonicalize` refuses `undefined`, functions and non-finite numbers. */
export type AuditPayload = Record<string, unknown>;

export interface AuditEntry {
  sessionId: string | null;
  type: AuditEventType;
  actorTenant: string | null;
  actorParty: string | null;
  payload: AuditPayload;
  at: string;
}

/**
 * Appends the entry to the log. On an open transaction it joins it; on the database handle it opens its
 * own (the log's size must be read and extended atomically). Returns the event as logged.
 */
export async function appendAudit(db: Executor, entry: AuditEntry): Promise<AuditEvent> {
  if (!db.isTransaction) return db.transaction().execute((trx) => appendInTransaction(trx, entry));
  return appendInTransaction(db, entry);
}

async function appendInTransaction(trx: Executor, entry: AuditEntry): Promise<AuditEvent> {
  await lockLog(trx);
  const logIndex = await logSize(trx);
  const sessionSeq = entry.sessionId === null ? null : await nextSessionSeq(trx, entry.sessionId);
  const event = AuditEvent.parse({
    type: AUDIT_EVENT_TYPE,
    logIndex,
    sessionId: entry.sessionId,
    sessionSeq,
    kind: entry.type,
    actor: { tenantId: entry.actorTenant, partyId: entry.actorParty },
    at: entry.at,
    payload: entry.payload,
  });
  const eventJson = canonicalize(event);
  const leaf = leafHash(utf8Encode(eventJson));
  const nodes = await completedNodes(merkleNodeReader(trx), logIndex, leaf);
  await trx
    .insertInto('audit_events')
    .values({
      session_id: entry.sessionId,
      type: entry.type,
      actor_tenant: entry.actorTenant,
      actor_party: entry.actorParty,
      payload_json: JSON.stringify(entry.payload),
      at: entry.at,
      log_index: logIndex,
      session_seq: sessionSeq,
      event_json: eventJson,
      leaf_hash: toHex(leaf),
    })
    .execute();
  await insertMerkleNodes(trx, nodes);
  // A refused access changes nothing a stream shows (and must not wake the streams that caused it). On
  // PostgreSQL the notice joins this transaction: delivered at its commit, dropped with its rollback.
  if (entry.sessionId !== null && entry.type !== 'access_denied') await publishSessionChange(trx, entry.sessionId);
  return event;
}

export async function auditOf(db: Executor, sessionId: string): Promise<Selectable<AuditEventsTable>[]> {
  return db.selectFrom('audit_events').selectAll().where('session_id', '=', sessionId).orderBy('seq').execute();
}

/** Whether the party already has a `session_joined` event in the session's trail. */
export async function hasJoined(db: Executor, sessionId: string, partyId: string): Promise<boolean> {
  const row = await db
    .selectFrom('audit_events')
    .select('seq')
    .where('session_id', '=', sessionId)
    .where('type', '=', 'session_joined')
    .where('actor_party', '=', partyId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
