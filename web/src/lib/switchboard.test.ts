import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('socket.io-client', () => import('./testing/fake-socket-io'));

import { createSwitchboard, isSwitchboardError, SwitchboardError } from './switchboard';
import type { SwitchboardClient, SwitchboardOptions } from './switchboard';
import { decodeJwt, tokenExpiresAt } from './jwt';
import { lastManager, managers, resetManagers } from './testing/fake-socket-io';
import type { FakeManager } from './testing/fake-socket-io';
import { makeJwt, mockFetch, tokenFor } from './testing/http';
import type { RouteAnswer } from './testing/http';
import type { ConnectionState, Message } from './types';

const alice = { id: 1, email: 'alice@example.com', name: 'Alice' };
const bob = { id: 2, email: 'bob@example.com', name: 'Bob' };

function message(id: string, body = 'hi', extra: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: 7,
    sender_id: alice.id,
    body,
    created_at: '2026-01-01T00:00:00Z',
    client_msg_id: null,
    ...extra,
  };
}

function setup(routes: Record<string, RouteAnswer> = {}, options: SwitchboardOptions = {}) {
  const http = mockFetch({
    'POST /api/auth/login': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
    'POST /api/auth/logout': { status: 204 },
    ...routes,
  });
  const client = createSwitchboard({ baseUrl: 'http://sb.test', fetch: http.fetch, ...options });
  return { client, http };
}

async function loginConnected(client: SwitchboardClient): Promise<FakeManager> {
  await client.login({ email: alice.email, password: 'pw' });
  const m = lastManager();
  m.chat.serverConnect();
  m.notifications.serverConnect();
  return m;
}

function recordStates(client: SwitchboardClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.subscribe((state) => states.push(state));
  return states;
}

