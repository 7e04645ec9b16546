/**
 * A route as data: its method, path, zod schemas for params, headers, body and every success reply, and a
 * handler. `registerRoute` parses every input with the schemas (a failure is 400 invalid_request naming the
 * path) and every reply too (a reply that fails its schema is a host bug: 500). The same specs produce the
 * OpenAPI document, so the documentation cannot drift from what is enforced.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { TenzroError, type ErrorCode } from '@tenzro/protocol';
import { z } from 'zod';
import type { Actor } from '../domain/access.js';
import { fromZodError } from './errors.js';

export type AuthKind = 'tenant' | 'admin' | 'none';

export type BodySpec<B extends z.ZodType> =
  | { kind: 'json'; schema: B; optional?: boolean }
  | { kind: 'stream'; contentType: 'application/octet-stream' | 'application/json' };

export interface HandlerInput<P extends z.ZodType, B extends z.ZodType, H extends z.ZodType, Q extends z.ZodType = z.ZodUndefined> {
  params: z.output<P>;
  /** The parsed query string (routes that declare `query`). */
  query: z.output<Q>;
  headers: z.output<H>;
  /** The parsed JSON body, or undefined for a stream route (see `stream`). */
  body: z.output<B>;
  stream: Readable | undefined;
  /** The authenticated caller (tenant routes only). */
  actor: Actor;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface HandlerResult {
  status: number;
  body: unknown;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  H extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify path syntax (`/v1/sessions/:sessionId`). */
  url: string;
  operationId: string;
  summary: string;
  auth: AuthKind;
  params?: P;
  /** The query string's schema; without it any query string is ignored. */
  query?: Q;
  headers?: H;
  body?: BodySpec<B>;
  responses: Readonly<Record<number, z.ZodType>>;
  /** The refusals this route documents (every route may also answer 401, 400 and 500). */
  errors: readonly ErrorCode[];
  handle(input: HandlerInput<P, B, H, Q>): Promise<HandlerResult>;
}

export type AnyRouteSpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

export function defineRoute<
  P extends z.ZodType = z.ZodUndefined,
  B extends z.ZodType = z.ZodUndefined,
  H extends z.ZodType = z.ZodUndefined,
  Q extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, B, H, Q>): AnyRouteSpec {
  return spec as unknown as AnyRouteSpec;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthKind;
    operationId?: string;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

function parseWith<S extends z.ZodType>(schema: S | undefined, value: unknown, where: string): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error, where);
  return parsed.data;
}

export function registerRoute(app: FastifyInstance, spec: AnyRouteSpec): void {
  app.route({
    method: spec.method,
    url: spec.url,
    config: { auth: spec.auth, operationId: spec.operationId },
    handler: async (request, reply) => {
      const params = parseWith(spec.params, request.params, 'params');
      const query = parseWith(spec.query, request.query, 'query');
      const headers = parseWith(spec.headers, request.headers, 'headers');
      let body: unknown;
      let stream: Readable | undefined;
      if (spec.body?.kind === 'json') {
        if (request.body === undefined && spec.body.optional) body = parseWith(spec.body.schema, {}, 'body');
        else body = parseWith(spec.body.schema, request.body, 'body');
      } else if (spec.body?.kind === 'stream') {
        stream = request.body as Readable | undefined;
      }
      if (spec.auth === 'tenant' && !request.actor) throw new TenzroError('unauthorized', 'invalid API key or tenant');
      const result = await spec.handle({
        params,
        query,
        headers,
        body,
        stream,
        actor: request.actor as Actor,
        request,
        reply,
      });
      const schema = spec.responses[result.status];
      if (!schema) {
        request.log.error({ operationId: spec.operationId, status: result.status }, 'reply status is not declared');
        throw new TenzroError('internal_error', 'internal error');
      }
      const checked = schema.safeParse(result.body);
      if (!checked.success) {
        request.log.error(
          { operationId: spec.operationId, issues: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.code}`) },
          'reply failed its schema',
        );
        throw new TenzroError('internal_error', 'internal error');
      }
      return reply.code(result.status).send(checked.data);
    },
  });
}
