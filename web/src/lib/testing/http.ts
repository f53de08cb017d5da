/** Helpers for unit tests: a routing fetch mock and JWT minting. */
import { vi } from 'vitest';

export interface RecordedRequest {
  method: string;
  url: string;
  path: string;
  search: URLSearchParams;
  body: unknown;
  init: RequestInit;
}

export type RouteAnswer = { status: number; body?: unknown } | ((req: RecordedRequest) => { status: number; body?: unknown });

export function mockFetch(routes: Record<string, RouteAnswer>) {
  const calls: RecordedRequest[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const parsed = new URL(url, 'http://test.local');
    const method = (init.method ?? 'GET').toUpperCase();
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const req: RecordedRequest = { method, url, path: parsed.pathname, search: parsed.searchParams, body, init };
    calls.push(req);
    const route = routes[`${method} ${parsed.pathname}`];
    if (!route) return new Response(JSON.stringify({ detail: 'Not Found' }), { status: 404 });
    const answer = typeof route === 'function' ? route(req) : route;
    if (answer.status === 204) return new Response(null, { status: 204 });
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

function b64url(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** An HS256-shaped JWT (unsigned: the client never verifies it). */
export function makeJwt(claims: Record<string, unknown>): string {
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}.c2lnbmF0dXJl`;
}

export function tokenFor(userId: number, lifetimeSeconds = 3600, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  return makeJwt({ sub: String(userId), email: `u${userId}@example.com`, iat, exp: iat + lifetimeSeconds });
}