beforeEach(() => {
  resetManagers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('HTTP auth', () => {
  it('logs in with the cookie-carrying fetch and connects both namespaces with credentials', async () => {
    const { client, http } = setup();
    const user = await client.login({ email: alice.email, password: 'pw' });

    expect(user).toEqual(alice);
    expect(client.user).toEqual(alice);
    const req = http.calls[0]!;
    expect(req.url).toBe('http://sb.test/api/auth/login');
    expect(req.method).toBe('POST');
    expect(req.init.credentials).toBe('include');
    expect(req.body).toEqual({ email: alice.email, password: 'pw' });

    const m = lastManager();
    expect(m.uri).toBe('http://sb.test');
    expect(m.opts).toMatchObject({ path: '/socket.io/', withCredentials: true, autoConnect: false });
    expect([...m.sockets.keys()].sort()).toEqual(['/chat', '/notifications']);
    expect(m.chat.connectCalls).toBe(1);
    expect(m.notifications.connectCalls).toBe(1);
    expect(client.connectionState).toBe('connecting');
  });

  it('sends the token in the CONNECT payload as well as relying on the cookie', async () => {
    const { client } = setup();
    await client.login({ email: alice.email, password: 'pw' });
    const auth = lastManager().chat.opts.auth as (cb: (data: object) => void) => void;
    let data: object | undefined;
    auth((d) => {
      data = d;
    });
    expect(data).toEqual({ token: client.token });
  });

  it('does not connect when autoConnect is false until connect() is called', async () => {
    const { client } = setup({}, { autoConnect: false });
    await client.login({ email: alice.email, password: 'pw' });
    expect(managers).toHaveLength(0);
    expect(client.connect()).toBe(true);
    expect(lastManager().chat.connectCalls).toBe(1);
  });

  it('connect() without a user does nothing', () => {
    const { client } = setup();
    expect(client.connect()).toBe(false);
    expect(managers).toHaveLength(0);
    expect(client.connectionState).toBe('disconnected');
  });

  it('register answers 409 with a SwitchboardError carrying the detail', async () => {
    const { client } = setup({
      'POST /api/auth/register': { status: 409, body: { detail: 'email already registered' } },
    });
    const err = await client.register({ email: 'a@b.c', password: 'pw', name: 'A' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchboardError);
    expect(err).toMatchObject({ code: 'conflict', status: 409, message: 'email already registered' });
    expect(client.user).toBeNull();
    expect(managers).toHaveLength(0);
  });

  it('turns validation error lists into a readable message', async () => {
    const { client } = setup({
      'POST /api/auth/register': {
        status: 422,
        body: { detail: [{ loc: ['body', 'email'], msg: 'value is not a valid email address', type: 'value_error' }] },
      },
    });
    await expect(client.register({ email: 'nope', password: 'pw', name: 'A' })).rejects.toMatchObject({
      code: 'invalid_payload',
      message: 'value is not a valid email address',
    });
  });

  it('login with bad credentials is unauthorized and leaves the client logged out', async () => {
    const { client } = setup({ 'POST /api/auth/login': { status: 401, body: { detail: 'bad credentials' } } });
    await expect(client.login({ email: 'x@y.z', password: 'bad' })).rejects.toMatchObject({ code: 'unauthorized' });
    expect(client.user).toBeNull();
  });

  it('reports a failing network as network_error', async () => {
    const client = createSwitchboard({
      baseUrl: 'http://sb.test',
      fetch: (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch,
    });
    await expect(client.me()).rejects.toMatchObject({ code: 'network_error' });
  });

  it('restore() resumes the session from the cookie and learns the token through refresh', async () => {
    const fresh = tokenFor(alice.id);
    const { client, http } = setup({
      'GET /api/auth/me': { status: 200, body: { user: alice } },
      'POST /api/auth/refresh': { status: 200, body: { user: alice, token: fresh } },
    });
    const user = await client.restore();
    expect(user).toEqual(alice);
    expect(client.token).toBe(fresh);
    expect(http.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /api/auth/me', 'POST /api/auth/refresh']);
    expect(lastManager().chat.connectCalls).toBe(1);
  });

  it('concurrent restore() calls share one round trip', async () => {
    const { client, http } = setup({
      'GET /api/auth/me': { status: 200, body: { user: alice } },
      'POST /api/auth/refresh': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
    });
    const [a, b] = await Promise.all([client.restore(), client.restore()]);
    expect(a).toEqual(alice);
    expect(b).toEqual(alice);
    expect(http.calls.filter((c) => c.path === '/api/auth/me')).toHaveLength(1);
    expect(managers).toHaveLength(1);
  });

  it('a logout while restore() refreshes the token stays a logout, and goes out after the refresh', async () => {
    const http = mockFetch({
      'GET /api/auth/me': { status: 200, body: { user: alice } },
      'POST /api/auth/refresh': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
      'POST /api/auth/logout': { status: 204 },
    });
    let answerRefresh = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      answerRefresh = resolve;
    });
    const order: string[] = [];
    const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const path = new URL(String(input), 'http://test.local').pathname;
      if (path === '/api/auth/refresh') await gate;
      order.push(path);
      return http.fetch(input, init);
    }) as typeof fetch;
    const client = createSwitchboard({ baseUrl: 'http://sb.test', fetch: fetchFn });
    const restoring = client.restore();
    await vi.waitFor(() => expect(client.user).toEqual(alice)); // me() answered; refresh waits
    const loggingOut = client.logout();
    expect(client.user).toBeNull();
    answerRefresh();
    await loggingOut;
    expect(await restoring).toBeNull();
    expect(client.user).toBeNull();
    expect(client.token).toBeNull();
    expect(managers).toHaveLength(0); // no socket was opened for the ended session
    expect(order).toEqual(['/api/auth/me', '/api/auth/refresh', '/api/auth/logout']);
  });

  it('restore() without a session returns null and connects nothing', async () => {
    const { client } = setup({ 'GET /api/auth/me': { status: 401, body: { detail: 'missing_token' } } });
    expect(await client.restore()).toBeNull();
    expect(client.user).toBeNull();
    expect(managers).toHaveLength(0);
  });
});

describe('connection state', () => {
  it('goes connecting → connected when both sockets connect', async () => {
    const { client } = setup();
    const states = recordStates(client);
    await client.login({ email: alice.email, password: 'pw' });
    const m = lastManager();
    m.chat.serverConnect();
    expect(client.connectionState).toBe('connecting');
    m.notifications.serverConnect();
    expect(client.connectionState).toBe('connected');
    expect(client.isConnected).toBe(true);
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('shows reconnecting on a dropped transport and recovered when both sockets recover', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    const seen: Array<[ConnectionState, ConnectionState]> = [];
    client.subscribe((state, previous) => seen.push([state, previous]));

    m.chat.transportDrop();
    m.notifications.transportDrop();
    expect(client.connectionState).toBe('reconnecting');
    expect(client.isConnected).toBe(false);

    m.chat.serverConnect({ recovered: true });
    expect(client.connectionState).toBe('reconnecting');
    m.notifications.serverConnect({ recovered: true });
    expect(client.connectionState).toBe('recovered');
    expect(client.isConnected).toBe(true);
    expect(seen).toEqual([
      ['reconnecting', 'connected'],
      ['recovered', 'reconnecting'],
    ]);
  });

  it('tells when the next reconnection attempt is due and how many failed', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    expect(client.getSnapshot().retry).toBeNull();
    m.chat.transportDrop();
    m.notifications.transportDrop();
    const before = Date.now();
    const delay = m.failReconnectAttempt();
    const retry = client.getSnapshot().retry;
    expect(retry?.failedAttempts).toBe(1);
    expect(retry!.at).toBeGreaterThanOrEqual(before + delay);
    expect(retry!.at).toBeLessThanOrEqual(Date.now() + delay);
    m.failReconnectAttempt();
    expect(client.getSnapshot().retry?.failedAttempts).toBe(2);
    m.chat.serverConnect({ recovered: true });
    m.notifications.serverConnect({ recovered: true });
    expect(client.getSnapshot().retry).toBeNull();
  });

  it('says connected, not recovered, when a reconnect could not recover the session', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    m.chat.transportDrop();
    m.notifications.transportDrop();
    m.chat.serverConnect({ recovered: true });
    m.notifications.serverConnect({ recovered: false });
    expect(client.connectionState).toBe('connected');
  });

  it('keeps reconnecting (not disconnected) while transport-level connect errors repeat', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    m.chat.transportDrop();
    m.notifications.transportDrop();
    m.chat.transportError();
    m.notifications.transportError();
    expect(client.connectionState).toBe('reconnecting');
  });

  it('reconnects a socket that the server disconnected, after a delay', async () => {
    vi.useFakeTimers();
    const { client } = setup({}, { serverDisconnectRetryMs: 500 });
    const m = await loginConnected(client);
    m.chat.serverDisconnect();
    expect(client.connectionState).toBe('reconnecting');
    expect(m.chat.connectCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(m.chat.connectCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.chat.connectCalls).toBe(2);
    m.chat.serverConnect({ recovered: true });
    expect(client.connectionState).toBe('recovered');
  });

  it('snapshot is stable between changes and replaced on a change', async () => {
    const { client } = setup();
    const before = client.getSnapshot();
    expect(client.getSnapshot()).toBe(before);
    let calls = 0;
    client.subscribeSnapshot(() => {
      calls += 1;
    });
    await client.login({ email: alice.email, password: 'pw' });
    const after = client.getSnapshot();
    expect(after).not.toBe(before);
    expect(after.user).toEqual(alice);
    expect(after.chatSocket).toBe(client.chatSocket);
    expect(after.notifSocket).toBe(client.notifSocket);
    expect(calls).toBeGreaterThan(0);
  });
});

