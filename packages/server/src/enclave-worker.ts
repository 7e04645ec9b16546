/**
 * An enclave worker (`tenzro enclave-worker`): one supervised enclave child (enclave-client.ts) and a TCP
 * server that relays the enclave channel to the hosts of a deployment, the way a Nitro parent instance
 * relays vsock. The frames are the channel's own (protocol framing.ts: 4-byte big-endian length + UTF-8
 * JSON), preceded by a handshake in which each side proves it knows the token without sending it
 * (worker-auth.ts):
 *
 *   worker → host   { type: 'challenge', nonce }                  at once, on connect
 *   host → worker   { type: 'auth', nonce, proof }                the host's first frame, within a few seconds
 *   worker → host   { type: 'welcome', hello, proof }             the proof matched; the enclave is up
 *                   { type: 'refused', code, message }            then the worker closes the connection
 *   host → worker   EnclaveRequest { id, op, … }                  any number, concurrent; ids are per connection
 *   worker → host   EnclaveReply { id, ok: true, result } | { id, ok: false, error: { code, message, details? } }
 *
 * A connection belongs to the enclave process it was welcomed by: when that process exits or is replaced,
 * the worker closes the connection (requests in flight get no reply: the host fails them as lost), so a
 * host reconnects and checks the new `hello` (measurement, root) before it sends anything more.
 *
 * The channel carries sealed keys, blob paths, session terms and sealed results, never plaintext; it is not
 * encrypted, so it belongs on a private network. The token keeps others from using the enclave through the
 * worker; it never crosses the wire, proofs are compared in constant time, and neither they nor request
 * parameters are logged.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import {
  EnclaveRequest,
  FrameDecoder,
  FrameError,
  HelloResult,
  TenzroError,
  encodeFrame,
  type EnclaveReply,
} from '@tenzro/protocol';
import { EnclaveSupervisor, type EnclaveSupervisorOptions } from './enclave-client.js';
import { EnclaveCallError, readableId } from './enclave-replies.js';
import type { Logger } from './logger.js';
import { AuthNonce, AuthProof, hostProof, newNonce, proofsMatch, workerProof } from './worker-auth.js';

/** The shortest token a worker accepts (it is the only thing between the network and the enclave). */
export const MIN_WORKER_TOKEN_LENGTH = 32;
/** The longest token a worker accepts. */
export const MAX_WORKER_TOKEN_LENGTH = 1024;
/** Bytes a connection may send before it has authenticated: one auth frame, with room to spare. */
const MAX_HANDSHAKE_BYTES = 4096;
const DEFAULT_MAX_CONNECTIONS = 64;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
/** How often the worker checks that the enclave its connections were welcomed by is still the one running. */
const ENCLAVE_WATCH_MS = 250;
/** How long a closing connection may take to read its last frame before it is destroyed. */
const LINGER_MS = 1_000;
const KEEPALIVE_MS = 15_000;

/** The worker's first frame. */
export const WorkerChallenge = z.strictObject({ type: z.literal('challenge'), nonce: AuthNonce });

/** The host's first frame. */
export const WorkerAuth = z.strictObject({ type: z.literal('auth'), nonce: AuthNonce, proof: AuthProof });
export type WorkerAuth = z.infer<typeof WorkerAuth>;

/** The worker's answer to it. */
export const WorkerGreeting = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('welcome'), hello: HelloResult, proof: AuthProof }),
  z.strictObject({
    type: z.literal('refused'),
    code: z.enum(['unauthorized', 'enclave_unavailable']),
    message: z.string().max(500).optional(),
  }),
]);
export type WorkerGreeting = z.infer<typeof WorkerGreeting>;

export interface EnclaveWorkerOptions {
  /** Interface to listen on (e.g. 127.0.0.1, or a private address). */
  host: string;
  /** TCP port; 0 picks a free one (see `url`). */
  port: number;
  /** The shared secret hosts must present (≥ 32 characters). */
  token: string;
  /** The enclave's entry file (packages/enclave/dist/main.js), started as the child. */
  entry: string;
  /** The state directory shared by every worker of the deployment (simulated CA, root secret, tombstones). */
  stateDir: string;
  logger: Logger;
  supervisor?: Pick<EnclaveSupervisorOptions, 'timeoutsMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'readyWaitMs'>;
  /** Connections open at once, authenticated or not (default 64). */
  maxConnections?: number;
  /** How long a new connection has to authenticate (default 5 s). */
  handshakeTimeoutMs?: number;
}

export interface RunningEnclaveWorker {
  /** `tcp://host:port`, with the port actually bound. */
  url: string;
  supervisor: EnclaveSupervisor;
  /** Stops listening, drops every connection and stops the enclave child. */
  close(): Promise<void>;
}

interface Connection {
  socket: Socket;
  /** This worker's challenge to the host. */
  nonce: string;
  /** The enclave process this connection was welcomed by; undefined before the handshake. */
  enclavePid: number | undefined;
  closing: boolean;
}

