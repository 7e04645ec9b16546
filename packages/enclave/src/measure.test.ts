// The measurement: SHA-384 over a sorted sha256sum-style manifest of the enclave bundle.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/enclave-process.js';
import { MeasureError, bundleManifest, manifestText, measureBundle } from './measure.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sha384 = (text: string) => createHash('sha384').update(text).digest('hex');

async function fakeRepo(files: Record<string, string>): Promise<string> {
  const root = await tempDir('tenzro-measure-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const BUNDLE = {
  'packages/crypto/dist/index.js': 'export const a = 1;\n',
  'packages/crypto/dist/index.js.map': '{}',
  'packages/crypto/dist/index.d.ts': 'export declare const a: 1;\n',
  'packages/protocol/dist/index.js': 'export const b = 2;\n',
  'packages/protocol/dist/attestation/verify.js': 'export const v = 3;\n',
  'packages/models/dist/index.js': 'export const m = 4;\n',
  'packages/enclave/dist/main.js': 'console.log(1);\n',
  'packages/server/dist/index.js': 'not measured\n',
  'packages/enclave/src/main.ts': 'not measured\n',
};

describe('measureBundle', () => {
  it('hashes the sorted manifest of dist .js files (no maps, no .d.ts, no other packages)', async () => {
    const root = await fakeRepo(BUNDLE);
    const expected = [
      'packages/crypto/dist/index.js',
      'packages/enclave/dist/main.js',
      'packages/models/dist/index.js',
      'packages/protocol/dist/attestation/verify.js',
      'packages/protocol/dist/index.js',
    ]
      .map((path) => `${sha256(BUNDLE[path as keyof typeof BUNDLE])}  ${path}\n`)
      .join('');
    expect(manifestText(await bundleManifest(root))).toBe(expected);
    expect(await measureBundle(root)).toBe(sha384(expected));
    expect(await measureBundle(root)).toMatch(/^[0-9a-f]{96}$/);
  });

  it('is deterministic and changes with any measured byte, and with model assets', async () => {
    const a = await measureBundle(await fakeRepo(BUNDLE));
    expect(await measureBundle(await fakeRepo(BUNDLE))).toBe(a);
    expect(await measureBundle(await fakeRepo({ ...BUNDLE, 'packages/models/dist/index.js': 'export const m = 5;\n' }))).not.toBe(a);
    expect(await measureBundle(await fakeRepo({ ...BUNDLE, 'packages/crypto/dist/index.js.map': '{"x":1}' }))).toBe(a);
    const withAsset = await fakeRepo({ ...BUNDLE, 'packages/models/assets/weights.bin': 'w' });
    expect(await measureBundle(withAsset)).not.toBe(a);
    expect((await bundleManifest(withAsset)).map((e) => e.path)).toContain('packages/models/assets/weights.bin');
  });

  it('refuses an unbuilt package', async () => {
    const { ['packages/models/dist/index.js']: _omitted, ...rest } = BUNDLE;
    await expect(measureBundle(await fakeRepo(rest))).rejects.toBeInstanceOf(MeasureError);
  });

  it('measures this checkout', async () => {
    expect(await measureBundle()).toMatch(/^[0-9a-f]{96}$/);
  });
});