describe('logout and disconnect', () => {
  it('logout disconnects both sockets, forgets the user and tells the server', async () => {
    const { client, http } = setup();
    const m = await loginConnected(client);
    const states = recordStates(client);

    await client.logout();

    expect(m.chat.disconnectCalls).toBe(1);
    expect(m.notifications.disconnectCalls).toBe(1);
    expect(m.chat.connected).toBe(false);
    expect(m.notifications.connected).toBe(false);
    expect(client.user).toBeNull();
    expect(client.token).toBeNull();
    expect(client.chatSocket).toBeNull();
    expect(client.notifSocket).toBeNull();
    expect(client.connectionState).toBe('disconnected');
    expect(states).toEqual(['disconnected']);
    expect(http.calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/auth/logout' });
    expect(http.calls.at(-1)!.init.credentials).toBe('include');
  });

  it('logout does not trigger the server-disconnect reconnect logic', async () => {
    vi.useFakeTimers();
    const { client } = setup();
    const m = await loginConnected(client);
    await client.logout();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(m.chat.connectCalls).toBe(1);
    expect(m.notifications.connectCalls).toBe(1);
  });

  it('disconnect() keeps the user and connect() reuses the sockets', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    client.disconnect();
    expect(m.chat.disconnectCalls).toBe(1);
    expect(m.notifications.disconnectCalls).toBe(1);
    expect(client.connectionState).toBe('disconnected');
    expect(client.user).toEqual(alice);

    client.connect();
    expect(managers).toHaveLength(1);
    expect(m.chat.connectCalls).toBe(2);
    expect(m.notifications.connectCalls).toBe(2);
  });

  it('a new login uses new sockets, and registered listeners follow', async () => {
    const { client } = setup();
    const bodies: string[] = [];
    client.onChat('message:new', (msg) => bodies.push(msg.body));
    const first = await loginConnected(client);
    await client.logout();
    const second = await loginConnected(client);
    expect(second).not.toBe(first);
    first.chat.serverEmit('message:new', message('1', 'stale'));
    second.chat.serverEmit('message:new', message('2', 'fresh'), 'offset-2');
    expect(bodies).toEqual(['fresh']);
  });
});

