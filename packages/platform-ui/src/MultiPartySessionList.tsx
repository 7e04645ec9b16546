/** `MultiPartySessionList({ sessions, onSelect })`: each session as a button (name, status, progress). */
import type { ReactNode } from 'react';
import type { MultiPartySession } from '@tenzro/platform';
import { joinClassNames, methodLabel, statusLabel } from './session-labels.js';

export interface MultiPartySessionListProps {
  sessions: readonly MultiPartySession[];
  onSelect?: (session: MultiPartySession) => void;
  /** The session shown as current (`aria-current`). */
  selectedId?: string | undefined;
  /** Shown when `sessions` is empty. */
  emptyText?: ReactNode;
  className?: string;
}

export function MultiPartySessionList({ sessions, onSelect, selectedId, emptyText = 'No sessions yet.', className }: MultiPartySessionListProps): ReactNode {
  if (sessions.length === 0) {
    return <p className={joinClassNames('tenzro-session-list', 'tenzro-session-list--empty', className)}>{emptyText}</p>;
  }
  return (
    <ul className={joinClassNames('tenzro-session-list', className)} aria-label="Multi-party sessions">
      {sessions.map((session) => {
        const submitted = session.dataSubmittedBy.length;
        const consented = session.consentedBy.length;
        const total = session.participants.length;
        const body = (
          <>
            <span className="tenzro-session-list__name">{session.name}</span>
            <span className={`tenzro-status tenzro-status--${session.status}`}>{statusLabel(session.status)}</span>
            <span className="tenzro-session-list__meta">
              {session.modelId} · {methodLabel(session.dataPolicy.aggregationMethod)} · data {submitted}/{total} · consent {consented}/{total}
            </span>
          </>
        );
        return (
          <li key={session.id} className="tenzro-session-list__item">
            {onSelect ? (
              <button
                type="button"
                className="tenzro-session-list__button"
                aria-current={session.id === selectedId ? 'true' : undefined}
                onClick={() => onSelect(session)}
              >
                {body}
              </button>
            ) : (
              <div className="tenzro-session-list__button">{body}</div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
