/** The one error type of the browser client, and how HTTP answers map onto its codes. */

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

export function codeForStatus(status: number): string {
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

export function messageFromDetail(detail: unknown, fallback: string): string {
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
