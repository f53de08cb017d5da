import { act, StrictMode } from 'react';
import type { ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('socket.io-client', () => import('./testing/fake-socket-io'));

import { SocketProvider, useChatEvent, useNotificationEvent, useSocket } from './react';
import type { SocketContextValue } from './react';
import { createSwitchboard } from './switchboard';
import { lastManager, managers, resetManagers } from './testing/fake-socket-io';
import { mockFetch, tokenFor } from './testing/http';
import type { RouteAnswer } from './testing/http';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const alice = { id: 1, email: 'alice@example.com', name: 'Alice' };

let container: HTMLDivElement;
let root: Root | null = null;

function makeClient(routes: Record<string, RouteAnswer> = {}) {
  const http = mockFetch({
    'POST /api/auth/login': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
    'POST /api/auth/logout': { status: 204 },
    'GET /api/auth/me': { status: 401, body: { detail: 'missing_token' } },
    ...routes,
  });
  return { client: createSwitchboard({ baseUrl: 'http://sb.test', fetch: http.fetch }), http };
}

/** Renders children and exposes the latest context value. */
function Probe({ onValue }: { onValue: (v: SocketContextValue) => void }): ReactNode {
  const value = useSocket();
  onValue(value);
  return (
    <p data-testid="probe">
      {value.user ? value.user.name : 'nobody'} / {value.connectionState} / {value.isConnected ? 'yes' : 'no'}
    </p>
  );
}

async function render(node: ReactNode): Promise<void> {
  root = createRoot(container);
  await act(async () => {
    root!.render(node);
  });
}

function text(): string {
  return container.querySelector('[data-testid="probe"]')?.textContent ?? '';
}

beforeEach(() => {
  resetManagers();
  container = document.createElement('div');
  document.body.appendChild(container);
});

afterEach(async () => {
  if (root) {
    const r = root;
    root = null;
    await act(async () => r.unmount());
  }
  container.remove();
  vi.unstubAllGlobals();
});

describe('SocketProvider', () => {
  it('connects /chat and /notifications once the user is authenticated and exposes them', async () => {
    const { client } = makeClient();
    let ctx: SocketContextValue | undefined;
    await render(
      <SocketProvider client={client} restoreSession={false}>
        <Probe onValue={(v) => (ctx = v)} />
      </SocketProvider>,
    );
    expect(text()).toBe('nobody / disconnected / no');
    expect(ctx!.chatSocket).toBeNull();
    expect(ctx!.notifSocket).toBeNull();
    expect(managers).toHaveLength(0);

    await act(async () => {
      await ctx!.login({ email: alice.email, password: 'pw' });
    });
    const m = lastManager();
    expect(m.chat.connectCalls).toBe(1);
    expect(m.notifications.connectCalls).toBe(1);
    expect(ctx!.chatSocket).toBe(m.chat);
    expect(ctx!.notifSocket).toBe(m.notifications);
    expect(ctx!.client).toBe(client);
    expect(text()).toBe('Alice / connecting / no');

    act(() => {
      m.chat.serverConnect();
      m.notifications.serverConnect();
    });
    expect(text()).toBe('Alice / connected / yes');
    expect(ctx!.isConnected).toBe(true);
  });

  it('follows the connection state through a drop and a recovery', async () => {
    const { client } = makeClient();
    await render(
      <SocketProvider client={client} restoreSession={false}>
        <Probe onValue={() => undefined} />
      </SocketProvider>,
    );
    await act(async () => {
      await client.login({ email: alice.email, password: 'pw' });
    });
    const m = lastManager();
    act(() => {
      m.chat.serverConnect();
      m.notifications.serverConnect();
    });
    act(() => {
      m.chat.transportDrop();
      m.notifications.transportDrop();
    });
    expect(text()).toBe('Alice / reconnecting / no');
    act(() => {
      m.chat.serverConnect({ recovered: true });
      m.notifications.serverConnect({ recovered: true });
    });
    expect(text()).toBe('Alice / recovered / yes');
  });

  it('disconnects both sockets on logout', async () => {
    const { client, http } = makeClient();
    let ctx: SocketContextValue | undefined;
    await render(
      <SocketProvider client={client} restoreSession={false}>
        <Probe onValue={(v) => (ctx = v)} />
      </SocketProvider>,
    );
    await act(async () => {
      await ctx!.login({ email: alice.email, password: 'pw' });
    });
    const m = lastManager();
    act(() => {
      m.chat.serverConnect();
      m.notifications.serverConnect();
    });

    await act(async () => {
      await ctx!.logout();
    });
    expect(m.chat.disconnectCalls).toBe(1);
    expect(m.notifications.disconnectCalls).toBe(1);
    expect(m.chat.connected || m.notifications.connected).toBe(false);
    expect(ctx!.chatSocket).toBeNull();
    expect(ctx!.notifSocket).toBeNull();
    expect(ctx!.user).toBeNull();
    expect(text()).toBe('nobody / disconnected / no');
    expect(http.calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/auth/logout' });
    // No reconnect attempt after logout.
    expect(m.chat.connectCalls).toBe(1);
    expect(m.notifications.connectCalls).toBe(1);
  });

  it('disconnects both sockets on unmount', async () => {
    const { client } = makeClient();
    await client.login({ email: alice.email, password: 'pw' });
    await render(
      <SocketProvider client={client} restoreSession={false}>
        <Probe onValue={() => undefined} />
      </SocketProvider>,
    );
    const m = lastManager();
    act(() => {
      m.chat.serverConnect();
      m.notifications.serverConnect();
    });
    expect(text()).toBe('Alice / connected / yes');

    const r = root!;
    root = null;
    await act(async () => r.unmount());
    expect(m.chat.disconnectCalls).toBe(1);
    expect(m.notifications.disconnectCalls).toBe(1);
    expect(m.chat.active).toBe(false);
    expect(m.notifications.active).toBe(false);
    expect(client.connectionState).toBe('disconnected');
  });

  it('survives StrictMode double effects: connected once mounted, disconnected after unmount', async () => {
    const { client } = makeClient();
    await client.login({ email: alice.email, password: 'pw' });
    await render(
      <StrictMode>
        <SocketProvider client={client} restoreSession={false}>
          <Probe onValue={() => undefined} />
        </SocketProvider>
      </StrictMode>,
    );
    const m = lastManager();
    expect(m.chat.active).toBe(true);
    expect(m.notifications.active).toBe(true);
    const r = root!;
    root = null;
    await act(async () => r.unmount());
    expect(m.chat.active).toBe(false);
    expect(m.notifications.active).toBe(false);
  });

  it('restores the session from the cookie on mount and reports ready', async () => {
    const { client } = makeClient({
      'GET /api/auth/me': { status: 200, body: { user: alice } },
      'POST /api/auth/refresh': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
    });
    let ctx: SocketContextValue | undefined;
    await render(
      <SocketProvider client={client}>
        <Probe onValue={(v) => (ctx = v)} />
      </SocketProvider>,
    );
    await vi.waitFor(() => expect(ctx!.ready).toBe(true));
    expect(ctx!.user).toEqual(alice);
    expect(lastManager().chat.connectCalls).toBe(1);
  });

  it('is ready and logged out when there is no session cookie', async () => {
    const { client } = makeClient();
    let ctx: SocketContextValue | undefined;
    await render(
      <SocketProvider client={client}>
        <Probe onValue={(v) => (ctx = v)} />
      </SocketProvider>,
    );
    await vi.waitFor(() => expect(ctx!.ready).toBe(true));
    expect(ctx!.user).toBeNull();
    expect(managers).toHaveLength(0);
  });

  it('builds its own client from baseUrl and closes it on unmount', async () => {
    const http = mockFetch({
      'GET /api/auth/me': { status: 200, body: { user: alice } },
      'POST /api/auth/refresh': { status: 200, body: { user: alice, token: tokenFor(alice.id) } },
    });
    vi.stubGlobal('fetch', http.fetch);
    let ctx: SocketContextValue | undefined;
    await render(
      <SocketProvider baseUrl="http://other.test/">
        <Probe onValue={(v) => (ctx = v)} />
      </SocketProvider>,
    );
    await vi.waitFor(() => expect(ctx!.user).toEqual(alice));
    expect(ctx!.client.baseUrl).toBe('http://other.test');
    expect(http.calls[0]!.url).toBe('http://other.test/api/auth/me');
    const m = lastManager();
    expect(m.uri).toBe('http://other.test');
    const r = root!;
    root = null;
    await act(async () => r.unmount());
    expect(m.chat.disconnectCalls).toBeGreaterThan(0);
    expect(m.notifications.disconnectCalls).toBeGreaterThan(0);
  });

  it('useChatEvent / useNotificationEvent deliver payloads without the recovery offset', async () => {
    const { client } = makeClient();
    await client.login({ email: alice.email, password: 'pw' });
    const got: unknown[][] = [];
    function Listener(): ReactNode {
      useChatEvent('typing', (...args: unknown[]) => got.push(args));
      useNotificationEvent('notification', (...args: unknown[]) => got.push(args));
      return null;
    }
    await render(
      <SocketProvider client={client} restoreSession={false}>
        <Listener />
      </SocketProvider>,
    );
    const m = lastManager();
    act(() => {
      m.chat.serverEmit('typing', { conversation_id: 7, user_id: 2, typing: true }, 'offset-1');
      m.notifications.serverEmit(
        'notification',
        { id: 'n', type: 't', title: 'T', body: '', data: {}, created_at: 'x', read_at: null },
        'offset-2',
      );
    });
    expect(got).toEqual([
      [{ conversation_id: 7, user_id: 2, typing: true }],
      [{ id: 'n', type: 't', title: 'T', body: '', data: {}, created_at: 'x', read_at: null }],
    ]);
  });

  it('useSocket outside a provider throws a helpful error', async () => {
    function Lonely(): ReactNode {
      useSocket();
      return null;
    }
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    root = createRoot(container);
    await expect(
      act(async () => {
        root!.render(<Lonely />);
      }),
    ).rejects.toThrow('useSocket() must be used inside <SocketProvider>');
    errors.mockRestore();
  });
});
