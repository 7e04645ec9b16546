/**
 * Schema migrations, provided in code (no files to ship). Each migration is written with Kysely's schema
 * builder so it runs on every dialect; the partial unique indexes (SQLite and PostgreSQL both have them)
 * make "one active run per session" and "one completed run per session" database invariants.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectName } from './dialect.js';

function initial(dialect: DialectName): Migration {
  return {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();

    await db.schema
      .createTable('parties')
      .addColumn('party_id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('signing_key', 'text', (c) => c.notNull())
      .addColumn('encryption_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('parties_tenant').on('parties').column('tenant_id').execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('terms_json', 'text', (c) => c.notNull())
      .addColumn('join_code', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('sealed_key', 'text')
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('suite', 'text', (c) => c.notNull())
      .addColumn('attestation', 'text', (c) => c.notNull())
      .addColumn('key_destroyed_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_tenant').on('sessions').column('tenant_id').execute();
    await db.schema.createIndex('sessions_status_expiry').on('sessions').columns(['status', 'expires_at']).execute();

    await db.schema
      .createTable('session_members')
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
      .addColumn('party_id', 'text', (c) => c.notNull().references('parties.party_id'))
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('session_members_pk', ['session_id', 'party_id'])
      .execute();
    await db.schema.createIndex('session_members_tenant').on('session_members').column('tenant_id').execute();

    await db.schema
      .createTable('submissions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
      .addColumn('party_id', 'text', (c) => c.notNull().references('parties.party_id'))
      .addColumn('blob_hash', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('commitment', 'text', (c) => c.notNull())
      .addColumn('commitment_scheme', 'text', (c) => c.notNull())
      .addColumn('data_schema', 'text', (c) => c.notNull())
      .addColumn('record_count', 'integer', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('deleted_at', 'text')
      .addUniqueConstraint('submissions_session_party', ['session_id', 'party_id'])
      .execute();
    await db.schema.createIndex('submissions_blob').on('submissions').column('blob_hash').execute();

    await db.schema
      .createTable('consents')
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
      .addColumn('party_id', 'text', (c) => c.notNull().references('parties.party_id'))
      .addColumn('consent_json', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('consents_pk', ['session_id', 'party_id'])
      .execute();

    await db.schema
      .createTable('runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('prompt', 'text', (c) => c.notNull())
      .addColumn('parameters_json', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('error_json', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('runs_status').on('runs').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('runs_session').on('runs').columns(['session_id', 'created_at']).execute();
    await db.schema
      .createIndex('runs_one_active')
      .on('runs')
      .column('session_id')
      .unique()
      .where(sql.ref('status'), 'in', sql`('queued', 'running')`)
      .execute();
    await db.schema
      .createIndex('runs_one_completed')
      .on('runs')
      .column('session_id')
      .unique()
      .where(sql.ref('status'), '=', sql.lit('completed'))
      .execute();

    await db.schema
      .createTable('results')
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
      .addColumn('party_id', 'text', (c) => c.notNull().references('parties.party_id'))
      .addColumn('sealed_blob_hash', 'text')
      .addColumn('sealed_inline', 'text')
      .addColumn('report_json', 'text', (c) => c.notNull())
      .addColumn('attestation', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('results_pk', ['session_id', 'party_id'])
      .execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('session_id', 'text')
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('actor_tenant', 'text')
      .addColumn('actor_party', 'text')
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_session').on('audit_events').columns(['session_id', 'seq']).execute();
  },
  };
}

/**
 * The verifiable audit trail (issue 3): each audit row becomes a leaf of an RFC 9162 log (its index, its
 * per-session sequence number, its canonical JSON and leaf hash), the log's perfect-subtree nodes are
 * stored as they complete, and every signed tree head is kept. Columns are added nullable (SQLite cannot
 * add NOT NULL columns); rows older than this migration stay outside the log with log_index NULL.
 */
