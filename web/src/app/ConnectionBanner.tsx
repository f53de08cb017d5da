import type { ReactNode } from 'react';
import type { ConnectionState } from '../lib';
import { useSocket } from '../lib/react';

export const CONNECTION_LABELS: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  recovered: 'recovered',
  disconnected: 'disconnected',
};

/** Always visible; announced politely to screen readers when it changes. */
export function ConnectionBanner(): ReactNode {
  const { connectionState } = useSocket();
  return (
    <div
      className={`connection connection--${connectionState}`}
      role="status"
      aria-live="polite"
      data-testid="connection-state"
      data-state={connectionState}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span className="connection__label">{CONNECTION_LABELS[connectionState]}</span>
    </div>
  );
}
