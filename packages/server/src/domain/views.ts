/** Rows to wire shapes. Nothing here reads a blob or a key: responses never carry key material. */
import {
  progressOf,
  type MultiPartySession,
  type RunResponse,
  type SessionStatus,
  type SessionStatusResponse,
  type SessionTerms,
} from '@tenzro/protocol';
import type { RunsTable, SessionsTable } from '../db/schema.js';
import type { Actor } from './access.js';
import { rolesOf } from './access.js';
import type { SessionFacts } from './lifecycle.js';

export function sessionView(actor: Actor, row: SessionsTable, terms: SessionTerms, facts: SessionFacts): MultiPartySession {
  return {
    id: row.id,
    name: terms.name,
    description: terms.description,
    modelId: terms.modelId,
    status: row.status as SessionStatus,
    joinCode: row.join_code,
    participants: terms.participants.map((p) => p.partyId),
    observers: terms.observers.map((o) => o.partyId),
    dataPolicy: terms.dataPolicy,
    expiresAt: terms.expiresAt,
    createdAt: terms.createdAt,
    createdBy: row.tenant_id,
    dataSubmittedBy: facts.dataSubmittedBy.slice(),
    consentedBy: facts.consentedBy.slice(),
    yourRoles: rolesOf(actor, row, terms),
    terms,
  };
}

export function runView(run: RunsTable): RunResponse {
  return {
    runId: run.id,
    sessionId: run.session_id,
    status: run.status,
    attempts: run.attempts,
    createdAt: run.created_at,
    finishedAt: run.finished_at,
    error: run.error_json === null ? null : (JSON.parse(run.error_json) as RunResponse['error']),
    ...(run.timings_json ? { timings: JSON.parse(run.timings_json) as Record<string, number> } : {}),
  };
}

export function statusView(
  row: SessionsTable,
  terms: SessionTerms,
  facts: SessionFacts,
  last: RunsTable | undefined,
): SessionStatusResponse {
  const progress = progressOf(facts);
  const status = row.status as SessionStatus;
  return {
    sessionId: row.id,
    status,
    participants: facts.participants.slice(),
    observers: terms.observers.map((o) => o.partyId),
    minParticipants: facts.minParticipants,
    dataSubmittedBy: facts.dataSubmittedBy.slice(),
    consentedParticipants: facts.consentedBy.slice(),
    pendingData: progress.pendingData,
    pendingConsent: progress.pendingConsent,
    readyToRun: status === 'ready',
    expiresAt: row.expires_at,
    lastRun: last ? runView(last) : null,
  };
}
