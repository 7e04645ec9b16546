// The incremental RFC 9162 §2.1 Merkle log (merkle-log.ts) against merkle.ts, the reference
// implementation over full leaf arrays: roots and proofs for every (index, size) and (size1, size2) up to
// 64 leaves, the published reference tree, a Map-backed asynchronous store built with completedNodes,
// random spot checks up to 5000 leaves, read batching and argument errors.
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { fromHex, toHex, utf8Encode } from './encoding.js';
import {
  InMemoryMerkleLog,
  MerkleNodeReadError,
  completedNodes,
  consistencyProofAt,
  inclusionProofAt,
  rootAt,
  subtreeHash,
  type MerkleNodeKey,
  type MerkleNodeReader,
} from './merkle-log.js';
import { consistencyProof, inclusionProof, leafHash, merkleRoot, verifyConsistency, verifyInclusion } from './merkle.js';

interface ReferenceTree {
  leaf_inputs: string[];
  node_hashes_by_level: Record<string, string[]>;
  root_hash_by_tree_size: Record<string, string>;
}

const keyOf = ({ level, index }: MerkleNodeKey) => `${level}/${index}`;

/** A store as a database would keep it: a map from (level, index) to hash, read asynchronously. */
class MapReader implements MerkleNodeReader {
  readonly nodes = new Map<string, Uint8Array>();
  calls: MerkleNodeKey[][] = [];
  async readNodes(keys: MerkleNodeKey[]): Promise<Uint8Array[]> {
    this.calls.push(keys);
    await Promise.resolve();
    return keys.map((key) => {
      const hash = this.nodes.get(keyOf(key));
      if (!hash) throw new Error(`missing node ${keyOf(key)}`);
      return hash;
    });
  }
}

/** Appends through completedNodes, the way a database-backed log would. */
async function appendAll(store: MapReader, leaves: Uint8Array[]): Promise<void> {
  for (let i = 0; i < leaves.length; i++) {
    for (const node of await completedNodes(store, i, leaves[i]!)) store.nodes.set(keyOf(node), node.hash);
  }
}

const makeLeaves = (n: number, tag = 'leaf') => Array.from({ length: n }, (_, i) => leafHash(utf8Encode(`${tag} ${i}`)));

function logOf(leaves: Uint8Array[]): InMemoryMerkleLog {
  const log = new InMemoryMerkleLog();
  for (const leaf of leaves) log.append(leaf);
  return log;
}

/** mulberry32: a small seeded generator, so failures reproduce. */
function seeded(seed: number): (max: number) => number {
  let a = seed >>> 0;
  return (max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  };
}

const hex = (hashes: Uint8Array[]) => hashes.map(toHex);

