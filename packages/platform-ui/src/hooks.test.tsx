// @vitest-environment happy-dom
/**
 * The hooks as thin adapters over the SDK: loading, data and error states; live updates from the SDK's
 * server-sent event stream (an event refetches, unmount aborts, a failed stream retries with bounded
 * backoff); and the races (an older answer never overwrites a newer one, nothing after unmount).
 */
import { act, cleanup, render, renderHook, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BANK_A, FakePlatform, makeSession, sessionEvent } from './fake-platform.fixture.js';
import { backoffDelay, DEFAULT_LIVE_RETRY, followEvents, type LiveRetryPolicy } from './live.js';
import { MissingProviderError, TenzroProvider, useTenzroPlatform } from './platform-context.js';
import { useCreateMultiPartySession } from './use-create-multi-party-session.js';
import { useMultiPartySession } from './use-multi-party-session.js';
import { useMultiPartySessions } from './use-multi-party-sessions.js';

afterEach(cleanup);

const FAST: LiveRetryPolicy = { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 };

function wrapperFor(platform: FakePlatform, liveRetry: Partial<LiveRetryPolicy> = FAST) {
  return ({ children }: { children: ReactNode }) => (
    <TenzroProvider platform={platform} liveRetry={liveRetry}>
      {children}
    </TenzroProvider>
  );
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TenzroProvider / useTenzroPlatform', () => {
  it('hands the platform to hooks', () => {
    const platform = new FakePlatform();
    const { result } = renderHook(() => useTenzroPlatform(), { wrapper: wrapperFor(platform) });
    expect(result.current).toBe(platform);
  });

  it('throws a clear error outside a provider', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useTenzroPlatform())).toThrow(MissingProviderError);
    expect(() => renderHook(() => useMultiPartySessions())).toThrow(/useMultiPartySessions must be used inside <TenzroProvider/);
    spy.mockRestore();
  });

  it('rejects a provider without a platform and a retry policy that could spin', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => render(<TenzroProvider platform={undefined as never} />)).toThrow(/platform must be a TenzroPlatform/);
    expect(() => render(<TenzroProvider platform={new FakePlatform()} liveRetry={{ initialDelayMs: 0 }} />)).toThrow(RangeError);
    expect(() => render(<TenzroProvider platform={new FakePlatform()} liveRetry={{ maxAttempts: 0 }} />)).toThrow(/maxAttempts/);
    spy.mockRestore();
  });
});

describe('useMultiPartySessions', () => {
  it('is loading, then has the sessions', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result } = renderHook(() => useMultiPartySessions(), { wrapper: wrapperFor(platform) });
    expect(result.current).toMatchObject({ status: 'loading', loading: true, error: null, sessions: [] });
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(result.current.loading).toBe(false);
    expect(result.current.sessions.map((s) => s.id)).toEqual(['mps_alpha']);
  });

  it('shows the SDK error', async () => {
    const platform = new FakePlatform();
    platform.failNext('listMultiPartySessions', new Error('401 unauthorized'));
    const { result } = renderHook(() => useMultiPartySessions(), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(result.current.error?.message).toBe('401 unauthorized');
    expect(result.current.loading).toBe(false);
    expect(result.current.sessions).toEqual([]);
    // refresh() recovers
    await act(() => result.current.refresh());
    expect(result.current.status).toBe('success');
    expect(result.current.error).toBeNull();
  });

  it('refetches the list on a live event, and a burst of events costs at most two fetches', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result } = renderHook(() => useMultiPartySessions(), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(platform.count('listMultiPartySessions')).toBe(1);
    expect(platform.count('watchSessions')).toBe(1);

    platform.sessions.set('mps_beta', makeSession({ id: 'mps_beta', name: 'Second' }));
    act(() => platform.latestStream().push(sessionEvent('mps_beta', 'created')));
    await waitFor(() => expect(result.current.sessions).toHaveLength(2));
    expect(platform.count('listMultiPartySessions')).toBe(2);

    const hold = platform.hold<unknown>('listMultiPartySessions');
    act(() => platform.latestStream().push(sessionEvent('mps_alpha', 'collecting')));
    await waitFor(() => expect(platform.count('listMultiPartySessions')).toBe(3));
    act(() => {
      for (let i = 0; i < 5; i++) platform.latestStream().push(sessionEvent('mps_alpha', 'collecting'));
    });
    await delay(10);
    await act(async () => hold.resolve([...platform.sessions.values()]));
    await waitFor(() => expect(platform.count('listMultiPartySessions')).toBe(4));
    await delay(20);
    expect(platform.count('listMultiPartySessions')).toBe(4);
    expect(result.current.fetching).toBe(false);
  });

  it('aborts the stream on unmount and opens no other', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result, unmount } = renderHook(() => useMultiPartySessions(), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('success'));
    const stream = platform.latestStream();
    expect(stream.signal.aborted).toBe(false);
    unmount();
    expect(stream.signal.aborted).toBe(true);
    await delay(40);
    expect(platform.count('watchSessions')).toBe(1);
  });
});

