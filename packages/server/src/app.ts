/**
 * The Fastify application: strict JSON parsing (1 MiB, RFC 8259 + I-JSON, no duplicate or __proto__ keys),
 * a raw octet-stream parser for the data route only, authentication before any body is read, every route
 * from its spec, one error mapper, and GET /openapi.json built from the same specs.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { parseStrictJson } from '@tenzro/crypto';
import type { Context } from './context.js';
import { registerAuth } from './http/auth.js';
import { registerEventRoutes } from './http/events.js';
import { defaultConsoleDir, registerConsole } from './http/console.js';
import { toErrorReply } from './http/errors.js';
import { buildOpenApi } from './http/openapi.js';
import { registerRoute, type AnyRouteSpec } from './http/route.js';
import { logRoutes } from './http/routes/log.js';
import { modelRoutes } from './http/routes/models.js';
import { mpcRoutes } from './http/routes/mpc.js';
import { partyRoutes } from './http/routes/parties.js';
import { secAggRoutes } from './http/routes/secagg.js';
import { sessionRoutes } from './http/routes/sessions.js';
import { systemRoutes } from './http/routes/system.js';

export const JSON_BODY_LIMIT = 1024 * 1024;
export const JSON_MAX_DEPTH = 64;
export const API_VERSION = '0.1.0';

export function allRoutes(ctx: Context): AnyRouteSpec[] {
  return [...systemRoutes(ctx), ...modelRoutes(ctx), ...partyRoutes(ctx), ...sessionRoutes(ctx), ...secAggRoutes(ctx), ...mpcRoutes(ctx), ...logRoutes(ctx)];
}

export function buildApp(ctx: Context): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: JSON_BODY_LIMIT,
    requestTimeout: 10 * 60_000,
    connectionTimeout: 0,
    return503OnClosing: true,
    genReqId: (() => {
      let n = 0;
      return () => `req-${(++n).toString(36)}`;
    })(),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT }, (_request, text, done) => {
    try {
      done(null, parseStrictJson(text as string, { maxDepth: JSON_MAX_DEPTH }));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const mapped = toErrorReply(error);
    if (mapped.fault) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: mapped.body.error.code }, 'request refused');
    void reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: 'no such route' } });
  });

  registerAuth(app, ctx);

  const routes = allRoutes(ctx);
  const streamRoutes = routes.filter((r) => r.body?.kind === 'stream');
  for (const route of routes.filter((r) => r.body?.kind !== 'stream')) registerRoute(app, route);
  // The upload routes (data, masked input, unmask answer, mpc share bundle) read their body as a raw
  // stream, counted and cut by the domain: Fastify's bodyLimit does not apply there, and any other content
  // type than the route's is refused (415). One scope per content type.
  for (const contentType of ['application/octet-stream', 'application/json'] as const) {
    const scoped = streamRoutes.filter((r) => r.body?.kind === 'stream' && r.body.contentType === contentType);
    if (scoped.length === 0) continue;
    void app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(contentType, (_request, payload, done) => done(null, payload));
      for (const route of scoped) registerRoute(scope, route);
    });
  }

  registerEventRoutes(app, ctx);
  registerConsole(app, ctx.config.consoleDir ?? defaultConsoleDir());

  const document = buildOpenApi(routes, { title: 'Tenzro Multi-Party Inference API', version: API_VERSION });
  app.get('/openapi.json', { config: { auth: 'none' } }, async () => document);
  return app;
}
