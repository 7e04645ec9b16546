/**
 * "The enclave stopped under this request": the refusal a request gets when its enclave process (or the
 * enclave worker relaying to it) went away before answering. Unlike a timeout or a refusal, the request
 * may simply be sent again to an enclave that is up — the run worker requeues a run that failed this way.
 */
import { TenzroError } from '@tenzro/protocol';

const LOST = Symbol('enclaveLost');

export function enclaveLost(message: string): TenzroError {
  return Object.assign(new TenzroError('enclave_unavailable', message), { [LOST]: true });
}

export function isEnclaveLost(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { [LOST]?: unknown })[LOST] === true;
}
