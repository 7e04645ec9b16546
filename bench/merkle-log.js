// The incremental RFC 9162 Merkle log (InMemoryMerkleLog) at 10^4..10^6 leaves: append throughput
// (leafHash over a ~200-byte JCS audit event, then append), proof generation (synchronous, and through
// the async MerkleNodeReader path a database would use), proof sizes (logarithmic) and verification.
// merkle.ts's full-array inclusionProof is timed alongside up to 10^5 leaves for scale.
import {
  InMemoryMerkleLog,
  canonicalBytes,
  consistencyProofAt,
  inclusionProof,
  inclusionProofAt,
  leafHash,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from '@tenzro/crypto';

const QUERIES = 1000;
const CHUNK = 10_000;

/** A ~200-byte audit event, canonicalized (RFC 8785). */
function event(seq) {
  return canonicalBytes({
    type: 'tenzro.audit/v1',
    seq,
    at: new Date(1_750_000_000_000 + seq * 1000).toISOString(),
    actor: `party:bank${'ABC'[seq % 3]}`,
    action: 'submission.accepted',
    commitment: `sha256:${toHex(new Uint8Array(32).fill(seq % 251))}`,
  });
}

/** mulberry32, so every run asks the same queries. */
function seeded(seed) {
  let a = seed >>> 0;
  return (max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  };
}

const now = () => performance.now();
const us = (ms, count) => +((ms * 1000) / count).toFixed(2);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function benchSize(n, random) {
  const log = new InMemoryMerkleLog();
  const keep = n <= 100_000 ? [] : null; // leaf hashes for merkle.ts's full-array baseline
  let eventBytes = 0;
  let hashMs = 0;
  let appendMs = 0;
  for (let from = 0; from < n; from += CHUNK) {
    const events = [];
    for (let i = from; i < Math.min(n, from + CHUNK); i++) events.push(event(i));
    const hashes = new Array(events.length);
    let t = now();
    for (let i = 0; i < events.length; i++) {
      eventBytes += events[i].length;
      hashes[i] = leafHash(events[i]);
    }
    hashMs += now() - t;
    t = now();
    for (const hash of hashes) log.append(hash);
    appendMs += now() - t;
    if (keep) keep.push(...hashes);
  }

  const root = log.root();
  const indexes = Array.from({ length: QUERIES }, () => random(n));
  const sizes1 = Array.from({ length: QUERIES }, () => 1 + random(n - 1));
  for (let i = 0; i < 200; i++) log.inclusionProof(indexes[i], n), log.consistencyProof(sizes1[i], n); // warm up

  let t = now();
  const inclusion = indexes.map((index) => log.inclusionProof(index, n));
  const inclusionMs = now() - t;
  t = now();
  for (const index of indexes) await inclusionProofAt(log, index, n);
  const inclusionAsyncMs = now() - t;
  t = now();
  const consistency = sizes1.map((size1) => log.consistencyProof(size1, n));
  const consistencyMs = now() - t;
  t = now();
  for (const size1 of sizes1) await consistencyProofAt(log, size1, n);
  const consistencyAsyncMs = now() - t;

  const leaves = await log.readNodes(indexes.map((index) => ({ level: 0, index })));
  const roots1 = sizes1.map((size1) => log.root(size1));
  t = now();
  for (let q = 0; q < QUERIES; q++) {
    if (!verifyInclusion({ leafHash: leaves[q], index: indexes[q], treeSize: n, proof: inclusion[q], root })) throw new Error('inclusion proof failed');
  }
  const verifyInclusionMs = now() - t;
  t = now();
  for (let q = 0; q < QUERIES; q++) {
    if (!verifyConsistency({ size1: sizes1[q], size2: n, root1: roots1[q], root2: root, proof: consistency[q] })) throw new Error('consistency proof failed');
  }
  const verifyConsistencyMs = now() - t;

  let fullArrayUs = '—';
  if (keep) {
    const repeats = 20;
    t = now();
    for (let q = 0; q < repeats; q++) inclusionProof(keep, indexes[q]);
    fullArrayUs = us(now() - t, repeats);
  }

  const inclusionLengths = inclusion.map((p) => p.length);
  const consistencyLengths = consistency.map((p) => p.length);
  const maxIncl = Math.max(...inclusionLengths);
  const maxCons = Math.max(...consistencyLengths);
  return {
    leaves: n,
    'event B (mean)': Math.round(eventBytes / n),
    'append leaves/s (leafHash+append)': Math.round(n / ((hashMs + appendMs) / 1000)),
    'append-only leaves/s': Math.round(n / (appendMs / 1000)),
    'incl proof µs': us(inclusionMs, QUERIES),
    'incl async µs': us(inclusionAsyncMs, QUERIES),
    'cons proof µs': us(consistencyMs, QUERIES),
    'cons async µs': us(consistencyAsyncMs, QUERIES),
    'incl hashes mean/max': `${mean(inclusionLengths).toFixed(1)}/${maxIncl}`,
    'incl max bytes': maxIncl * 32,
    'cons hashes mean/max': `${mean(consistencyLengths).toFixed(1)}/${maxCons}`,
    'cons max bytes': maxCons * 32,
    'verify incl µs': us(verifyInclusionMs, QUERIES),
    'verify cons µs': us(verifyConsistencyMs, QUERIES),
    'merkle.ts full-array incl µs': fullArrayUs,
  };
}

export async function benchMerkleLog({ quick }) {
  const sizes = quick ? [1e4, 1e5] : [1e4, 1e5, 1e6];
  const random = seeded(9162);
  await benchSize(5000, seeded(1)); // warm-up (JIT), not reported
  const rows = [];
  for (const n of sizes) rows.push(await benchSize(n, random));
  return { rows };
}
