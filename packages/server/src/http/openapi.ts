/**
 * The OpenAPI 3.1 document, generated from the same route specs and zod schemas the server enforces
 * (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
import { ERROR_STATUS, ErrorResponse, HEADER_PARTY, HEADER_TENANT } from '@tenzro/protocol';
import { z } from 'zod';
import type { AnyRouteSpec } from './route.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function objectProperties(schema: z.ZodType | undefined): Array<[string, JsonSchema, boolean]> {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => [name, property, required.has(name)]);
}

export interface OpenApiInfo {
  title: string;
  version: string;
}

export function buildOpenApi(routes: readonly AnyRouteSpec[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = jsonSchema(ErrorResponse, 'output');
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [name, schema] of objectProperties(route.params)) {
      parameters.push({ name, in: 'path', required: true, schema });
    }
    for (const [name, schema, required] of objectProperties(route.query)) {
      parameters.push({ name, in: 'query', required, schema });
    }
    for (const [name, schema, required] of objectProperties(route.headers)) {
      if (name === 'content-length') continue;
      parameters.push({ name, in: 'header', required, schema });
    }
    if (route.auth === 'tenant') {
      parameters.push({
        name: HEADER_PARTY,
        in: 'header',
        required: false,
        description: 'The party the caller acts as, when its tenant has several on the session',
        schema: { type: 'string' },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(route.responses)) {
      responses[status] = { description: 'success', content: { 'application/json': { schema: jsonSchema(schema, 'output') } } };
    }
    const errorStatuses = new Set<number>([400, 500]);
    if (route.auth !== 'none') errorStatuses.add(401);
    for (const code of route.errors) errorStatuses.add(ERROR_STATUS[code]);
    for (const status of [...errorStatuses].sort()) {
      const codes = route.errors.filter((c) => ERROR_STATUS[c] === status);
      responses[String(status)] = {
        description: codes.length > 0 ? `error: ${codes.join(', ')}` : 'error',
        content: { 'application/json': { schema: errorSchema } },
      };
    }
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      parameters,
      responses,
      security: route.auth === 'tenant' ? [{ apiKey: [], tenant: [] }] : route.auth === 'admin' ? [{ adminKey: [] }] : [],
    };
    if (route.body?.kind === 'json') {
      operation.requestBody = {
        required: !route.body.optional,
        content: { 'application/json': { schema: jsonSchema(route.body.schema, 'input') } },
      };
    } else if (route.body?.kind === 'stream') {
      operation.requestBody = {
        required: true,
        content: { [route.body.contentType]: { schema: { type: 'string', contentMediaType: route.body.contentType } } },
      };
    }
    const path = openApiPath(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  // The live event streams (http/events.ts) are plain Fastify routes, not route specs: described here.
  const eventStream = (operationId: string, summary: string, withSession: boolean) => ({
    get: {
      operationId,
      summary,
      ...(withSession ? { parameters: [{ name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } }] } : {}),
      responses: {
        200: {
          description: 'text/event-stream of `session.updated` events ({ type, sessionId, status, at }), the current state first; `: keep-alive` every 15 s',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        400: { description: 'invalid_request' },
        401: { description: 'unauthorized' },
        404: { description: 'not_found' },
        429: { description: 'rate_limited (too many open streams)' },
      },
    },
  });
  paths['/v1/sessions/{sessionId}/events'] = eventStream('watchSession', 'Live changes of one session (server-sent events)', true);
  paths['/v1/events'] = eventStream('watchSessions', 'Live changes of every session the caller sees (server-sent events)', false);
  paths['/openapi.json'] = {
    get: {
      operationId: 'openApi',
      summary: 'This document',
      security: [],
      responses: { 200: { description: 'the OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key' },
        tenant: { type: 'apiKey', in: 'header', name: HEADER_TENANT, description: 'The tenant the key belongs to' },
        adminKey: { type: 'http', scheme: 'bearer', description: 'TENZRO_ADMIN_KEY' },
      },
      schemas: { ErrorResponse: errorSchema },
    },
  };
}
