import { Fragment, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import type { FormEvent, KeyboardEvent, ReactNode } from 'react';
import type { Conversation, Message } from '../lib';
import { isSwitchboardError } from '../lib';
import type { ChatState, PendingMessage, TimelineItem } from './state';
import { compareIds, conversationName, displayName, firstUnreadId, otherMembers, readReceipt, timeline, typingUsers } from './state';
import { continuesGroup, dayKey, dayLabel, fullLabel, timeLabel } from './format';
import { OnlineDot } from './OnlineDot';

interface Props {
  state: ChatState;
  conversation: Conversation;
  now: number;
  maxChars: number;
  connected: boolean;
  /** Put the focus in the message box on opening (a conversation just started). */
  focusComposer?: boolean;
  onBack: () => void;
  onSend: (body: string) => void;
  onRetry: (pending: PendingMessage) => void;
  onDiscard: (pending: PendingMessage) => void;
  onLoadOlder: () => Promise<void>;
  onTyping: (typing: boolean) => void;
  onSearch: (q: string, before?: string) => Promise<Message[]>;
  onRename: (title: string | null) => Promise<void>;
  onLeave: () => Promise<void>;
}

function typingText(names: string[]): string {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

function problem(err: unknown): string {
  if (isSwitchboardError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

const TYPING_IDLE_MS = 3000;
const TYPING_REPEAT_MS = 2000;
/** The counter shows from this share of the limit on. */
const COUNTER_FROM = 0.8;
const SEARCH_PAGE = 20;
/** Older pages fetched at most to reach a search result. */
const MAX_JUMP_PAGES = 40;
/** Older pages fetched at most, on opening, to reach the first unread message. */
const MAX_DIVIDER_PAGES = 5;

type Panel = 'none' | 'search' | 'settings';

export function ChatPane(props: Props): ReactNode {
  const { state, conversation, now, maxChars, connected, onBack, onSend, onRetry, onDiscard, onLoadOlder, onTyping } = props;
  const cid = conversation.id;
  const entry = state.messages[cid];
  const messages: Message[] = entry?.messages ?? [];
  const items = timeline(state, cid);
  const receipt = readReceipt(state, cid);
  const typers = typingUsers(state, cid, now).map((uid) => displayName(state, uid));
  const name = conversationName(state, conversation);
  const others = otherMembers(state, conversation);
  const isGroup = others.length > 1 || conversation.title !== null;
  const ids = useId();

  const [draft, setDraft] = useState('');
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [atBottom, setAtBottom] = useState(true);
  const [panel, setPanel] = useState<Panel>('none');
  const searchToggle = useRef<HTMLButtonElement>(null);
  const settingsToggle = useRef<HTMLButtonElement>(null);
  // Closing a panel (Escape, Close) gives the focus back to the button that opened it.
  function closePanel(): void {
    const toggle = panel === 'search' ? searchToggle.current : settingsToggle.current;
    setPanel('none');
    toggle?.focus();
  }
  const [highlight, setHighlight] = useState<{ id: string; at: number } | null>(null);
  // The "new messages" line: where unread began when the conversation was opened; it stays put.
  const [unreadAtOpen] = useState(() => state.unread[cid] ?? 0);
  const [dividerId, setDividerId] = useState<string | null>(null);
  const dividerFixed = useRef(false);
  const listRef = useRef<HTMLDivElement>(null);
  const topRef = useRef<HTMLLIElement>(null);
  const stickToBottom = useRef(true);
  const keepOffset = useRef<number | null>(null);
  const scrolledOnce = useRef(false);
  const typingSentAt = useRef(0);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const olderInFlight = useRef<Promise<void> | null>(null);
  // The newest message when the reader scrolled away from the end: what came after is "new".
  const newestAtLeave = useRef<string | undefined>(messages.at(-1)?.id);

  const dividerPages = useRef(0);
  useEffect(() => {
    if (dividerFixed.current || !entry?.loaded) return;
    // More unread than loaded: fetch older pages (a few at most) so the line lands on the first unread.
    const others = messages.filter((m) => m.sender_id !== state.me).length;
    if (others < unreadAtOpen && entry.hasMore && dividerPages.current < MAX_DIVIDER_PAGES) {
      if (!olderInFlight.current) {
        dividerPages.current += 1;
        void loadOlder();
      }
      return;
    }
    dividerFixed.current = true;
    setDividerId(firstUnreadId(messages, state.me, unreadAtOpen));
  });

  // Scroll: first to the "new messages" line (or the end), then follow new messages
  // while at the bottom, and keep the position when older ones are prepended.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
      return;
    }
    if (!scrolledOnce.current && entry?.loaded && dividerFixed.current) {
      scrolledOnce.current = true;
      const divider = el.querySelector<HTMLElement>('[data-testid="new-messages-divider"]');
      if (divider) {
        el.scrollTop = Math.max(0, divider.offsetTop - el.offsetTop - 8);
        stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        setAtBottom(stickToBottom.current);
        return;
      }
    }
    if (stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [items.length, cid, entry?.loaded, dividerId]);

  if (atBottom) newestAtLeave.current = messages.at(-1)?.id;
  const leftAt = newestAtLeave.current;
  const newBelow = atBottom ? 0 : messages.filter((m) => leftAt === undefined || compareIds(m.id, leftAt) > 0).length;

  // At phone width the list that had focus disappears when a conversation opens:
  // keyboard and screen-reader users land on the conversation's title, not on <body>.
  const titleRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (props.focusComposer) {
      document.getElementById(`${ids}-input`)?.focus();
      return;
    }
    const active = document.activeElement as HTMLElement | null;
    // Only when the focused element just went out of sight (not on a page load, where focus is on <body>).
    if (active && active !== document.body && active.offsetParent === null) titleRef.current?.focus();
    // Once per conversation opened.
  }, [cid]);

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

  // Infinite scroll: older messages load when the top of the list comes into view.
  // Re-created after each page, so that a top still in view after a short page loads the next.
  const hasMore = entry?.hasMore ?? false;
  const loadOlderRef = useRef<() => Promise<void>>(() => Promise.resolve());
  useEffect(() => {
    loadOlderRef.current = loadOlder;
  });
  useEffect(() => {
    const top = topRef.current;
    const list = listRef.current;
    if (!top || !list || !hasMore || typeof IntersectionObserver === 'undefined') return undefined;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && scrolledOnce.current) void loadOlderRef.current();
      },
      { root: list, rootMargin: '200px 0px 0px 0px' },
    );
    observer.observe(top);
    return () => observer.disconnect();
  }, [hasMore, cid, messages.length]);

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

  const body = draft.trim();
  const length = draft.length;
  const tooLong = length > maxChars;

  function submit(): void {
    if (!body || tooLong) return;
    stopTyping();
    stickToBottom.current = true;
    setAtBottom(true);
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

  function loadOlder(): Promise<void> {
    if (olderInFlight.current) return olderInFlight.current;
    const el = listRef.current;
    if (el) keepOffset.current = el.scrollHeight - el.scrollTop;
    setLoadingOlder(true);
    const p = onLoadOlder().finally(() => {
      olderInFlight.current = null;
      setLoadingOlder(false);
    });
    olderInFlight.current = p;
    return p;
  }

  function jumpToLatest(): void {
    const el = listRef.current;
    if (!el) return;
    stickToBottom.current = true;
    setAtBottom(true);
    el.scrollTop = el.scrollHeight;
    document.getElementById(`${ids}-input`)?.focus();
  }

  const stateRef = useRef(state);
  stateRef.current = state;

  async function jumpTo(messageId: string): Promise<void> {
    for (let i = 0; i < MAX_JUMP_PAGES; i += 1) {
      const conv = stateRef.current.messages[cid];
      if (conv?.messages.some((m) => m.id === messageId) || !conv?.hasMore) break;
      await loadOlder();
      // Let React commit the page before looking again.
      await new Promise((r) => setTimeout(r, 0));
    }
    stickToBottom.current = false;
    setAtBottom(false);
    setHighlight({ id: messageId, at: Date.now() });
  }

  // After the highlighted message is rendered (with its tabIndex): bring it into view and focus it.
  useEffect(() => {
    if (!highlight) return;
    const el = listRef.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(highlight.id)}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
  }, [highlight]);

  function renderItem(item: TimelineItem, index: number): ReactNode {
    const prevItem = items[index - 1];
    if (item.kind === 'pending') {
      const p = item.pending;
      const prevPending = prevItem?.kind === 'pending' || (prevItem?.kind === 'message' && prevItem.message.sender_id === state.me);
      return (
        <li
          key={p.client_msg_id}
          className={`message message--mine message--pending ${p.status === 'failed' ? 'message--failed' : ''} ${prevPending ? 'message--continued' : ''}`}
          data-testid="message"
          data-pending="true"
          data-status={p.status}
          data-mine="true"
        >
          {/* A refused body may scroll inside its bubble: reachable from the keyboard then. */}
          <p className="message__body" data-testid="message-body" tabIndex={p.status === 'failed' ? 0 : undefined}>
            {p.body}
          </p>
          {p.status === 'failed' ? (
            <p className="message__status message__status--failed" role="alert" data-testid="send-error">
              Not sent: {p.error}.{' '}
              {p.retryable && (
                <button type="button" className="link" onClick={() => onRetry(p)} data-testid="retry-send">
                  Retry
                </button>
              )}{' '}
              {!p.retryable && (
                <button
                  type="button"
                  className="link"
                  data-testid="edit-failed"
                  onClick={() => {
                    onDiscard(p);
                    setDraft(p.body);
                    document.getElementById(`${ids}-input`)?.focus();
                  }}
                >
                  Edit
                </button>
              )}{' '}
              <button type="button" className="link" onClick={() => onDiscard(p)} data-testid="discard-send">
                Discard
              </button>
            </p>
          ) : (
            <p className="message__status" data-testid="send-status">
              {p.status === 'sending' || connected ? 'Sending…' : 'Waiting for connection…'}
            </p>
          )}
        </li>
      );
    }
    const m = item.message;
    const mine = m.sender_id === state.me;
    const prev = prevItem?.kind === 'message' ? prevItem.message : undefined;
    const newDay = !prevItem || (prev ? dayKey(prev.created_at) !== dayKey(m.created_at) : false);
    const divider = dividerId === m.id;
    const continued = !newDay && !divider && continuesGroup(prev, m);
    return (
      <Fragment key={m.id}>
        {newDay && (
          <li className="day" data-testid="day-separator" aria-hidden="false">
            <span>{dayLabel(m.created_at, new Date(now))}</span>
          </li>
        )}
        {divider && (
          <li className="divider" data-testid="new-messages-divider">
            <span>New messages</span>
          </li>
        )}
        <li
          className={`message ${mine ? 'message--mine' : ''} ${continued ? 'message--continued' : ''} ${highlight?.id === m.id ? 'message--highlight' : ''}`}
          data-testid="message"
          data-message-id={m.id}
          data-sender-id={m.sender_id}
          data-mine={mine ? 'true' : 'false'}
          data-continued={continued ? 'true' : 'false'}
          tabIndex={highlight?.id === m.id ? -1 : undefined}
        >
          {continued ? (
            <span className="visually-hidden">
              {displayName(state, m.sender_id)}, {timeLabel(m.created_at)}:
            </span>
          ) : (
            <p className="message__meta">
              <span className="message__sender">{displayName(state, m.sender_id)}</span>{' '}
              <time dateTime={m.created_at} title={fullLabel(m.created_at)}>
                {timeLabel(m.created_at)}
              </time>
            </p>
          )}
          {/* Text node only: message bodies are never parsed as HTML. */}
          <p className="message__body" data-testid="message-body" title={continued ? fullLabel(m.created_at) : undefined}>
            {m.body}
          </p>
          {receipt?.messageId === m.id && (
            <p className="receipt" data-testid="read-receipt" data-readers={receipt.readers.join(',')}>
              Seen by {receipt.readers.map((uid) => displayName(state, uid)).join(', ')}
            </p>
          )}
        </li>
      </Fragment>
    );
  }

  const counterShown = length >= maxChars * COUNTER_FROM;

  return (
    <div className="pane" data-testid="chat-pane" data-conversation-id={cid}>
      <header className="pane__header">
        <button type="button" className="back" onClick={onBack} aria-label="Back to conversations" data-testid="back-button">
          ←
        </button>
        <div className="pane__heading">
          <h2 className="pane__title" data-testid="chat-title" ref={titleRef} tabIndex={-1}>
            {name}
          </h2>
          {isGroup ? (
            <ul className="members" aria-label="Members" data-testid="members">
              {others.map((uid) => (
                <li key={uid} className="member">
                  <OnlineDot userId={uid} online={state.online[uid] === true} name={displayName(state, uid)} />
                  <span className="member__name">{displayName(state, uid)}</span>
                </li>
              ))}
            </ul>
          ) : (
            others.map((uid) => (
              <p key={uid} className="pane__status" data-testid="peer-status">
                <OnlineDot userId={uid} online={state.online[uid] === true} name={displayName(state, uid)} />
                <span aria-hidden="true">{state.online[uid] === true ? 'online' : 'offline'}</span>
              </p>
            ))
          )}
        </div>
        <div className="pane__actions">
          <button
            type="button"
            ref={searchToggle}
            aria-expanded={panel === 'search'}
            aria-controls={`${ids}-search`}
            data-testid="search-toggle"
            onClick={() => setPanel(panel === 'search' ? 'none' : 'search')}
          >
            Search
          </button>
          <button
            type="button"
            ref={settingsToggle}
            aria-expanded={panel === 'settings'}
            aria-controls={`${ids}-settings`}
            data-testid="settings-toggle"
            onClick={() => setPanel(panel === 'settings' ? 'none' : 'settings')}
          >
            Details
          </button>
        </div>
      </header>

      {panel === 'search' && (
        <SearchPanel
          id={`${ids}-search`}
          state={state}
          onSearch={props.onSearch}
          onPick={(id) => void jumpTo(id)}
          onClose={closePanel}
        />
      )}
      {panel === 'settings' && (
        <SettingsPanel
          id={`${ids}-settings`}
          conversation={conversation}
          name={name}
          onRename={props.onRename}
          onLeave={props.onLeave}
          onClose={closePanel}
        />
      )}

      <div className="messages-wrap">
        {/* The log is the scrolling box; the list inside keeps list semantics for its items. */}
        <div
          ref={listRef}
          className="messages"
          role="log"
          aria-live="polite"
          aria-relevant="additions"
          aria-label={`Messages with ${name}`}
          tabIndex={0}
          data-testid="message-list"
          onScroll={(e) => {
            const el = e.currentTarget;
            const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
            stickToBottom.current = bottom;
            if (bottom !== atBottom) setAtBottom(bottom);
          }}
        >
          <ol className="messages__items">
          {hasMore && (
            <li className="older" ref={topRef}>
              <button type="button" data-testid="load-older" onClick={() => void loadOlder()} disabled={loadingOlder}>
                {loadingOlder ? 'Loading…' : 'Load older messages'}
              </button>
            </li>
          )}
          {entry && !hasMore && entry.loaded && messages.length > 0 && (
            <li className="start muted" data-testid="conversation-start">
              This is the beginning of the conversation.
            </li>
          )}
          {(!entry || !entry.loaded) && messages.length === 0 && (
            <li className="muted" role="status">
              Loading messages…
            </li>
          )}
          {entry?.loaded && items.length === 0 && <li className="muted empty">No messages yet. Say hello!</li>}
          {items.map(renderItem)}
          </ol>
        </div>
        {!atBottom && (
          <button type="button" className="jump" data-testid="jump-to-latest" onClick={jumpToLatest}>
            {newBelow > 0 ? `${newBelow} new ${newBelow === 1 ? 'message' : 'messages'} ↓` : 'Jump to latest ↓'}
          </button>
        )}
      </div>

      <div className="typing" aria-live="polite">
        {typers.length > 0 && <span data-testid="typing-indicator">{typingText(typers)}</span>}
      </div>

      <form className="composer" onSubmit={onSubmit} id="composer">
        <label htmlFor={`${ids}-input`} className="visually-hidden">
          Message to {name}
        </label>
        <div className="composer__field">
          <textarea
            id={`${ids}-input`}
            data-testid="message-input"
            rows={1}
            placeholder="Write a message"
            value={draft}
            aria-invalid={tooLong}
            aria-describedby={`${ids}-count`}
            onChange={(e) => onDraftChange(e.target.value)}
            onKeyDown={onKeyDown}
            onBlur={stopTyping}
          />
          <p
            id={`${ids}-count`}
            className={`counter ${tooLong ? 'counter--over' : ''} ${counterShown ? '' : 'visually-hidden'}`}
            data-testid="char-counter"
            aria-live={tooLong ? 'assertive' : 'off'}
          >
            {tooLong
              ? `${(length - maxChars).toLocaleString()} ${length - maxChars === 1 ? 'character' : 'characters'} too long (limit ${maxChars.toLocaleString()})`
              : `${length.toLocaleString()} / ${maxChars.toLocaleString()}`}
          </p>
        </div>
        <button type="submit" className="primary" data-testid="send-button" disabled={!body || tooLong}>
          Send
        </button>
      </form>
    </div>
  );
}

