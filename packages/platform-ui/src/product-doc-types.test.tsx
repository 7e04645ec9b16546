// @vitest-environment happy-dom
/**
 * The product doc's "React Integration" example, type-checked by `npm run typecheck` (tsconfig.test.json):
 * names, props and result shapes are our public contract. The result types are discriminated unions, so
 * after `if (loading) …; if (error) …` the session is a `MultiPartySession`.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { InferenceResult, MultiPartySession } from '@tenzro/platform';
import {
  CreateMultiPartySession,
  MultiPartySessionDetail,
  MultiPartySessionList,
  MultiPartySessionManager,
  TenzroProvider,
  useCreateMultiPartySession,
  useMultiPartySession,
  useMultiPartySessions,
  type PlatformClient,
  type UseMultiPartySessionResult,
  type UseMultiPartySessionsResult,
} from './index.js';

// The doc's example, verbatim apart from types and logging.
export function MultiPartyPage() {
  const { sessions, loading, refresh } = useMultiPartySessions();
  const { createSession, loading: creating } = useCreateMultiPartySession();
  const handleCreate = async () => {
    const session = await createSession({
      name: 'New Analysis',
      modelId: 'risk-analyzer-v2',
      participants: ['party::bankA::treasury', 'party::bankB::treasury'],
      dataPolicy: { minParticipants: 2, aggregationMethod: 'federated', encryptionRequired: true },
    });
    expectTypeOf(session).toEqualTypeOf<MultiPartySession>();
    void refresh();
  };
  void handleCreate;
  void loading;
  void creating;
  return (
    <div>
      <CreateMultiPartySession
        onCreated={(session) => {
          expectTypeOf(session).toEqualTypeOf<MultiPartySession>();
          void refresh();
        }}
      />
      <MultiPartySessionList sessions={sessions} onSelect={(session) => expectTypeOf(session).toEqualTypeOf<MultiPartySession>()} />
      <MultiPartySessionManager
        onSessionCreated={(session) => expectTypeOf(session).toEqualTypeOf<MultiPartySession>()}
        onSessionCompleted={(session, result) => expectTypeOf(result).toEqualTypeOf<InferenceResult>()}
        allowCreate={true}
        showParticipants={true}
      />
    </div>
  );
}

export function SessionDetail({ sessionId }: { sessionId: string }) {
  const { session, loading, error } = useMultiPartySession(sessionId);
  if (loading) return <div>Loading...</div>;
  if (error) return <div>Error: {error.message}</div>;
  expectTypeOf(session).toEqualTypeOf<MultiPartySession>();
  return (
    <MultiPartySessionDetail
      session={session}
      onSubmitData={async (data) => {
        expectTypeOf(data.data).toBeUnknown();
      }}
      onConsent={async () => {}}
      onRunInference={async () => {}}
    />
  );
}

describe('the product doc example type-checks', () => {
  it('narrows the hook results on status', () => {
    expectTypeOf<Extract<UseMultiPartySessionResult, { status: 'success' }>['session']>().toEqualTypeOf<MultiPartySession>();
    expectTypeOf<Extract<UseMultiPartySessionResult, { status: 'loading' }>['session']>().toEqualTypeOf<undefined>();
    expectTypeOf<Extract<UseMultiPartySessionResult, { status: 'error' }>['error']>().toEqualTypeOf<Error>();
    expectTypeOf<UseMultiPartySessionsResult['sessions']>().toEqualTypeOf<MultiPartySession[]>();
    expectTypeOf<PlatformClient['ai']['watchSession']>().returns.toEqualTypeOf<AsyncIterable<import('@tenzro/platform').SessionEvent>>();
    expect(typeof TenzroProvider).toBe('function');
  });

  it('a TenzroPlatform is a PlatformClient', () => {
    expectTypeOf<import('@tenzro/platform').TenzroPlatform>().toExtend<PlatformClient>();
  });
});
