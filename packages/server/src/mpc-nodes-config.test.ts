// docs/mpc.md, "Host (server)" — Nodes: TENZRO_MPC_NODES names fleets run elsewhere. The file is checked
// strictly at startup (a ConfigError names the file and the problem); a session may use mpc only with a
// configured fleet of its totalParties; nodes that do not answer make the nodes route 503.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { startTestServer, type TestServer } from './harness.fixture.js';
import { createMpcSession, getNodes, mpcPolicy } from './mpc.fixture.js';
import { loadMpcNodesFile } from './mpc-nodes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenzro-mpc-nodes-'));
  for (const i of [1, 2, 3]) await writeFile(join(dir, `token-${i}`), `token-${i}-${'x'.repeat(20)}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fleetFile(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const node = (index: number, port = 1) => ({ index, url: `http://127.0.0.1:${port}`, controlTokenFile: `token-${index}` });

describe('TENZRO_MPC_NODES', () => {
  it('reads fleets in index order with their control tokens (paths beside the file)', async () => {
    const path = await fleetFile('ok.json', { fleets: [{ total: 3, nodes: [node(3), node(1), node(2)] }] });
    const fleets = await loadMpcNodesFile(path);
    expect([...fleets.keys()]).toEqual([3]);
    expect(fleets.get(3)).toEqual([1, 2, 3].map((i) => ({ index: i, url: 'http://127.0.0.1:1', controlToken: `token-${i}-${'x'.repeat(20)}` })));
  });

  it.each([
    ['not JSON', '{ fleets', /is not JSON/],
    ['an unknown field', { fleets: [{ total: 2, nodes: [node(1), node(2)], extra: 1 }] }, /fleets\.0/],
    ['missing indices', { fleets: [{ total: 3, nodes: [node(1), node(3), node(3)] }] }, /exactly indices 1\.\.3/],
    ['two fleets of one size', { fleets: [{ total: 2, nodes: [node(1), node(2)] }, { total: 2, nodes: [node(1), node(2)] }] }, /a second fleet of 2/],
    ['a token file that is missing', { fleets: [{ total: 2, nodes: [node(1), { ...node(2), controlTokenFile: 'nope' }] }] }, /node 2: control token file/],
    ['a URL that is not http(s)', { fleets: [{ total: 2, nodes: [node(1), { ...node(2), url: 'ftp://x' }] }] }, /fleets\.0\.nodes\.1\.url/],
  ])('refuses %s with a ConfigError naming the file', async (name, content, message) => {
    const path = await fleetFile(`${name.replaceAll(' ', '-')}.json`, content);
    const error = await loadMpcNodesFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(path);
  });

  it('stops the server at startup when the file is bad', async () => {
    const path = await fleetFile('bad.json', { fleets: [] });
    const dataDir = join(dir, 'data');
    await expect(startTestServer({ dataDir, env: { TENZRO_MPC_NODES: path } })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('a server with configured fleets', () => {
  let t: TestServer;
  beforeAll(async () => {
    const path = await fleetFile('fleet.json', { fleets: [{ total: 3, nodes: [node(1), node(2), node(3)] }] });
    t = await startTestServer({ env: { TENZRO_MPC_NODES: path, TENZRO_MPC_STEP_TIMEOUT_MS: '1000' } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('offers mpc only for a configured fleet size', async () => {
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      payload: { name: 'five nodes', modelId: 'risk-analyzer-v2', participants: ['party::bankA::treasury', 'party::bankB::treasury'], dataPolicy: mpcPolicy(3, 5) },
    });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('method_not_available');
  });

  it('answers 503 mpc_nodes_unavailable when the nodes do not answer', async () => {
    const session = await createMpcSession(t);
    const response = await getNodes(t, 'bankA', session.id);
    expect(response.statusCode).toBe(503);
    expect(t.json(response).error).toMatchObject({ code: 'mpc_nodes_unavailable', message: expect.stringMatching(/only 0 of 3 compute nodes answered/) });
  });
});
