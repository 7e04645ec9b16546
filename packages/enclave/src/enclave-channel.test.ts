// The enclave process and its framed channel: hello, malformed input, concurrency, clean exit, measure.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '@tenzro/protocol';
import { HelloResult } from '@tenzro/protocol';
import { listModels } from '@tenzro/models';
import { EnclaveProcess, enclaveEntry, repoRoot, tempDir } from '../test/enclave-process.js';
import { measureBundle } from './measure.js';

describe('enclave channel', () => {
  let enclave: EnclaveProcess;

  beforeAll(async () => {
    enclave = EnclaveProcess.start(await tempDir('tenzro-enclave-channel-'));
  });
  afterAll(async () => {
    await enclave.stop();
  });

  it('answers hello with the provider, measurement, root and model catalogue', async () => {
    const reply = await enclave.request('hello');
    expect(reply.ok).toBe(true);
    const hello = HelloResult.parse(reply.result);
    expect(hello.provider).toBe('simulated');
    expect(hello.moduleId).toMatch(/^tenzro-simulated-enclave-/);
    expect(hello.measurement).toBe(await measureBundle(repoRoot));
    expect(hello.rootPem).toContain('BEGIN CERTIFICATE');
    expect(hello.pid).toBe(enclave.child.pid);
    expect(hello.models.length).toBeGreaterThan(0);
    // every model this build carries runs under all three methods (the use-case models' mpc is a sum program)
    expect(hello.models.map((m) => m.modelId)).toEqual(listModels().map((m) => m.id));
    for (const model of hello.models) expect(model.methods).toEqual(['federated', 'secure_aggregation', 'mpc']);
  });

  it('refuses a malformed request with invalid_request, echoing an integer id', async () => {
    const unknownOp = await enclave.request('launchMissiles');
    expect(unknownOp).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(unknownOp.id).toBeGreaterThan(0);

    const badSession = await enclave.request('createSessionKey', { sessionId: 'not-a-session' });
    expect(badSession).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(badSession.error!.message).not.toContain('not-a-session');

    const noId = await enclave.sendRaw(encodeFrame({ op: 'hello' }));
    expect(noId).toMatchObject({ id: -1, ok: false, error: { code: 'invalid_request' } });
  });

  it('answers a frame that is not JSON with id -1 and keeps serving', async () => {
    const body = new TextEncoder().encode('{not json');
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    const reply = await enclave.sendRaw(frame);
    expect(reply).toMatchObject({ id: -1, ok: false, error: { code: 'invalid_request' } });
    expect((await enclave.request('hello')).ok).toBe(true);
  });

  it('handles requests concurrently and answers each exactly once', async () => {
    const before = enclave.replies.length;
    const replies = await Promise.all(Array.from({ length: 20 }, () => enclave.request('hello')));
    expect(new Set(replies.map((r) => r.id)).size).toBe(20);
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(enclave.replies.length - before).toBe(20);
  });

  it('exits 0 when stdin closes, after answering what is in flight', async () => {
    const other = EnclaveProcess.start(await tempDir('tenzro-enclave-exit-'));
    const pending = other.request('hello');
    other.child.stdin.end();
    expect((await pending).ok).toBe(true);
    expect(await other.exited).toBe(0);
  });

  it('answers a frame length beyond the limit, then stops (the stream cannot be resynchronised)', async () => {
    const other = EnclaveProcess.start(await tempDir('tenzro-enclave-oversize-'));
    expect((await other.request('hello')).ok).toBe(true);
    const reply = await other.sendRaw(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    expect(reply).toMatchObject({ id: -1, ok: false, error: { code: 'invalid_request' } });
    expect(await other.exited).toBe(1);
  });

  it('refuses to serve without TENZRO_ENCLAVE_STATE_DIR', () => {
    const env = { ...process.env };
    delete env.TENZRO_ENCLAVE_STATE_DIR;
    expect(() => execFileSync(process.execPath, [enclaveEntry], { env, stdio: 'pipe', input: '' })).toThrow();
  });

  it('`main.js measure` prints the measurement of the checkout', async () => {
    const printed = execFileSync(process.execPath, [enclaveEntry, 'measure'], { encoding: 'utf8' }).trim();
    expect(printed).toMatch(/^[0-9a-f]{96}$/);
    expect(printed).toBe(await measureBundle());
  });
});
