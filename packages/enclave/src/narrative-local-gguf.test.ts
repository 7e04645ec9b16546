// The `local-gguf` backend with the real stories260K model (test/fixtures/models/PROVENANCE.md) through
// @tenzro/narrative-llama and node-llama-cpp 3.21.1 on the CPU: it generates, maxTokens holds (counted with
// the model's own tokenizer), temperature 0 gives the same text twice, the prompt carries the shared
// findings and never a record, and a bad configuration is a clear error. Then the real enclave process:
// it offers the backend in hello, measures the model, writes result.content with it, and refuses to start
// on a bad path (exit 2).
import { execFileSync } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_INFO, fromBase64Url, openEnvelope, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import { generateDemoData } from '@tenzro/models';
import { loadGguf, type GgufGenerator } from '@tenzro/narrative-llama';
import { HelloResult, ResultBody, RunResult, reportDigest, verifyAttestation } from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { consentOf, makeParty, makeTerms, plainSubmission, type Party, type WrittenSubmission } from '../test/session-fixture.js';
import { measureBundle } from './measure.js';
import { NarrativeError, type NarrativeRequest } from './narrative/backend.js';
import { LOCAL_GGUF_BACKEND, completionPrompt, findingLines, loadLocalGguf, localGgufBackend, localGgufFromEnv } from './narrative/local-gguf.js';
import { NarrativeConfigError } from './narrative/openai-compatible.js';

const GGUF = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'models', 'stories260K.gguf');
const GGUF_ENV = ['TENZRO_LLM_GGUF', 'TENZRO_LLM_GGUF_MODELS', 'TENZRO_LLM_GGUF_THREADS', 'TENZRO_LLM_GGUF_CONTEXT', 'TENZRO_LLM_GGUF_TIMEOUT_MS'] as const;

const FINDINGS = {
  model: 'risk-analyzer-v2',
  participants: 3,
  patterns: { muleChains: { count: 3, suppressed: false, stats: { transactions: 28, medianHops: 5 } } },
  crossParty: { findingsNeedingOtherParties: { count: null, suppressed: true, stats: null } },
  privacy: { statement: 'Groups smaller than 3 are suppressed.' },
};

function request(overrides: Partial<NarrativeRequest> = {}): NarrativeRequest {
  return {
    modelId: 'risk-analyzer-v2',
    prompt: 'Once upon a time',
    maxTokens: 16,
    temperature: 0,
    findings: FINDINGS,
    aggregates: {},
    draft: 'the deterministic narrative',
    ...overrides,
  };
}

