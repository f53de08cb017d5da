/**
 * Whether this browser had a session the last time the page ran.
 *
 * The session cookie is HttpOnly, so the page cannot see it. Asking the server
 * (GET /api/auth/me) on every load makes a first visit log a 401 in the
 * console before anyone has done anything; this flag lets the page ask only
 * when there is a session to resume. It holds no secret: the cookie still
 * decides. Without storage (private mode), the page asks as before.
 */
const KEY = 'switchboard:signed-in';

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export function hadSession(): boolean {
  const s = storage();
  if (!s) return true;
  try {
    return s.getItem(KEY) === '1';
  } catch {
    return true;
  }
}

export function rememberSession(signedIn: boolean): void {
  try {
    if (signedIn) storage()?.setItem(KEY, '1');
    else storage()?.removeItem(KEY);
  } catch {
    // Full or blocked storage: the next load asks the server, as without the flag.
  }
}
