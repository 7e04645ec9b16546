/**
 * The enclave measurement (DESIGN §5.8, `pcrs[0]`): SHA-384 of a canonical manifest of the enclave bundle,
 * i.e. of every file of code that runs inside the enclave, so anyone can recompute it from a checkout.
 *
 * The bundle is
 *   - every `.js` file under `packages/{crypto,protocol,models,enclave}/dist/` (source maps and `.d.ts`
 *     excluded: they never run),
 *   - the `package.json` of those four packages (their `exports`, `main` and `type` decide which file an
 *     import loads),
 *   - every file under `packages/models/assets/` (model weights and tables the models package ships), and
 *   - the repository's `package-lock.json`, which names every third-party dependency the enclave loads
 *     (@noble/*, @hpke/*, zod, @peculiar/x509, cbor2, …) with its exact version and integrity hash
 *     (`npm ci` refuses a tarball whose hash differs). The installed `node_modules` bytes themselves are not
 *     hashed: the measurement pins *which* dependencies, not the copy on disk (see the package README).
 *
 * When the enclave runs a local language model (`TENZRO_LLM_GGUF`, narrative/local-gguf.ts), the bundle also
 * holds
 *   - every `.js` file under `packages/narrative-llama/dist/` and its `package.json` (the code that loads and
 *     runs the model; node-llama-cpp itself is pinned by the lockfile), and
 *   - the model file, listed under the fixed name `gguf/model.gguf` whatever its path or name on disk, so a
 *     party recomputes the measurement from its own copy of the same model (`tenzro measure --gguf <file>`).
 *
 * The manifest lists one line per file, sorted by path (UTF-16 code-unit order), in `sha256sum` format:
 *   `<hex SHA-256 of the file>  <path relative to the repository root, '/'-separated>\n`
 * and the measurement is the lower-case hex SHA-384 of the manifest's UTF-8 bytes (96 characters).
 * `sha256sum` over the same files, sorted, then `sha384sum` of that output gives the same value.
 * The Node.js runtime (`process.version`, `process.arch`) is not part of it: it is not reproducible from
 * a checkout, and a Nitro image would measure it as part of the image.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages whose compiled code runs in the enclave. */
export const MEASURED_PACKAGES = ['crypto', 'protocol', 'models', 'enclave'] as const;

/** Data files the models package ships (weights, tables); measured whole, whatever their extension. */
export const MODEL_ASSETS_DIR = 'packages/models/assets';

/** The lockfile that pins every third-party dependency (version + integrity) the enclave loads. */
export const LOCKFILE = 'package-lock.json';

/** The package measured with a local language model: it loads and runs the GGUF file in the enclave. */
export const GGUF_RUNTIME_PACKAGE = 'narrative-llama';

/** The manifest path of the local language model's file (its on-disk name is not measured). */
export const GGUF_MANIFEST_PATH = 'gguf/model.gguf';

export interface BundleOptions {
  /** The GGUF file of the enclave's local language model (TENZRO_LLM_GGUF), if it runs one. */
  gguf?: string | undefined;
}

export interface ManifestEntry {
  path: string;
  sha256: string;
}

export class MeasureError extends Error {
  readonly code = 'measure_failed' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MeasureError';
  }
}

/** The repository root of this checkout: `dist/measure.js` (or `src/measure.ts`) is three levels down. */
export function defaultRepoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

function isMeasuredCode(name: string): boolean {
  return name.endsWith('.js');
}

async function listFiles(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, accept)));
    else if (entry.isFile() && accept(entry.name)) out.push(full);
    else if (entry.isSymbolicLink()) throw new MeasureError(`symbolic link in the enclave bundle: ${full}`);
  }
  return out;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `root/path`, which must be a regular file (not a link). */
