'use strict';
// stack-auth for Node.js: short-lived CipherStash service tokens, kept fresh by libstack_auth.
//
// A drop-in for @cipherstash/auth 0.42 (same exports, same `{ data }` / `{ failure }` Results),
// plus what upstream's JS package lacks: token stores on AccessKeyStrategy and AutoStrategy,
// AuthStrategyFn, TokenStoreFn, InMemoryTokenStore, strategy.close().
//
// This file is thin on purpose: caching, refresh, single flight, retries and timeouts are the
// engine's (libstack_auth). It maps native handles to classes, the library's error JSON to
// `{ failure }`, and JS callbacks (sync or async) to the library's hook requests.

const util = require('node:util');

// ---- the native addon, loaded lazily (the Go runtime starts when it loads) ----------------

let native = null;

function N() {
  if (native === null) {
    const n = require('./native.js').load();
    n.setup(dispatch);
    if (isMainThread) n.setLogHandler(onLibraryLog); // one handler per process: the main thread's
    native = n;
  }
  return native;
}

// The library's log lines: what is logged and its words are the library's. They go to the
// function given to setLogHandler, else (warn and error) to console.warn.
const { isMainThread } = require('node:worker_threads');
const LOG_LEVELS = new Map([['-4', 'debug'], ['0', 'info'], ['4', 'warn'], ['8', 'error']]);
let logHandler = null;

function onLibraryLog(line) {
  const i = line.indexOf(' ');
  const level = LOG_LEVELS.get(line.slice(0, i)) || 'warn';
  const message = line.slice(i + 1);
  try {
    if (logHandler !== null) logHandler(level, message);
    else if (level === 'warn' || level === 'error') console.warn(`stack-auth: ${message}`);
  } catch {
    // a throwing handler loses its line, never the library's delivery
  }
}

/** fn(level, message) receives the library's log lines ('info' and up); null: console.warn. */
function setLogHandler(fn) {
  if (fn !== null && typeof fn !== 'function') throw new TypeError('setLogHandler: fn must be a function or null');
  logHandler = fn;
  N(); // the library (and so its handler) is loaded lazily
}

const kCreate = Symbol('stack-auth.create');
const kGet = Symbol('stack-auth.get');
const kBox = Symbol('stack-auth.box');
const kAnswer = Symbol('stack-auth.answer');

// ---- a rotated refresh token is saved before the process ends (docs/architecture.md D1) ---------------

// A device session's refresh the server may already have performed is never cancelled by
// close() or the GC: the library finishes and saves it in the background. While one (or a
// store save) is in flight, a native flush on a helper thread keeps the event loop alive, at
// most EXIT_FLUSH_MS. process.exit() skips this: let the process end by itself.
const EXIT_FLUSH_MS = 5000;
let flushing = false;
let flushGaveUp = false;

function keepAliveUntilSaved() {
  if (flushing || native === null || !native.flushPending()) return;
  flushing = true;
  native.flush(EXIT_FLUSH_MS, (status) => {
    flushing = false;
    if (status !== 0) flushGaveUp = true; // beforeExit must not start it again and again
  });
}

process.on('beforeExit', () => {
  if (!flushGaveUp) keepAliveUntilSaved();
});

// Resolves true once every store save and device-session exchange in flight has finished,
// false after timeoutMs. A token reaches its callers before the store save that follows it
// (docs/architecture.md D3): await flush() before sending a response whose cookie store must be written.
function flush(timeoutMs = EXIT_FLUSH_MS) {
  if (native === null) return Promise.resolve(true);
  return new Promise((resolve) => native.flush(timeoutMs, (status) => resolve(status === 0)));
}

// ---- errors ----------------------------------------------------------------------------

// BEGIN GENERATED codes from build/gen/tables.json (make gen)
// Every code a failure can carry (upstream's, plus this library's own).
const ERROR_CODES = Object.freeze([
  'REQUEST_ERROR', 'ACCESS_DENIED', 'EXPIRED_TOKEN', 'INVALID_GRANT', 'INVALID_CLIENT',
  'INVALID_URL', 'INVALID_REGION', 'INVALID_TOKEN', 'SERVER_ERROR', 'NOT_AUTHENTICATED',
  'MISSING_WORKSPACE_CRN', 'INVALID_ACCESS_KEY', 'INVALID_CRN', 'WORKSPACE_MISMATCH',
  'INVALID_WORKSPACE_ID', 'ALREADY_CONSUMED', 'INTERNAL_ERROR', 'CUSTOM', 'STORE_ERROR',
  'USAGE_LIMIT_EXCEEDED', 'ORG_NOT_PROVISIONED', 'TIMEOUT', 'CANCELLED', 'INVALID_ARGUMENT',
  'INVALID_HANDLE', 'FORKED',
]);
const KNOWN_CODES = new Set(ERROR_CODES);

