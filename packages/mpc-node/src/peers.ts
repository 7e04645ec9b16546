// The peers a node trusts: each one's attestation verified (root, measurement, role, index, total) before
// its key is used or its messages accepted. Peers are given by URL (`i=url` pins index i; a bare url takes
// the index it attests) and attested on demand.
import { randomBytes, toBase64Url } from '@tenzro/crypto';
import { verifyMpcNodeAttestation, type VerifiedMpcNode } from '@tenzro/protocol';
import { NodeTransportError } from './errors.js';

export interface PeerAddress {
  url: string;
  /** The index this URL must attest (pinned); otherwise whatever index it attests. */
  index?: number;
}

export interface PeerDirectoryOptions {
  self: number;
  total: number;
  peers: readonly PeerAddress[];
  roots: readonly string[];
  expectedMeasurements: readonly string[];
  fetchTimeoutMs?: number;
  /** Documents older than this are refused (default 10 minutes). */
  maxAgeMs?: number;
}

export interface Peer extends VerifiedMpcNode {
  readonly url: string;
}

/** GET /attestation's body. */
export interface AttestationResponse {
  attestation: string;
  statement: unknown;
  publicKey: string;
}

/** Parses `2=http://h:p,http://h:p` into peer addresses. */
export function parsePeerList(text: string): PeerAddress[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const match = /^(\d+)=(.+)$/.exec(part);
      const url = match ? match[2]! : part;
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`peer ${part}: not an http(s) URL`);
      return match ? { url: parsed.href.replace(/\/$/, ''), index: Number(match[1]) } : { url: parsed.href.replace(/\/$/, '') };
    });
}

/** Fetches and verifies one node's attestation (fresh nonce bound in). */
export async function attestPeer(url: string, options: { index?: number; total: number; roots: readonly string[]; expectedMeasurements: readonly string[]; timeoutMs?: number; maxAgeMs?: number }): Promise<Peer> {
  const nonce = randomBytes(16);
  const response = await fetch(`${url}/attestation?nonce=${toBase64Url(nonce)}`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
  if (!response.ok) throw new NodeTransportError('peer_unavailable', `${url}/attestation answered ${response.status}`);
  const body = (await response.json()) as Partial<AttestationResponse>;
  if (typeof body.attestation !== 'string') throw new NodeTransportError('peer_unavailable', `${url}/attestation sent no document`);
  const claimed = (body.statement as { index?: unknown } | null)?.index;
  const index = options.index ?? (typeof claimed === 'number' ? claimed : 0);
  const verified = await verifyMpcNodeAttestation(body.attestation, {
    roots: options.roots,
    expectedMeasurements: options.expectedMeasurements,
    index,
    total: options.total,
    statement: body.statement,
    expectedNonce: nonce,
    maxAgeMs: options.maxAgeMs ?? 10 * 60 * 1000,
  });
  return Object.freeze({ ...verified, url });
}

export class PeerDirectory {
  readonly self: number;
  readonly total: number;
  readonly #options: PeerDirectoryOptions;
  readonly #verified = new Map<number, Peer>();
  #pending: Promise<void> | undefined;

  constructor(options: PeerDirectoryOptions) {
    this.#options = options;
    this.self = options.self;
    this.total = options.total;
  }

  /** A peer whose attestation was verified, if any. */
  get(index: number): Peer | undefined {
    return this.#verified.get(index);
  }

  verifiedIndices(): number[] {
    return [...this.#verified.keys()].sort((a, b) => a - b);
  }

  /** The peer with `index`, attesting the configured URLs not yet verified if needed. */
  async resolve(index: number): Promise<Peer | undefined> {
    const known = this.#verified.get(index);
    if (known) return known;
    await this.refresh();
    return this.#verified.get(index);
  }

  /** Attests every configured URL not yet verified (one refresh at a time; failures leave it unverified). */
  refresh(): Promise<void> {
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #refresh(): Promise<void> {
    const known = new Set([...this.#verified.values()].map((p) => p.url));
    const { peers, total, roots, expectedMeasurements } = this.#options;
    await Promise.all(
      peers
        .filter((p) => !known.has(p.url))
        .map(async (p) => {
          try {
            const peer = await attestPeer(p.url, {
              ...(p.index !== undefined ? { index: p.index } : {}),
              total,
              roots,
              expectedMeasurements,
              ...(this.#options.fetchTimeoutMs !== undefined ? { timeoutMs: this.#options.fetchTimeoutMs } : {}),
              ...(this.#options.maxAgeMs !== undefined ? { maxAgeMs: this.#options.maxAgeMs } : {}),
            });
            if (peer.index === this.self || this.#verified.has(peer.index)) return; // never two keys for one index
            this.#verified.set(peer.index, peer);
          } catch {
            // unreachable or refused: stays unattested; retried on the next refresh
          }
        }),
    );
  }
}
