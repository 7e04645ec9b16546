// Merkle trees of RFC 9162 §2.1 (Certificate Transparency v2; the same hashing as RFC 6962) with SHA-256:
// tree heads, inclusion proofs and consistency proofs, and their verification.
//
//   MTH({})        = SHA-256()                                        (§2.1.1)
//   MTH({d(0)})    = SHA-256(0x00 || d(0))                 leafHash()
//   MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  nodeHash(), k = largest power of 2 < n
//
// Functions here take leaf *hashes* (leafHash(data)), so callers can store 32 bytes per entry.
//
// Consistency policy (the one of transparency-dev/merkle, whose test data this module replays):
// - size1 == 0 is rejected: a proof from the empty tree proves nothing, and RFC 9162 §2.1.4.2 cannot be
//   run from it. consistencyProof() throws a RangeError and verifyConsistency() returns false.
// - size1 == size2 is consistent exactly when the proof is empty and root1 equals root2 (RFC 9162's
//   algorithm would fail on the empty path; RFC 6962 practice accepts it).
// Verification returns false, never throws, for any mismatch or malformed value (wrong hash length,
// index out of range); only arguments of the wrong JavaScript type are TypeErrors.

import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, equalBytes } from './encoding.js';

export const MERKLE_HASH_LENGTH = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** RFC 9162 §2.1.1: the hash of a leaf, SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  const input = new Uint8Array(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return sha256(input);
}

/** RFC 9162 §2.1.1: the hash of an interior node, SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytes(left, 'left');
  assertBytes(right, 'right');
  return hashChildren(left, right);
}

function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

function assertLeafHashes(leafHashes: unknown): asserts leafHashes is Uint8Array[] {
  if (!Array.isArray(leafHashes)) throw new TypeError('leafHashes must be an array of Uint8Array');
  for (let i = 0; i < leafHashes.length; i++) {
    const hash: unknown = leafHashes[i];
    if (!(hash instanceof Uint8Array)) throw new TypeError(`leafHashes[${i}] must be a Uint8Array`);
    if (hash.length !== MERKLE_HASH_LENGTH) throw new RangeError(`leafHashes[${i}] must be ${MERKLE_HASH_LENGTH} bytes, got ${hash.length}`);
  }
}

/** Largest power of two strictly less than n (n ≥ 2): the split point k of §2.1.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[lo:hi]) over leaf hashes; bottom-up, which is the same tree as §2.1.1's recursion. */
function subtreeRoot(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return leaves[lo]!;
  let level: Uint8Array[] = leaves.slice(lo, hi);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!); // a lone right node moves up as is
    level = next;
  }
  return level[0]!;
}

/** RFC 9162 §2.1.1 Merkle Tree Hash of the leaves (SHA-256 of the empty string for no leaves). */
export function merkleRoot(leafHashes: Uint8Array[]): Uint8Array {
  assertLeafHashes(leafHashes);
  if (leafHashes.length === 0) return sha256(new Uint8Array(0));
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

function assertIndex(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/** A half-open leaf range [start, end) whose Merkle Tree Hash a proof lists. */
export type MerkleRange = readonly [start: number, end: number];

/**
 * RFC 9162 §2.1.3.1: the subtrees the inclusion proof PATH(m, D[n]) lists, leaf-first, as leaf ranges.
 *   PATH(0, {d(0)}) = {}
 *   PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])        for m < k
 *   PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])    for m >= k
 * The one place the recursion is written: `inclusionProof` hashes the ranges from a leaf array, the
 * incremental log (`merkle-log.ts`) from stored nodes. Requires 0 <= index < size.
 */
export function inclusionProofRanges(index: number, size: number): MerkleRange[] {
  const ranges: MerkleRange[] = [];
  let lo = 0;
  let hi = size;
  let m = index;
  // Walk down from the root; the sibling subtrees are collected root-first, so reverse at the end.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      m -= k;
    }
  }
  return ranges.reverse();
}

/**
 * RFC 9162 §2.1.4.1: the subtrees the consistency proof PROOF(m, D[n]) = SUBPROOF(m, D[n], true) lists,
 * as leaf ranges, in proof order.
 *   SUBPROOF(m, D[m], true)  = {}
 *   SUBPROOF(m, D[m], false) = {MTH(D[m])}
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])         for m <= k
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  for m > k
 * Requires 0 < size1 <= size2.
 */
export function consistencyProofRanges(size1: number, size2: number): MerkleRange[] {
  const ranges: MerkleRange[] = [];
  let lo = 0;
  let hi = size2;
  let m = size1;
  let b = true;
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      m -= k;
      b = false;
    }
  }
  if (!b) ranges.push([lo, hi]);
  return ranges.reverse();
}

/** RFC 9162 §2.1.3.1: the inclusion proof for leaf `index` in the tree of all `leafHashes`. */
export function inclusionProof(leafHashes: Uint8Array[], index: number): Uint8Array[] {
  assertLeafHashes(leafHashes);
  assertIndex(index, 'index');
  if (index >= leafHashes.length) throw new RangeError(`index ${index} is outside a tree of ${leafHashes.length} leaves`);
  return inclusionProofRanges(index, leafHashes.length).map(([lo, hi]) => subtreeRoot(leafHashes, lo, hi));
}

