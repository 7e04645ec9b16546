// Ciphertext uploads: streaming, limits, refusals and what they leave behind (RELIABILITY 19, 20, 23, 27).
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PARTY,
  auditTypes,
  blobFiles,
  createTestSession,
  demoData,
  startTestServer,
  submitValid,
  uploadData,
  type TestServer,
} from './harness.fixture.js';

const LIMIT = 64 * 1024;
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { TENZRO_MAX_UPLOAD_BYTES: String(LIMIT), TENZRO_MAX_CONCURRENT_UPLOADS: '1' } });
});
afterAll(async () => {
  await t?.close();
});

async function submissionRows(sessionId: string) {
  return t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', sessionId).execute();
}

describe('size limits', () => {
  it('refuses a declared oversized body with 413 before reading it, leaving no file or row', async () => {
    const session = await createTestSession(t);
    const before = await blobFiles(t);
    const response = await uploadData(t, 'bankA', session.id, randomBytes(LIMIT + 1));
    expect(response.statusCode).toBe(413);
    expect(t.json(response).error.code).toBe('payload_too_large');
    expect(await blobFiles(t)).toEqual(before);
    expect(await t.server.ctx.blobs.tempFiles()).toEqual([]);
    expect(await submissionRows(session.id)).toEqual([]);
  });

  it('cuts an undeclared (streamed) oversized body at the limit with 413, leaving no temp file', async () => {
    const session = await createTestSession(t);
    const before = await blobFiles(t);
    const chunks = Array.from({ length: 8 }, () => randomBytes(16 * 1024));
    const response = await uploadData(t, 'bankA', session.id, Readable.from(chunks));
    expect(response.statusCode).toBe(413);
    expect(await blobFiles(t)).toEqual(before);
    expect(await t.server.ctx.blobs.tempFiles()).toEqual([]);
    expect(await submissionRows(session.id)).toEqual([]);
  });

  it('refuses an empty upload with 400', async () => {
    const session = await createTestSession(t);
    const response = await uploadData(t, 'bankA', session.id, Buffer.alloc(0));
    expect(response.statusCode).toBe(400);
    expect(await t.server.ctx.blobs.tempFiles()).toEqual([]);
  });

  it('answers 429 with Retry-After when every upload slot is taken', async () => {
    const session = await createTestSession(t);
    const slow = new PassThrough();
    slow.write(randomBytes(1024));
    const first = uploadData(t, 'bankA', session.id, slow);
    // Let the first upload take the only slot.
    for (let i = 0; i < 50 && t.server.ctx.uploads.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.server.ctx.uploads.inFlight).toBe(1);
    const second = await uploadData(t, 'bankB', session.id, randomBytes(1024));
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBeDefined();
    expect(t.json(second).error.code).toBe('rate_limited');
    slow.end(randomBytes(1024));
    const settled = await first;
    expect(settled.statusCode).toBe(422); // random bytes are not an envelope for this session
    expect(await t.server.ctx.blobs.tempFiles()).toEqual([]);
  });
});

