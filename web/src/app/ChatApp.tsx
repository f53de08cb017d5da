import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { isSwitchboardError, newClientMsgId } from '../lib';
import type { Conversation, User } from '../lib';
import { useChatEvent, useConnectionStateChange, useNotificationEvent, useSocket } from '../lib/react';
import { ChatPane } from './ChatPane';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationList } from './ConversationList';
import { NewConversation } from './NewConversation';
import { NotificationBell } from './NotificationBell';
import type { PendingMessage } from './state';
import { compareIds, initialState, loadLastRead, reducer, saveLastRead } from './state';

const PAGE_SIZE = 30;
/** Conversations whose latest page is fetched up front (for unread counts and previews). */
const PRELOAD_CONVERSATIONS = 25;

function errorText(err: unknown): string {
  if (isSwitchboardError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
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
    ...initialState(id, loadLastRead(id)),
    users: { [me.id]: me },
  }));
  const [activeId, setActiveId] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const visible = useDocumentVisible();
  const requested = useRef(new Set<number>());
  const conversationsReload = useRef<Promise<void> | null>(null);
  const lastUsersReload = useRef(0);
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
      .then((conversations) => dispatch({ type: 'conversations', conversations }))
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

  // Users that a conversation names but we cannot name yet: search again (at most every 10 s).
  const maybeReloadUsers = useCallback(
    (ids: number[]) => {
      const s = stateRef.current;
      if (ids.every((id) => s.users[id])) return;
      if (Date.now() - lastUsersReload.current < 10_000) return;
      loadUsers().catch(() => undefined);
    },
    [loadUsers],
  );

  useEffect(() => {
    loadUsers().catch(() => undefined); // names are a nicety; the page works without them
    loadConversations().catch(report);
    loadNotifications().catch(report);
  }, [loadUsers, loadConversations, loadNotifications, report]);

  // Latest page of each conversation, once: unread counts and previews come from it.
  useEffect(() => {
    for (const c of state.conversations.slice(0, PRELOAD_CONVERSATIONS)) {
      if (requested.current.has(c.id)) continue;
      requested.current.add(c.id);
      loadLatest(c.id).catch((err: unknown) => {
        requested.current.delete(c.id);
        report(err);
      });
    }
    maybeReloadUsers(state.conversations.flatMap((c) => c.member_ids));
  }, [state.conversations, loadLatest, report, maybeReloadUsers]);

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

  // A reconnect that could not recover missed events: reload what may have changed.
  useConnectionStateChange((next, previous) => {
    if (next === 'connected' && previous === 'reconnecting') {
      loadConversations().catch(report);
      loadNotifications().catch(report);
      for (const cid of requested.current) loadLatest(cid).catch(() => undefined);
    }
  });

  // ---------------------------------------------------------------- live events

  useChatEvent('message:new', (message) => {
    dispatch({ type: 'message', message });
    if (!stateRef.current.conversations.some((c) => c.id === message.conversation_id)) {
      // Someone started a conversation with me: its room was joined server-side.
      loadConversations().catch(report);
    }
    maybeReloadUsers([message.sender_id]);
  });
  useChatEvent('typing', (e) =>
    dispatch({ type: 'typing', conversationId: e.conversation_id, userId: e.user_id, typing: e.typing, now: Date.now() }),
  );
  useChatEvent('message:read', (e) =>
    dispatch({ type: 'read', conversationId: e.conversation_id, userId: e.user_id, messageId: e.message_id }),
  );
  useChatEvent('presence', (e) => dispatch({ type: 'presence', userId: e.user_id, online: e.online }));
  useNotificationEvent('notification', (notification) => dispatch({ type: 'notification', notification }));
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

  // ---------------------------------------------------------------- read marks

  const active = state.conversations.find((c) => c.id === activeId) ?? null;
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

  useEffect(() => {
    saveLastRead(me.id, state.lastRead);
  }, [me.id, state.lastRead]);

  // ---------------------------------------------------------------- actions

  const openConversation = useCallback(
    (cid: number) => {
      setActiveId(cid);
      if (!requested.current.has(cid)) {
        requested.current.add(cid);
        loadLatest(cid).catch((err: unknown) => {
          requested.current.delete(cid);
          report(err);
        });
      }
    },
    [loadLatest, report],
  );

  const startConversation = useCallback(
    async (memberIds: number[], title: string | null) => {
      const existing = title
        ? undefined
        : stateRef.current.conversations.find((c) => !c.title && sameMembers(c, [me.id, ...memberIds]));
      if (existing) {
        openConversation(existing.id);
        return;
      }
      const conversation = await client.createConversation(memberIds, title);
      dispatch({ type: 'conversation', conversation });
      // The server joins live sockets itself; joining again is harmless and covers a socket mid-reconnect.
      client.joinConversation(conversation.id).catch(() => undefined);
      openConversation(conversation.id);
      refreshPresence(memberIds).catch(() => undefined);
    },
    [client, me.id, openConversation, refreshPresence],
  );

  const send = useCallback(
    async (cid: number, body: string, clientMsgId: string = newClientMsgId()) => {
      dispatch({ type: 'pending', pending: { conversation_id: cid, client_msg_id: clientMsgId, body, error: null } });
      try {
        let message;
        try {
          message = await client.sendMessage(cid, body, { clientMsgId });
        } catch (err) {
          // No usable socket: the HTTP route stores and broadcasts the same way (same idempotency key).
          if (isSwitchboardError(err) && ['not_connected', 'timeout', 'disconnected'].includes(err.code)) {
            message = await client.postMessage(cid, body, clientMsgId);
          } else {
            throw err;
          }
        }
        dispatch({ type: 'message', message });
      } catch (err) {
        dispatch({ type: 'pendingFailed', clientMsgId, error: errorText(err) });
      }
    },
    [client],
  );

  const retry = useCallback(
    (p: PendingMessage) => {
      dispatch({ type: 'pendingRemoved', clientMsgId: p.client_msg_id });
      void send(p.conversation_id, p.body, p.client_msg_id);
    },
    [send],
  );

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

  return (
    <div className="app" data-view={active ? 'chat' : 'list'}>
      <header className="topbar">
        <h1 className="topbar__title">Switchboard</h1>
        <ConnectionBanner />
        <div className="topbar__actions">
          <NotificationBell
            notifications={state.notifications}
            unread={state.notificationsUnread}
            onMarkRead={(id) => void markNotificationRead(id)}
            onMarkAllRead={() => void markAllNotificationsRead()}
          />
          <span className="me" data-testid="current-user" data-user-id={me.id}>
            {me.name}
          </span>
          <button type="button" data-testid="logout-button" onClick={() => void logout().catch(() => undefined)}>
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
          <ConversationList state={state} activeId={activeId} onOpen={openConversation} />
        </nav>
        <main className="chat">
          {active ? (
            <ChatPane
              key={active.id}
              state={state}
              conversation={active}
              now={now}
              onBack={() => setActiveId(null)}
              onSend={(body) => void send(active.id, body)}
              onRetry={retry}
              onDiscard={(p) => dispatch({ type: 'pendingRemoved', clientMsgId: p.client_msg_id })}
              onLoadOlder={loadOlder}
              onTyping={(typing) => {
                client.typing(active.id, typing);
              }}
            />
          ) : (
            <p className="muted placeholder">Pick a conversation, or start a new one.</p>
          )}
        </main>
      </div>
    </div>
  );
}
