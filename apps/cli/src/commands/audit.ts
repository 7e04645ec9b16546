/**
 * `tenzro audit verify <sessionId>`: runs `platform.audit.verifySession` as one party of the development
 * credentials and prints every check (✓ passed, ✗ failed, – not applicable); exit status 1 when a check
 * fails. `tenzro audit watch`: polls the log's signed tree heads, checks each one's signature and its
 * consistency with the previous one, prints it, and stops with exit status 2 on a fork (two heads of one
 * size with different roots, a head smaller than one seen, or a pair without a valid consistency proof)
 * or a changed log key (a host that serves another key than the first one this store saw starts a new
 * history that nothing checks against the old one).
 *
 * Trust comes from this checkout, not from the host: the simulated root from the development credentials
 * and the measurement `tenzro measure` computes. The last head seen, the host's log key, the party's
 * commitments and what it saw of each session are kept in a file store (default
 * `$TENZRO_DATA_DIR/client/audit-store.json`), so consistency holds across runs.
 */
import { join } from 'node:path';
import { AuditLogError, FileAuditStore, TenzroPlatform, type CheckOutcome, type SignedTreeHead } from '@tenzro/platform';
import { credentialsPath, partyOf, readDevCredentials, type DevCredentials, type DevParty } from '../credentials.js';
import { measure } from './measure.js';

export interface AuditCommonOptions {
  /** The acting party (default: the first bank in the credentials). */
  party?: string;
  baseUrl?: string;
  credentials?: string;
  /** The audit store file. */
  store?: string;
}

export interface AuditVerifyOptions extends AuditCommonOptions {
  /** The commitment this party submitted, when the store does not hold it. */
  commitment?: string;
}

export interface AuditWatchOptions extends AuditCommonOptions {
  /** Seconds between polls. */
  interval: number;
  /** Stop after this many heads (default: never). */
  count?: number;
}

const MARK: Record<CheckOutcome['status'], string> = { passed: '✓', failed: '✗', not_applicable: '–' };

export function defaultAuditStorePath(): string {
  return join(process.env.TENZRO_DATA_DIR ?? '.tenzro', 'client', 'audit-store.json');
}

function choose(credentials: DevCredentials, partyId: string | undefined): DevParty {
  if (partyId !== undefined) return partyOf(credentials, partyId);
  const bank = credentials.parties.find((p) => p.tenantId.startsWith('bank')) ?? credentials.parties[0];
  if (!bank) throw new Error('the development credentials name no party');
  return bank;
}

function platformFor(options: AuditCommonOptions): { platform: TenzroPlatform; party: DevParty; storePath: string } {
  const credentials = readDevCredentials(options.credentials ?? credentialsPath());
  const party = choose(credentials, options.party);
  const storePath = options.store ?? defaultAuditStorePath();
  const platform = new TenzroPlatform({
    apiKey: party.apiKey,
    tenantId: party.tenantId,
    baseUrl: options.baseUrl ?? process.env.TENZRO_BASE_URL ?? credentials.baseUrl,
    party: { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey },
    trustedRoots: [credentials.attestation.rootPem],
    expectedMeasurements: [measure()],
    auditStore: new FileAuditStore(storePath),
  });
  return { platform, party, storePath };
}

/** Prints the verdict; returns the exit status (0 when every check passed or did not apply, else 1). */
export async function auditVerify(sessionId: string, options: AuditVerifyOptions = {}): Promise<number> {
  const { platform, party } = platformFor(options);
  const verdict = await platform.audit.verifySession(sessionId, options.commitment ? { ownCommitment: options.commitment } : {});
  console.log(`audit of ${verdict.sessionId} as ${party.partyId} (tree size ${verdict.treeSize})`);
  const width = Math.max(...verdict.checks.map((c) => c.check.length));
  for (const check of verdict.checks) {
    console.log(`${MARK[check.status]} ${check.check.padEnd(width)}  ${check.detail}`);
  }
  if (verdict.ok) {
    console.log('verdict: every check passed or did not apply');
    return 0;
  }
  console.log(`verdict: FAILED at ${verdict.firstFailure!.check}: ${verdict.firstFailure!.detail}`);
  return 1;
}

function describeHead(head: SignedTreeHead): string {
  return `size ${head.treeHead.treeSize} root ${head.treeHead.rootHash} signed ${head.treeHead.timestamp}`;
}

/**
 * Polls until a fork or a changed log key is seen (returns 2), a head fails its signature (returns 1), or
 * `count` heads were printed (returns 0). A host that does not answer is reported and polled again.
 */
export async function auditWatch(options: AuditWatchOptions): Promise<number> {
  if (!Number.isFinite(options.interval) || options.interval <= 0) throw new RangeError('--interval must be a positive number of seconds');
  const { platform, storePath } = platformFor(options);
  console.log(`watching the audit log at ${platform.baseUrl} every ${options.interval} s (last head kept in ${storePath})`);
  let seen = 0;
  let last: string | undefined;
  for (;;) {
    try {
      const head = await platform.audit.getTreeHead();
      const line = describeHead(head);
      if (line !== last) console.log(`head ${line}`);
      last = line;
      seen++;
      if (options.count !== undefined && seen >= options.count) return 0;
    } catch (error) {
      if (error instanceof AuditLogError && error.code === 'tree_head_inconsistent') {
        console.log(`FORK (${error.reason}): ${error.message}`);
        if (error.previous) console.log(`  seen before: ${describeHead(error.previous)}`);
        if (error.current) console.log(`  served now:  ${describeHead(error.current)}`);
        return 2;
      }
      if (error instanceof AuditLogError && error.code === 'log_key_mismatch') {
        console.log(`LOG KEY CHANGED [log_key_mismatch]: ${error.message}`);
        return 2;
      }
      if (error instanceof AuditLogError) {
        console.log(`REFUSED [${error.code}]: ${error.message}`);
        return 1;
      }
      const err = error as { code?: string; message?: string };
      console.log(`no head (${err.code ?? 'error'}): ${err.message ?? String(error)}; retrying`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
  }
}