function transparencyLog(dialect: DialectName): Migration {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // One column per statement: SQLite's ALTER TABLE adds one column at a time.
      await db.schema.alterTable('audit_events').addColumn('log_index', bigint).execute();
      await db.schema.alterTable('audit_events').addColumn('session_seq', 'integer').execute();
      await db.schema.alterTable('audit_events').addColumn('event_json', 'text').execute();
      await db.schema.alterTable('audit_events').addColumn('leaf_hash', 'text').execute();
      await db.schema.createIndex('audit_log_index').on('audit_events').column('log_index').unique().execute();
      await db.schema
        .createIndex('audit_session_seq')
        .on('audit_events')
        .columns(['session_id', 'session_seq'])
        .unique()
        .execute();

      await db.schema
        .createTable('merkle_nodes')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('idx', bigint, (c) => c.notNull())
        .addColumn('hash', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('merkle_nodes_pk', ['level', 'idx'])
        .execute();

      await db.schema
        .createTable('tree_heads')
        .addColumn('log_id', 'text', (c) => c.notNull())
        .addColumn('tree_size', bigint, (c) => c.notNull())
        .addColumn('root_hash', 'text', (c) => c.notNull())
        .addColumn('timestamp', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tree_heads_pk', ['log_id', 'tree_size'])
        .execute();
    },
  };
}

/** Where the enclave spent a completed run's time (decrypt + verify, train, report), for operators. */
function runTimings(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('timings_json', 'text').execute();
    },
  };
}

/**
 * Secure aggregation (docs/secure-aggregation.md): the round of each secure_aggregation session, the
 * relayed stage-0/1 messages (one per session, stage and party), and the survivors' unmask answers (one
 * per session, run and party, each a blob). Masked inputs are ordinary submissions.
 */
function secureAggregation(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('secagg_rounds')
        .addColumn('session_id', 'text', (c) => c.primaryKey().references('sessions.id'))
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('layout', 'text', (c) => c.notNull())
        .addColumn('vector_length', 'integer', (c) => c.notNull())
        .addColumn('stage_opened_at', 'text')
        .addColumn('stage_deadline', 'text')
        .addColumn('u1_json', 'text')
        .addColumn('u2_json', 'text')
        .addColumn('error_json', 'text')
        .addColumn('unmask_run_id', 'text')
        .addColumn('unmask_request_json', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('secagg_rounds_deadline').on('secagg_rounds').columns(['stage_deadline']).execute();

      await db.schema
        .createTable('secagg_messages')
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('party_id', 'text', (c) => c.notNull().references('parties.party_id'))
        .addColumn('message_json', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('secagg_messages_pk', ['session_id', 'stage', 'party_id'])
        .execute();

      await db.schema
        .createTable('secagg_unmask')
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('party_id', 'text', (c) => c.notNull().references('parties.party_id'))
        .addColumn('blob_hash', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addPrimaryKeyConstraint('secagg_unmask_pk', ['session_id', 'run_id', 'party_id'])
        .execute();
      await db.schema.createIndex('secagg_unmask_blob').on('secagg_unmask').column('blob_hash').execute();
    },
  };
}

/**
 * mpc (docs/mpc.md): every preprocessing (prep id) the host handed to a run, recorded before the run starts.
 * A prep's Beaver triples serve one run: a node that sat out a run keeps the prep, so the host, not the
 * nodes, remembers which preps are spent and never chooses one again.
 */
function mpcPrepsUsed(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('mpc_preps_used')
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
        .addColumn('prep_id', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('mpc_preps_used_pk', ['session_id', 'prep_id'])
        .execute();
    },
  };
}

/** The migrations of one dialect, in order of their names. */
export function createMigrationProvider(dialect: DialectName): MigrationProvider {
  return {
    async getMigrations() {
      return {
        '0001_initial': initial(dialect),
        '0002_transparency_log': transparencyLog(dialect),
        '0003_run_timings': runTimings(),
        '0004_secure_aggregation': secureAggregation(),
        '0005_mpc_preps_used': mpcPrepsUsed(),
      };
    },
  };
}