function SearchPanel(props: {
  id: string;
  state: ChatState;
  onSearch: (q: string, before?: string) => Promise<Message[]>;
  onPick: (messageId: string) => void;
  onClose: () => void;
}): ReactNode {
  const { id, state, onSearch, onPick, onClose } = props;
  const [q, setQ] = useState('');
  const [results, setResults] = useState<Message[] | null>(null);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const [searched, setSearched] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => inputRef.current?.focus(), []);

  async function run(before?: string): Promise<void> {
    const query = before ? searched : q.trim();
    if (!query) return;
    setBusy(true);
    setErr(null);
    try {
      const found = await onSearch(query, before);
      setSearched(query);
      setResults((prev) => (before && prev ? [...prev, ...found] : found));
      setMore(found.length >= SEARCH_PAGE);
    } catch (e) {
      setErr(problem(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section
      id={id}
      className="panel"
      aria-label="Search this conversation"
      data-testid="search-panel"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <form
        className="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label htmlFor={`${id}-q`} className="visually-hidden">
          Search messages
        </label>
        <input
          id={`${id}-q`}
          ref={inputRef}
          type="search"
          className="grow"
          placeholder="Search messages"
          value={q}
          maxLength={200}
          data-testid="search-input"
          onChange={(e) => setQ(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy || !q.trim()} data-testid="search-submit">
          Search
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </form>
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      <div role="status" className="muted small" data-testid="search-summary">
        {busy
          ? 'Searching…'
          : results === null
            ? ''
            : results.length === 0
              ? `No messages contain “${searched}”.`
              : `${results.length}${more ? '+' : ''} ${results.length === 1 ? 'message contains' : 'messages contain'} “${searched}”.`}
      </div>
      {results && results.length > 0 && (
        <ul className="search-results" data-testid="search-results">
          {results.map((m) => (
            <li key={m.id}>
              <button type="button" className="search-result" data-testid="search-result" data-message-id={m.id} onClick={() => onPick(m.id)}>
                <span className="search-result__meta">
                  {displayName(state, m.sender_id)} · {dayLabel(m.created_at)} {timeLabel(m.created_at)}
                </span>
                <span className="search-result__body">{m.body}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {more && (
        <button type="button" onClick={() => void run(results?.at(-1)?.id)} disabled={busy} data-testid="search-more">
          Older results
        </button>
      )}
    </section>
  );
}

function SettingsPanel(props: {
  id: string;
  conversation: Conversation;
  name: string;
  onRename: (title: string | null) => Promise<void>;
  onLeave: () => Promise<void>;
  onClose: () => void;
}): ReactNode {
  const { id, conversation, name, onRename, onLeave, onClose } = props;
  const [title, setTitle] = useState(conversation.title ?? '');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => inputRef.current?.focus(), []);

  async function act(fn: () => Promise<void>, after?: () => void): Promise<void> {
    setBusy(true);
    setErr(null);
    setSaved(false);
    try {
      await fn();
      after?.();
    } catch (e) {
      setErr(problem(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section
      id={id}
      className="panel"
      aria-label="Conversation details"
      data-testid="settings-panel"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => onRename(title.trim() || null), () => setSaved(true));
        }}
      >
        <label htmlFor={`${id}-title`}>Name</label>
        <input
          id={`${id}-title`}
          ref={inputRef}
          className="grow"
          value={title}
          maxLength={200}
          placeholder={name}
          data-testid="rename-input"
          onChange={(e) => setTitle(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy} data-testid="rename-submit">
          Rename
        </button>
      </form>
      <p className="muted small">Everyone in the conversation sees the new name. Leave it empty to show the members' names.</p>
      {saved && (
        <p role="status" className="ok small" data-testid="rename-done">
          Saved.
        </p>
      )}
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      <div className="row">
        {confirming ? (
          <>
            <span>Leave “{name}”? You will stop receiving its messages.</span>
            <button type="button" className="danger" disabled={busy} data-testid="leave-confirm" onClick={() => void act(onLeave)}>
              Leave
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button type="button" className="danger-outline" data-testid="leave-conversation" onClick={() => setConfirming(true)}>
            Leave conversation
          </button>
        )}
      </div>
    </section>
  );
}
