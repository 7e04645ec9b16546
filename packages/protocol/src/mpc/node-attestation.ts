// The attestation of an `mpc` compute node (DESIGN §5.8, §7): the same Nitro-format document and verifier
// as the enclave's, with a role. The document's `public_key` is the node's HPKE (X25519) key; its
// `user_data` is SHA-256(JCS(statement)), the statement naming the role, the node's Shamir x (`index`),
// the number of nodes and the node's Ed25519 signing key. A node publishes the statement beside the
// document; a verifier recomputes the hash, so an enclave document (user_data = a session binding, no
// role) or another node's statement never passes for this node.
import { MPC_MAX_PARTIES, canonicalBytes, fromBase64Url, isValidSigningPublicKey, sha256, toBase64Url } from '@tenzro/crypto';
import { z } from 'zod';
import { Base64Url } from '../primitives.js';
import { AttestationError } from '../attestation/errors.js';
import { verifyAttestation, type VerifiedAttestation } from '../attestation/verify.js';

export const MPC_NODE_STATEMENT_TYPE = 'tenzro.mpc-node/v1';
export const MPC_NODE_ROLE = 'mpc-node';

export const MpcNodeStatement = z.strictObject({
  type: z.literal(MPC_NODE_STATEMENT_TYPE),
  role: z.string(),
  index: z.number().int().min(1).max(MPC_MAX_PARTIES),
  total: z.number().int().min(2).max(MPC_MAX_PARTIES),
  /** The node's Ed25519 public key, base64url. */
  signingKey: Base64Url,
});
export type MpcNodeStatement = z.infer<typeof MpcNodeStatement>;

export type MpcNodeAttestationErrorCode =
  /** The statement is not a tenzro.mpc-node/v1 statement, or its role is not 'mpc-node'. */
  | 'role_mismatch'
  /** The statement names another Shamir x (or number of nodes) than expected. */
  | 'index_mismatch'
  /** user_data is not SHA-256(JCS(statement)): an enclave's document, or another node's. */
  | 'statement_mismatch'
  /** No 32-byte public_key (the node's HPKE key) in the document. */
  | 'public_key_missing'
  /** The document itself failed verifyAttestation (cause: AttestationError). */
  | 'attestation_invalid';

export class MpcNodeAttestationError extends Error {
  readonly code: MpcNodeAttestationErrorCode;
  constructor(code: MpcNodeAttestationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MpcNodeAttestationError';
    this.code = code;
  }
}

/** The statement a node attests: role 'mpc-node', its index of `total`, its Ed25519 key. */
export function mpcNodeStatement(input: { index: number; total: number; signingKey: Uint8Array }): MpcNodeStatement {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  const { index, total, signingKey } = input;
  if (!Number.isInteger(total) || total < 2 || total > MPC_MAX_PARTIES) throw new RangeError(`input.total must be an integer from 2 to ${MPC_MAX_PARTIES}`);
  if (!Number.isInteger(index) || index < 1 || index > total) throw new RangeError('input.index must be an integer from 1 to input.total');
  if (!isValidSigningPublicKey(signingKey)) throw new TypeError('input.signingKey must be an Ed25519 public key');
  return { type: MPC_NODE_STATEMENT_TYPE, role: MPC_NODE_ROLE, index, total, signingKey: toBase64Url(signingKey) };
}

/** The document's user_data for a statement: SHA-256(JCS(statement)). */
export function mpcNodeUserData(statement: MpcNodeStatement): Uint8Array {
  return sha256(canonicalBytes(statement));
}

export interface VerifyMpcNodeAttestationOptions {
  /** Trusted root certificates (PEM). */
  roots: readonly string[];
  now?: Date;
  /** Accepted node measurements (hex of PCR0). */
  expectedMeasurements?: readonly string[];
  /** The Shamir x this node must attest. */
  index: number;
  /** The number of nodes it must attest, when known. */
  total?: number;
  /** The statement the node published beside its document (parsed strictly here). */
  statement: unknown;
  maxAgeMs?: number;
  /** The nonce the verifier asked the node to bind (GET /attestation?nonce=…). */
  expectedNonce?: Uint8Array;
}

export interface VerifiedMpcNode {
  readonly index: number;
  readonly total: number;
  /** The node's HPKE (X25519) public key: seal messages to it. */
  readonly publicKey: Uint8Array;
  /** The node's Ed25519 key: its messages are signed with it. */
  readonly signingKey: Uint8Array;
  readonly statement: MpcNodeStatement;
  readonly attestation: VerifiedAttestation;
}

/**
 * Verifies a compute node's attestation: the document as verifyAttestation does (root, chain, signature,
 * measurement, freshness) and user_data = SHA-256(JCS(statement)) for a role 'mpc-node' statement naming
 * `index` (and `total`). @throws MpcNodeAttestationError.
 */
export async function verifyMpcNodeAttestation(document: Uint8Array | string, options: VerifyMpcNodeAttestationOptions): Promise<VerifiedMpcNode> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { index, total } = options;
  if (!Number.isInteger(index) || index < 1 || index > MPC_MAX_PARTIES) throw new RangeError('options.index must be a node index');
  if (total !== undefined && (!Number.isInteger(total) || total < 2 || total > MPC_MAX_PARTIES)) throw new RangeError('options.total must be a node count');
  const parsed = MpcNodeStatement.safeParse(options.statement);
  if (!parsed.success || parsed.data.role !== MPC_NODE_ROLE) {
    throw new MpcNodeAttestationError('role_mismatch', `the statement is not a ${MPC_NODE_STATEMENT_TYPE} statement with role '${MPC_NODE_ROLE}'`);
  }
  const statement = parsed.data;
  if (statement.index !== index || statement.index > statement.total) {
    throw new MpcNodeAttestationError('index_mismatch', `the node attests index ${statement.index}, expected ${index}`);
  }
  if (total !== undefined && statement.total !== total) {
    throw new MpcNodeAttestationError('index_mismatch', `the node attests ${statement.total} nodes, expected ${total}`);
  }
  const signingKey = fromBase64Url(statement.signingKey, 'statement.signingKey');
  if (!isValidSigningPublicKey(signingKey)) throw new MpcNodeAttestationError('role_mismatch', 'statement.signingKey is not an Ed25519 public key');
  let attestation: VerifiedAttestation;
  try {
    attestation = await verifyAttestation(document, {
      roots: options.roots,
      ...(options.now ? { now: options.now } : {}),
      ...(options.expectedMeasurements ? { expectedMeasurements: options.expectedMeasurements } : {}),
      ...(options.maxAgeMs !== undefined ? { maxAgeMs: options.maxAgeMs } : {}),
      ...(options.expectedNonce ? { expectedNonce: options.expectedNonce } : {}),
      expectedUserData: mpcNodeUserData(statement),
    });
  } catch (cause) {
    if (cause instanceof AttestationError && cause.code === 'user_data_mismatch') {
      throw new MpcNodeAttestationError('statement_mismatch', 'the document does not bind this mpc-node statement (user_data differs): not this compute node', { cause });
    }
    if (cause instanceof AttestationError) throw new MpcNodeAttestationError('attestation_invalid', `attestation refused: ${cause.message}`, { cause });
    throw cause;
  }
  if (!attestation.publicKey || attestation.publicKey.length !== 32) {
    throw new MpcNodeAttestationError('public_key_missing', 'the document carries no 32-byte HPKE public key');
  }
  return Object.freeze({ index, total: statement.total, publicKey: attestation.publicKey, signingKey, statement, attestation });
}
