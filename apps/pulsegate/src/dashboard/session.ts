import type { Request } from 'express';
import { presentedKey } from '@pulsegate/http-kit';

/** Name of the HttpOnly cookie that holds the signed-in user's own API key. */
export const SESSION_COOKIE = 'pulsegate_key';

/** Longest key accepted at sign-in, characters. */
export const MAX_KEY_LENGTH = 512;

/** Value of the session cookie in a Cookie header, or undefined. */
function sessionCookie(req: Request): string | undefined {
  const header = req.get('cookie');
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    try {
      const value = decodeURIComponent(part.slice(eq + 1).trim());
      return value === '' ? undefined : value;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The caller's own API key: `Authorization: Bearer …` or `x-api-key` when a client hands it over
 * itself (scripts, a reverse proxy that signs users in), else the session cookie the sign-in set.
 */
export function userKey(req: Request): string | undefined {
  return presentedKey(req) ?? sessionCookie(req);
}

/** Why a key typed into the sign-in form is refused before it is tried upstream, or undefined. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'send {"apiKey": "<your API key>"}';
  if (key.length > MAX_KEY_LENGTH) return `apiKey must be at most ${MAX_KEY_LENGTH} characters`;
  // A key travels in a header: visible ASCII only (no spaces, no control characters).
  if (!/^[\x21-\x7e]+$/.test(key)) return 'apiKey may only hold visible ASCII characters';
  return undefined;
}

/**
 * Set-Cookie value holding `key`: HttpOnly (page scripts never see it), SameSite=Strict (no other
 * site's page sends it), a browser-session cookie (no Max-Age), Secure when served over HTTPS.
 */
export function sessionCookieHeader(key: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(key)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Set-Cookie value that deletes the session cookie. */
export function clearedSessionCookieHeader(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
