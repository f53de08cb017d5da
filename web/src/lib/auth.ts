/**
 * The session of a user: login, register, logout, me, restore from the
 * cookie, and the token refresh timer (a fresh token before `exp`, pushed to
 * the live sockets). A refused token ends the session with an `authError`.
 */
import type { AuthError, Credentials, RegisterInput } from './client-types';
import type { Context } from './context';
import { isSwitchboardError, SwitchboardError } from './errors';
import type { Request } from './http';
import { decodeJwt } from './jwt';
import type { Sockets } from './sockets';
import type { Store } from './store';
import type { AuthResponse, MeResponse, User } from './types';
import { clamp, MAX_TIMEOUT } from './util';

export interface Auth {
  register(input: RegisterInput): Promise<User>;
  login(credentials: Credentials): Promise<User>;
  logout(): Promise<void>;
  me(): Promise<User | null>;
  refresh(): Promise<AuthResponse>;
  restore(): Promise<User | null>;
  sessionLost(reason: AuthError): void;
  armRefreshTimer(): void;
  /** Stops the refresh timer (dispose). */
  stopRefreshTimer(): void;
}

export function createAuth(ctx: Context, store: Store, request: Request, sockets: Sockets): Auth {
  let refreshing: Promise<AuthResponse> | null = null;
  let restoring: Promise<User | null> | null = null;
  // Bumped whenever the session ends (logout, refused token): an answer to a
  // request sent before then must not bring the session back.
  let sessionEnds = 0;

  function setAuth(nextUser: User, nextToken: string | null): void {
    ctx.user = nextUser;
    if (nextToken) ctx.token = nextToken;
    ctx.authError = null;
    armRefreshTimer();
  }

  function stopRefreshTimer(): void {
    if (ctx.refreshTimer !== undefined) clearTimeout(ctx.refreshTimer);
    ctx.refreshTimer = undefined;
  }

  function clearAuth(): void {
    sessionEnds += 1;
    ctx.user = null;
    ctx.token = null;
    stopRefreshTimer();
  }

  function sessionLost(reason: AuthError): void {
    if (!ctx.user && !ctx.session) return;
    sockets.teardownSession();
    clearAuth();
    ctx.authError = reason;
    store.update();
  }

  function armRefreshTimer(): void {
    stopRefreshTimer();
    const token = ctx.token;
    if (!token || !ctx.user) return;
    const claims = decodeJwt(token);
    if (!claims || typeof claims.exp !== 'number') return;
    const expMs = claims.exp * 1000;
    const now = Date.now();
    const iatMs = typeof claims.iat === 'number' ? claims.iat * 1000 : now;
    const lifetime = Math.max(0, expMs - iatMs);
    const margin = ctx.options.refreshMarginMs ?? clamp(lifetime * 0.2, 1000, 60_000);
    const delay = clamp(expMs - margin - now, 0, MAX_TIMEOUT);
    ctx.refreshTimer = setTimeout(() => {
      ctx.refreshTimer = undefined;
      void onRefreshDue(token, expMs);
    }, delay);
  }

  async function onRefreshDue(armedFor: string, expMs: number): Promise<void> {
    if (ctx.token !== armedFor || !ctx.user) return;
    try {
      await refresh();
    } catch (err) {
      if (isSwitchboardError(err, 'unauthorized')) {
        sessionLost('token_expired');
      } else if (Date.now() < expMs && ctx.token === armedFor) {
        // Network trouble: try again shortly while the token is still valid.
        ctx.refreshTimer = setTimeout(() => {
          ctx.refreshTimer = undefined;
          void onRefreshDue(armedFor, expMs);
        }, clamp((expMs - Date.now()) / 2, 500, 5000));
      }
    }
  }

  async function afterAuth(res: AuthResponse): Promise<User> {
    if (ctx.session) sockets.teardownSession(); // never reuse another user's sockets
    setAuth(res.user, res.token);
    if (ctx.options.autoConnect) sockets.connect();
    store.update();
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
    sockets.teardownSession();
    clearAuth();
    ctx.authError = null;
    store.update();
    // A refresh in flight (a reload restoring the session) sets a new cookie when it
    // answers: log out after it, so that the server revokes and clears that one too.
    if (refreshing) await refreshing.catch(() => undefined);
    await request<void>('POST', '/api/auth/logout');
  }

  async function me(): Promise<User | null> {
    const asked = sessionEnds;
    try {
      const res = await request<MeResponse>('GET', '/api/auth/me');
      if (asked !== sessionEnds) return null; // logged out meanwhile
      if (ctx.user && ctx.user.id !== res.user.id) {
        // Another user logged in elsewhere in this browser: drop the old sockets and token.
        sockets.teardownSession();
        ctx.token = null;
      }
      setAuth(res.user, res.token ?? null);
      store.update();
      return res.user;
    } catch (err) {
      if (isSwitchboardError(err, 'unauthorized')) {
        if (ctx.user) sessionLost('unauthorized');
        return null;
      }
      throw err;
    }
  }

  function refresh(): Promise<AuthResponse> {
    if (refreshing) return refreshing;
    const asked = sessionEnds;
    const p = (async () => {
      try {
        const res = await request<AuthResponse>('POST', '/api/auth/refresh');
        if (asked !== sessionEnds) {
          throw new SwitchboardError('unauthorized', 'the session ended while its token was refreshed');
        }
        if (ctx.user && ctx.user.id !== res.user.id) sockets.teardownSession();
        setAuth(res.user, res.token);
        store.update();
        // Not awaited: a socket that never acks must not hold up the caller.
        void sockets.pushTokenToSockets(res.token);
        return res;
      } finally {
        refreshing = null;
      }
    })();
    refreshing = p;
    return p;
  }

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
    if (!ctx.token) {
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
    if (!ctx.user) return null;
    if (ctx.options.autoConnect) sockets.connect();
    return ctx.user;
  }

  return { register, login, logout, me, refresh, restore, sessionLost, armRefreshTimer, stopRefreshTimer };
}
