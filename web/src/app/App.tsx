import { useEffect } from 'react';
import type { ReactNode } from 'react';
import { useSocket } from '../lib/react';
import { AuthScreen } from './AuthScreen';
import { ChatApp } from './ChatApp';
import { rememberSession } from './sessionHint';

export function App(): ReactNode {
  const { ready, user, authError } = useSocket();
  useEffect(() => {
    if (ready) rememberSession(user !== null);
  }, [ready, user]);
  if (!ready) {
    return (
      <main className="centered" aria-busy="true">
        <p role="status">Loading…</p>
      </main>
    );
  }
  if (!user) {
    // No connection banner here: nobody is connected before logging in.
    return <AuthScreen notice={authError ? 'Your session has ended. Please log in again.' : null} />;
  }
  // Keyed by user so that nothing of one account's state survives into another's.
  return <ChatApp key={user.id} me={user} />;
}
