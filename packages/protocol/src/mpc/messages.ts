// Messages between `mpc` compute nodes. In memory a message carries FieldVectors; on the wire it is a
// JSON object with a versioned `type`, the session, the operation id (`op`, unique per operation within a
// session, chosen by the coordinator), the sender's and recipient's Shamir x, the vector length, and the
// vectors as base64url of their little-endian uint32 residues (field.ts). Parsed with zod at the
// boundary; a residue not below its prime is refused there. The channel between nodes (authenticated,
// encrypted, attested keys) is the process layer's: these are its plaintexts.
//
// - mul-reshare: node `from`'s subshare for node `to` of its local product a_from · b_from
//   (GRR 1998 degree reduction, multiply.ts).
// - trunc-pair: node `from`'s shares for node `to` of its random pair (r, ⌊r / 2^f⌋) (truncate.ts).
// - open: node `from`'s share of a value every node reconstructs (the truncation's masked value, a Beaver
//   multiplication's a − u ‖ b − v, or any opening); the same message goes to every node.
// - random-share: node `from`'s shares for node `to` of its random vectors (u_i, v_i), summed into the
//   factors of Beaver triples (beaver.ts).

import {
  MPC_FIELD,
  MPC_MAX_PARTIES,
  MPC_MAX_VECTOR_LENGTH,
  fieldVectorFromBytes,
  fieldVectorToBytes,
  fromBase64Url,
  toBase64Url,
  type FieldVector,
  type MpcField,
} from '@tenzro/crypto';
import { z } from 'zod';
import { Base64Url, SessionId } from '../primitives.js';
import { MpcError } from './errors.js';

export const MPC_TYPES = {
  mulReshare: 'tenzro.mpc.mul-reshare/v1',
  truncPair: 'tenzro.mpc.trunc-pair/v1',
  open: 'tenzro.mpc.open/v1',
  randomShare: 'tenzro.mpc.random-share/v1',
} as const;

export const MPC_OP_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;

export interface MulReshareMessage {
  readonly type: typeof MPC_TYPES.mulReshare;
  readonly sessionId: string;
  readonly op: string;
  readonly from: number;
  readonly to: number;
  /** h_from(to): the recipient's point of the sender's fresh degree t − 1 sharing of a_from · b_from. */
  readonly subshare: FieldVector;
}

export interface TruncPairMessage {
  readonly type: typeof MPC_TYPES.truncPair;
  readonly sessionId: string;
  readonly op: string;
  readonly from: number;
  readonly to: number;
  /** The recipient's share of the sender's r, uniform in [0, 2^(k + κ)). */
  readonly r: FieldVector;
  /** The recipient's share of ⌊r / 2^f⌋. */
  readonly rHigh: FieldVector;
}

export interface OpenMessage {
  readonly type: typeof MPC_TYPES.open;
  readonly sessionId: string;
  readonly op: string;
  readonly from: number;
  /** The sender's share of the value being opened. */
  readonly share: FieldVector;
}

export interface RandomShareMessage {
  readonly type: typeof MPC_TYPES.randomShare;
  readonly sessionId: string;
  readonly op: string;
  readonly from: number;
  readonly to: number;
  /** The recipient's share of the sender's uniform u_i. */
  readonly u: FieldVector;
  /** The recipient's share of the sender's uniform v_i. */
  readonly v: FieldVector;
}

export type MpcMessage = MulReshareMessage | TruncPairMessage | OpenMessage | RandomShareMessage;

export const MpcOpId = z.string().regex(MPC_OP_PATTERN, 'must be 1–128 characters of A–Z a–z 0–9 . _ : / -');
export const MpcPartyIndex = z.number().int().min(1).max(MPC_MAX_PARTIES);
const VectorLength = z.number().int().min(0).max(MPC_MAX_VECTOR_LENGTH);

export const MulReshareWire = z.strictObject({
  type: z.literal(MPC_TYPES.mulReshare),
  sessionId: SessionId,
  op: MpcOpId,
  from: MpcPartyIndex,
  to: MpcPartyIndex,
  length: VectorLength,
  subshare: Base64Url,
});

export const TruncPairWire = z.strictObject({
  type: z.literal(MPC_TYPES.truncPair),
  sessionId: SessionId,
  op: MpcOpId,
  from: MpcPartyIndex,
  to: MpcPartyIndex,
  length: VectorLength,
  r: Base64Url,
  rHigh: Base64Url,
});