function checkOptions(options: EnclaveWorkerOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { host, port, token, entry, stateDir, logger, maxConnections, handshakeTimeoutMs } = options;
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string');
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer in 0..65535');
  if (typeof token !== 'string') throw new TypeError('token must be a string');
  if (token.length < MIN_WORKER_TOKEN_LENGTH || token.length > MAX_WORKER_TOKEN_LENGTH) {
    throw new RangeError(`token must be ${MIN_WORKER_TOKEN_LENGTH} to ${MAX_WORKER_TOKEN_LENGTH} characters`);
  }
  if (typeof entry !== 'string' || entry === '') throw new TypeError('entry must be a file path');
  if (typeof stateDir !== 'string' || stateDir === '') throw new TypeError('stateDir must be a directory path');
  if (typeof logger !== 'object' || logger === null) throw new TypeError('logger must be a logger');
  if (maxConnections !== undefined && (!Number.isSafeInteger(maxConnections) || maxConnections < 1)) {
    throw new RangeError('maxConnections must be a positive integer');
  }
  if (handshakeTimeoutMs !== undefined && (!Number.isFinite(handshakeTimeoutMs) || handshakeTimeoutMs <= 0)) {
    throw new RangeError('handshakeTimeoutMs must be a positive number of milliseconds');
  }
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `tcp://${host}:${address.port}`;
}

