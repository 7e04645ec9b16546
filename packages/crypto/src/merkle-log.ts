// An incremental, append-only RFC 9162 §2.1 Merkle log: tree heads, inclusion proofs and consistency
// proofs for any past size, computed from stored perfect-subtree nodes instead of the full leaf array.
//
// Node addressing. node(level, index) is MTH(D[index·2^level : (index+1)·2^level]), the RFC 9162 hash of
// a perfect subtree; level 0 holds the leaf hashes. Node (level, index) exists once the log holds
// (index+1)·2^level leaves and never changes afterwards, so a store only ever inserts. Appending leaf i
// completes exactly the nodes whose range ends at i+1: one per level l with 2^l dividing i+1.
//
// Every MTH(D[start:end]) the RFC recursion asks for has `start` aligned to the largest power of two
// ≤ end−start; it is then the fold, right to left, of the perfect nodes of the binary decomposition of
// end−start (largest first): MTH = nodeHash(N_1, nodeHash(N_2, … N_k)). So:
//   rootAt(n)                  reads popcount(n) ≤ log2(n)+1 nodes,
//   inclusionProofAt(m, n)     reads ≤ 2·log2(n) nodes (at most one sibling is not perfect),
//   consistencyProofAt(m, n)   reads ≤ 2·log2(n)+1 nodes,
// each in ONE `readNodes` call, well within the O(log² n) budget. Proofs are exactly RFC 9162 §2.1.3.1
// PATH and §2.1.4.1 PROOF, equal to merkle.ts's inclusionProof / consistencyProof over the same leaves,
// and verify with its verifyInclusion / verifyConsistency. The consistency size policy is merkle.ts's:
// size1 = 0 is refused, size1 = size2 gives the empty proof.
//
// MerkleNodeReader is batched and asynchronous so a database can back it; InMemoryMerkleLog is the
// reference store (one growable Uint8Array per level, 32 bytes a node) with synchronous proofs.

import { sha256 } from './hash.js';
import { MERKLE_HASH_LENGTH, consistencyProofRanges, inclusionProofRanges, nodeHash, type MerkleRange } from './merkle.js';

/** Address of a perfect-subtree node: the hash of leaves [index·2^level, (index+1)·2^level). */
export interface MerkleNodeKey {
  level: number;
  index: number;
}

/** A stored node: its address and its 32-byte hash. */
export interface MerkleNode extends MerkleNodeKey {
  hash: Uint8Array;
}

/** Reads stored nodes; resolves to one 32-byte hash per key, in the order of `keys`. */
export interface MerkleNodeReader {
  readNodes(keys: MerkleNodeKey[]): Promise<Uint8Array[]>;
}

/** Raised when a MerkleNodeReader fails or answers with something other than one hash per key. */
export class MerkleNodeReadError extends Error {
  readonly code = 'merkle_node_read_failed' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MerkleNodeReadError';
  }
}

const EMPTY_ROOT = sha256(new Uint8Array(0));

// ---- arithmetic on safe integers (no 32-bit bit operations: sizes may exceed 2^32) ----

function assertCount(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

function assertHash(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== MERKLE_HASH_LENGTH) throw new RangeError(`${name} must be ${MERKLE_HASH_LENGTH} bytes, got ${value.length}`);
}

function assertReader(reader: unknown): asserts reader is MerkleNodeReader {
  if (typeof reader !== 'object' || reader === null || typeof (reader as MerkleNodeReader).readNodes !== 'function') {
    throw new TypeError('reader must be a MerkleNodeReader (an object with readNodes(keys))');
  }
}

/** floor(log2(x)) for a safe integer x ≥ 1. */
function floorLog2(x: number): number {
  if (x < 0x1_0000_0000) return 31 - Math.clz32(x);
  let level = 32;
  while (2 ** (level + 1) <= x) level++;
  return level;
}