export const OpenWire = z.strictObject({
  type: z.literal(MPC_TYPES.open),
  sessionId: SessionId,
  op: MpcOpId,
  from: MpcPartyIndex,
  length: VectorLength,
  share: Base64Url,
});

export const RandomShareWire = z.strictObject({
  type: z.literal(MPC_TYPES.randomShare),
  sessionId: SessionId,
  op: MpcOpId,
  from: MpcPartyIndex,
  to: MpcPartyIndex,
  length: VectorLength,
  u: Base64Url,
  v: Base64Url,
});

export const MpcWireMessage = z.discriminatedUnion('type', [MulReshareWire, TruncPairWire, OpenWire, RandomShareWire]);
export type MulReshareWire = z.infer<typeof MulReshareWire>;
export type TruncPairWire = z.infer<typeof TruncPairWire>;
export type OpenWire = z.infer<typeof OpenWire>;
export type RandomShareWire = z.infer<typeof RandomShareWire>;
export type MpcWireMessage = z.infer<typeof MpcWireMessage>;

function assertNever(value: never): never {
  throw new TypeError(`unexpected message type ${String((value as { type?: unknown }).type)}`);
}

/** The wire form of a message (JSON-serialisable). */
export function encodeMpcMessage(message: MpcMessage): MpcWireMessage {
  if (typeof message !== 'object' || message === null) throw new TypeError('message must be an MpcMessage');
  const b64 = (v: FieldVector) => toBase64Url(fieldVectorToBytes(v));
  switch (message.type) {
    case MPC_TYPES.mulReshare: {
      const { type, sessionId, op, from, to, subshare } = message;
      return { type, sessionId, op, from, to, length: subshare.length, subshare: b64(subshare) };
    }
    case MPC_TYPES.truncPair: {
      const { type, sessionId, op, from, to, r, rHigh } = message;
      return { type, sessionId, op, from, to, length: r.length, r: b64(r), rHigh: b64(rHigh) };
    }
    case MPC_TYPES.open: {
      const { type, sessionId, op, from, share } = message;
      return { type, sessionId, op, from, length: share.length, share: b64(share) };
    }
    case MPC_TYPES.randomShare: {
      const { type, sessionId, op, from, to, u, v } = message;
      return { type, sessionId, op, from, to, length: u.length, u: b64(u), v: b64(v) };
    }
    default:
      return assertNever(message);
  }
}

/**
 * Parses a wire message (schema, base64url, residues below their primes) into its in-memory form over
 * `field`; MpcError invalid_message (stage 'message') otherwise. Session, operation and roster checks
 * are the round functions'.
 */
export function decodeMpcMessage(wire: unknown, field: MpcField = MPC_FIELD): MpcMessage {
  const parsed = MpcWireMessage.safeParse(wire);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MpcError('invalid_message', 'message', `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`);
  }
  const m = parsed.data;
  const vector = (text: string, name: string): FieldVector => {
    try {
      return fieldVectorFromBytes(field, fromBase64Url(text, name), m.length);
    } catch (cause) {
      throw new MpcError('invalid_message', 'message', `${name} is not a vector of ${m.length} field elements`, { cause });
    }
  };
  switch (m.type) {
    case MPC_TYPES.mulReshare:
      return Object.freeze({ type: m.type, sessionId: m.sessionId, op: m.op, from: m.from, to: m.to, subshare: vector(m.subshare, 'subshare') });
    case MPC_TYPES.truncPair:
      return Object.freeze({ type: m.type, sessionId: m.sessionId, op: m.op, from: m.from, to: m.to, r: vector(m.r, 'r'), rHigh: vector(m.rHigh, 'rHigh') });
    case MPC_TYPES.open:
      return Object.freeze({ type: m.type, sessionId: m.sessionId, op: m.op, from: m.from, share: vector(m.share, 'share') });
    case MPC_TYPES.randomShare:
      return Object.freeze({ type: m.type, sessionId: m.sessionId, op: m.op, from: m.from, to: m.to, u: vector(m.u, 'u'), v: vector(m.v, 'v') });
    default:
      return assertNever(m);
  }
}
