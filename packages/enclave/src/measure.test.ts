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
  'packages/crypto/package.json': '{"name":"@tenzro/crypto"}\n',
  'packages/protocol/package.json': '{"name":"@tenzro/protocol"}\n',
  'packages/models/package.json': '{"name":"@tenzro/models"}\n',
  'packages/enclave/package.json': '{"name":"@tenzro/enclave"}\n',
  'package-lock.json': '{"lockfileVersion":3,"packages":{"node_modules/zod":{"version":"4.0.0","integrity":"sha512-A"}}}\n',
  'package.json': '{"name":"root, not measured"}\n',
  'packages/server/package.json': '{"name":"not measured"}\n',
  'packages/server/dist/index.js': 'not measured\n',
  'packages/enclave/src/main.ts': 'not measured\n',
};

describe('measureBundle', () => {
  it('hashes the sorted manifest of dist .js files, package manifests and the lockfile (no maps, no .d.ts, no other packages)', async () => {
    const root = await fakeRepo(BUNDLE);
    const expected = [
      'package-lock.json',
      'packages/crypto/dist/index.js',
      'packages/crypto/package.json',
      'packages/enclave/dist/main.js',
      'packages/enclave/package.json',
      'packages/models/dist/index.js',
      'packages/models/package.json',
      'packages/protocol/dist/attestation/verify.js',
      'packages/protocol/dist/index.js',
      'packages/protocol/package.json',
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

  it('changes with the dependency lockfile and with a measured package.json, not with the root package.json', async () => {
    const a = await measureBundle(await fakeRepo(BUNDLE));
    const bumped = BUNDLE['package-lock.json'].replace('sha512-A', 'sha512-B');
    expect(await measureBundle(await fakeRepo({ ...BUNDLE, 'package-lock.json': bumped }))).not.toBe(a);
    expect(await measureBundle(await fakeRepo({ ...BUNDLE, 'packages/crypto/package.json': '{"name":"@tenzro/crypto","main":"evil.js"}\n' }))).not.toBe(a);
    expect(await measureBundle(await fakeRepo({ ...BUNDLE, 'package.json': '{"name":"changed"}\n' }))).toBe(a);
  });

  it('refuses a checkout without its lockfile or a package manifest', async () => {
    const { ['package-lock.json']: _lock, ...noLock } = BUNDLE;
    await expect(measureBundle(await fakeRepo(noLock))).rejects.toThrow(/package-lock\.json is missing/);
    const { ['packages/models/package.json']: _manifest, ...noManifest } = BUNDLE;
    await expect(measureBundle(await fakeRepo(noManifest))).rejects.toBeInstanceOf(MeasureError);
  });

  it('refuses an unbuilt package', async () => {
    const { ['packages/models/dist/index.js']: _omitted, ...rest } = BUNDLE;
    await expect(measureBundle(await fakeRepo(rest))).rejects.toBeInstanceOf(MeasureError);
  });

  it('measures this checkout, its lockfile included', async () => {
    expect(await measureBundle()).toMatch(/^[0-9a-f]{96}$/);
    const paths = (await bundleManifest()).map((e) => e.path);
    expect(paths).toContain('package-lock.json');
    expect(paths).toContain('packages/enclave/package.json');
  });
});