// failure.type stays within @cipherstash/auth 0.42's union, so an exhaustive `switch` written
// against upstream still covers every failure; failure.code (and error.code) keep the precise
// code. Codes upstream lacks map onto the upstream type they behave like.
const UPSTREAM_TYPE = Object.freeze({
  USAGE_LIMIT_EXCEEDED: 'SERVER_ERROR', // a CTS refusal (HTTP 402)
  ORG_NOT_PROVISIONED: 'SERVER_ERROR', // a CTS refusal (HTTP 402)
  TIMEOUT: 'REQUEST_ERROR', // the request, or a callback, took too long
  CANCELLED: 'INTERNAL_ERROR', // closed while the call waited
  INVALID_ARGUMENT: 'INTERNAL_ERROR', // an option value the library refuses
  INVALID_HANDLE: 'INTERNAL_ERROR', // used after close()
  FORKED: 'INTERNAL_ERROR', // used in a child process after fork()
});

// The code of a failing status whose error JSON is missing or unreadable.
const STATUS_CODES = Object.freeze({
  '-1': 'INTERNAL_ERROR', // SA_E_AUTH
  '-2': 'INVALID_ARGUMENT', // SA_E_INVALID_ARG
  '-3': 'INVALID_HANDLE', // SA_E_INVALID_HANDLE
  '-4': 'TIMEOUT', // SA_E_TIMEOUT
  '-5': 'CANCELLED', // SA_E_CANCELLED
  '-6': 'FORKED', // SA_E_FORKED
  '-7': 'CUSTOM', // SA_E_CALLBACK
  '-8': 'INTERNAL_ERROR', // SA_E_INTERNAL
  '-9': 'INTERNAL_ERROR', // SA_E_WOULD_BLOCK
});
// END GENERATED codes

/** The @cipherstash/auth 0.42 failure type for one of ERROR_CODES (unknown codes: CUSTOM). */
function upstreamType(code) {
  if (Object.hasOwn(UPSTREAM_TYPE, code)) return UPSTREAM_TYPE[code];
  return KNOWN_CODES.has(code) ? code : 'CUSTOM';
}

// Shows the warning a library call left (an ignored option key) as Node does.
function emitLibraryWarning() {
  const w = native === null ? undefined : native.lastWarning();
  if (w) process.emitWarning(w, 'StackAuthWarning');
}

/** The `error` of every failure: an `Error` with the failure's `code` (and `help`/`url`). */
class AuthError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}
Object.defineProperty(AuthError.prototype, 'name', { value: 'AuthError', configurable: true, writable: true });

// [status, errorJson] from the addon -> { failure: { ...payload, type, error, retryable, help?, url? } }
function failure(status, json) {
  let env = null;
  try {
    env = JSON.parse(json);
  } catch {
    env = null;
  }
  if (env === null || typeof env !== 'object' || typeof env.type !== 'string') {
    env = { type: STATUS_CODES[status] || 'INTERNAL_ERROR', message: `libstack_auth failed with status ${status}` };
  }
  const { type, message, help, url, retryable, ...payload } = env;
  const error = new AuthError(typeof message === 'string' ? message : type, type);
  // The library decides what is retryable; the binding only carries it.
  error.retryable = retryable === true;
  // Payload first, so the fixed keys win a collision (as upstream's index.js does).
  const f = { ...payload, type: upstreamType(type), code: type, error, retryable: error.retryable };
  if (help !== undefined) {
    error.help = help;
    f.help = help;
  }
  if (url !== undefined) {
    error.url = url;
    f.url = url;
  }
  return { failure: f };
}

// The C ABI takes NUL-terminated strings: a NUL inside a string argument would silently
// cut it short, so such an argument is refused as the library refuses bad input.
function nulArgument(...values) {
  if (!values.some((v) => typeof v === 'string' && v.includes('\0'))) return null;
  return failure(-2, JSON.stringify({ type: 'INVALID_ARGUMENT', message: 'a string argument contains a NUL character' }));
}

function unwrap(r) {
  return Array.isArray(r) ? failure(r[0], r[1]) : null;
}

// ---- token results ---------------------------------------------------------------------

/** `{ token, subject, workspaceId, issuer, services, expiresAt }`; inspect/toString mask the token. */
class TokenResult {
  constructor(token, subject, workspaceId, issuer, services, expiresAt) {
    this.token = token;
    this.subject = subject;
    this.workspaceId = workspaceId;
    this.issuer = issuer;
    this.services = services;
    this.expiresAt = expiresAt;
  }

  toString() {
    return `TokenResult(subject=${this.subject}, workspaceId=${this.workspaceId}, expiresAt=${this.expiresAt}, token=***)`;
  }

  [util.inspect.custom](_depth, options, inspect) {
    const shown = { ...this, token: '***' };
    return `TokenResult ${inspect(shown, options)}`;
  }
}

function parseToken(json) {
  const o = JSON.parse(json);
  return new TokenResult(o.token, o.subject, o.workspaceId, o.issuer, o.services || {}, o.expiresAt);
}

