import { describe, expect, it } from 'vitest';
import type { Message, Notification } from '../lib';
import {
  compareIds,
  conversationName,
  firstUnreadId,
  initialState,
  isRetryable,
  loadOutbox,
  saveOutbox,
  previewText,
  readReceipt,
  reducer,
  timeline,
  totalUnread,
  TYPING_TTL_MS,
  typingUsers,
  unreadCount,
} from './state';
import type { ChatState, PendingMessage } from './state';

const ME = 1;

function msg(id: string, sender: number, extra: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: 7,
    sender_id: sender,
    body: `m${id}`,
    created_at: '2026-01-01T00:00:00Z',
    client_msg_id: null,
    ...extra,
  };
}

function pending(clientMsgId: string, afterId: string | null, seq: number, extra: Partial<PendingMessage> = {}): PendingMessage {
  return {
    conversation_id: 7,
    client_msg_id: clientMsgId,
    body: clientMsgId,
    status: 'queued',
    error: null,
    retryable: true,
    afterId,
    seq,
    ...extra,
  };
}

function order(s: ChatState): string[] {
  return timeline(s, 7).map((i) => (i.kind === 'message' ? i.message.id : `p:${i.pending.client_msg_id}`));
}

function withConversation(): ChatState {
  return reducer(initialState(ME), {
    type: 'conversations',
    conversations: [{ id: 7, title: null, member_ids: [1, 2], created_at: 'x' }],
  });
}

describe('compareIds', () => {
  it('orders numeric ids by value and other ids as strings', () => {
    expect(compareIds('9', '10')).toBe(-1);
    expect(compareIds('10', '9')).toBe(1);
    expect(compareIds('007', '7')).toBe(0);
    expect(compareIds('01HZX1', '01HZX2')).toBe(-1);
    expect(['3', '20', '100', '1'].sort(compareIds)).toEqual(['1', '3', '20', '100']);
  });
});

describe('messages', () => {
  it('merges pages and live messages without duplicates, in id order', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('9', 2), msg('10', 2)], older: false, hasMore: true });
    s = reducer(s, { type: 'message', message: msg('10', 2) });
    s = reducer(s, { type: 'message', message: msg('11', 1) });
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('8', 2), msg('9', 2)], older: true, hasMore: false });
    expect(s.messages[7]!.messages.map((m) => m.id)).toEqual(['8', '9', '10', '11']);
    expect(s.messages[7]!.hasMore).toBe(false);
  });

  it('a confirmed message replaces its pending copy by client_msg_id', () => {
    let s = withConversation();
    s = reducer(s, { type: 'pending', pending: pending('c1', null, 1) });
    expect(s.pending).toHaveLength(1);
    s = reducer(s, { type: 'message', message: msg('12', ME, { client_msg_id: 'c1' }) });
    expect(s.pending).toHaveLength(0);
  });
});

describe('timeline', () => {
  it('keeps a refused message where it was written, before newer messages', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', 2), msg('2', ME)], older: false, hasMore: false });
    s = reducer(s, { type: 'pending', pending: pending('big', '2', 1) });
    s = reducer(s, { type: 'pendingStatus', clientMsgId: 'big', status: 'failed', error: 'too long', retryable: false });
    s = reducer(s, { type: 'message', message: msg('3', 2) });
    s = reducer(s, { type: 'pending', pending: pending('next', '3', 2) });
    s = reducer(s, { type: 'message', message: msg('4', ME, { client_msg_id: 'next' }) });
    expect(order(s)).toEqual(['1', '2', 'p:big', '3', '4']);
    expect(s.pending[0]).toMatchObject({ status: 'failed', retryable: false, error: 'too long' });
  });

  it('keeps queued messages in writing order as earlier ones are stored', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', 2)], older: false, hasMore: false });
    s = reducer(s, { type: 'pending', pending: pending('a', '1', 1) });
    s = reducer(s, { type: 'pending', pending: pending('b', '1', 2) });
    expect(order(s)).toEqual(['1', 'p:a', 'p:b']);
    s = reducer(s, { type: 'message', message: msg('5', ME, { client_msg_id: 'a' }) });
    expect(order(s)).toEqual(['1', '5', 'p:b']);
  });

  it('puts messages written into an empty conversation first', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [], older: false, hasMore: false });
    s = reducer(s, { type: 'pending', pending: pending('a', null, 1) });
    s = reducer(s, { type: 'message', message: msg('2', 2) });
    expect(order(s)).toEqual(['p:a', '2']);
  });

  it('offers a retry only for errors a retry can fix', () => {
    for (const code of ['network_error', 'timeout', 'disconnected', 'not_connected', 'rate_limited', 'internal']) {
      expect(isRetryable(code)).toBe(true);
    }
    for (const code of ['too_large', 'invalid_payload', 'forbidden', 'not_found', 'unauthorized']) {
      expect(isRetryable(code)).toBe(false);
    }
  });
});

