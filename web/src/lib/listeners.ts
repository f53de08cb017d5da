/** Application listeners of socket events, kept per event name across reconnects and re-logins. */
import type { Listener, ListenerMap } from './context';

/** Calls every listener of `event`; one that throws is reported and the others still run. */
export function dispatch(
  listeners: ListenerMap,
  event: string,
  payload: unknown,
  reportListenerError: (error: unknown) => void,
): void {
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

/** Adds a listener; returns the function that removes it. */
export function addListener(map: ListenerMap, event: string, listener: Listener): () => void {
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