describe('local-gguf: the generator and the backend, with stories260K', () => {
  let generator: GgufGenerator;

  beforeAll(async () => {
    generator = await loadLocalGguf({ modelPath: GGUF, threads: 1 });
  });
  afterAll(async () => {
    await generator?.close();
  });

  it('generates text, and maxTokens holds (counted with the model tokenizer)', async () => {
    expect(generator.contextSize).toBe(2048);
    for (const maxTokens of [1, 8, 24]) {
      const completion = await generator.complete('Once upon a time', { maxTokens, temperature: 0 });
      expect(completion.text.trim().length).toBeGreaterThan(0);
      expect(completion.tokens).toBeGreaterThan(0);
      expect(completion.tokens).toBeLessThanOrEqual(maxTokens);
      expect(generator.countTokens(completion.text)).toBeLessThanOrEqual(maxTokens);
    }
    const eight = await generator.complete('Once upon a time', { maxTokens: 8, temperature: 0 });
    expect(eight).toMatchObject({ tokens: 8, stopReason: 'maxTokens' });
  });

  it('temperature 0 gives the same text twice', async () => {
    const a = await generator.complete('Once upon a time', { maxTokens: 32, temperature: 0 });
    const b = await generator.complete('Once upon a time', { maxTokens: 32, temperature: 0 });
    expect(b.text).toBe(a.text);
    expect(a.text.length).toBeGreaterThan(10);
  });

  it('serialises concurrent generations (each as if alone)', async () => {
    const alone = await generator.complete('The little dog', { maxTokens: 12, temperature: 0 });
    const [x, y, z] = await Promise.all([
      generator.complete('The little dog', { maxTokens: 12, temperature: 0 }),
      generator.complete('Once upon a time', { maxTokens: 12, temperature: 0 }),
      generator.complete('The little dog', { maxTokens: 12, temperature: 0 }),
    ]);
    expect(x!.text).toBe(alone.text);
    expect(z!.text).toBe(alone.text);
    expect(y!.text).not.toBe(alone.text);
  });

  it('checks its arguments, naming the wrong one', async () => {
    await expect(generator.complete('x', { maxTokens: 0 })).rejects.toThrow(/maxTokens must be a positive integer/);
    await expect(generator.complete('x', { maxTokens: 1.5 })).rejects.toThrow(RangeError);
    await expect(generator.complete('x', { maxTokens: '8' as never })).rejects.toThrow(/maxTokens must be a number/);
    await expect(generator.complete('x', { maxTokens: 8, temperature: -1 })).rejects.toThrow(/temperature must be a number >= 0/);
    await expect(generator.complete(5 as never, { maxTokens: 8 })).rejects.toThrow(/prompt must be a string/);
  });

  it('the backend writes the text from the prompt and the shared findings, deterministically at temperature 0', async () => {
    const backend = localGgufBackend(generator);
    expect(backend.id).toBe(LOCAL_GGUF_BACKEND);
    const a = await backend.generate(request());
    const b = await backend.generate(request());
    expect(a.length).toBeGreaterThan(0);
    expect(b).toBe(a);
    expect(a).toBe(a.trim());
    const direct = await generator.complete(completionPrompt(request()), { maxTokens: 16, temperature: 0 });
    expect(a).toBe(direct.text.trim());
    expect(generator.countTokens(a)).toBeLessThanOrEqual(16);
  });

  it('renders the findings compactly, nulls left out, the prompt last', () => {
    expect(findingLines(FINDINGS)).toEqual([
      'model: risk-analyzer-v2',
      'participants: 3',
      'patterns.muleChains.count: 3',
      'patterns.muleChains.suppressed: false',
      'patterns.muleChains.stats.transactions: 28',
      'patterns.muleChains.stats.medianHops: 5',
      'crossParty.findingsNeedingOtherParties.suppressed: true',
      'privacy.statement: Groups smaller than 3 are suppressed.',
    ]);
    const prompt = completionPrompt(request({ prompt: 'Summarise\nthe  risk.' }));
    expect(prompt.startsWith('Findings of a multi-party analysis (aggregates only):\nmodel: risk-analyzer-v2\n')).toBe(true);
    expect(prompt.endsWith('\n\nQuestion: Summarise the risk.\nAnswer:')).toBe(true);
  });

  it('keeps only the finding lines that fit the context with maxTokens, and refuses what cannot fit', async () => {
    const small = await loadLocalGguf({ modelPath: GGUF, threads: 1, contextSize: 160 });
    try {
      const lines = Array.from({ length: 40 }, (_, i) => [`metric${i}`, i]);
      const findings = Object.fromEntries(lines);
      const seen: string[] = [];
      const spy: GgufGenerator = {
        contextSize: small.contextSize,
        countTokens: (text) => small.countTokens(text),
        complete: (prompt, options) => {
          seen.push(prompt);
          return small.complete(prompt, options);
        },
        close: () => small.close(),
      };
      const text = await localGgufBackend(spy).generate(request({ findings, maxTokens: 32 }));
      expect(text.length).toBeGreaterThan(0);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toContain('metric0: 0');
      expect(seen[0]).not.toContain('metric39: 39');
      expect(seen[0]).toContain('Question: Once upon a time');
      // llama.cpp may round the context up (to 256 here); the backend fits what the context really holds
      expect(small.contextSize).toBeGreaterThanOrEqual(160);
      expect(small.contextSize).toBeLessThan(1024);
      expect(small.countTokens(seen[0]!) + 1 + 32).toBeLessThanOrEqual(small.contextSize);

      const refused = localGgufBackend(spy).generate(request({ maxTokens: 4096 }));
      await expect(refused).rejects.toBeInstanceOf(NarrativeError);
      await expect(refused).rejects.toThrow(`cannot fit the prompt and maxTokens 4096 in its context of ${small.contextSize} tokens`);
      expect(seen).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it('a generation that does not finish in time is narrative-unavailable', async () => {
    const hanging: GgufGenerator = {
      contextSize: 2048,
      countTokens: (text) => generator.countTokens(text),
      complete: (_prompt, options) =>
        new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true })),
      close: async () => undefined,
    };
    const slow = localGgufBackend(hanging, { timeoutMs: 50 }).generate(request());
    await expect(slow).rejects.toMatchObject({ name: 'NarrativeError', code: 'backend_unavailable', message: 'the local GGUF model did not finish within 50 ms' });
    expect(() => localGgufBackend(hanging, { timeoutMs: 0 })).toThrow(RangeError);
    expect(() => localGgufBackend(null as never)).toThrow(/generator must be/);
  });
});

