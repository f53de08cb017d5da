import type { ReactNode } from 'react';
import type { ChatState } from './state';
import { conversationName, otherMembers, unreadCount } from './state';
import { OnlineDot } from './OnlineDot';

interface Props {
  state: ChatState;
  activeId: number | null;
  onOpen: (conversationId: number) => void;
}

export function ConversationList({ state, activeId, onOpen }: Props): ReactNode {
  if (state.conversations.length === 0) {
    return (
      <p className="muted" data-testid="conversation-empty">
        No conversations yet. Start one with the button above.
      </p>
    );
  }
  return (
    <ul className="conversations" data-testid="conversation-list">
      {state.conversations.map((c) => {
        const name = conversationName(state, c);
        const others = otherMembers(state, c);
        const { count, capped } = unreadCount(state, c.id);
        const unreadLabel = count > 0 ? `${count}${capped ? '+' : ''}` : '';
        const last = state.messages[c.id]?.messages.at(-1);
        return (
          <li key={c.id}>
            <button
              type="button"
              className={`conversation ${c.id === activeId ? 'conversation--active' : ''}`}
              aria-current={c.id === activeId ? 'true' : undefined}
              aria-label={`${name}${count > 0 ? `, ${unreadLabel} unread` : ''}`}
              data-testid="conversation-item"
              data-conversation-id={c.id}
              data-unread={count}
              onClick={() => onOpen(c.id)}
            >
              <span className="conversation__dots">
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
                <span className="conversation__name" data-testid="conversation-name">
                  {name}
                </span>
                {last && <span className="conversation__preview">{last.body}</span>}
              </span>
              {count > 0 && (
                <span className="badge" data-testid="unread-count">
                  {unreadLabel}
                </span>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
}
