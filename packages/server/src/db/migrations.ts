/**
 * Schema migrations, provided in code (no files to ship). Each migration is written with Kysely's schema
 * builder so it runs on every dialect; the partial unique indexes (SQLite and PostgreSQL both have them)
 * make "one active run per session" and "one completed run per session" database invariants.
 */
import { sql, type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectName } from './dialect.js';

/** What `addColumn` takes as a type: a type name, or an expression. */
type DataTypeExpression = Parameters<CreateTableBuilder<string, never>['addColumn']>[1];

interface ColumnTypes {
  text: DataTypeExpression;
  integer: DataTypeExpression;
  bytes: DataTypeExpression;
}

/**
 * The column types of a dialect, chosen so both behave as SQLite does. On PostgreSQL, text compares and
 * sorts bytewise (collation "C", as SQLite's BINARY), whatever the database's locale, so `orderBy` on ids
 * and ISO timestamps gives the same order on both; every integer is int8 (SQLite's INTEGER is 64-bit:
 * sizes in bytes pass 2^31), read back as a number by the pool's type parser (dialect.ts).
 */
function columnTypes(dialect: DialectName): ColumnTypes {
  switch (dialect) {
    case 'sqlite':
      return { text: 'text', integer: 'integer', bytes: 'blob' };
    case 'postgres':
      return { text: sql`text collate "C"`, integer: 'bigint', bytes: 'bytea' };
  }
}

