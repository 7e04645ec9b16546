// verifySubmission of an mpc session (docs/mpc.md, Enclave): the blob is the party's plain JSON share
// bundle; the enclave checks its schema, commitment, signature and node list, opens none of the shares,
// and answers the declared record count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEncryptionKeyPair, generateSigningKeyPair } from '@tenzro/crypto';
import { HelloResult, type MpcShareBundle } from '@tenzro/protocol';
import { EnclaveProcess, tempDir, type Reply } from '../test/enclave-process.js';
import { contribute, makeNodes, mpcParties, setupMpcSession, writeBundle, type MpcSessionSetup, type TestNode } from '../test/mpc-fixture.js';
import type { Party } from '../test/session-fixture.js';

describe('verifySubmission (mpc share bundles)', () => {
  let enclave: EnclaveProcess;
  let blobDir: string;
  let parties: Party[];
  let nodes: TestNode[];
  let setup: MpcSessionSetup;

  beforeAll(async () => {
    const stateDir = await tempDir('tenzro-enclave-mpc-verify-');
    enclave = EnclaveProcess.start(stateDir);
    const hello = HelloResult.parse(await enclave.call('hello'));
    const digest = hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!.modelDigest;
    blobDir = await tempDir('tenzro-enclave-mpc-verify-blobs-');
    parties = await mpcParties(3);
    nodes = await makeNodes(stateDir, 3);
    setup = await setupMpcSession(enclave, digest, { n: 3, threshold: 2, parties, recordsPerBank: 100 });
  });
  afterAll(async () => {
    await enclave.stop();
  });

  const verify = (submission: object): Promise<Reply> =>
    enclave.request('verifySubmission', { sessionId: setup.sessionId, sealedKey: setup.key.sealedKey, terms: setup.terms, submission });

  it('accepts a valid bundle and answers the declared record count', async () => {
    const c = await contribute(setup, nodes, parties[0]!, blobDir);
    const reply = await verify(c.submission);
    expect(reply.error).toBeUndefined();
    expect(reply.result).toEqual({ recordCount: setup.records[parties[0]!.partyId]!.length });
  });

  it('refuses a wrong commitment or a salted scheme (commitment_mismatch)', async () => {
    const c = await contribute(setup, nodes, parties[0]!, blobDir);
    expect((await verify({ ...c.submission, commitment: 'sha256:' + '0'.repeat(64) })).error?.code).toBe('commitment_mismatch');
    expect((await verify({ ...c.submission, commitmentScheme: 'salted' })).error?.code).toBe('commitment_mismatch');
  });

  it("refuses another party's bundle, a forged signature, another session or program (submission_rejected)", async () => {
    const c = await contribute(setup, nodes, parties[0]!, blobDir);
    expect((await verify({ ...c.submission, partyId: parties[1]!.partyId })).error?.code).toBe('submission_rejected');
    const forged = await contribute(setup, nodes, parties[0]!, blobDir, { signWith: generateSigningKeyPair().privateKey });
    const reply = await verify(forged.submission);
    expect(reply.error?.code).toBe('submission_rejected');
    expect(reply.error?.message).toMatch(/signature/);
    const session = await contribute(setup, nodes, parties[0]!, blobDir, { editBody: (b) => ({ ...b, sessionId: 'mps_' + 'a'.repeat(26) }) });
    expect((await verify(session.submission)).error?.code).toBe('submission_rejected');
    const program = await contribute(setup, nodes, parties[0]!, blobDir, { editBody: (b) => ({ ...b, programId: 'other.mpc.v1' }) });
    expect((await verify(program.submission)).error?.code).toBe('submission_rejected');
    const schema = await contribute(setup, nodes, parties[0]!, blobDir, { editBody: (b) => ({ ...b, dataSchema: 'other_schema' }) });
    expect((await verify(schema.submission)).error?.code).toBe('submission_rejected');
  });

  it('refuses a node list out of order, with a repeated key, or of the wrong length', async () => {
    const swapped = await contribute(setup, nodes, parties[0]!, blobDir, { editBody: (b) => ({ ...b, nodes: [b.nodes[1]!, b.nodes[0]!, b.nodes[2]!] }) });
    expect((await verify(swapped.submission)).error?.code).toBe('submission_rejected');
    const key = (await generateEncryptionKeyPair()).publicKey;
    const repeated = await contribute(setup, nodes, parties[0]!, blobDir, { nodeKeys: [key, key, nodes[2]!.encryptionPublicKey] });
    expect((await verify(repeated.submission)).error?.code).toBe('submission_rejected');
    const short = await contribute(setup, nodes, parties[0]!, blobDir, { editBody: (b) => ({ ...b, nodes: b.nodes.slice(0, 2) }) });
    expect((await verify(short.submission)).error?.code).toBe('submission_rejected');
  });

  it('refuses what is not a strict-JSON MpcShareBundle, naming fields only', async () => {
    const c = await contribute(setup, nodes, parties[0]!, blobDir);
    const broken = await writeBundle(blobDir, parties[0]!.partyId, c.bundle, '{"body": 1, "body": 2}');
    expect((await verify(broken)).error?.code).toBe('invalid_json');
    const extra = { ...c.bundle, extra: true } as unknown as MpcShareBundle;
    const wrong = await writeBundle(blobDir, parties[0]!.partyId, extra);
    const reply = await verify(wrong);
    expect(reply.error?.code).toBe('schema_validation_failed');
    expect(JSON.stringify(reply.error)).not.toContain(c.bundle.signature);
    expect((await verify({ ...c.submission, dataSchema: 'tenzro.secagg.masked-input/v1' })).error?.code).toBe('submission_rejected');
  });
});
