// verifySubmission and createSessionKey over the real process: the attestation binding, every refusal
// code of a submission, the salted path, restart with the same state, and crypto-shredding.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, generateEncryptionKeyPair, toBase64Url, utf8Encode } from '@tenzro/crypto';
import { generateDemoData } from '@tenzro/models';
import {
  CreateSessionKeyResult,
  DELETION_STATEMENT_TYPE,
  HelloResult,
  computeSessionId,
  deletionStatementDigest,
  sessionKeyUserData,
  verifyAttestation,
} from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { makeParty, makeTerms, plainSubmission, saltedSubmission, writeBlob, type Party } from '../test/session-fixture.js';

const SCHEMA = 'transaction_records_v1';

describe('createSessionKey and verifySubmission', () => {
  let stateDir: string;
  let blobDir: string;
  let enclave: EnclaveProcess;
  let hello: ReturnType<typeof HelloResult.parse>;
  let parties: Party[];
  let terms: ReturnType<typeof makeTerms>['terms'];
  let sessionId: string;
  let key: ReturnType<typeof CreateSessionKeyResult.parse>;
  let records: Record<string, unknown>[];
  const started: EnclaveProcess[] = [];
  const start = (): EnclaveProcess => {
    const process = EnclaveProcess.start(stateDir);
    started.push(process);
    return process;
  };

  const verify = (submission: object, overrides: Record<string, unknown> = {}) =>
    enclave.request('verifySubmission', { sessionId, sealedKey: key.sealedKey, terms, submission, ...overrides });

  beforeAll(async () => {
    stateDir = await tempDir('tenzro-enclave-state-');
    blobDir = await tempDir('tenzro-enclave-blobs-');
    enclave = start();
    hello = HelloResult.parse(await enclave.call('hello'));
    const model = hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!;
    parties = await Promise.all(['bankA', 'bankB'].map((bank) => makeParty(`party::${bank}::treasury`)));
    ({ terms, sessionId } = makeTerms({ participants: parties, modelId: model.modelId, modelDigest: model.modelDigest }));
    key = CreateSessionKeyResult.parse(await enclave.call('createSessionKey', { sessionId }));
    records = generateDemoData({ banks: ['bankA'], recordsPerBank: 300, seed: 7 }).partitions.bankA!.slice(0, 40) as unknown as Record<string, unknown>[];
  });
  afterAll(async () => {
    await enclave.stop();
  });

  it("attests the session key: hello's root and measurement, public_key = key, user_data binds the session", async () => {
    expect(key.suite).toBe('DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM');
    const verified = await verifyAttestation(key.attestation, {
      roots: [hello.rootPem],
      expectedMeasurements: [hello.measurement],
      expectedPublicKey: fromBase64Url(key.publicKey),
      expectedUserData: sessionKeyUserData(sessionId),
    });
    expect(verified.provider).toBe('simulated');
    expect(verified.moduleId).toBe(hello.moduleId);
    const otherSession = computeSessionId({ ...terms, nonce: 'AAAA' });
    await expect(
      verifyAttestation(key.attestation, { roots: [hello.rootPem], expectedUserData: sessionKeyUserData(otherSession) }),
    ).rejects.toMatchObject({ code: 'user_data_mismatch' });
  });

  it('accepts a plain-commitment submission and answers only the record count', async () => {
    const submission = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, records, SCHEMA);
    expect(await verify(submission)).toMatchObject({ ok: true, result: { recordCount: records.length } });
  });

  it('accepts a salted submission; a salted payload with the wrong salt or shape is commitment_mismatch', async () => {
    const submission = await saltedSubmission(blobDir, key.publicKey, parties[1]!.partyId, records, SCHEMA);
    expect(await verify(submission)).toMatchObject({ ok: true, result: { recordCount: records.length } });

    const plainAsSalted = await plainSubmission(blobDir, key.publicKey, parties[1]!.partyId, records, SCHEMA);
    expect(await verify({ ...plainAsSalted, commitmentScheme: 'salted' })).toMatchObject({ error: { code: 'commitment_mismatch' } });

    const otherSalt = await saltedSubmission(blobDir, key.publicKey, parties[1]!.partyId, records, SCHEMA);
    expect(await verify({ ...otherSalt, commitment: submission.commitment })).toMatchObject({ error: { code: 'commitment_mismatch' } });
  });

  it('every envelope failure is the same decryption_failed', async () => {
    const submission = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, records, SCHEMA);
    const envelope = new Uint8Array(await readFile(submission.blobPath));
    const variants: Record<string, Uint8Array> = {
      headerBit: flip(envelope, 10),
      encBit: flip(envelope, 30),
      bodyBit: flip(envelope, 47 + 100),
      tagBit: flip(envelope, envelope.length - 1),
      truncated: envelope.subarray(0, envelope.length - 20),
      cutAtChunk: envelope.subarray(0, 47 + 4096 + 16),
      empty: new Uint8Array(0),
    };
    const other = await generateEncryptionKeyPair();
    const toOtherKey = await plainSubmission(blobDir, toBase64Url(other.publicKey), parties[0]!.partyId, records, SCHEMA);
    const errors = [(await verify(toOtherKey)).error];
    for (const [name, bytes] of Object.entries(variants)) {
      const path = join(blobDir, `tampered-${name}`);
      await writeFile(path, bytes);
      errors.push((await verify({ ...submission, blobPath: path })).error);
    }
    for (const error of errors) expect(error).toEqual(errors[0]);
    expect(errors[0]!.code).toBe('decryption_failed');
  });

  it('refuses a commitment that does not match the data', async () => {
    const submission = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, records, SCHEMA);
    const other = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, records.slice(1), SCHEMA);
    expect(await verify({ ...submission, commitment: other.commitment })).toMatchObject({ ok: false, error: { code: 'commitment_mismatch' } });
  });

  it('refuses plaintext that is not strict JSON', async () => {
    for (const text of ['not json', '[{"a":1,"a":2}]', '[1e999]', '\uFEFF[]']) {
      const blobPath = await writeBlob(blobDir, `bad-json-${text.length}`, key.publicKey, utf8Encode(text));
      const reply = await verify({ partyId: parties[0]!.partyId, blobPath, commitment: 'sha256:' + '0'.repeat(64), commitmentScheme: 'plain', dataSchema: SCHEMA });
      expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_json' } });
    }
  });

  it('names record index and field of schema errors, never the values', async () => {
    const bad = records.map((r) => ({ ...r }));
    bad[2] = { ...bad[2], amount: -987654.32 };
    bad[5] = { ...bad[5], currency: 'SECRETCUR' };
    const submission = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, bad, SCHEMA);
    const reply = await verify(submission);
    expect(reply).toMatchObject({ ok: false, error: { code: 'schema_validation_failed' } });
    const details = reply.error!.details!;
    expect(details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 2, field: 'amount' }),
        expect.objectContaining({ index: 5, field: 'currency' }),
      ]),
    );
    const text = JSON.stringify(reply);
    expect(text).not.toContain('987654');
    expect(text).not.toContain('SECRETCUR');
  });

  it('refuses terms that do not hash to the session id, outsiders, unknown schemas and unreadable blobs', async () => {
    const submission = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, records, SCHEMA);
    expect(await verify(submission, { terms: { ...terms, name: 'swapped' } })).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await verify({ ...submission, partyId: 'party::bankZ::outsider' })).toMatchObject({ error: { code: 'unknown_party' } });
    expect(await verify({ ...submission, dataSchema: 'patient_records_v1' })).toMatchObject({ error: { code: 'unknown_schema' } });
    expect(await verify({ ...submission, blobPath: join(blobDir, 'missing') })).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await verify(submission, { sealedKey: toBase64Url(new Uint8Array(61)) })).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('refuses a session past its terms.expiresAt (session_expired), by the enclave clock', async () => {
    const expired = makeTerms({ participants: parties, modelId: terms.modelId, modelDigest: terms.modelDigest, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const expiredKey = await enclave.call('createSessionKey', { sessionId: expired.sessionId });
    const submission = await plainSubmission(blobDir, expiredKey.publicKey, parties[0]!.partyId, records, SCHEMA);
    const reply = await enclave.request('verifySubmission', { sessionId: expired.sessionId, sealedKey: expiredKey.sealedKey, terms: expired.terms, submission });
    expect(reply).toMatchObject({ ok: false, error: { code: 'session_expired' } });
  });

  it('refuses a session whose model digest is not the one this enclave carries', async () => {
    const wrong = makeTerms({ participants: parties, modelId: 'risk-analyzer-v2', modelDigest: 'sha256:' + 'f'.repeat(64) });
    const wrongKey = await enclave.call('createSessionKey', { sessionId: wrong.sessionId });
    const submission = await plainSubmission(blobDir, wrongKey.publicKey, parties[0]!.partyId, records, SCHEMA);
    const reply = await enclave.request('verifySubmission', { sessionId: wrong.sessionId, sealedKey: wrongKey.sealedKey, terms: wrong.terms, submission });
    expect(reply).toMatchObject({ ok: false, error: { code: 'unknown_model' } });
  });

  it('a restarted enclave with the same state unseals the key; after destroySessionKey nothing does', async () => {
    const submission = await plainSubmission(blobDir, key.publicKey, parties[0]!.partyId, records, SCHEMA);
    expect(await enclave.stop()).toBe(0);
    enclave = start();
    expect(HelloResult.parse(await enclave.call('hello')).measurement).toBe(hello.measurement);
    expect(await verify(submission)).toMatchObject({ ok: true, result: { recordCount: records.length } });

    const ciphertexts = ['sha256:' + 'ab'.repeat(32)];
    const destroyed = await enclave.call('destroySessionKey', { sessionId, reason: 'cancelled', ciphertexts });
    expect(Number.isNaN(Date.parse(destroyed.destroyedAt))).toBe(false);
    // Proof of deletion (issue 3): the statement names the session, the key, the ciphertexts and the time,
    // and an attestation of this enclave binds it (user_data = SHA-256(JCS(statement))).
    expect(destroyed.statement).toEqual({
      type: DELETION_STATEMENT_TYPE,
      sessionId,
      destroyed: { sessionKey: true, ciphertexts },
      reason: 'cancelled',
      destroyedAt: destroyed.destroyedAt,
    });
    await verifyAttestation(destroyed.attestation, {
      roots: [hello.rootPem],
      expectedMeasurements: [hello.measurement],
      expectedUserData: deletionStatementDigest(destroyed.statement),
    });
    expect(await verify(submission)).toMatchObject({ ok: false, error: { code: 'data_deleted' } });
    expect(await enclave.request('createSessionKey', { sessionId })).toMatchObject({ ok: false, error: { code: 'data_deleted' } });

    await enclave.stop();
    enclave = start();
    expect(await verify(submission)).toMatchObject({ ok: false, error: { code: 'data_deleted' } });
    const again = await enclave.call('destroySessionKey', { sessionId, reason: 'cancelled', ciphertexts });
    expect(again.statement).toEqual(destroyed.statement);
  });

  it('never writes data to stderr', () => {
    const log = started.map((p) => p.stderrText()).join('');
    expect(log).toContain('"event":"op"');
    for (const record of records.slice(0, 10)) {
      expect(log).not.toContain(String(record.transactionId));
      expect(log).not.toContain(String(record.accountId));
    }
    expect(log).not.toContain(key.sealedKey);
  });
});

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
}
