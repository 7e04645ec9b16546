// GET /v1/models: the registry as the running enclave reports it (hello), with the JSON Schema documents of
// the data schemas, the methods the enclave runs, and the language-model backends it offers per model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCaseModels } from '@tenzro/models';
import { ModelsResponse } from '@tenzro/protocol';
import { startTestServer, type TestServer } from './harness.fixture.js';

const LLM_ENV = ['TENZRO_LLM_ENDPOINT', 'TENZRO_LLM_MODEL', 'TENZRO_LLM_MODELS'] as const;

describe('GET /v1/models', () => {
  describe('an enclave with the default backend only', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer();
    });
    afterAll(async () => {
      await t.close();
    });

    it('lists each carried model: version, digest, schemas with their JSON Schema, methods, backends', async () => {
      const response = await t.inject('bankA', { method: 'GET', url: '/v1/models' });
      expect(response.statusCode).toBe(200);
      const body = ModelsResponse.parse(t.json(response));
      const risk = body.models.find((m) => m.id === 'risk-analyzer-v2');
      expect(risk).toBeDefined();
      expect(risk!.version).toMatch(/\S/);
      expect(risk!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(risk!.dataSchemas.map((s) => s.id)).toEqual(['transaction_records_v1']);
      expect(risk!.dataSchemas[0]!.jsonSchema).toMatchObject({ type: 'array' });
      expect(risk!.methods).toContain('federated');
      expect(risk!.backends).toEqual(['deterministic']);
      // the digest is the one the enclave announced, the one session terms will carry
      const enclaveModels = t.server.ctx.enclave.info()!.models;
      expect(enclaveModels.find((m) => m.modelId === 'risk-analyzer-v2')!.modelDigest).toBe(risk!.digest);
    });

    it('lists each use-case model with its description, use case and JSON Schema; risk-analyzer-v2 without them', async () => {
      const body = ModelsResponse.parse(t.json(await t.inject('bankA', { method: 'GET', url: '/v1/models' })));
      const risk = body.models.find((m) => m.id === 'risk-analyzer-v2')!;
      expect('description' in risk || 'useCase' in risk).toBe(false);
      for (const u of useCaseModels()) {
        const listed = body.models.find((m) => m.id === u.model.id);
        expect(listed, u.model.id).toMatchObject({ version: u.model.version, digest: u.model.digest, description: u.spec.description, useCase: u.spec.useCase });
        expect(listed!.dataSchemas).toEqual([{ id: u.spec.schema.id, jsonSchema: JSON.parse(JSON.stringify(u.spec.schema.jsonSchema)) }]);
      }
    });

    it('needs tenant credentials', async () => {
      const response = await t.inject(null, { method: 'GET', url: '/v1/models' });
      expect(response.statusCode).toBe(401);
    });

    it('is in the OpenAPI document', async () => {
      const document = t.json(await t.inject(null, { method: 'GET', url: '/openapi.json' }));
      expect(document.paths['/v1/models'].get.operationId).toBe('listModels');
    });
  });

  describe('an enclave configured with an OpenAI-compatible endpoint for one model', () => {
    let t: TestServer;
    const saved: Record<string, string | undefined> = {};
    beforeAll(async () => {
      for (const name of LLM_ENV) saved[name] = process.env[name];
      // the enclave inherits the host's environment; nothing is called at start
      process.env.TENZRO_LLM_ENDPOINT = 'http://127.0.0.1:9';
      process.env.TENZRO_LLM_MODEL = 'test-model';
      process.env.TENZRO_LLM_MODELS = 'risk-analyzer-v2';
      t = await startTestServer();
    });
    afterAll(async () => {
      await t.close();
      for (const name of LLM_ENV) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    it('offers the openai-compatible backend for that model', async () => {
      const body = ModelsResponse.parse(t.json(await t.inject('bankB', { method: 'GET', url: '/v1/models' })));
      expect(body.models.find((m) => m.id === 'risk-analyzer-v2')!.backends).toEqual(['deterministic', 'openai-compatible']);
    });
  });
});
