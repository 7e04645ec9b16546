/**
 * Access rules (DESIGN §4, RELIABILITY 1–6) and bad input (each with its own code, and nothing changed),
 * against the platform running as a real process with its real enclave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptWithSessionKey, hashCommitment, signConsent } from '@tenzro/platform';
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { PlatformProcess, type DevParty } from '../support/platform-process.js';
import {
  consent,
  createSeedSession,
  demoPartitions,
  devParties,
  http,
  sdkFor,
  submitRecords,
} from '../support/flow.js';

const MAX_UPLOAD = 1024 * 1024;

function fromB64u(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

function blobFiles(server: PlatformProcess): string[] {
  const root = join(server.dataDir, 'blobs');
  const files: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else files.push(join(dir, entry.name));
    }
  };
  walk(root);
  return files;
}

describe('access and bad input', () => {
  let server: PlatformProcess;
  let parties: Record<string, DevParty>;
  let partitions: ReturnType<typeof demoPartitions>;

  beforeAll(async () => {
    server = await PlatformProcess.start({ TENZRO_MAX_UPLOAD_BYTES: String(MAX_UPLOAD), TENZRO_MIN_SESSION_TTL_MS: '1000' });
    parties = devParties(server);
    partitions = demoPartitions(120, 3);
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function statusOf(sessionId: string) {
    return sdkFor(server, parties.bankA!).ai.getSessionStatus(sessionId);
  }

  describe('access', () => {
    it('an observer cannot submit or consent (403) and nothing is recorded', async () => {
      const session = await createSeedSession(server);
      const regulator = parties.regulator!;
      const key = await sdkFor(server, parties.bankA!).ai.getSessionKey(session.id);
      const envelope = fromB64u(await encryptWithSessionKey('[]', key.publicKey));
      const upload = await http(server, regulator, 'POST', `/v1/sessions/${session.id}/data`, envelope, {
        'x-tenzro-data-schema': 'transaction_records_v1',
        'x-tenzro-commitment': await hashCommitment([]),
      });
      expect(upload.status).toBe(403);
      expect(upload.body.error.code).toBe('forbidden');
      const consentReply = await http(server, regulator, 'POST', `/v1/sessions/${session.id}/consents`, {
        consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
        signature: await signConsent(session.id, regulator.signingKey.privateKey),
      });
      expect(consentReply.status).toBe(403);
      const status = await statusOf(session.id);
      expect(status.dataSubmittedBy).toEqual([]);
      expect(status.consentedParticipants).toEqual([]);
      expect(status.status).toBe('created');
    });

    it('a party not in a session gets 404 for it, and does not see it listed', async () => {
      const session = await createSeedSession(server, {
        participants: ['party::bankA::treasury', 'party::bankB::treasury'],
      });
      const outsider = parties.bankC!;
      for (const path of ['', '/status', '/key', '/result']) {
        const reply = await http(server, outsider, 'GET', `/v1/sessions/${session.id}${path}`);
        expect(reply.status, path).toBe(404);
        expect(reply.body.error.code).toBe('not_found');
      }
      const unknown = await http(server, outsider, 'GET', `/v1/sessions/mps_aaaaaaaaaaaaaaaaaaaaaaaaaa`);
      expect(unknown.status).toBe(404);
      const list = await sdkFor(server, outsider).ai.listMultiPartySessions();
      expect(list.map((s) => s.id)).not.toContain(session.id);
    });

    it("an API key of one tenant is refused on another tenant", async () => {
      const reply = await http(server, { apiKey: parties.bankA!.apiKey, tenantId: 'bankB' }, 'GET', '/v1/sessions');
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe('unauthorized');
      const unknownKey = await http(server, { apiKey: 'x'.repeat(43), tenantId: 'bankA' }, 'GET', '/v1/sessions');
      expect(unknownKey.status).toBe(401);
    });

    it("a tenant cannot act for another tenant's party", async () => {
      const session = await createSeedSession(server);
      const reply = await http(
        server,
        parties.bankA!,
        'POST',
        `/v1/sessions/${session.id}/consents`,
        {
          consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
          signature: await signConsent(session.id, parties.bankB!.signingKey.privateKey),
        },
        { 'x-tenzro-party-id': 'party::bankB::treasury' },
      );
      expect(reply.status).toBe(403);
      expect((await statusOf(session.id)).consentedParticipants).toEqual([]);
    });
  });

  describe('bad input, each with its own code and nothing changed', () => {
    async function upload(party: DevParty, sessionId: string, envelope: Uint8Array, commitment: string, schema = 'transaction_records_v1') {
      return http(server, party, 'POST', `/v1/sessions/${sessionId}/data`, envelope, {
        'x-tenzro-data-schema': schema,
        'x-tenzro-commitment': commitment,
      });
    }

    async function sealFor(sessionId: string, records: unknown): Promise<Uint8Array> {
      const key = await sdkFor(server, parties.bankA!).ai.getSessionKey(sessionId);
      return fromB64u(await encryptWithSessionKey(JSON.stringify(records), key.publicKey));
    }

    it('tampered ciphertext → decryption_failed', async () => {
      const session = await createSeedSession(server);
      const records = partitions.bankA!;
      const envelope = await sealFor(session.id, records);
      envelope[Math.floor(envelope.length / 2)]! ^= 0x01;
      const blobsBefore = blobFiles(server).length;
      const reply = await upload(parties.bankA!, session.id, envelope, await hashCommitment(records));
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe('decryption_failed');
      expect((await statusOf(session.id)).dataSubmittedBy).toEqual([]);
      expect(blobFiles(server).length).toBe(blobsBefore);
    });

    it('commitment mismatch → commitment_mismatch', async () => {
      const session = await createSeedSession(server);
      const envelope = await sealFor(session.id, partitions.bankA);
      const reply = await upload(parties.bankA!, session.id, envelope, await hashCommitment(partitions.bankB));
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe('commitment_mismatch');
      expect((await statusOf(session.id)).dataSubmittedBy).toEqual([]);
    });

    it('records that break the schema → schema_validation_failed naming index and field, echoing no value', async () => {
      const session = await createSeedSession(server);
      const records = structuredClone(partitions.bankA!) as unknown as Array<Record<string, unknown>>;
      records[3]!.amount = -4242.4242;
      records[5]!.currency = 'SECRETVALUE';
      const reply = await upload(parties.bankA!, session.id, await sealFor(session.id, records), await hashCommitment(records));
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe('schema_validation_failed');
      expect(reply.body.error.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ index: 3, field: 'amount' }),
          expect.objectContaining({ index: 5, field: 'currency' }),
        ]),
      );
      expect(JSON.stringify(reply.body)).not.toContain('4242');
      expect(JSON.stringify(reply.body)).not.toContain('SECRETVALUE');
      expect((await statusOf(session.id)).dataSubmittedBy).toEqual([]);
    });

    it('an unknown data schema → unknown_schema', async () => {
      const session = await createSeedSession(server);
      const records = partitions.bankA!;
      const reply = await upload(parties.bankA!, session.id, await sealFor(session.id, records), await hashCommitment(records), 'patient_records_v9');
      expect(reply.status).toBe(422);
      expect(reply.body.error.code).toBe('unknown_schema');
    });

    it('a consent signed by the wrong key, or for another session → consent_signature_invalid', async () => {
      const session = await createSeedSession(server);
      const other = await createSeedSession(server);
      const flags = { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true };
      const wrongKey = await http(server, parties.bankA!, 'POST', `/v1/sessions/${session.id}/consents`, {
        consent: flags,
        signature: await signConsent(session.id, parties.bankB!.signingKey.privateKey),
      });
      expect(wrongKey.status).toBe(422);
      expect(wrongKey.body.error.code).toBe('consent_signature_invalid');
      const otherSession = await http(server, parties.bankA!, 'POST', `/v1/sessions/${session.id}/consents`, {
        consent: flags,
        signature: await signConsent(other.id, parties.bankA!.signingKey.privateKey),
      });
      expect(otherSession.status).toBe(422);
      expect(otherSession.body.error.code).toBe('consent_signature_invalid');
      const flagsChanged = await http(server, parties.bankA!, 'POST', `/v1/sessions/${session.id}/consents`, {
        consent: { ...flags, resultSharing: false },
        signature: await signConsent(session.id, parties.bankA!.signingKey.privateKey),
      });
      expect(flagsChanged.status).toBe(422);
      expect((await statusOf(session.id)).consentedParticipants).toEqual([]);
    });

    it('a run before ready → session_not_ready', async () => {
      const session = await createSeedSession(server);
      await submitRecords(server, parties.bankA!, session.id, partitions.bankA);
      const reply = await http(server, parties.bankA!, 'POST', `/v1/sessions/${session.id}/runs`, { prompt: 'go' });
      expect(reply.status).toBe(409);
      expect(reply.body.error.code).toBe('session_not_ready');
      expect((await statusOf(session.id)).status).toBe('collecting');
    });

    it('any call on a cancelled session → session_cancelled, its data already deleted', async () => {
      const session = await createSeedSession(server);
      await submitRecords(server, parties.bankA!, session.id, partitions.bankA);
      const sealedEarlier = await sealFor(session.id, partitions.bankB);
      const blobsWithData = blobFiles(server).length;
      await sdkFor(server, parties.bankA!).ai.cancelSession(session.id);
      expect(blobFiles(server).length).toBe(blobsWithData - 1);
      const calls = [
        http(server, parties.bankB!, 'GET', `/v1/sessions/${session.id}/key`),
        http(server, parties.bankB!, 'POST', `/v1/sessions/${session.id}/runs`, { prompt: 'go' }),
        http(server, parties.bankB!, 'POST', `/v1/sessions/${session.id}/consents`, {
          consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
          signature: await signConsent(session.id, parties.bankB!.signingKey.privateKey),
        }),
        http(server, parties.bankB!, 'POST', `/v1/sessions/${session.id}/cancel`, {}),
        upload(parties.bankB!, session.id, sealedEarlier, await hashCommitment(partitions.bankB)),
        http(server, parties.bankB!, 'GET', `/v1/sessions/${session.id}/result`),
      ];
      for (const reply of await Promise.all(calls)) {
        expect(reply.status).toBe(410);
        expect(reply.body.error.code).toBe('session_cancelled');
      }
      expect((await statusOf(session.id)).status).toBe('cancelled');
    });

    it('a session expires by the server clock with nobody calling, and its data is deleted', async () => {
      const session = await createSeedSession(server, { expiresAt: new Date(Date.now() + 3000) });
      await submitRecords(server, parties.bankA!, session.id, partitions.bankA);
      const sealedEarlier = await sealFor(session.id, partitions.bankB);
      const blobsWithData = blobFiles(server).length;
      await new Promise((r) => setTimeout(r, 4500));
      expect(blobFiles(server).length).toBe(blobsWithData - 1);
      const calls = [
        http(server, parties.bankB!, 'GET', `/v1/sessions/${session.id}/key`),
        upload(parties.bankB!, session.id, sealedEarlier, await hashCommitment(partitions.bankB)),
        http(server, parties.bankB!, 'POST', `/v1/sessions/${session.id}/consents`, {
          consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
          signature: await signConsent(session.id, parties.bankB!.signingKey.privateKey),
        }),
        http(server, parties.bankA!, 'POST', `/v1/sessions/${session.id}/runs`, { prompt: 'go' }),
        http(server, parties.bankA!, 'POST', `/v1/sessions/${session.id}/cancel`, {}),
      ];
      for (const reply of await Promise.all(calls)) {
        expect(reply.status).toBe(410);
        expect(reply.body.error.code).toBe('session_expired');
      }
      expect((await statusOf(session.id)).status).toBe('expired');
    });

    it('an unknown model → unknown_model; minParticipants above the participants → invalid_data_policy', async () => {
      const base = {
        name: 'x',
        participants: ['party::bankA::treasury', 'party::bankB::treasury'],
      };
      const unknownModel = await http(server, parties.bankA!, 'POST', '/v1/sessions', { ...base, modelId: 'gpt-banker-9000' });
      expect(unknownModel.status).toBe(422);
      expect(unknownModel.body.error.code).toBe('unknown_model');
      const tooMany = await http(server, parties.bankA!, 'POST', '/v1/sessions', {
        ...base,
        modelId: 'risk-analyzer-v2',
        dataPolicy: { minParticipants: 3 },
      });
      expect(tooMany.status).toBe(422);
      expect(tooMany.body.error.code).toBe('invalid_data_policy');
      // 2t − 1 > n: the nodes could not multiply (degree reduction needs 2t − 1 of them).
      const noMultiplication = await http(server, parties.bankA!, 'POST', '/v1/sessions', {
        ...base,
        modelId: 'risk-analyzer-v2',
        dataPolicy: { aggregationMethod: 'mpc', mpcConfig: { protocol: 'shamir_secret_sharing', threshold: 3, totalParties: 4 } },
      });
      expect(noMultiplication.status).toBe(422);
      expect(noMultiplication.body.error.code).toBe('invalid_data_policy');
      const massAssignment = await http(server, parties.bankA!, 'POST', '/v1/sessions', {
        ...base,
        modelId: 'risk-analyzer-v2',
        status: 'completed',
      });
      expect(massAssignment.status).toBe(400);
      const listed = await sdkFor(server, parties.bankA!).ai.listMultiPartySessions();
      expect(listed.some((s) => s.name === 'x')).toBe(false);
    });

    /**
     * Sends `bytes` of body (declared in Content-Length, or chunked without one) and waits for the reply
     * WITHOUT finishing the body: the server must answer from what it has seen. (With a client that keeps
     * writing, whether it sees the reply or EPIPE first is a race.)
     */
    function oversizedUpload(sessionId: string, bytes: number, declareLength: boolean) {
      return new Promise<{ status: number; body: any }>((resolve, reject) => {
        const party = parties.bankA!;
        const request = httpRequest(`${server.baseUrl}/v1/sessions/${sessionId}/data`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${party.apiKey}`,
            'x-tenant-id': party.tenantId,
            'content-type': 'application/octet-stream',
            'x-tenzro-data-schema': 'transaction_records_v1',
            'x-tenzro-commitment': 'sha256:' + '0'.repeat(64),
            ...(declareLength ? { 'content-length': String(bytes) } : {}),
          },
        });
        request.on('response', (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            request.destroy();
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          });
        });
        request.on('error', (error) => reject(error));
        if (declareLength) request.flushHeaders();
        else {
          // Past the limit by one chunk, then stop writing and wait for the server to cut it.
          const chunk = Buffer.alloc(64 * 1024, 7);
          for (let sent = 0; sent <= MAX_UPLOAD; sent += chunk.length) request.write(chunk);
        }
      });
    }

    it('an oversized body → payload_too_large, with no blob left behind (declared and streamed)', async () => {
      const session = await createSeedSession(server);
      const blobsBefore = blobFiles(server).length;
      for (const declareLength of [true, false]) {
        const reply = await oversizedUpload(session.id, MAX_UPLOAD * 2, declareLength);
        expect(reply.status, `declared: ${declareLength}`).toBe(413);
        expect(reply.body.error.code).toBe('payload_too_large');
      }
      expect(blobFiles(server).length).toBe(blobsBefore);
      expect(readdirSync(join(server.dataDir, 'blobs')).filter((name) => name.startsWith('.incoming-'))).toEqual([]);
      expect((await statusOf(session.id)).dataSubmittedBy).toEqual([]);
    });

    it('a second submission by the same party → already_submitted', async () => {
      const session = await createSeedSession(server);
      await submitRecords(server, parties.bankB!, session.id, partitions.bankB);
      await expect(submitRecords(server, parties.bankB!, session.id, partitions.bankB)).rejects.toMatchObject({
        code: 'already_submitted',
      });
      await consent(server, parties.bankB!, session.id);
      expect((await statusOf(session.id)).dataSubmittedBy).toEqual(['party::bankB::treasury']);
    });
  });
});
