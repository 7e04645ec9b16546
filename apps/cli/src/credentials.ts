// The development credentials file the server writes on first start (DESIGN §4 bootstrap).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevParty {
  partyId: string;
  tenantId: string;
  apiKey: string;
  signingKey: { publicKey: string; privateKey: string };
  encryptionKey: { publicKey: string; privateKey: string };
}

export interface DevCredentials {
  baseUrl: string;
  /** mpcNodeMeasurement: the development node fleet's measurement (present once the server runs mpc nodes). */
  attestation: { rootPem: string; measurement: string; mpcNodeMeasurement?: string };
  parties: DevParty[];
}

export function credentialsPath(dataDir = process.env.TENZRO_DATA_DIR ?? '.tenzro'): string {
  return process.env.TENZRO_CREDENTIALS ?? join(dataDir, 'dev', 'credentials.json');
}

export function readDevCredentials(path = credentialsPath()): DevCredentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`no development credentials at ${path}: start the server first (npm start)`);
  }
  return JSON.parse(text) as DevCredentials;
}

export function partyOf(credentials: DevCredentials, partyId: string): DevParty {
  const party = credentials.parties.find((p) => p.partyId === partyId);
  if (!party) throw new Error(`${partyId} is not in the development credentials`);
  return party;
}
