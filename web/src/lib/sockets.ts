/**
 * The socket lifecycle: one socket.io-client Manager (one Engine.IO
 * connection) carrying `/chat` and `/notifications`, each namespace a
 * "track" with its own status; reconnecting after a server-side disconnect
 * (which socket.io-client does not retry), refreshing the token when the
 * handshake is refused, and the schedule of the Manager's own retries.
 */
import { Manager } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { ackEmit } from './acks';
import type { AuthError } from './client-types';
import type { Context, ListenerMap } from './context';
import { isSwitchboardError } from './errors';
import { decodeJwt } from './jwt';
import { dispatch } from './listeners';
import type { Store } from './store';
import type { AuthResponse } from './types';

type TrackStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'refused';

export interface Track {
  // Internally the sockets are handled untyped; the public getters give typed views.
  socket: Socket;
  listeners: ListenerMap;
  status: TrackStatus;
  everConnected: boolean;
  lastConnectWasReconnect: boolean;
  recovered: boolean;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  retryDelay: number;
  authRetried: boolean;
  expired: boolean;
}

export interface Session {
  manager: Manager;
  chat: Track;
  notifications: Track;
  stopped: boolean;
}

/** What the sockets need from the auth part (bound late: the two call each other). */
export interface AuthHooks {
  refresh(): Promise<AuthResponse>;
  sessionLost(reason: AuthError): void;
  armRefreshTimer(): void;
}

export interface Sockets {
  /** Connects both namespaces (no-op without a user); false when there is no user. */
  connect(): boolean;
  disconnect(): void;
  /** Stops and forgets the session's sockets (a logout, another user). */
  teardownSession(): void;
  /** Hands a refreshed token to the live sockets (`auth:refresh`). */
  pushTokenToSockets(fresh: string): Promise<void>;
}

export function createSockets(ctx: Context, store: Store, auth: AuthHooks): Sockets {
  const { options } = ctx;

  function socketOrigin(): string {
    if (options.baseUrl) return options.baseUrl;
    if (typeof location !== 'undefined' && location.origin && location.origin !== 'null') return location.origin;
    return 'http://localhost';
  }

  function makeTrack(manager: Manager, nsp: string, listeners: ListenerMap): Track {
    const socket = manager.socket(nsp, {
      auth: (cb: (data: object) => void) => cb(options.sendTokenInHandshake && ctx.token ? { token: ctx.token } : {}),
    });
    return {
      socket,
      listeners,
      status: 'idle',
      everConnected: false,
      lastConnectWasReconnect: false,
      recovered: false,
      retryTimer: undefined,
      retryDelay: options.serverRetryBase,
      authRetried: false,
      expired: false,
    };
  }

  function attach(owner: Session, track: Track): void {
    const s = track.socket;
    const current = () => ctx.session === owner && !owner.stopped;

    s.on('connect', () => {
      if (track.retryTimer !== undefined) clearTimeout(track.retryTimer);
      track.retryTimer = undefined;
      track.lastConnectWasReconnect = track.everConnected;
      track.everConnected = true;
      track.recovered = s.recovered === true;
      track.status = 'connected';
      track.retryDelay = options.serverRetryBase;
      track.authRetried = false;
      track.expired = false;
      if (current()) {
        if ([owner.chat, owner.notifications].every((t) => t.status === 'connected')) {
          ctx.retryAt = null;
          ctx.failedAttempts = 0;
        }
        store.update();
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
      store.update();
    });

    s.on('connect_error', (err: Error & { data?: { code?: unknown } }) => {
      if (!current()) return;
      if (s.active) {
        // Transport-level failure: the Manager keeps retrying.
        track.status = track.everConnected ? 'reconnecting' : 'connecting';
        store.update();
        return;
      }
      // Refused by the server (CONNECT_ERROR packet): socket.io-client gives up.
      const code = err.data && typeof err.data.code === 'string' ? err.data.code : undefined;
      if (err.message === 'unauthorized' || code) {
        if (!track.authRetried) {
          track.authRetried = true;
          track.status = track.everConnected ? 'reconnecting' : 'connecting';
          store.update();
          auth.refresh().then(
            () => {
              if (current()) s.connect();
            },
            (refreshErr: unknown) => {
              if (!current()) return;
              if (isSwitchboardError(refreshErr, 'unauthorized')) {
                auth.sessionLost(code === 'token_expired' ? 'token_expired' : 'unauthorized');
              } else {
                scheduleManualReconnect(owner, track);
              }
            },
          );
          return;
        }
        auth.sessionLost(code === 'token_expired' ? 'token_expired' : 'unauthorized');
        return;
      }
      track.status = 'refused';
      store.update();
    });

    s.on('auth:expired', () => {
      track.expired = true;
    });

    s.onAny((event: string, ...args: unknown[]) => {
      // A torn-down session's socket (previous login) must not reach the listeners.
      if (ctx.session !== owner) return;
      dispatch(track.listeners, event, args[0], options.reportListenerError);
    });
  }

  function scheduleManualReconnect(owner: Session, track: Track): void {
    if (track.retryTimer !== undefined) clearTimeout(track.retryTimer);
    const delay = track.retryDelay;
    track.retryDelay = Math.min(track.retryDelay * 2, 10_000);
    ctx.retryAt = Date.now() + delay;
    track.retryTimer = setTimeout(() => {
      track.retryTimer = undefined;
      void (async () => {
        if (ctx.session !== owner || owner.stopped || !ctx.user) return;
        const claims = ctx.token ? decodeJwt(ctx.token) : null;
        const tokenExpired = !!claims && typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now();
        if (track.expired || tokenExpired) {
          try {
            await auth.refresh();
          } catch (err) {
            if (ctx.session !== owner || owner.stopped) return;
            if (isSwitchboardError(err, 'unauthorized')) auth.sessionLost('token_expired');
            else scheduleManualReconnect(owner, track);
            return;
          }
        }
        if (ctx.session === owner && !owner.stopped && !track.socket.connected && !track.socket.active) {
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
        if (ctx.session === owner) {
          ctx.retryAt = Date.now() + ms;
          store.update();
        }
        return ms;
      };
    }
    manager.on('reconnect_error', () => {
      if (ctx.session !== owner) return;
      ctx.failedAttempts += 1;
      store.update();
    });
  }

  function createSession(): Session {
    const manager = new Manager(socketOrigin(), {
      path: options.socketPath,
      withCredentials: true,
      autoConnect: false,
      ...options.managerOptions,
    });
    const owner: Session = {
      manager,
      chat: makeTrack(manager, '/chat', ctx.chatListeners),
      notifications: makeTrack(manager, '/notifications', ctx.notifListeners),
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
    if (!ctx.session) return;
    const owner = ctx.session;
    stopTracks(owner);
    ctx.session = null;
  }

  function connect(): boolean {
    if (!ctx.user) return false;
    if (!ctx.session) ctx.session = createSession();
    const owner = ctx.session;
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
    if (ctx.refreshTimer === undefined) auth.armRefreshTimer();
    store.update();
    return true;
  }

  function disconnect(): void {
    if (!ctx.session) return;
    stopTracks(ctx.session);
    store.update();
  }

  async function pushTokenToSockets(fresh: string): Promise<void> {
    const session = ctx.session;
    if (!session) return;
    const sockets = [session.chat.socket, session.notifications.socket].filter((s) => s.connected);
    await Promise.allSettled(sockets.map((s) => ackEmit(s, 'auth:refresh', { token: fresh }, options.ackTimeoutMs)));
  }

  return { connect, disconnect, teardownSession, pushTokenToSockets };
}
