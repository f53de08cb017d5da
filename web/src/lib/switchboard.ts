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
 */
import { Manager } from 'socket.io-client';
import type { ManagerOptions, Socket } from 'socket.io-client';
import { decodeJwt } from './jwt';
import type {
  Ack,
  AckOk,
  AuthResponse,
  ChatClientToServerEvents,
  ChatEventName,
  ChatEventPayload,
  ChatServerToClientEvents,
  ConnectionState,
  ChatConfig,
  ConfigResponse,
  Conversation,
  ConversationResponse,
  ConversationSummary,
  ConversationsResponse,
  ReadMark,
  ReadMarksResponse,
  MeResponse,
  Message,
  MessageResponse,
  MessagesResponse,
  NotificationReadResponse,
  NotificationsClientToServerEvents,
  NotificationsEventName,
  NotificationsEventPayload,
  NotificationsResponse,
  NotificationsServerToClientEvents,
  OnlineMap,
  PresenceResponse,
  UnreadCountResponse,
  User,
  UsersResponse,
} from './types';

export type ChatSocket = Socket<ChatServerToClientEvents, ChatClientToServerEvents>;
export type NotificationsSocket = Socket<NotificationsServerToClientEvents, NotificationsClientToServerEvents>;

// ---------------------------------------------------------------- errors

/**
 * Error thrown by every failing client call.
 *
 * `code` is the ack error code for socket calls (`invalid_payload`, `forbidden`,
 * `not_found`, `too_large`, `rate_limited`, `internal`), or one of the client's
 * own: `timeout` (no ack in time), `disconnected` (the socket dropped before the
 * ack), `not_connected` (no socket: not logged in or not connected),
 * `invalid_ack` (the answer was not `{ok, ...}`), `network_error` (fetch failed),
 * and for HTTP answers `unauthorized` (401), `forbidden` (403), `not_found`
 * (404), `conflict` (409), `too_large` (413), `invalid_payload` (422),
 * `rate_limited` (429) or `http_error` (anything else).
 */
export class SwitchboardError extends Error {
  readonly code: string;
  /** HTTP status, for errors that come from an HTTP answer. */
  readonly status?: number;
  /** The server's `detail` (HTTP) or `error` object (ack). */
  readonly detail?: unknown;

  constructor(code: string, message: string, extra: { status?: number; detail?: unknown } = {}) {
    super(message);
    this.name = 'SwitchboardError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.detail !== undefined) this.detail = extra.detail;
  }
}

export function isSwitchboardError(err: unknown, code?: string): err is SwitchboardError {
  return err instanceof SwitchboardError && (code === undefined || err.code === code);
}

function codeForStatus(status: number): string {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'too_large';
    case 422:
      return 'invalid_payload';
    case 429:
      return 'rate_limited';
    default:
      return 'http_error';
  }
}

function messageFromDetail(detail: unknown, fallback: string): string {
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail)) {
    // FastAPI-style validation errors: [{loc, msg, type}, ...]
    const msgs = detail
      .map((d) => (d && typeof d === 'object' && 'msg' in d ? String((d as { msg: unknown }).msg) : null))
      .filter((m): m is string => !!m);
    if (msgs.length) return msgs.join('; ');
  }
  if (detail && typeof detail === 'object') {
    const d = detail as { message?: unknown; code?: unknown };
    if (typeof d.message === 'string') return d.message;
    if (typeof d.code === 'string') return d.code;
  }
  return fallback;
}

// ---------------------------------------------------------------- options & public types

export interface SwitchboardOptions {
  /** Origin (and optional path prefix) of the Switchboard server; '' or omitted = same origin as the page. */
  baseUrl?: string;
  /** Connect both sockets as soon as login/register/restore succeeds (default true). */
  autoConnect?: boolean;
  /** How long to wait for an ack before failing with `timeout` (default 10 000 ms). */
  ackTimeoutMs?: number;
  /** Refresh the JWT this long before its `exp` (default: 20% of its lifetime, between 1 s and 60 s). */
  refreshMarginMs?: number;
  /** First delay before reconnecting a socket the server disconnected (default 1000 ms, doubling up to 10 s). */
  serverDisconnectRetryMs?: number;
  /** Also send the token in the Socket.IO CONNECT payload (`auth: {token}`) besides the cookie (default true). */
  sendTokenInHandshake?: boolean;
  /** Socket.IO path (default `/socket.io/`). */
  socketPath?: string;
  /** Extra Socket.IO Manager options (reconnection delays, transports, ...). */
  managerOptions?: Partial<ManagerOptions>;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Called when one of your listeners throws (default: console.error); the other listeners still run. */
  onListenerError?: (error: unknown) => void;
}

export interface Credentials {
  email: string;
  password: string;
}

export interface RegisterInput extends Credentials {
  name: string;
}

