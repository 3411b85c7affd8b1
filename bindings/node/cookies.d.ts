/*
 * stack-auth/cookies: a token store kept in an HTTP cookie; the shape of
 * @cipherstash/auth 0.42's `@cipherstash/auth/cookies`.
 */

import type { TokenStore } from './index';

export type { TokenStore };

/** Options of {@link cookieStore}. */
export interface CookieStoreOptions {
  /** The incoming request: its `Cookie` header is read by `load()`. */
  request: Request;
  /** The outgoing response's headers: `save()` appends a `Set-Cookie`. */
  responseHeaders: Headers;
  /** Cookie name. Default `"cs_token"`. */
  name?: string;
  /** `Domain` attribute. Default: unset (host-only). */
  domain?: string;
  /** `Path` attribute. Default `"/"`. */
  path?: string;
  /** `Secure`. Default `true`; `false` only for plain-HTTP localhost development. */
  secure?: boolean;
  /** `HttpOnly`. Default `true`. */
  httpOnly?: boolean;
  /** `SameSite`. Default `"Lax"`; `"None"` needs `secure: true` (else `cookieStore` throws). */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** Seconds taken off the token's expiry for the cookie's `Max-Age`. Default `30`. */
  expirySafetyMarginSeconds?: number;
}

/** A {@link TokenStore} whose token lives in an HTTP-only cookie. */
export declare function cookieStore(options: CookieStoreOptions): TokenStore;
