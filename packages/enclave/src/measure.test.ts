// The measurement: SHA-384 over a sorted sha256sum-style manifest of the enclave bundle.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/enclave-process.js';
import { GGUF_MANIFEST_PATH, MeasureError, bundleManifest, manifestText, measureBundle } from './measure.js';

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
  // measured only with a local language model (options.gguf)
  'packages/narrative-llama/dist/index.js': 'export const l = 6;\n',
  'packages/narrative-llama/dist/index.d.ts': 'export declare const l: 6;\n',
  'packages/narrative-llama/package.json': '{"name":"@tenzro/narrative-llama"}\n',
};

/** The repository's copy of stories260K (test/fixtures/models/PROVENANCE.md). */
const GGUF_FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'models', 'stories260K.gguf');

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

describe('measureBundle with a local language model (TENZRO_LLM_GGUF)', () => {
  it('adds the GGUF file as gguf/model.gguf and the narrative-llama package to the manifest', async () => {
    const root = await fakeRepo(BUNDLE);
    const plain = await bundleManifest(root);
    const withModel = await bundleManifest(root, { gguf: GGUF_FIXTURE });
    const fileHash = createHash('sha256').update(await readFile(GGUF_FIXTURE)).digest('hex');
    expect(fileHash).toBe('270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
    const added = withModel.filter((e) => !plain.some((p) => p.path === e.path));
    expect(added).toEqual([
      { path: GGUF_MANIFEST_PATH, sha256: fileHash },
      { path: 'packages/narrative-llama/dist/index.js', sha256: sha256(BUNDLE['packages/narrative-llama/dist/index.js']) },
      { path: 'packages/narrative-llama/package.json', sha256: sha256(BUNDLE['packages/narrative-llama/package.json']) },
    ]);
    expect(await measureBundle(root, { gguf: GGUF_FIXTURE })).toBe(sha384(manifestText(withModel)));
    expect(await measureBundle(root, { gguf: GGUF_FIXTURE })).not.toBe(await measureBundle(root));
  });

  it('changes when one byte of the model changes, not with the file name or path', async () => {
    const root = await fakeRepo(BUNDLE);
    const dir = await tempDir('tenzro-measure-gguf-');
    const copy = join(dir, 'renamed-model.bin');
    await copyFile(GGUF_FIXTURE, copy);
    const original = await measureBundle(root, { gguf: GGUF_FIXTURE });
    expect(await measureBundle(root, { gguf: copy })).toBe(original);

    const bytes = await readFile(copy);
    const offset = bytes.length - 1000;
    bytes[offset] = bytes[offset]! ^ 0x01;
    await writeFile(copy, bytes);
    expect(await measureBundle(root, { gguf: copy })).not.toBe(original);
  });

  it('changes with the narrative-llama code, which it otherwise ignores', async () => {
    const a = await fakeRepo(BUNDLE);
    const b = await fakeRepo({ ...BUNDLE, 'packages/narrative-llama/dist/index.js': 'export const l = 7;\n' });
    expect(await measureBundle(b)).toBe(await measureBundle(a));
    expect(await measureBundle(b, { gguf: GGUF_FIXTURE })).not.toBe(await measureBundle(a, { gguf: GGUF_FIXTURE }));
  });

  it('refuses a missing model, an unbuilt narrative-llama and a bad option', async () => {
    const root = await fakeRepo(BUNDLE);
    await expect(measureBundle(root, { gguf: join(root, 'missing.gguf') })).rejects.toThrow(/the GGUF model .*missing\.gguf cannot be read/);
    await expect(measureBundle(root, { gguf: root })).rejects.toThrow(/is not a regular file/);
    const { ['packages/narrative-llama/dist/index.js']: _code, ...unbuilt } = BUNDLE;
    await expect(measureBundle(await fakeRepo(unbuilt), { gguf: GGUF_FIXTURE })).rejects.toThrow(/packages\/narrative-llama\/dist has no \.js files/);
    await expect(measureBundle(root, { gguf: '' })).rejects.toThrow(TypeError);
    await expect(measureBundle(root, null as never)).rejects.toThrow(/options must be an object/);
  });

  it('measures this checkout with the fixture model differently than without', async () => {
    const withModel = await measureBundle(undefined, { gguf: GGUF_FIXTURE });
    expect(withModel).toMatch(/^[0-9a-f]{96}$/);
    expect(withModel).not.toBe(await measureBundle());
    expect((await bundleManifest(undefined, { gguf: GGUF_FIXTURE })).map((e) => e.path)).toContain('packages/narrative-llama/package.json');
  });
});
