/**
 * Sign in: an API key, a party key file and the trust settings. The key file is read in this page and its
 * private keys stay in memory (the SDK signs and opens with them here; only public keys ever leave). The
 * trust settings are typed or imported from a file, never fetched from the host.
 */
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { TenzroPlatform, type PartyIdentity } from '@tenzro/platform';
import { checkTrust, readFileText, readPartyKeyFile, readTrustFromCredentials, tenantOfPartyId, type TrustInput } from './credentials.js';
import { consoleFetch } from './upload-fetch.js';
import { message } from './errors.js';

export interface SignedIn {
  platform: TenzroPlatform;
  partyId: string;
  tenantId: string;
  trust: TrustInput;
}


export function SignIn({ onSignedIn }: { onSignedIn: (session: SignedIn) => void }): ReactNode {
  const id = useId();
  const [apiKey, setApiKey] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [baseUrl, setBaseUrl] = useState(() => window.location.origin);
  const [identity, setIdentity] = useState<PartyIdentity | null>(null);
  const [keyFileError, setKeyFileError] = useState<string | null>(null);
  const [trust, setTrust] = useState<TrustInput>({ rootPem: '', measurement: '', mpcNodeMeasurement: '' });
  const [trustFileNote, setTrustFileNote] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorRef = useRef<HTMLParagraphElement>(null);

  const onKeyFile = async (file: File | undefined): Promise<void> => {
    setIdentity(null);
    setKeyFileError(null);
    if (!file) return;
    try {
      const loaded = await readPartyKeyFile(await readFileText(file));
      setIdentity(loaded);
      setTenantId((current) => (current === '' ? tenantOfPartyId(loaded.partyId) : current));
    } catch (cause) {
      setKeyFileError(`${file.name}: ${message(cause)}`);
    }
  };

  const onTrustFile = async (file: File | undefined): Promise<void> => {
    setTrustFileNote(null);
    if (!file) return;
    try {
      setTrust(readTrustFromCredentials(await readFileText(file)));
      setTrustFileNote(`Trust settings taken from ${file.name} (only its attestation fields were read).`);
    } catch (cause) {
      setTrustFileNote(`${file.name}: ${message(cause)}`);
    }
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    const errors: Record<string, string> = { ...checkTrust(trust) };
    if (apiKey.trim() === '') errors.apiKey = 'Enter your API key.';
    if (identity === null) errors.keyFile = keyFileError ?? 'Choose your party key file.';
    if (tenantId.trim() === '') errors.tenantId = 'Enter your tenant id.';
    if (!/^https?:\/\//.test(baseUrl)) errors.baseUrl = 'Enter the platform URL (http or https).';
    setFieldErrors(errors);
    setError(null);
    if (Object.keys(errors).length > 0 || identity === null) {
      const first = Object.keys(errors)[0];
      document.getElementById(`${id}-${first}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const platform = new TenzroPlatform({
        apiKey: apiKey.trim(),
        tenantId: tenantId.trim(),
        baseUrl,
        party: identity,
        trustedRoots: trust.rootPem.trim() === '' ? [] : [trust.rootPem.trim()],
        expectedMeasurements: [trust.measurement.trim()],
        ...(trust.mpcNodeMeasurement.trim() === '' ? {} : { expectedMpcNodeMeasurements: [trust.mpcNodeMeasurement.trim()] }),
        fetch: consoleFetch,
      });
      // The API key must work, and the platform must hold this key file's public keys for the party.
      const registered = await platform.getParty(identity.partyId);
      if (registered.signingKey !== identity.signingKey.publicKey || registered.encryptionKey !== identity.encryptionKey.publicKey) {
        throw new Error(`the platform holds other public keys for ${identity.partyId} than this key file's`);
      }
      onSignedIn({ platform, partyId: identity.partyId, tenantId: tenantId.trim(), trust });
    } catch (cause) {
      setError(`Sign-in failed: ${message(cause)}`);
      requestAnimationFrame(() => errorRef.current?.focus());
    } finally {
      setBusy(false);
    }
  };

  const described = (field: string): { 'aria-invalid'?: true; 'aria-describedby'?: string } =>
    fieldErrors[field] ? { 'aria-invalid': true, 'aria-describedby': `${id}-${field}-error` } : {};
  const fieldError = (field: string): ReactNode =>
    fieldErrors[field] ? (
      <p id={`${id}-${field}-error`} className="tenzro-error">
        {fieldErrors[field]}
      </p>
    ) : null;

  return (
    <main className="console-signin">
      <h1>Sign in to the Tenzro console</h1>
      <form onSubmit={(event) => void onSubmit(event)} aria-label="Sign in" noValidate>
        <div className="tenzro-field">
          <label htmlFor={`${id}-apiKey`}>API key</label>
          <input id={`${id}-apiKey`} type="password" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.currentTarget.value)} {...described('apiKey')} />
          {fieldError('apiKey')}
        </div>
        <div className="tenzro-field">
          <label htmlFor={`${id}-keyFile`}>Party key file</label>
          <input id={`${id}-keyFile`} type="file" accept="application/json,.json" onChange={(e) => void onKeyFile(e.currentTarget.files?.[0])} {...described('keyFile')} />
          <p className="tenzro-hint">
            The JSON file <code>tenzro keygen</code> writes. It is read in this page; its private keys stay in memory and are never sent.
          </p>
          {identity ? <p className="console-ok" data-testid="key-file-party">Party: {identity.partyId}</p> : null}
          {keyFileError ? <p className="tenzro-error" role="alert">{keyFileError}</p> : null}
          {fieldError('keyFile')}
        </div>
        <div className="tenzro-field">
          <label htmlFor={`${id}-tenantId`}>Tenant id</label>
          <input id={`${id}-tenantId`} type="text" value={tenantId} onChange={(e) => setTenantId(e.currentTarget.value)} {...described('tenantId')} />
          {fieldError('tenantId')}
        </div>
        <fieldset className="console-trust">
          <legend>Trust settings</legend>
          <p className="tenzro-hint">
            What the enclave must prove before your data is encrypted to it. Take these from your operator out of band — never from the host
            you are checking.
          </p>
          <div className="tenzro-field">
            <label htmlFor={`${id}-trustFile`}>Import from a credentials file (optional)</label>
            <input id={`${id}-trustFile`} type="file" accept="application/json,.json" onChange={(e) => void onTrustFile(e.currentTarget.files?.[0])} />
            {trustFileNote ? <p className="tenzro-hint" role="status">{trustFileNote}</p> : null}
          </div>
          <div className="tenzro-field">
            <label htmlFor={`${id}-rootPem`}>Enclave root certificate (PEM; empty trusts only the AWS Nitro root)</label>
            <textarea id={`${id}-rootPem`} rows={4} value={trust.rootPem} onChange={(e) => setTrust({ ...trust, rootPem: e.currentTarget.value })} {...described('rootPem')} />
            {fieldError('rootPem')}
          </div>
          <div className="tenzro-field">
            <label htmlFor={`${id}-measurement`}>Expected enclave measurement (PCR0, hex)</label>
            <input id={`${id}-measurement`} type="text" spellCheck={false} value={trust.measurement} onChange={(e) => setTrust({ ...trust, measurement: e.currentTarget.value })} {...described('measurement')} />
            {fieldError('measurement')}
          </div>
          <div className="tenzro-field">
            <label htmlFor={`${id}-mpcNodeMeasurement`}>Expected compute-node measurement (PCR0, hex; for mpc sessions)</label>
            <input id={`${id}-mpcNodeMeasurement`} type="text" spellCheck={false} value={trust.mpcNodeMeasurement} onChange={(e) => setTrust({ ...trust, mpcNodeMeasurement: e.currentTarget.value })} {...described('mpcNodeMeasurement')} />
            {fieldError('mpcNodeMeasurement')}
          </div>
        </fieldset>
        <div className="tenzro-field">
          <label htmlFor={`${id}-baseUrl`}>Platform URL</label>
          <input id={`${id}-baseUrl`} type="url" value={baseUrl} onChange={(e) => setBaseUrl(e.currentTarget.value)} {...described('baseUrl')} />
          {fieldError('baseUrl')}
        </div>
        <button type="submit" className="tenzro-button tenzro-button--primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error ? (
          <p ref={errorRef} tabIndex={-1} role="alert" className="tenzro-error">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
