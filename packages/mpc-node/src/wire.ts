// One MPC round message between compute nodes, on the wire: the message's wire form (protocol
// messages.ts), JSON, HPKE-sealed to the recipient's attested key (info MPC_NODE_INFO), inside a signed
// header. The sender's Ed25519 signature covers JCS({ type: 'tenzro.mpc-node.message/v1', sessionId, op,
// from, to, envelopeHash }), envelopeHash = base64url(SHA-256(sealed envelope)); the header is checked
// against the message inside after opening.
import { SecretBytes, fromBase64Url, openEnvelope, sealEnvelope, sha256, signStatement, toBase64Url, utf8Decode, utf8Encode, verifyStatement } from '@tenzro/crypto';
import { Base64Url, MpcOpId, MpcPartyIndex, SessionId, decodeMpcMessage, encodeMpcMessage, type MpcMessage } from '@tenzro/protocol';
import { z } from 'zod';
import { NodeTransportError } from './errors.js';

/** HPKE info of node-to-node messages. */
export const MPC_NODE_INFO = 'tenzro/mpi/v1/mpc-node';
/** HPKE info of control requests and replies (coordinator ↔ node). */
export const MPC_NODE_CONTROL_INFO = 'tenzro/mpi/v1/mpc-node-control';
export const MPC_NODE_ENVELOPE_TYPE = 'tenzro.mpc-node.envelope/v1';
export const MPC_NODE_MESSAGE_STATEMENT = 'tenzro.mpc-node.message/v1';

export const NodeEnvelope = z.strictObject({
  type: z.literal(MPC_NODE_ENVELOPE_TYPE),
  sessionId: SessionId,
  op: MpcOpId,
  from: MpcPartyIndex,
  to: MpcPartyIndex,
  envelope: Base64Url,
  signature: Base64Url,
});
export type NodeEnvelope = z.infer<typeof NodeEnvelope>;

interface SignedHeader {
  type: typeof MPC_NODE_MESSAGE_STATEMENT;
  sessionId: string;
  op: string;
  from: number;
  to: number;
  envelopeHash: string;
}

function header(sessionId: string, op: string, from: number, to: number, envelope: Uint8Array): SignedHeader {
  return { type: MPC_NODE_MESSAGE_STATEMENT, sessionId, op, from, to, envelopeHash: toBase64Url(sha256(envelope)) };
}

export interface SealNodeMessageInput {
  message: MpcMessage;
  /** The recipient's Shamir x (for an open message, which has no `to`). */
  to: number;
  recipientKey: Uint8Array;
  signingKey: SecretBytes | Uint8Array;
}

/** Seals and signs one message for node `to`. */
export async function sealNodeMessage(input: SealNodeMessageInput): Promise<NodeEnvelope> {
  const { message, to, recipientKey, signingKey } = input;
  if ('to' in message && message.to !== to) throw new RangeError(`input.to (${to}) differs from the message's recipient (${message.to})`);
  const plaintext = utf8Encode(JSON.stringify(encodeMpcMessage(message)));
  const envelope = await sealEnvelope(recipientKey, plaintext, { info: MPC_NODE_INFO });
  const signature = signStatement(signingKey, header(message.sessionId, message.op, message.from, to, envelope));
  return { type: MPC_NODE_ENVELOPE_TYPE, sessionId: message.sessionId, op: message.op, from: message.from, to, envelope: toBase64Url(envelope), signature: toBase64Url(signature) };
}

/** Checks the sender's signature over the header (before anything is decrypted). */
export function verifyNodeEnvelopeSignature(envelope: NodeEnvelope, senderSigningKey: Uint8Array): boolean {
  let sealed: Uint8Array;
  let signature: Uint8Array;
  try {
    sealed = fromBase64Url(envelope.envelope, 'envelope');
    signature = fromBase64Url(envelope.signature, 'signature');
  } catch {
    return false;
  }
  return verifyStatement(senderSigningKey, header(envelope.sessionId, envelope.op, envelope.from, envelope.to, sealed), signature);
}

/** Opens a verified envelope and checks that the message inside is the one the header names. */
export async function openNodeMessage(envelope: NodeEnvelope, recipientPrivateKey: SecretBytes): Promise<MpcMessage> {
  let plaintext: Uint8Array;
  try {
    plaintext = await openEnvelope(recipientPrivateKey, fromBase64Url(envelope.envelope, 'envelope'), { info: MPC_NODE_INFO });
  } catch (cause) {
    throw new NodeTransportError('decryption_failed', 'the envelope does not open under this node\'s key', { cause });
  }
  let message: MpcMessage;
  try {
    message = decodeMpcMessage(JSON.parse(utf8Decode(plaintext)));
  } catch (cause) {
    throw new NodeTransportError('invalid_message', 'the sealed message is not an MPC round message', { cause });
  } finally {
    plaintext.fill(0);
  }
  if (message.sessionId !== envelope.sessionId || message.op !== envelope.op || message.from !== envelope.from || ('to' in message && message.to !== envelope.to)) {
    throw new NodeTransportError('header_mismatch', 'the sealed message does not match its signed header');
  }
  return message;
}
