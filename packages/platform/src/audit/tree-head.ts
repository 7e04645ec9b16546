/**
 * Signed tree heads of the audit log (issue 3): the log signs `JCS(treeHead)` with its Ed25519 key
 * (`signStatement`), and a client accepts a new head only if it is consistent with the last one it saw
 * (RFC 9162 §2.1.4: the old tree is a prefix of the new one). Pure functions; the client fetches.
 */
import { equalBytes, fromBase64Url, verifyConsistency, verifyStatement } from '@tenzro/crypto';
import { logIdOf, type SignedTreeHead } from '@tenzro/protocol';

/** Whether `signedTreeHead` is signed by the log whose public key is `logPublicKey` and names that log. */
export function verifyTreeHeadSignature(signedTreeHead: SignedTreeHead, logPublicKey: Uint8Array): boolean {
  if (typeof signedTreeHead !== 'object' || signedTreeHead === null) throw new TypeError('signedTreeHead must be a SignedTreeHead');
  if (!(logPublicKey instanceof Uint8Array)) throw new TypeError('logPublicKey must be a Uint8Array');
  if (signedTreeHead.treeHead?.logId !== logIdOf(logPublicKey)) return false;
  const signature = decode(signedTreeHead.signature);
  return signature !== undefined && verifyStatement(logPublicKey, signedTreeHead.treeHead, signature);
}

/**
 * How a new head relates to the previous one:
 * - `first`: there is no previous head (the new one is trusted on first use);
 * - `same`: same size, same root;
 * - `extends`: larger, and the consistency proof verifies;
 * - `fork`: same size, different roots — two histories signed by one log;
 * - `rollback`: smaller than a head already seen;
 * - `inconsistent`: larger, but the proof is missing or does not verify.
 */
export type TreeHeadComparison =
  | { status: 'first' | 'same' | 'extends'; detail: string }
  | { status: 'fork' | 'rollback' | 'inconsistent'; detail: string };

export function isConsistent(comparison: TreeHeadComparison): boolean {
  return comparison.status === 'first' || comparison.status === 'same' || comparison.status === 'extends';
}

/**
 * Compares `current` with `previous`. `proof` is the host's consistency proof (base64url hashes) from
 * `previous.treeSize` to `current.treeSize`; it is only read when the new head is larger. Neither head's
 * signature is checked here.
 */
export function compareTreeHeads(
  previous: SignedTreeHead | undefined,
  current: SignedTreeHead,
  proof: readonly string[] | undefined,
): TreeHeadComparison {
  const next = current.treeHead;
  if (previous === undefined) return { status: 'first', detail: `no earlier head of this log was seen; size ${next.treeSize} remembered` };
  const last = previous.treeHead;
  const lastRoot = decode(last.rootHash);
  const nextRoot = decode(next.rootHash);
  if (lastRoot === undefined || nextRoot === undefined) return { status: 'inconsistent', detail: 'a tree head root is not base64url' };
  if (next.treeSize === last.treeSize) {
    return equalBytes(lastRoot, nextRoot)
      ? { status: 'same', detail: `same size ${next.treeSize} and root as the head seen before` }
      : { status: 'fork', detail: `two heads of size ${next.treeSize} with different roots (${last.rootHash} seen before, now ${next.rootHash})` };
  }
  if (next.treeSize < last.treeSize) {
    return { status: 'rollback', detail: `the head has size ${next.treeSize}, smaller than the size ${last.treeSize} seen before` };
  }
  // Every tree extends the empty one.
  if (last.treeSize === 0) return { status: 'extends', detail: `size 0 → ${next.treeSize}` };
  if (proof === undefined) return { status: 'inconsistent', detail: `no consistency proof from size ${last.treeSize} to ${next.treeSize}` };
  const hashes = proof.map(decode);
  if (hashes.some((hash) => hash === undefined)) return { status: 'inconsistent', detail: 'the consistency proof is not base64url' };
  const ok = verifyConsistency({
    size1: last.treeSize,
    size2: next.treeSize,
    root1: lastRoot,
    root2: nextRoot,
    proof: hashes as Uint8Array[],
  });
  return ok
    ? { status: 'extends', detail: `size ${last.treeSize} → ${next.treeSize}, consistency proof verified` }
    : { status: 'inconsistent', detail: `the consistency proof from size ${last.treeSize} to ${next.treeSize} does not verify: the log rewrote its history` };
}

function decode(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text, 'hash');
  } catch {
    return undefined;
  }
}
