// Binds the product doc's free variables for one party: its API key, tenant and key file, through the
// environment the SDK reads its defaults from (TENZRO_API_KEY, TENZRO_TENANT_ID, TENZRO_PARTY_KEY, ...).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DevParty, PlatformProcess } from './platform-process.js';

export function actAs(platform: PlatformProcess, party: DevParty): void {
  const keyFile = join(platform.dataDir, `${party.partyId.replaceAll('::', '_')}.key.json`);
  writeFileSync(
    keyFile,
    JSON.stringify({ partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey }),
    { mode: 0o600 },
  );
  process.env.TENZRO_API_KEY = party.apiKey;
  process.env.TENZRO_TENANT_ID = party.tenantId;
  process.env.TENZRO_PARTY_KEY = keyFile;
  process.env.TENZRO_BASE_URL = platform.baseUrl;
  process.env.TENZRO_CREDENTIALS = join(platform.dataDir, 'dev', 'credentials.json');
}
