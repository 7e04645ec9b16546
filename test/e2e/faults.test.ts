/**
 * Faults (DESIGN §6, RELIABILITY 24–25): kill -9 of the enclave during a run and during key creation, and
 * of the server between two submissions and during a run. Afterwards no session is stuck, nothing submitted
 * is lost before its retention says so, and a run completes once or fails clearly and can be retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenzroApiError } from '@tenzro/platform';
import { PlatformProcess } from '../support/platform-process.js';
import { BANKS, consent, createSeedSession, demoPartitions, devParties, http, sdkFor, submitRecords, fillSession } from '../support/flow.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('faults', () => {
  let server: PlatformProcess;

  beforeAll(async () => {
    server = await PlatformProcess.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function startRunAndWaitRunning(sessionId: string): Promise<string> {
    const parties = devParties(server);
    const started = await http(server, parties.bankA!, 'POST', `/v1/sessions/${sessionId}/runs`, { prompt: 'find anomalies' });
    expect([200, 202]).toContain(started.status);
    const runId = started.body.runId as string;
    await waitFor('the run to start', async () => {
      const run = await http(server, parties.bankA!, 'GET', `/v1/sessions/${sessionId}/runs/${runId}`);
      return run.body.status === 'running' ? true : undefined;
    });
    return runId;
  }

  async function resultAfterRetry(sessionId: string) {
    const parties = devParties(server);
    const platform = sdkFor(server, parties.bankA!);
    // The interrupted run either completed on its own, or failed retryably / is queued again.
    const status = await waitFor('a settled session', async () => {
      const s = await platform.ai.getSessionStatus(sessionId);
      return s.status === 'running' ? undefined : s;
    }, 120_000);
    if (status.status === 'completed') return platform.ai.getSessionResult(sessionId);
    expect(status.status).toBe('ready');
    expect(status.lastRun?.status).toBe('failed');
    expect(status.lastRun?.error?.retryable).toBe(true);
    return platform.ai.runMultiPartyInference({ sessionId, prompt: 'find anomalies' });
  }

  it('kill -9 of the enclave during a run: the run completes once after a retry', async () => {
    const session = await createSeedSession(server);
    await fillSession(server, session.id, demoPartitions(3000, 21));
    await startRunAndWaitRunning(session.id);
    const enclave = server.enclavePid();
    expect(enclave).toBeGreaterThan(0);
    process.kill(enclave!, 'SIGKILL');
    const result = await resultAfterRetry(session.id);
    expect(result.participantCount).toBe(3);
    const again = await http(server, devParties(server).bankA!, 'POST', `/v1/sessions/${session.id}/runs`, { prompt: 'again' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('session_completed');
  });

  it('kill -9 of the enclave during key creation: a session exists only with a working key', async () => {
    const parties = devParties(server);
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      await waitFor('the enclave', async () => server.enclavePid());
      const creating = createSeedSession(server).then(
        (s) => s.id,
        (error: unknown) => (error instanceof TenzroApiError ? `error:${error.code}` : `error:${String(error)}`),
      );
      await new Promise((r) => setTimeout(r, attempt * 3));
      const pid = server.enclavePid();
      if (pid) process.kill(pid, 'SIGKILL');
      outcomes.push(await creating);
    }
    for (const outcome of outcomes) {
      if (outcome.startsWith('error:')) expect(outcome).toBe('error:enclave_unavailable');
    }
    await waitFor('the enclave to come back', async () => {
      const info = await http(server, parties.bankA!, 'GET', '/v1/enclave');
      return info.body?.ready ? true : undefined;
    });
    // Every session that exists has a key the restarted enclave can still unseal: data submitted to it
    // is decrypted and checked by the enclave.
    const created = outcomes.filter((o) => !o.startsWith('error:'));
    const partitions = demoPartitions(120, 9);
    for (const sessionId of created) {
      const receipt = await submitRecords(server, parties.bankB!, sessionId, partitions.bankB);
      expect(receipt.recordCount).toBe(partitions.bankB!.length);
    }
  });

  it('kill -9 of the server between two submissions: the first is not lost', async () => {
    const parties = devParties(server);
    const partitions = demoPartitions(200, 8);
    const session = await createSeedSession(server);
    await submitRecords(server, parties.bankA!, session.id, partitions.bankA);
    await consent(server, parties.bankA!, session.id);
    await server.restart();
    await submitRecords(server, parties.bankB!, session.id, partitions.bankB);
    await consent(server, parties.bankB!, session.id);
    const status = await sdkFor(server, parties.bankA!).ai.getSessionStatus(session.id);
    expect([...status.dataSubmittedBy].sort()).toEqual(['party::bankA::treasury', 'party::bankB::treasury']);
    expect(status.status).toBe('ready');
    const result = await sdkFor(server, parties.bankA!).ai.runMultiPartyInference({ sessionId: session.id, prompt: 'go' });
    expect(result.includedParties).toEqual(['party::bankA::treasury', 'party::bankB::treasury']);
  });

  it('kill -9 of the server during a run: after restart the run completes once', async () => {
    const session = await createSeedSession(server);
    await fillSession(server, session.id, demoPartitions(3000, 22));
    await startRunAndWaitRunning(session.id);
    await server.restart();
    const result = await resultAfterRetry(session.id);
    expect(result.participantCount).toBe(BANKS.length);
    for (const tenant of ['bankB', 'bankC', 'regulator']) {
      const other = await sdkFor(server, devParties(server)[tenant]!).ai.getSessionResult(session.id);
      expect(other.resultHash).toBe(result.resultHash);
    }
  });
});