describe('useMultiPartySession', () => {
  it('is loading, then has the session', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result } = renderHook(() => useMultiPartySession('mps_alpha'), { wrapper: wrapperFor(platform) });
    expect(result.current).toMatchObject({ status: 'loading', loading: true, error: null, session: undefined });
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(result.current.session?.name).toBe('AML screening');
    expect(platform.calls.find((c) => c.method === 'watchSession')?.args).toEqual(['mps_alpha']);
  });

  it('shows the SDK error', async () => {
    const platform = new FakePlatform();
    const { result } = renderHook(() => useMultiPartySession('mps_missing'), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(result.current).toMatchObject({ loading: false, session: undefined });
    expect(result.current.error?.message).toMatch(/mps_missing not found/);
  });

  it('refetches through the SDK on each live event (no polling between events)', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result } = renderHook(() => useMultiPartySession('mps_alpha'), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('success'));
    await delay(30);
    expect(platform.count('getMultiPartySession')).toBe(1);
    platform.update('mps_alpha', { status: 'ready', dataSubmittedBy: [BANK_A] });
    act(() => platform.latestStream('mps_alpha').push(sessionEvent('mps_alpha', 'ready')));
    await waitFor(() => expect(result.current.session?.status).toBe('ready'));
    expect(platform.count('getMultiPartySession')).toBe(2);
  });

  it('aborts the old stream when the id changes, and the older answer never overwrites the newer', async () => {
    const platform = new FakePlatform([makeSession(), makeSession({ id: 'mps_beta', name: 'Beta' })]);
    const oldAnswer = platform.hold<unknown>('getMultiPartySession');
    const { result, rerender } = renderHook(({ id }) => useMultiPartySession(id), {
      wrapper: wrapperFor(platform),
      initialProps: { id: 'mps_alpha' },
    });
    const alphaStream = platform.latestStream('mps_alpha');
    const newAnswer = platform.hold<unknown>('getMultiPartySession');
    rerender({ id: 'mps_beta' });
    expect(alphaStream.signal.aborted).toBe(true);
    expect(result.current.status).toBe('loading');
    await act(async () => newAnswer.resolve(platform.sessions.get('mps_beta')));
    expect(result.current.session?.name).toBe('Beta');
    await act(async () => oldAnswer.resolve(platform.sessions.get('mps_alpha')));
    expect(result.current.session?.name).toBe('Beta');
  });

  it('sets no state after unmount', async () => {
    const platform = new FakePlatform([makeSession()]);
    const answer = platform.hold<unknown>('getMultiPartySession');
    const renders = vi.fn();
    const { unmount } = renderHook(() => renders(useMultiPartySession('mps_alpha').status), { wrapper: wrapperFor(platform) });
    const count = renders.mock.calls.length;
    unmount();
    await act(async () => answer.resolve(platform.sessions.get('mps_alpha')));
    expect(renders.mock.calls.length).toBe(count);
  });

  it('shows a failed stream as error, retries with backoff, gives up after maxAttempts, and recovers on refresh', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result } = renderHook(() => useMultiPartySession('mps_alpha'), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('success'));
    act(() => platform.latestStream('mps_alpha').fail(new Error('connection reset')));
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(result.current.error?.message).toMatch(/live updates failed: connection reset/);
    expect(result.current.session?.id).toBe('mps_alpha'); // the last session seen stays
    await waitFor(() => expect(platform.count('watchSession')).toBe(2));
    act(() => platform.latestStream('mps_alpha').fail());
    await waitFor(() => expect(platform.count('watchSession')).toBe(3));
    act(() => platform.latestStream('mps_alpha').fail());
    await delay(80);
    expect(platform.count('watchSession')).toBe(3); // maxAttempts 3: no tight loop, no endless retry
    expect(result.current.status).toBe('error');

    await act(() => result.current.refresh());
    expect(platform.count('watchSession')).toBe(4);
    expect(result.current.status).toBe('success');
  });

  it('a reconnected stream clears the error with its first event', async () => {
    const platform = new FakePlatform([makeSession()]);
    const { result } = renderHook(() => useMultiPartySession('mps_alpha'), { wrapper: wrapperFor(platform) });
    await waitFor(() => expect(result.current.status).toBe('success'));
    act(() => platform.latestStream('mps_alpha').fail());
    await waitFor(() => expect(platform.count('watchSession')).toBe(2));
    expect(result.current.status).toBe('error');
    act(() => platform.latestStream('mps_alpha').push(sessionEvent('mps_alpha', 'collecting')));
    await waitFor(() => expect(result.current.status).toBe('success'));
  });
});

