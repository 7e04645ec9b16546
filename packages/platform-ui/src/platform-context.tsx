/**
 * The provider that hands every hook and component a `TenzroPlatform` (the SDK), and the one place that
 * says which SDK methods this package uses: `PlatformClient` is the structural slice of `TenzroPlatform`
 * the UI needs, so a real platform fits it and tests can pass an in-memory one.
 */
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import type { SessionEvent, TenzroPlatform } from '@tenzro/platform';
import { DEFAULT_LIVE_RETRY, checkRetryPolicy, type LiveRetryPolicy } from './live.js';

type Ai = TenzroPlatform['ai'];

/** The SDK calls the UI makes: `platform.ai.*` with the SDK's own signatures. */
export interface MultiPartyAiClient {
  createMultiPartySession: Ai['createMultiPartySession'];
  getMultiPartySession: Ai['getMultiPartySession'];
  listMultiPartySessions: Ai['listMultiPartySessions'];
  getSessionStatus: Ai['getSessionStatus'];
  contribute: Ai['contribute'];
  consent: Ai['consent'];
  runMultiPartyInference: Ai['runMultiPartyInference'];
  getSessionResult: Ai['getSessionResult'];
  cancelSession: Ai['cancelSession'];
  watchSession: (...args: Parameters<Ai['watchSession']>) => AsyncIterable<SessionEvent>;
  watchSessions: (...args: Parameters<Ai['watchSessions']>) => AsyncIterable<SessionEvent>;
}

/** What the provider accepts: a `TenzroPlatform`, or anything with the same `ai` methods. */
export interface PlatformClient {
  ai: MultiPartyAiClient;
  /** The acting party (a `TenzroPlatform` with a party key has one): marks "you" in participant lists. */
  partyId?: string | undefined;
}

export interface TenzroProviderProps {
  platform: PlatformClient;
  /** How live subscriptions retry a failed stream (default: 1 s doubling to 30 s, 8 attempts). */
  liveRetry?: Partial<LiveRetryPolicy>;
  children?: ReactNode;
}

interface TenzroContextValue {
  platform: PlatformClient;
  liveRetry: LiveRetryPolicy;
}

const TenzroContext = createContext<TenzroContextValue | null>(null);

export class MissingProviderError extends Error {
  readonly code = 'missing_provider' as const;
  constructor(hook: string) {
    super(`${hook} must be used inside <TenzroProvider platform={…}>: no TenzroPlatform was provided`);
    this.name = 'MissingProviderError';
  }
}

export function TenzroProvider({ platform, liveRetry, children }: TenzroProviderProps): ReactNode {
  if (typeof platform !== 'object' || platform === null || typeof platform.ai !== 'object' || platform.ai === null) {
    throw new TypeError('TenzroProvider: platform must be a TenzroPlatform');
  }
  const initialDelayMs = liveRetry?.initialDelayMs;
  const maxDelayMs = liveRetry?.maxDelayMs;
  const maxAttempts = liveRetry?.maxAttempts;
  const value = useMemo<TenzroContextValue>(() => {
    const policy = checkRetryPolicy({
      initialDelayMs: initialDelayMs ?? DEFAULT_LIVE_RETRY.initialDelayMs,
      maxDelayMs: maxDelayMs ?? DEFAULT_LIVE_RETRY.maxDelayMs,
      maxAttempts: maxAttempts ?? DEFAULT_LIVE_RETRY.maxAttempts,
    });
    return { platform, liveRetry: policy };
  }, [platform, initialDelayMs, maxDelayMs, maxAttempts]);
  return <TenzroContext.Provider value={value}>{children}</TenzroContext.Provider>;
}

function useTenzroContext(hook: string): TenzroContextValue {
  const value = useContext(TenzroContext);
  if (value === null) throw new MissingProviderError(hook);
  return value;
}

/** The platform given to the nearest `TenzroProvider`; throws `MissingProviderError` outside one. */
export function useTenzroPlatform(): PlatformClient {
  return useTenzroContext('useTenzroPlatform').platform;
}

/** @internal The provider's retry policy for live subscriptions. */
export function useLiveContext(hook: string): TenzroContextValue {
  return useTenzroContext(hook);
}