function copyToken(t) {
  return new TokenResult(t.token, t.subject, t.workspaceId, t.issuer, { ...t.services }, t.expiresAt);
}

// ---- options ---------------------------------------------------------------------------

// options.timeoutMs as the library's int32 (0: the default). Only marshalling: the library
// decides which values are valid; one out of int32 range stays out of range (sign kept).
function timeoutOf(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const t = options.timeoutMs;
  if (t === undefined) return 0;
  if (typeof t !== 'number' || Number.isNaN(t)) throw new TypeError('options.timeoutMs must be a number');
  return Math.min(2147483647, Math.max(-2147483648, Math.ceil(t)));
}

// A JS options object -> options_json for the library. `store` becomes an sa_store handle;
// every other key passes through (the library rejects unknown keys: INVALID_ARGUMENT).
// Returns [json|null, storeObject|null] (the caller keeps the store alive across the call).
function optionsJson(opts) {
  if (opts === undefined || opts === null) return [null, null];
  if (typeof opts !== 'object') throw new TypeError('options must be an object');
  const o = {};
  let store = null;
  const kept = []; // native objects the library takes its own reference to during the call
  for (const k of Object.keys(opts)) {
    const v = opts[k];
    if (v === undefined || v === null) continue;
    if (k === 'store') {
      const r = toStore(v);
      if (r.failure) return [null, null, r];
      store = r.data;
      o.store = N().storeHandle(store._box());
      continue;
    }
    if (k === 'transport') {
      if (typeof v !== 'function') throw new TypeError('transport must be a function (request) => response');
      const box = N().transportNew(v);
      kept.push(box);
      o.transport = N().transportHandle(box);
      continue;
    }
    o[k] = v;
  }
  return [JSON.stringify(o), store === null && kept.length === 0 ? null : { store, kept }];
}

// ---- strategies ------------------------------------------------------------------------

class Strategy {
  #box;
  #last = undefined; // the parsed JSON of the token the addon last returned as JSON

  constructor(token, box) {
    if (token !== kCreate) {
      throw new TypeError(`use ${new.target.name}'s static factory, not new`);
    }
    this.#box = box;
  }

  /**
   * Resolves to `{ data: TokenResult }` or `{ failure }`; never rejects for a domain error.
   * `options.timeoutMs` bounds this call's wait (default: the strategy's timeoutMs).
   */
  getToken(options) {
    const box = this.#box;
    let timeoutMs = 0;
    if (options !== undefined) {
      try {
        timeoutMs = timeoutOf(options);
      } catch (err) {
        return Promise.reject(err); // as upstream: a Promise-returning method never throws
      }
    }
    return this[kGet](
      timeoutMs,
      (haveLast) => native.tryGetToken(box, haveLast),
      (cb, t) => native.getTokenAsync(box, cb, t),
    );
  }

  // The hot path first: tryGet answers from the library's cache without leaving the JS
  // thread (true: the token last returned; a string: a new token's JSON; null: only waiting
  // would give one; [st, json]: a failure). Else startAsync gets one on a library thread and
  // the answer comes back through the addon's thread-safe function.
  [kGet](timeoutMs, tryGet, startAsync) {
    return promised(this[kAnswer](timeoutMs, tryGet, startAsync));
  }

