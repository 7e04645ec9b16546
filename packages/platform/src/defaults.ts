/**
 * Defaults that only exist under Node: environment variables and files (the party key file named by
 * `TENZRO_PARTY_KEY`, the development credentials the server writes on `npm start`). The SDK also runs in
 * browsers, so nothing here is imported statically: `node:fs` is fetched at call time through
 * `process.getBuiltinModule` (Node ≥ 20.16), and in a browser every lookup simply finds nothing.
 */
import { parseStrictJson } from '@tenzro/crypto';
import { z } from 'zod';

interface NodeProcessLike {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

interface NodeFsLike {
  existsSync(path: string): boolean;
  readFileSync(path: string, encoding: 'utf8'): string;
}

function nodeProcess(): NodeProcessLike | undefined {
  const candidate = (globalThis as { process?: NodeProcessLike }).process;
  return typeof candidate === 'object' && candidate !== null ? candidate : undefined;
}

/** An environment variable, or undefined (always undefined in a browser). Empty counts as unset. */
export function readEnv(name: string): string | undefined {
  const value = nodeProcess()?.env?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nodeFs(): NodeFsLike | undefined {
  const getBuiltinModule = nodeProcess()?.getBuiltinModule;
  if (typeof getBuiltinModule !== 'function') return undefined;
  const fs = getBuiltinModule.call(nodeProcess(), 'node:fs') as Partial<NodeFsLike> | undefined;
  return fs && typeof fs.readFileSync === 'function' && typeof fs.existsSync === 'function' ? (fs as NodeFsLike) : undefined;
}

export type ConfigurationErrorCode = 'invalid_configuration' | 'no_expected_measurement';

/**
 * The SDK's configuration cannot be used: `invalid_configuration` — a file the configuration names (or the
 * default credentials file) cannot be used; `no_expected_measurement` — an attestation was to be verified
 * but no enclave measurement is pinned (option `expectedMeasurements` or the development credentials).
 */
export class ConfigurationError extends Error {
  readonly code: ConfigurationErrorCode;

  constructor(message: string, options: { cause?: unknown; code?: ConfigurationErrorCode } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigurationError';
    this.code = options.code ?? 'invalid_configuration';
  }
}

/**
 * Reads and parses a JSON file. `required`: a missing file is an error (a path the user named); otherwise
 * a missing file, or no file system at all, gives undefined.
 */
export function readJsonFile(path: string, what: string, required: boolean): unknown {
  const fs = nodeFs();
  if (!fs) {
    if (required) throw new ConfigurationError(`${what}: ${path} cannot be read here (no file system)`);
    return undefined;
  }
  if (!fs.existsSync(path)) {
    if (required) throw new ConfigurationError(`${what}: ${path} does not exist`);
    return undefined;
  }
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigurationError(`${what}: ${path} cannot be read`, { cause });
  }
  try {
    return parseStrictJson(text, { maxDepth: 16 });
  } catch (cause) {
    throw new ConfigurationError(`${what}: ${path} is not valid JSON`, { cause });
  }
}

/** The part of the development credentials file the SDK uses (the file carries more: tenants' API keys). */
export const DevCredentialsFile = z.object({
  baseUrl: z.string().optional(),
  attestation: z
    .object({
      rootPem: z.string().nullable().optional(),
      measurement: z.string().nullable().optional(),
      /** The development node fleet's measurement (`tenzro mpc-node measure`). */
      mpcNodeMeasurement: z.string().nullable().optional(),
    })
    .optional(),
  parties: z.array(z.unknown()).optional(),
});
export type DevCredentialsFile = z.infer<typeof DevCredentialsFile>;

/** `TENZRO_CREDENTIALS`, else `${TENZRO_DATA_DIR ?? '.tenzro'}/dev/credentials.json` (relative to cwd). */
export function devCredentialsPath(): { path: string; explicit: boolean } {
  const explicit = readEnv('TENZRO_CREDENTIALS');
  if (explicit) return { path: explicit, explicit: true };
  return { path: `${readEnv('TENZRO_DATA_DIR') ?? '.tenzro'}/dev/credentials.json`, explicit: false };
}

/** The development credentials, when present (and under Node); a named but unusable file is an error. */
export function loadDevCredentials(): DevCredentialsFile | undefined {
  const { path, explicit } = devCredentialsPath();
  const json = readJsonFile(path, 'development credentials', explicit);
  if (json === undefined) return undefined;
  const parsed = DevCredentialsFile.safeParse(json);
  if (!parsed.success) {
    throw new ConfigurationError(`development credentials: ${path} does not have the expected shape`, { cause: parsed.error });
  }
  return parsed.data;
}

/** The party key file named by `TENZRO_PARTY_KEY`, as parsed JSON; undefined when the variable is unset. */
export function loadDefaultPartyKeyFile(): unknown {
  const path = readEnv('TENZRO_PARTY_KEY');
  if (!path) return undefined;
  return readJsonFile(path, 'TENZRO_PARTY_KEY', true);
}
