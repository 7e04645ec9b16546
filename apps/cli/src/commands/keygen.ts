// `tenzro keygen <partyId>`: writes a party key file. The private keys never leave this file.
import { writeFileSync } from 'node:fs';
import { generatePartyIdentity } from '@tenzro/platform';
import { PARTY_ID_PATTERN } from '@tenzro/protocol';

export async function keygen(partyId: string, options: { out?: string; force?: boolean }): Promise<void> {
  if (!PARTY_ID_PATTERN.test(partyId)) {
    throw new Error(`partyId must look like party::<tenantId>::<name>, got ${JSON.stringify(partyId)}`);
  }
  const identity = await generatePartyIdentity(partyId);
  const out = options.out ?? `${partyId.replaceAll('::', '_')}.key.json`;
  writeFileSync(out, JSON.stringify(identity, null, 2) + '\n', { mode: 0o600, flag: options.force ? 'w' : 'wx' });
  console.log(`wrote ${out} (keep it private; register its public keys with POST /v1/parties)`);
  console.log(`  signing key:    ${identity.signingKey.publicKey}`);
  console.log(`  encryption key: ${identity.encryptionKey.publicKey}`);
}