  // kGet's answer: the result itself when it is at hand, else a promise of it. A .then
  // callback returns it as is, sparing the extra ticks of adopting a promise.
  [kAnswer](timeoutMs, tryGet, startAsync) {
    if (timeoutMs !== 0) {
      const bad = native.checkTimeout(timeoutMs); // the library's rule, cached token or not
      if (bad !== undefined) return failure(bad[0], bad[1]);
    }
    const r = tryGet(this.#last !== undefined);
    if (r === true) return { data: copyToken(this.#last) };
    if (typeof r === 'string') {
      const t = parseToken(r);
      this.#last = t;
      return { data: copyToken(t) };
    }
    if (r === null) return this.#wait(startAsync, timeoutMs);
    return failure(r[0], r[1]);
  }

  [kBox]() {
    return this.#box;
  }

  // The strategy stays alive meanwhile (the addon keeps a reference to its box).
  #wait(startAsync, timeoutMs) {
    return new Promise((resolve) => {
      const e = startAsync((status, r, err) => {
        if (status !== 0) {
          resolve(failure(status, err));
        } else if (r === true) {
          resolve({ data: copyToken(this.#last) });
        } else {
          const t = parseToken(r);
          this.#last = t;
          resolve({ data: copyToken(t) });
        }
      }, timeoutMs);
      if (e !== undefined) resolve(failure(e[0], e[1]));
    });
  }

  /**
   * After a 401 with `token`: forces a refresh if it is still this strategy's current token
   * (a late 401 never throws away a newer one). `{ data: true }` when a refresh started.
   */
  invalidate(token) {
    const r = N().invalidate(this.#box, token);
    return unwrap(r) || { data: r };
  }

  /**
   * Frees the native strategy now: pending getToken() calls end with a CANCELLED failure. A
   * device session's refresh already sent still completes and is saved; the process stays
   * alive (≤ 5 s) until it is.
   */
  close() {
    N().strategyFree(this.#box);
    this.#last = undefined;
    keepAliveUntilSaved();
  }

  /** The same as close() (the name wasm-bindgen objects of upstream's wasm build use). */
  free() {
    this.close();
  }

  [util.inspect.custom]() {
    return `${this.constructor.name} {}`;
  }

  toString() {
    return `[${this.constructor.name}]`;
  }
}

// `using` / `await using` (TypeScript 5.2+, Node with the dispose symbols) close a strategy,
// store or device flow at the end of its scope.
function addDispose(Cls) {
  if (typeof Symbol.dispose === 'symbol') {
    Cls.prototype[Symbol.dispose] = function dispose() {
      this.close();
    };
  }
  if (typeof Symbol.asyncDispose === 'symbol') {
    Cls.prototype[Symbol.asyncDispose] = async function asyncDispose() {
      this.close();
    };
  }
}
addDispose(Strategy);

function build(Cls, r) {
  const f = unwrap(r);
  return f || { data: new Cls(kCreate, r) };
}

function buildWithOptions(Cls, options, make) {
  let onEvent;
  if (options !== null && typeof options === 'object' && options.onEvent !== undefined) {
    ({ onEvent, ...options } = options);
    if (typeof onEvent !== 'function') throw new TypeError('onEvent must be a function');
  }
  const [json, store, storeFailure] = optionsJson(options);
  if (storeFailure) return storeFailure;
  const r = make(json);
  void store; // kept alive until the library has taken its own reference
  emitLibraryWarning();
  const built = build(Cls, r);
  if (built.data && onEvent) {
    const f = unwrap(N().setEventHook(built.data[kBox](), eventHandler(onEvent)));
    if (f) {
      built.data.close();
      return f;
    }
  }
  return built;
}

// onEvent(event) for each engine event, on the JS thread; a throwing handler becomes a
// process warning (never an uncaught exception from the library's thread).
function eventHandler(onEvent) {
  return (json) => {
    try {
      onEvent(Object.freeze(JSON.parse(json)));
    } catch (e) {
      const w = new Error(`stack-auth: the onEvent handler threw: ${describe(e)}`, { cause: e });
      w.name = 'StackAuthWarning';
      process.emitWarning(w);
    }
  };
}

/** Access key in `CS_CLIENT_ACCESS_KEY` (+ `CS_WORKSPACE_CRN`), else the saved device session. */
class AutoStrategy extends Strategy {
  static detect(options) {
    return buildWithOptions(AutoStrategy, options, (json) => N().autoDetect(json));
  }
}

/** A static access key (`CSAK<id>.<secret>`) bound to a workspace CRN. */
class AccessKeyStrategy extends Strategy {
  static create(workspaceCrn, accessKey, options) {
    return (
      nulArgument(workspaceCrn, accessKey) ??
      buildWithOptions(AccessKeyStrategy, options, (json) => N().accessKeyNew(workspaceCrn, accessKey, json))
    );
  }
}

/** The session saved by a device-code login (`stack-auth login`), refreshed as needed. */
class DeviceSessionStrategy extends Strategy {
  static fromProfile(options) {
    return buildWithOptions(DeviceSessionStrategy, options, (json) => N().deviceSessionFromProfile(json));
  }
}

/**
 * Federates a third-party OIDC JWT into a CTS service token. `getJwt` runs on the caller's
 * thread and async context (AsyncLocalStorage included) on every getToken(); its JWT goes to
 * the library's per-JWT cache, so a cached token costs no thread hop. `getToken({ jwt })`
 * passes the JWT directly and never calls `getJwt` (one strategy for a multi-tenant server;
 * `getJwt` may then be null).
 */
class OidcFederationStrategy extends Strategy {
  #getJwt = null;

  /** `third` is upstream's `baseUrl` string, or `{ baseUrl, store, ... }` (upstream's wasm shape). */
  static create(workspaceCrn, getJwt, third) {
    let options = third;
    if (typeof third === 'string') options = { baseUrl: third };
    if (typeof getJwt !== 'function' && getJwt !== null && getJwt !== undefined) {
      throw new TypeError('getJwt must be a function');
    }
    const r =
      nulArgument(workspaceCrn) ??
      buildWithOptions(OidcFederationStrategy, options, (json) => N().oidcNew(workspaceCrn, null, json));
    if (r.data) r.data.#getJwt = getJwt ?? null;
    return r;
  }

  static createWithStore(workspaceCrn, getJwt, loadToken, saveToken, baseUrl) {
    if (typeof loadToken !== 'function' || typeof saveToken !== 'function') {
      throw new TypeError('loadToken and saveToken must be functions');
    }
    const store = { load: (scope) => loadToken(scope), save: (json, scope) => saveToken(json, scope) };
    return OidcFederationStrategy.create(workspaceCrn, getJwt, { baseUrl: baseUrl ?? undefined, store });
  }

  /** `options.jwt`: the caller's JWT (getJwt is not called); `options.timeoutMs` as for every strategy. */
  getToken(options) {
    let timeoutMs = 0;
    let jwt;
    if (options !== undefined) {
      try {
        timeoutMs = timeoutOf(options);
        jwt = options.jwt;
        if (jwt !== undefined && typeof jwt !== 'string') throw new TypeError('options.jwt must be a string');
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (jwt !== undefined) return this.#withJwt(jwt, timeoutMs);
    if (this.#getJwt === null) {
      return Promise.resolve(failure(-2, JSON.stringify({
        type: 'INVALID_ARGUMENT',
        message: 'this OidcFederationStrategy has no getJwt: pass the caller\'s JWT as getToken({ jwt })',
      })));
    }
    const r = callUser(() => this.#getJwt(), getJwtFailure);
    if (r.failed) return Promise.resolve(r.failed);
    if (typeof r.then === 'function') {
      return Promise.resolve(r.value).then((j) => this.#fromGetJwt(j, timeoutMs), getJwtFailure);
    }
    return promised(this.#fromGetJwt(r.value, timeoutMs));
  }

  // As upstream, a getJwt that does not give a string is a SERVER_ERROR, and nothing is sent.
  // The answer as kAnswer gives it.
  #fromGetJwt(jwt, timeoutMs) {
    if (typeof jwt !== 'string') return getJwtFailure(undefined);
    return this.#answerWithJwt(jwt, timeoutMs);
  }

  #withJwt(jwt, timeoutMs) {
    return promised(this.#answerWithJwt(jwt, timeoutMs));
  }

  #answerWithJwt(jwt, timeoutMs) {
    // An empty JWT goes to the library, which sends it (as upstream does).
    if (typeof jwt !== 'string') return notAToken(jwt);
    if (jwt.includes('\0')) return nulArgument(jwt);
    const box = this[kBox]();
    return this[kAnswer](
      timeoutMs,
      (haveLast) => native.oidcTryGetTokenWithJwt(box, jwt, haveLast),
      (cb, t) => native.oidcGetTokenWithJwtAsync(box, jwt, cb, t),
    );
  }
}

/**
 * Your own function (sync or async) gives the token; called on every getToken (no caching),
 * on the caller's thread and async context. A string it returns at once becomes the token
 * through the library's checks without leaving the JS thread. A promise is handed to the
 * library, which bounds it by timeoutMs and shares it with every getToken that arrives while
 * it is pending (fn is not called again meanwhile).
 */
class AuthStrategyFn extends Strategy {
  #fn = null;
  #pending = null; // fn's promise while the library waits on it
  #lastValue = undefined; // the last string fn returned, and its parse
  #lastToken = undefined;

  static create(fn, options) {
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    const [json] = optionsJson(options);
    let self = null; // a WeakRef: the library holds the hook, which must not hold the strategy
    // The library's hook: the pending promise when there is one (see getToken), else fn.
    const hook = () => {
      const st = self === null ? undefined : self.deref();
      return st !== undefined && st.#pending !== null ? st.#pending : fn();
    };
    const made = N().strategyFnNew(hook, json);
    emitLibraryWarning();
    const r = build(AuthStrategyFn, made);
    if (r.data) {
      self = new WeakRef(r.data);
      r.data.#fn = fn;
    }
    return r;
  }

  getToken(options) {
    if (this.#fn === null || this.#pending !== null) return super.getToken(options);
    if (options !== undefined) {
      try {
        timeoutOf(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const r = callUser(() => this.#fn(), callbackFailure);
    if (r.failed) return Promise.resolve(r.failed);
    if (typeof r.then !== 'function') return Promise.resolve(this.#settle(r.value));
    // The library waits on the promise (its timeout, its single flight) through the hook.
    const p = Promise.resolve(r.value);
    let rejected = null; // the rejection, kept as the failure's cause
    p.catch((e) => {
      rejected = { e };
    }); // also marks it handled: the hook's dispatch reports it to the library
    this.#pending = p;
    return super.getToken(options).then((res) => {
      this.#done(p);
      if (res.failure && rejected !== null) res.failure.error.cause = rejected.e;
      return res;
    });
  }

  #done(p) {
    if (this.#pending === p) this.#pending = null;
  }

  #settle(v) {
    if (typeof v !== 'string' || v === '') return notAToken(v);
    if (v === this.#lastValue) return { data: copyToken(this.#lastToken) };
    if (v.includes('\0')) return nulArgument(v);
    const r = native.tokenFromValue(v);
    if (Array.isArray(r)) return failure(r[0], r[1]);
    this.#lastToken = parseToken(r);
    this.#lastValue = v;
    return { data: copyToken(this.#lastToken) };
  }

  close() {
    this.#fn = null;
    this.#pending = null;
    this.#lastValue = this.#lastToken = undefined;
    super.close();
  }
}

// An answer (kAnswer's: a result, or a promise of one) as the promise getToken returns.
function promised(answer) {
  return answer instanceof Promise ? answer : Promise.resolve(answer);
}

// Calls a user function (getJwt, an AuthStrategyFn's fn) once: { value, then } (then: a
// thenable's then, read once, else undefined), or { failed: onThrow(e) } when calling it or
// reading then threw.
function callUser(fn, onThrow) {
  try {
    const value = fn();
    const then = value !== null && (typeof value === 'object' || typeof value === 'function') ? value.then : undefined;
    return { value, then };
  } catch (e) {
    return { failed: onThrow(e) };
  }
}

// A user callback that threw or rejected: SA_E_CALLBACK with its code (when it carries a
// known one) and message; the original error is the failure's `error.cause`.
function callbackFailure(e) {
  const r = native.callbackError(codeOf(e, 'CUSTOM'), describe(e).replaceAll('\0', ''));
  const f = failure(r[0], r[1]);
  f.failure.error.cause = e;
  return f;
}

// A getJwt that threw (e) or gave no string (e undefined): upstream's SERVER_ERROR wording,
// with what it threw as the error's cause.
function getJwtFailure(e) {
  const message = e === undefined
    ? 'getJwt callback did not return a string'
    : `getJwt callback rejected: ${e instanceof Error ? e.message : describe(e)}`;
  const r = native.callbackError('SERVER_ERROR', message.replaceAll('\0', ''));
  const f = failure(r[0], r[1]);
  if (e !== undefined) f.failure.error.cause = e;
  return f;
}

function notAToken(v) {
  return failure(-7, JSON.stringify({
    type: 'CUSTOM',
    message: `the token callback must return a non-empty string, got ${v === '' ? 'an empty string' : typeof v}`,
  }));
}

/** Always the same token (tests, fixed credentials). */
class StaticTokenStrategy extends Strategy {
  static create(token) {
    return nulArgument(token) ?? build(StaticTokenStrategy, N().staticTokenNew(token));
  }
}

// ---- token stores ----------------------------------------------------------------------

class NativeTokenStore {
  #box;

  constructor(token, box) {
    if (token !== kCreate) throw new TypeError('use InMemoryTokenStore, TokenStoreFn.create or openTokenStore');
    this.#box = box;
  }

  _box() {
    return this.#box;
  }

  /** Releases this handle; strategies using the store keep it alive. */
  close() {
    N().storeFree(this.#box);
  }

  /** The same as close(). */
  free() {
    this.close();
  }

  [util.inspect.custom]() {
    return `${this.constructor.name} {}`;
  }
}

addDispose(NativeTokenStore);

/** A token store private to this process (the engine's). */
class InMemoryTokenStore extends NativeTokenStore {
  constructor() {
    const r = N().storeMemoryNew();
    const f = unwrap(r);
    if (f) throw f.failure.error;
    super(kCreate, r);
  }
}

/**
 * A token store backed by your `load()` / `save(json)` (sync or async). Every store is scoped
 * per credential: they are called as `load(scope)` / `save(json, scope)`, with a non-secret
 * scope string (workspace, key id or JWT digest, audience) to key what they keep by; callbacks
 * that keep one slot may ignore it (a token saved for another scope is a miss).
 */
class TokenStoreFn extends NativeTokenStore {
  static create(store, options) {
    if (store === null || (typeof store !== 'object' && typeof store !== 'function')) {
      throw new TypeError('store must be an object with load() and/or save(json)');
    }
    const [json] = optionsJson(options);
    const r = N().storeFnNew(store, json);
    emitLibraryWarning();
    return unwrap(r) || { data: new TokenStoreFn(kCreate, r) };
  }
}

/** `memory:`, `file:///absolute/path` (every process on the host) or `redis://host:port/db`
    (every host of a fleet). */
function openTokenStore(url) {
  const bad = nulArgument(url);
  if (bad) return bad;
  const r = N().storeOpen(url);
  return unwrap(r) || { data: new NativeTokenStore(kCreate, r) };
}

function toStore(v) {
  if (v instanceof NativeTokenStore) return { data: v };
  if (typeof v === 'object' || typeof v === 'function') return TokenStoreFn.create(v);
  throw new TypeError('store must be a TokenStore or an object with load() and save(json)');
}

// ---- hooks: the addon calls dispatch on the JS thread ----------------------------------

const H_TOKEN = 0;
const H_LOAD = 1;
// biome-ignore lint/correctness/noUnusedVariables: names the addon's kind 2, which dispatch reaches as the else of H_LOAD
const H_SAVE = 2;
const H_HTTP = 3;

// A transport's answer -> [status, headersJson, body], or a reason it is not one.
function httpAnswer(res) {
  if (res === null || typeof res !== 'object') return 'the transport must resolve { status, headers?, body? }';
  const { status } = res;
  if (!Number.isInteger(status) || status < 100 || status > 599) return 'status must be an HTTP status (100-599)';
  let headers = [];
  const h = res.headers;
  if (h !== undefined && h !== null) {
    const entries = Array.isArray(h) ? h : typeof h.entries === 'function' ? [...h.entries()] : Object.entries(h);
    headers = entries.map(([k, v]) => [String(k).toLowerCase(), String(v)]);
  }
  let body = res.body ?? '';
  if (body instanceof Uint8Array) body = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (typeof body !== 'string') return 'body must be a string or a Uint8Array';
  return [status, JSON.stringify(headers), body];
}

// Runs a host transport: (request) => response, sync or async. No answer (a throw or a
// rejection) is a REQUEST_ERROR of the call that needed the request.
function dispatchHttp(send, meta, body, req) {
  const fail = (e) => native.requestReject(req, 'REQUEST_ERROR', `the transport failed: ${describe(e)}`);
  const settle = (res) => {
    const a = httpAnswer(res);
    if (typeof a === 'string') fail(new TypeError(a));
    else native.requestRespond(req, a[0], a[1], a[2]);
  };
  let r;
  try {
    const { method, url, headers } = JSON.parse(meta);
    r = send({ method, url, headers, body });
  } catch (e) {
    fail(e);
    return;
  }
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
    Promise.resolve(r).then(settle, fail).catch((e) => native.requestReject(req, 'INTERNAL_ERROR', describe(e)));
  } else {
    settle(r);
  }
}

function describe(e) {
  try {
    if (e instanceof Error) return `${e.name}: ${e.message}`;
    if (e !== null && typeof e === 'object' && typeof e.message === 'string') return e.message;
    return `thrown ${typeof e}`;
  } catch {
    return 'a value that cannot be described';
  }
}

function codeOf(e, fallback) {
  try {
    if (e !== null && typeof e === 'object' && typeof e.code === 'string' && KNOWN_CODES.has(e.code)) return e.code;
  } catch {
    // a throwing getter: use the fallback
  }
  return fallback;
}

function rejectHook(kind, req, e) {
  const message = describe(e);
  if (kind === H_TOKEN) {
    native.requestReject(req, codeOf(e, 'CUSTOM'), message);
    return;
  }
  // As upstream: a store error is a miss (load) or ignored (save); the library logs it.
  native.requestReject(req, 'STORE_ERROR', message);
}

// Completes req with v; a value the library refuses (over 16 MiB) fails the request instead
// of leaving it to time out.
function resolveHook(kind, req, v) {
  const st = native.requestResolve(req, v);
  if (st === -2) rejectHook(kind, req, new RangeError('the callback returned a value the library refuses (too long)'));
}

function settleHook(kind, req, v) {
  if (kind === H_TOKEN) {
    // An empty string goes to the library, which decides: an AuthStrategyFn's empty token is
    // a failure, an OIDC provider's empty JWT is sent (as upstream does).
    if (typeof v === 'string') resolveHook(kind, req, v);
    else native.requestReject(req, 'CUSTOM', `the token callback must return a string, got ${typeof v}`);
  } else if (kind === H_LOAD) {
    if (v === null || v === undefined) native.requestResolve(req, null);
    else if (typeof v === 'string') resolveHook(kind, req, v);
    else rejectHook(kind, req, new TypeError(`load() must return a string, null or undefined, got ${typeof v}`));
  } else {
    native.requestResolve(req, null);
  }
}

// (kind, target, arg, req, scope): target is the JS function (H_TOKEN) or the store object;
// a store's load and save get the credential scope as an extra argument (load(scope),
// save(json, scope)), which upstream-shaped callbacks ignore.
// Whatever the callback does (return, throw, resolve, reject, never settle), the request is
// completed at most once, and a failure never becomes a token.
function dispatch(kind, target, arg, req, scope) {
  if (kind === H_HTTP) {
    try {
      dispatchHttp(target, arg, scope, req);
    } catch (e) {
      native.requestReject(req, 'INTERNAL_ERROR', describe(e));
    }
    return;
  }
  try {
    let r;
    try {
      if (kind === H_TOKEN) r = target();
      else if (kind === H_LOAD) r = typeof target.load === 'function' ? target.load(scope) : null;
      else r = typeof target.save === 'function' ? target.save(arg, scope) : undefined;
    } catch (e) {
      rejectHook(kind, req, e);
      return;
    }
    if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
      Promise.resolve(r).then(
        (v) => {
          try {
            settleHook(kind, req, v);
          } catch (e) {
            native.requestReject(req, 'INTERNAL_ERROR', describe(e));
          }
        },
        (e) => {
          try {
            rejectHook(kind, req, e);
          } catch (e2) {
            native.requestReject(req, 'INTERNAL_ERROR', describe(e2));
          }
        },
      );
    } else {
      settleHook(kind, req, r);
    }
  } catch (e) {
    try {
      native.requestReject(req, 'INTERNAL_ERROR', describe(e));
    } catch {
      // nothing left to do: the request times out
    }
  }
}

// ---- device-code login -----------------------------------------------------------------

/** The pending state of a device-code login. */
class DeviceCodeResult {
  #box;
  #info;

  constructor(token, box, info) {
    if (token !== kCreate) throw new TypeError('use beginDeviceCodeFlow()');
    this.#box = box;
    this.#info = info;
  }

  get userCode() {
    return this.#info.userCode;
  }

  get verificationUri() {
    return this.#info.verificationUri;
  }

  get verificationUriComplete() {
    return this.#info.verificationUriComplete;
  }

  get expiresIn() {
    return this.#info.expiresIn;
  }

  /**
   * Polls until the user approves (the session is saved to the profile directory), denies, or
   * the code expires. Consumes the flow: a second call fails with ALREADY_CONSUMED.
   * `options.timeoutMs` bounds the wait (default: until the code expires).
   */
  pollForToken(options) {
    return new Promise((resolve, reject) => {
      try {
        const timeoutMs = options === undefined || options === null ? 0 : timeoutOf(options);
        const e = N().deviceCodePoll(this.#box, timeoutMs, (status, expiresAt, err) => {
          if (status !== 0) return resolve(failure(status, err));
          const at = Number(expiresAt);
          resolve({ data: { expiresAt: at, expiresIn: Math.max(0, at - Math.floor(Date.now() / 1000)) } });
        });
        if (e !== undefined) resolve(failure(e[0], e[1]));
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Opens verificationUriComplete in the OS browser; `{ data: true }` when a launcher started. */
  openInBrowser() {
    const r = N().deviceFlowOpenBrowser(this.#box);
    return unwrap(r) || { data: r };
  }

  /** Abandons the flow: a pending pollForToken() ends with a CANCELLED failure. */
  close() {
    N().deviceFlowFree(this.#box);
  }

  /** The same as close(). */
  free() {
    this.close();
  }

  [util.inspect.custom](_depth, options, inspect) {
    return `DeviceCodeResult ${inspect({ ...this.#info }, options)}`;
  }
}

addDispose(DeviceCodeResult);

function blockingCall(start) {
  return new Promise((resolve, reject) => {
    try {
      const e = start(resolve);
      if (e !== undefined) resolve(failure(e[0], e[1]));
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * Starts a device-code login for `region`. `options`: `{ baseUrl, profileDir, timeoutMs, transport }`
 * (`transport` also carries the flow's polls).
 */
function beginDeviceCodeFlow(region, clientId, options) {
  return blockingCall((resolve) => {
    const [json, keep] = optionsJson(options);
    return N().deviceCodeBegin(region, clientId ?? null, json, (status, box, err, flowJson) => {
      void keep; // the transport stays alive until the library (on its thread) has taken it
      if (status !== 0) return resolve(failure(status, err));
      resolve({ data: new DeviceCodeResult(kCreate, box, JSON.parse(flowJson)) });
    });
  });
}

function beginDeviceCodeFlowWithBaseUrl(region, clientId, baseUrl) {
  return beginDeviceCodeFlow(region, clientId, { baseUrl });
}

/** Registers this device with ZeroKMS and saves secretkey.json. `options`: `{ profileDir, timeoutMs, transport }`. */
function bindClientDevice(options) {
  return blockingCall((resolve) => {
    const [json, keep] = optionsJson(options);
    return N().bindClientDevice(json, (status, _unused, err) => {
      void keep; // as in beginDeviceCodeFlow
      resolve(status === 0 ? { data: undefined } : failure(status, err));
    });
  });
}

function bindClientDeviceWithProfileDir(profileDir) {
  return bindClientDevice({ profileDir });
}

// ---- misc ------------------------------------------------------------------------------

/** The loaded libstack_auth: `{ version, abi, build }`. Loads the library. */
function libraryInfo() {
  const n = N();
  return { version: n.versionString(), abi: n.abiVersion(), build: n.buildInfo() };
}

module.exports = {
  AutoStrategy,
  AccessKeyStrategy,
  DeviceSessionStrategy,
  // Deprecated alias kept by upstream: OAuthStrategy was renamed to DeviceSessionStrategy.
  OAuthStrategy: DeviceSessionStrategy,
  OidcFederationStrategy,
  AuthStrategyFn,
  StaticTokenStrategy,
  NativeTokenStore,
  InMemoryTokenStore,
  TokenStoreFn,
  openTokenStore,
  flush,
  setLogHandler,
  DeviceCodeResult,
  beginDeviceCodeFlow,
  beginDeviceCodeFlowWithBaseUrl,
  bindClientDevice,
  bindClientDeviceWithProfileDir,
  AuthError,
  ERROR_CODES,
  upstreamType,
  libraryInfo,
};

// For this package's tests: leak accounting of the library and the addon.
Object.defineProperty(module.exports, '_debug', {
  enumerable: false,
  value: Object.freeze({
    liveObjects: () => N().liveObjects(),
    panic: () => {
      const r = N().debugPanic();
      return failure(r[0], r[1]);
    },
    counters: () => N().debugCounters(),
  }),
});