function initial(dialect: DialectName): Migration {
  const t = columnTypes(dialect);
  return {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('tenants')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('created_at', t.text, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('tenant_id', t.text, (c) => c.notNull().references('tenants.id'))
      .addColumn('key_hash', t.text, (c) => c.notNull().unique())
      .addColumn('created_at', t.text, (c) => c.notNull())
      .addColumn('revoked_at', t.text)
      .execute();

    await db.schema
      .createTable('parties')
      .addColumn('party_id', t.text, (c) => c.primaryKey())
      .addColumn('tenant_id', t.text, (c) => c.notNull().references('tenants.id'))
      .addColumn('signing_key', t.text, (c) => c.notNull())
      .addColumn('encryption_key', t.text, (c) => c.notNull())
      .addColumn('created_at', t.text, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('parties_tenant').on('parties').column('tenant_id').execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('tenant_id', t.text, (c) => c.notNull().references('tenants.id'))
      .addColumn('terms_json', t.text, (c) => c.notNull())
      .addColumn('join_code', t.text, (c) => c.notNull().unique())
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('expires_at', t.text, (c) => c.notNull())
      .addColumn('sealed_key', t.text)
      .addColumn('public_key', t.text, (c) => c.notNull())
      .addColumn('suite', t.text, (c) => c.notNull())
      .addColumn('attestation', t.text, (c) => c.notNull())
      .addColumn('key_destroyed_at', t.text)
      .addColumn('created_at', t.text, (c) => c.notNull())
      .addColumn('updated_at', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_tenant').on('sessions').column('tenant_id').execute();
    await db.schema.createIndex('sessions_status_expiry').on('sessions').columns(['status', 'expires_at']).execute();

    await db.schema
      .createTable('session_members')
      .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
      .addColumn('party_id', t.text, (c) => c.notNull().references('parties.party_id'))
      .addColumn('tenant_id', t.text, (c) => c.notNull().references('tenants.id'))
      .addColumn('role', t.text, (c) => c.notNull())
      .addPrimaryKeyConstraint('session_members_pk', ['session_id', 'party_id'])
      .execute();
    await db.schema.createIndex('session_members_tenant').on('session_members').column('tenant_id').execute();

    await db.schema
      .createTable('submissions')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
      .addColumn('party_id', t.text, (c) => c.notNull().references('parties.party_id'))
      .addColumn('blob_hash', t.text, (c) => c.notNull())
      .addColumn('size', t.integer, (c) => c.notNull())
      .addColumn('commitment', t.text, (c) => c.notNull())
      .addColumn('commitment_scheme', t.text, (c) => c.notNull())
      .addColumn('data_schema', t.text, (c) => c.notNull())
      .addColumn('record_count', t.integer, (c) => c.notNull())
      .addColumn('received_at', t.text, (c) => c.notNull())
      .addColumn('deleted_at', t.text)
      .addUniqueConstraint('submissions_session_party', ['session_id', 'party_id'])
      .execute();
    await db.schema.createIndex('submissions_blob').on('submissions').column('blob_hash').execute();

    await db.schema
      .createTable('consents')
      .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
      .addColumn('party_id', t.text, (c) => c.notNull().references('parties.party_id'))
      .addColumn('consent_json', t.text, (c) => c.notNull())
      .addColumn('signature', t.text, (c) => c.notNull())
      .addColumn('received_at', t.text, (c) => c.notNull())
      .addPrimaryKeyConstraint('consents_pk', ['session_id', 'party_id'])
      .execute();

    await db.schema
      .createTable('runs')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('prompt', t.text, (c) => c.notNull())
      .addColumn('parameters_json', t.text, (c) => c.notNull())
      .addColumn('attempts', t.integer, (c) => c.notNull())
      .addColumn('error_json', t.text)
      .addColumn('lease_until', t.text)
      .addColumn('created_at', t.text, (c) => c.notNull())
      .addColumn('finished_at', t.text)
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
      .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
      .addColumn('run_id', t.text, (c) => c.notNull().references('runs.id'))
      .addColumn('party_id', t.text, (c) => c.notNull().references('parties.party_id'))
      .addColumn('sealed_blob_hash', t.text)
      .addColumn('sealed_inline', t.text)
      .addColumn('report_json', t.text, (c) => c.notNull())
      .addColumn('attestation', t.text, (c) => c.notNull())
      .addColumn('created_at', t.text, (c) => c.notNull())
      .addPrimaryKeyConstraint('results_pk', ['session_id', 'party_id'])
      .execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('session_id', t.text)
      .addColumn('type', t.text, (c) => c.notNull())
      .addColumn('actor_tenant', t.text)
      .addColumn('actor_party', t.text)
      .addColumn('payload_json', t.text, (c) => c.notNull())
      .addColumn('at', t.text, (c) => c.notNull())
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
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // One column per statement: SQLite's ALTER TABLE adds one column at a time.
      await db.schema.alterTable('audit_events').addColumn('log_index', t.integer).execute();
      await db.schema.alterTable('audit_events').addColumn('session_seq', t.integer).execute();
      await db.schema.alterTable('audit_events').addColumn('event_json', t.text).execute();
      await db.schema.alterTable('audit_events').addColumn('leaf_hash', t.text).execute();
      await db.schema.createIndex('audit_log_index').on('audit_events').column('log_index').unique().execute();
      await db.schema
        .createIndex('audit_session_seq')
        .on('audit_events')
        .columns(['session_id', 'session_seq'])
        .unique()
        .execute();

      await db.schema
        .createTable('merkle_nodes')
        .addColumn('level', t.integer, (c) => c.notNull())
        .addColumn('idx', t.integer, (c) => c.notNull())
        .addColumn('hash', t.bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('merkle_nodes_pk', ['level', 'idx'])
        .execute();

      await db.schema
        .createTable('tree_heads')
        .addColumn('log_id', t.text, (c) => c.notNull())
        .addColumn('tree_size', t.integer, (c) => c.notNull())
        .addColumn('root_hash', t.text, (c) => c.notNull())
        .addColumn('timestamp', t.text, (c) => c.notNull())
        .addColumn('signature', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('tree_heads_pk', ['log_id', 'tree_size'])
        .execute();
    },
  };
}

/** Where the enclave spent a completed run's time (decrypt + verify, train, report), for operators. */
function runTimings(dialect: DialectName): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('timings_json', t.text).execute();
    },
  };
}

/**
 * Secure aggregation (docs/secure-aggregation.md): the round of each secure_aggregation session, the
 * relayed stage-0/1 messages (one per session, stage and party), and the survivors' unmask answers (one
 * per session, run and party, each a blob). Masked inputs are ordinary submissions.
 */
function secureAggregation(dialect: DialectName): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('secagg_rounds')
        .addColumn('session_id', t.text, (c) => c.primaryKey().references('sessions.id'))
        .addColumn('stage', t.text, (c) => c.notNull())
        .addColumn('layout', t.text, (c) => c.notNull())
        .addColumn('vector_length', t.integer, (c) => c.notNull())
        .addColumn('stage_opened_at', t.text)
        .addColumn('stage_deadline', t.text)
        .addColumn('u1_json', t.text)
        .addColumn('u2_json', t.text)
        .addColumn('error_json', t.text)
        .addColumn('unmask_run_id', t.text)
        .addColumn('unmask_request_json', t.text)
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addColumn('version', t.integer, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('secagg_rounds_deadline').on('secagg_rounds').columns(['stage_deadline']).execute();

      await db.schema
        .createTable('secagg_messages')
        .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
        .addColumn('stage', t.text, (c) => c.notNull())
        .addColumn('party_id', t.text, (c) => c.notNull().references('parties.party_id'))
        .addColumn('message_json', t.text, (c) => c.notNull())
        .addColumn('received_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('secagg_messages_pk', ['session_id', 'stage', 'party_id'])
        .execute();

      await db.schema
        .createTable('secagg_unmask')
        .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
        .addColumn('run_id', t.text, (c) => c.notNull().references('runs.id'))
        .addColumn('party_id', t.text, (c) => c.notNull().references('parties.party_id'))
        .addColumn('blob_hash', t.text, (c) => c.notNull())
        .addColumn('size', t.integer, (c) => c.notNull())
        .addColumn('received_at', t.text, (c) => c.notNull())
        .addColumn('deleted_at', t.text)
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
function mpcPrepsUsed(dialect: DialectName): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('mpc_preps_used')
        .addColumn('session_id', t.text, (c) => c.notNull().references('sessions.id'))
        .addColumn('prep_id', t.text, (c) => c.notNull())
        .addColumn('used_at', t.text, (c) => c.notNull())
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
        '0003_run_timings': runTimings(dialect),
        '0004_secure_aggregation': secureAggregation(dialect),
        '0005_mpc_preps_used': mpcPrepsUsed(dialect),
      };
    },
  };
}