/**
 * RFC 9162 §2.1.4.1: the consistency proof between the tree of the first `size1` leaves and the tree of
 * the first `size2` leaves. size1 must satisfy 0 < size1 <= size2 <= leafHashes.length (size1 == 0 is
 * refused, see the header).
 */
export function consistencyProof(leafHashes: Uint8Array[], size1: number, size2: number): Uint8Array[] {
  assertLeafHashes(leafHashes);
  assertIndex(size1, 'size1');
  assertIndex(size2, 'size2');
  if (size2 > leafHashes.length) throw new RangeError(`size2 ${size2} exceeds the ${leafHashes.length} leaves given`);
  if (size1 > size2) throw new RangeError(`size1 ${size1} exceeds size2 ${size2}`);
  if (size1 === 0) throw new RangeError('size1 must be at least 1: a consistency proof from the empty tree proves nothing');
  return consistencyProofRanges(size1, size2).map(([lo, hi]) => subtreeRoot(leafHashes, lo, hi));
}

function isHash(value: Uint8Array): boolean {
  return value.length === MERKLE_HASH_LENGTH;
}

function assertProof(proof: unknown): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw new TypeError('proof must be an array of Uint8Array');
  for (let i = 0; i < proof.length; i++) if (!(proof[i] instanceof Uint8Array)) throw new TypeError(`proof[${i}] must be a Uint8Array`);
}

function assertNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
}

const isValidSize = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const odd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

export interface InclusionCheck {
  leafHash: Uint8Array;
  index: number;
  treeSize: number;
  proof: Uint8Array[];
  root: Uint8Array;
}

/** RFC 9162 §2.1.3.2: verifies an inclusion proof. Returns false for any mismatch or malformed value. */
export function verifyInclusion(check: InclusionCheck): boolean {
  if (typeof check !== 'object' || check === null) throw new TypeError('check must be an object');
  const { leafHash: hash, index, treeSize, proof, root } = check;
  assertBytes(hash, 'leafHash');
  assertBytes(root, 'root');
  assertNumber(index, 'index');
  assertNumber(treeSize, 'treeSize');
  assertProof(proof);
  if (!isValidSize(index) || !isValidSize(treeSize) || !isHash(hash) || !isHash(root) || !proof.every(isHash)) return false;
  // 1. Compare leaf_index from the inclusion_proof with tree_size. If leaf_index is greater than or
  //    equal to tree_size, then fail the proof verification.
  if (index >= treeSize) return false;
  // 2. Set fn to leaf_index and sn to tree_size - 1.
  let fn = index;
  let sn = treeSize - 1;
  // 3. Set r to hash.
  let r = hash;
  // 4. For each value p in the inclusion_path array:
  for (const p of proof) {
    //  a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) return false;
    //  b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (odd(fn) || fn === sn) {
      //   1. Set r to HASH(0x01 || p || r).
      r = hashChildren(p, r);
      //   2. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is
      //      set or fn is 0.
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      //   Otherwise: Set r to HASH(0x01 || r || p).
      r = hashChildren(r, p);
    }
    //  c. Finally, right-shift both fn and sn one time.
    fn = half(fn);
    sn = half(sn);
  }
  // 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the root_hash
  //    are equal, then the log has proven the inclusion of hash. Otherwise, fail the proof verification.
  return sn === 0 && equalBytes(r, root);
}

export interface ConsistencyCheck {
  size1: number;
  size2: number;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: Uint8Array[];
}

/** RFC 9162 §2.1.4.2: verifies a consistency proof (with the size policy in the module header). */
export function verifyConsistency(check: ConsistencyCheck): boolean {
  if (typeof check !== 'object' || check === null) throw new TypeError('check must be an object');
  const { size1, size2, root1, root2, proof } = check;
  assertNumber(size1, 'size1');
  assertNumber(size2, 'size2');
  assertBytes(root1, 'root1');
  assertBytes(root2, 'root2');
  assertProof(proof);
  if (!isValidSize(size1) || !isValidSize(size2) || !isHash(root1) || !isHash(root2) || !proof.every(isHash)) return false;
  // Policy checks before the RFC algorithm (module header).
  if (size1 > size2) return false;
  if (size1 === 0) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  // 1. If consistency_path is an empty array, stop and fail the proof verification.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // 3. Set fn to first - 1 and sn to second - 1.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. Set both fr and sr to the first value in the consistency_path array.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6. For each subsequent value c in the consistency_path array:
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    //  a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) return false;
    //  b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (odd(fn) || fn === sn) {
      //   1. Set fr to HASH(0x01 || c || fr). Set sr to HASH(0x01 || c || sr).
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      //   2. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is
      //      set or fn is 0.
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      //   Otherwise: Set sr to HASH(0x01 || sr || c).
      sr = hashChildren(sr, c);
    }
    //  c. Finally, right-shift both fn and sn one time.
    fn = half(fn);
    sn = half(sn);
  }
  // 7. After completing iterating through the consistency_path array as described above, verify that
  //    the fr calculated is equal to the first_hash supplied, that the sr calculated is equal to the
  //    second_hash supplied, and that sn is 0.
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}