describe('unread counts', () => {
  const summary = (unread: number, last: ReturnType<typeof msg> | null) => ({
    id: 7,
    title: null,
    member_ids: [1, 2],
    created_at: 'x',
    unread_count: unread,
    last_message: last,
  });

  it('come from the server, then follow live messages and my read marks', () => {
    let s = reducer(initialState(ME), { type: 'conversations', conversations: [summary(3, msg('4', 2))] });
    expect(unreadCount(s, 7)).toBe(3);
    expect(totalUnread(s)).toBe(3);
    expect(s.conversations[0]).toEqual({ id: 7, title: null, member_ids: [1, 2], created_at: 'x' });
    s = reducer(s, { type: 'message', message: msg('5', 2) });
    expect(unreadCount(s, 7)).toBe(4);
    // The same message again (a recovery replay, a history page) is not counted twice.
    s = reducer(s, { type: 'message', message: msg('5', 2) });
    expect(unreadCount(s, 7)).toBe(4);
    // My own messages never count.
    s = reducer(s, { type: 'message', message: msg('6', ME) });
    expect(unreadCount(s, 7)).toBe(4);
    // Read everything in another tab: the newest message is read, so nothing is unread.
    s = reducer(s, { type: 'read', conversationId: 7, userId: ME, messageId: '6' });
    expect(unreadCount(s, 7)).toBe(0);
    s = reducer(s, { type: 'message', message: msg('7', 2) });
    expect(unreadCount(s, 7)).toBe(1);
  });

  it('count loaded messages after a partial read, and admit when they cannot', () => {
    let s = reducer(initialState(ME), { type: 'conversations', conversations: [summary(3, msg('4', 2))] });
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('2', 2), msg('3', 2), msg('4', 2)], older: false, hasMore: true });
    s = reducer(s, { type: 'markedRead', conversationId: 7, messageId: '3' });
    expect(unreadCount(s, 7)).toBe(1);
    // A mark older than the loaded page: the page cannot count, the count stays until the server tells.
    let t = reducer(initialState(ME), { type: 'conversations', conversations: [summary(3, msg('4', 2))] });
    t = reducer(t, { type: 'history', conversationId: 7, messages: [msg('3', 2), msg('4', 2)], older: false, hasMore: true });
    t = reducer(t, { type: 'markedRead', conversationId: 7, messageId: '1' });
    expect(unreadCount(t, 7)).toBe(3);
  });

  it('my read mark from another tab (message:read with my id) counts', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', 2)], older: false, hasMore: false });
    s = reducer(s, { type: 'read', conversationId: 7, userId: ME, messageId: '1' });
    expect(unreadCount(s, 7)).toBe(0);
    expect(readReceipt(s, 7)).toBeNull();
  });

  it('finds where the "new messages" line goes', () => {
    const list = [msg('1', 2), msg('2', ME), msg('3', 2), msg('4', ME), msg('5', 2)];
    expect(firstUnreadId(list, ME, 0)).toBeNull();
    expect(firstUnreadId(list, ME, 1)).toBe('5');
    expect(firstUnreadId(list, ME, 2)).toBe('3');
    // More unread than loaded: the line goes at the oldest loaded one.
    expect(firstUnreadId(list, ME, 9)).toBe('1');
  });

  it('previews my own last message with "You:"', () => {
    let s = reducer(initialState(ME), { type: 'conversations', conversations: [summary(0, msg('4', ME, { body: 'see you' }))] });
    expect(previewText(s, 7)).toBe('You: see you');
    s = reducer(s, { type: 'message', message: msg('5', 2, { body: 'bye' }) });
    expect(previewText(s, 7)).toBe('bye');
    s = reducer(s, { type: 'pending', pending: pending('later', '5', 1, { body: 'typed offline' }) });
    expect(previewText(s, 7)).toBe('You: typed offline (waiting)');
    s = reducer(s, { type: 'message', message: msg('6', 2, { body: 'newer than that' }) });
    expect(previewText(s, 7)).toBe('newer than that');
  });

  it('members\' read marks from the server fill "Seen by" and my own mark', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', ME), msg('2', 2)], older: false, hasMore: false });
    s = reducer(s, {
      type: 'reads',
      conversationId: 7,
      reads: [
        { user_id: ME, message_id: '2' },
        { user_id: 2, message_id: '1' },
        { user_id: 3, message_id: null },
      ],
    });
    expect(s.lastRead[7]).toBe('2');
    expect(readReceipt(s, 7)).toEqual({ messageId: '1', readers: [2] });
  });
});

describe('outbox across reloads', () => {
  it('keeps one tab\'s unsent messages per user; one in flight goes back in the queue', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    } as unknown as Storage;
    saveOutbox(ME, [pending('a', '1', 1, { status: 'sending' }), pending('b', '1', 2, { status: 'failed', retryable: false, error: 'too long' })], storage);
    expect(loadOutbox(ME, storage).map((p) => [p.client_msg_id, p.status, p.retryable])).toEqual([
      ['a', 'queued', true],
      ['b', 'failed', false],
    ]);
    expect(loadOutbox(2, storage)).toEqual([]);
    saveOutbox(ME, [], storage);
    expect(store.size).toBe(0);
    store.set('switchboard:outbox:1', '{"not": "a list"}');
    expect(loadOutbox(ME, storage)).toEqual([]);
    store.set('switchboard:outbox:1', JSON.stringify([{ client_msg_id: 'x' }, 'junk']));
    expect(loadOutbox(ME, storage)).toEqual([]);
  });
});

