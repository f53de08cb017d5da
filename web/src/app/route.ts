/**
 * The open conversation lives in the URL's hash (`#/c/42`): a reload keeps it,
 * the link can be shared, and back/forward move between conversations. The
 * hash needs nothing from the server, which serves the page at `/` only.
 */
import { useCallback, useEffect, useState } from 'react';

export function conversationFromHash(hash: string): number | null {
  const m = /^#\/c\/(\d{1,15})$/.exec(hash);
  if (!m) return null;
  const id = Number(m[1]);
  return id >= 1 ? id : null;
}

export function hashFor(conversationId: number | null): string {
  return conversationId === null ? '#/' : `#/c/${conversationId}`;
}

export interface NavigateOptions {
  /** Replace the current history entry instead of adding one (e.g. a link to a conversation that is gone). */
  replace?: boolean;
}

export function useConversationRoute(): [number | null, (cid: number | null, options?: NavigateOptions) => void] {
  const [active, setActive] = useState<number | null>(() => conversationFromHash(location.hash));
  useEffect(() => {
    const onChange = () => setActive(conversationFromHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const navigate = useCallback((cid: number | null, options: NavigateOptions = {}) => {
    const hash = hashFor(cid);
    if (location.hash === hash || (cid === null && location.hash === '')) {
      setActive(cid);
      return;
    }
    if (options.replace) {
      history.replaceState(history.state, '', hash);
      setActive(cid);
    } else {
      location.hash = hash; // a new history entry; hashchange updates the state
    }
  }, []);
  return [active, navigate];
}
