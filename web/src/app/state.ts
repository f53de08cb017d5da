/**
 * State of the demo page, kept in one reducer so the rules (dedupe, unread
 * counts, read receipts, typing expiry) are plain functions that unit tests
 * can check without a browser.
 */
import type { Conversation, Message, Notification, OnlineMap, User } from '../lib';

export interface PendingMessage {
  conversation_id: number;
  client_msg_id: string;
  body: string;
  error: string | null;
}

export interface ConversationMessages {
  messages: Message[];
  /** True when older messages may exist on the server. */
  hasMore: boolean;
  /** True once the newest page has been fetched. */
  loaded: boolean;
}

export interface ChatState {
  me: number;
  users: Record<number, User>;
  conversations: Conversation[];
  messages: Record<number, ConversationMessages>;
  pending: PendingMessage[];
  /** My own last read message per conversation. */
  lastRead: Record<number, string>;
  /** Other members' last read message per conversation: readBy[cid][userId] = messageId. */
  readBy: Record<number, Record<number, string>>;
  /** typing[cid][userId] = time (ms) when the indicator lapses without news. */
  typing: Record<number, Record<number, number>>;
  online: Record<number, boolean>;
  notifications: Notification[];
  notificationsUnread: number;
}

export const TYPING_TTL_MS = 6000;

/** Orders message ids: numeric ids by value, others as strings (the server's ids sort in send order). */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

export function mergeMessages(existing: Message[], incoming: Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const m of existing) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => compareIds(x.id, y.id));
}

export function initialState(me: number, lastRead: Record<number, string> = {}): ChatState {
  return {
    me,
    users: {},
    conversations: [],
    messages: {},
    pending: [],
    lastRead,
    readBy: {},
    typing: {},
    online: {},
    notifications: [],
    notificationsUnread: 0,
  };
}

export type Action =
  | { type: 'users'; users: User[] }
  | { type: 'conversations'; conversations: Conversation[] }
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'history'; conversationId: number; messages: Message[]; older: boolean; hasMore: boolean }
  | { type: 'message'; message: Message }
  | { type: 'pending'; pending: PendingMessage }
  | { type: 'pendingFailed'; clientMsgId: string; error: string }
  | { type: 'pendingRemoved'; clientMsgId: string }
  | { type: 'markedRead'; conversationId: number; messageId: string }
  | { type: 'read'; conversationId: number; userId: number; messageId: string }
  | { type: 'typing'; conversationId: number; userId: number; typing: boolean; now: number }
  | { type: 'typingExpire'; now: number }
  | { type: 'presence'; userId: number; online: boolean }
  | { type: 'presenceMap'; online: OnlineMap }
  | { type: 'notifications'; notifications: Notification[]; unread: number }
  | { type: 'notification'; notification: Notification }
  | { type: 'notificationsUnread'; count: number }
  | { type: 'notificationRead'; id: string; readAt: string; unread?: number }
  | { type: 'notificationsAllRead'; readAt: string };

function withoutTyping(state: ChatState, cid: number, uid: number): ChatState['typing'] {
  const current = state.typing[cid];
  if (!current || !(uid in current)) return state.typing;
  const next = { ...current };
  delete next[uid];
  return { ...state.typing, [cid]: next };
}

function touchConversation(conversations: Conversation[], cid: number): Conversation[] {
  // Newest activity first, like GET /api/conversations.
  const idx = conversations.findIndex((c) => c.id === cid);
  if (idx <= 0) return conversations;
  const c = conversations[idx]!;
  return [c, ...conversations.slice(0, idx), ...conversations.slice(idx + 1)];
}

