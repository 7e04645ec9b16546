// The compute-node measurement (docs/mpc.md): SHA-384 of the manifest of packages
// {crypto,protocol,enclave,mpc-node} (lockfile, package.json, dist/**/*.js), and which node measurements
// the enclave accepts (its checkout's node bundle when built, plus TENZRO_MPC_NODE_MEASUREMENTS).
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/enclave-process.js';
import { MeasureError, measureMpcNodeBundle } from './measure.js';
import { MpcNodeTrustError, acceptedMpcNodeMeasurements, parseMpcNodeMeasurements } from './mpc-node-trust.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sha384 = (text: string) => createHash('sha384').update(text).digest('hex');

async function fakeRepo(files: Record<string, string>): Promise<string> {
  const root = await tempDir('tenzro-node-measure-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const NODE_BUNDLE: Record<string, string> = {
  'package-lock.json': '{"lockfileVersion":3}\n',
  'packages/crypto/package.json': '{}\n',
  'packages/crypto/dist/index.js': 'a\n',
  'packages/protocol/package.json': '{}\n',
  'packages/protocol/dist/mpc/run.js': 'b\n',
  'packages/enclave/package.json': '{}\n',
  'packages/enclave/dist/index.js': 'c\n',
  'packages/enclave/dist/index.js.map': '{}',
  'packages/mpc-node/package.json': '{}\n',
  'packages/mpc-node/dist/main.js': 'd\n',
  'packages/models/package.json': '{}\n',
  'packages/models/dist/index.js': 'not measured\n',
};

describe('measureMpcNodeBundle', () => {
  it('hashes the sorted manifest of the node packages (models and source maps excluded)', async () => {
    const root = await fakeRepo(NODE_BUNDLE);
    const paths = Object.keys(NODE_BUNDLE)
      .filter((p) => !p.includes('/models/') && !p.endsWith('.map'))
      .sort();
    const manifest = paths.map((p) => `${sha256(NODE_BUNDLE[p]!)}  ${p}\n`).join('');
    expect(await measureMpcNodeBundle(root)).toBe(sha384(manifest));
  });

  it('refuses a node package without built code', async () => {
    const { ['packages/mpc-node/dist/main.js']: _, ...rest } = NODE_BUNDLE;
    await expect(measureMpcNodeBundle(await fakeRepo(rest))).rejects.toThrow(MeasureError);
  });
});

describe('accepted node measurements', () => {
  const a = 'ab'.repeat(48);
  it('parses the comma-separated list and refuses anything but 96-character hex', () => {
    expect(parseMpcNodeMeasurements(undefined)).toEqual([]);
    expect(parseMpcNodeMeasurements(` ${a.toUpperCase()} ,, ${a}`)).toEqual([a]);
    expect(() => parseMpcNodeMeasurements('abc')).toThrow(MpcNodeTrustError);
  });

  it("adds this checkout's node bundle when packages/mpc-node/dist exists", async () => {
    const root = await fakeRepo(NODE_BUNDLE);
    const own = await measureMpcNodeBundle(root);
    expect(await acceptedMpcNodeMeasurements({ TENZRO_MPC_NODE_MEASUREMENTS: a }, root)).toEqual([own, a]);
    const { ['packages/mpc-node/dist/main.js']: _, ...unbuilt } = NODE_BUNDLE;
    expect(await acceptedMpcNodeMeasurements({ TENZRO_MPC_NODE_MEASUREMENTS: a }, await fakeRepo(unbuilt))).toEqual([a]);
  });
});
