/**
 * `TenzroPlatform`: the SDK's entry point, as the product doc constructs it
 * (`new TenzroPlatform({ apiKey, tenantId })`). Under Node it fills what the caller leaves out from the
 * environment: `TENZRO_BASE_URL`, the party key file named by `TENZRO_PARTY_KEY`, and the development
 * credentials (`TENZRO_CREDENTIALS`, else `${TENZRO_DATA_DIR ?? '.tenzro'}/dev/credentials.json`), which
 * name the simulated enclave's root and measurement. In a browser there are no defaults.
 */
import { fromBase64Url } from '@tenzro/crypto';
import {
  EnclaveInfoResponse,
  PartyResponse,
  TENANT_ID_PATTERN,
  tenantOfParty,
  type EnclaveInfoResponse as EnclaveInfoResponseType,
  type PartyResponse as PartyResponseType,
} from '@tenzro/protocol';
import { MultiPartyAi } from './ai.js';
import { AuditClient } from './audit/client.js';
import { AUDIT_STORE_METHODS, MemoryAuditStore, type AuditStore } from './audit/store.js';
import { loadDefaultPartyKeyFile, loadDevCredentials, readEnv, type DevCredentialsFile } from './defaults.js';
import { HttpClient, segment, type FetchLike } from './http.js';
import { openPartyKeys, parsePartyKeyFile, type PartyIdentity, type PartyKeys } from './identity.js';
import { DEFAULT_ATTESTATION_MAX_AGE_MS, trustedRoots, type TrustSettings } from './trust.js';
import { MemorySecAggStateStore, SECAGG_STATE_STORE_METHODS, type SecAggStateStore } from './secagg/state.js';

export const DEFAULT_BASE_URL = 'http://localhost:8787';

export interface TenzroPlatformOptions {
  apiKey: string;
  tenantId: string;
  /** Default: env TENZRO_BASE_URL, else the development credentials' baseUrl, else http://localhost:8787. */
  baseUrl?: string;
  /** The acting party: its identity (key file content, as an object or JSON text). Default: the key file
   *  whose path is in env TENZRO_PARTY_KEY, if set. */
  party?: PartyIdentity | string;
  /** Root certificates (PEM) to trust besides the AWS Nitro root G1, which is always trusted.
   *  Default: the simulated root named in the development credentials, if present. */
  trustedRoots?: string[];
  /** Accepted enclave measurements (hex of PCR0). Default: the development credentials' measurement,
   *  if present. With neither, verifying a key or a result refuses (ConfigurationError
   *  `no_expected_measurement`): an unpinned measurement would accept any enclave code. */
  expectedMeasurements?: string[];
  /** Accepted mpc compute-node measurements (hex of PCR0, what `tenzro mpc-node measure` prints). Default:
   *  the development credentials' `attestation.mpcNodeMeasurement`, if present. With neither, contributing
   *  to an mpc session refuses (ConfigurationError `no_expected_measurement`), in every mode: shares of a
   *  party's data are sealed only to nodes whose documents verify. */
  expectedMpcNodeMeasurements?: string[];
  fetch?: typeof fetch;
  /** The clock attestation certificates are checked against (default: the system clock). */
  now?: () => Date;
  /** The oldest a session key's attestation document may be, in ms (default 10 minutes): the host has the
   *  enclave issue a fresh one per request. Result attestations are checked at their own timestamp instead. */
  attestationMaxAgeMs?: number;
  /**
   * INSECURE, for local experiments only (default false). When true, a key or result whose attestation
   * chains to a root the SDK does not trust, or that is checked without a pinned measurement, is returned
   * marked `verified: false` instead of refused (`contribute` still refuses such a key). Nothing the host
   * sends — session terms included — can turn verification off; only this local option can.
   */
  insecureAcceptUnverifiedAttestation?: boolean;
  /** The audit log's Ed25519 public key (base64url or 32 bytes), pinned out of band. Default: the key the
   *  host publishes at /.well-known/tenzro-log-key, checked against its logId and remembered. */
  logPublicKey?: string | Uint8Array;
  /** Where `platform.audit` keeps the last tree head it saw and the party's own commitments
   *  (default: a MemoryAuditStore; under Node, `new FileAuditStore(path)` keeps them across runs). */
  auditStore?: AuditStore;
  /** Where the client role of secure aggregation keeps each session's state between stages: stage key
   *  pairs, the self-mask seed, the shares held for other parties, and each message before it is sent
   *  (default: a MemorySecAggStateStore, lost with the process). It holds secrets: keep it private. */
  secAggStateStore?: SecAggStateStore;
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`options.${name} must be a non-empty string`);
  return value;
}