export function reducer(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case 'users': {
      const users = { ...state.users };
      for (const u of action.users) users[u.id] = u;
      return { ...state, users };
    }
    case 'conversations':
      return { ...state, conversations: action.conversations };
    case 'conversation': {
      if (state.conversations.some((c) => c.id === action.conversation.id)) {
        return {
          ...state,
          conversations: state.conversations.map((c) => (c.id === action.conversation.id ? action.conversation : c)),
        };
      }
      return { ...state, conversations: [action.conversation, ...state.conversations] };
    }
    case 'history': {
      const prev = state.messages[action.conversationId];
      const merged = mergeMessages(prev?.messages ?? [], action.messages);
      const hasMore = action.older || !prev?.loaded ? action.hasMore : prev.hasMore;
      return {
        ...state,
        messages: { ...state.messages, [action.conversationId]: { messages: merged, hasMore, loaded: true } },
      };
    }
    case 'message': {
      const m = action.message;
      const prev = state.messages[m.conversation_id];
      const messages = mergeMessages(prev?.messages ?? [], [m]);
      const pending = m.client_msg_id ? state.pending.filter((p) => p.client_msg_id !== m.client_msg_id) : state.pending;
      let lastRead = state.lastRead;
      if (m.sender_id === state.me) {
        // What I wrote I have read.
        const lr = maxId(state.lastRead[m.conversation_id], m.id);
        if (lr !== state.lastRead[m.conversation_id]) lastRead = { ...state.lastRead, [m.conversation_id]: lr! };
      }
      return {
        ...state,
        messages: {
          ...state.messages,
          [m.conversation_id]: { messages, hasMore: prev?.hasMore ?? false, loaded: prev?.loaded ?? false },
        },
        pending,
        lastRead,
        typing: withoutTyping(state, m.conversation_id, m.sender_id),
        conversations: touchConversation(state.conversations, m.conversation_id),
      };
    }
    case 'pending':
      return { ...state, pending: [...state.pending, action.pending] };
    case 'pendingFailed':
      return {
        ...state,
        pending: state.pending.map((p) => (p.client_msg_id === action.clientMsgId ? { ...p, error: action.error } : p)),
      };
    case 'pendingRemoved':
      return { ...state, pending: state.pending.filter((p) => p.client_msg_id !== action.clientMsgId) };
    case 'markedRead': {
      const lr = maxId(state.lastRead[action.conversationId], action.messageId)!;
      if (lr === state.lastRead[action.conversationId]) return state;
      return { ...state, lastRead: { ...state.lastRead, [action.conversationId]: lr } };
    }
    case 'read': {
      if (action.userId === state.me) {
        return reducer(state, { type: 'markedRead', conversationId: action.conversationId, messageId: action.messageId });
      }
      const conv = state.readBy[action.conversationId] ?? {};
      const next = maxId(conv[action.userId], action.messageId)!;
      if (next === conv[action.userId]) return state;
      return {
        ...state,
        readBy: { ...state.readBy, [action.conversationId]: { ...conv, [action.userId]: next } },
      };
    }
    case 'typing': {
      if (action.userId === state.me) return state;
      if (!action.typing) return { ...state, typing: withoutTyping(state, action.conversationId, action.userId) };
      const conv = state.typing[action.conversationId] ?? {};
      return {
        ...state,
        typing: {
          ...state.typing,
          [action.conversationId]: { ...conv, [action.userId]: action.now + TYPING_TTL_MS },
        },
      };
    }
    case 'typingExpire': {
      let changed = false;
      const typing: ChatState['typing'] = {};
      for (const [cid, users] of Object.entries(state.typing)) {
        const kept: Record<number, number> = {};
        for (const [uid, until] of Object.entries(users)) {
          if (until > action.now) kept[Number(uid)] = until;
          else changed = true;
        }
        typing[Number(cid)] = kept;
      }
      return changed ? { ...state, typing } : state;
    }
    case 'presence':
      if (state.online[action.userId] === action.online) return state;
      return { ...state, online: { ...state.online, [action.userId]: action.online } };
    case 'presenceMap': {
      const online = { ...state.online };
      for (const [id, value] of Object.entries(action.online)) online[Number(id)] = value;
      return { ...state, online };
    }
    case 'notifications':
      return { ...state, notifications: action.notifications, notificationsUnread: action.unread };
    case 'notification': {
      if (state.notifications.some((n) => n.id === action.notification.id)) return state;
      const unread = action.notification.read_at ? state.notificationsUnread : state.notificationsUnread + 1;
      return { ...state, notifications: [action.notification, ...state.notifications], notificationsUnread: unread };
    }
    case 'notificationsUnread':
      return { ...state, notificationsUnread: action.count };
    case 'notificationRead':
      return {
        ...state,
        notifications: state.notifications.map((n) =>
          n.id === action.id && !n.read_at ? { ...n, read_at: action.readAt } : n,
        ),
        notificationsUnread:
          action.unread ??
          Math.max(0, state.notificationsUnread - (state.notifications.some((n) => n.id === action.id && !n.read_at) ? 1 : 0)),
      };
    case 'notificationsAllRead':
      return {
        ...state,
        notifications: state.notifications.map((n) => (n.read_at ? n : { ...n, read_at: action.readAt })),
        notificationsUnread: 0,
      };
    default:
      return state;
  }
}

