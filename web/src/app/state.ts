/**
 * State of the demo page, kept in one reducer so the rules (dedupe, unread
 * counts, read receipts, typing expiry) are plain functions that unit tests
 * can check without a browser.
 */
import type { Conversation, ConversationSummary, Message, Notification, OnlineMap, ReadMark, User } from '../lib';

/** Where a message written on this page stands: waiting for a connection, on its way, or refused. */
export type OutboxStatus = 'queued' | 'sending' | 'failed';

export interface PendingMessage {
  conversation_id: number;
  client_msg_id: string;
  body: string;
  status: OutboxStatus;
  error: string | null;
  /** False when sending it again cannot help (too long, not a member any more, ...). */
  retryable: boolean;
  /** The newest message id of the conversation when it was written: it is shown right after it. */
  afterId: string | null;
  /** Order of writing across conversations: the outbox sends in this order. */
  seq: number;
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
  /** My own last read message per conversation (as far as this page knows). */
  lastRead: Record<number, string>;
  /** Unread messages per conversation: the server's count, kept up to date by live events. */
  unread: Record<number, number>;
  /** The newest message per conversation (from the list, then from live events). */
  lastMessage: Record<number, Message>;
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

export function initialState(me: number): ChatState {
  return {
    me,
    users: {},
    conversations: [],
    messages: {},
    pending: [],
    lastRead: {},
    unread: {},
    lastMessage: {},
    readBy: {},
    typing: {},
    online: {},
    notifications: [],
    notificationsUnread: 0,
  };
}

export type Action =
  | { type: 'users'; users: User[] }
  | { type: 'conversations'; conversations: (Conversation | ConversationSummary)[] }
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'conversationRemoved'; conversationId: number }
  | { type: 'history'; conversationId: number; messages: Message[]; older: boolean; hasMore: boolean }
  | { type: 'message'; message: Message }
  | { type: 'pending'; pending: PendingMessage }
  | { type: 'pendingStatus'; clientMsgId: string; status: OutboxStatus; error?: string | null; retryable?: boolean }
  | { type: 'pendingRemoved'; clientMsgId: string }
  | { type: 'markedRead'; conversationId: number; messageId: string }
  | { type: 'reads'; conversationId: number; reads: ReadMark[] }
  | { type: 'read'; conversationId: number; userId: number; messageId: string }
  | { type: 'typing'; conversationId: number; userId: number; typing: boolean; now: number }
  | { type: 'typingExpire'; now: number }
  | { type: 'presence'; userId: number; online: boolean }
  | { type: 'presenceMap'; online: OnlineMap }
  | { type: 'presenceUnknown' }
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
    case 'conversations': {
      const unread = { ...state.unread };
      const lastMessage = { ...state.lastMessage };
      const conversations: Conversation[] = [];
      for (const c of action.conversations) {
        if ('unread_count' in c) {
          const { unread_count: count, last_message: last, ...plain } = c;
          unread[c.id] = count;
          if (last && (!lastMessage[c.id] || compareIds(last.id, lastMessage[c.id]!.id) >= 0)) lastMessage[c.id] = last;
          conversations.push(plain);
        } else {
          conversations.push(c);
        }
      }
      return { ...state, conversations, unread, lastMessage };
    }
    case 'conversation': {
      const c = action.conversation;
      if (!c.member_ids.includes(state.me)) return reducer(state, { type: 'conversationRemoved', conversationId: c.id });
      if (state.conversations.some((x) => x.id === c.id)) {
        return { ...state, conversations: state.conversations.map((x) => (x.id === c.id ? c : x)) };
      }
      return { ...state, conversations: [c, ...state.conversations] };
    }
    case 'conversationRemoved': {
      const cid = action.conversationId;
      if (!state.conversations.some((c) => c.id === cid)) return state;
      return {
        ...state,
        conversations: state.conversations.filter((c) => c.id !== cid),
        pending: state.pending.filter((p) => p.conversation_id !== cid),
      };
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
      const cid = m.conversation_id;
      const prev = state.messages[cid];
      const known = prev?.messages.some((x) => x.id === m.id) ?? false;
      const messages = known ? prev!.messages : mergeMessages(prev?.messages ?? [], [m]);
      let pending = state.pending;
      const own = m.client_msg_id ? state.pending.find((p) => p.client_msg_id === m.client_msg_id) : undefined;
      if (own) {
        // Messages written after this one stay after it now that it has its server id.
        pending = state.pending
          .filter((p) => p !== own)
          .map((p) => (p.conversation_id === cid && p.seq > own.seq ? { ...p, afterId: maxId(p.afterId ?? undefined, m.id)! } : p));
      }
      const lr = state.lastRead[cid];
      const isNewUnread = !known && m.sender_id !== state.me && (lr === undefined || compareIds(m.id, lr) > 0);
      const last = state.lastMessage[cid];
      return {
        ...state,
        messages: known
          ? state.messages
          : { ...state.messages, [cid]: { messages, hasMore: prev?.hasMore ?? false, loaded: prev?.loaded ?? false } },
        pending,
        unread: isNewUnread ? { ...state.unread, [cid]: (state.unread[cid] ?? 0) + 1 } : state.unread,
        lastMessage: !last || compareIds(m.id, last.id) > 0 ? { ...state.lastMessage, [cid]: m } : state.lastMessage,
        typing: withoutTyping(state, cid, m.sender_id),
        conversations: known ? state.conversations : touchConversation(state.conversations, cid),
      };
    }
    case 'pending':
      return { ...state, pending: [...state.pending, action.pending] };
    case 'pendingStatus':
      return {
        ...state,
        pending: state.pending.map((p) =>
          p.client_msg_id === action.clientMsgId
            ? {
                ...p,
                status: action.status,
                error: action.error === undefined ? p.error : action.error,
                retryable: action.retryable ?? p.retryable,
              }
            : p,
        ),
      };
    case 'pendingRemoved':
      return { ...state, pending: state.pending.filter((p) => p.client_msg_id !== action.clientMsgId) };
    case 'markedRead': {
      const cid = action.conversationId;
      const lr = maxId(state.lastRead[cid], action.messageId)!;
      if (lr === state.lastRead[cid]) return state;
      const unread = unreadAfter(state, cid, lr);
      return {
        ...state,
        lastRead: { ...state.lastRead, [cid]: lr },
        unread: unread === null ? state.unread : { ...state.unread, [cid]: unread },
      };
    }
    case 'reads': {
      const cid = action.conversationId;
      let next = state;
      for (const r of action.reads) {
        if (r.message_id === null) continue;
        next = reducer(next, { type: 'read', conversationId: cid, userId: r.user_id, messageId: r.message_id });
      }
      return next;
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
    case 'presenceUnknown':
      // Disconnected: the dots would otherwise show who was online when the connection dropped.
      return Object.keys(state.online).length ? { ...state, online: {} } : state;
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

/**
 * Unread messages of a conversation once my last read mark is `lastRead`,
 * counted from the loaded messages; null when they do not reach back that far
 * (the page then asks the server again).
 */
export function unreadAfter(state: ChatState, cid: number, lastRead: string): number | null {
  const conv = state.messages[cid];
  const newest = state.lastMessage[cid];
  if (newest && compareIds(newest.id, lastRead) <= 0 && (!conv || conv.messages.every((m) => compareIds(m.id, lastRead) <= 0))) {
    return 0;
  }
  if (!conv) return null;
  const oldest = conv.messages[0];
  const covered = !conv.hasMore || (!!oldest && compareIds(oldest.id, lastRead) <= 0);
  if (!covered) return null;
  return conv.messages.filter((m) => m.sender_id !== state.me && compareIds(m.id, lastRead) > 0).length;
}

export function unreadCount(state: ChatState, cid: number): number {
  return state.unread[cid] ?? 0;
}

export function totalUnread(state: ChatState): number {
  return state.conversations.reduce((sum, c) => sum + unreadCount(state, c.id), 0);
}

/** The newest message of a conversation, loaded or listed. */
export function latestMessage(state: ChatState, cid: number): Message | undefined {
  const loaded = state.messages[cid]?.messages.at(-1);
  const listed = state.lastMessage[cid];
  if (!loaded) return listed;
  if (!listed) return loaded;
  return compareIds(loaded.id, listed.id) >= 0 ? loaded : listed;
}

/** The list's one-line preview: "You: …" for my own last message. */
export function previewText(state: ChatState, cid: number): string {
  const last = latestMessage(state, cid);
  // A message of mine still in the outbox, written after the newest stored one, is the latest thing.
  const waiting = state.pending
    .filter((p) => p.conversation_id === cid && (!last || (p.afterId !== null && compareIds(p.afterId, last.id) >= 0)))
    .sort((a, b) => b.seq - a.seq)[0];
  if (waiting) return `You: ${waiting.body} (${waiting.status === 'failed' ? 'not sent' : 'waiting'})`;
  if (!last) return '';
  return last.sender_id === state.me ? `You: ${last.body}` : last.body;
}

/** One entry of a conversation's timeline: a stored message or one of mine not stored yet. */
export type TimelineItem = { kind: 'message'; message: Message } | { kind: 'pending'; pending: PendingMessage };

/**
 * Stored messages in id order, with my unsent messages where they were
 * written: right after the message that was newest at the time, so newer
 * messages (received or sent later) come after a failed one, not before.
 */
export function timeline(state: ChatState, cid: number): TimelineItem[] {
  const messages = state.messages[cid]?.messages ?? [];
  const waiting = state.pending.filter((p) => p.conversation_id === cid).sort((a, b) => a.seq - b.seq);
  const items: TimelineItem[] = [];
  let i = 0;
  for (const m of messages) {
    while (i < waiting.length && (waiting[i]!.afterId === null || compareIds(waiting[i]!.afterId!, m.id) < 0)) {
      items.push({ kind: 'pending', pending: waiting[i]! });
      i += 1;
    }
    items.push({ kind: 'message', message: m });
  }
  for (; i < waiting.length; i += 1) items.push({ kind: 'pending', pending: waiting[i]! });
  return items;
}

/** Error codes that another attempt can overcome; anything else is final. */
const RETRYABLE = new Set(['network_error', 'timeout', 'disconnected', 'not_connected', 'rate_limited', 'internal', 'http_error']);

export function isRetryable(code: string): boolean {
  return RETRYABLE.has(code);
}

/**
 * The first unread message when a conversation is opened with `unread`
 * unread ones: the `unread`-th newest message from someone else.
 */
export function firstUnreadId(messages: Message[], me: number, unread: number): string | null {
  if (unread <= 0) return null;
  let seen = 0;
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i]!;
    if (m.sender_id === me) continue;
    seen += 1;
    if (seen === unread) return m.id;
  }
  const firstOther = messages.find((m) => m.sender_id !== me);
  return firstOther ? firstOther.id : null;
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


