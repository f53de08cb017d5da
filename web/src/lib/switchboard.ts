/**
 * Framework-free Switchboard browser client.
 *
 *   const sb = createSwitchboard({ baseUrl: '' });        // '' = same origin
 *   await sb.login({ email, password });                  // sets the HttpOnly cookie, connects both sockets
 *   sb.onChat('message:new', (m) => console.log(m.body));
 *   const message = await sb.sendMessage(42, 'hello');    // resolves with the stored, acked message
 *
 * The HTTP calls use `credentials: 'include'` so the server's `auth_token`
 * cookie travels with them; the two Socket.IO namespaces (`/chat`,
 * `/notifications`) share one Engine.IO connection opened `withCredentials`.
 *
 * This module assembles the client from its parts, one concern each:
 * `http.ts` (requests) and `rest.ts` (routes), `auth.ts` (login, refresh,
 * restore), `sockets.ts` (the socket lifecycle and reconnects),
 * `socket-api.ts` and `acks.ts` (event helpers), `listeners.ts` (event
 * listeners), `store.ts` (connection state and snapshot), sharing the
 * state in `context.ts`.
 */
import { createAuth } from './auth';
import type { Auth } from './auth';
import type { ChatSocket, NotificationsSocket, SwitchboardClient, SwitchboardOptions } from './client-types';
import { createContext, isConnectedState } from './context';
import type { Listener } from './context';
import { createRequest } from './http';
import { addListener } from './listeners';
import { createRestApi } from './rest';
import { createSocketApi } from './socket-api';
import { createSockets } from './sockets';
import { createStore } from './store';

export type {
  AuthError,
  ChatSocket,
  ConnectionStateListener,
  Credentials,
  MessagesPage,
  NotificationsQuery,
  NotificationsSocket,
  RegisterInput,
  RetrySchedule,
  SendMessageOptions,
  SwitchboardClient,
  SwitchboardOptions,
  SwitchboardSnapshot,
} from './client-types';
export { isSwitchboardError, SwitchboardError } from './errors';
export { newClientMsgId } from './util';

/** Creates a Switchboard client. Nothing is fetched or connected until a method is called. */
export function createSwitchboard(options: SwitchboardOptions = {}): SwitchboardClient {
  const ctx = createContext(options);
  const store = createStore(ctx);
  // The parts call each other (a 401 ends the session, which stops the sockets,
  // whose refused handshake refreshes the token): `auth` is bound once built.
  let auth: Auth | undefined;
  const authPart = (): Auth => {
    if (!auth) throw new Error('switchboard: auth used before it was built');
    return auth;
  };
  const request = createRequest(ctx, (reason) => authPart().sessionLost(reason));
  const sockets = createSockets(ctx, store, {
    refresh: () => authPart().refresh(),
    sessionLost: (reason) => authPart().sessionLost(reason),
    armRefreshTimer: () => authPart().armRefreshTimer(),
  });
  auth = createAuth(ctx, store, request, sockets);
  const { register, login, logout, me, refresh, restore, stopRefreshTimer } = auth;

  const client: SwitchboardClient = {
    baseUrl: ctx.options.baseUrl,
    get user() {
      return ctx.user;
    },
    get token() {
      return ctx.token;
    },
    get connectionState() {
      return ctx.connectionState;
    },
    get serverClockOffsetMs() {
      return ctx.serverClockOffsetMs;
    },
    get isConnected() {
      return isConnectedState(ctx.connectionState);
    },
    get chatSocket() {
      return (ctx.session?.chat.socket as ChatSocket | undefined) ?? null;
    },
    get notifSocket() {
      return (ctx.session?.notifications.socket as NotificationsSocket | undefined) ?? null;
    },
    register,
    login,
    logout,
    me,
    refresh,
    restore,
    connect: sockets.connect,
    disconnect: sockets.disconnect,
    dispose() {
      sockets.disconnect();
      stopRefreshTimer();
    },
    subscribe: store.subscribe,
    getSnapshot: store.getSnapshot,
    subscribeSnapshot: store.subscribeSnapshot,
    onChat(event, listener) {
      return addListener(ctx.chatListeners, event, listener as Listener);
    },
    onNotification(event, listener) {
      return addListener(ctx.notifListeners, event, listener as Listener);
    },
    ...createSocketApi(ctx),
    ...createRestApi(request),
  };
  return client;
}
