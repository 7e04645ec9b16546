/** What every repository function runs on: the database handle or an open transaction. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export type Executor = Kysely<Database>;
