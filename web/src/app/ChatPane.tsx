import { useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import type { FormEvent, KeyboardEvent, ReactNode } from 'react';
import type { Conversation, Message } from '../lib';
import type { ChatState, PendingMessage } from './state';
import { conversationName, displayName, otherMembers, readReceipt, typingUsers } from './state';
import { OnlineDot } from './OnlineDot';

interface Props {
  state: ChatState;
  conversation: Conversation;
  now: number;
  onBack: () => void;
  onSend: (body: string) => void;
  onRetry: (pending: PendingMessage) => void;
  onDiscard: (pending: PendingMessage) => void;
  onLoadOlder: () => Promise<void>;
  onTyping: (typing: boolean) => void;
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function typingText(names: string[]): string {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

const TYPING_IDLE_MS = 3000;
const TYPING_REPEAT_MS = 2000;

export function ChatPane(props: Props): ReactNode {
  const { state, conversation, now, onBack, onSend, onRetry, onDiscard, onLoadOlder, onTyping } = props;
  const cid = conversation.id;
  const entry = state.messages[cid];
  const messages: Message[] = entry?.messages ?? [];
  const pending = state.pending.filter((p) => p.conversation_id === cid);
  const receipt = readReceipt(state, cid);
  const typers = typingUsers(state, cid, now).map((uid) => displayName(state, uid));
  const name = conversationName(state, conversation);
  const inputId = useId();

  const [draft, setDraft] = useState('');
  const [loadingOlder, setLoadingOlder] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const keepOffset = useRef<number | null>(null);
  const typingSentAt = useRef(0);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Scroll: follow new messages when at the bottom; keep position when older ones are prepended.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (stickToBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages.length, pending.length, cid]);

  // Stop "typing" when leaving the conversation.
  useEffect(
    () => () => {
      if (typingTimer.current !== undefined) {
        clearTimeout(typingTimer.current);
        typingTimer.current = undefined;
        onTyping(false);
      }
    },
    // Runs on conversation change: the cleanup holds the previous conversation's onTyping.
    [cid],
  );

  function stopTyping(): void {
    if (typingTimer.current !== undefined) clearTimeout(typingTimer.current);
    if (typingTimer.current !== undefined || typingSentAt.current) onTyping(false);
    typingTimer.current = undefined;
    typingSentAt.current = 0;
  }

  function onDraftChange(value: string): void {
    setDraft(value);
    if (!value.trim()) {
      stopTyping();
      return;
    }
    const t = Date.now();
    if (t - typingSentAt.current > TYPING_REPEAT_MS) {
      typingSentAt.current = t;
      onTyping(true);
    }
    if (typingTimer.current !== undefined) clearTimeout(typingTimer.current);
    typingTimer.current = setTimeout(() => {
      typingTimer.current = undefined;
      typingSentAt.current = 0;
      onTyping(false);
    }, TYPING_IDLE_MS);
  }

  function submit(): void {
    const body = draft.trim();
    if (!body) return;
    stopTyping();
    stickToBottom.current = true;
    onSend(body);
    setDraft('');
  }

  function onSubmit(e: FormEvent<HTMLFormElement>): void {
    e.preventDefault();
    submit();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>): void {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  async function loadOlder(): Promise<void> {
    const el = listRef.current;
    if (el) keepOffset.current = el.scrollHeight - el.scrollTop;
    setLoadingOlder(true);
    try {
      await onLoadOlder();
    } finally {
      setLoadingOlder(false);
    }
  }

  return (
    <div className="pane" data-testid="chat-pane" data-conversation-id={cid}>
      <header className="pane__header">
        <button type="button" className="back" onClick={onBack} aria-label="Back to conversations" data-testid="back-button">
          ←
        </button>
        <h2 className="pane__title" data-testid="chat-title">
          {name}
        </h2>
        <ul className="members" aria-label="Members">
          {otherMembers(state, conversation).map((uid) => (
            <li key={uid} className="member">
              <OnlineDot userId={uid} online={state.online[uid] === true} name={displayName(state, uid)} />
              <span className="member__name">{displayName(state, uid)}</span>
            </li>
          ))}
        </ul>
      </header>

      <ol
        ref={listRef}
        className="messages"
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={`Messages with ${name}`}
        data-testid="message-list"
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {entry?.hasMore && (
          <li className="older">
            <button type="button" data-testid="load-older" onClick={() => void loadOlder()} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Load older messages'}
            </button>
          </li>
        )}
        {entry && !entry.loaded && messages.length === 0 && <li className="muted">Loading messages…</li>}
        {entry?.loaded && messages.length === 0 && pending.length === 0 && (
          <li className="muted">No messages yet. Say hello!</li>
        )}
        {messages.map((m) => {
          const mine = m.sender_id === state.me;
          return (
            <li
              key={m.id}
              className={`message ${mine ? 'message--mine' : ''}`}
              data-testid="message"
              data-message-id={m.id}
              data-sender-id={m.sender_id}
              data-mine={mine ? 'true' : 'false'}
            >
              <p className="message__meta">
                <span className="message__sender">{displayName(state, m.sender_id)}</span>{' '}
                <time dateTime={m.created_at}>{time(m.created_at)}</time>
              </p>
              {/* Text node only: message bodies are never parsed as HTML. */}
              <p className="message__body" data-testid="message-body">
                {m.body}
              </p>
              {receipt?.messageId === m.id && (
                <p className="receipt" data-testid="read-receipt" data-readers={receipt.readers.join(',')}>
                  Seen by {receipt.readers.map((uid) => displayName(state, uid)).join(', ')}
                </p>
              )}
            </li>
          );
        })}
        {pending.map((p) => (
          <li
            key={p.client_msg_id}
            className={`message message--mine message--pending ${p.error ? 'message--failed' : ''}`}
            data-testid="message"
            data-pending="true"
            data-mine="true"
          >
            <p className="message__body" data-testid="message-body">
              {p.body}
            </p>
            {p.error ? (
              <p className="message__meta" role="alert">
                Not sent: {p.error}{' '}
                <button type="button" onClick={() => onRetry(p)} data-testid="retry-send">
                  Retry
                </button>{' '}
                <button type="button" onClick={() => onDiscard(p)}>
                  Discard
                </button>
              </p>
            ) : (
              <p className="message__meta">Sending…</p>
            )}
          </li>
        ))}
      </ol>

      <div className="typing" aria-live="polite">
        {typers.length > 0 && <span data-testid="typing-indicator">{typingText(typers)}</span>}
      </div>

      <form className="composer" onSubmit={onSubmit}>
        <label htmlFor={inputId} className="visually-hidden">
          Message to {name}
        </label>
        <textarea
          id={inputId}
          data-testid="message-input"
          rows={1}
          placeholder="Write a message"
          value={draft}
          onChange={(e) => onDraftChange(e.target.value)}
          onKeyDown={onKeyDown}
          onBlur={stopTyping}
        />
        <button type="submit" className="primary" data-testid="send-button" disabled={!draft.trim()}>
          Send
        </button>
      </form>
    </div>
  );
}
