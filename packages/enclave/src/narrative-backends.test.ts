// Language-model backends for `content`, through the real enclave process: a local HTTP server plays the
// operator's OpenAI-compatible endpoint (POST /v1/chat/completions). Its text becomes the shared content
// with the run's prompt, maxTokens and temperature passed on; a text naming another party's account fails
// the run closed (narrative_refused, nothing sealed); an endpoint that is down, errs or hangs is a clear
// narrative_unavailable.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_INFO, fromBase64Url, openEnvelope, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import { USE_CASE_SPECS, generateDemoData } from '@tenzro/models';
import { HelloResult, ResultBody, RunResult, reportDigest, verifyAttestation } from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { consentOf, makeParty, makeTerms, plainSubmission, type Party, type WrittenSubmission } from '../test/session-fixture.js';
import { aggregatesOf } from './narrative/narrate.js';
import { openAiCompatibleBackend } from './narrative/openai-compatible.js';

const SCHEMA = 'transaction_records_v1';
const BANKS = ['bankA', 'bankB', 'bankC'];
const PROMPT = 'Summarise cross-bank mule risk for the supervisor.';
const LLM_TEXT = 'Across the three banks, risk concentrates in a small number of chains; no single bank sees them whole.';
const API_KEY = 'test-key-not-a-secret';
const LLM_ENV = ['TENZRO_LLM_ENDPOINT', 'TENZRO_LLM_MODEL', 'TENZRO_LLM_API_KEY_FILE', 'TENZRO_LLM_TIMEOUT_MS', 'TENZRO_LLM_MODELS'] as const;

type Mode = { kind: 'text'; text: string } | { kind: 'status'; status: number } | { kind: 'reset' } | { kind: 'hang' };

