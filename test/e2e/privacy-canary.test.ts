/**
 * Privacy canary: a unique string planted in one party's records never reaches the host's storage in
 * plaintext — not the database (and its WAL), not the blob store, not the logs, not temp files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { filesUnder, leaksOf } from '../support/canary.js';
import { PlatformProcess } from '../support/platform-process.js';
import { BANKS, consent, createSeedSession, demoPartitions, devParties, sdkFor, submitRecords } from '../support/flow.js';

function blobCount(dataDir: string): number {
  return filesUnder(join(dataDir, 'blobs')).length;
}

describe('privacy canary', () => {
  let server: PlatformProcess;
  const startedAt = Date.now();

  beforeAll(async () => {
    server = await PlatformProcess.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('a planted string is never found in the database, blob store, logs or temp files', async () => {
    const canary = `CANARY${randomBytes(12).toString('hex').toUpperCase()}`;
    const parties = devParties(server);
    const partitions = demoPartitions(200, 5);
    const bankA = structuredClone(partitions.bankA!) as unknown as Array<Record<string, unknown>>;
    bankA[0]!.transactionId = `${canary}-tx`;
    bankA[1]!.accountId = `${canary}-acct`;
    bankA[2]!.counterpartyBank = `${canary}-bank`.slice(0, 40);

    const session = await createSeedSession(server);
    await submitRecords(server, parties.bankA!, session.id, bankA);
    await consent(server, parties.bankA!, session.id);
    for (const bank of BANKS.slice(1)) {
      await submitRecords(server, parties[bank]!, session.id, partitions[bank]);
      await consent(server, parties[bank]!, session.id);
    }
    // Search once while the ciphertexts are stored (retention deletes them after the run) and once after.
    const leaksWhileStored = leaksOf(canary, server.dataDir, startedAt);
    expect(blobCount(server.dataDir)).toBe(BANKS.length);
    expect(leaksWhileStored).toEqual([]);

    const result = await sdkFor(server, parties.bankA!).ai.runMultiPartyInference({
      sessionId: session.id,
      prompt: 'Analyze combined transaction patterns for anomalies',
      parameters: { maxTokens: 512, temperature: 0.3 },
    });
    expect(result.participantCount).toBe(3);
    // The shared result carries aggregates only: no party's identifiers.
    expect(JSON.stringify({ content: result.content, findings: result.findings })).not.toContain(canary);
    // Bank B's result (shared + its private findings) never mentions bank A's records.
    const bankBResult = await sdkFor(server, parties.bankB!).ai.getSessionResult(session.id);
    expect(JSON.stringify(bankBResult)).not.toContain(canary);

    const files = filesUnder(server.dataDir);
    expect(files.some((f) => f.endsWith('tenzro.db'))).toBe(true);
    expect(files.some((f) => f.includes(`${join(server.dataDir, 'logs')}`))).toBe(true);
    expect(leaksOf(canary, server.dataDir, startedAt)).toEqual([]);
  });
});