async function requiredFile(root: string, path: string): Promise<string> {
  const full = join(root, ...path.split('/'));
  let info;
  try {
    info = await lstat(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MeasureError(`${path} is missing: the enclave bundle cannot be measured without it`);
    throw error;
  }
  if (!info.isFile()) throw new MeasureError(`${path} is not a regular file`);
  return full;
}

/** `path` (resolved from the working directory), which must be a regular file; links are followed. */
async function ggufFile(path: string): Promise<string> {
  const full = resolve(path);
  let info;
  try {
    info = await stat(full);
  } catch (error) {
    throw new MeasureError(`the GGUF model ${full} cannot be read: the enclave bundle cannot be measured without it`, { cause: error });
  }
  if (!info.isFile()) throw new MeasureError(`the GGUF model ${full} is not a regular file`);
  return full;
}

/**
 * The manifest's entries, sorted by path. Fails if a measured package has no built `dist/`, the lockfile is
 * missing, or `options.gguf` is given and cannot be read.
 */
export async function bundleManifest(repoRoot: string = defaultRepoRoot(), options: BundleOptions = {}): Promise<ManifestEntry[]> {
  if (typeof repoRoot !== 'string' || repoRoot.length === 0) throw new TypeError('repoRoot must be a non-empty string');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (options.gguf !== undefined && (typeof options.gguf !== 'string' || options.gguf.length === 0)) {
    throw new TypeError('options.gguf must be a non-empty file path');
  }
  const root = resolve(repoRoot);
  const files: string[] = [];
  const packages: readonly string[] = options.gguf === undefined ? MEASURED_PACKAGES : [...MEASURED_PACKAGES, GGUF_RUNTIME_PACKAGE];
  for (const pkg of packages) {
    const dist = join(root, 'packages', pkg, 'dist');
    const found = await listFiles(dist, isMeasuredCode);
    if (found.length === 0) throw new MeasureError(`packages/${pkg}/dist has no .js files: build first (npx tsc -b)`);
    files.push(...found);
    files.push(await requiredFile(root, `packages/${pkg}/package.json`));
  }
  files.push(...(await listFiles(join(root, MODEL_ASSETS_DIR), () => true)));
  files.push(await requiredFile(root, LOCKFILE));
  const entries: ManifestEntry[] = [];
  for (const file of files) {
    if (!(await stat(file)).isFile()) continue;
    entries.push({ path: relative(root, file).split(sep).join('/'), sha256: await sha256File(file) });
  }
  if (options.gguf !== undefined) entries.push({ path: GGUF_MANIFEST_PATH, sha256: await sha256File(await ggufFile(options.gguf)) });
  return entries.sort((a, b) => compareCodeUnits(a.path, b.path));
}

/** The manifest text that is hashed. */
export function manifestText(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}

/**
 * The measurement of the bundle in `repoRoot` (default: this checkout), with the local language model
 * `options.gguf` if the enclave runs one: 96 lower-case hex characters.
 */
export async function measureBundle(repoRoot?: string, options: BundleOptions = {}): Promise<string> {
  const text = manifestText(await bundleManifest(repoRoot ?? defaultRepoRoot(), options));
  return createHash('sha384').update(text, 'utf8').digest('hex');
}

/** Packages whose compiled code an `mpc` compute node runs (`tenzro mpc-node`, docs/mpc.md). */
export const MPC_NODE_MEASURED_PACKAGES = ['crypto', 'protocol', 'enclave', 'mpc-node'] as const;

/**
 * The manifest of a bundle made of `packages`: the lockfile, and per package its `package.json` and every
 * `.js` file under its `dist/` (no assets), sorted by path. Fails if a package has no built `dist/`.
 */
export async function packagesManifest(packages: readonly string[], repoRoot: string = defaultRepoRoot()): Promise<ManifestEntry[]> {
  if (!Array.isArray(packages) || packages.length === 0 || packages.some((p) => typeof p !== 'string' || !/^[a-z0-9-]+$/.test(p))) {
    throw new TypeError('packages must be a non-empty array of package directory names');
  }
  if (typeof repoRoot !== 'string' || repoRoot.length === 0) throw new TypeError('repoRoot must be a non-empty string');
  const root = resolve(repoRoot);
  const files: string[] = [await requiredFile(root, LOCKFILE)];
  for (const pkg of packages) {
    const found = await listFiles(join(root, 'packages', pkg, 'dist'), isMeasuredCode);
    if (found.length === 0) throw new MeasureError(`packages/${pkg}/dist has no .js files: build first (npx tsc -b)`);
    files.push(await requiredFile(root, `packages/${pkg}/package.json`), ...found);
  }
  const entries: ManifestEntry[] = [];
  for (const file of files) entries.push({ path: relative(root, file).split(sep).join('/'), sha256: await sha256File(file) });
  return entries.sort((a, b) => compareCodeUnits(a.path, b.path));
}

/** Lower-case hex SHA-384 of the manifest of `packages` (packagesManifest). */
export async function measurePackages(packages: readonly string[], repoRoot?: string): Promise<string> {
  const text = manifestText(await packagesManifest(packages, repoRoot ?? defaultRepoRoot()));
  return createHash('sha384').update(text, 'utf8').digest('hex');
}

/**
 * The measurement of the compute-node bundle (MPC_NODE_MEASURED_PACKAGES) in `repoRoot` (default: this
 * checkout), as a node's attestation states it in pcrs[0]. The enclave accepts node documents with it.
 */
export async function measureMpcNodeBundle(repoRoot?: string): Promise<string> {
  return measurePackages(MPC_NODE_MEASURED_PACKAGES, repoRoot);
}
