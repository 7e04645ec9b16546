/**
 * Tenants and API keys (DESIGN §4): a key is 256 random bits, shown once, stored as its SHA-256. A request
 * authenticates with the key and names its tenant; a key of one tenant is worthless on another. Every
 * refusal looks the same and costs the same: the key is always hashed, looked up by hash, and compared in
 * constant time (against a dummy when no row matched).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TENANT_ID_PATTERN, TenzroError } from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { conflictOnDuplicate } from './conflicts.js';
import { appendAudit } from '../repositories/audit.js';
import { findApiKeyByHash, insertApiKey, insertTenant, tenantExists } from '../repositories/tenants.js';
import { newId } from './ids.js';

export const API_KEY_PREFIX = 'tzk_';

export interface Caller {
  tenantId: string;
  apiKeyId: string;
}

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

const DUMMY_HASH = Buffer.alloc(32);

function unauthorized(): TenzroError {
  return new TenzroError('unauthorized', 'invalid API key or tenant');
}

/** Parses `Bearer <key>`; anything else is undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([A-Za-z0-9_\-.~+/]{1,512}=*)$/.exec(header);
  return match ? match[1] : undefined;
}

export async function authenticate(
  ctx: Pick<Context, 'db'>,
  authorization: string | undefined,
  tenantHeader: string | undefined,
): Promise<Caller> {
  const token = bearerToken(authorization) ?? '';
  const computed = Buffer.from(hashApiKey(token), 'hex');
  const row = await findApiKeyByHash(ctx.db, computed.toString('hex'));
  const stored = row ? Buffer.from(row.key_hash, 'hex') : DUMMY_HASH;
  const hashMatches = stored.length === computed.length && timingSafeEqual(stored, computed);
  const tenantMatches = row !== undefined && typeof tenantHeader === 'string' && row.tenant_id === tenantHeader;
  if (!row || !hashMatches || !tenantMatches || token === '' || row.revoked_at !== null) throw unauthorized();
  return { tenantId: row.tenant_id, apiKeyId: row.id };
}

export interface CreatedTenant {
  tenantId: string;
  apiKey: string;
}

/** Creates a tenant with one API key; the key is returned once and never stored. */
export async function createTenant(ctx: Pick<Context, 'db' | 'clock' | 'dialect'>, tenantId: string): Promise<CreatedTenant> {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new TypeError('tenantId: not a valid tenant id');
  const apiKey = generateApiKey();
  const at = nowIso(ctx);
  // Two instances creating one tenant at once: the second insert meets the primary key (a conflict, not a 500).
  await conflictOnDuplicate(ctx, `tenant ${tenantId} already exists`, () => ctx.db.transaction().execute(async (trx) => {
    if (await tenantExists(trx, tenantId)) throw new TenzroError('conflict', `tenant ${tenantId} already exists`);
    await insertTenant(trx, tenantId, at);
    const keyId = newId('key');
    await insertApiKey(trx, { id: keyId, tenantId, keyHash: hashApiKey(apiKey), at });
    await appendAudit(trx, {
      sessionId: null,
      type: 'tenant_created',
      actorTenant: null,
      actorParty: null,
      payload: { tenantId, apiKeyId: keyId },
      at,
    });
  }));
  return { tenantId, apiKey };
}