describe('events', () => {
  it('listeners receive only the first argument, never the recovery offset', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    const got: unknown[][] = [];
    client.onChat('message:new', (...args: unknown[]) => got.push(args));
    client.onNotification('notification:unread_count', (...args: unknown[]) => got.push(args));
    m.chat.serverEmit('message:new', message('5'), 'AAAA-offset');
    m.notifications.serverEmit('notification:unread_count', { count: 3 }, 'BBBB-offset');
    expect(got).toEqual([[message('5')], [{ count: 3 }]]);
  });

  it('unsubscribe stops delivery; a throwing listener does not stop the others', async () => {
    const errors: unknown[] = [];
    const { client } = setup({}, { onListenerError: (e) => errors.push(e) });
    const m = await loginConnected(client);
    const seen: number[] = [];
    client.onChat('presence', () => {
      throw new Error('listener bug');
    });
    const off = client.onChat('presence', (e) => seen.push(e.user_id));
    m.chat.serverEmit('presence', { user_id: 2, online: true });
    off();
    m.chat.serverEmit('presence', { user_id: 3, online: true });
    expect(seen).toEqual([2]);
    expect(errors).toHaveLength(2);
    expect((errors[0] as Error).message).toBe('listener bug');
  });
});

describe('acks', () => {
  it('sendMessage resolves with the acked message and sends a client_msg_id', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    const pending = client.sendMessage(7, 'hello');
    const [packet] = m.chat.pending('message:send');
    expect(packet!.payload).toMatchObject({ conversation_id: 7, body: 'hello' });
    const clientMsgId = (packet!.payload as { client_msg_id: string }).client_msg_id;
    expect(clientMsgId).toMatch(/^[0-9a-f-]{36}$/);
    m.chat.reply('message:send', { ok: true, message: message('10', 'hello', { client_msg_id: clientMsgId }) });
    await expect(pending).resolves.toEqual(message('10', 'hello', { client_msg_id: clientMsgId }));
  });

  it('an ack error rejects with its code and message and is not retried', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    m.chat.responder = () => ({ ok: false, error: { code: 'too_large', message: 'message longer than 4000 characters' } });
    const err = await client.sendMessage(7, 'x'.repeat(5000)).catch((e: unknown) => e);
    expect(isSwitchboardError(err, 'too_large')).toBe(true);
    expect((err as SwitchboardError).message).toBe('message longer than 4000 characters');
    expect(m.chat.sent.filter((p) => p.event === 'message:send')).toHaveLength(1);
  });

  it('a forbidden ack rejects joinConversation', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    m.chat.responder = (event) =>
      event === 'conversation:join' ? { ok: false, error: { code: 'forbidden', message: 'not a member' } } : undefined;
    await expect(client.joinConversation(99)).rejects.toMatchObject({ code: 'forbidden', message: 'not a member' });
  });

  it('retries a timed-out send with the same client_msg_id', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    const pending = client.sendMessage(7, 'again', { retries: 1 });
    m.chat.timeoutAck('message:send');
    await vi.waitFor(() => expect(m.chat.pending('message:send')).toHaveLength(1));
    const sends = m.chat.sent.filter((p) => p.event === 'message:send');
    expect(sends).toHaveLength(2);
    expect(sends[0]!.payload).toEqual(sends[1]!.payload);
    m.chat.reply('message:send', { ok: true, message: message('11', 'again') });
    await expect(pending).resolves.toMatchObject({ id: '11' });
  });

  it('gives up after the retries with a timeout error', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    const pending = client.sendMessage(7, 'lost', { retries: 0 });
    m.chat.timeoutAck('message:send');
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
  });

  it('maps a disconnect before the ack to code disconnected', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    const pending = client.joinConversation(7);
    m.chat.timeoutAck('conversation:join', 'socket has been disconnected');
    await expect(pending).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('rejects an answer that is not {ok, ...} as invalid_ack', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    m.chat.responder = () => 'yes';
    await expect(client.queryPresence([2])).rejects.toMatchObject({ code: 'invalid_ack' });
  });

  it('queryPresence and markNotificationRead return the ack data', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    m.chat.responder = (event, payload) =>
      event === 'presence:query' ? { ok: true, online: { '2': true, '3': false }, echo: payload } : undefined;
    m.notifications.responder = (event, payload) =>
      event === 'notification:read' && (payload as { id: string }).id === 'n1' ? { ok: true, unread_count: 4 } : undefined;
    await expect(client.queryPresence([2, 3])).resolves.toEqual({ '2': true, '3': false });
    expect(m.chat.sent.at(-1)!.payload).toEqual({ user_ids: [2, 3] });
    await expect(client.markNotificationRead('n1')).resolves.toBe(4);
  });

  it('fails with not_connected when logged out', async () => {
    const { client } = setup();
    await expect(client.sendMessage(1, 'x')).rejects.toMatchObject({ code: 'not_connected' });
    await expect(client.markNotificationRead('n')).rejects.toMatchObject({ code: 'not_connected' });
    expect(client.typing(1, true)).toBe(false);
    expect(client.markRead(1, 'm')).toBe(false);
  });

  it('typing is volatile and dropped while disconnected; markRead is sent', async () => {
    const { client } = setup();
    const m = await loginConnected(client);
    expect(client.typing(7, true)).toBe(true);
    expect(m.chat.sent.at(-1)).toMatchObject({ event: 'typing', payload: { conversation_id: 7, typing: true }, volatile: true });
    expect(client.markRead(7, '42')).toBe(true);
    expect(m.chat.sent.at(-1)).toMatchObject({ event: 'message:read', payload: { conversation_id: 7, message_id: '42' } });
    m.chat.transportDrop();
    expect(client.typing(7, false)).toBe(false);
  });
});