describe('presence', () => {
  it('forgets who is online when the connection drops, until asked again', () => {
    let s = reducer(initialState(ME), { type: 'presenceMap', online: { '2': true, '3': false } });
    expect(s.online).toEqual({ 2: true, 3: false });
    s = reducer(s, { type: 'presenceUnknown' });
    expect(s.online).toEqual({});
    s = reducer(s, { type: 'presence', userId: 2, online: true });
    expect(s.online).toEqual({ 2: true });
  });
});

describe('conversations', () => {
  it('a rename replaces the conversation; losing my membership removes it and its outbox', () => {
    let s = withConversation();
    s = reducer(s, { type: 'pending', pending: pending('a', null, 1) });
    s = reducer(s, { type: 'conversation', conversation: { id: 7, title: 'Team', member_ids: [1, 2], created_at: 'x' } });
    expect(s.conversations.map((c) => c.title)).toEqual(['Team']);
    s = reducer(s, { type: 'conversation', conversation: { id: 7, title: 'Team', member_ids: [2], created_at: 'x' } });
    expect(s.conversations).toEqual([]);
    expect(s.pending).toEqual([]);
  });
});

describe('read receipts', () => {
  it('shows on my latest message that someone has read', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', ME), msg('2', ME), msg('3', 2), msg('4', ME)], older: false, hasMore: false });
    expect(readReceipt(s, 7)).toBeNull();
    s = reducer(s, { type: 'read', conversationId: 7, userId: 2, messageId: '3' });
    expect(readReceipt(s, 7)).toEqual({ messageId: '2', readers: [2] });
    s = reducer(s, { type: 'read', conversationId: 7, userId: 2, messageId: '4' });
    expect(readReceipt(s, 7)).toEqual({ messageId: '4', readers: [2] });
    // An older read mark arriving late does not move it back.
    s = reducer(s, { type: 'read', conversationId: 7, userId: 2, messageId: '1' });
    expect(readReceipt(s, 7)).toEqual({ messageId: '4', readers: [2] });
  });
});

describe('typing', () => {
  it('shows others typing, clears on stop, on their message and after the TTL', () => {
    let s = withConversation();
    s = reducer(s, { type: 'typing', conversationId: 7, userId: 2, typing: true, now: 1000 });
    s = reducer(s, { type: 'typing', conversationId: 7, userId: ME, typing: true, now: 1000 });
    expect(typingUsers(s, 7, 1000)).toEqual([2]);
    s = reducer(s, { type: 'typing', conversationId: 7, userId: 2, typing: false, now: 1100 });
    expect(typingUsers(s, 7, 1100)).toEqual([]);
    s = reducer(s, { type: 'typing', conversationId: 7, userId: 2, typing: true, now: 2000 });
    s = reducer(s, { type: 'message', message: msg('1', 2) });
    expect(typingUsers(s, 7, 2000)).toEqual([]);
    s = reducer(s, { type: 'typing', conversationId: 7, userId: 2, typing: true, now: 3000 });
    s = reducer(s, { type: 'typingExpire', now: 3000 + TYPING_TTL_MS });
    expect(typingUsers(s, 7, 3000)).toEqual([]);
  });
});

describe('notifications', () => {
  const n = (id: string, read_at: string | null = null): Notification => ({
    id,
    type: 't',
    title: `N${id}`,
    body: '',
    data: {},
    created_at: 'x',
    read_at,
  });

  it('counts new ones, marks read, and marks all read', () => {
    let s = reducer(initialState(ME), { type: 'notifications', notifications: [n('1')], unread: 1 });
    s = reducer(s, { type: 'notification', notification: n('2') });
    s = reducer(s, { type: 'notification', notification: n('2') });
    expect(s.notifications.map((x) => x.id)).toEqual(['2', '1']);
    expect(s.notificationsUnread).toBe(2);
    s = reducer(s, { type: 'notificationRead', id: '2', readAt: 'now' });
    expect(s.notificationsUnread).toBe(1);
    expect(s.notifications[0]!.read_at).toBe('now');
    s = reducer(s, { type: 'notificationsUnread', count: 5 });
    expect(s.notificationsUnread).toBe(5);
    s = reducer(s, { type: 'notificationsAllRead', readAt: 'later' });
    expect(s.notificationsUnread).toBe(0);
    expect(s.notifications.every((x) => x.read_at)).toBe(true);
  });
});

describe('names', () => {
  it('uses the title, else the other members', () => {
    let s = reducer(initialState(ME), { type: 'users', users: [{ id: 2, email: 'b@x', name: 'Bob' }] });
    expect(conversationName(s, { id: 1, title: null, member_ids: [1, 2, 3], created_at: 'x' })).toBe('Bob, User 3');
    s = reducer(s, { type: 'users', users: [] });
    expect(conversationName(s, { id: 1, title: 'Team', member_ids: [1, 2], created_at: 'x' })).toBe('Team');
  });
});