// ---------------------------------------------------------------- derived values

/** Messages from others newer than my last read one; `capped` when older unread ones may not be loaded. */
export function unreadCount(state: ChatState, cid: number): { count: number; capped: boolean } {
  const conv = state.messages[cid];
  if (!conv) return { count: 0, capped: false };
  const lr = state.lastRead[cid];
  let count = 0;
  for (const m of conv.messages) {
    if (m.sender_id !== state.me && (lr === undefined || compareIds(m.id, lr) > 0)) count += 1;
  }
  const oldest = conv.messages[0];
  const capped = conv.hasMore && count > 0 && !!oldest && (lr === undefined || compareIds(oldest.id, lr) > 0);
  return { count, capped };
}

/** The latest of my messages that another member has read, with who read it. */
export function readReceipt(state: ChatState, cid: number): { messageId: string; readers: number[] } | null {
  const conv = state.messages[cid];
  const reads = state.readBy[cid];
  if (!conv || !reads) return null;
  const mine = conv.messages.filter((m) => m.sender_id === state.me);
  for (let i = mine.length - 1; i >= 0; i -= 1) {
    const m = mine[i]!;
    const readers = Object.entries(reads)
      .filter(([uid, mid]) => Number(uid) !== state.me && compareIds(mid, m.id) >= 0)
      .map(([uid]) => Number(uid));
    if (readers.length) return { messageId: m.id, readers };
  }
  return null;
}

export function typingUsers(state: ChatState, cid: number, now: number): number[] {
  const conv = state.typing[cid];
  if (!conv) return [];
  return Object.entries(conv)
    .filter(([, until]) => until > now)
    .map(([uid]) => Number(uid));
}

export function displayName(state: ChatState, userId: number): string {
  if (userId === state.me) return 'You';
  return state.users[userId]?.name ?? `User ${userId}`;
}

export function conversationName(state: ChatState, c: Conversation): string {
  if (c.title) return c.title;
  const others = c.member_ids.filter((id) => id !== state.me);
  if (others.length === 0) return 'Just you';
  return others.map((id) => state.users[id]?.name ?? `User ${id}`).join(', ');
}

export function otherMembers(state: ChatState, c: Conversation): number[] {
  return c.member_ids.filter((id) => id !== state.me);
}

// ---------------------------------------------------------------- persistence of my read marks

function lastReadKey(userId: number): string {
  return `switchboard:last-read:${userId}`;
}

export function loadLastRead(userId: number, storage: Storage | undefined = globalThis.localStorage): Record<number, string> {
  try {
    const raw = storage?.getItem(lastReadKey(userId));
    if (!raw) return {};
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== 'object') return {};
    const out: Record<number, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string' && /^\d+$/.test(k)) out[Number(k)] = v;
    return out;
  } catch {
    return {};
  }
}

export function saveLastRead(
  userId: number,
  lastRead: Record<number, string>,
  storage: Storage | undefined = globalThis.localStorage,
): void {
  try {
    storage?.setItem(lastReadKey(userId), JSON.stringify(lastRead));
  } catch {
    // Private mode or full storage: read marks then live for this page only.
  }
}
