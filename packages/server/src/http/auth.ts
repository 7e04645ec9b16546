/**
 * Authentication, before any body is read: tenant routes need `Authorization: Bearer <apiKey>` and
 * `X-Tenant-Id`; the admin route needs `Authorization: Bearer <TENZRO_ADMIN_KEY>`. `X-Tenzro-Party-Id`, when
 * present, must be a well-formed party id (which tenant owns it is checked per session).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HEADER_PARTY, HEADER_TENANT, PartyId, TenzroError } from '@tenzro/protocol';
import type { Context } from '../context.js';
import { authenticate, bearerToken } from '../domain/tenants.js';

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function adminKeyMatches(configured: string | undefined, presented: string | undefined): boolean {
  if (!configured) return false;
  const ok = timingSafeEqual(digest(configured), digest(presented ?? ''));
  return ok && presented !== undefined;
}

export function registerAuth(app: FastifyInstance, ctx: Context): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    const kind = request.routeOptions.config?.auth;
    if (kind === 'tenant') {
      const caller = await authenticate(ctx, single(request.headers.authorization), single(request.headers[HEADER_TENANT]));
      const partyHeader = request.headers[HEADER_PARTY];
      let party: string | undefined;
      if (partyHeader !== undefined) {
        const parsed = PartyId.safeParse(partyHeader);
        if (!parsed.success) {
          throw new TenzroError('invalid_request', 'X-Tenzro-Party-Id must be party::<tenantId>::<name>', {
            details: [{ field: 'headers.x-tenzro-party-id', message: 'must be party::<tenantId>::<name>' }],
          });
        }
        party = parsed.data;
      }
      request.actor = { ...caller, partyHeader: party };
    } else if (kind === 'admin') {
      if (!ctx.config.adminKey) throw new TenzroError('not_found', 'not found');
      if (!adminKeyMatches(ctx.config.adminKey, bearerToken(single(request.headers.authorization)))) {
        throw new TenzroError('unauthorized', 'invalid admin key');
      }
    }
  });
}