// ---------------------------------------------------------------- the outbox across reloads

function outboxKey(userId: number): string {
  return `switchboard:outbox:${userId}`;
}

function isPending(value: unknown): value is PendingMessage {
  if (!value || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.conversation_id === 'number' &&
    typeof p.client_msg_id === 'string' &&
    typeof p.body === 'string' &&
    typeof p.seq === 'number' &&
    (p.afterId === null || typeof p.afterId === 'string') &&
    (p.status === 'queued' || p.status === 'sending' || p.status === 'failed')
  );
}

/**
 * Messages of mine not stored yet, as this tab left them (sessionStorage: one
 * tab's outbox survives its reload, and is not sent twice by other tabs — the
 * server would store a resent client_msg_id once anyway). One in flight at the
 * reload may have been stored: it is queued again, and the server answers with
 * the stored message.
 */
export function loadOutbox(userId: number, storage: Storage | undefined = globalThis.sessionStorage): PendingMessage[] {
  try {
    const raw = storage?.getItem(outboxKey(userId));
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isPending).map((p) => ({
      ...p,
      status: p.status === 'sending' ? 'queued' : p.status,
      error: typeof p.error === 'string' ? p.error : null,
      retryable: p.retryable !== false,
    }));
  } catch {
    return [];
  }
}

export function saveOutbox(
  userId: number,
  pending: PendingMessage[],
  storage: Storage | undefined = globalThis.sessionStorage,
): void {
  try {
    if (pending.length === 0) storage?.removeItem(outboxKey(userId));
    else storage?.setItem(outboxKey(userId), JSON.stringify(pending));
  } catch {
    // Full or blocked storage: the outbox then lives as long as the page.
  }
}
