import { act } from 'react';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('socket.io-client', () => import('../lib/testing/fake-socket-io'));

import { createSwitchboard } from '../lib';
import type { SwitchboardClient } from '../lib';
import { SocketProvider } from '../lib/react';
import { lastManager, resetManagers } from '../lib/testing/fake-socket-io';
import type { FakeManager } from '../lib/testing/fake-socket-io';
import { mockFetch, tokenFor } from '../lib/testing/http';
import type { Message } from '../lib';
import { App } from './App';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const alice = { id: 1, email: 'alice@example.com', name: 'Alice' };
const bob = { id: 2, email: 'bob@example.com', name: 'Bob' };
const conv = { id: 7, title: null, member_ids: [1, 2], created_at: '2026-01-01T00:00:00Z' };

function message(id: string, sender: number, body: string, extra: Partial<Message> = {}): Message {
  return { id, conversation_id: 7, sender_id: sender, body, created_at: '2026-01-01T10:00:00Z', client_msg_id: null, ...extra };
}

let container: HTMLDivElement;
let root: Root | null;
let client: SwitchboardClient;
let http: ReturnType<typeof mockFetch>;

function $(testid: string): HTMLElement | null {
  return container.querySelector(`[data-testid="${testid}"]`);
}

function $$(testid: string): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];
}

async function flush(): Promise<void> {
  await act(async () => {
    await new Promise((r) => setTimeout(r, 0));
  });
}

