/** Enclave information, health, and the admin route that creates tenants. */
import { EnclaveInfoResponse, TenzroError } from '@tenzro/protocol';
import type { Context } from '../../context.js';
import { createTenant } from '../../domain/tenants.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';
import { CreateTenantRequest, CreateTenantResponse, HealthResponse } from '../schemas.js';

export function systemRoutes(ctx: Context): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/enclave',
      operationId: 'getEnclaveInfo',
      summary: 'The enclave’s attestation provider, measurement (pcrs[0]) and, when simulated, its root',
      auth: 'tenant',
      responses: { 200: EnclaveInfoResponse },
      errors: ['enclave_unavailable'],
      handle: async () => {
        const info = ctx.enclave.info();
        if (!info) throw new TenzroError('enclave_unavailable', 'the enclave has not started yet');
        return {
          status: 200,
          body: {
            provider: info.provider,
            moduleId: info.moduleId,
            measurement: info.measurement,
            rootPem: info.provider === 'simulated' ? info.rootPem : null,
            ready: ctx.enclave.ready(),
          },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/healthz',
      operationId: 'health',
      summary: 'Liveness, and whether the enclave is up',
      auth: 'none',
      responses: { 200: HealthResponse },
      errors: [],
      handle: async () => ({ status: 200, body: { status: 'ok', enclave: ctx.enclave.ready() ? 'ready' : 'unavailable' } }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/tenants',
      operationId: 'createTenant',
      summary: 'Create a tenant and return its API key, once (needs TENZRO_ADMIN_KEY)',
      auth: 'admin',
      body: { kind: 'json', schema: CreateTenantRequest },
      responses: { 201: CreateTenantResponse },
      errors: ['conflict', 'not_found'],
      handle: async ({ body }) => ({ status: 201, body: await createTenant(ctx, body.tenantId) }),
    }),
  ];
}