export interface SendMessageOptions {
  /** Idempotency key; generated when omitted. A retry with the same key stores one message. */
  clientMsgId?: string;
  /** Ack timeout for each attempt (default: the client's ackTimeoutMs). */
  timeoutMs?: number;
  /** Retries after `timeout`, `disconnected` or `rate_limited` (default 2); safe thanks to clientMsgId. */
  retries?: number;
}

export interface MessagesPage {
  /** Load messages older than this message id. */
  before?: string;
  /** Page size (server default 50). */
  limit?: number;
}

export interface NotificationsQuery {
  unreadOnly?: boolean;
  limit?: number;
}

/** Why the session ended without a logout: `unauthorized` (a refused request or socket) or `token_expired`. */
export type AuthError = 'unauthorized' | 'token_expired';

/** Immutable view of the client, replaced on every change (fit for React's useSyncExternalStore). */
export interface SwitchboardSnapshot {
  user: User | null;
  connectionState: ConnectionState;
  /** True when the state is `connected` or `recovered`. */
  isConnected: boolean;
  chatSocket: ChatSocket | null;
  notifSocket: NotificationsSocket | null;
  /** Set when the session ended without a logout (token expired or refused); cleared by the next login. */
  authError: AuthError | null;
  /**
   * While reconnecting: when (ms since the epoch) the next attempt is due, and
   * how many attempts failed since the drop; null otherwise.
   */
  retry: RetrySchedule | null;
}

export interface RetrySchedule {
  at: number;
  failedAttempts: number;
}

export type ConnectionStateListener = (state: ConnectionState, previous: ConnectionState) => void;

export interface SwitchboardClient {
  readonly baseUrl: string;
  /** The logged-in user, or null. */
  readonly user: User | null;
  /** The current JWT (from login/register/refresh), or null. */
  readonly token: string | null;
  readonly connectionState: ConnectionState;
  readonly isConnected: boolean;
  /**
   * Server clock minus this device's clock (ms), learnt from the Date header of
   * HTTP answers (±0.5 s; 0 before the first). Lets a page compare the server's
   * `created_at` times with local ones.
   */
  readonly serverClockOffsetMs: number;
  readonly chatSocket: ChatSocket | null;
  readonly notifSocket: NotificationsSocket | null;

  // auth
  register(input: RegisterInput): Promise<User>;
  login(credentials: Credentials): Promise<User>;
  /** Disconnects both sockets at once, then tells the server (cookie cleared). */
  logout(): Promise<void>;
  /** GET /api/auth/me: the cookie's user, or null when not logged in. */
  me(): Promise<User | null>;
  /** POST /api/auth/refresh: a fresh token + cookie, pushed to both sockets with `auth:refresh`. */
  refresh(): Promise<AuthResponse>;
  /** Resumes a session from the cookie (me + refresh to learn the token's expiry); connects when autoConnect. */
  restore(): Promise<User | null>;

  // sockets
  /** Connects `/chat` and `/notifications` (no-op without a user or when already connected). */
  connect(): boolean;
  /** Disconnects both sockets; `connect()` may be called again later. */
  disconnect(): void;
  /** Disconnects and stops the refresh timer. The client stays usable. */
  dispose(): void;

  // observation
  subscribe(listener: ConnectionStateListener): () => void;
  getSnapshot(): SwitchboardSnapshot;
  subscribeSnapshot(listener: () => void): () => void;
  /** Listens to a `/chat` event; gets only the first argument (never the recovery offset). Survives reconnects and re-logins. */
  onChat<E extends ChatEventName>(event: E, listener: (payload: ChatEventPayload<E>) => void): () => void;
  /** Listens to a `/notifications` event, like onChat. */
  onNotification<E extends NotificationsEventName>(
    event: E,
    listener: (payload: NotificationsEventPayload<E>) => void,
  ): () => void;

  // socket helpers
  sendMessage(conversationId: number, body: string, options?: SendMessageOptions): Promise<Message>;
  /** Volatile: dropped when not connected. Returns whether it was sent. */
  typing(conversationId: number, typing: boolean): boolean;
  /** Returns false when there is no chat socket. Buffered while reconnecting. */
  markRead(conversationId: number, messageId: string): boolean;
  joinConversation(conversationId: number): Promise<void>;
  queryPresence(userIds: number[]): Promise<OnlineMap>;
  /** Resolves with the new unread count. */
  markNotificationRead(id: string): Promise<number>;

