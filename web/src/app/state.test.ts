import { describe, expect, it } from 'vitest';
import type { Message, Notification } from '../lib';
import {
  compareIds,
  conversationName,
  initialState,
  loadLastRead,
  readReceipt,
  reducer,
  saveLastRead,
  TYPING_TTL_MS,
  typingUsers,
  unreadCount,
} from './state';
import type { ChatState } from './state';

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
    s = reducer(s, { type: 'pending', pending: { conversation_id: 7, client_msg_id: 'c1', body: 'hi', error: null } });
    expect(s.pending).toHaveLength(1);
    s = reducer(s, { type: 'message', message: msg('12', ME, { client_msg_id: 'c1' }) });
    expect(s.pending).toHaveLength(0);
  });
});

describe('unread counts', () => {
  it('counts messages from others after my last read one', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', 2), msg('2', 2), msg('3', ME), msg('4', 2)], older: false, hasMore: false });
    expect(unreadCount(s, 7)).toEqual({ count: 3, capped: false });
    s = reducer(s, { type: 'markedRead', conversationId: 7, messageId: '2' });
    expect(unreadCount(s, 7).count).toBe(1);
    // Sending a message marks everything before it as read.
    s = reducer(s, { type: 'message', message: msg('5', ME) });
    expect(unreadCount(s, 7).count).toBe(0);
    s = reducer(s, { type: 'message', message: msg('6', 2) });
    expect(unreadCount(s, 7).count).toBe(1);
  });

  it('is capped when older unread messages are not loaded', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('50', 2), msg('51', 2)], older: false, hasMore: true });
    expect(unreadCount(s, 7)).toEqual({ count: 2, capped: true });
  });

  it('my read mark from another tab (message:read with my id) counts', () => {
    let s = withConversation();
    s = reducer(s, { type: 'history', conversationId: 7, messages: [msg('1', 2)], older: false, hasMore: false });
    s = reducer(s, { type: 'read', conversationId: 7, userId: ME, messageId: '1' });
    expect(unreadCount(s, 7).count).toBe(0);
    expect(readReceipt(s, 7)).toBeNull();
  });

  it('persists read marks per user', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    } as unknown as Storage;
    saveLastRead(ME, { 7: '12' }, storage);
    expect(loadLastRead(ME, storage)).toEqual({ 7: '12' });
    expect(loadLastRead(2, storage)).toEqual({});
    store.set('switchboard:last-read:3', 'not json');
    expect(loadLastRead(3, storage)).toEqual({});
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