describe('followEvents backoff', () => {
  it('doubles from initialDelayMs up to maxDelayMs', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(DEFAULT_LIVE_RETRY, n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('reopens a stream the server closed without events with growing delays, then reports and stops', async () => {
    const opened: number[] = [];
    const errors: Array<[string, boolean]> = [];
    const controller = new AbortController();
    const start = Date.now();
    await followEvents(
      () => {
        opened.push(Date.now() - start);
        return (async function* () {})();
      },
      controller.signal,
      { onEvent: () => {}, onError: (error, willRetry) => errors.push([error.code, willRetry]) },
      { initialDelayMs: 10, maxDelayMs: 40, maxAttempts: 3 },
    );
    expect(opened).toHaveLength(3);
    expect(opened[2]! - opened[0]!).toBeGreaterThanOrEqual(25); // 10 + 20 ms between
    expect(errors).toEqual([['stream_closed', false]]);
  });
});

describe('useCreateMultiPartySession', () => {
  const input = { name: 'New Analysis', modelId: 'risk-analyzer-v2', participants: [BANK_A] };

  it('is loading while the SDK creates, then returns the session', async () => {
    const platform = new FakePlatform();
    const { result } = renderHook(() => useCreateMultiPartySession(), { wrapper: wrapperFor(platform) });
    expect(result.current).toMatchObject({ loading: false, error: null });
    const hold = platform.hold<unknown>('createMultiPartySession');
    let created: Promise<unknown> | undefined;
    act(() => {
      created = result.current.createSession(input);
    });
    expect(result.current.loading).toBe(true);
    const session = makeSession({ id: 'mps_new', name: 'New Analysis' });
    await act(async () => hold.resolve(session));
    await expect(created).resolves.toBe(session);
    expect(result.current).toMatchObject({ loading: false, error: null });
    expect(platform.calls.at(-1)).toEqual({ method: 'createMultiPartySession', args: [input] });
  });

  it('keeps the SDK error and rejects with it', async () => {
    const platform = new FakePlatform();
    const error = new Error('session_terms_mismatch');
    platform.failNext('createMultiPartySession', error);
    const { result } = renderHook(() => useCreateMultiPartySession(), { wrapper: wrapperFor(platform) });
    await act(async () => {
      await expect(result.current.createSession(input)).rejects.toBe(error);
    });
    expect(result.current).toMatchObject({ loading: false, error });
  });
});