/** The number of trailing zero bits of a safe integer x ≥ 1. */
function trailingZeros(x: number): number {
  let zeros = 0;
  while (x % 2 === 0) {
    x /= 2;
    zeros++;
  }
  return zeros;
}

// ---- plans: which nodes an answer needs, and how to build the answer from them ----

/** A half-open leaf range [start, end) whose MTH a plan needs; start is aligned (see the header). */
type Range = MerkleRange;

interface Plan<T> {
  keys: MerkleNodeKey[];
  finish(hashes: Uint8Array[]): T;
}

/** Appends the perfect nodes of MTH(D[start:end]) to `keys`, largest first; returns how many. */
function decompose(start: number, end: number, keys: MerkleNodeKey[]): number {
  let pos = start;
  let count = 0;
  while (pos < end) {
    const level = floorLog2(end - pos);
    const width = 2 ** level;
    keys.push({ level, index: pos / width });
    pos += width;
    count++;
  }
  return count;
}

/** MTH of one range from its decomposition's hashes hashes[from .. from+count). */
function fold(hashes: Uint8Array[], from: number, count: number): Uint8Array {
  let hash = hashes[from + count - 1]!;
  for (let i = from + count - 2; i >= from; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}

/** A plan for the MTH of each (non-empty, aligned) range, in order. */
function rangesPlan(ranges: readonly Range[]): Plan<Uint8Array[]> {
  const keys: MerkleNodeKey[] = [];
  const counts = ranges.map(([start, end]) => decompose(start, end, keys));
  return {
    keys,
    finish(hashes) {
      const out: Uint8Array[] = [];
      let from = 0;
      for (const count of counts) {
        out.push(fold(hashes, from, count));
        from += count;
      }
      return out;
    },
  };
}

function rootPlan(size: number): Plan<Uint8Array> {
  if (size === 0) return { keys: [], finish: () => EMPTY_ROOT.slice() };
  const plan = rangesPlan([[0, size]]);
  return { keys: plan.keys, finish: (hashes) => plan.finish(hashes)[0]! };
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the ranges come from merkle.ts, the hashes from stored nodes. */
function inclusionPlan(index: number, size: number): Plan<Uint8Array[]> {
  return rangesPlan(inclusionProofRanges(index, size));
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): the ranges come from merkle.ts, the hashes from stored nodes. */
function consistencyPlan(size1: number, size2: number): Plan<Uint8Array[]> {
  return rangesPlan(consistencyProofRanges(size1, size2));
}

function appendPlan(leafIndex: number, hash: Uint8Array): Plan<MerkleNode[]> {
  const end = leafIndex + 1;
  const completed = trailingZeros(end); // levels 1..completed are completed besides level 0
  const keys: MerkleNodeKey[] = [];
  for (let level = 0; level < completed; level++) keys.push({ level, index: end / 2 ** level - 2 });
  return {
    keys,
    finish(lefts) {
      let current: Uint8Array = hash.slice();
      const nodes: MerkleNode[] = [{ level: 0, index: leafIndex, hash: current }];
      for (let level = 0; level < completed; level++) {
        current = nodeHash(lefts[level]!, current);
        nodes.push({ level: level + 1, index: end / 2 ** (level + 1) - 1, hash: current });
      }
      return nodes;
    },
  };
}

function checkInclusionArgs(index: unknown, size: unknown): asserts index is number {
  assertCount(index, 'index');
  assertCount(size, 'size');
  if (index >= size) throw new RangeError(`index ${index} is outside a tree of ${size} leaves`);
}

function checkConsistencyArgs(size1: unknown, size2: unknown): asserts size1 is number {
  assertCount(size1, 'size1');
  assertCount(size2, 'size2');
  if (size1 > size2) throw new RangeError(`size1 ${size1} exceeds size2 ${size2}`);
  if (size1 === 0) throw new RangeError('size1 must be at least 1: a consistency proof from the empty tree proves nothing');
}

// ---- the asynchronous entries over any MerkleNodeReader ----

async function run<T>(reader: MerkleNodeReader, plan: Plan<T>): Promise<T> {
  if (plan.keys.length === 0) return plan.finish([]);
  let hashes: unknown;
  try {
    hashes = await reader.readNodes(plan.keys.map((key) => ({ ...key })));
  } catch (cause) {
    throw new MerkleNodeReadError(`reading ${plan.keys.length} Merkle nodes failed`, { cause });
  }
  if (!Array.isArray(hashes) || hashes.length !== plan.keys.length) {
    throw new MerkleNodeReadError(`readNodes must resolve to ${plan.keys.length} hashes, one per key`);
  }
  for (let i = 0; i < hashes.length; i++) {
    const hash: unknown = hashes[i];
    if (!(hash instanceof Uint8Array) || hash.length !== MERKLE_HASH_LENGTH) {
      const { level, index } = plan.keys[i]!;
      throw new MerkleNodeReadError(`readNodes gave no ${MERKLE_HASH_LENGTH}-byte hash for node (level ${level}, index ${index})`);
    }
  }
  return plan.finish(hashes as Uint8Array[]);
}

/**
 * The nodes to persist when appending leaf `leafIndex` (whose hash is `leafHash`) to a log holding
 * `leafIndex` leaves: the leaf itself at level 0, then each perfect node its append completes, bottom-up.
 * Reads the left siblings (one readNodes call, none when leafIndex is even).
 */
export async function completedNodes(reader: MerkleNodeReader, leafIndex: number, leafHash: Uint8Array): Promise<MerkleNode[]> {
  assertReader(reader);
  assertCount(leafIndex, 'leafIndex');
  if (leafIndex + 1 > Number.MAX_SAFE_INTEGER) throw new RangeError(`leafIndex ${leafIndex} is too large`);
  assertHash(leafHash, 'leafHash');
  return run(reader, appendPlan(leafIndex, leafHash));
}

/**
 * RFC 9162 MTH(D[start:end]) from perfect nodes (SHA-256 of the empty string when start = end). `start`
 * must be a multiple of the largest power of two ≤ end − start, as every range of the RFC recursion is.
 */
export async function subtreeHash(reader: MerkleNodeReader, start: number, end: number): Promise<Uint8Array> {
  assertReader(reader);
  assertCount(start, 'start');
  assertCount(end, 'end');
  if (end < start) throw new RangeError(`end ${end} is before start ${start}`);
  if (end === start) return EMPTY_ROOT.slice();
  const alignment = 2 ** floorLog2(end - start);
  if (start % alignment !== 0) throw new RangeError(`start ${start} must be a multiple of ${alignment} for a subtree of ${end - start} leaves`);
  const plan = rangesPlan([[start, end]]);
  return run(reader, { keys: plan.keys, finish: (hashes) => plan.finish(hashes)[0]! });
}

/** RFC 9162 §2.1.1 tree head of the first `size` leaves (SHA-256 of the empty string for 0). */
export async function rootAt(reader: MerkleNodeReader, size: number): Promise<Uint8Array> {
  assertReader(reader);
  assertCount(size, 'size');
  return run(reader, rootPlan(size));
}

/** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size` leaves. */
export async function inclusionProofAt(reader: MerkleNodeReader, index: number, size: number): Promise<Uint8Array[]> {
  assertReader(reader);
  checkInclusionArgs(index, size);
  return run(reader, inclusionPlan(index, size));
}

/** RFC 9162 §2.1.4.1 consistency proof between the trees of `size1` and `size2` leaves (0 < size1 ≤ size2). */
export async function consistencyProofAt(reader: MerkleNodeReader, size1: number, size2: number): Promise<Uint8Array[]> {
  assertReader(reader);
  checkConsistencyArgs(size1, size2);
  return run(reader, consistencyPlan(size1, size2));
}

// ---- the in-memory log ----

const INITIAL_CAPACITY = 64; // nodes per level before the first growth

/**
 * An append-only Merkle log held in memory: level l is one Uint8Array of 32-byte nodes, grown by
 * doubling, so n leaves take about 2·32·n bytes. Proofs and roots are synchronous; readNodes serves the
 * generic functions above (and anything else that wants a MerkleNodeReader). Values handed out are copies.
 */
export class InMemoryMerkleLog implements MerkleNodeReader {
  #size = 0;
  readonly #levels: Uint8Array[] = [];

  /** Number of leaves appended. */
  get size(): number {
    return this.#size;
  }

  /** Appends a leaf hash (leafHash(data), 32 bytes); returns its index. */
  append(leafHash: Uint8Array): number {
    assertHash(leafHash, 'leafHash');
    const index = this.#size;
    if (index + 1 > Number.MAX_SAFE_INTEGER) throw new RangeError('the log is full');
    for (const node of this.#runSync(appendPlan(index, leafHash))) this.#store(node);
    this.#size = index + 1;
    return index;
  }

  /** RFC 9162 tree head of the first `size` leaves (default: all of them). */
  root(size: number = this.#size): Uint8Array {
    this.#assertSize(size, 'size');
    return this.#runSync(rootPlan(size));
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves (default: all). */
  inclusionProof(index: number, size: number = this.#size): Uint8Array[] {
    this.#assertSize(size, 'size');
    checkInclusionArgs(index, size);
    return this.#runSync(inclusionPlan(index, size));
  }

  /** RFC 9162 §2.1.4.1 consistency proof between the trees of `size1` and `size2` leaves (default: all). */
  consistencyProof(size1: number, size2: number = this.#size): Uint8Array[] {
    this.#assertSize(size2, 'size2');
    checkConsistencyArgs(size1, size2);
    return this.#runSync(consistencyPlan(size1, size2));
  }

  /** MerkleNodeReader: the stored nodes; rejects with a RangeError for a node the log does not hold yet. */
  async readNodes(keys: MerkleNodeKey[]): Promise<Uint8Array[]> {
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array of { level, index }');
    return keys.map((key, i) => {
      if (typeof key !== 'object' || key === null) throw new TypeError(`keys[${i}] must be an object { level, index }`);
      assertCount(key.level, `keys[${i}].level`);
      assertCount(key.index, `keys[${i}].index`);
      return this.#node(key.level, key.index, `keys[${i}]`);
    });
  }

  #assertSize(size: unknown, name: string): asserts size is number {
    assertCount(size, name);
    if (size > this.#size) throw new RangeError(`${name} ${size} exceeds the log's ${this.#size} leaves`);
  }

  #runSync<T>(plan: Plan<T>): T {
    return plan.finish(plan.keys.map(({ level, index }) => this.#node(level, index, 'node')));
  }

  #node(level: number, index: number, name: string): Uint8Array {
    const count = level < 53 ? Math.floor(this.#size / 2 ** level) : 0;
    if (index >= count) throw new RangeError(`${name} (level ${level}, index ${index}) is not in a log of ${this.#size} leaves`);
    const offset = index * MERKLE_HASH_LENGTH;
    return this.#levels[level]!.slice(offset, offset + MERKLE_HASH_LENGTH);
  }

  #store({ level, index, hash }: MerkleNode): void {
    let buffer = this.#levels[level];
    const needed = (index + 1) * MERKLE_HASH_LENGTH;
    if (buffer === undefined || buffer.length < needed) {
      const nodes = Math.max(INITIAL_CAPACITY, 2 * (buffer?.length ?? 0) / MERKLE_HASH_LENGTH, index + 1);
      const grown = new Uint8Array(nodes * MERKLE_HASH_LENGTH);
      if (buffer !== undefined) grown.set(buffer);
      this.#levels[level] = buffer = grown;
    }
    buffer.set(hash, index * MERKLE_HASH_LENGTH);
  }
}

