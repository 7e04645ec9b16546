/**
 * Transparency-log routes (issue 3): the log's public key (no auth: anyone may check a head), the current
 * signed tree head, consistency proofs between two sizes, and a session's trail with inclusion proofs
 * (visible as the session is: its creator and roster tenants; 404 for anyone else).
 */
import {
  ConsistencyQuery,
  ConsistencyResponse,
  LogKeyResponse,
  SessionIdParams,
  SessionTrailResponse,
  SignedTreeHead,
} from '@tenzro/protocol';
import type { Context } from '../../context.js';
import { getSessionTrail } from '../../domain/trail.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export function logRoutes(ctx: Context): AnyRouteSpec[] {
  const key = async () => ({ status: 200, body: ctx.log.keyResponse() });
  return [
    defineRoute({
      method: 'GET',
      url: '/.well-known/tenzro-log-key',
      operationId: 'getWellKnownLogKey',
      summary: 'The transparency log’s Ed25519 public key and log id (signs every tree head)',
      auth: 'none',
      responses: { 200: LogKeyResponse },
      errors: [],
      handle: key,
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/log/key',
      operationId: 'getLogKey',
      summary: 'The transparency log’s Ed25519 public key and log id (same as /.well-known/tenzro-log-key)',
      auth: 'none',
      responses: { 200: LogKeyResponse },
      errors: [],
      handle: key,
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/log/tree-head',
      operationId: 'getTreeHead',
      summary: 'A signed tree head covering every event logged so far',
      auth: 'tenant',
      responses: { 200: SignedTreeHead },
      errors: [],
      handle: async () => ({ status: 200, body: await ctx.log.currentHead() }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/log/consistency',
      operationId: 'getConsistencyProof',
      summary: 'RFC 9162 consistency proof between the trees of `from` and `to` leaves (1 ≤ from ≤ to ≤ size)',
      auth: 'tenant',
      query: ConsistencyQuery,
      responses: { 200: ConsistencyResponse },
      errors: ['invalid_request'],
      handle: async ({ query }) => ({ status: 200, body: await ctx.log.consistency(query.from, query.to) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:sessionId/trail',
      operationId: 'getSessionTrail',
      summary: 'Every logged event of the session with its inclusion proof against one signed tree head',
      auth: 'tenant',
      params: SessionIdParams,
      responses: { 200: SessionTrailResponse },
      errors: ['not_found'],
      handle: async ({ actor, params }) => ({ status: 200, body: await getSessionTrail(ctx, actor, params.sessionId) }),
    }),
  ];
}
