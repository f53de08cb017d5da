/**
 * What the parts of one client share: its resolved options and its mutable
 * state (who is logged in, the sockets' session, the connection state). Each
 * part (`http`, `auth`, `sockets`, `acks`, `store`) reads and writes it; only
 * `store.update()` publishes a change to subscribers.
 */
import type { ManagerOptions } from 'socket.io-client';
import type { AuthError, SwitchboardOptions } from './client-types';
import type { Session } from './sockets';
import type { ConnectionState, User } from './types';

export type Listener = (payload: unknown) => void;
export type ListenerMap = Map<string, Set<Listener>>;

export interface ResolvedOptions {
  baseUrl: string;
  autoConnect: boolean;
  ackTimeoutMs: number;
  refreshMarginMs: number | undefined;
  serverRetryBase: number;
  sendTokenInHandshake: boolean;
  socketPath: string;
  managerOptions: Partial<ManagerOptions> | undefined;
  fetchImpl: typeof fetch | undefined;
  reportListenerError: (error: unknown) => void;
}

export interface Context {
  readonly options: ResolvedOptions;
  user: User | null;
  token: string | null;
  authError: AuthError | null;
  session: Session | null;
  refreshTimer: ReturnType<typeof setTimeout> | undefined;
  connectionState: ConnectionState;
  // When the next reconnection attempt is due, for "offline, retrying in Ns".
  retryAt: number | null;
  failedAttempts: number;
  serverClockOffsetMs: number;
  readonly chatListeners: ListenerMap;
  readonly notifListeners: ListenerMap;
}

export function resolveOptions(options: SwitchboardOptions): ResolvedOptions {
  return {
    baseUrl: (options.baseUrl ?? '').replace(/\/+$/, ''),
    autoConnect: options.autoConnect ?? true,
    ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    refreshMarginMs: options.refreshMarginMs,
    serverRetryBase: options.serverDisconnectRetryMs ?? 1000,
    sendTokenInHandshake: options.sendTokenInHandshake ?? true,
    socketPath: options.socketPath ?? '/socket.io/',
    managerOptions: options.managerOptions,
    fetchImpl: options.fetch ?? (typeof fetch === 'function' ? fetch.bind(globalThis) : undefined),
    reportListenerError:
      options.onListenerError ??
      ((err: unknown) => {
        console.error('[switchboard] listener failed:', err);
      }),
  };
}

export function createContext(options: SwitchboardOptions): Context {
  return {
    options: resolveOptions(options),
    user: null,
    token: null,
    authError: null,
    session: null,
    refreshTimer: undefined,
    connectionState: 'disconnected',
    retryAt: null,
    failedAttempts: 0,
    serverClockOffsetMs: 0,
    chatListeners: new Map(),
    notifListeners: new Map(),
  };
}

export function isConnectedState(state: ConnectionState): boolean {
  return state === 'connected' || state === 'recovered';
}