describe('local-gguf: configuration errors', () => {
  it('a path that names no file is a clear configuration error', async () => {
    const missing = loadLocalGguf({ modelPath: '/nonexistent/model.gguf' });
    await expect(missing).rejects.toBeInstanceOf(NarrativeConfigError);
    await expect(missing).rejects.toThrow('TENZRO_LLM_GGUF names no readable file (/nonexistent/model.gguf)');
    await expect(loadLocalGguf({ modelPath: dirname(GGUF) })).rejects.toThrow(/TENZRO_LLM_GGUF is not a regular file/);
  });

  it('loadGguf checks its options, naming the wrong one', async () => {
    await expect(loadGguf(null as never)).rejects.toThrow(/options must be an object/);
    await expect(loadGguf({ modelPath: '' })).rejects.toThrow(/modelPath must be a non-empty string/);
    await expect(loadGguf({ modelPath: GGUF, threads: 0 })).rejects.toThrow(RangeError);
    await expect(loadGguf({ modelPath: GGUF, threads: '2' as never })).rejects.toThrow(/threads must be a number/);
    await expect(loadGguf({ modelPath: GGUF, contextSize: 1.5 })).rejects.toThrow(/contextSize must be a positive integer/);
  });

  it('a file that is not a GGUF model is a clear configuration error', async () => {
    const dir = await tempDir('tenzro-gguf-bad-');
    const notAModel = join(dir, 'not-a-model.gguf');
    await writeFile(notAModel, 'this is not a GGUF file\n'.repeat(100));
    const bad = loadLocalGguf({ modelPath: notAModel });
    await expect(bad).rejects.toBeInstanceOf(NarrativeConfigError);
    await expect(bad).rejects.toThrow(/^TENZRO_LLM_GGUF: the GGUF model could not be loaded/);
  });

  it('without node-llama-cpp installed, loading says so (llama_not_installed)', async () => {
    // the package's built code where node-llama-cpp cannot be resolved (as after npm ci --omit=optional),
    // in a plain node process (vitest would resolve the import from the repository)
    const dir = await tempDir('tenzro-no-llama-');
    await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
    await copyFile(join(dirname(GGUF), '..', '..', '..', 'packages', 'narrative-llama', 'dist', 'index.js'), join(dir, 'index.js'));
    const script = `import { loadGguf } from './index.js';
      loadGguf({ modelPath: ${JSON.stringify(GGUF)} }).then(
        () => console.log('loaded'),
        (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    const error = JSON.parse(out) as { name: string; code: string; message: string };
    expect(error).toMatchObject({ name: 'LlamaLoadError', code: 'llama_not_installed' });
    expect(error.message).toMatch(/^node-llama-cpp is not installed \(it is an optional dependency of @tenzro\/narrative-llama/);
  });

  it('reads TENZRO_LLM_GGUF* and refuses bad numbers', async () => {
    expect(await localGgufFromEnv({})).toBeUndefined();
    await expect(localGgufFromEnv({ TENZRO_LLM_GGUF: GGUF, TENZRO_LLM_GGUF_THREADS: '0' })).rejects.toThrow('TENZRO_LLM_GGUF_THREADS must be a positive integer');
    await expect(localGgufFromEnv({ TENZRO_LLM_GGUF: GGUF, TENZRO_LLM_GGUF_TIMEOUT_MS: 'soon' })).rejects.toThrow('TENZRO_LLM_GGUF_TIMEOUT_MS must be a positive integer');
    await expect(localGgufFromEnv({ TENZRO_LLM_GGUF: GGUF, TENZRO_LLM_GGUF_CONTEXT: '-1' })).rejects.toThrow('TENZRO_LLM_GGUF_CONTEXT must be a positive integer');
    const configured = await localGgufFromEnv({ TENZRO_LLM_GGUF: GGUF, TENZRO_LLM_GGUF_MODELS: 'risk-analyzer-v2, other ' });
    try {
      expect(configured!.backend.id).toBe('local-gguf');
      expect(configured!.models).toEqual(['risk-analyzer-v2', 'other']);
    } finally {
      await configured!.close();
    }
  });
});

describe('local-gguf in the enclave process', () => {
  const SCHEMA = 'transaction_records_v1';
  const BANKS = ['bankA', 'bankB', 'bankC'];
  const saved: Record<string, string | undefined> = {};
  let enclave: EnclaveProcess;
  let hello: ReturnType<typeof HelloResult.parse>;
  let blobDir: string;
  let participants: Party[];
  let observer: Party;
  let partitions: Record<string, Record<string, unknown>[]>;
  let modelCopy: string;

  async function runWith(runId: string, parameters: Record<string, unknown>) {
    const model = hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!;
    const { terms, sessionId } = makeTerms({
      participants,
      observers: [observer],
      modelId: model.modelId,
      modelDigest: model.modelDigest,
      // no DP noise: the same records give the same findings, so the same prompt (determinism check)
      dataPolicy: { minParticipants: 3, federatedConfig: { localEpochs: 1, aggregationRounds: 2, differentialPrivacy: { enabled: false } } },
    });
    const key = await enclave.call('createSessionKey', { sessionId });
    const submissions: WrittenSubmission[] = [];
    for (const [index, party] of participants.entries()) {
      submissions.push(await plainSubmission(blobDir, key.publicKey, party.partyId, partitions[BANKS[index]!]!, SCHEMA));
    }
    return enclave.request('run', {
      runId,
      sessionId,
      sealedKey: key.sealedKey,
      terms,
      submissions,
      consents: participants.map((p) => consentOf(p, sessionId)),
      prompt: 'Once upon a time',
      parameters,
    });
  }

  beforeAll(async () => {
    for (const name of GGUF_ENV) saved[name] = process.env[name];
    for (const name of GGUF_ENV) delete process.env[name];
    // under another name: the measurement names the model by content only
    modelCopy = join(await tempDir('tenzro-gguf-copy-'), 'copy.gguf');
    await copyFile(GGUF, modelCopy);
    process.env.TENZRO_LLM_GGUF = modelCopy;
    enclave = EnclaveProcess.start(await tempDir('tenzro-enclave-gguf-'));
    hello = HelloResult.parse(await enclave.call('hello'));
    blobDir = await tempDir('tenzro-enclave-gguf-blobs-');
    participants = await Promise.all(BANKS.map((bank) => makeParty(`party::${bank}::treasury`)));
    observer = await makeParty('party::regulator::supervision');
    partitions = generateDemoData({ banks: BANKS, recordsPerBank: 150, seed: 9 }).partitions as unknown as Record<string, Record<string, unknown>[]>;
  });
  afterAll(async () => {
    const code = await enclave?.stop();
    expect(code).toBe(0);
    for (const name of GGUF_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('offers local-gguf in hello and attests the measurement that includes the model', async () => {
    expect(hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!.backends).toEqual(['deterministic', 'local-gguf']);
    expect(hello.measurement).toBe(await measureBundle(undefined, { gguf: GGUF }));
    expect(hello.measurement).not.toBe(await measureBundle());
  });

  it('writes result.content with the model; the report names the backend; same text twice at temperature 0', async () => {
    const contents: string[] = [];
    const findings = new Set<string>();
    for (const runId of ['run_1', 'run_2']) {
      const reply = await runWith(runId, { maxTokens: 16, temperature: 0, backend: 'local-gguf' });
      expect(reply.error).toBeUndefined();
      const result = RunResult.parse(reply.result);
      expect(result.report.parameters).toEqual({ maxTokens: 16, temperature: 0, backend: 'local-gguf' });
      await verifyAttestation(result.attestation, { roots: [hello.rootPem], expectedMeasurements: [hello.measurement], expectedUserData: reportDigest(result.report) });
      const byId = new Map([...participants, observer].map((p) => [p.partyId, p]));
      for (const { partyId, sealed } of result.sealedResults) {
        const plaintext = await openEnvelope(byId.get(partyId)!.encryptionPrivateKey, fromBase64Url(sealed), { info: RESULT_INFO });
        const { shared } = ResultBody.parse(parseStrictJson(utf8Decode(plaintext)));
        contents.push(shared.content);
        findings.add(JSON.stringify(shared.findings));
      }
    }
    expect(contents).toHaveLength(8);
    // without differential privacy the two runs' findings are the same, and so is the prompt
    expect(findings.size).toBe(1);
    expect(new Set(contents).size).toBe(1);
    expect(contents[0]!.length).toBeGreaterThan(0);
    // llama.cpp's log lines went to stderr (stdout carries frames only); none carries a record
    expect(enclave.stderrText()).not.toContain(String(partitions.bankA![0]!.transactionId));
  });

  it('refuses to start (exit 2, a clear message) when TENZRO_LLM_GGUF names no file', async () => {
    const env = { ...process.env };
    process.env.TENZRO_LLM_GGUF = '/nonexistent/stories.gguf';
    try {
      const bad = EnclaveProcess.start(await tempDir('tenzro-enclave-gguf-bad-'));
      expect(await bad.exited).toBe(2);
      expect(bad.stderrText()).toContain('the GGUF model /nonexistent/stories.gguf cannot be read');
    } finally {
      process.env.TENZRO_LLM_GGUF = env.TENZRO_LLM_GGUF;
    }
  });
});
