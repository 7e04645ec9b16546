/**
 * Parties: `party::<tenantId>::<name>`, registered by their own tenant with an Ed25519 signing key and an
 * X25519 encryption key (32 raw bytes each, base64url). Private keys never reach the host.
 */
import { fromBase64Url } from '@tenzro/crypto';
import { TenzroError, tenantOfParty, type PartyResponse, type RegisterPartyRequest } from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { conflictOnDuplicate } from './conflicts.js';
import type { PartiesTable } from '../db/schema.js';
import { appendAudit } from '../repositories/audit.js';
import { findParty, insertParty } from '../repositories/parties.js';
import type { Caller } from './tenants.js';

function assertKey(text: string, field: string): void {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text, field);
  } catch {
    throw new TenzroError('invalid_request', `${field} is not valid base64url`, { details: [{ field, message: 'not base64url' }] });
  }
  if (bytes.length !== 32) {
    throw new TenzroError('invalid_request', `${field} must be 32 bytes`, { details: [{ field, message: 'must be 32 bytes' }] });
  }
}

export function partyResponse(row: PartiesTable): PartyResponse {
  return {
    partyId: row.party_id,
    tenantId: row.tenant_id,
    signingKey: row.signing_key,
    encryptionKey: row.encryption_key,
    createdAt: row.created_at,
  };
}

export async function registerParty(ctx: Context, caller: Caller, request: RegisterPartyRequest): Promise<PartyResponse> {
  if (tenantOfParty(request.partyId) !== caller.tenantId) {
    throw new TenzroError('forbidden', `tenant ${caller.tenantId} may only register parties named party::${caller.tenantId}::<name>`);
  }
  assertKey(request.signingKey, 'signingKey');
  assertKey(request.encryptionKey, 'encryptionKey');
  const row: PartiesTable = {
    party_id: request.partyId,
    tenant_id: caller.tenantId,
    signing_key: request.signingKey,
    encryption_key: request.encryptionKey,
    created_at: nowIso(ctx),
  };
  await conflictOnDuplicate(ctx, `party ${row.party_id} is already registered`, () => ctx.db.transaction().execute(async (trx) => {
    if (await findParty(trx, row.party_id)) throw new TenzroError('conflict', `party ${row.party_id} is already registered`);
    await insertParty(trx, row);
    await appendAudit(trx, {
      sessionId: null,
      type: 'party_registered',
      actorTenant: caller.tenantId,
      actorParty: row.party_id,
      payload: { partyId: row.party_id },
      at: row.created_at,
    });
  }));
  return partyResponse(row);
}

/** A registered party's public keys: public by design (a creator puts other tenants' parties on a roster). */
export async function getParty(ctx: Context, partyId: string): Promise<PartyResponse> {
  const row = await findParty(ctx.db, partyId);
  if (!row) throw new TenzroError('not_found', 'party not found');
  return partyResponse(row);
}
