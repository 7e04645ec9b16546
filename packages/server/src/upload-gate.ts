/**
 * Bounds the uploads in progress on this instance — streaming, then being verified by the enclave; beyond
 * the bound a caller is told to come back (429 + Retry-After).
 */
import { TenzroError } from '@tenzro/protocol';

export const UPLOAD_RETRY_AFTER_SECONDS = 2;

export class UploadGate {
  readonly limit: number;
  #inFlight = 0;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    this.limit = limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `task` holding one slot, or refuses with rate_limited when none is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.limit) {
      throw new TenzroError('rate_limited', `too many uploads in progress; retry in ${UPLOAD_RETRY_AFTER_SECONDS} s`);
    }
    this.#inFlight++;
    try {
      return await task();
    } finally {
      this.#inFlight--;
    }
  }
}
