/**
 * Language-model backends for `content` through the real platform (`tenzro start`, its enclave process, the
 * SDK): (a) the local GGUF backend runs the repository's stories260K model inside the enclave; every party
 * gets the text it generated, the same text twice at temperature 0, and the attested report names the
 * backend; the model is part of the measurement the SDK pins, which `tenzro measure --gguf` reproduces.
 * (b) an OpenAI-compatible endpoint that echoes another party's transaction id fails the run closed
 * (narrative_refused): nothing is released to anyone, and the id is nowhere in the server's data or logs.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenzroApiError } from '@tenzro/platform';
import { leaksOf } from '../support/canary.js';
import { PlatformProcess, repoRoot } from '../support/platform-process.js';
import { BANKS, REGULATOR, consent, demoPartitions, devParties, http, sdkFor, submitRecords } from '../support/flow.js';

const GGUF = 'test/fixtures/models/stories260K.gguf';
const PROMPT = 'Once upon a time, the banks';

describe('language-model backends through the real platform', () => {
  let server: PlatformProcess;
  let llm: Server;
  let llmReply = 'Risk concentrates in a few chains.';
  const llmRequests: string[] = [];
  const startedAt = Date.now();

  beforeAll(async () => {
    llm = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        llmRequests.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: llmReply }, finish_reason: 'stop' }] }));
      });
    });
    await new Promise<void>((resolveListen) => llm.listen(0, '127.0.0.1', resolveListen));
    // The server passes its environment on to the enclave process it spawns.
    server = await PlatformProcess.start({
      TENZRO_LLM_GGUF: GGUF,
      TENZRO_LLM_ENDPOINT: `http://127.0.0.1:${(llm.address() as AddressInfo).port}`,
      TENZRO_LLM_MODEL: 'echo-llm',
      TENZRO_LLM_TIMEOUT_MS: '10000',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await new Promise<void>((resolveClose) => llm?.close(() => resolveClose()));
  });

  /** A risk-analyzer session of the three banks and the regulator, without DP noise (same records, same findings). */
  async function filledSession(partitions = demoPartitions(150, 13)) {
    const parties = devParties(server);
    const session = await sdkFor(server, parties.bankA!).ai.createMultiPartySession({
      name: 'Narrative backends',
      modelId: 'risk-analyzer-v2',
      participants: BANKS.map((b) => `party::${b}::treasury`),
      observers: [REGULATOR],
      dataPolicy: {
        minParticipants: 3,
        aggregationMethod: 'federated',
        retentionPolicy: 'delete_after_inference',
        federatedConfig: { localEpochs: 1, aggregationRounds: 2, differentialPrivacy: { enabled: false } },
      },
      expiresAt: new Date(Date.now() + 60 * 60 * 1000),
    });
    for (const bank of BANKS) {
      await submitRecords(server, parties[bank]!, session.id, partitions[bank]);
      await consent(server, parties[bank]!, session.id);
    }
    return session;
  }

  it('lists local-gguf among the backends of the model, and pins a measurement that `tenzro measure --gguf` reproduces', async () => {
    const models = await http(server, devParties(server).bankA!, 'GET', '/v1/models');
    expect(models.status).toBe(200);
    const risk = models.body.models.find((m: { id: string }) => m.id === 'risk-analyzer-v2');
    expect(risk.backends).toEqual(['deterministic', 'openai-compatible', 'local-gguf']);

    const cli = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');
    const env = { ...process.env };
    delete env.TENZRO_LLM_GGUF;
    const withModel = execFileSync(process.execPath, [cli, 'measure', '--gguf', GGUF], { cwd: repoRoot, env, encoding: 'utf8' }).trim();
    const withoutModel = execFileSync(process.execPath, [cli, 'measure'], { cwd: repoRoot, env, encoding: 'utf8' }).trim();
    expect(server.credentials().attestation.measurement).toBe(withModel);
    expect(withModel).not.toBe(withoutModel);
  });

  it('(a) local-gguf writes every party\'s content, the same text twice at temperature 0, and the attested report names it', async () => {
    const parties = devParties(server);
    const texts: string[] = [];
    for (let round = 0; round < 2; round++) {
      const session = await filledSession();
      const result = await sdkFor(server, parties.bankA!).ai.runMultiPartyInference({
        sessionId: session.id,
        prompt: PROMPT,
        parameters: { backend: 'local-gguf', maxTokens: 16, temperature: 0 },
      });
      expect(result.teeAttestation.verified).toBe(true);
      expect(result.teeAttestation.measurement).toBe(server.credentials().attestation.measurement);
      expect(result.report.parameters).toEqual({ backend: 'local-gguf', maxTokens: 16, temperature: 0 });
      expect(result.content.trim().length).toBeGreaterThan(0);
      texts.push(result.content);
      for (const tenant of ['bankB', 'bankC', 'regulator']) {
        const other = await sdkFor(server, parties[tenant]!).ai.getSessionResult(session.id);
        expect(other.content).toBe(result.content);
        expect(other.report.parameters.backend).toBe('local-gguf');
        expect(other.resultHash).toBe(result.resultHash);
      }
    }
    expect(texts[1]).toBe(texts[0]);
  });

  it("(b) an endpoint echoing another party's transaction id fails the run closed: narrative_refused, nothing released, the id stored nowhere", async () => {
    const parties = devParties(server);
    const canary = `CANARY${randomBytes(10).toString('hex').toUpperCase()}`;
    const transactionId = `${canary}-tx`;
    const partitions = demoPartitions(150, 17);
    const bankB = structuredClone(partitions.bankB!) as unknown as Array<Record<string, unknown>>;
    bankB[0]!.transactionId = transactionId;
    const session = await filledSession({ ...partitions, bankB: bankB as never });

    llmReply = `The transfer ${transactionId} moved the funds through three banks.`;
    llmRequests.length = 0;
    const run = sdkFor(server, parties.bankA!).ai.runMultiPartyInference({
      sessionId: session.id,
      prompt: PROMPT,
      parameters: { backend: 'openai-compatible', maxTokens: 64, temperature: 0 },
    });
    await expect(run).rejects.toBeInstanceOf(TenzroApiError);
    await expect(run).rejects.toMatchObject({ code: 'narrative_refused' });
    // the endpoint was asked once, with aggregates only
    expect(llmRequests).toHaveLength(1);
    expect(llmRequests[0]).not.toContain(canary);

    const status = await sdkFor(server, parties.bankA!).ai.getSessionStatus(session.id);
    expect(status.status).not.toBe('completed');
    expect(status.lastRun?.status).toBe('failed');
    expect(status.lastRun?.error?.code).toBe('narrative_refused');
    expect(status.lastRun?.error?.retryable).toBe(false);
    expect(JSON.stringify(status)).not.toContain(canary);

    for (const tenant of ['bankA', 'bankB', 'bankC', 'regulator']) {
      const result = await http(server, parties[tenant]!, 'GET', `/v1/sessions/${session.id}/result`);
      expect(result.status).not.toBe(200);
      expect(result.body).not.toHaveProperty('sealedResult');
      expect(JSON.stringify(result.body)).not.toContain(canary);
      await expect(sdkFor(server, parties[tenant]!).ai.getSessionResult(session.id)).rejects.toBeInstanceOf(TenzroApiError);
    }
    expect(leaksOf(canary, server.dataDir, startedAt)).toEqual([]);
    expect(server.output()).not.toContain(canary);
  });
});
