/**
 * HTTP to the Switchboard API: one `request` that sends the cookie and the
 * bearer token, learns the server's clock, and turns failures into
 * `SwitchboardError`s.
 */
import type { AuthError } from './client-types';
import type { Context } from './context';
import { codeForStatus, messageFromDetail, SwitchboardError } from './errors';

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** A 401 here means the session is gone (not for the auth routes themselves). */
  sessionRoute?: boolean;
}

export type Request = <T>(method: string, path: string, opts?: RequestOptions) => Promise<T>;

/** `sessionLost` is called on a 401 from a session route while a user is logged in. */
export function createRequest(ctx: Context, sessionLost: (reason: AuthError) => void): Request {
  function learnServerClock(res: Response): void {
    // The Date header has whole seconds: +500 ms centres the estimate.
    const header = typeof res.headers?.get === 'function' ? res.headers.get('date') : null;
    const server = header ? Date.parse(header) : Number.NaN;
    if (!Number.isNaN(server)) ctx.serverClockOffsetMs = server + 500 - Date.now();
  }

  return async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const fetchImpl = ctx.options.fetchImpl;
    if (!fetchImpl) throw new SwitchboardError('network_error', 'no fetch implementation available');
    let url = `${ctx.options.baseUrl}${path}`;
    if (opts.query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (ctx.token) headers.Authorization = `Bearer ${ctx.token}`;
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
      if (res.status === 401 && opts.sessionRoute && ctx.user) sessionLost('unauthorized');
      throw err;
    }
    return data as T;
  };
}
