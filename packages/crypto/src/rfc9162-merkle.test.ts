// RFC 9162 §2.1 Merkle trees against transparency-dev/merkle's reference tree and proof probes
// (vectors/merkle), plus generated proofs for every (index, size) and (size1, size2) up to 40 leaves.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVectorJson, vectorPath } from '../../../test/support/vectors.js';
import { fromHex, toHex } from './encoding.js';
import { sha256 } from './hash.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

interface ReferenceTree {
  leaf_inputs: string[];
  node_hashes_by_level: Record<string, string[]>;
  root_hash_by_tree_size: Record<string, string>;
}
interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

const b64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

function probes<T>(kind: 'inclusion' | 'consistency'): Array<[string, T]> {
  const root = vectorPath(`merkle/${kind}`);
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.json'));
  return files.sort().map((name) => [relative(root, join(root, name)), JSON.parse(readFileSync(join(root, name), 'utf8')) as T]);
}

const tree = readVectorJson<ReferenceTree>('merkle/rfc6962_reference_tree.json');
const leaves = tree.leaf_inputs.map((hex) => leafHash(fromHex(hex)));

describe('RFC 9162 §2.1.1 Merkle Tree Hash: the reference tree', () => {
  it('leaf hashes are level 0 of the reference tree', () => {
    expect(leaves.map(toHex)).toEqual(tree.node_hashes_by_level.level_0);
  });

  it('level 1 nodes are nodeHash of level-0 pairs', () => {
    const level1 = tree.node_hashes_by_level.level_1!;
    for (let i = 0; i < level1.length; i++) expect(toHex(nodeHash(leaves[2 * i]!, leaves[2 * i + 1]!))).toBe(level1[i]);
  });

  it.each(Object.entries(tree.root_hash_by_tree_size))('root of the first %s leaves', (size, root) => {
    expect(toHex(merkleRoot(leaves.slice(0, Number(size))))).toBe(root);
  });

  it('the empty tree is SHA-256 of the empty string', () => {
    expect(toHex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('leafHash and nodeHash use the 0x00 / 0x01 prefixes', () => {
    const a = Uint8Array.from([1, 2, 3]);
    expect(leafHash(a)).toEqual(sha256(Uint8Array.from([0, 1, 2, 3])));
    expect(nodeHash(leaves[0]!, leaves[1]!)).toEqual(sha256(Uint8Array.from([1, ...leaves[0]!, ...leaves[1]!])));
  });
});

describe('RFC 9162 §2.1.3.2 inclusion verification: transparency-dev probes', () => {
  const all = probes<InclusionProbe>('inclusion');
  it('replays all 98 probes', () => expect(all).toHaveLength(98));

  it.each(all)('%s', (_name, p) => {
    const ok = verifyInclusion({
      leafHash: b64(p.leafHash),
      index: p.leafIdx,
      treeSize: p.treeSize,
      proof: (p.proof ?? []).map(b64),
      root: b64(p.root),
    });
    expect(ok).toBe(!p.wantErr);
  });
});

describe('RFC 9162 §2.1.4.2 consistency verification: transparency-dev probes', () => {
  const all = probes<ConsistencyProbe>('consistency');
  it('replays all 98 probes', () => expect(all).toHaveLength(98));

  // Our one deliberate divergence from the probes: roots must be 32-byte SHA-256 values. This probe has
  // size1 == size2 == 1, an empty proof and two equal 12-byte "roots" ("don't care 2"); transparency-dev
  // accepts it because it only compares the bytes, we reject a malformed root (see merkle.ts header).
  const FLIPPED = new Set(['additional/sizes-are-equal-one-and-proof-is-empty.json']);

  it.each(all)('%s', (name, p) => {
    const ok = verifyConsistency({
      size1: p.size1,
      size2: p.size2,
      root1: b64(p.root1),
      root2: b64(p.root2),
      proof: (p.proof ?? []).map(b64),
    });
    expect(ok).toBe(FLIPPED.has(name) ? false : !p.wantErr);
  });

  it('the flipped probe passes once its roots are well-formed 32-byte hashes', () => {
    const root = merkleRoot(leaves.slice(0, 1));
    expect(verifyConsistency({ size1: 1, size2: 1, root1: root, root2: root, proof: [] })).toBe(true);
    expect(verifyConsistency({ size1: 1, size2: 1, root1: root, root2: merkleRoot(leaves.slice(0, 2)), proof: [] })).toBe(false);
  });
});

describe('generated proofs verify, and only for the right statement (up to 40 leaves)', () => {
  const data = Array.from({ length: 40 }, (_, i) => leafHash(Uint8Array.from([i, i >> 8, 0xab])));
  const roots = Array.from({ length: 41 }, (_, n) => merkleRoot(data.slice(0, n)));

  it('inclusion: every (index, size)', () => {
    for (let size = 1; size <= 40; size++) {
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(data.slice(0, size), index);
        const check = { leafHash: data[index]!, index, treeSize: size, proof, root: roots[size]! };
        expect(verifyInclusion(check), `index ${index} size ${size}`).toBe(true);
        // The same proof must not verify another leaf, index, size or root.
        expect(verifyInclusion({ ...check, leafHash: data[(index + 1) % 40]! })).toBe(false);
        if (size > 1) expect(verifyInclusion({ ...check, index: (index + 1) % size })).toBe(false);
        if (size < 40) expect(verifyInclusion({ ...check, treeSize: size + 1, root: roots[size + 1]! })).toBe(false);
        if (proof.length > 0) expect(verifyInclusion({ ...check, proof: proof.slice(0, -1) })).toBe(false);
        expect(verifyInclusion({ ...check, proof: [...proof, roots[size]!] })).toBe(false);
      }
    }
  });

  it('consistency: every 1 <= size1 <= size2 <= 40', () => {
    for (let size2 = 1; size2 <= 40; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const proof = consistencyProof(data.slice(0, size2), size1, size2);
        const check = { size1, size2, root1: roots[size1]!, root2: roots[size2]!, proof };
        expect(verifyConsistency(check), `${size1} -> ${size2}`).toBe(true);
        if (size1 === size2) expect(proof).toEqual([]);
        // A different first tree (same size, one leaf changed) is not consistent.
        const forged = data.slice(0, size1);
        forged[size1 - 1] = leafHash(Uint8Array.from([0xff]));
        expect(verifyConsistency({ ...check, root1: merkleRoot(forged) })).toBe(false);
        if (size1 < size2) {
          expect(verifyConsistency({ ...check, root2: roots[size2 - 1]! })).toBe(false);
          expect(verifyConsistency({ ...check, proof: proof.slice(1) })).toBe(false);
        }
      }
    }
  });

  it('proofs are computed over the given prefix only', () => {
    // RFC 9162 §2.1.3 example tree of 7 leaves: the path for d0 is [b, h, l].
    const seven = data.slice(0, 7);
    const proof = inclusionProof(seven, 0);
    expect(proof).toEqual([seven[1], nodeHash(seven[2]!, seven[3]!), nodeHash(nodeHash(seven[4]!, seven[5]!), seven[6]!)]);
    // §2.1.4 examples: PROOF(3, D[7]) = [c, d, g, l]; PROOF(4, D[7]) = [l]; PROOF(6, D[7]) = [i, j, k].
    const [a, b, c, d, e, f, g] = seven as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const h = nodeHash(c, d);
    const i = nodeHash(e, f);
    const k = nodeHash(nodeHash(a, b), h);
    const l = nodeHash(i, g);
    expect(consistencyProof(seven, 3, 7)).toEqual([c, d, nodeHash(a, b), l]);
    expect(consistencyProof(seven, 4, 7)).toEqual([l]);
    expect(consistencyProof(seven, 6, 7)).toEqual([i, g, k]);
  });
});

describe('argument checks and policy', () => {
  const data = Array.from({ length: 5 }, (_, i) => leafHash(Uint8Array.from([i])));

  it('consistencyProof refuses size1 == 0 and out-of-range sizes', () => {
    expect(() => consistencyProof(data, 0, 3)).toThrow(
      new RangeError('size1 must be at least 1: a consistency proof from the empty tree proves nothing'),
    );
    expect(() => consistencyProof(data, 4, 3)).toThrow(new RangeError('size1 4 exceeds size2 3'));
    expect(() => consistencyProof(data, 1, 6)).toThrow(new RangeError('size2 6 exceeds the 5 leaves given'));
    expect(() => consistencyProof(data, 1.5, 3)).toThrow(RangeError);
  });

  it('verifyConsistency rejects size1 == 0 even with equal roots and an empty proof', () => {
    const empty = merkleRoot([]);
    expect(verifyConsistency({ size1: 0, size2: 0, root1: empty, root2: empty, proof: [] })).toBe(false);
    expect(verifyConsistency({ size1: 0, size2: 5, root1: empty, root2: merkleRoot(data), proof: [] })).toBe(false);
  });

  it('inclusionProof checks the index and the leaves', () => {
    expect(() => inclusionProof(data, 5)).toThrow(new RangeError('index 5 is outside a tree of 5 leaves'));
    expect(() => inclusionProof(data, -1)).toThrow(new RangeError('index must be a non-negative integer, got -1'));
    expect(() => inclusionProof([], 0)).toThrow(RangeError);
    expect(() => merkleRoot([new Uint8Array(31)])).toThrow(new RangeError('leafHashes[0] must be 32 bytes, got 31'));
    expect(() => merkleRoot(['x'] as unknown as Uint8Array[])).toThrow(new TypeError('leafHashes[0] must be a Uint8Array'));
    expect(() => leafHash('x' as unknown as Uint8Array)).toThrow(new TypeError('data must be a Uint8Array'));
  });

  it('verifiers return false for malformed values and throw only for wrong types', () => {
    const root = merkleRoot(data);
    const proof = inclusionProof(data, 2);
    const check = { leafHash: data[2]!, index: 2, treeSize: 5, proof, root };
    expect(verifyInclusion(check)).toBe(true);
    expect(verifyInclusion({ ...check, index: -1 })).toBe(false);
    expect(verifyInclusion({ ...check, index: 2.5 })).toBe(false);
    expect(verifyInclusion({ ...check, treeSize: Number.MAX_SAFE_INTEGER + 1 })).toBe(false);
    expect(verifyInclusion({ ...check, root: root.subarray(1) })).toBe(false);
    expect(verifyInclusion({ ...check, proof: [proof[0]!.subarray(1), ...proof.slice(1)] })).toBe(false);
    expect(() => verifyInclusion({ ...check, proof: 'x' as unknown as Uint8Array[] })).toThrow(TypeError);
    expect(() => verifyInclusion({ ...check, index: '2' as unknown as number })).toThrow(new TypeError('index must be a number'));
    expect(() => verifyConsistency(null as unknown as Parameters<typeof verifyConsistency>[0])).toThrow(TypeError);
  });
});
