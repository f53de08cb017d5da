/** Claims Switchboard puts in its HS256 JWT (see docs/contract.md, "Tokens"). */
export interface JwtClaims {
  sub?: string;
  email?: string;
  iat?: number;
  exp?: number;
  [claim: string]: unknown;
}

function base64UrlDecode(segment: string): string {
  let b64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  while (b64.length % 4 !== 0) b64 += '=';
  const binary = atob(b64);
  // Decode UTF-8 so that non-ASCII e-mail addresses survive.
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/**
 * Reads the claims of a JWT without verifying it (the client cannot: the key
 * is the server's). Used only to learn when the token expires. Returns null
 * for anything that is not a three-part token with a JSON object payload.
 */
export function decodeJwt(token: string): JwtClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null;
    return payload as JwtClaims;
  } catch {
    return null;
  }
}

/** Expiry of a JWT in milliseconds since the epoch, or null when it has no numeric `exp`. */
export function tokenExpiresAt(token: string): number | null {
  const claims = decodeJwt(token);
  if (!claims || typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return null;
  return claims.exp * 1000;
}