  // REST helpers
  searchUsers(q?: string): Promise<User[]>;
  /** GET /api/users?ids=: the users with these ids (at most 500), e.g. to name members. */
  getUsers(ids: number[]): Promise<User[]>;
  listConversations(): Promise<ConversationSummary[]>;
  createConversation(memberIds: number[], title?: string | null): Promise<Conversation>;
  getMessages(conversationId: number, page?: MessagesPage): Promise<Message[]>;
  postMessage(conversationId: number, body: string, clientMsgId?: string): Promise<Message>;
  getPresence(userIds: number[]): Promise<OnlineMap>;
  listNotifications(query?: NotificationsQuery): Promise<NotificationsResponse>;
  readNotification(id: string): Promise<NotificationReadResponse>;
  /** Resolves with the new unread count (0). */
  readAllNotifications(): Promise<number>;

  // SPEC extensions (docs/chat.md)
  /** GET /api/config: public limits such as the longest message. */
  getConfig(): Promise<ChatConfig>;
  /** Every member's last read message in a conversation. */
  getReadMarks(conversationId: number): Promise<ReadMark[]>;
  /** Messages containing `q`, newest first; pass the last id of a page as `before` for the next. */
  searchMessages(conversationId: number, q: string, page?: MessagesPage): Promise<Message[]>;
  /** Sets (or clears, with null) a conversation's title. */
  renameConversation(conversationId: number, title: string | null): Promise<Conversation>;
  leaveConversation(conversationId: number): Promise<void>;
}

// ---------------------------------------------------------------- internals

type TrackStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'refused';

interface Track {
  // Internally the sockets are handled untyped; the public getters give typed views.
  socket: Socket;
  listeners: Map<string, Set<(payload: unknown) => void>>;
  status: TrackStatus;
  everConnected: boolean;
  lastConnectWasReconnect: boolean;
  recovered: boolean;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  retryDelay: number;
  authRetried: boolean;
  expired: boolean;
}