/** The reply error for a failed forward: the enclave's own code when it refused, else the host's. */
function replyErrorOf(error: unknown): Extract<EnclaveReply, { ok: false }>['error'] | undefined {
  if (error instanceof EnclaveCallError) {
    return { code: error.enclaveCode, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (error instanceof TenzroError) {
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  return undefined;
}

/** Starts the enclave child, waits for its `hello`, then listens. Rejects (and stops the child) if either fails. */
export async function startEnclaveWorker(options: EnclaveWorkerOptions): Promise<RunningEnclaveWorker> {
  checkOptions(options);
  const logger = options.logger.child({ component: 'enclave-worker' });
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const connections = new Set<Connection>();

  const supervisor = new EnclaveSupervisor({
    ...options.supervisor,
    entry: options.entry,
    stateDir: options.stateDir,
    logger: options.logger.child({ component: 'enclave-supervisor' }),
    // A new enclave process: connections welcomed by the previous one reconnect and see the new hello.
    onHello: (info) => dropStale(info.pid),
  });

  const send = (connection: Connection, message: z.infer<typeof WorkerChallenge> | WorkerGreeting | EnclaveReply): void => {
    if (connection.socket.destroyed || !connection.socket.writable) return;
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message);
    } catch (error) {
      // a result beyond the frame limit: the host gets a refusal for that id instead
      logger.error({ err: error }, 'enclave worker: a reply is too large for a frame');
      if (!('id' in message)) return;
      frame = encodeFrame({ id: message.id, ok: false, error: { code: 'internal_error', message: 'the reply is too large for the channel' } });
    }
    connection.socket.write(frame);
  };

  const hangUp = (connection: Connection, last?: WorkerGreeting | EnclaveReply): void => {
    if (connection.closing) return;
    connection.closing = true;
    if (last) send(connection, last);
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), LINGER_MS).unref();
  };

  function dropStale(currentPid: number | undefined): void {
    for (const connection of connections) {
      if (connection.enclavePid !== undefined && connection.enclavePid !== currentPid) {
        logger.info({ enclavePid: connection.enclavePid }, 'enclave worker: the enclave restarted; closing a connection welcomed by the old one');
        hangUp(connection);
      }
    }
  }

  const watch = setInterval(() => dropStale(supervisor.ready() ? supervisor.info()?.pid : undefined), ENCLAVE_WATCH_MS);
  watch.unref();

  const authenticate = (connection: Connection, message: unknown): void => {
    const auth = WorkerAuth.safeParse(message);
    if (!auth.success || !proofsMatch(auth.data.proof, hostProof(options.token, connection.nonce, auth.data.nonce))) {
      logger.warn({ remote: connection.socket.remoteAddress ?? null }, 'enclave worker: a connection failed to authenticate');
      hangUp(connection, { type: 'refused', code: 'unauthorized', message: 'the first frame must be { type: "auth", nonce, proof } proving the worker token' });
      return;
    }
    const info = supervisor.info();
    if (!supervisor.ready() || !info) {
      hangUp(connection, { type: 'refused', code: 'enclave_unavailable', message: 'the enclave is restarting; try again shortly' });
      return;
    }
    connection.enclavePid = info.pid;
    logger.info({ remote: connection.socket.remoteAddress ?? null, enclavePid: info.pid }, 'enclave worker: a host connected');
    const hello = HelloResult.parse({ provider: info.provider, moduleId: info.moduleId, measurement: info.measurement, rootPem: info.rootPem, models: info.models, pid: info.pid });
    send(connection, { type: 'welcome', hello, proof: workerProof(options.token, connection.nonce, auth.data.nonce, hello) });
  };

  const forward = async (connection: Connection, request: EnclaveRequest): Promise<void> => {
    const { id, op } = request;
    const info = supervisor.info();
    if (!supervisor.ready() || !info || info.pid !== connection.enclavePid) {
      // The enclave this host was welcomed by is gone: refuse, and make it reconnect to learn the new one.
      hangUp(connection, { id, ok: false, error: { code: 'enclave_unavailable', message: 'the enclave behind this worker restarted; reconnect' } });
      return;
    }
    const started = performance.now();
    let reply: EnclaveReply;
    if (op === 'hello') {
      reply = { id, ok: true, result: info };
    } else {
      const { id: _id, op: _op, ...params } = request;
      try {
        const result = await supervisor.call(op, params as never);
        reply = { id, ok: true, result };
      } catch (error) {
        if (!supervisor.ready() || supervisor.info()?.pid !== connection.enclavePid) {
          // The enclave died under this request: hang up instead of answering, so the host learns that the
          // request was lost with its enclave (and may send it again), not refused by it.
          logger.warn({ op, id }, 'enclave worker: the enclave stopped under a request; closing the connection');
          hangUp(connection);
          return;
        }
        const replyError = replyErrorOf(error);
        if (!replyError) logger.error({ err: error, op, id }, 'enclave worker: a request failed');
        reply = { id, ok: false, error: replyError ?? { code: 'internal_error', message: 'the enclave worker failed while handling the request' } };
      }
    }
    logger.info({ op, id, ok: reply.ok, code: reply.ok ? undefined : reply.error.code, ms: Math.round(performance.now() - started) }, 'enclave worker: request');
    if (!connection.closing) send(connection, reply);
  };

  const onMessage = (connection: Connection, message: unknown): void => {
    if (connection.closing) return;
    if (connection.enclavePid === undefined) {
      authenticate(connection, message);
      return;
    }
    const parsed = EnclaveRequest.safeParse(message);
    if (!parsed.success) {
      const id = readableId(message);
      // The issue paths name fields, never the values sent.
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(0, 10);
      logger.warn({ id: id ?? null, fields }, 'enclave worker: a malformed request');
      if (id === undefined) {
        hangUp(connection);
        return;
      }
      send(connection, { id, ok: false, error: { code: 'invalid_request', message: `malformed enclave request (${fields.join(', ')})` } });
      return;
    }
    void forward(connection, parsed.data);
  };

  const serve = (socket: Socket): void => {
    const connection: Connection = { socket, nonce: newNonce(), enclavePid: undefined, closing: false };
    connections.add(connection);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    send(connection, { type: 'challenge', nonce: connection.nonce });
    const decoder = new FrameDecoder();
    let handshakeBytes = 0;
    const handshake = setTimeout(() => {
      if (connection.enclavePid !== undefined) return;
      logger.warn({ remote: socket.remoteAddress ?? null }, 'enclave worker: no handshake in time; closing the connection');
      socket.destroy();
    }, handshakeTimeoutMs);
    handshake.unref();

    socket.on('data', (chunk: Buffer) => {
      if (connection.closing) return;
      if (connection.enclavePid === undefined) {
        handshakeBytes += chunk.length;
        if (handshakeBytes > MAX_HANDSHAKE_BYTES) {
          logger.warn({ remote: socket.remoteAddress ?? null }, 'enclave worker: too many bytes before the handshake; closing the connection');
          socket.destroy();
          return;
        }
      }
      let messages: unknown[];
      try {
        messages = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        // The frames before the bad one are still answered; a frame that is not JSON has no id to answer.
        for (const message of error.decoded) onMessage(connection, message);
        logger.warn({ remote: socket.remoteAddress ?? null }, 'enclave worker: a malformed frame; closing the connection');
        hangUp(connection);
        return;
      }
      for (const message of messages) onMessage(connection, message);
    });
    socket.on('error', (error) => logger.debug({ err: error }, 'enclave worker: connection error'));
    socket.on('close', () => {
      clearTimeout(handshake);
      connections.delete(connection);
    });
  };

  try {
    await supervisor.start();
  } catch (error) {
    clearInterval(watch);
    await supervisor.close();
    throw error;
  }

  const server: Server = createServer(serve);
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('drop', () => logger.warn({ maxConnections: server.maxConnections }, 'enclave worker: connection limit reached; a connection was refused'));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clearInterval(watch);
    await supervisor.close();
    throw error;
  }
  server.on('error', (error) => logger.error({ err: error }, 'enclave worker: server error'));
  const url = urlOf(server.address() as AddressInfo);
  logger.info({ url, measurement: supervisor.info()?.measurement }, 'enclave worker listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    supervisor,
    close: () => {
      closed ??= (async () => {
        clearInterval(watch);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const connection of connections) connection.socket.destroy();
        await Promise.all([stopped, supervisor.close()]);
      })();
      return closed;
    },
  };
}
