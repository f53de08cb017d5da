import type { ReactNode } from 'react';
import type { ChatState } from './state';
import { conversationName, latestMessage, otherMembers, previewText, unreadCount } from './state';
import { shortLabel } from './format';
import { OnlineDot } from './OnlineDot';

interface Props {
  state: ChatState;
  activeId: number | null;
  onOpen: (conversationId: number) => void;
  loading?: boolean;
}

export function ConversationList({ state, activeId, onOpen, loading = false }: Props): ReactNode {
  if (state.conversations.length === 0) {
    return (
      <p className="muted" data-testid="conversation-empty" role="status">
        {loading ? 'Loading conversations…' : 'No conversations yet. Start one with the button above.'}
      </p>
    );
  }
  return (
    <ul className="conversations" data-testid="conversation-list">
      {state.conversations.map((c) => {
        const name = conversationName(state, c);
        const others = otherMembers(state, c);
        const count = unreadCount(state, c.id);
        const last = latestMessage(state, c.id);
        const preview = previewText(state, c.id);
        return (
          <li key={c.id}>
            <a
              href={`#/c/${c.id}`}
              className={`conversation ${c.id === activeId ? 'conversation--active' : ''} ${count > 0 ? 'conversation--unread' : ''}`}
              aria-current={c.id === activeId ? 'page' : undefined}
              data-testid="conversation-item"
              data-conversation-id={c.id}
              data-unread={count}
              onClick={(e) => {
                if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab: let the browser do it
                e.preventDefault();
                onOpen(c.id);
              }}
            >
              <span className="conversation__dots" aria-hidden="true">
                {others.slice(0, 3).map((uid) => (
                  <OnlineDot
                    key={uid}
                    userId={uid}
                    online={state.online[uid] === true}
                    name={state.users[uid]?.name ?? `User ${uid}`}
                  />
                ))}
              </span>
              <span className="conversation__text">
                <span className="conversation__top">
                  <span className="conversation__name" data-testid="conversation-name">
                    {name}
                  </span>
                  {last && (
                    <time className="conversation__time" dateTime={last.created_at}>
                      {shortLabel(last.created_at)}
                    </time>
                  )}
                </span>
                <span className="conversation__preview" data-testid="conversation-preview">
                  {preview || 'No messages yet'}
                </span>
              </span>
              {count > 0 && (
                <>
                  <span className="badge" data-testid="unread-count" aria-hidden="true">
                    {count}
                  </span>
                  <span className="visually-hidden">, {count} unread</span>
                </>
              )}
            </a>
          </li>
        );
      })}
    </ul>
  );
}
