import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { isSwitchboardError, newClientMsgId } from '../lib';
import type { Conversation, Message, User } from '../lib';
import { useChatEvent, useConnectionStateChange, useNotificationEvent, useSocket } from '../lib/react';
import { ChatPane } from './ChatPane';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationList } from './ConversationList';
import { DesktopNotifications, useDesktopNotifications } from './DesktopNotifications';
import { NewConversation } from './NewConversation';
import { NotificationBell } from './NotificationBell';
import { useConversationRoute } from './route';
import type { PendingMessage } from './state';
import {
  compareIds,
  conversationName,
  displayName,
  initialState,
  isRetryable,
  loadOutbox,
  reducer,
  saveOutbox,
  totalUnread,
  unreadAfter,
} from './state';

const PAGE_SIZE = 30;
/** Conversations whose latest page is fetched up front (previews and "Seen by" come faster). */
const PRELOAD_CONVERSATIONS = 10;
/** Until GET /api/config answers: the SPEC's default. */
const DEFAULT_MAX_CHARS = 4000;
/** Failed sends of one message while connected before it is shown as failed (not retried by itself). */
const MAX_SEND_ATTEMPTS = 3;

function errorText(err: unknown): string {
  if (isSwitchboardError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): string {
  return isSwitchboardError(err) ? err.code : 'internal';
}

/** What a person reads when a message is refused. */
function refusalText(err: unknown, maxChars: number): string {
  switch (errorCode(err)) {
    case 'too_large': {
      // The server's own words carry its limit (the page's copy may be out of date).
      const said = errorText(err).replace(/^body:\s*/, '');
      return /longer than/.test(said) ? said : `longer than ${maxChars.toLocaleString()} characters`;
    }
    case 'forbidden':
      return 'you are no longer a member of this conversation';
    case 'not_found':
      return 'this conversation no longer exists';
    case 'rate_limited':
      return 'too many messages at once';
    case 'network_error':
    case 'timeout':
    case 'disconnected':
    case 'not_connected':
      return 'no connection';
    default:
      return errorText(err);
  }
}

function sameMembers(c: Conversation, ids: number[]): boolean {
  const a = [...new Set(c.member_ids)].sort((x, y) => x - y);
  const b = [...new Set(ids)].sort((x, y) => x - y);
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function useDocumentVisible(): boolean {
  const [visible, setVisible] = useState(() => typeof document === 'undefined' || document.visibilityState !== 'hidden');
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return visible;
}

export function ChatApp({ me }: { me: User }): ReactNode {
  const { client, logout, connectionState, isConnected } = useSocket();
  const [state, dispatch] = useReducer(reducer, me.id, (id) => ({
    ...initialState(id),
    users: { [me.id]: me },
    pending: loadOutbox(id),
  }));
  const [activeId, navigate] = useConversationRoute();
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [maxChars, setMaxChars] = useState(DEFAULT_MAX_CHARS);
  const [listed, setListed] = useState(false);
  // A conversation just started here: its message box gets the focus (the form that had it is gone).
  const [startedId, setStartedId] = useState<number | null>(null);
  // Messages the last recovery delivered (for the banner); reset on every drop.
  const [missed, setMissed] = useState<number | null>(null);
  const visible = useDocumentVisible();
  const desktop = useDesktopNotifications();
  const requested = useRef(new Set<number>());
  const readsRequested = useRef(new Set<number>());
  const conversationsReload = useRef<Promise<void> | null>(null);
  const lastUsersReload = useRef(0);
  const seq = useRef(0);
  // The send in flight (at most one). A ref, with a tick to re-run the outbox when it ends:
  // its pending copy may already be gone (message:new can beat the ack).
  const inFlight = useRef<string | null>(null);
  const [outboxTick, setOutboxTick] = useState(0);
  const attempts = useRef(new Map<string, number>());
  const reconnectedAt = useRef<number | null>(null);
  const stateRef = useRef(state);
  useEffect(() => {
    stateRef.current = state;
  });

  // ---------------------------------------------------------------- loading

  const report = useCallback((err: unknown) => {
    // A 401 ends the session inside the client; the page then shows the login form.
    if (isSwitchboardError(err, 'unauthorized')) return;
    setError(errorText(err));
  }, []);

  const loadUsers = useCallback(async () => {
    lastUsersReload.current = Date.now();
    const users = await client.searchUsers('');
    dispatch({ type: 'users', users });
  }, [client]);

  const loadConversations = useCallback(async () => {
    if (conversationsReload.current) return conversationsReload.current;
    const p = client
      .listConversations()
      .then((conversations) => {
        dispatch({ type: 'conversations', conversations });
        setListed(true);
      })
      .finally(() => {
        conversationsReload.current = null;
      });
    conversationsReload.current = p;
    return p;
  }, [client]);

  const loadLatest = useCallback(
    async (cid: number) => {
      const messages = await client.getMessages(cid, { limit: PAGE_SIZE });
      dispatch({ type: 'history', conversationId: cid, messages, older: false, hasMore: messages.length >= PAGE_SIZE });
    },
    [client],
  );

  const loadReads = useCallback(
    async (cid: number) => {
      const reads = await client.getReadMarks(cid);
      dispatch({ type: 'reads', conversationId: cid, reads });
    },
    [client],
  );

  const loadNotifications = useCallback(async () => {
    const res = await client.listNotifications({ limit: 50 });
    dispatch({ type: 'notifications', notifications: res.notifications, unread: res.unread_count });
  }, [client]);

  const refreshPresence = useCallback(
    async (ids: number[]) => {
      if (ids.length === 0) return;
      let online;
      try {
        online = await client.queryPresence(ids);
      } catch {
        online = await client.getPresence(ids);
      }
      dispatch({ type: 'presenceMap', online });
    },
    [client],
  );

  // Users that a conversation names but we cannot name yet: ask for them by id
  // (the first search page holds only a few users), at most every 10 s per id.
  const askedForUsers = useRef(new Map<number, number>());
  const maybeReloadUsers = useCallback(
    (ids: number[]) => {
      const s = stateRef.current;
      const now = Date.now();
      const asked = askedForUsers.current;
      const missing = [...new Set(ids)].filter(
        (id) => !s.users[id] && now - (asked.get(id) ?? 0) >= 10_000,
      );
      if (missing.length === 0) return;
      for (const id of missing) asked.set(id, now);
      client
        .getUsers(missing)
        .then((users) => dispatch({ type: 'users', users }))
        .catch(() => undefined); // names are a nicety; the page works without them
    },
    [client],
  );

  useEffect(() => {
    loadUsers().catch(() => undefined); // names are a nicety; the page works without them
    loadConversations().catch(report);
    loadNotifications().catch(report);
    client
      .getConfig()
      .then((config) => setMaxChars(config.max_message_chars))
      .catch(() => undefined); // the server enforces its limit anyway
  }, [client, loadUsers, loadConversations, loadNotifications, report]);

  const ensureLoaded = useCallback(
    (cid: number) => {
      if (!requested.current.has(cid)) {
        requested.current.add(cid);
        loadLatest(cid).catch((err: unknown) => {
          requested.current.delete(cid);
          report(err);
        });
      }
      if (!readsRequested.current.has(cid)) {
        readsRequested.current.add(cid);
        loadReads(cid).catch(() => readsRequested.current.delete(cid));
      }
    },
    [loadLatest, loadReads, report],
  );

  // Latest page of the first conversations, once: previews and receipts are ready when opened.
  useEffect(() => {
    for (const c of state.conversations.slice(0, PRELOAD_CONVERSATIONS)) ensureLoaded(c.id);
    maybeReloadUsers(state.conversations.flatMap((c) => c.member_ids));
  }, [state.conversations, ensureLoaded, maybeReloadUsers]);

  // Presence of everyone I share a conversation with, whenever (re)connected or the set grows.
  const memberKey = useMemo(() => {
    const ids = new Set<number>();
    for (const c of state.conversations) for (const id of c.member_ids) if (id !== me.id) ids.add(id);
    return [...ids].sort((a, b) => a - b).join(',');
  }, [state.conversations, me.id]);
  useEffect(() => {
    if (!isConnected || !memberKey) return;
    refreshPresence(memberKey.split(',').map(Number)).catch(() => undefined);
  }, [isConnected, memberKey, refreshPresence]);

  useConnectionStateChange((next, previous) => {
    if (next === 'reconnecting') {
      dispatch({ type: 'presenceUnknown' });
      setMissed(0);
      reconnectedAt.current = null;
    }
    // In the server's time, to compare with created_at even when this device's clock is off.
    if (next === 'recovered') reconnectedAt.current = Date.now() + client.serverClockOffsetMs;
    if (next === 'connected' && previous === 'reconnecting') {
      // A reconnect that could not recover missed events: reload what may have changed.
      loadConversations().catch(report);
      loadNotifications().catch(report);
      for (const cid of requested.current) loadLatest(cid).catch(() => undefined);
    }
  });

  // ---------------------------------------------------------------- live events

  const active = state.conversations.find((c) => c.id === activeId) ?? null;

  useChatEvent('message:new', (message: Message) => {
    const s = stateRef.current;
    const known = s.messages[message.conversation_id]?.messages.some((m) => m.id === message.id) ?? false;
    // Missed while away: replayed as soon as /chat is back (possibly before /notifications,
    // so while the state still says reconnecting), and created before the reconnect.
    const replaying =
      client.connectionState === 'reconnecting' ||
      (reconnectedAt.current !== null && Date.parse(message.created_at) <= reconnectedAt.current);
    if (!known && replaying) setMissed((n) => (n ?? 0) + 1);
    if (!s.conversations.some((c) => c.id === message.conversation_id)) {
      // Someone started a conversation with me (its room was joined server-side), or
      // one I left that this socket still hears about: only the list can tell.
      loadConversations().catch(report);
      if (listed) return;
    }
    dispatch({ type: 'message', message });
    maybeReloadUsers([message.sender_id]);
    if (!known && message.sender_id !== me.id && (!visible || message.conversation_id !== activeId)) {
      const conv = s.conversations.find((c) => c.id === message.conversation_id);
      const group = !!conv && (conv.title !== null || conv.member_ids.length > 2);
      const sender = displayName(s, message.sender_id);
      desktop.show({
        title: group ? conversationName(s, conv) : sender,
        body: group ? `${sender}: ${message.body}` : message.body,
        tag: `conversation-${message.conversation_id}`,
        onClick: () => navigate(message.conversation_id),
        whenHiddenOnly: true,
      });
    }
  });
  useChatEvent('typing', (e) =>
    dispatch({ type: 'typing', conversationId: e.conversation_id, userId: e.user_id, typing: e.typing, now: Date.now() }),
  );
  useChatEvent('message:read', (e) => {
    dispatch({ type: 'read', conversationId: e.conversation_id, userId: e.user_id, messageId: e.message_id });
    if (e.user_id === me.id && unreadAfter(stateRef.current, e.conversation_id, e.message_id) === null) {
      // Read in another tab or device, further back than this page has loaded: ask the server.
      loadConversations().catch(report);
    }
  });
  useChatEvent('presence', (e) => dispatch({ type: 'presence', userId: e.user_id, online: e.online }));
  useChatEvent('conversation:updated', (conversation) => {
    dispatch({ type: 'conversation', conversation });
    if (!conversation.member_ids.includes(me.id) && activeId === conversation.id) navigate(null);
  });
  useNotificationEvent('notification', (notification) => {
    dispatch({ type: 'notification', notification });
    desktop.show({ title: notification.title, body: notification.body, tag: `notification-${notification.id}`, whenHiddenOnly: true });
  });
  useNotificationEvent('notification:unread_count', (e) => dispatch({ type: 'notificationsUnread', count: e.count }));

  // Typing indicators lapse when their sender goes quiet.
  const anyTyping = Object.values(state.typing).some((u) => Object.keys(u).length > 0);
  useEffect(() => {
    if (!anyTyping) return undefined;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      dispatch({ type: 'typingExpire', now: t });
    }, 1000);
    return () => clearInterval(timer);
  }, [anyTyping]);
  useEffect(() => {
    setNow(Date.now());
  }, [state.typing]);

  // ---------------------------------------------------------------- the open conversation

  // A conversation in the URL that is not (or no longer) mine: back to the list, once the list is known.
  useEffect(() => {
    if (activeId !== null && listed && !active) navigate(null, { replace: true });
  }, [activeId, listed, active, navigate]);

  useEffect(() => {
    if (activeId !== null && active) ensureLoaded(activeId);
  }, [activeId, active, ensureLoaded]);

  // What I see, I have read: my other tabs and devices hear it from the server.
  const activeMessages = activeId !== null ? state.messages[activeId]?.messages : undefined;
  const newest = activeMessages?.at(-1);
  const activeLastRead = activeId !== null ? state.lastRead[activeId] : undefined;
  useEffect(() => {
    if (activeId === null || !newest || !visible) return;
    if (activeLastRead !== undefined && compareIds(newest.id, activeLastRead) <= 0) return;
    if (client.markRead(activeId, newest.id)) {
      dispatch({ type: 'markedRead', conversationId: activeId, messageId: newest.id });
    }
  }, [client, activeId, newest, activeLastRead, visible, connectionState]);

  // Unread count in the tab's title, for a tab in the background.
  const unreadTotal = totalUnread(state);
  useEffect(() => {
    document.title = unreadTotal > 0 ? `(${unreadTotal}) Switchboard` : 'Switchboard';
    return () => {
      document.title = 'Switchboard';
    };
  }, [unreadTotal]);

  // ---------------------------------------------------------------- the outbox

  useEffect(() => saveOutbox(me.id, state.pending), [me.id, state.pending]);

  // One message at a time, oldest first, only while connected: what was typed
  // offline goes out in order once the connection is back. Each keeps its
  // client_msg_id through every attempt, so the server stores it once.
  const nextQueued = state.pending.filter((p) => p.status === 'queued').sort((a, b) => a.seq - b.seq)[0];
  const anySending = state.pending.some((p) => p.status === 'sending');
  useEffect(() => {
    if (!isConnected || !nextQueued || anySending || inFlight.current !== null) return;
    const p = nextQueued;
    inFlight.current = p.client_msg_id;
    dispatch({ type: 'pendingStatus', clientMsgId: p.client_msg_id, status: 'sending' });
    void (async () => {
      try {
        const message = await client.sendMessage(p.conversation_id, p.body, { clientMsgId: p.client_msg_id });
        attempts.current.delete(p.client_msg_id);
        dispatch({ type: 'message', message });
      } catch (err) {
        const code = errorCode(err);
        if (code === 'too_large') {
          // The server's limit is not the one this page knew: learn it for the counter.
          client
            .getConfig()
            .then((config) => setMaxChars(config.max_message_chars))
            .catch(() => undefined);
        }
        const n = (attempts.current.get(p.client_msg_id) ?? 0) + 1;
        attempts.current.set(p.client_msg_id, n);
        const retryable = isRetryable(code);
        if (retryable && (!client.isConnected || n < MAX_SEND_ATTEMPTS)) {
          // Back in the queue: it goes out again now, or when the connection returns.
          dispatch({ type: 'pendingStatus', clientMsgId: p.client_msg_id, status: 'queued', error: null });
        } else {
          dispatch({
            type: 'pendingStatus',
            clientMsgId: p.client_msg_id,
            status: 'failed',
            error: refusalText(err, maxChars),
            retryable,
          });
        }
      } finally {
        inFlight.current = null;
        setOutboxTick((t) => t + 1);
      }
    })();
  }, [client, isConnected, nextQueued, anySending, maxChars, outboxTick]);

  // ---------------------------------------------------------------- actions

  const openConversation = useCallback(
    (cid: number) => {
      navigate(cid);
      ensureLoaded(cid);
    },
    [navigate, ensureLoaded],
  );

  const startConversation = useCallback(
    async (memberIds: number[], title: string | null) => {
      const existing = title
        ? undefined
        : stateRef.current.conversations.find((c) => !c.title && sameMembers(c, [me.id, ...memberIds]));
      if (existing) {
        setStartedId(existing.id);
        openConversation(existing.id);
        return;
      }
      const conversation = await client.createConversation(memberIds, title);
      dispatch({ type: 'conversation', conversation });
      // The server joins live sockets itself; joining again is harmless and covers a socket mid-reconnect.
      client.joinConversation(conversation.id).catch(() => undefined);
      setStartedId(conversation.id);
      openConversation(conversation.id);
      refreshPresence(memberIds).catch(() => undefined);
    },
    [client, me.id, openConversation, refreshPresence],
  );

  const send = useCallback((cid: number, body: string) => {
    const s = stateRef.current;
    seq.current += 1;
    dispatch({
      type: 'pending',
      pending: {
        conversation_id: cid,
        client_msg_id: newClientMsgId(),
        body,
        status: 'queued',
        error: null,
        retryable: true,
        afterId: s.messages[cid]?.messages.at(-1)?.id ?? null,
        seq: Date.now() * 1000 + seq.current,
      },
    });
  }, []);

  const retry = useCallback((p: PendingMessage) => {
    attempts.current.delete(p.client_msg_id);
    dispatch({ type: 'pendingStatus', clientMsgId: p.client_msg_id, status: 'queued', error: null });
  }, []);

  const loadOlder = useCallback(async () => {
    if (activeId === null) return;
    const oldest = stateRef.current.messages[activeId]?.messages[0];
    try {
      const messages = await client.getMessages(activeId, { before: oldest?.id, limit: PAGE_SIZE });
      dispatch({ type: 'history', conversationId: activeId, messages, older: true, hasMore: messages.length >= PAGE_SIZE });
    } catch (err) {
      report(err);
    }
  }, [client, activeId, report]);

  const rename = useCallback(
    async (cid: number, title: string | null) => {
      const conversation = await client.renameConversation(cid, title);
      dispatch({ type: 'conversation', conversation });
    },
    [client],
  );

  const leave = useCallback(
    async (cid: number) => {
      await client.leaveConversation(cid);
      dispatch({ type: 'conversationRemoved', conversationId: cid });
      navigate(null);
    },
    [client, navigate],
  );

  const markNotificationRead = useCallback(
    async (id: string) => {
      const readAt = new Date().toISOString();
      try {
        let unread: number;
        try {
          unread = await client.markNotificationRead(id);
        } catch (err) {
          if (isSwitchboardError(err) && ['not_connected', 'timeout', 'disconnected'].includes(err.code)) {
            unread = (await client.readNotification(id)).unread_count;
          } else {
            throw err;
          }
        }
        dispatch({ type: 'notificationRead', id, readAt, unread });
      } catch (err) {
        report(err);
      }
    },
    [client, report],
  );

  const markAllNotificationsRead = useCallback(async () => {
    try {
      await client.readAllNotifications();
      dispatch({ type: 'notificationsAllRead', readAt: new Date().toISOString() });
    } catch (err) {
      report(err);
    }
  }, [client, report]);

  const onUsers = useCallback((users: User[]) => dispatch({ type: 'users', users }), []);

  // ---------------------------------------------------------------- view

  const queued = state.pending.filter((p) => p.status !== 'failed').length;

  return (
    <div className="app" data-view={active ? 'chat' : 'list'}>
      {active && (
        <a
          className="skip-link"
          href="#composer"
          onClick={(e) => {
            // The hash holds the open conversation: focus the box without navigating.
            e.preventDefault();
            document.querySelector<HTMLElement>('[data-testid="message-input"]')?.focus();
          }}
        >
          Skip to message box
        </a>
      )}
      <header className="topbar">
        <h1 className="topbar__title">Switchboard</h1>
        <ConnectionBanner missed={missed} queued={queued} />
        <div className="topbar__actions">
          <NotificationBell
            notifications={state.notifications}
            unread={state.notificationsUnread}
            onMarkRead={(id) => void markNotificationRead(id)}
            onMarkAllRead={() => void markAllNotificationsRead()}
          >
            <DesktopNotifications control={desktop} />
          </NotificationBell>
          <span className="me" data-testid="current-user" data-user-id={me.id}>
            {me.name}
          </span>
          <button type="button" data-testid="logout-button" onClick={() => {
              // Logging out gives up what is still unsent: nothing goes out later under this account.
              saveOutbox(me.id, []);
              void logout().catch(() => undefined);
            }}>
            Log out
          </button>
        </div>
      </header>
      {error && (
        <p className="error banner" role="alert" data-testid="app-error">
          {error}{' '}
          <button type="button" onClick={() => setError(null)}>
            Dismiss
          </button>
        </p>
      )}
      <div className="layout">
        <nav className="sidebar" aria-label="Conversations">
          <NewConversation me={me} onUsers={onUsers} onStart={startConversation} />
          <ConversationList state={state} activeId={activeId} onOpen={openConversation} loading={!listed} />
        </nav>
        <main className="chat" id="main">
          {active ? (
            <ChatPane
              key={active.id}
              state={state}
              conversation={active}
              now={now}
              maxChars={maxChars}
              connected={isConnected}
              focusComposer={startedId === active.id}
              onBack={() => {
                const cid = active.id;
                navigate(null);
                // Back to the list (phone width): focus the conversation that was open.
                requestAnimationFrame(() =>
                  document.querySelector<HTMLElement>(`[data-testid="conversation-item"][data-conversation-id="${cid}"]`)?.focus(),
                );
              }}
              onSend={(body) => send(active.id, body)}
              onRetry={retry}
              onDiscard={(p) => dispatch({ type: 'pendingRemoved', clientMsgId: p.client_msg_id })}
              onLoadOlder={loadOlder}
              onTyping={(typing) => {
                client.typing(active.id, typing);
              }}
              onSearch={(q, before) => client.searchMessages(active.id, q, { before, limit: 20 })}
              onRename={(title) => rename(active.id, title)}
              onLeave={() => leave(active.id)}
            />
          ) : activeId !== null && !listed ? (
            <p className="muted placeholder" role="status">
              Loading…
            </p>
          ) : (
            <p className="muted placeholder">Pick a conversation, or start a new one.</p>
          )}
        </main>
      </div>
    </div>
  );
}
