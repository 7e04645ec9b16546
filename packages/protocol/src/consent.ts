/**
 * Consent statements (DESIGN §5.5): a party signs
 * `JCS({ type: "tenzro.consent/v1", sessionId, consent: { dataUsage, resultSharing, attestationSharing,
 * retentionAcknowledged } })` with its roster signing key. The session id commits to the terms, so a
 * consent cannot be replayed on another session.
 */
import { z } from 'zod';
import { fromBase64Url, signStatement, toBase64Url, verifyStatement, type SecretBytes } from '@tenzro/crypto';

export const CONSENT_TYPE = 'tenzro.consent/v1';

export const ConsentFlags = z.strictObject({
  dataUsage: z.boolean(),
  resultSharing: z.boolean(),
  attestationSharing: z.boolean(),
  retentionAcknowledged: z.boolean(),
});
export type ConsentFlags = z.infer<typeof ConsentFlags>;

export const FULL_CONSENT: ConsentFlags = {
  dataUsage: true,
  resultSharing: true,
  attestationSharing: true,
  retentionAcknowledged: true,
};

export interface ConsentStatement {
  type: typeof CONSENT_TYPE;
  sessionId: string;
  consent: ConsentFlags;
}

export function consentStatement(sessionId: string, consent: ConsentFlags): ConsentStatement {
  return { type: CONSENT_TYPE, sessionId, consent: { ...consent } };
}

/** A consent only counts when every flag is true: the run needs all four permissions. */
export function isFullConsent(consent: ConsentFlags): boolean {
  return consent.dataUsage && consent.resultSharing && consent.attestationSharing && consent.retentionAcknowledged;
}

export function signConsentStatement(
  sessionId: string,
  privateKey: Uint8Array | SecretBytes,
  consent: ConsentFlags = FULL_CONSENT,
): string {
  return toBase64Url(signStatement(privateKey, consentStatement(sessionId, consent)));
}

export function verifyConsentSignature(
  sessionId: string,
  consent: ConsentFlags,
  signature: string,
  signingPublicKey: string,
): boolean {
  try {
    return verifyStatement(
      fromBase64Url(signingPublicKey, 'signingPublicKey'),
      consentStatement(sessionId, consent),
      fromBase64Url(signature, 'signature'),
    );
  } catch {
    return false;
  }
}