/** A non-empty list of PCR0 hex values (lowercased), or undefined when the option is absent. */
function measurementsOption(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`options.${name} must be a non-empty array of hex strings`);
  return value.map((m: unknown, i) => {
    if (typeof m !== 'string' || !/^(?:[0-9a-fA-F]{2}){32,64}$/.test(m)) throw new TypeError(`options.${name}[${i}] must be the hex of a PCR0 value`);
    return m.toLowerCase();
  });
}

function auditStoreOption(store: unknown): AuditStore {
  if (store === undefined) return new MemoryAuditStore();
  if (typeof store !== 'object' || store === null) throw new TypeError('options.auditStore must be an AuditStore object');
  const missing = AUDIT_STORE_METHODS.filter((m) => typeof (store as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new TypeError(`options.auditStore must be an AuditStore: missing ${missing.join(', ')}`);
  return store as AuditStore;
}

function secAggStateStoreOption(store: unknown): SecAggStateStore {
  if (store === undefined) return new MemorySecAggStateStore();
  if (typeof store !== 'object' || store === null) throw new TypeError('options.secAggStateStore must be a SecAggStateStore object');
  const missing = SECAGG_STATE_STORE_METHODS.filter((m) => typeof (store as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new TypeError(`options.secAggStateStore must be a SecAggStateStore: missing ${missing.join(', ')}`);
  return store as SecAggStateStore;
}

function logPublicKeyOption(key: unknown): Uint8Array | undefined {
  if (key === undefined) return undefined;
  let bytes: Uint8Array;
  if (typeof key === 'string') {
    try {
      bytes = fromBase64Url(key, 'options.logPublicKey');
    } catch {
      throw new TypeError('options.logPublicKey must be base64url');
    }
  } else if (key instanceof Uint8Array) bytes = new Uint8Array(key);
  else throw new TypeError('options.logPublicKey must be a base64url string or a Uint8Array');
  if (bytes.length !== 32) throw new RangeError(`options.logPublicKey must be a 32-byte Ed25519 public key, got ${bytes.length} bytes`);
  return bytes;
}

export class TenzroPlatform {
  /** Multi-party inference: sessions, keys, data, consent, runs and results. */
  readonly ai: MultiPartyAi;
  /** The verifiable audit trail: tree heads, session trails with proofs, and `verifySession`. */
  readonly audit: AuditClient;
  readonly baseUrl: string;
  readonly tenantId: string;
  /** The acting party's id, when the SDK has a party. */
  readonly partyId: string | undefined;
  readonly #http: HttpClient;
  readonly #party: Promise<PartyKeys | undefined>;

  constructor(options: TenzroPlatformOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const apiKey = requireString(options.apiKey, 'apiKey');
    const tenantId = requireString(options.tenantId, 'tenantId');
    if (!TENANT_ID_PATTERN.test(tenantId)) throw new TypeError('options.tenantId is not a valid tenant id');

    const needsCredentials =
      options.baseUrl === undefined ||
      options.trustedRoots === undefined ||
      options.expectedMeasurements === undefined ||
      options.expectedMpcNodeMeasurements === undefined;
    const credentials: DevCredentialsFile | undefined = needsCredentials ? loadDevCredentials() : undefined;

    const baseUrl = options.baseUrl ?? readEnv('TENZRO_BASE_URL') ?? credentials?.baseUrl ?? DEFAULT_BASE_URL;
    if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) throw new TypeError('options.baseUrl must be an http(s) URL');

    if (options.trustedRoots !== undefined && !Array.isArray(options.trustedRoots)) {
      throw new TypeError('options.trustedRoots must be an array of PEM strings');
    }
    const extraRoots =
      options.trustedRoots !== undefined
        ? [...options.trustedRoots]
        : credentials?.attestation?.rootPem
          ? [credentials.attestation.rootPem]
          : [];
    const expectedMeasurements =
      measurementsOption(options.expectedMeasurements, 'expectedMeasurements') ??
      (credentials?.attestation?.measurement ? [credentials.attestation.measurement.toLowerCase()] : undefined);
    const expectedMpcNodeMeasurements =
      measurementsOption(options.expectedMpcNodeMeasurements, 'expectedMpcNodeMeasurements') ??
      (credentials?.attestation?.mpcNodeMeasurement ? [credentials.attestation.mpcNodeMeasurement.toLowerCase()] : undefined);
    const now = options.now ?? ((): Date => new Date());
    if (typeof now !== 'function') throw new TypeError('options.now must be a function returning a Date');
    const attestationMaxAgeMs = options.attestationMaxAgeMs ?? DEFAULT_ATTESTATION_MAX_AGE_MS;
    if (typeof attestationMaxAgeMs !== 'number' || !Number.isFinite(attestationMaxAgeMs) || attestationMaxAgeMs <= 0) {
      throw new RangeError('options.attestationMaxAgeMs must be a positive number of milliseconds');
    }
    const insecure = options.insecureAcceptUnverifiedAttestation ?? false;
    if (typeof insecure !== 'boolean') throw new TypeError('options.insecureAcceptUnverifiedAttestation must be a boolean');
    const trust: TrustSettings = {
      roots: trustedRoots(extraRoots),
      expectedMeasurements,
      expectedMpcNodeMeasurements,
      now,
      attestationMaxAgeMs,
      insecureAcceptUnverifiedAttestation: insecure,
    };

    const partySource: unknown = options.party !== undefined ? options.party : loadDefaultPartyKeyFile();
    const identity = partySource === undefined ? undefined : parsePartyKeyFile(partySource);
    if (identity && tenantOfParty(identity.partyId) !== tenantId) {
      throw new TypeError(`options.party: ${identity.partyId} does not belong to tenant ${tenantId}`);
    }
    this.#party = identity ? openPartyKeys(identity) : Promise.resolve(undefined);
    // Observed at every use; marking it handled here keeps a bad key file from crashing the process early.
    this.#party.catch(() => undefined);

    const explicitFetch = options.fetch;
    if (explicitFetch !== undefined && typeof explicitFetch !== 'function') throw new TypeError('options.fetch must be a function');
    // The global fetch is looked up per call (not captured), so a fetch installed later is honoured.
    const boundFetch: FetchLike = (input, init) => {
      const fetchImpl = explicitFetch ?? globalThis.fetch;
      if (typeof fetchImpl !== 'function') throw new TypeError('no fetch is available: pass options.fetch');
      return fetchImpl(input, init);
    };

    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.tenantId = tenantId;
    this.partyId = identity?.partyId;
    this.#http = new HttpClient({ baseUrl: this.baseUrl, apiKey, tenantId, fetch: boundFetch, partyId: identity?.partyId });
    const auditStore = auditStoreOption(options.auditStore);
    const secAggStateStore = secAggStateStoreOption(options.secAggStateStore);
    this.ai = new MultiPartyAi({
      http: this.#http,
      trust,
      party: () => this.#party,
      recordCommitment: (sessionId, partyId, commitment) => auditStore.putCommitment(sessionId, partyId, commitment),
      // A result this client opened must stay in the log: verifySession fails if the host later hides it.
      recordReport: (sessionId, reportHash) => auditStore.putSessionMemory(sessionId, { reportHash }),
      secAggStateStore,
    });
    this.audit = new AuditClient({
      http: this.#http,
      trust,
      store: auditStore,
      logPublicKey: logPublicKeyOption(options.logPublicKey),
      partyId: async () => (await this.#party)?.partyId,
      openResult: async (sessionId, signal) => (await this.ai.getSessionResult(sessionId, signal ? { signal } : {})).report,
    });
  }

  /** Registers a party of this tenant with its public keys (the private halves are never sent). */
  async registerParty(identity: PartyIdentity | { partyId: string; signingKey: { publicKey: string }; encryptionKey: { publicKey: string } }): Promise<PartyResponseType> {
    if (typeof identity !== 'object' || identity === null) throw new TypeError('identity must be an object');
    const body = {
      partyId: identity.partyId,
      signingKey: identity.signingKey?.publicKey,
      encryptionKey: identity.encryptionKey?.publicKey,
    };
    await this.#party;
    return this.#http.request('POST', '/v1/parties', PartyResponse, { json: body });
  }

  /** A registered party's public keys. */
  async getParty(partyId: string): Promise<PartyResponseType> {
    await this.#party;
    return this.#http.request('GET', `/v1/parties/${segment(partyId, 'partyId')}`, PartyResponse);
  }

  /** The enclave's provider, measurement and (for the simulated provider) root, as the host reports them.
   *  This is the host's word: pin the root and measurement out of band before trusting them. */
  async getEnclaveInfo(): Promise<EnclaveInfoResponseType> {
    await this.#party;
    return this.#http.request('GET', '/v1/enclave', EnclaveInfoResponse);
  }
}