describe('token refresh', () => {
  it('refreshes shortly before exp and pushes auth:refresh to both sockets', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z') });
    const first = tokenFor(alice.id, 100); // 100 s lifetime → refreshed 20 s before exp
    const second = tokenFor(alice.id, 100, Date.now() + 80_000);
    const { client, http } = setup({
      'POST /api/auth/login': { status: 200, body: { user: alice, token: first } },
      'POST /api/auth/refresh': { status: 200, body: { user: alice, token: second } },
    });
    const m = await loginConnected(client);
    m.chat.responder = () => ({ ok: true, expires_at: '2026-03-01T12:03:00Z' });
    m.notifications.responder = () => ({ ok: true, expires_at: '2026-03-01T12:03:00Z' });

    await vi.advanceTimersByTimeAsync(79_000);
    expect(http.calls.some((c) => c.path === '/api/auth/refresh')).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(http.calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
    expect(client.token).toBe(second);
    expect(m.chat.sent.find((p) => p.event === 'auth:refresh')?.payload).toEqual({ token: second });
    expect(m.notifications.sent.find((p) => p.event === 'auth:refresh')?.payload).toEqual({ token: second });
    expect(client.connectionState).toBe('connected');
  });

  it('ends the session when the token expired and refresh is refused', async () => {
    vi.useFakeTimers();
    const { client } = setup(
      { 'POST /api/auth/refresh': { status: 401, body: { detail: 'token_expired' } } },
      { serverDisconnectRetryMs: 100 },
    );
    const m = await loginConnected(client);
    m.chat.serverEmit('auth:expired', { code: 'token_expired' });
    m.chat.serverDisconnect();
    m.notifications.serverEmit('auth:expired', { code: 'token_expired' });
    m.notifications.serverDisconnect();
    expect(client.connectionState).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(100);
    expect(client.user).toBeNull();
    expect(client.getSnapshot().authError).toBe('token_expired');
    expect(client.connectionState).toBe('disconnected');
    expect(m.chat.connectCalls).toBe(1);
  });

  it('after auth:expired, a successful refresh reconnects with the fresh token', async () => {
    vi.useFakeTimers();
    const fresh = tokenFor(alice.id, 3600);
    const { client } = setup(
      { 'POST /api/auth/refresh': { status: 200, body: { user: alice, token: fresh } } },
      { serverDisconnectRetryMs: 100 },
    );
    const m = await loginConnected(client);
    m.chat.serverEmit('auth:expired');
    m.chat.serverDisconnect();
    await vi.advanceTimersByTimeAsync(100);
    expect(client.token).toBe(fresh);
    expect(m.chat.connectCalls).toBe(2);
  });

  it('a refused socket (unauthorized) tries one refresh, then logs out', async () => {
    const { client } = setup({ 'POST /api/auth/refresh': { status: 401, body: { detail: 'invalid_token' } } });
    await client.login({ email: alice.email, password: 'pw' });
    const m = lastManager();
    m.chat.refuse('unauthorized', { code: 'invalid_token' });
    await vi.waitFor(() => expect(client.user).toBeNull());
    expect(client.getSnapshot().authError).toBe('unauthorized');
    expect(m.notifications.disconnectCalls).toBe(1);
  });

  it('a 401 from an API route ends the session', async () => {
    const { client } = setup({ 'GET /api/conversations': { status: 401, body: { detail: 'token_expired' } } });
    const m = await loginConnected(client);
    await expect(client.listConversations()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(client.user).toBeNull();
    expect(m.chat.disconnectCalls).toBe(1);
  });
});

describe('REST helpers', () => {
  it('builds the SPEC routes and unwraps the answers', async () => {
    const conv = { id: 7, title: null, member_ids: [1, 2], created_at: '2026-01-01T00:00:00Z' };
    const notif = {
      id: 'n1',
      type: 'mention',
      title: 'Hi',
      body: '',
      data: {},
      created_at: '2026-01-01T00:00:00Z',
      read_at: null,
    };
    const { client, http } = setup({
      'GET /api/users': { status: 200, body: { users: [bob] } },
      'GET /api/conversations': { status: 200, body: { conversations: [conv] } },
      'POST /api/conversations': { status: 201, body: { conversation: conv } },
      'GET /api/conversations/7/messages': { status: 200, body: { messages: [message('1')] } },
      'POST /api/conversations/7/messages': { status: 201, body: { message: message('2', 'rest') } },
      'GET /api/presence': { status: 200, body: { online: { '2': true } } },
      'GET /api/notifications': { status: 200, body: { notifications: [notif], unread_count: 1 } },
      'POST /api/notifications/n1/read': {
        status: 200,
        body: { notification: { ...notif, read_at: '2026-01-01T00:01:00Z' }, unread_count: 0 },
      },
      'POST /api/notifications/read-all': { status: 200, body: { unread_count: 0 } },
    });
    await client.login({ email: alice.email, password: 'pw' });

    expect(await client.searchUsers('bo')).toEqual([bob]);
    expect(http.calls.at(-1)!.search.get('q')).toBe('bo');
    expect(await client.getUsers([2, 124])).toEqual([bob]);
    expect(http.calls.at(-1)!.search.get('ids')).toBe('2,124');
    expect(await client.listConversations()).toEqual([conv]);
    expect(await client.createConversation([2], 'pair')).toEqual(conv);
    expect(http.calls.at(-1)!.body).toEqual({ member_ids: [2], title: 'pair' });
    expect(await client.getMessages(7, { before: '9', limit: 20 })).toEqual([message('1')]);
    expect(http.calls.at(-1)!.search.get('before')).toBe('9');
    expect(http.calls.at(-1)!.search.get('limit')).toBe('20');
    await client.getMessages(7);
    expect(http.calls.at(-1)!.url).toBe('http://sb.test/api/conversations/7/messages');
    expect(await client.postMessage(7, 'rest', 'cid-1')).toEqual(message('2', 'rest'));
    expect(http.calls.at(-1)!.body).toEqual({ body: 'rest', client_msg_id: 'cid-1' });
    expect(await client.getPresence([2, 3])).toEqual({ '2': true });
    expect(http.calls.at(-1)!.search.get('user_ids')).toBe('2,3');
    expect(await client.listNotifications({ unreadOnly: true, limit: 10 })).toEqual({
      notifications: [notif],
      unread_count: 1,
    });
    expect(http.calls.at(-1)!.search.get('unread_only')).toBe('true');
    expect((await client.readNotification('n1')).unread_count).toBe(0);
    expect(await client.readAllNotifications()).toBe(0);
    for (const c of http.calls.slice(1)) {
      expect(c.init.credentials).toBe('include');
      expect((c.init.headers as Record<string, string>).Authorization).toMatch(/^Bearer /);
    }
  });

  it('builds the extension routes (config, read marks, search, rename, leave)', async () => {
    const conv = { id: 7, title: 'Team', member_ids: [1, 2], created_at: '2026-01-01T00:00:00Z' };
    const { client, http } = setup({
      'GET /api/config': { status: 200, body: { chat: { max_message_chars: 4000, max_title_chars: 200, max_members: 10000 } } },
      'GET /api/conversations/7/reads': { status: 200, body: { reads: [{ user_id: 2, message_id: '5' }] } },
      'GET /api/conversations/7/search': { status: 200, body: { messages: [message('3', 'lunch?')] } },
      'PATCH /api/conversations/7': { status: 200, body: { conversation: conv } },
      'POST /api/conversations/7/leave': { status: 204 },
    });
    expect((await client.getConfig()).max_message_chars).toBe(4000);
    await client.login({ email: alice.email, password: 'pw' });
    expect(await client.getReadMarks(7)).toEqual([{ user_id: 2, message_id: '5' }]);
    expect(await client.searchMessages(7, 'lunch', { before: '9', limit: 5 })).toEqual([message('3', 'lunch?')]);
    const search = http.calls.at(-1)!.search;
    expect([search.get('q'), search.get('before'), search.get('limit')]).toEqual(['lunch', '9', '5']);
    expect(await client.renameConversation(7, 'Team')).toEqual(conv);
    expect(http.calls.at(-1)!.body).toEqual({ title: 'Team' });
    await client.renameConversation(7, null);
    expect(http.calls.at(-1)!.body).toEqual({ title: null });
    await expect(client.leaveConversation(7)).resolves.toBeUndefined();
    expect(http.calls.at(-1)!.method).toBe('POST');
  });

  it('learns the server clock from the Date header of HTTP answers', async () => {
    const ahead = new Date(Date.now() + 90_000).toUTCString();
    const fetchWithDate = (async () =>
      new Response(JSON.stringify({ chat: { max_message_chars: 1, max_title_chars: 1, max_members: 1 } }), {
        status: 200,
        headers: { 'Content-Type': 'application/json', Date: ahead },
      })) as unknown as typeof fetch;
    const client = createSwitchboard({ baseUrl: 'http://sb.test', fetch: fetchWithDate });
    expect(client.serverClockOffsetMs).toBe(0);
    await client.getConfig();
    expect(client.serverClockOffsetMs).toBeGreaterThan(88_000);
    expect(client.serverClockOffsetMs).toBeLessThan(91_000);
  });

  it('a 403 for a non-member is a forbidden error and keeps the session', async () => {
    const { client } = setup({ 'GET /api/conversations/8/messages': { status: 403, body: { detail: 'not a member' } } });
    await client.login({ email: alice.email, password: 'pw' });
    await expect(client.getMessages(8)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    expect(client.user).toEqual(alice);
  });
});

describe('jwt', () => {
  it('reads exp and tolerates garbage', () => {
    const t = makeJwt({ sub: '1', exp: 2_000_000_000, iat: 1_999_999_000, email: 'é@example.com' });
    expect(decodeJwt(t)).toMatchObject({ sub: '1', exp: 2_000_000_000 });
    expect(tokenExpiresAt(t)).toBe(2_000_000_000_000);
    expect(decodeJwt('not a token')).toBeNull();
    expect(decodeJwt('a.!!!.c')).toBeNull();
    expect(tokenExpiresAt(makeJwt({ sub: '1' }))).toBeNull();
  });
});
