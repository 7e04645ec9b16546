/**
 * Development bootstrap (DESIGN §4): on a fresh database in development, creates the demo tenants bankA,
 * bankB, bankC and regulator (and the use-case demos' vendorA–C and hospitalA–C), one API key each, and one party each with freshly generated Ed25519 and
 * X25519 key pairs, and writes everything a demo client needs to `<dataDir>/dev/credentials.json` (0600).
 * These are demo identities made on the operator's machine for convenience; in production there are no
 * default credentials and tenants come from POST /v1/admin/tenants.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEncryptionKeyPair, generateSigningKeyPair, toBase64Url } from '@tenzro/crypto';
import type { Context } from './context.js';
import { registerParty } from './domain/parties.js';
import { createTenant } from './domain/tenants.js';
import type { EnclaveInfo } from './enclave-client.js';
import { countTenants } from './repositories/tenants.js';

export const DEMO_PARTIES = [
  { tenantId: 'bankA', partyId: 'party::bankA::treasury' },
  { tenantId: 'bankB', partyId: 'party::bankB::treasury' },
  { tenantId: 'bankC', partyId: 'party::bankC::treasury' },
  { tenantId: 'regulator', partyId: 'party::regulator::compliance' },
  // the use-case demos' organisations (`tenzro demo --use-case supply-chain | healthcare-research`)
  { tenantId: 'vendorA', partyId: 'party::vendorA::planning' },
  { tenantId: 'vendorB', partyId: 'party::vendorB::planning' },
  { tenantId: 'vendorC', partyId: 'party::vendorC::planning' },
  { tenantId: 'hospitalA', partyId: 'party::hospitalA::research' },
  { tenantId: 'hospitalB', partyId: 'party::hospitalB::research' },
  { tenantId: 'hospitalC', partyId: 'party::hospitalC::research' },
] as const;

export interface DevKeyPair {
  publicKey: string;
  privateKey: string;
}

export interface DevCredentials {
  baseUrl: string;
  /**
   * The enclave's simulated root and measurement; `mpcNodeMeasurement` is the compute nodes' (this
   * checkout's node bundle, measureNodeBundle), which the SDK pins for mpc sessions.
   */
  attestation: { rootPem: string | null; measurement: string | null; mpcNodeMeasurement?: string | null };
  parties: Array<{
    partyId: string;
    tenantId: string;
    apiKey: string;
    signingKey: DevKeyPair;
    encryptionKey: DevKeyPair;
  }>;
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'dev', 'credentials.json');
}

async function writeCredentials(path: string, credentials: DevCredentials): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/**
 * One party key file per demo party beside the credentials (`<dir>/party__bankA__treasury.key.json`), in the
 * format `TENZRO_PARTY_KEY` and `tenzro keygen` use, so the SDK can be pointed at one directly.
 */
async function writePartyKeyFiles(path: string, credentials: DevCredentials): Promise<void> {
  for (const party of credentials.parties) {
    const file = join(path, '..', `${party.partyId.replaceAll('::', '__')}.key.json`);
    const keyFile = { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey };
    await writeFile(file, JSON.stringify(keyFile, null, 2) + '\n', { mode: 0o600 });
    await chmod(file, 0o600);
  }
}

/** Creates the demo tenants and parties when the database has no tenants; returns the file it wrote. */
export async function bootstrapDevelopment(ctx: Context, baseUrl: string): Promise<string | undefined> {
  if (ctx.config.environment !== 'development') return undefined;
  const path = credentialsPath(ctx.config.dataDir);
  if ((await countTenants(ctx.db)) > 0) {
    if (existsSync(path)) {
      await refreshCredentials(path, { baseUrl, info: ctx.enclave.info(), mpcNodeMeasurement: (await ctx.mpc.measurement()) ?? null });
    }
    // Several instances on one database: the instance that created the tenants holds the file.
    else ctx.logger.info({ path }, 'development tenants exist; their credentials file is in the data directory of the instance that created them');
    return existsSync(path) ? path : undefined;
  }
  const info = ctx.enclave.info();
  const credentials: DevCredentials = {
    baseUrl,
    attestation: {
      rootPem: info?.rootPem ?? null,
      measurement: info?.measurement ?? null,
      mpcNodeMeasurement: (await ctx.mpc.measurement()) ?? null,
    },
    parties: [],
  };
  for (const demo of DEMO_PARTIES) {
    const { apiKey } = await createTenant(ctx, demo.tenantId);
    const signing = generateSigningKeyPair();
    const encryption = await generateEncryptionKeyPair();
    await registerParty(
      ctx,
      { tenantId: demo.tenantId, apiKeyId: 'bootstrap' },
      { partyId: demo.partyId, signingKey: toBase64Url(signing.publicKey), encryptionKey: toBase64Url(encryption.publicKey) },
    );
    credentials.parties.push({
      partyId: demo.partyId,
      tenantId: demo.tenantId,
      apiKey,
      signingKey: { publicKey: toBase64Url(signing.publicKey), privateKey: toBase64Url(signing.privateKey.expose()) },
      encryptionKey: { publicKey: toBase64Url(encryption.publicKey), privateKey: toBase64Url(encryption.privateKey.expose()) },
    });
    signing.privateKey.destroy();
    encryption.privateKey.destroy();
  }
  await writeCredentials(path, credentials);
  await writePartyKeyFiles(path, credentials);
  ctx.logger.info({ path }, 'development tenants created; their API keys and party keys are in this file');
  return path;
}

let refreshes: Promise<void> = Promise.resolve();

/**
 * Rewrites the base URL and the enclave's attestation root and measurement in an existing file. Refreshes
 * are serialised (a restarted enclave's hello may race the startup refresh).
 */
export interface CredentialsUpdate {
  baseUrl?: string | undefined;
  info?: EnclaveInfo | undefined;
  mpcNodeMeasurement?: string | null | undefined;
}

export function refreshCredentials(path: string, update: CredentialsUpdate): Promise<void> {
  const next = refreshes.then(() => refreshOnce(path, update));
  refreshes = next.catch(() => undefined);
  return next;
}

async function refreshOnce(path: string, update: CredentialsUpdate): Promise<void> {
  if (!existsSync(path)) return;
  const credentials = JSON.parse(await readFile(path, 'utf8')) as DevCredentials;
  if (update.baseUrl !== undefined) credentials.baseUrl = update.baseUrl;
  // The node measurement is kept when only the enclave's root and measurement change.
  if (update.info) credentials.attestation = { ...credentials.attestation, rootPem: update.info.rootPem, measurement: update.info.measurement };
  if (update.mpcNodeMeasurement !== undefined) credentials.attestation = { ...credentials.attestation, mpcNodeMeasurement: update.mpcNodeMeasurement };
  await writeCredentials(path, credentials);
}
