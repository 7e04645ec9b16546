/**
 * Capture instrumentation for the secure-aggregation privacy tests (docs/secure-aggregation.md, Enclave).
 *
 * With `TENZRO_ENCLAVE_CAPTURE_DIR` set and the SIMULATED attestation provider, every secure-aggregation
 * run writes one JSON file to that directory holding exactly what the enclave received and computed on
 * the way to the sum: each masked vector (with its party), each share it opened from an unmask envelope,
 * the unmask request it derived, and the sum. Never records, keys, terms, prompts or results. A test can
 * then check that what the enclave saw is uniform and that fewer than threshold shares reveal nothing.
 *
 * Under any other provider (Nitro) the variable is refused: `captureSinkFromEnv` throws CaptureConfigError
 * and the process does not start (main.ts exits 2), so a measured production enclave can never be talked
 * into writing what it received to disk.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { UnmaskRequest } from '@tenzro/protocol';

export const CAPTURE_DIR_ENV = 'TENZRO_ENCLAVE_CAPTURE_DIR';
export const SECAGG_CAPTURE_TYPE = 'tenzro.enclave.secagg-capture/v1';

export interface CapturedMaskedInput {
  partyId: string;
  /** base64url of the ring vector bytes (little-endian uint32 words), as the party sent it. */
  maskedInput: string;
}

export interface CapturedShare {
  /** The party whose secret the share is of. */
  of: string;
  /** The survivor that revealed it. */
  from: string;
  kind: 'self-mask' | 'pairwise-key';
  /** base64url of the 66-byte Shamir share y (its x is the 1-based roster index of `from`). */
  share: string;
}

export interface SecAggCapture {
  type: typeof SECAGG_CAPTURE_TYPE;
  sessionId: string;
  runId: string;
  /** The stage-3 request the enclave derived (null when it stopped before deriving one). */
  request: UnmaskRequest | null;
  maskedInputs: CapturedMaskedInput[];
  shares: CapturedShare[];
  /** base64url of the ring bytes of the unmasked sum (null when no sum was computed). */
  sum: string | null;
}

export class CaptureConfigError extends Error {
  readonly code = 'capture_refused' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CaptureConfigError';
  }
}

/** Writes captures, one file per run: `secagg-<sessionId>-<hash of runId>.json` (mode 0600). */
export class CaptureSink {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  static fileNameOf(sessionId: string, runId: string): string {
    const safe = runId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
    const tag = createHash('sha256').update(runId).digest('hex').slice(0, 12);
    return `secagg-${sessionId}-${safe}-${tag}.json`;
  }

  async write(capture: SecAggCapture): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, CaptureSink.fileNameOf(capture.sessionId, capture.runId));
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(capture), { mode: 0o600 });
    await rename(temporary, path);
    return path;
  }
}

/**
 * The capture sink the environment asks for: undefined when the variable is unset or empty; a sink under
 * the simulated provider; CaptureConfigError under any other provider.
 */
export function captureSinkFromEnv(env: Record<string, string | undefined>, provider: 'simulated' | 'nitro'): CaptureSink | undefined {
  const dir = env[CAPTURE_DIR_ENV];
  if (dir === undefined || dir === '') return undefined;
  if (provider !== 'simulated') {
    throw new CaptureConfigError(`${CAPTURE_DIR_ENV} is only honoured by the simulated provider; refusing to start under ${provider}`);
  }
  return new CaptureSink(dir);
}
