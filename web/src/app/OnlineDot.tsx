import type { ReactNode } from 'react';

/** A presence dot with a text alternative; `data-online` tells tests the state. */
export function OnlineDot({ userId, online, name }: { userId: number; online: boolean; name: string }): ReactNode {
  const label = `${name} is ${online ? 'online' : 'offline'}`;
  return (
    <span
      className={`dot ${online ? 'dot--online' : 'dot--offline'}`}
      role="img"
      aria-label={label}
      title={label}
      data-testid="online-dot"
      data-user-id={userId}
      data-online={online ? 'true' : 'false'}
    />
  );
}