function type(input: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = input instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

async function click(el: Element | null): Promise<void> {
  if (!el) throw new Error('nothing to click');
  await act(async () => {
    (el as HTMLElement).click();
  });
  await flush();
}

beforeEach(async () => {
  resetManagers();
  localStorage.clear();
  sessionStorage.clear();
  http = mockFetch({
    'GET /api/auth/me': { status: 401, body: { detail: 'missing_token' } },
    'POST /api/auth/login': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
    'POST /api/auth/logout': { status: 204 },
    'GET /api/users': { status: 200, body: { users: [alice, bob] } },
    'GET /api/conversations': {
      status: 200,
      body: { conversations: [{ ...conv, unread_count: 1, last_message: message('2', 1, 'hi Bob') }] },
    },
    'GET /api/config': { status: 200, body: { chat: { max_message_chars: 50, max_title_chars: 200, max_members: 10000 } } },
    'GET /api/conversations/7/reads': {
      status: 200,
      body: { reads: [{ user_id: 1, message_id: null }, { user_id: 2, message_id: '2' }] },
    },
    'GET /api/conversations/7/messages': {
      status: 200,
      body: { messages: [message('1', 2, 'hello Alice'), message('2', 1, 'hi Bob')] },
    },
    'GET /api/notifications': { status: 200, body: { notifications: [], unread_count: 0 } },
    'POST /api/notifications/read-all': { status: 200, body: { unread_count: 0 } },
  });
  client = createSwitchboard({ baseUrl: '', fetch: http.fetch });
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
  await act(async () => {
    root!.render(
      <SocketProvider client={client}>
        <App />
      </SocketProvider>,
    );
  });
  await flush();
});

afterEach(async () => {
  const r = root;
  root = null;
  if (r) await act(async () => r.unmount());
  container.remove();
});

async function logIn(): Promise<FakeManager> {
  type($('email-input') as HTMLInputElement, alice.email);
  type($('password-input') as HTMLInputElement, 'pw');
  await act(async () => {
    ($('auth-form') as HTMLFormElement).requestSubmit();
  });
  await flush();
  const m = lastManager();
  m.chat.responder = (event) => (event === 'presence:query' ? { ok: true, online: { '2': true } } : undefined);
  await act(async () => {
    m.chat.serverConnect();
    m.notifications.serverConnect();
  });
  await flush();
  return m;
}

describe('demo page', () => {
  it('shows the login form, then the conversation list with unread counts and online dots', async () => {
    expect($('auth-form')).not.toBeNull();
    // Nobody is connected before logging in: no connection banner on the login form.
    expect($('connection-state')).toBeNull();
    await logIn();

    expect($('current-user')!.textContent).toBe('Alice');
    expect($('connection-state')!.textContent).toBe('connected');
    // The unread count is the server's, and the preview says who wrote last.
    expect($('conversation-preview')!.textContent).toBe('You: hi Bob');
    expect(document.title).toBe('(1) Switchboard');
    expect($('connection-state')!.getAttribute('role')).toBe('status');
    const items = $$('conversation-item');
    expect(items).toHaveLength(1);
    expect(items[0]!.textContent).toContain('Bob');
    expect($('unread-count')!.textContent).toBe('1');
    const dot = $('online-dot')!;
    expect(dot.dataset.online).toBe('true');
    expect(dot.getAttribute('aria-label')).toBe('Bob is online');
  });

  it('opens a conversation, marks it read, renders bodies as text, and shows typing and read receipts', async () => {
    const m = await logIn();
    await click($('conversation-item'));

    expect($$('message').map((el) => el.querySelector('[data-testid="message-body"]')!.textContent)).toEqual([
      'hello Alice',
      'hi Bob',
    ]);
    // Opening the conversation sends a read mark for the newest message from Bob.
    expect(m.chat.sent.find((p) => p.event === 'message:read')?.payload).toEqual({ conversation_id: 7, message_id: '2' });
    expect($('unread-count')).toBeNull();

    await act(async () => {
      m.chat.serverEmit('message:new', message('3', 2, '<script>window.pwned = 1</script><b>bold</b>'), 'offset-3');
    });
    const last = $$('message').at(-1)!;
    expect(last.querySelector('[data-testid="message-body"]')!.textContent).toBe(
      '<script>window.pwned = 1</script><b>bold</b>',
    );
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('.messages b')).toBeNull();
    expect((window as { pwned?: number }).pwned).toBeUndefined();

    await act(async () => {
      m.chat.serverEmit('typing', { conversation_id: 7, user_id: 2, typing: true }, 'o');
    });
    expect($('typing-indicator')!.textContent).toBe('Bob is typing…');
    await act(async () => {
      m.chat.serverEmit('typing', { conversation_id: 7, user_id: 2, typing: false }, 'o');
    });
    expect($('typing-indicator')).toBeNull();

    await act(async () => {
      m.chat.serverEmit('message:read', { conversation_id: 7, user_id: 2, message_id: '2' }, 'o');
    });
    const receipt = $('read-receipt')!;
    expect(receipt.textContent).toBe('Seen by Bob');
    expect(receipt.closest('[data-testid="message"]')!.getAttribute('data-message-id')).toBe('2');
  });

  it('sends a message through the socket and shows the acked one once', async () => {
    const m = await logIn();
    await click($('conversation-item'));
    const input = $('message-input') as HTMLTextAreaElement;
    await act(async () => {
      type(input, 'how are you?');
    });
    expect(m.chat.sent.some((p) => p.event === 'typing' && (p.payload as { typing: boolean }).typing)).toBe(true);
    await act(async () => {
      ($('send-button') as HTMLButtonElement).click();
    });
    const sent = m.chat.pending('message:send')[0]!;
    const { client_msg_id } = sent.payload as { client_msg_id: string };
    expect($$('message').at(-1)!.dataset.pending).toBe('true');
    const stored = message('9', 1, 'how are you?', { client_msg_id });
    await act(async () => {
      m.chat.reply('message:send', { ok: true, message: stored });
      m.chat.serverEmit('message:new', stored, 'offset-9');
    });
    await flush();
    const bodies = $$('message').map((el) => el.querySelector('[data-testid="message-body"]')!.textContent);
    expect(bodies.filter((b) => b === 'how are you?')).toHaveLength(1);
    expect($$('message').at(-1)!.dataset.pending).toBeUndefined();
  });

  it('stops an over-long message before sending, with the server\'s limit', async () => {
    const m = await logIn();
    await click($('conversation-item'));
    await act(async () => {
      type($('message-input') as HTMLTextAreaElement, 'x'.repeat(51));
    });
    expect($('char-counter')!.textContent).toBe('1 character too long (limit 50)');
    expect(($('send-button') as HTMLButtonElement).disabled).toBe(true);
    await act(async () => {
      ($('send-button') as HTMLButtonElement).form!.requestSubmit();
    });
    expect(m.chat.pending('message:send')).toHaveLength(0);
    await act(async () => {
      type($('message-input') as HTMLTextAreaElement, 'x'.repeat(45));
    });
    expect($('char-counter')!.textContent).toBe('45 / 50');
    expect(($('send-button') as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows a refused send in its place, with Edit but no Retry for a final error', async () => {
    const m = await logIn();
    await click($('conversation-item'));
    m.chat.responder = (event) =>
      event === 'message:send' ? { ok: false, error: { code: 'too_large', message: 'body: longer than 40 characters' } } : undefined;
    await act(async () => {
      type($('message-input') as HTMLTextAreaElement, 'x'.repeat(10));
    });
    await act(async () => {
      ($('send-button') as HTMLButtonElement).click();
    });
    await flush();
    expect($('send-error')!.textContent).toContain('Not sent: longer than 40 characters');
    expect($('retry-send')).toBeNull();
    expect($('edit-failed')).not.toBeNull();
    // A newer message goes after the refused one, not before it.
    await act(async () => {
      m.chat.serverEmit('message:new', message('3', 2, 'newer'), 'offset-3');
    });
    const order = $$('message').map((el) => el.querySelector('[data-testid="message-body"]')!.textContent);
    expect(order).toEqual(['hello Alice', 'hi Bob', 'x'.repeat(10), 'newer']);
    await click($('edit-failed'));
    expect(($('message-input') as HTMLTextAreaElement).value).toBe('x'.repeat(10));
    expect($('send-error')).toBeNull();
  });

  it('queues messages written offline and sends them once, in order, when back', async () => {
    const m = await logIn();
    await click($('conversation-item'));
    await act(async () => {
      m.chat.transportDrop();
      m.notifications.transportDrop();
    });
    for (const body of ['first', 'second']) {
      await act(async () => {
        type($('message-input') as HTMLTextAreaElement, body);
      });
      await act(async () => {
        ($('send-button') as HTMLButtonElement).click();
      });
    }
    await flush();
    expect(m.chat.pending('message:send')).toHaveLength(0);
    expect($$('send-status').map((el) => el.textContent)).toEqual(['Waiting for connection…', 'Waiting for connection…']);
    expect($('outbox-count')!.textContent).toContain('2 messages waiting to send');
    await act(async () => {
      m.chat.serverConnect({ recovered: true });
      m.notifications.serverConnect({ recovered: true });
    });
    await flush();
    // One at a time: the second waits for the first's ack.
    const first = m.chat.pending('message:send');
    expect(first.map((p) => (p.payload as { body: string }).body)).toEqual(['first']);
    const firstId = (first[0]!.payload as { client_msg_id: string }).client_msg_id;
    // The broadcast may beat the ack: the queue must still move on once the ack comes.
    const stored = message('10', 1, 'first', { client_msg_id: firstId });
    await act(async () => {
      m.chat.serverEmit('message:new', stored, 'offset-10');
    });
    await flush();
    expect(m.chat.pending('message:send')).toHaveLength(1);
    await act(async () => {
      m.chat.reply('message:send', { ok: true, message: stored });
    });
    await flush();
    const second = m.chat.pending('message:send');
    expect(second.map((p) => (p.payload as { body: string }).body)).toEqual(['second']);
    const secondId = (second[0]!.payload as { client_msg_id: string }).client_msg_id;
    expect(secondId).not.toBe(firstId);
    await act(async () => {
      m.chat.reply('message:send', { ok: true, message: message('11', 1, 'second', { client_msg_id: secondId }) });
    });
    await flush();
    expect($$('message').map((el) => el.dataset.messageId)).toEqual(['1', '2', '10', '11']);
    expect($('outbox-count')).toBeNull();
  });

  it('counts notifications on the bell and marks them all read', async () => {
    const m = await logIn();
    expect($('notif-bell-count')!.textContent).toBe('0');
    await act(async () => {
      m.notifications.serverEmit(
        'notification',
        { id: 'n1', type: 'mention', title: 'You were mentioned', body: 'by Bob', data: {}, created_at: '2026-01-01T10:00:00Z', read_at: null },
        'offset-n1',
      );
    });
    expect($('notif-bell-count')!.textContent).toBe('1');
    await click($('notif-bell'));
    expect($$('notification')).toHaveLength(1);
    expect($('notification')!.dataset.read).toBe('false');
    await click($('notif-mark-all-read'));
    expect($('notif-bell-count')!.textContent).toBe('0');
    expect($('notification')!.dataset.read).toBe('true');
  });

  it('shows reconnecting and recovered in the connection banner', async () => {
    const m = await logIn();
    await act(async () => {
      m.chat.transportDrop();
      m.notifications.transportDrop();
    });
    expect($('connection-state')!.textContent).toBe('reconnecting…');
    expect($('connection-state')!.dataset.state).toBe('reconnecting');
    await act(async () => {
      m.chat.serverConnect({ recovered: true });
      m.notifications.serverConnect({ recovered: true });
    });
    expect($('connection-label')!.textContent).toBe('recovered (nothing missed)');
    await act(async () => {
      m.chat.serverEmit('message:new', message('5', 2, 'while you were away'), 'offset-5');
    });
    expect($('connection-label')!.textContent).toBe('recovered (1 missed message delivered)');
  });

  it('logging out disconnects both sockets and returns to the login form', async () => {
    const m = await logIn();
    await click($('logout-button'));
    expect(m.chat.disconnectCalls).toBe(1);
    expect(m.notifications.disconnectCalls).toBe(1);
    expect($('auth-form')).not.toBeNull();
  });
});
