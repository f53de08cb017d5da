import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { ConnectionState, RetrySchedule } from '../lib';
import { useSocket } from '../lib/react';

/** How long "recovered (…)" stays before the label settles back to "connected". */
const RECOVERED_NOTE_MS = 15_000;

export interface BannerInput {
  state: ConnectionState;
  retry: RetrySchedule | null;
  online: boolean;
  /** Messages the last recovery delivered; null when unknown. */
  missed: number | null;
  now: number;
  /** True once the "recovered" note has been shown long enough. */
  settled: boolean;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The banner's words for a connection state (a pure function, unit-tested). */
export function connectionLabel({ state, retry, online, missed, now, settled }: BannerInput): string {
  switch (state) {
    case 'connecting':
      return 'connecting…';
    case 'connected':
      return 'connected';
    case 'recovered':
      if (settled) return 'connected';
      return missed ? `recovered (${plural(missed, 'missed message', 'missed messages')} delivered)` : 'recovered (nothing missed)';
    case 'reconnecting': {
      const offline = !online || (retry !== null && retry.failedAttempts > 0);
      if (!offline) return 'reconnecting…';
      const seconds = retry ? Math.ceil((retry.at - now) / 1000) : 0;
      return seconds > 0 ? `offline, retrying in ${seconds}s` : 'offline, retrying now…';
    }
    default:
      return 'disconnected';
  }
}

function useOnline(): boolean {
  const [online, setOnline] = useState(() => typeof navigator === 'undefined' || navigator.onLine !== false);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine !== false);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  return online;
}

/** Connection state in words, announced politely to screen readers when it changes. */
export function ConnectionBanner({ missed = null, queued = 0 }: { missed?: number | null; queued?: number }): ReactNode {
  const { connectionState, retry } = useSocket();
  const online = useOnline();
  const [now, setNow] = useState(() => Date.now());
  const [settledAt, setSettledAt] = useState<number | null>(null);

  // A countdown ticks once a second while a retry is scheduled.
  useEffect(() => {
    if (!retry) return undefined;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [retry]);

  useEffect(() => {
    setSettledAt(null);
    if (connectionState !== 'recovered') return undefined;
    const timer = setTimeout(() => setSettledAt(Date.now()), RECOVERED_NOTE_MS);
    return () => clearTimeout(timer);
  }, [connectionState]);

  const label = connectionLabel({ state: connectionState, retry, online, missed, now, settled: settledAt !== null });
  const offline = label.startsWith('offline');
  return (
    <div
      className={`connection connection--${connectionState} ${offline ? 'connection--offline' : ''}`}
      role="status"
      aria-live="polite"
      data-testid="connection-state"
      data-state={connectionState}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span className="connection__label" data-testid="connection-label">
        {label}
      </span>
      {queued > 0 && (
        <span className="connection__queued" data-testid="outbox-count">
          {plural(queued, 'message', 'messages')} waiting to send
        </span>
      )}
    </div>
  );
}
