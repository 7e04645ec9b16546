// The enclave supervisor's reply handling, against a scripted stand-in enclave: a reply that fails the
// reply schema but carries a readable id must fail its waiting request at once, not at its timeout.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnclaveSupervisor } from './enclave-client.js';
import { createLogger } from './logger.js';

const SESSION = 'mps_' + 'a'.repeat(26);
const ORPHAN_SESSION = 'mps_' + 'b'.repeat(26);

// Answers hello properly; answers createSessionKey for SESSION with a reply that breaks the reply schema
// (`ok` is not a boolean) but keeps its id, and for any other session with no usable id at all.
const SCRIPT = `
const send = (message) => {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  process.stdout.write(Buffer.concat([head, body]));
};
let buffered = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
    const length = buffered.readUInt32BE(0);
    const request = JSON.parse(buffered.subarray(4, 4 + length).toString('utf8'));
    buffered = buffered.subarray(4 + length);
    if (request.op === 'hello') {
      send({ id: request.id, ok: true, result: { models: [], provider: 'simulated', moduleId: 'fake', measurement: '0'.repeat(96), rootPem: '', pid: process.pid } });
    } else if (request.sessionId === '${'mps_' + 'a'.repeat(26)}') {
      send({ id: request.id, ok: 'maybe', result: {} });
    } else {
      send({ id: 'not-a-number', ok: 'maybe' });
    }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

let dir: string | undefined;
let supervisor: EnclaveSupervisor | undefined;
afterEach(async () => {
  await supervisor?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('EnclaveSupervisor replies', () => {
  it('rejects the waiting request at once when its reply fails the reply schema', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenzro-fake-enclave-'));
    const entry = join(dir, 'fake-enclave.mjs');
    await writeFile(entry, SCRIPT);
    supervisor = new EnclaveSupervisor({
      entry,
      stateDir: dir,
      logger: createLogger({ level: 'silent', stdout: false }),
      timeoutsMs: { createSessionKey: 30_000 },
    });
    await supervisor.start();
    const started = Date.now();
    const error = await supervisor.call('createSessionKey', { sessionId: SESSION }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: 'internal_error' });
    expect((error as Error).message).toMatch(/createSessionKey reply failed its schema/);

    // Without a readable id nothing can be matched: that request ends at its own timeout.
    await supervisor.close();
    supervisor = new EnclaveSupervisor({
      entry,
      stateDir: dir,
      logger: createLogger({ level: 'silent', stdout: false }),
      timeoutsMs: { createSessionKey: 1_000 },
    });
    await supervisor.start();
    const orphan = await supervisor.call('createSessionKey', { sessionId: ORPHAN_SESSION }).catch((e: unknown) => e);
    expect(orphan).toMatchObject({ code: 'enclave_unavailable' });
  }, 15_000);
});
