/**
 * A minimal chat room on the Switchboard React binding.
 * Type-checked by `npm run typecheck`; in an application import from the
 * package instead ('@switchboard/web' and '@switchboard/web/react').
 */
import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { createSwitchboard, isSwitchboardError } from '../src/lib';
import type { Message } from '../src/lib';
import { SocketProvider, useChatEvent, useSocket } from '../src/lib/react';

const CONVERSATION_ID = 1;

function Room(): ReactNode {
  const { client, user, isConnected, connectionState, login, logout } = useSocket();
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);

  // Payload only: the recovery offset Socket.IO appends is never passed on.
  useChatEvent('message:new', (message) => {
    if (message.conversation_id === CONVERSATION_ID) {
      setMessages((list) => (list.some((m) => m.id === message.id) ? list : [...list, message]));
    }
  });

  async function send(e: FormEvent): Promise<void> {
    e.preventDefault();
    try {
      await client.sendMessage(CONVERSATION_ID, draft); // resolves with the stored message
      setDraft('');
    } catch (err) {
      // Ack errors carry a contract code (docs/contract.md): invalid_payload, forbidden, not_found, too_large, rate_limited, internal.
      setError(isSwitchboardError(err) ? `${err.code}: ${err.message}` : String(err));
    }
  }

  if (!user) {
    return (
      <button type="button" onClick={() => void login({ email: 'ada@example.com', password: 'correct horse' })}>
        Log in as Ada
      </button>
    );
  }

  return (
    <section>
      <p role="status">
        {user.name}: {connectionState} {isConnected ? '✓' : '…'}
      </p>
      <ul>
        {messages.map((m) => (
          <li key={m.id}>{m.body}</li>
        ))}
      </ul>
      {error && <p role="alert">{error}</p>}
      <form onSubmit={(e) => void send(e)}>
        <label>
          Message <input value={draft} onChange={(e) => setDraft(e.target.value)} />
        </label>
        <button type="submit" disabled={!isConnected}>
          Send
        </button>
      </form>
      <button type="button" onClick={() => void logout()}>
        Log out
      </button>
    </section>
  );
}

// One client for the whole page; '' = the same origin as the page.
const client = createSwitchboard({ baseUrl: '' });

const container = document.getElementById('root');
if (container) {
  createRoot(container).render(
    <SocketProvider client={client}>
      <Room />
    </SocketProvider>,
  );
}
