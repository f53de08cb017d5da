/**
 * The observable side of a client: the connection state computed from both
 * sockets, the immutable snapshot (for React's useSyncExternalStore) and the
 * listeners told when either changes.
 */
import type { ChatSocket, ConnectionStateListener, NotificationsSocket, SwitchboardSnapshot } from './client-types';
import { isConnectedState } from './context';
import type { Context } from './context';
import type { ConnectionState } from './types';

export interface Store {
  /** Recompute the state and snapshot; tell the listeners what changed. */
  update(): void;
  getSnapshot(): SwitchboardSnapshot;
  subscribe(listener: ConnectionStateListener): () => void;
  subscribeSnapshot(listener: () => void): () => void;
}

export function createStore(ctx: Context): Store {
  const stateListeners = new Set<ConnectionStateListener>();
  const snapshotListeners = new Set<() => void>();
  let snapshot: SwitchboardSnapshot = buildSnapshot();

  function buildSnapshot(): SwitchboardSnapshot {
    const { session, connectionState, retryAt } = ctx;
    return {
      user: ctx.user,
      connectionState,
      isConnected: isConnectedState(connectionState),
      chatSocket: (session?.chat.socket as ChatSocket | undefined) ?? null,
      notifSocket: (session?.notifications.socket as NotificationsSocket | undefined) ?? null,
      authError: ctx.authError,
      retry:
        connectionState === 'reconnecting' && retryAt !== null
          ? { at: retryAt, failedAttempts: ctx.failedAttempts }
          : null,
    };
  }

  function computeState(): ConnectionState {
    const session = ctx.session;
    if (!session || session.stopped) return 'disconnected';
    const tracks = [session.chat, session.notifications];
    if (tracks.some((t) => t.status === 'refused' || t.status === 'idle')) return 'disconnected';
    if (tracks.some((t) => t.status === 'reconnecting')) return 'reconnecting';
    if (tracks.some((t) => t.status === 'connecting')) return 'connecting';
    const reconnected = tracks.filter((t) => t.lastConnectWasReconnect);
    if (reconnected.length === 0) return 'connected';
    return reconnected.every((t) => t.recovered) ? 'recovered' : 'connected';
  }

  function notify(listeners: Iterable<() => void>): void {
    for (const l of [...listeners]) {
      try {
        l();
      } catch (err) {
        ctx.options.reportListenerError(err);
      }
    }
  }

  function update(): void {
    const previous = ctx.connectionState;
    ctx.connectionState = computeState();
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
    // Each listener reads the state when it is called: one may have changed it again.
    if (previous !== ctx.connectionState) notify([...stateListeners].map((l) => () => l(ctx.connectionState, previous)));
    if (changed) notify(snapshotListeners);
  }

  return {
    update,
    getSnapshot: () => snapshot,
    subscribe(listener) {
      stateListeners.add(listener);
      return () => {
        stateListeners.delete(listener);
      };
    },
    subscribeSnapshot(listener) {
      snapshotListeners.add(listener);
      return () => {
        snapshotListeners.delete(listener);
      };
    },
  };
}
