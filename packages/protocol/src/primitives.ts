/** Small zod building blocks shared by every wire schema. */
import { z } from 'zod';
import { PARTY_ID_PATTERN, SESSION_ID_PATTERN, TENANT_ID_PATTERN } from './ids.js';

export const Base64Url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url without padding');
export const PartyId = z.string().regex(PARTY_ID_PATTERN, 'must be party::<tenantId>::<name>');
export const TenantId = z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id');
export const SessionId = z.string().regex(SESSION_ID_PATTERN, 'must be a session id (mps_…)');
export const Commitment = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>');
export const IsoDateTime = z.iso.datetime({ offset: true });
