/** The model registry: what the running enclave carries, and how each model can be run. */
import { ModelsResponse } from '@tenzro/protocol';
import type { Context } from '../../context.js';
import { listCarriedModels } from '../../domain/models.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export function modelRoutes(ctx: Context): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/models',
      operationId: 'listModels',
      summary: 'The models the enclave carries: id, version, digest, data schemas (JSON Schema), methods, language-model backends',
      auth: 'tenant',
      responses: { 200: ModelsResponse },
      errors: ['enclave_unavailable'],
      handle: async () => ({ status: 200, body: listCarriedModels(ctx.enclave) }),
    }),
  ];
}