describe('language-model backends in a run', () => {
  let llm: Server;
  let mode: Mode = { kind: 'text', text: LLM_TEXT };
  const seen: { headers: IncomingMessage['headers']; url: string; body: any }[] = [];
  const hanging: ServerResponse[] = [];
  let enclave: EnclaveProcess;
  let hello: ReturnType<typeof HelloResult.parse>;
  let blobDir: string;
  let participants: Party[];
  let observer: Party;
  let partitions: Record<string, Record<string, unknown>[]>;
  const saved: Record<string, string | undefined> = {};

  /** A federated run of `modelId` (default risk-analyzer-v2 on the banks' transactions) with these parameters. */
  async function runWith(
    parameters: Record<string, unknown>,
    data: { modelId: string; schema: string; records: Record<string, unknown>[][] } = {
      modelId: 'risk-analyzer-v2',
      schema: SCHEMA,
      records: BANKS.map((bank) => partitions[bank]!),
    },
  ) {
    const model = hello.models.find((m) => m.modelId === data.modelId)!;
    const { terms, sessionId } = makeTerms({
      participants,
      observers: [observer],
      modelId: model.modelId,
      modelDigest: model.modelDigest,
      dataPolicy: {
        minParticipants: 3,
        federatedConfig: { localEpochs: 1, aggregationRounds: 2, differentialPrivacy: { enabled: false, epsilon: 1, delta: 1e-5 } },
      },
    });
    const key = await enclave.call('createSessionKey', { sessionId });
    const submissions: WrittenSubmission[] = [];
    for (const [index, party] of participants.entries()) {
      submissions.push(await plainSubmission(blobDir, key.publicKey, party.partyId, data.records[index]!, data.schema));
    }
    return enclave.request('run', {
      runId: 'run_1',
      sessionId,
      sealedKey: key.sealedKey,
      terms,
      submissions,
      consents: participants.map((p) => consentOf(p, sessionId)),
      prompt: PROMPT,
      parameters,
    });
  }

  beforeAll(async () => {
    llm = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({ headers: request.headers, url: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        switch (mode.kind) {
          case 'text':
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: mode.text }, finish_reason: 'stop' }] }));
            return;
          case 'status':
            response.writeHead(mode.status, { 'content-type': 'application/json' });
            response.end('{"error":{"message":"overloaded"}}');
            return;
          case 'reset':
            request.socket.destroy();
            return;
          case 'hang':
            hanging.push(response);
            return;
        }
      });
    });
    await new Promise<void>((resolveListen) => llm.listen(0, '127.0.0.1', resolveListen));
    const port = (llm.address() as AddressInfo).port;

    const stateDir = await tempDir('tenzro-enclave-llm-');
    const keyFile = join(stateDir, 'llm-api-key');
    await writeFile(keyFile, `${API_KEY}\n`);
    for (const name of LLM_ENV) saved[name] = process.env[name];
    process.env.TENZRO_LLM_ENDPOINT = `http://127.0.0.1:${port}`;
    process.env.TENZRO_LLM_MODEL = 'test-llm';
    process.env.TENZRO_LLM_API_KEY_FILE = keyFile;
    process.env.TENZRO_LLM_TIMEOUT_MS = '1500';
    delete process.env.TENZRO_LLM_MODELS;
    enclave = EnclaveProcess.start(stateDir);
    hello = HelloResult.parse(await enclave.call('hello'));
    blobDir = await tempDir('tenzro-enclave-llm-blobs-');
    participants = await Promise.all(BANKS.map((bank) => makeParty(`party::${bank}::treasury`)));
    observer = await makeParty('party::regulator::supervision');
    partitions = generateDemoData({ banks: BANKS, recordsPerBank: 200, seed: 7 }).partitions as unknown as Record<string, Record<string, unknown>[]>;
  });
  afterAll(async () => {
    await enclave.stop();
    for (const response of hanging) response.destroy();
    await new Promise<void>((resolveClose) => llm.close(() => resolveClose()));
    for (const name of LLM_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('announces the backends it offers per model in hello', () => {
    expect(hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!.backends).toEqual(['deterministic', 'openai-compatible']);
  });

  it('writes result.content with the endpoint, passing prompt, maxTokens and temperature, and names the backend in the attested report', async () => {
    mode = { kind: 'text', text: LLM_TEXT };
    seen.length = 0;
    const reply = await runWith({ maxTokens: 77, temperature: 0.3, backend: 'openai-compatible' });
    expect(reply.error).toBeUndefined();
    const result = RunResult.parse(reply.result);
    expect(result.report.parameters).toEqual({ maxTokens: 77, temperature: 0.3, backend: 'openai-compatible' });
    await verifyAttestation(result.attestation, { roots: [hello.rootPem], expectedMeasurements: [hello.measurement], expectedUserData: reportDigest(result.report) });

    expect(seen).toHaveLength(1);
    const call = seen[0]!;
    expect(call.url).toBe('/v1/chat/completions');
    expect(call.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call.body).toMatchObject({ model: 'test-llm', max_tokens: 77, temperature: 0.3, stream: false });
    const sent = JSON.stringify(call.body.messages);
    expect(sent).toContain(PROMPT);
    // the language model saw findings and aggregates, never a record
    for (const records of Object.values(partitions)) {
      for (const record of records) {
        expect(sent).not.toContain(String(record.transactionId));
        expect(sent).not.toContain(String(record.accountId));
      }
    }

    const byId = new Map([...participants, observer].map((p) => [p.partyId, p]));
    for (const { partyId, sealed } of result.sealedResults) {
      const plaintext = await openEnvelope(byId.get(partyId)!.encryptionPrivateKey, fromBase64Url(sealed), { info: RESULT_INFO });
      const body = ResultBody.parse(parseStrictJson(utf8Decode(plaintext)));
      expect(body.shared.content).toBe(LLM_TEXT);
    }
  });

  it('omits max_tokens and temperature the run did not set', async () => {
    mode = { kind: 'text', text: LLM_TEXT };
    seen.length = 0;
    const reply = await runWith({ backend: 'openai-compatible' });
    expect(reply.ok).toBe(true);
    expect(seen[0]!.body).not.toHaveProperty('max_tokens');
    expect(seen[0]!.body).not.toHaveProperty('temperature');
  });

  it("fails the run closed (narrative_refused) when the text echoes another party's account identifiers; nothing is released", async () => {
    const accountOfA = String(partitions.bankA![0]!.accountId);
    const counterparty = String(partitions.bankB![3]!.counterpartyAccountId);
    for (const text of [`Account ${accountOfA} at bankA is the hub of the ring.`, `See ${counterparty}.`]) {
      mode = { kind: 'text', text };
      const before = enclave.replies.length;
      const reply = await runWith({ maxTokens: 64, backend: 'openai-compatible' });
      expect(reply).toMatchObject({ ok: false, error: { code: 'narrative_refused' } });
      expect(reply.result).toBeUndefined();
      expect(reply.error!.message).not.toContain(accountOfA);
      expect(reply.error!.message).not.toContain(counterparty);
      // no reply since the run carried a report or a sealed result
      expect(enclave.replies.slice(before).some((r) => r.ok && r.result?.sealedResults)).toBe(false);
    }
    expect(enclave.stderrText()).not.toContain(accountOfA);
  });

  it("applies a use-case model's own identifiers to the text: an echoed patientId fails the run closed", async () => {
    const healthcareSpec = USE_CASE_SPECS.find((spec) => spec.useCase === 'healthcare-research')!;
    const demo = healthcareSpec.generateDemo({ parties: ['hospitalA', 'hospitalB', 'hospitalC'], recordsPerParty: 120, seed: 3 });
    const records = demo.partitions.map((p) => p.records as unknown as Record<string, unknown>[]);
    const useCase = { modelId: healthcareSpec.id, schema: healthcareSpec.schema.id, records };
    mode = { kind: 'text', text: 'Outcomes improved with the intervention across the three hospitals.' };
    const clean = await runWith({ maxTokens: 64, backend: 'openai-compatible' }, useCase);
    expect(clean).toMatchObject({ ok: true });

    const patientOfB = String(records[1]![5]!.patientId);
    expect(patientOfB.length).toBeGreaterThanOrEqual(6);
    mode = { kind: 'text', text: `Patient ${patientOfB} at hospital B drove the readmissions.` };
    const reply = await runWith({ maxTokens: 64, backend: 'openai-compatible' }, useCase);
    expect(reply).toMatchObject({ ok: false, error: { code: 'narrative_refused' } });
    expect(reply.result).toBeUndefined();
    expect(reply.error!.message).not.toContain(patientOfB);
    expect(enclave.stderrText()).not.toContain(patientOfB);
  });

  it('refuses clearly when the endpoint is down, errs, or does not answer in time (narrative_unavailable)', async () => {
    mode = { kind: 'reset' };
    const down = await runWith({ backend: 'openai-compatible' });
    expect(down).toMatchObject({ ok: false, error: { code: 'narrative_unavailable', message: expect.stringMatching(/could not be reached/) } });

    mode = { kind: 'status', status: 503 };
    const failing = await runWith({ backend: 'openai-compatible' });
    expect(failing).toMatchObject({ ok: false, error: { code: 'narrative_unavailable', message: expect.stringMatching(/HTTP 503/) } });

    mode = { kind: 'hang' };
    const hung = await runWith({ backend: 'openai-compatible' });
    expect(hung).toMatchObject({ ok: false, error: { code: 'narrative_unavailable', message: expect.stringMatching(/within 1500 ms/) } });
  });

  it('keeps the deterministic narrative by default, and refuses a backend the enclave does not offer', async () => {
    seen.length = 0;
    const reply = await runWith({ maxTokens: 256 });
    expect(reply.ok).toBe(true);
    expect(reply.result.report.parameters).toEqual({ maxTokens: 256, backend: 'deterministic' });
    expect(seen).toHaveLength(0);
    expect(await runWith({ backend: 'llama-cpp' })).toMatchObject({ ok: false, error: { code: 'narrative_unavailable' } });
  });
});

describe('openai-compatible backend: arguments and helpers', () => {
  it('checks its options, naming the argument', () => {
    expect(() => openAiCompatibleBackend({ endpoint: 'not a url', model: 'm' })).toThrow(/endpoint must be an absolute URL/);
    expect(() => openAiCompatibleBackend({ endpoint: 'file:///tmp/x', model: 'm' })).toThrow(/http: or https:/);
    expect(() => openAiCompatibleBackend({ endpoint: 'http://127.0.0.1:1', model: '' })).toThrow(/model must be/);
    expect(() => openAiCompatibleBackend({ endpoint: 'http://127.0.0.1:1', model: 'm', timeoutMs: 0 })).toThrow(RangeError);
  });

  it('collects the declared aggregates of the findings by path', () => {
    const findings = { rings: { count: 4, suppressed: false, stats: { size: 3 } }, small: [{ count: null, suppressed: true, stats: null }], note: 'x' };
    expect(aggregatesOf(findings)).toEqual({ rings: findings.rings, 'small[0]': findings.small[0] });
  });
});
