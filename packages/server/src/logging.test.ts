// The host log (stdout and <dataDir>/logs/server.log) never carries bodies, keys or auth headers.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consent, createTestSession, demoData, startTestServer, submitValid, type TestServer } from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { TENZRO_LOG_LEVEL: 'info' } });
});
afterAll(async () => {
  await t?.close();
});

it('logs requests by method, url and status only', async () => {
  const session = await createTestSession(t, { participants: ['bankA', 'bankB'] });
  const signature = t.consentSignature('bankA', session.id);
  await consent(t, 'bankA', session.id);
  await submitValid(t, 'bankA', session.id, demoData('bankA'));
  await t.inject('bankA', { method: 'POST', url: '/v1/sessions', payload: { name: 'SECRET-NAME-xyz', modelId: 'nope', participants: [] } });
  await new Promise<void>((resolve) => t.server.ctx.logger.flush(() => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  const log = await readFile(join(t.dataDir, 'logs', 'server.log'), 'utf8');
  expect(log).toContain('"url":"/v1/sessions"');
  expect(log).toContain('"statusCode":201');
  for (const party of t.credentials.parties) {
    expect(log).not.toContain(party.apiKey);
    expect(log).not.toContain(party.signingKey.privateKey);
    expect(log).not.toContain(party.encryptionKey.privateKey);
  }
  expect(log).not.toContain(signature);
  expect(log).not.toContain('SECRET-NAME-xyz');
  expect(log).not.toContain('bankA-tx-1');
  expect(log.toLowerCase()).not.toContain('bearer');
  const sealedKey = (await t.server.ctx.db.selectFrom('sessions').select('sealed_key').where('id', '=', session.id).executeTakeFirstOrThrow()).sealed_key!;
  expect(log).not.toContain(sealedKey);
});
