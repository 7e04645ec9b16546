/** Party routes: register a party of the caller's tenant; read a party's public keys. */
import { PartyParams, PartyResponse, RegisterPartyRequest } from '@tenzro/protocol';
import type { Context } from '../../context.js';
import { getParty, registerParty } from '../../domain/parties.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export function partyRoutes(ctx: Context): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/parties',
      operationId: 'registerParty',
      summary: 'Register a party of the caller’s tenant with its public keys',
      auth: 'tenant',
      body: { kind: 'json', schema: RegisterPartyRequest },
      responses: { 201: PartyResponse },
      errors: ['forbidden', 'conflict'],
      handle: async ({ actor, body }) => ({ status: 201, body: await registerParty(ctx, actor, body) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/parties/:partyId',
      operationId: 'getParty',
      summary: 'A registered party’s public keys',
      auth: 'tenant',
      params: PartyParams,
      responses: { 200: PartyResponse },
      errors: ['not_found'],
      handle: async ({ params }) => ({ status: 200, body: await getParty(ctx, params.partyId) }),
    }),
  ];
}
