// Sending round messages to peers (NodeClient) and driving a node as coordinator (NodeControlClient).
import {
  SecretBytes,
  fieldVectorFromBytes,
  fieldVectorToBytes,
  fromBase64Url,
  generateEncryptionKeyPair,
  openEnvelope,
  sealEnvelope,
  toBase64Url,
  utf8Decode,
  utf8Encode,
  MPC_FIELD,
  type ShareVector,
} from '@tenzro/crypto';
import type { MpcMessage } from '@tenzro/protocol';
import { NodeTransportError, type NodeTransportErrorCode } from './errors.js';
import type { PeerDirectory } from './peers.js';
import { MPC_NODE_CONTROL_INFO, sealNodeMessage, type NodeEnvelope } from './wire.js';

async function failure(response: Response, what: string): Promise<NodeTransportError> {
  let body: { code?: string; message?: string } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON
  }
  const code = (typeof body.code === 'string' ? body.code : 'peer_unavailable') as NodeTransportErrorCode;
  return new NodeTransportError(code, `${what}: ${body.message ?? `HTTP ${response.status}`}`, { status: response.status });
}

/** POSTs a sealed envelope to a node; NodeTransportError with the node's code when it refuses. */
export async function postNodeEnvelope(url: string, envelope: NodeEnvelope, timeoutMs = 10_000): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${url}/mpc/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(envelope),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new NodeTransportError('peer_unavailable', `${url} did not answer`, { cause });
  }
  if (!response.ok) throw await failure(response, `${url} refused the message`);
  await response.body?.cancel();
}

export interface NodeClientOptions {
  self: number;
  signingKey: SecretBytes;
  peers: PeerDirectory;
  timeoutMs?: number;
}

export class NodeClient {
  readonly #options: NodeClientOptions;
  constructor(options: NodeClientOptions) {
    this.#options = options;
  }

  /** Seals `message` to node `to`'s attested key, signs it and delivers it (`timeoutMs`: this POST's limit). */
  async send(message: MpcMessage, to: number, options: { timeoutMs?: number } = {}): Promise<void> {
    if (message.from !== this.#options.self) throw new RangeError(`message.from (${message.from}) is not this node (${this.#options.self})`);
    const peer = await this.#options.peers.resolve(to);
    if (!peer) throw new NodeTransportError('peer_unavailable', `node ${to} is not attested (unreachable or refused)`);
    const envelope = await sealNodeMessage({ message, to, recipientKey: peer.publicKey, signingKey: this.#options.signingKey });
    await postNodeEnvelope(peer.url, envelope, options.timeoutMs ?? this.#options.timeoutMs);
  }
}

export interface MultiplyRequest {
  sessionId: string;
  op: string;
  a: ShareVector;
  b: ShareVector;
  /** The senders every node interpolates over (default: the 2t − 1 lowest that arrive). */
  senders?: number[];
  timeoutMs?: number;
}

/** A coordinator's handle on one node's control endpoints (bearer token; shares HPKE-sealed both ways). */
export class NodeControlClient {
  readonly url: string;
  readonly #token: string;
  /** The node's attested HPKE key (verify its attestation first). */
  readonly #nodeKey: Uint8Array;

  constructor(url: string, token: string, nodeKey: Uint8Array) {
    this.url = url;
    this.#token = token;
    this.#nodeKey = nodeKey;
  }

  async #post(path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#token}` },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await failure(response, `${this.url}${path}`);
    return response.json();
  }

  async openSession(sessionId: string, threshold: number): Promise<void> {
    await this.#post('/control/sessions', { sessionId, threshold });
  }

  async mailbox(sessionId: string, op: string): Promise<number[]> {
    const response = await fetch(`${this.url}/control/mailbox?sessionId=${encodeURIComponent(sessionId)}&op=${encodeURIComponent(op)}`, {
      headers: { authorization: `Bearer ${this.#token}` },
    });
    if (!response.ok) throw await failure(response, `${this.url}/control/mailbox`);
    return ((await response.json()) as { senders: number[] }).senders;
  }

  /** Runs one GRR multiplication step at this node; its share of a · b. */
  async multiply(request: MultiplyRequest): Promise<ShareVector> {
    const reply = await generateEncryptionKeyPair();
    const inner = {
      sessionId: request.sessionId,
      op: request.op,
      x: request.a.x,
      length: request.a.vector.length,
      a: toBase64Url(fieldVectorToBytes(request.a.vector)),
      b: toBase64Url(fieldVectorToBytes(request.b.vector)),
      ...(request.senders ? { senders: request.senders } : {}),
      ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
      replyKey: toBase64Url(reply.publicKey),
    };
    const sealed = await sealEnvelope(this.#nodeKey, utf8Encode(JSON.stringify(inner)), { info: MPC_NODE_CONTROL_INFO });
    const body = (await this.#post('/control/multiply', { sealed: toBase64Url(sealed) })) as { sealed: string };
    const opened = await openEnvelope(reply.privateKey, fromBase64Url(body.sealed, 'sealed'), { info: MPC_NODE_CONTROL_INFO });
    const share = JSON.parse(utf8Decode(opened)) as { x: number; length: number; share: string };
    return { x: share.x, vector: fieldVectorFromBytes(MPC_FIELD, fromBase64Url(share.share, 'share'), share.length) };
  }
}
