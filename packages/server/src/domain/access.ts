/**
 * Who may see and act on a session (DESIGN §4; RELIABILITY 1–6). A session is visible to its creator tenant
 * and to tenants owning a party on its roster; to everyone else it does not exist (404, never 403). The
 * acting party is the `X-Tenzro-Party-Id` header (it must belong to the caller's tenant) or, without it,
 * the caller tenant's only party on the roster.
 *
 * Every refusal of an existing session is a leaf of the session's trail (issue 3: every refused access):
 * an outsider's 404 (`code: not_found`) and a header naming another tenant's party (403, `forbidden`). The
 * outsider's answer is the same as for a session that does not exist; only the session's parties see it.
 */
import { SessionTerms, TenzroError, tenantOfParty } from '@tenzro/protocol';
import type { SessionRole } from '@tenzro/protocol';
import type { SessionsTable } from '../db/schema.js';
import { appendAudit } from '../repositories/audit.js';
import type { Executor } from '../repositories/executor.js';
import { findSession } from '../repositories/sessions.js';
import type { Caller } from './tenants.js';

export interface Actor extends Caller {
  /** The `X-Tenzro-Party-Id` header, already checked to be a well-formed party id. */
  partyHeader: string | undefined;
}

export interface LoadedSession {
  row: SessionsTable;
  terms: SessionTerms;
}

export function notFound(): TenzroError {
  return new TenzroError('not_found', 'session not found');
}

export function parseTerms(row: SessionsTable): SessionTerms {
  return SessionTerms.parse(JSON.parse(row.terms_json));
}

export function rosterRole(terms: SessionTerms, partyId: string): 'participant' | 'observer' | undefined {
  if (terms.participants.some((p) => p.partyId === partyId)) return 'participant';
  if (terms.observers.some((o) => o.partyId === partyId)) return 'observer';
  return undefined;
}

export function rosterPartyIds(terms: SessionTerms): string[] {
  return [...terms.participants.map((p) => p.partyId), ...terms.observers.map((o) => o.partyId)];
}

export function isVisibleTo(row: SessionsTable, terms: SessionTerms, tenantId: string): boolean {
  return row.tenant_id === tenantId || rosterPartyIds(terms).some((p) => tenantOfParty(p) === tenantId);
}

/**
 * Loads a session the caller may see, or refuses with 404 whether it exists or not; a header naming another
 * tenant's party is 403. A refusal of an existing session is logged (in its own transaction).
 */
export async function loadVisible(
  db: Executor,
  actor: Actor,
  sessionId: string,
  at: string = new Date().toISOString(),
): Promise<LoadedSession> {
  const row = await findSession(db, sessionId);
  if (!row) throw notFound();
  const terms = parseTerms(row);
  if (!isVisibleTo(row, terms, actor.tenantId)) {
    await logRefusal(db, actor, sessionId, 'not_found', at);
    throw notFound();
  }
  if (actor.partyHeader !== undefined && tenantOfParty(actor.partyHeader) !== actor.tenantId) {
    await logRefusal(db, actor, sessionId, 'forbidden', at);
    throw foreignParty(actor);
  }
  return { row, terms };
}

function foreignParty(actor: Actor): TenzroError {
  return new TenzroError('forbidden', `tenant ${actor.tenantId} may not act for ${actor.partyHeader}`);
}

/** An access_denied leaf with the refusal's code only: no party is named (the caller acts for none). */
async function logRefusal(db: Executor, actor: Actor, sessionId: string, code: 'not_found' | 'forbidden', at: string): Promise<void> {
  await appendAudit(db, {
    sessionId,
    type: 'access_denied',
    actorTenant: actor.tenantId,
    actorParty: null,
    payload: { code },
    at,
  });
}

/**
 * The party the caller acts as in this session, or undefined when its tenant has none on the roster.
 * A header naming another tenant's party is 403; several candidate parties without a header is 400.
 */
export function actingParty(actor: Actor, terms: SessionTerms): string | undefined {
  if (actor.partyHeader !== undefined) {
    if (tenantOfParty(actor.partyHeader) !== actor.tenantId) throw foreignParty(actor);
    return actor.partyHeader;
  }
  const own = rosterPartyIds(terms).filter((p) => tenantOfParty(p) === actor.tenantId);
  if (own.length > 1) {
    throw new TenzroError('party_ambiguous', 'several of your parties are on this session; name one in X-Tenzro-Party-Id');
  }
  return own[0];
}

/** The caller's roles in a session (the header narrows them to one party). */
export function rolesOf(actor: Actor, row: SessionsTable, terms: SessionTerms): SessionRole[] {
  const roles: SessionRole[] = [];
  if (row.tenant_id === actor.tenantId) roles.push('creator');
  const mine = (partyId: string): boolean =>
    actor.partyHeader !== undefined ? partyId === actor.partyHeader : tenantOfParty(partyId) === actor.tenantId;
  if (terms.participants.some((p) => mine(p.partyId))) roles.push('participant');
  if (terms.observers.some((o) => mine(o.partyId))) roles.push('observer');
  return roles;
}

/**
 * Records a refused action in the audit log, in its own transaction, and returns the 403 to throw
 * (`message` replaces the default "only a participant of this session may <action>").
 */
export async function denyAndAudit(
  db: Executor,
  actor: Actor,
  sessionId: string,
  partyId: string | undefined,
  action: string,
  at: string,
  message = `only a participant of this session may ${action}`,
): Promise<TenzroError> {
  await appendAudit(db, {
    sessionId,
    type: 'access_denied',
    actorTenant: actor.tenantId,
    actorParty: partyId ?? null,
    payload: { action, code: 'forbidden' },
    at,
  });
  return new TenzroError('forbidden', message);
}