describe('RFC 9162 reference tree (transparency-dev) through the incremental log', () => {
  const tree = readVectorJson<ReferenceTree>('merkle/rfc6962_reference_tree.json');
  const leaves = tree.leaf_inputs.map((h) => leafHash(fromHex(h)));
  const log = logOf(leaves);

  it.each(Object.entries(tree.root_hash_by_tree_size))('root of the first %s leaves', async (size, root) => {
    expect(toHex(log.root(Number(size)))).toBe(root);
    expect(toHex(await rootAt(log, Number(size)))).toBe(root);
  });

  it('covers sizes 0..8, and size 0 is SHA-256 of the empty string', () => {
    expect(Object.keys(tree.root_hash_by_tree_size).map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(toHex(log.root(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('node(level, index) are the published node hashes by level', async () => {
    for (const [name, hashes] of Object.entries(tree.node_hashes_by_level)) {
      const level = Number(name.replace('level_', ''));
      const stored = await log.readNodes(hashes.map((_, index) => ({ level, index })));
      expect(hex(stored)).toEqual(hashes);
    }
  });
});

describe('every (index, size) and (size1, size2) up to 64 leaves equals merkle.ts', () => {
  const N = 64;
  const leaves = makeLeaves(N);
  const log = logOf(leaves);
  const store = new MapReader();

  it('builds the same nodes through completedNodes on an async store', async () => {
    await appendAll(store, leaves);
    const keys = [...store.nodes.keys()].map((k) => {
      const [level, index] = k.split('/').map(Number);
      return { level: level!, index: index! };
    });
    // 64 leaves: 64 + 32 + 16 + 8 + 4 + 2 + 1 perfect nodes.
    expect(keys).toHaveLength(127);
    expect(hex(await log.readNodes(keys))).toEqual(hex(keys.map((k) => store.nodes.get(keyOf(k))!)));
  });

  it('roots', async () => {
    for (let size = 0; size <= N; size++) {
      const want = toHex(merkleRoot(leaves.slice(0, size)));
      expect(toHex(log.root(size))).toBe(want);
      expect(toHex(await rootAt(store, size))).toBe(want);
    }
  });

  it('inclusion proofs (2080 pairs)', async () => {
    let pairs = 0;
    for (let size = 1; size <= N; size++) {
      const prefix = leaves.slice(0, size);
      const root = merkleRoot(prefix);
      for (let index = 0; index < size; index++) {
        const want = hex(inclusionProof(prefix, index));
        const proof = log.inclusionProof(index, size);
        expect(hex(proof)).toEqual(want);
        expect(hex(await inclusionProofAt(store, index, size))).toEqual(want);
        expect(verifyInclusion({ leafHash: leaves[index]!, index, treeSize: size, proof, root })).toBe(true);
        pairs++;
      }
    }
    expect(pairs).toBe(2080);
  });

  it('consistency proofs (2080 pairs)', async () => {
    let pairs = 0;
    for (let size2 = 1; size2 <= N; size2++) {
      const prefix = leaves.slice(0, size2);
      const root2 = merkleRoot(prefix);
      for (let size1 = 1; size1 <= size2; size1++) {
        const want = hex(consistencyProof(prefix, size1, size2));
        const proof = log.consistencyProof(size1, size2);
        expect(hex(proof)).toEqual(want);
        expect(hex(await consistencyProofAt(store, size1, size2))).toEqual(want);
        const root1 = merkleRoot(leaves.slice(0, size1));
        expect(verifyConsistency({ size1, size2, root1, root2, proof })).toBe(true);
        pairs++;
      }
    }
    expect(pairs).toBe(2080);
  });

  it('subtreeHash of every aligned range is MTH of those leaves', async () => {
    for (let start = 0; start < N; start++) {
      for (let end = start + 1; end <= N; end++) {
        const width = 2 ** Math.floor(Math.log2(end - start));
        if (start % width !== 0) {
          await expect(subtreeHash(store, start, end)).rejects.toThrow(RangeError);
          continue;
        }
        expect(toHex(await subtreeHash(store, start, end))).toBe(toHex(merkleRoot(leaves.slice(start, end))));
      }
    }
    expect(toHex(await subtreeHash(store, 5, 5))).toBe(toHex(merkleRoot([])));
  });

  it('defaults to the current size', () => {
    expect(log.size).toBe(N);
    expect(toHex(log.root())).toBe(toHex(merkleRoot(leaves)));
    expect(hex(log.inclusionProof(17))).toEqual(hex(inclusionProof(leaves, 17)));
    expect(hex(log.consistencyProof(17))).toEqual(hex(consistencyProof(leaves, 17, N)));
  });
});

describe('completedNodes', () => {
  it('returns the leaf and exactly the perfect nodes whose range ends at leafIndex + 1', async () => {
    const leaves = makeLeaves(300);
    const store = new MapReader();
    const log = new InMemoryMerkleLog();
    for (let i = 0; i < leaves.length; i++) {
      const nodes = await completedNodes(store, i, leaves[i]!);
      for (const node of nodes) store.nodes.set(keyOf(node), node.hash);
      expect(log.append(leaves[i]!)).toBe(i);
      const want = [];
      for (let level = 0; (i + 1) % 2 ** level === 0; level++) want.push({ level, index: (i + 1) / 2 ** level - 1 });
      expect(nodes.map(({ level, index }) => ({ level, index }))).toEqual(want);
      expect(hex(nodes.map((n) => n.hash))).toEqual(hex(await log.readNodes(want)));
      expect(toHex(nodes[0]!.hash)).toBe(toHex(leaves[i]!));
    }
    // One batched read per append that completes a level-1 node or more, none for the others.
    expect(store.calls).toHaveLength(150);
  });

  it('addresses nodes beyond 2^32 leaves without 32-bit arithmetic', async () => {
    const seen: MerkleNodeKey[] = [];
    const reader: MerkleNodeReader = {
      readNodes: async (keys) => {
        seen.push(...keys);
        return keys.map(() => new Uint8Array(32));
      },
    };
    const leafIndex = 2 ** 33 - 1; // completes levels 1..33
    const nodes = await completedNodes(reader, leafIndex, new Uint8Array(32).fill(7));
    expect(nodes).toHaveLength(34);
    expect(nodes.at(-1)).toMatchObject({ level: 33, index: 0 });
    expect(seen[0]).toEqual({ level: 0, index: 2 ** 33 - 2 });
    expect(seen[32]).toEqual({ level: 32, index: 0 });
    const root = await rootAt(reader, 2 ** 40 + 2 ** 33 + 5);
    expect(root).toHaveLength(32);
    expect(seen.slice(33)).toEqual([
      { level: 40, index: 0 },
      { level: 33, index: 2 ** 7 },
      { level: 2, index: (2 ** 40 + 2 ** 33) / 4 },
      { level: 0, index: 2 ** 40 + 2 ** 33 + 4 },
    ]);
  });
});

describe('larger logs: random spot checks against merkle.ts', () => {
  const random = seeded(9162);
  const leaves = makeLeaves(5000, 'spot');
  const log = logOf(leaves);

  it.each([1000, 1024, 1025, 2047, 3001, 4096, 4999, 5000])('size %i', async (size) => {
    const prefix = leaves.slice(0, size);
    const root = merkleRoot(prefix);
    expect(toHex(log.root(size))).toBe(toHex(root));
    expect(toHex(await rootAt(log, size))).toBe(toHex(root));
    for (let q = 0; q < 12; q++) {
      const index = q === 0 ? size - 1 : random(size);
      const proof = log.inclusionProof(index, size);
      expect(hex(proof)).toEqual(hex(inclusionProof(prefix, index)));
      expect(hex(await inclusionProofAt(log, index, size))).toEqual(hex(proof));
      expect(verifyInclusion({ leafHash: leaves[index]!, index, treeSize: size, proof, root })).toBe(true);

      const size1 = q === 0 ? size : 1 + random(size);
      const cproof = log.consistencyProof(size1, size);
      expect(hex(cproof)).toEqual(hex(consistencyProof(prefix, size1, size)));
      expect(hex(await consistencyProofAt(log, size1, size))).toEqual(hex(cproof));
      expect(verifyConsistency({ size1, size2: size, root1: log.root(size1), root2: root, proof: cproof })).toBe(true);
    }
  });

  it('reads each proof in one readNodes call of O(log n) nodes', async () => {
    const calls: number[] = [];
    const counting: MerkleNodeReader = {
      readNodes: (keys) => {
        calls.push(keys.length);
        return log.readNodes(keys);
      },
    };
    for (let q = 0; q < 200; q++) {
      const size = 1 + random(5000);
      const bound = 2 * Math.ceil(Math.log2(size)) + 1;
      calls.length = 0;
      await inclusionProofAt(counting, random(size), size);
      await consistencyProofAt(counting, 1 + random(size), size);
      await rootAt(counting, size);
      expect(calls.length).toBeLessThanOrEqual(3);
      for (const count of calls) expect(count).toBeLessThanOrEqual(bound);
    }
  });
});

describe('argument checks and reader failures', () => {
  const leaves = makeLeaves(10);
  const log = logOf(leaves);

  it('InMemoryMerkleLog names the argument', () => {
    expect(() => log.append(new Uint8Array(31))).toThrow(new RangeError('leafHash must be 32 bytes, got 31'));
    expect(() => log.append('x' as unknown as Uint8Array)).toThrow(new TypeError('leafHash must be a Uint8Array'));
    expect(() => log.root(11)).toThrow(new RangeError("size 11 exceeds the log's 10 leaves"));
    expect(() => log.root(-1)).toThrow(new RangeError('size must be a non-negative integer, got -1'));
    expect(() => log.root(1.5)).toThrow(RangeError);
    expect(() => log.root('3' as unknown as number)).toThrow(new TypeError('size must be a number'));
    expect(() => log.inclusionProof(10)).toThrow(new RangeError('index 10 is outside a tree of 10 leaves'));
    expect(() => log.inclusionProof(3, 3)).toThrow(new RangeError('index 3 is outside a tree of 3 leaves'));
    expect(() => log.inclusionProof(0, 0)).toThrow(RangeError);
    expect(() => log.inclusionProof(0, 11)).toThrow(new RangeError("size 11 exceeds the log's 10 leaves"));
    expect(() => log.consistencyProof(5, 4)).toThrow(new RangeError('size1 5 exceeds size2 4'));
    expect(() => log.consistencyProof(0, 4)).toThrow(/size1 must be at least 1/);
    expect(() => log.consistencyProof(1, 11)).toThrow(new RangeError("size2 11 exceeds the log's 10 leaves"));
    expect(log.size).toBe(10);
  });

  it('the generic functions name the argument', async () => {
    await expect(rootAt({} as MerkleNodeReader, 1)).rejects.toThrow(TypeError);
    await expect(rootAt(log, Number.NaN)).rejects.toThrow(/size must be a non-negative integer/);
    await expect(inclusionProofAt(log, 4, 4)).rejects.toThrow(new RangeError('index 4 is outside a tree of 4 leaves'));
    await expect(consistencyProofAt(log, 5, 4)).rejects.toThrow(new RangeError('size1 5 exceeds size2 4'));
    await expect(consistencyProofAt(log, 0, 4)).rejects.toThrow(RangeError);
    await expect(subtreeHash(log, 4, 3)).rejects.toThrow(new RangeError('end 3 is before start 4'));
    await expect(subtreeHash(log, 2, 6)).rejects.toThrow(new RangeError('start 2 must be a multiple of 4 for a subtree of 4 leaves'));
    await expect(completedNodes(log, -1, leaves[0]!)).rejects.toThrow(/leafIndex must be a non-negative integer/);
    await expect(completedNodes(log, 3, new Uint8Array(8))).rejects.toThrow(new RangeError('leafHash must be 32 bytes, got 8'));
  });

  it('size1 == size2 gives the empty proof, as merkle.ts', async () => {
    expect(log.consistencyProof(7, 7)).toEqual([]);
    expect(await consistencyProofAt(log, 10, 10)).toEqual([]);
  });

  it('a node the store lacks, a failing reader or a malformed answer is a MerkleNodeReadError', async () => {
    const missing = rootAt(log, 12);
    await expect(missing).rejects.toThrow(MerkleNodeReadError);
    await expect(missing).rejects.toMatchObject({ code: 'merkle_node_read_failed', cause: expect.any(RangeError) });
    const short: MerkleNodeReader = { readNodes: async (keys) => keys.slice(1).map(() => new Uint8Array(32)) };
    await expect(inclusionProofAt(short, 0, 9)).rejects.toThrow(/readNodes must resolve to 4 hashes/);
    const badHash: MerkleNodeReader = { readNodes: async (keys) => keys.map(() => new Uint8Array(31)) };
    await expect(rootAt(badHash, 3)).rejects.toThrow(/no 32-byte hash for node \(level 1, index 0\)/);
    const failing: MerkleNodeReader = { readNodes: async () => Promise.reject(new Error('database down')) };
    await expect(completedNodes(failing, 1, leaves[1]!)).rejects.toMatchObject({ code: 'merkle_node_read_failed', cause: new Error('database down') });
  });

  it('readNodes checks its keys and hands out copies', async () => {
    await expect(log.readNodes([{ level: 0, index: 10 }])).rejects.toThrow(/not in a log of 10 leaves/);
    await expect(log.readNodes([{ level: 4, index: 0 }])).rejects.toThrow(RangeError);
    await expect(log.readNodes([{ level: -1, index: 0 }])).rejects.toThrow(/keys\[0\]\.level/);
    const [node] = await log.readNodes([{ level: 0, index: 0 }]);
    node!.fill(0);
    const proof = log.inclusionProof(1, 2);
    proof[0]!.fill(0);
    expect(toHex(log.root())).toBe(toHex(merkleRoot(leaves)));
    expect(toHex(log.inclusionProof(1, 2)[0]!)).toBe(toHex(leaves[0]!));
  });

  it('does not alias the appended leaf hash', () => {
    const fresh = new InMemoryMerkleLog();
    const leaf = leaves[0]!.slice();
    fresh.append(leaf);
    leaf.fill(0);
    expect(toHex(fresh.root())).toBe(toHex(leaves[0]!));
  });
});
