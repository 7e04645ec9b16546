/**
 * The session's history: a timeline of its lifecycle states (DESIGN §6) and its audit trail, both read
 * from the trail the host serves (`platform.audit.getSessionTrail`). The trail is the host's claim until
 * the verification panel's checks run over it; this view only displays it.
 */
import { useEffect, useId, useState, type ReactNode } from 'react';
import type { MultiPartySession, SessionStatus, TenzroPlatform } from '@tenzro/platform';
import { statusLabel } from '@tenzro/platform-ui';

type TrailEvent = Awaited<ReturnType<TenzroPlatform['audit']['getSessionTrail']>>['entries'][number]['event'];

type Trail = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'done'; events: TrailEvent[]; treeSize: number };

function formatTime(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Refetches the trail whenever the session record changes (its status, submissions or consents). */
function useSessionTrail(platform: TenzroPlatform, session: MultiPartySession): Trail {
  const [trail, setTrail] = useState<Trail>({ state: 'loading' });
  const version = `${session.status}|${session.dataSubmittedBy.join(',')}|${session.consentedBy.join(',')}`;
  useEffect(() => {
    const controller = new AbortController();
    platform.audit
      .getSessionTrail(session.id, { signal: controller.signal })
      .then((reply) => {
        if (!controller.signal.aborted) setTrail({ state: 'done', events: reply.entries.map((e) => e.event), treeSize: reply.signedTreeHead.treeHead.treeSize });
      })
      .catch((cause: unknown) => {
        if (!controller.signal.aborted) setTrail({ state: 'failed', message: cause instanceof Error ? cause.message : String(cause) });
      });
    return () => controller.abort();
  }, [platform, session.id, version]);
  return trail;
}

const HAPPY_PATH: readonly SessionStatus[] = ['created', 'collecting', 'awaiting_consent', 'ready', 'running', 'completed'];

/** When each lifecycle state was entered, as far as the trail shows it. */
function enteredAt(events: readonly TrailEvent[], session: MultiPartySession): Partial<Record<SessionStatus, string>> {
  const at: Partial<Record<SessionStatus, string>> = {};
  const first = (kind: TrailEvent['kind']): TrailEvent | undefined => events.find((e) => e.kind === kind);
  at.created = first('session_created')?.at;
  const progress = events.filter((e) => e.kind === 'data_submitted' || e.kind === 'consent_recorded');
  at.collecting = progress[0]?.at;
  const submissions = events.filter((e) => e.kind === 'data_submitted');
  at.awaiting_consent = submissions[session.dataPolicy.minParticipants - 1]?.at;
  const runStarted = first('run_started') ?? first('run_requested');
  // Ready: the last submission or consent before the run (or the latest one while the session is ready).
  const beforeRun = runStarted ? progress.filter((e) => e.logIndex < runStarted.logIndex) : session.status === 'ready' ? progress : [];
  at.ready = beforeRun[beforeRun.length - 1]?.at;
  at.running = runStarted?.at;
  at.completed = first('result_released')?.at;
  at.cancelled = first('session_cancelled')?.at;
  at.expired = first('session_expired')?.at;
  return at;
}

export function Timeline({ session, trail }: { session: MultiPartySession; trail: Trail }): ReactNode {
  const id = useId();
  const ended = session.status === 'cancelled' || session.status === 'expired';
  const steps: SessionStatus[] = ended ? [...HAPPY_PATH.filter((s) => s !== 'completed'), session.status] : [...HAPPY_PATH];
  const at = trail.state === 'done' ? enteredAt(trail.events, session) : {};
  const currentIndex = steps.indexOf(session.status);
  return (
    <section className="console-panel" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Lifecycle</h3>
      <ol className="console-timeline" data-testid="timeline">
        {steps.map((status, index) => {
          const state = index < currentIndex ? 'done' : index === currentIndex ? 'current' : ended && status !== session.status ? 'skipped' : 'upcoming';
          const reached = at[status];
          return (
            <li key={status} className={`console-timeline__step console-timeline__step--${state}`} aria-current={state === 'current' ? 'step' : undefined} data-status={status}>
              <span className="console-timeline__label">{statusLabel(status)}</span>
              <span className="console-timeline__when">
                {state === 'upcoming' || state === 'skipped' ? (state === 'upcoming' ? 'Not yet' : '') : reached ? formatTime(reached) : state === 'current' ? 'Now' : 'Passed'}
              </span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function describeEvent(event: TrailEvent): string {
  const payload = event.payload as Record<string, unknown>;
  const bits: string[] = [];
  for (const key of ['partyId', 'commitment', 'runId', 'reason', 'code', 'recordCount']) {
    const value = payload[key];
    if (typeof value === 'string' || typeof value === 'number') bits.push(`${key}: ${value}`);
  }
  return bits.join(' · ');
}

export function AuditTrail({ trail }: { trail: Trail }): ReactNode {
  const id = useId();
  return (
    <section className="console-panel" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Audit trail</h3>
      {trail.state === 'loading' ? <p role="status">Loading the audit trail…</p> : null}
      {trail.state === 'failed' ? <p role="alert" className="tenzro-error">The audit trail could not be loaded: {trail.message}</p> : null}
      {trail.state === 'done' ? (
        <table className="console-trail" data-testid="audit-trail">
          <caption>
            {trail.events.length} events in the transparency log (tree size {trail.treeSize}); the verification panel checks them.
          </caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Event</th>
              <th scope="col">By</th>
              <th scope="col">When</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {trail.events.map((event) => (
              <tr key={event.logIndex} data-kind={event.kind}>
                <td>{event.sessionSeq ?? '–'}</td>
                <td>{event.kind.replaceAll('_', ' ')}</td>
                <td>{event.actor.partyId ?? event.actor.tenantId ?? 'platform'}</td>
                <td>{formatTime(event.at)}</td>
                <td className="console-detail">{describeEvent(event)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

export function SessionHistory({ platform, session }: { platform: TenzroPlatform; session: MultiPartySession }): ReactNode {
  const trail = useSessionTrail(platform, session);
  return (
    <>
      <Timeline session={session} trail={trail} />
      <AuditTrail trail={trail} />
    </>
  );
}
