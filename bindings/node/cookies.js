'use strict';
// stack-auth/cookies: a token store kept in an HTTP cookie, for servers that handle one
// request at a time per user (Next.js route handlers, edge-style handlers on Node 18+).
// The same entry and shape as @cipherstash/auth 0.42's `@cipherstash/auth/cookies`:
//
//   const { cookieStore } = require('stack-auth/cookies');
//   const responseHeaders = new Headers();
//   const s = AccessKeyStrategy.create(crn, key, { store: cookieStore({ request, responseHeaders }) });
//
// load() reads the cookie from `request`; save(json) appends a Set-Cookie to
// `responseHeaders`. The value is the token JSON, base64url-encoded (JSON's quotes are not
// allowed in a cookie value). It holds the bearer token: keep the HttpOnly and Secure
// defaults outside localhost development.

const DEFAULTS = Object.freeze({
  name: 'cs_token',
  path: '/',
  secure: true,
  httpOnly: true,
  sameSite: 'Lax',
  expirySafetyMarginSeconds: 30,
});

function cookieStore(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('cookieStore: options must be an object');
  const o = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) o[k] = v;
  const { request, responseHeaders } = o;
  if (!request || !request.headers || typeof request.headers.get !== 'function') {
    throw new TypeError('cookieStore: `request` must be a Request (or have headers.get)');
  }
  if (!responseHeaders || typeof responseHeaders.append !== 'function') {
    throw new TypeError('cookieStore: `responseHeaders` must be a Headers (or have append)');
  }
  if (!['Strict', 'Lax', 'None'].includes(o.sameSite)) {
    throw new TypeError('cookieStore: `sameSite` must be "Strict", "Lax" or "None"');
  }
  // Browsers drop a SameSite=None cookie that is not Secure: refuse the setting that would
  // silently never persist.
  if (o.sameSite === 'None' && !o.secure) {
    throw new TypeError('cookieStore: `sameSite: "None"` needs `secure: true` (browsers drop non-Secure SameSite=None cookies)');
  }

  return {
    async load() {
      const value = readCookie(request.headers.get('cookie'), o.name);
      if (value === undefined || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
      const json = Buffer.from(value, 'base64url').toString('utf8');
      return json.startsWith('{') ? json : null; // anything else is not a token we wrote
    },
    async save(json) {
      const parts = [`${o.name}=${Buffer.from(json, 'utf8').toString('base64url')}`];
      if (o.domain) parts.push(`Domain=${o.domain}`);
      if (o.path) parts.push(`Path=${o.path}`);
      const maxAge = maxAgeOf(json, o.expirySafetyMarginSeconds);
      if (maxAge !== undefined) parts.push(`Max-Age=${maxAge}`);
      if (o.httpOnly) parts.push('HttpOnly');
      if (o.secure) parts.push('Secure');
      parts.push(`SameSite=${o.sameSite}`);
      responseHeaders.append('set-cookie', parts.join('; '));
    },
  };
}

// The first cookie called `name` in a Cookie header.
function readCookie(header, name) {
  if (typeof header !== 'string') return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

// Seconds until the token expires, less the margin, so a cookie never outlives its token.
function maxAgeOf(json, margin) {
  try {
    const at = JSON.parse(json).expires_at;
    if (typeof at !== 'number') return undefined;
    return Math.max(0, Math.floor(at - Date.now() / 1000 - margin));
  } catch {
    return undefined;
  }
}

module.exports = { cookieStore };
