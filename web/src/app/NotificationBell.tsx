import { useId, useState } from 'react';
import type { ReactNode } from 'react';
import type { Notification } from '../lib';
import { dayLabel, fullLabel, timeLabel } from './format';

interface Props {
  notifications: Notification[];
  unread: number;
  /** Shown at the top of the panel (the desktop-alerts switch). */
  children?: ReactNode;
  onMarkRead: (id: string) => void;
  onMarkAllRead: () => void;
}

function when(iso: string): string {
  const day = dayLabel(iso);
  return day ? `${day}, ${timeLabel(iso)}` : '';
}

export function NotificationBell({ notifications, unread, onMarkRead, onMarkAllRead, children }: Props): ReactNode {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  return (
    <div className="bell">
      <button
        type="button"
        className="bell__button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={`Notifications, ${unread} unread`}
        data-testid="notif-bell"
        onClick={() => setOpen((o) => !o)}
      >
        <svg className="bell__icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
          <path
            d="M12 2a6 6 0 0 0-6 6v3.6c0 .8-.3 1.6-.9 2.2L4 15v2h16v-2l-1.1-1.2a3.2 3.2 0 0 1-.9-2.2V8a6 6 0 0 0-6-6Zm0 20a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Z"
            fill="currentColor"
          />
        </svg>
        <span className={`badge ${unread === 0 ? 'badge--zero' : ''}`} data-testid="notif-bell-count" aria-hidden="true">
          {unread}
        </span>
      </button>
      <span className="visually-hidden" aria-live="polite">
        {unread > 0 ? `${unread} unread notifications` : ''}
      </span>
      {open && (
        <section id={panelId} className="bell__panel" aria-label="Notifications" data-testid="notif-panel">
          <div className="row spread">
            <h2>Notifications</h2>
            <button type="button" data-testid="notif-mark-all-read" onClick={onMarkAllRead} disabled={unread === 0}>
              Mark all read
            </button>
          </div>
          {children}
          {notifications.length === 0 ? (
            <p className="muted">No notifications.</p>
          ) : (
            <ul className="notifications" data-testid="notif-list">
              {notifications.map((n) => (
                <li
                  key={n.id}
                  className={`notification ${n.read_at ? '' : 'notification--unread'}`}
                  data-testid="notification"
                  data-notification-id={n.id}
                  data-read={n.read_at ? 'true' : 'false'}
                >
                  <p className="notification__title">{n.title}</p>
                  {n.body && <p className="notification__body">{n.body}</p>}
                  <p className="notification__meta">
                    <time dateTime={n.created_at} title={fullLabel(n.created_at)}>
                      {when(n.created_at)}
                    </time>
                    {!n.read_at && (
                      <button type="button" data-testid="notif-mark-read" onClick={() => onMarkRead(n.id)}>
                        Mark read
                      </button>
                    )}
                  </p>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