interface Session {
  manager: Manager;
  chat: Track;
  notifications: Track;
  stopped: boolean;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

export function newClientMsgId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  let s = '';
  for (let i = 0; i < 32; i += 1) s += Math.floor(Math.random() * 16).toString(16);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates a Switchboard client. Nothing is fetched or connected until a method is called. */
export function createSwitchboard(options: SwitchboardOptions = {}): SwitchboardClient {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const autoConnect = options.autoConnect ?? true;
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  const serverRetryBase = options.serverDisconnectRetryMs ?? 1000;
  const sendTokenInHandshake = options.sendTokenInHandshake ?? true;
  const socketPath = options.socketPath ?? '/socket.io/';
  const reportListenerError =
    options.onListenerError ??
    ((err: unknown) => {
      console.error('[switchboard] listener failed:', err);
    });
  const fetchImpl: typeof fetch | undefined = options.fetch ?? (typeof fetch === 'function' ? fetch.bind(globalThis) : undefined);

  let user: User | null = null;
  let token: string | null = null;
  let authError: AuthError | null = null;
  let session: Session | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let refreshing: Promise<AuthResponse> | null = null;
  let connectionState: ConnectionState = 'disconnected';
  // When the next reconnection attempt is due, for "offline, retrying in Ns".
  let retryAt: number | null = null;
  let failedAttempts = 0;

  const chatListeners = new Map<string, Set<(payload: unknown) => void>>();
  const notifListeners = new Map<string, Set<(payload: unknown) => void>>();
  const stateListeners = new Set<ConnectionStateListener>();
  const snapshotListeners = new Set<() => void>();

  let snapshot: SwitchboardSnapshot = buildSnapshot();

  // ------------------------------------------------------------ snapshot & state

  function buildSnapshot(): SwitchboardSnapshot {
    return {
      user,
      connectionState,
      isConnected: connectionState === 'connected' || connectionState === 'recovered',
      chatSocket: (session?.chat.socket as ChatSocket | undefined) ?? null,
      notifSocket: (session?.notifications.socket as NotificationsSocket | undefined) ?? null,
      authError,
      retry: connectionState === 'reconnecting' && retryAt !== null ? { at: retryAt, failedAttempts } : null,
    };
  }

  function computeState(): ConnectionState {
    if (!session || session.stopped) return 'disconnected';
    const tracks = [session.chat, session.notifications];
    if (tracks.some((t) => t.status === 'refused' || t.status === 'idle')) return 'disconnected';
    if (tracks.some((t) => t.status === 'reconnecting')) return 'reconnecting';
    if (tracks.some((t) => t.status === 'connecting')) return 'connecting';
    const reconnected = tracks.filter((t) => t.lastConnectWasReconnect);
    if (reconnected.length === 0) return 'connected';
    return reconnected.every((t) => t.recovered) ? 'recovered' : 'connected';
  }

  function update(): void {
    const previous = connectionState;
    connectionState = computeState();
    const next = buildSnapshot();
    const changed =
      next.user !== snapshot.user ||
      next.connectionState !== snapshot.connectionState ||
      next.chatSocket !== snapshot.chatSocket ||
      next.notifSocket !== snapshot.notifSocket ||
      next.authError !== snapshot.authError ||
      next.retry?.at !== snapshot.retry?.at ||
      next.retry?.failedAttempts !== snapshot.retry?.failedAttempts;
    if (changed) snapshot = next;
    if (previous !== connectionState) {
      for (const l of [...stateListeners]) {
        try {
          l(connectionState, previous);
        } catch (err) {
          reportListenerError(err);
        }
      }
    }
    if (changed) {
      for (const l of [...snapshotListeners]) {
        try {
          l();
        } catch (err) {
          reportListenerError(err);
        }
      }
    }
  }

  // ------------------------------------------------------------ HTTP

  let serverClockOffsetMs = 0;

  function learnServerClock(res: Response): void {
    // The Date header has whole seconds: +500 ms centres the estimate.
    const header = typeof res.headers?.get === 'function' ? res.headers.get('date') : null;
    const server = header ? Date.parse(header) : Number.NaN;
    if (!Number.isNaN(server)) serverClockOffsetMs = server + 500 - Date.now();
  }

  interface RequestOptions {
    body?: unknown;
    query?: Record<string, string | number | boolean | undefined>;
    /** A 401 here means the session is gone (not for the auth routes themselves). */
    sessionRoute?: boolean;
  }

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (!fetchImpl) throw new SwitchboardError('network_error', 'no fetch implementation available');
    let url = `${baseUrl}${path}`;
    if (opts.query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method, credentials: 'include', headers };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await fetchImpl(url, init);
    } catch (err) {
      throw new SwitchboardError('network_error', `${method} ${path} failed: ${String(err)}`, { detail: err });
    }
    learnServerClock(res);
    const text = res.status === 204 ? '' : await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!res.ok) {
      const detail =
        data && typeof data === 'object' && !Array.isArray(data) && 'detail' in data
          ? (data as { detail: unknown }).detail
          : data;
      const err = new SwitchboardError(
        codeForStatus(res.status),
        messageFromDetail(detail, `${method} ${path}: HTTP ${res.status}`),
        { status: res.status, detail },
      );
      if (res.status === 401 && opts.sessionRoute && user) sessionLost('unauthorized');
      throw err;
    }
    return data as T;
  }

  // ------------------------------------------------------------ auth state

  function setAuth(nextUser: User, nextToken: string | null): void {
    user = nextUser;
    if (nextToken) token = nextToken;
    authError = null;
    armRefreshTimer();
  }

  function clearAuth(): void {
    user = null;
    token = null;
    if (refreshTimer !== undefined) clearTimeout(refreshTimer);
    refreshTimer = undefined;
  }

  function sessionLost(reason: AuthError): void {
    if (!user && !session) return;
    teardownSession();
    clearAuth();
    authError = reason;
    update();
  }

  function armRefreshTimer(): void {
    if (refreshTimer !== undefined) clearTimeout(refreshTimer);
    refreshTimer = undefined;
    if (!token || !user) return;
    const claims = decodeJwt(token);
    if (!claims || typeof claims.exp !== 'number') return;
    const expMs = claims.exp * 1000;
    const now = Date.now();
    const iatMs = typeof claims.iat === 'number' ? claims.iat * 1000 : now;
    const lifetime = Math.max(0, expMs - iatMs);
    const margin = options.refreshMarginMs ?? clamp(lifetime * 0.2, 1000, 60_000);
    const delay = clamp(expMs - margin - now, 0, MAX_TIMEOUT);
    const armedFor = token;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void onRefreshDue(armedFor, expMs);
    }, delay);
  }

  async function onRefreshDue(armedFor: string, expMs: number): Promise<void> {
    if (token !== armedFor || !user) return;
    try {
      await refresh();
    } catch (err) {
      if (isSwitchboardError(err, 'unauthorized')) {
        sessionLost('token_expired');
      } else if (Date.now() < expMs && token === armedFor) {
        // Network trouble: try again shortly while the token is still valid.
        refreshTimer = setTimeout(() => {
          refreshTimer = undefined;
          void onRefreshDue(armedFor, expMs);
        }, clamp((expMs - Date.now()) / 2, 500, 5000));
      }
    }
  }

  async function pushTokenToSockets(fresh: string): Promise<void> {
    if (!session) return;
    const sockets = [session.chat.socket, session.notifications.socket].filter((s) => s.connected);
    await Promise.allSettled(sockets.map((s) => ackEmit(s, 'auth:refresh', { token: fresh })));
  }

  // ------------------------------------------------------------ acks

  function ackEmit<T extends object>(
    socket: Socket,
    event: string,
    payload: unknown,
    timeoutMs: number = ackTimeoutMs,
  ): Promise<AckOk<T>> {
    return new Promise<AckOk<T>>((resolve, reject) => {
      socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, res: Ack<T> | undefined) => {
        if (err) {
          const dropped = /disconnect/i.test(err.message);
          reject(
            new SwitchboardError(
              dropped ? 'disconnected' : 'timeout',
              dropped
                ? `${event}: the socket disconnected before the acknowledgement`
                : `${event}: no acknowledgement within ${timeoutMs} ms`,
            ),
          );
          return;
        }
        if (!res || typeof res !== 'object' || typeof (res as { ok?: unknown }).ok !== 'boolean') {
          reject(new SwitchboardError('invalid_ack', `${event}: unexpected acknowledgement`, { detail: res }));
          return;
        }
        if (res.ok) {
          resolve(res);
          return;
        }
        const error = (res as { error?: { code?: unknown; message?: unknown } }).error ?? {};
        const code = typeof error.code === 'string' ? error.code : 'internal';
        const message = typeof error.message === 'string' && error.message ? error.message : `${event} failed: ${code}`;
        reject(new SwitchboardError(code, message, { detail: error }));
      });
    });
  }

  function requireSocket(which: 'chat' | 'notifications'): Socket {
    if (!session || session.stopped) {
      throw new SwitchboardError('not_connected', `the /${which} socket is not connected (log in and connect first)`);
    }
    return session[which].socket;
  }

  // ------------------------------------------------------------ sockets

  function socketOrigin(): string {
    if (baseUrl) return baseUrl;
    if (typeof location !== 'undefined' && location.origin && location.origin !== 'null') return location.origin;
    return 'http://localhost';
  }

  function makeTrack(manager: Manager, nsp: string, listeners: Track['listeners']): Track {
    const socket = manager.socket(nsp, {
      auth: (cb: (data: object) => void) => cb(sendTokenInHandshake && token ? { token } : {}),
    });
    return {
      socket,
      listeners,
      status: 'idle',
      everConnected: false,
      lastConnectWasReconnect: false,
      recovered: false,
      retryTimer: undefined,
      retryDelay: serverRetryBase,
      authRetried: false,
      expired: false,
    };
  }

  function dispatch(listeners: Track['listeners'], event: string, payload: unknown): void {
    const set = listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(payload);
      } catch (err) {
        reportListenerError(err);
      }
    }
  }

  function attach(owner: Session, track: Track): void {
    const s = track.socket;
    const current = () => session === owner && !owner.stopped;

    s.on('connect', () => {
      if (track.retryTimer !== undefined) clearTimeout(track.retryTimer);
      track.retryTimer = undefined;
      track.lastConnectWasReconnect = track.everConnected;
      track.everConnected = true;
      track.recovered = s.recovered === true;
      track.status = 'connected';
      track.retryDelay = serverRetryBase;
      track.authRetried = false;
      track.expired = false;
      if (current()) {
        if ([owner.chat, owner.notifications].every((t) => t.status === 'connected')) {
          retryAt = null;
          failedAttempts = 0;
        }
        update();
      }
    });

    s.on('disconnect', (reason: string) => {
      if (!current()) {
        track.status = 'idle';
        return;
      }
      track.status = 'reconnecting';
      // The server closed this namespace (expired token, slow consumer, ...):
      // socket.io-client will not retry by itself, so we do.
      if (!s.active && reason !== 'io client disconnect') scheduleManualReconnect(owner, track);
      update();
    });

    s.on('connect_error', (err: Error & { data?: { code?: unknown } }) => {
      if (!current()) return;
      if (s.active) {
        // Transport-level failure: the Manager keeps retrying.
        track.status = track.everConnected ? 'reconnecting' : 'connecting';
        update();
        return;
      }
      // Refused by the server (CONNECT_ERROR packet): socket.io-client gives up.
      const code = err.data && typeof err.data.code === 'string' ? err.data.code : undefined;
      if (err.message === 'unauthorized' || code) {
        if (!track.authRetried) {
          track.authRetried = true;
          track.status = track.everConnected ? 'reconnecting' : 'connecting';
          update();
          refresh().then(
            () => {
              if (current()) s.connect();
            },
            (refreshErr: unknown) => {
              if (!current()) return;
              if (isSwitchboardError(refreshErr, 'unauthorized')) {
                sessionLost(code === 'token_expired' ? 'token_expired' : 'unauthorized');
              } else {
                scheduleManualReconnect(owner, track);
              }
            },
          );
          return;
        }
        sessionLost(code === 'token_expired' ? 'token_expired' : 'unauthorized');
        return;
      }
      track.status = 'refused';
      update();
    });

    s.on('auth:expired', () => {
      track.expired = true;
    });

    s.onAny((event: string, ...args: unknown[]) => {
      // A torn-down session's socket (previous login) must not reach the listeners.
      if (session !== owner) return;
      dispatch(track.listeners, event, args[0]);
    });
  }

  function scheduleManualReconnect(owner: Session, track: Track): void {
    if (track.retryTimer !== undefined) clearTimeout(track.retryTimer);
    const delay = track.retryDelay;
    track.retryDelay = Math.min(track.retryDelay * 2, 10_000);
    retryAt = Date.now() + delay;
    track.retryTimer = setTimeout(() => {
      track.retryTimer = undefined;
      void (async () => {
        if (session !== owner || owner.stopped || !user) return;
        const claims = token ? decodeJwt(token) : null;
        const tokenExpired = !!claims && typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now();
        if (track.expired || tokenExpired) {
          try {
            await refresh();
          } catch (err) {
            if (session !== owner || owner.stopped) return;
            if (isSwitchboardError(err, 'unauthorized')) sessionLost('token_expired');
            else scheduleManualReconnect(owner, track);
            return;
          }
        }
        if (session === owner && !owner.stopped && !track.socket.connected && !track.socket.active) {
          track.socket.connect();
        }
      })();
    }, delay);
  }

  function watchRetries(owner: Session): void {
    const manager = owner.manager;
    // socket.io-client picks each delay (exponential, with jitter) inside its
    // Backoff and does not report it; wrapping `duration()` is the only way to
    // learn the exact time of the next attempt. Without it (a future version),
    // the schedule is simply unknown and the page says "reconnecting".
    const backoff = (manager as unknown as { backoff?: { duration?: () => number } }).backoff;
    if (backoff && typeof backoff.duration === 'function') {
      const duration = backoff.duration.bind(backoff);
      backoff.duration = () => {
        const ms = duration();
        if (session === owner) {
          retryAt = Date.now() + ms;
          update();
        }
        return ms;
      };
    }
    manager.on('reconnect_error', () => {
      if (session !== owner) return;
      failedAttempts += 1;
      update();
    });
  }

  function createSession(): Session {
    const manager = new Manager(socketOrigin(), {
      path: socketPath,
      withCredentials: true,
      autoConnect: false,
      ...options.managerOptions,
    });
    const owner: Session = {
      manager,
      chat: makeTrack(manager, '/chat', chatListeners),
      notifications: makeTrack(manager, '/notifications', notifListeners),
      stopped: true,
    };
    attach(owner, owner.chat);
    attach(owner, owner.notifications);
    watchRetries(owner);
    return owner;
  }

  function stopTracks(owner: Session): void {
    owner.stopped = true;
    for (const t of [owner.chat, owner.notifications]) {
      if (t.retryTimer !== undefined) clearTimeout(t.retryTimer);
      t.retryTimer = undefined;
      t.socket.disconnect();
      t.status = 'idle';
    }
  }

  function teardownSession(): void {
    if (!session) return;
    const owner = session;
    stopTracks(owner);
    session = null;
  }

  function connect(): boolean {
    if (!user) return false;
    if (!session) session = createSession();
    const owner = session;
    owner.stopped = false;
    for (const t of [owner.chat, owner.notifications]) {
      if (t.socket.connected) {
        t.status = 'connected';
        continue;
      }
      if (t.socket.active) continue;
      t.status = t.everConnected ? 'reconnecting' : 'connecting';
      t.authRetried = false;
      t.socket.connect();
    }
    if (refreshTimer === undefined) armRefreshTimer();
    update();
    return true;
  }

  function disconnect(): void {
    if (!session) return;
    stopTracks(session);
    update();
  }

  // ------------------------------------------------------------ auth calls

  async function afterAuth(res: AuthResponse): Promise<User> {
    if (session) teardownSession(); // never reuse another user's sockets
    setAuth(res.user, res.token);
    if (autoConnect) connect();
    update();
    return res.user;
  }

  async function register(input: RegisterInput): Promise<User> {
    const res = await request<AuthResponse>('POST', '/api/auth/register', { body: input });
    return afterAuth(res);
  }

  async function login(credentials: Credentials): Promise<User> {
    const res = await request<AuthResponse>('POST', '/api/auth/login', { body: credentials });
    return afterAuth(res);
  }

  async function logout(): Promise<void> {
    teardownSession();
    clearAuth();
    authError = null;
    update();
    await request<void>('POST', '/api/auth/logout');
  }

  async function me(): Promise<User | null> {
    try {
      const res = await request<MeResponse>('GET', '/api/auth/me');
      if (user && user.id !== res.user.id) {
        // Another user logged in elsewhere in this browser: drop the old sockets and token.
        teardownSession();
        token = null;
      }
      setAuth(res.user, res.token ?? null);
      update();
      return res.user;
    } catch (err) {
      if (isSwitchboardError(err, 'unauthorized')) {
        if (user) sessionLost('unauthorized');
        return null;
      }
      throw err;
    }
  }

  function refresh(): Promise<AuthResponse> {
    if (refreshing) return refreshing;
    const p = (async () => {
      try {
        const res = await request<AuthResponse>('POST', '/api/auth/refresh');
        if (user && user.id !== res.user.id) teardownSession();
        setAuth(res.user, res.token);
        update();
        // Not awaited: a socket that never acks must not hold up the caller.
        void pushTokenToSockets(res.token);
        return res;
      } finally {
        refreshing = null;
      }
    })();
    refreshing = p;
    return p;
  }

  let restoring: Promise<User | null> | null = null;

  function restore(): Promise<User | null> {
    // Concurrent callers (e.g. React StrictMode's double effects) share one round trip.
    if (restoring) return restoring;
    const p = doRestore().finally(() => {
      restoring = null;
    });
    restoring = p;
    return p;
  }

  async function doRestore(): Promise<User | null> {
    const u = await me();
    if (!u) return null;
    if (!token) {
      try {
        await refresh();
      } catch (err) {
        if (isSwitchboardError(err, 'unauthorized')) {
          sessionLost('unauthorized');
          return null;
        }
        // Without a token we cannot schedule refreshes, but the cookie still works.
      }
    }
    if (!user) return null;
    if (autoConnect) connect();
    return user;
  }

  // ------------------------------------------------------------ listeners

  function addListener(
    map: Map<string, Set<(payload: unknown) => void>>,
    event: string,
    listener: (payload: unknown) => void,
  ): () => void {
    let set = map.get(event);
    if (!set) {
      set = new Set();
      map.set(event, set);
    }
    set.add(listener);
    return () => {
      const s = map.get(event);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) map.delete(event);
    };
  }

  // ------------------------------------------------------------ socket helpers

  async function sendMessage(conversationId: number, body: string, opts: SendMessageOptions = {}): Promise<Message> {
    const clientMsgId = opts.clientMsgId ?? newClientMsgId();
    const retries = opts.retries ?? 2;
    const payload = { conversation_id: conversationId, body, client_msg_id: clientMsgId };
    for (let attempt = 0; ; attempt += 1) {
      const socket = requireSocket('chat');
      try {
        const res = await ackEmit<{ message: Message }>(socket, 'message:send', payload, opts.timeoutMs);
        return res.message;
      } catch (err) {
        const transient =
          isSwitchboardError(err) && ['timeout', 'disconnected', 'rate_limited'].includes(err.code);
        if (!transient || attempt >= retries) throw err;
        await sleep(isSwitchboardError(err, 'rate_limited') ? 1000 : 200 * (attempt + 1));
      }
    }
  }

  function typing(conversationId: number, isTyping: boolean): boolean {
    if (!session || session.stopped || !session.chat.socket.connected) return false;
    session.chat.socket.volatile.emit('typing', { conversation_id: conversationId, typing: isTyping });
    return true;
  }

  function markRead(conversationId: number, messageId: string): boolean {
    if (!session || session.stopped) return false;
    session.chat.socket.emit('message:read', { conversation_id: conversationId, message_id: messageId });
    return true;
  }

  async function joinConversation(conversationId: number): Promise<void> {
    await ackEmit(requireSocket('chat'), 'conversation:join', { conversation_id: conversationId });
  }

  async function queryPresence(userIds: number[]): Promise<OnlineMap> {
    const res = await ackEmit<{ online: OnlineMap }>(requireSocket('chat'), 'presence:query', { user_ids: userIds });
    return res.online;
  }

  async function markNotificationRead(id: string): Promise<number> {
    const res = await ackEmit<{ unread_count: number }>(requireSocket('notifications'), 'notification:read', { id });
    return res.unread_count;
  }

  // ------------------------------------------------------------ REST helpers

  async function searchUsers(q = ''): Promise<User[]> {
    const res = await request<UsersResponse>('GET', '/api/users', { query: { q }, sessionRoute: true });
    return res.users;
  }

  async function getUsers(ids: number[]): Promise<User[]> {
    if (ids.length === 0) return [];
    const query = { ids: ids.slice(0, 500).join(',') };
    const res = await request<UsersResponse>('GET', '/api/users', { query, sessionRoute: true });
    return res.users;
  }

  async function listConversations(): Promise<ConversationSummary[]> {
    const res = await request<ConversationsResponse>('GET', '/api/conversations', { sessionRoute: true });
    return res.conversations;
  }

  async function createConversation(memberIds: number[], title?: string | null): Promise<Conversation> {
    const body: { member_ids: number[]; title?: string } = { member_ids: memberIds };
    if (title) body.title = title;
    const res = await request<ConversationResponse>('POST', '/api/conversations', { body, sessionRoute: true });
    return res.conversation;
  }

  async function getMessages(conversationId: number, page: MessagesPage = {}): Promise<Message[]> {
    const res = await request<MessagesResponse>('GET', `/api/conversations/${encodeURIComponent(conversationId)}/messages`, {
      query: { before: page.before, limit: page.limit },
      sessionRoute: true,
    });
    return res.messages;
  }

  async function postMessage(conversationId: number, body: string, clientMsgId?: string): Promise<Message> {
    const payload: { body: string; client_msg_id?: string } = { body };
    if (clientMsgId) payload.client_msg_id = clientMsgId;
    const res = await request<MessageResponse>('POST', `/api/conversations/${encodeURIComponent(conversationId)}/messages`, {
      body: payload,
      sessionRoute: true,
    });
    return res.message;
  }

  async function getPresence(userIds: number[]): Promise<OnlineMap> {
    if (userIds.length === 0) return {};
    const res = await request<PresenceResponse>('GET', '/api/presence', {
      query: { user_ids: userIds.join(',') },
      sessionRoute: true,
    });
    return res.online;
  }

  async function listNotifications(query: NotificationsQuery = {}): Promise<NotificationsResponse> {
    return request<NotificationsResponse>('GET', '/api/notifications', {
      query: { unread_only: query.unreadOnly, limit: query.limit },
      sessionRoute: true,
    });
  }

  async function readNotification(id: string): Promise<NotificationReadResponse> {
    return request<NotificationReadResponse>('POST', `/api/notifications/${encodeURIComponent(id)}/read`, {
      sessionRoute: true,
    });
  }

  async function readAllNotifications(): Promise<number> {
    const res = await request<UnreadCountResponse>('POST', '/api/notifications/read-all', { sessionRoute: true });
    return res.unread_count;
  }

  async function getConfig(): Promise<ChatConfig> {
    const res = await request<ConfigResponse>('GET', '/api/config');
    return res.chat;
  }

  function conversationPath(conversationId: number, rest = ''): string {
    return `/api/conversations/${encodeURIComponent(conversationId)}${rest}`;
  }

  async function getReadMarks(conversationId: number): Promise<ReadMark[]> {
    const res = await request<ReadMarksResponse>('GET', conversationPath(conversationId, '/reads'), {
      sessionRoute: true,
    });
    return res.reads;
  }

  async function searchMessages(conversationId: number, q: string, page: MessagesPage = {}): Promise<Message[]> {
    const res = await request<MessagesResponse>('GET', conversationPath(conversationId, '/search'), {
      query: { q, before: page.before, limit: page.limit },
      sessionRoute: true,
    });
    return res.messages;
  }

  async function renameConversation(conversationId: number, title: string | null): Promise<Conversation> {
    const res = await request<ConversationResponse>('PATCH', conversationPath(conversationId), {
      body: { title },
      sessionRoute: true,
    });
    return res.conversation;
  }

  async function leaveConversation(conversationId: number): Promise<void> {
    await request<void>('POST', conversationPath(conversationId, '/leave'), { sessionRoute: true });
  }

  // ------------------------------------------------------------ the object

  const client: SwitchboardClient = {
    baseUrl,
    get user() {
      return user;
    },
    get token() {
      return token;
    },
    get connectionState() {
      return connectionState;
    },
    get serverClockOffsetMs() {
      return serverClockOffsetMs;
    },
    get isConnected() {
      return connectionState === 'connected' || connectionState === 'recovered';
    },
    get chatSocket() {
      return (session?.chat.socket as ChatSocket | undefined) ?? null;
    },
    get notifSocket() {
      return (session?.notifications.socket as NotificationsSocket | undefined) ?? null;
    },
    register,
    login,
    logout,
    me,
    refresh,
    restore,
    connect,
    disconnect,
    dispose() {
      disconnect();
      if (refreshTimer !== undefined) clearTimeout(refreshTimer);
      refreshTimer = undefined;
    },
    subscribe(listener) {
      stateListeners.add(listener);
      return () => {
        stateListeners.delete(listener);
      };
    },
    getSnapshot() {
      return snapshot;
    },
    subscribeSnapshot(listener) {
      snapshotListeners.add(listener);
      return () => {
        snapshotListeners.delete(listener);
      };
    },
    onChat(event, listener) {
      return addListener(chatListeners, event, listener as (payload: unknown) => void);
    },
    onNotification(event, listener) {
      return addListener(notifListeners, event, listener as (payload: unknown) => void);
    },
    sendMessage,
    typing,
    markRead,
    joinConversation,
    queryPresence,
    markNotificationRead,
    searchUsers,
    getUsers,
    listConversations,
    createConversation,
    getMessages,
    postMessage,
    getPresence,
    listNotifications,
    readNotification,
    readAllNotifications,
    getConfig,
    getReadMarks,
    searchMessages,
    renameConversation,
    leaveConversation,
  };
  return client;
}
