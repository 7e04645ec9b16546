// A compute node's HTTP face (node:http):
//   GET  /attestation[?nonce=b64url]    a fresh document: public_key = HPKE key, user_data = SHA-256(JCS(statement))
//   POST /mpc/messages                  one sealed, signed round message from an attested peer (wire.ts)
//   POST /control/preprocess, GET /control/preprocessed?sessionId=, POST /control/runs, POST /control/steps,
//   POST /control/check-bundle, DELETE /control/runs/:sessionId/:tag, DELETE /control/preps/:sessionId/:prepId,
//   DELETE /control/sessions/:sessionId  the session runtime of docs/mpc.md (sessions.ts)        (bearer token)
// Raw multiplication, for benchmarks and transport tests only (served with allowRawMultiply, --allow-raw-multiply;
// never on a session the runtime serves, only ops `mul/…`, which no preprocessing or run uses):
//   POST /control/sessions              { sessionId, threshold }: serve a session              (bearer token)
//   POST /control/multiply              { sealed }: one GRR multiplication step, reply sealed   (bearer token)
//   GET  /control/mailbox?sessionId&op  the senders recorded for (session, op)                  (bearer token)
// Refusals are { code, message } with a 4xx/5xx status; a body over maxBodyBytes is refused (a run's or a
// bundle check's over RUN_BODY_FACTOR × maxBodyBytes: it carries every party's bundle).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MPC_FIELD, fieldVectorFromBytes, fieldVectorToBytes, fromBase64Url, openEnvelope, parseStrictJson, sealEnvelope, toBase64Url, utf8Decode, utf8Encode } from '@tenzro/crypto';
import type { AttestationIssuer } from '@tenzro/enclave';
import {
  Base64Url,
  MpcError,
  MpcOpId,
  MpcCheckBundleRequest,
  MpcPartyIndex,
  MpcPreprocessRequest,
  MpcRunTag,
  MpcStartRunRequest,
  MpcStepRequest,
  SessionId,
  createMpcNode,
  mpcNodeStatement,
  mpcNodeUserData,
  mulRound1,
  mulRound2,
  type MpcNodeStatement,
} from '@tenzro/protocol';
import { z } from 'zod';
import { NodeClient } from './client.js';
import { NodeTransportError } from './errors.js';
import type { NodeIdentity } from './identity.js';
import { NodeMailbox } from './mailbox.js';
import type { PeerDirectory } from './peers.js';
import { MpcControlError, MpcSessionRuntime } from './sessions.js';
import { MPC_NODE_CONTROL_INFO, NodeEnvelope, openNodeMessage, verifyNodeEnvelopeSignature } from './wire.js';

/** Default body limit: a mul-reshare of 2^20 elements with room to spare. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** POST /control/runs and /control/check-bundle accept this many times maxBodyBytes (every party's bundle). */
export const RUN_BODY_FACTOR = 4;
/** The op prefix of raw multiplications (no preprocessing or run op starts with it: tags have no `/`). */
export const RAW_MULTIPLY_OP_PREFIX = 'mul/';
const DEFAULT_STEP_TIMEOUT_MS = 30_000;

export interface MpcNodeServerOptions {
  index: number;
  total: number;
  identity: NodeIdentity;
  issuer: AttestationIssuer;
  peers: PeerDirectory;
  /** Bearer token of the control endpoints. */
  controlToken: string;
  maxBodyBytes?: number;
  mailbox?: NodeMailbox;
  /** PEM roots trusted for the enclave's session-key attestation (default: the issuer's own root). */
  roots?: readonly string[];
  /** Accepted enclave measurements (--enclave-measurement); none: runs are refused session_key_unverified. */
  enclaveMeasurements?: readonly string[];
  /** Preprocessings and runs unused this long are dropped (default 1 h). */
  sessionTtlMs?: number;
  /**
   * Serve the raw multiplication routes (/control/sessions, /control/multiply, /control/mailbox): for
   * benchmarks and transport tests only (default false: they answer 404 not_found).
   */
  allowRawMultiply?: boolean;
}