describe('enclave verification', () => {
  it('returns the enclave’s refusal to the submitter only, audits only the code, and deletes the blob', async () => {
    const session = await createTestSession(t);
    const before = await blobFiles(t);
    const response = await uploadData(t, 'bankA', session.id, randomBytes(4096));
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('decryption_failed');
    expect(await blobFiles(t)).toEqual(before);
    expect(await submissionRows(session.id)).toEqual([]);
    const audit = await t.server.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('session_id', '=', session.id)
      .where('type', '=', 'submission_rejected')
      .executeTakeFirstOrThrow();
    const payload = JSON.parse(audit.payload_json);
    expect(payload.code).toBe('decryption_failed');
    expect(Object.keys(payload).sort()).toEqual(['ciphertextHash', 'code', 'size']);
  });

  it('stores a verified submission by hash, moves the status, and refuses a second one (409)', async () => {
    const session = await createTestSession(t);
    const response = await submitValid(t, 'bankA', session.id, demoData('bankA'));
    expect(response.statusCode, response.body).toBe(201);
    const body = t.json(response);
    expect(body).toMatchObject({ sessionId: session.id, partyId: PARTY.bankA, status: 'collecting', recordCount: 40 });
    const hash = body.ciphertextHash.slice('sha256:'.length);
    expect(await t.server.ctx.blobs.exists(hash)).toBe(true);
    const rows = await submissionRows(session.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.blob_hash).toBe(hash);

    const filesBefore = await blobFiles(t);
    const again = await submitValid(t, 'bankA', session.id, demoData('bankA'));
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.code).toBe('already_submitted');
    expect(await blobFiles(t)).toEqual(filesBefore);
    expect(await submissionRows(session.id)).toHaveLength(1);
    expect(await auditTypes(t, session.id)).toEqual(['session_created', 'key_issued', 'data_submitted']);
  });

  it('refuses a data schema the model does not take (422 unknown_schema) before reading the body', async () => {
    const session = await createTestSession(t);
    const response = await uploadData(t, 'bankA', session.id, randomBytes(100), { 'x-tenzro-data-schema': 'other_v1' });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('unknown_schema');
  });

  it('requires the commitment header', async () => {
    const session = await createTestSession(t);
    const response = await t.inject('bankA', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/data`,
      headers: { 'content-type': 'application/octet-stream', 'x-tenzro-data-schema': 'transaction_records_v1' },
      payload: randomBytes(10),
    });
    expect(response.statusCode).toBe(400);
    expect(t.json(response).error.details[0].field).toBe('headers.x-tenzro-commitment');
  });
});

describe('over a real socket', () => {
  let live: TestServer;
  let port: number;
  beforeAll(async () => {
    live = await startTestServer({ env: { TENZRO_MAX_UPLOAD_BYTES: String(LIMIT) }, start: { listen: true } });
    port = Number(new URL(live.server.url).port);
  });
  afterAll(async () => {
    await live?.close();
  });

  async function post(path: string, headers: Record<string, string>, body: (req: import('node:http').ClientRequest) => void) {
    const { request } = await import('node:http');
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      body(req);
    });
  }

  it('answers 413 to a declared 1 GB upload after reading only the headers', async () => {
    const session = await createTestSession(live);
    const response = await post(
      `/v1/sessions/${session.id}/data`,
      {
        ...live.headers('bankA'),
        'content-type': 'application/octet-stream',
        'content-length': String(1024 ** 3),
        'x-tenzro-data-schema': 'transaction_records_v1',
        'x-tenzro-commitment': 'sha256:' + '0'.repeat(64),
      },
      (req) => req.write(randomBytes(1024)), // and never the rest
    );
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error.code).toBe('payload_too_large');
    expect(await live.server.ctx.blobs.tempFiles()).toEqual([]);
  });

  it('answers 413 to a chunked upload that runs past the limit', async () => {
    const session = await createTestSession(live);
    const response = await post(
      `/v1/sessions/${session.id}/data`,
      {
        ...live.headers('bankA'),
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
        'x-tenzro-data-schema': 'transaction_records_v1',
        'x-tenzro-commitment': 'sha256:' + '0'.repeat(64),
      },
      (req) => {
        const pump = (left: number): void => {
          if (left === 0 || req.destroyed) return void req.end();
          if (req.write(randomBytes(16 * 1024))) setImmediate(() => pump(left - 1));
          else req.once('drain', () => pump(left - 1));
        };
        pump(16);
      },
    ).catch((error: NodeJS.ErrnoException) => ({ status: -1, body: error.code ?? '' }));
    // The server answers 413 and closes; a client still writing may see the reset first.
    expect([413, -1]).toContain(response.status);
    await new Promise((r) => setTimeout(r, 50));
    expect(await live.server.ctx.blobs.tempFiles()).toEqual([]);
    expect(await live.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
  });

  it('serves 200 concurrent uploads with 4xx refusals only, never 5xx, and leaves nothing behind', async () => {
    const session = await createTestSession(live, { participants: ['bankA', 'bankB', 'bankC'] });
    const who = ['bankA', 'bankB', 'bankC'] as const;
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => uploadData(live, who[i % 3]!, session.id, randomBytes(32 * 1024)).then((r) => r.statusCode)),
    );
    expect(statuses.every((s) => s >= 400 && s < 500)).toBe(true);
    expect(await live.server.ctx.blobs.tempFiles()).toEqual([]);
    expect(await blobFiles(live)).toEqual([]);
    expect(await live.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
  });
});
