/**
 * React binding for the Switchboard client.
 *
 *   <SocketProvider baseUrl="">          // or client={createSwitchboard({...})}
 *     <App />
 *   </SocketProvider>
 *
 *   const { chatSocket, notifSocket, isConnected, connectionState, user, client } = useSocket();
 *
 * The provider connects `/chat` and `/notifications` while a user is
 * authenticated and disconnects both on logout and when it unmounts.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { ReactNode } from 'react';
import { createSwitchboard } from './switchboard';
import type {
  AuthError,
  ChatSocket,
  Credentials,
  NotificationsSocket,
  RegisterInput,
  RetrySchedule,
  SwitchboardClient,
  SwitchboardOptions,
} from './switchboard';
import type {
  ChatEventName,
  ChatEventPayload,
  ConnectionState,
  NotificationsEventName,
  NotificationsEventPayload,
  User,
} from './types';

export interface SocketContextValue {
  /** The framework-free client (REST helpers, sendMessage, queryPresence, ...). */
  client: SwitchboardClient;
  chatSocket: ChatSocket | null;
  notifSocket: NotificationsSocket | null;
  /** True when the connection state is `connected` or `recovered`. */
  isConnected: boolean;
  connectionState: ConnectionState;
  /** While reconnecting: when the next attempt is due and how many failed (see SwitchboardSnapshot). */
  retry: RetrySchedule | null;
  user: User | null;
  /** Why the session ended without a logout (expired / refused token), else null. */
  authError: AuthError | null;
  /** False until the provider has tried to resume the session from the cookie. */
  ready: boolean;
  login: (credentials: Credentials) => Promise<User>;
  register: (input: RegisterInput) => Promise<User>;
  logout: () => Promise<void>;
}

interface CommonProps {
  children?: ReactNode;
  /** Resume the session from the `auth_token` cookie on mount (GET /api/auth/me). Default true. */
  restoreSession?: boolean;
}

export type SocketProviderProps = CommonProps &
  (
    | { client: SwitchboardClient; baseUrl?: undefined; options?: undefined }
    | { client?: undefined; baseUrl?: string; options?: Omit<SwitchboardOptions, 'baseUrl'> }
  );

const SocketContext = createContext<SocketContextValue | null>(null);

export function SocketProvider(props: SocketProviderProps): ReactNode {
  const { children, restoreSession = true } = props;
  const baseUrl = props.baseUrl;
  const external = props.client;
  // Options are read once per baseUrl; pass a client for full control.
  const optionsRef = useRef(props.options);
  const owned = useMemo(
    () => (external ? null : createSwitchboard({ ...optionsRef.current, baseUrl: baseUrl ?? '' })),
    [external, baseUrl],
  );
  const client = (external ?? owned) as SwitchboardClient;

  const snap = useSyncExternalStore(client.subscribeSnapshot, client.getSnapshot, client.getSnapshot);
  const [restoredFor, setRestoredFor] = useState<SwitchboardClient | null>(null);
  const ready = !restoreSession || snap.user !== null || restoredFor === client;

  // Resume the session from the cookie once per client.
  useEffect(() => {
    if (!restoreSession || client.user) return undefined;
    let cancelled = false;
    client
      .restore()
      .catch(() => null)
      .finally(() => {
        if (!cancelled) setRestoredFor(client);
      });
    return () => {
      cancelled = true;
    };
  }, [client, restoreSession]);

  // Connect both namespaces while a user is authenticated.
  const userId = snap.user?.id ?? null;
  useEffect(() => {
    if (userId !== null) client.connect();
  }, [client, userId]);

  // Disconnect both on unmount (and when the client is swapped).
  useEffect(
    () => () => {
      if (owned === client) client.dispose();
      else client.disconnect();
    },
    [client, owned],
  );

  const login = useCallback((c: Credentials) => client.login(c), [client]);
  const register = useCallback((i: RegisterInput) => client.register(i), [client]);
  const logout = useCallback(() => client.logout(), [client]);

  const value = useMemo<SocketContextValue>(
    () => ({
      client,
      chatSocket: snap.chatSocket,
      notifSocket: snap.notifSocket,
      isConnected: snap.isConnected,
      connectionState: snap.connectionState,
      retry: snap.retry,
      user: snap.user,
      authError: snap.authError,
      ready,
      login,
      register,
      logout,
    }),
    [client, snap, ready, login, register, logout],
  );

  return <SocketContext.Provider value={value}>{children}</SocketContext.Provider>;
}

/** The provider's value. Throws outside a SocketProvider. */
export function useSocket(): SocketContextValue {
  const value = useContext(SocketContext);
  if (!value) throw new Error('useSocket() must be used inside <SocketProvider>');
  return value;
}

/** Subscribes to a `/chat` event for the component's lifetime; the handler gets the payload only. */
export function useChatEvent<E extends ChatEventName>(
  event: E,
  handler: (payload: ChatEventPayload<E>) => void,
): void {
  const { client } = useSocket();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => client.onChat(event, (payload) => ref.current(payload)), [client, event]);
}

/** Subscribes to a `/notifications` event for the component's lifetime. */
export function useNotificationEvent<E extends NotificationsEventName>(
  event: E,
  handler: (payload: NotificationsEventPayload<E>) => void,
): void {
  const { client } = useSocket();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => client.onNotification(event, (payload) => ref.current(payload)), [client, event]);
}

/** Calls the listener on every connection-state change (state, previous). */
export function useConnectionStateChange(listener: (state: ConnectionState, previous: ConnectionState) => void): void {
  const { client } = useSocket();
  const ref = useRef(listener);
  useEffect(() => {
    ref.current = listener;
  });
  useEffect(() => client.subscribe((state, previous) => ref.current(state, previous)), [client]);
}
