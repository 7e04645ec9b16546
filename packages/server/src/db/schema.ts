/**
 * The host's tables as Kysely types. Timestamps are ISO 8601 UTC strings (`Date#toISOString`), which sort
 * lexicographically in time order on every dialect. Nothing here is plaintext party data or key material:
 * `sealed_key` is the enclave-sealed session key, opaque to the host.
 */
import type { Generated } from 'kysely';

export interface TenantsTable {
  id: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  /** Lowercase hex SHA-256 of the key text; the key itself is never stored. */
  key_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface PartiesTable {
  party_id: string;
  tenant_id: string;
  signing_key: string;
  encryption_key: string;
  created_at: string;
}

export interface SessionsTable {
  id: string;
  tenant_id: string;
  terms_json: string;
  join_code: string;
  status: string;
  expires_at: string;
  /** The enclave-sealed session private key; null once destroyed (crypto-shredding). */
  sealed_key: string | null;
  public_key: string;
  suite: string;
  attestation: string;
  /** When the enclave confirmed it destroyed its copy; null while that is still owed. */
  key_destroyed_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

/** Who is on a session's roster, by tenant: the index behind visibility checks and lists. */
export interface SessionMembersTable {
  session_id: string;
  party_id: string;
  tenant_id: string;
  role: 'participant' | 'observer';
}

export interface SubmissionsTable {
  id: string;
  session_id: string;
  party_id: string;
  /** Lowercase hex SHA-256 of the ciphertext: its name in the blob store. */
  blob_hash: string;
  size: number;
  commitment: string;
  commitment_scheme: string;
  data_schema: string;
  record_count: number;
  received_at: string;
  deleted_at: string | null;
}

export interface ConsentsTable {
  session_id: string;
  party_id: string;
  consent_json: string;
  signature: string;
  received_at: string;
}

export interface RunsTable {
  id: string;
  session_id: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  prompt: string;
  parameters_json: string;
  attempts: number;
  error_json: string | null;
  lease_until: string | null;
  created_at: string;
  finished_at: string | null;
  /** JSON of the enclave's timings (ms) for a completed run; null before. */
  timings_json: string | null;
}

export interface ResultsTable {
  session_id: string;
  run_id: string;
  party_id: string;
  /** Content hash of a sealed result kept in the blob store, or null when `sealed_inline` holds it. */
  sealed_blob_hash: string | null;
  /** The result sealed (HPKE) to this recipient, base64url. */
  sealed_inline: string | null;
  report_json: string;
  attestation: string;
  created_at: string;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  session_id: string | null;
  type: string;
  actor_tenant: string | null;
  actor_party: string | null;
  /** Hashes, ids and codes only: never party data, never bodies. */
  payload_json: string;
  at: string;
  /**
   * The event's leaf position in the transparency log (0, 1, 2, … with no gaps). Null only for rows
   * written before migration 0002, which are outside the log.
   */
  log_index: number | null;
  /** 0, 1, 2, … within the event's session; null for events of no session (and pre-log rows). */
  session_seq: number | null;
  /** JCS(AuditEvent): the leaf's bytes, exactly as hashed. */
  event_json: string | null;
  /** Lowercase hex of leafHash(event_json) (RFC 9162 §2.1.1). */
  leaf_hash: string | null;
}

/**
 * The transparency log's perfect-subtree nodes: `hash` = MTH of leaves [idx·2^level, (idx+1)·2^level);
 * level 0 holds the leaf hashes. A node is written once, when its last leaf is appended, and never changes.
 */
export interface MerkleNodesTable {
  level: number;
  idx: number;
  hash: Uint8Array;
}

/** Every tree head the host signed with its log key (one per size and key). */
export interface TreeHeadsTable {
  log_id: string;
  tree_size: number;
  /** base64url of the RFC 9162 root. */
  root_hash: string;
  timestamp: string;
  /** base64url Ed25519 signature over JCS(TreeHead). */
  signature: string;
}

/**
 * The secure-aggregation round of a `secure_aggregation` session (docs/secure-aggregation.md), one row per
 * session, created with the session. `stage` follows SECAGG_ROUND_STAGES; `stage_deadline` is when the open
 * stage closes even if some parties have not answered (null: no stage open, or advertise before its first
 * message). U1 and U2 (party ids, roster order) are fixed when advertise and share-keys close.
 */
export interface SecAggRoundsTable {
  session_id: string;
  stage: string;
  /** The model's statistic layout id and its ring vector length (fixed at creation). */
  layout: string;
  vector_length: number;
  stage_opened_at: string | null;
  stage_deadline: string | null;
  /** JSON string[]: the parties whose advertisement was kept (U1), once advertise closed. */
  u1_json: string | null;
  /** JSON string[]: the parties whose share-keys message was kept (U2), once share-keys closed. */
  u2_json: string | null;
  /** JSON `{ code, message }` once the round failed. */
  error_json: string | null;
  /** The run whose unmask request is (or was last) published, and that request (JSON UnmaskRequest). */
  unmask_run_id: string | null;
  unmask_request_json: string | null;
  created_at: string;
  updated_at: string;
  /** Bumped by every write; a write is also how a transaction takes the row's lock (portable). */
  version: number;
}

/** A relayed stage-0/1 message (public keys; shares sealed pairwise between parties), as canonical JSON. */
export interface SecAggMessagesTable {
  session_id: string;
  /** 'advertise' | 'share-keys'. */
  stage: string;
  party_id: string;
  /** JCS of `{ body, signature }`, exactly as verified. */
  message_json: string;
  received_at: string;
}

/** A survivor's stage-3 answer to one run's unmask request: an envelope sealed to the session key (a blob). */
export interface SecAggUnmaskTable {
  session_id: string;
  run_id: string;
  party_id: string;
  /** Lowercase hex SHA-256 of the envelope: its name in the blob store. */
  blob_hash: string;
  size: number;
  received_at: string;
  /** Set by crypto-shredding, like a submission's. */
  deleted_at: string | null;
}

/** A preprocessing (prep id) of an mpc session handed to a run: spent, never chosen again. */
export interface MpcPrepsUsedTable {
  session_id: string;
  prep_id: string;
  used_at: string;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  parties: PartiesTable;
  sessions: SessionsTable;
  session_members: SessionMembersTable;
  submissions: SubmissionsTable;
  consents: ConsentsTable;
  runs: RunsTable;
  results: ResultsTable;
  audit_events: AuditEventsTable;
  merkle_nodes: MerkleNodesTable;
  tree_heads: TreeHeadsTable;
  secagg_rounds: SecAggRoundsTable;
  secagg_messages: SecAggMessagesTable;
  secagg_unmask: SecAggUnmaskTable;
  mpc_preps_used: MpcPrepsUsedTable;
}