export interface MpcNodeServer {
  readonly server: Server;
  readonly mailbox: NodeMailbox;
  readonly statement: MpcNodeStatement;
  readonly runtime: MpcSessionRuntime;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

const ControlSession = z.strictObject({ sessionId: SessionId, threshold: z.number().int().min(2).max(255) });
const ControlSealed = z.strictObject({ sealed: Base64Url });
const ControlMultiply = z.strictObject({
  sessionId: SessionId,
  op: MpcOpId,
  x: MpcPartyIndex,
  length: z.number().int().min(0),
  a: Base64Url,
  b: Base64Url,
  senders: z.array(MpcPartyIndex).optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  replyKey: Base64Url,
});

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function refuse(res: ServerResponse, error: unknown): void {
  if (error instanceof MpcControlError) return send(res, error.status, { code: error.code, message: error.message });
  if (error instanceof NodeTransportError) return send(res, error.status, { code: error.code, message: error.message });
  if (error instanceof MpcError) return send(res, 422, { code: 'mpc_failed', message: error.message });
  send(res, 500, { code: 'internal_error', message: 'the node failed' });
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new NodeTransportError('body_too_large', `the body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new NodeTransportError('body_too_large', `the body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, maxDepth = 8): T {
  let value: unknown;
  try {
    value = parseStrictJson(utf8Decode(bytes), { maxDepth });
  } catch (cause) {
    throw new NodeTransportError('invalid_request', 'the body is not valid JSON', { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NodeTransportError('invalid_request', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function sessionIdOfPath(text: string): string {
  const sessionId = SessionId.safeParse(text);
  if (!sessionId.success) throw new NodeTransportError('invalid_request', 'not a session id (mps_…)');
  return sessionId.data;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function createMpcNodeServer(options: MpcNodeServerOptions): MpcNodeServer {
  const { index, total, identity, issuer, peers, controlToken } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const runBodyBytes = Math.min(maxBodyBytes * RUN_BODY_FACTOR, 2 ** 31 - 1);
  const allowRawMultiply = options.allowRawMultiply === true;
  const mailbox = options.mailbox ?? new NodeMailbox();
  const statement = mpcNodeStatement({ index, total, signingKey: identity.signingPublicKey });
  const userData = mpcNodeUserData(statement);
  const client = new NodeClient({ self: index, signingKey: identity.signingPrivateKey, peers });
  const thresholds = new Map<string, number>();
  const tokenDigest = digest(controlToken);
  const runtime = new MpcSessionRuntime({
    index,
    total,
    identity,
    mailbox,
    client,
    roots: options.roots ?? [issuer.rootPem],
    enclaveMeasurements: (options.enclaveMeasurements ?? []).map((m) => m.toLowerCase()),
    ...(options.sessionTtlMs !== undefined ? { ttlMs: options.sessionTtlMs } : {}),
    onForget: (sessionId) => thresholds.delete(sessionId),
  });

  /** The raw routes: only when allowed, never on a session of the runtime, only `mul/…` ops. */
  function rawAllowed(route: string): void {
    if (!allowRawMultiply) throw new NodeTransportError('not_found', `no route ${route} (raw multiplication needs --allow-raw-multiply)`);
  }
  function rawSession(sessionId: string, op?: string): void {
    if (runtime.knows(sessionId)) throw new NodeTransportError('forbidden', 'the session belongs to the session runtime: raw multiplication refuses it');
    if (op !== undefined && !op.startsWith(RAW_MULTIPLY_OP_PREFIX)) throw new NodeTransportError('invalid_request', `a raw multiplication's op must start with ${RAW_MULTIPLY_OP_PREFIX}`);
  }

  function authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!timingSafeEqual(digest(given), tokenDigest)) throw new NodeTransportError('unauthorized', 'the control token is missing or wrong');
  }

  async function attestation(url: URL): Promise<unknown> {
    const nonceText = url.searchParams.get('nonce');
    let nonce: Uint8Array | undefined;
    if (nonceText !== null) {
      try {
        nonce = fromBase64Url(nonceText, 'nonce');
      } catch (cause) {
        throw new NodeTransportError('invalid_request', 'nonce must be base64url', { cause });
      }
      if (nonce.length > 64) throw new NodeTransportError('invalid_request', 'nonce must be at most 64 bytes');
    }
    const document = await issuer.issue({ publicKey: identity.hpkePublicKey, userData, ...(nonce ? { nonce } : {}) });
    return { attestation: toBase64Url(document), statement, publicKey: toBase64Url(identity.hpkePublicKey) };
  }

  async function message(req: IncomingMessage): Promise<void> {
    const envelope = parseJson(await readBody(req, maxBodyBytes), NodeEnvelope);
    if (envelope.to !== index) throw new NodeTransportError('wrong_recipient', `the message is for node ${envelope.to}, this is node ${index}`);
    if (!mailbox.hasSession(envelope.sessionId)) throw new NodeTransportError('unknown_session', 'this node serves no such session');
    const peer = envelope.from === index ? undefined : await peers.resolve(envelope.from);
    if (!peer) throw new NodeTransportError('unattested_sender', `node ${envelope.from} has no verified attestation at this node`);
    if (!verifyNodeEnvelopeSignature(envelope, peer.signingKey)) {
      throw new NodeTransportError('bad_signature', `the signature does not verify under node ${envelope.from}'s attested key`);
    }
    // opened after the signature check (an attested peer's), claimed by (session, op, type, sender)
    mailbox.record(await openNodeMessage(envelope, identity.hpkePrivateKey));
  }

  async function multiply(req: IncomingMessage): Promise<unknown> {
    const { sealed } = parseJson(await readBody(req, maxBodyBytes), ControlSealed);
    let plaintext: Uint8Array;
    try {
      plaintext = await openEnvelope(identity.hpkePrivateKey, fromBase64Url(sealed, 'sealed'), { info: MPC_NODE_CONTROL_INFO });
    } catch (cause) {
      throw new NodeTransportError('decryption_failed', 'the control request does not open under this node\'s key', { cause });
    }
    const request = parseJson(plaintext, ControlMultiply);
    plaintext.fill(0);
    rawSession(request.sessionId, request.op);
    const threshold = thresholds.get(request.sessionId);
    if (threshold === undefined || !mailbox.hasSession(request.sessionId)) throw new NodeTransportError('unknown_session', 'this node serves no such session');
    if (request.x !== index) throw new NodeTransportError('wrong_recipient', `the shares are node ${request.x}'s, this is node ${index}`);
    const vector = (text: string, name: string) => {
      try {
        return fieldVectorFromBytes(MPC_FIELD, fromBase64Url(text, name), request.length);
      } catch (cause) {
        throw new NodeTransportError('invalid_request', `${name} is not a vector of ${request.length} field elements`, { cause });
      }
    };
    const node = createMpcNode({ sessionId: request.sessionId, party: index, threshold, totalParties: total });
    const { op } = request;
    const outgoing = mulRound1(node, { op, a: { x: index, vector: vector(request.a, 'a') }, b: { x: index, vector: vector(request.b, 'b') } });
    await Promise.allSettled(outgoing.map((m) => (m.to === index ? Promise.resolve(mailbox.record(m)) : client.send(m, m.to))));
    const all = Array.from({ length: total }, (_, i) => i + 1);
    const incoming = await mailbox.collect(request.sessionId, op, {
      senders: request.senders ?? all,
      min: request.senders ? request.senders.length : 2 * threshold - 1,
      timeoutMs: request.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    });
    const product = mulRound2(node, { op, incoming: incoming as Parameters<typeof mulRound2>[1]['incoming'], ...(request.senders ? { senders: request.senders } : {}) });
    const reply = utf8Encode(JSON.stringify({ x: product.x, length: product.vector.length, share: toBase64Url(fieldVectorToBytes(product.vector)) }));
    const out = await sealEnvelope(fromBase64Url(request.replyKey, 'replyKey'), reply, { info: MPC_NODE_CONTROL_INFO });
    return { sealed: toBase64Url(out) };
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://node');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const handle = async (): Promise<void> => {
      switch (route) {
        case 'GET /attestation':
          return send(res, 200, await attestation(url));
        case 'POST /mpc/messages':
          await message(req);
          return send(res, 202, { accepted: true });
        case 'POST /control/sessions': {
          rawAllowed(route);
          authorize(req);
          const { sessionId, threshold } = parseJson(await readBody(req, 4096), ControlSession);
          rawSession(sessionId);
          createMpcNode({ sessionId, party: index, threshold, totalParties: total }); // refuses a bad configuration
          thresholds.set(sessionId, threshold);
          mailbox.openSession(sessionId);
          return send(res, 200, { sessionId, threshold, index, total });
        }
        case 'POST /control/multiply':
          rawAllowed(route);
          authorize(req);
          return send(res, 200, await multiply(req));
        case 'GET /control/mailbox': {
          rawAllowed(route);
          authorize(req);
          const sessionId = url.searchParams.get('sessionId') ?? '';
          const op = url.searchParams.get('op') ?? '';
          rawSession(sessionId, op);
          return send(res, 200, { senders: mailbox.senders(sessionId, op) });
        }
        case 'POST /control/preprocess':
          authorize(req);
          return send(res, 200, runtime.preprocess(parseJson(await readBody(req, 4096), MpcPreprocessRequest)));
        case 'GET /control/preprocessed': {
          authorize(req);
          const sessionId = SessionId.safeParse(url.searchParams.get('sessionId'));
          if (!sessionId.success) throw new NodeTransportError('invalid_request', 'sessionId must be a session id (mps_…)');
          return send(res, 200, runtime.preprocessed(sessionId.data));
        }
        case 'POST /control/runs':
          authorize(req);
          return send(res, 200, await runtime.startRun(parseJson(await readBody(req, runBodyBytes), MpcStartRunRequest, 16)));
        case 'POST /control/check-bundle':
          authorize(req);
          return send(res, 200, await runtime.checkBundle(parseJson(await readBody(req, runBodyBytes), MpcCheckBundleRequest, 16)));
        case 'POST /control/steps':
          authorize(req);
          return send(res, 200, await runtime.step(parseJson(await readBody(req, 4096), MpcStepRequest)));
        default: {
          const forget = /^DELETE \/control\/sessions\/([^/]+)$/.exec(route);
          if (forget) {
            authorize(req);
            runtime.forget(sessionIdOfPath(forget[1]!));
            thresholds.delete(forget[1]!);
            res.writeHead(204);
            return void res.end();
          }
          const drop = /^DELETE \/control\/(runs|preps)\/([^/]+)\/([^/]+)$/.exec(route);
          if (drop) {
            authorize(req);
            const sessionId = sessionIdOfPath(drop[2]!);
            const tag = MpcRunTag.safeParse(drop[3]);
            if (!tag.success) throw new NodeTransportError('invalid_request', 'not a run tag or prep id ([A-Za-z0-9._-], 1–72)');
            if (drop[1] === 'runs') runtime.dropRun(sessionId, tag.data);
            else runtime.dropPrep(sessionId, tag.data);
            res.writeHead(204);
            return void res.end();
          }
          throw new NodeTransportError('not_found', `no route ${route}`);
        }
      }
    };
    handle().catch((error: unknown) => {
      if (!(error instanceof NodeTransportError) && !(error instanceof MpcError) && !(error instanceof MpcControlError)) {
        process.stderr.write(`${JSON.stringify({ event: 'request_failed', route, error: (error as Error).name })}\n`);
      }
      if (res.headersSent) return void res.destroy();
      // an unread body (refused early) is drained by closing the connection after the answer
      res.setHeader('connection', 'close');
      refuse(res, error);
    });
  });

  return {
    server,
    mailbox,
    statement,
    runtime,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
