/**
 * The audit log: append-only, one row per state change or denial, written in the same transaction as the
 * change it records. Payloads hold ids, hashes and codes only.
 */
import type { Executor } from './executor.js';
import type { AuditEventsTable } from '../db/schema.js';
import type { Selectable } from 'kysely';

export type AuditEventType =
  | 'session_created'
  | 'data_submitted'
  | 'submission_rejected'
  | 'consent_recorded'
  | 'run_requested'
  | 'run_started'
  | 'run_failed'
  | 'run_requeued'
  | 'result_released'
  | 'data_destroyed'
  | 'key_destroyed'
  | 'session_cancelled'
  | 'session_expired'
  | 'access_denied'
  | 'party_registered'
  | 'tenant_created';

export type AuditPayload = Record<string, string | number | boolean | null | string[]>;

export interface AuditEntry {
  sessionId: string | null;
  type: AuditEventType;
  actorTenant: string | null;
  actorParty: string | null;
  payload: AuditPayload;
  at: string;
}

export async function appendAudit(db: Executor, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      session_id: entry.sessionId,
      type: entry.type,
      actor_tenant: entry.actorTenant,
      actor_party: entry.actorParty,
      payload_json: JSON.stringify(entry.payload),
      at: entry.at,
    })
    .execute();
}

export async function auditOf(db: Executor, sessionId: string): Promise<Selectable<AuditEventsTable>[]> {
  return db.selectFrom('audit_events').selectAll().where('session_id', '=', sessionId).orderBy('seq').execute();
}
