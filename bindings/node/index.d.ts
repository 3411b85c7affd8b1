/*
 * stack-auth for Node.js: hand-written declarations.
 *
 * The public API of @cipherstash/auth 0.42 (its index.d.ts), which this package replaces
 * drop-in: every fallible operation returns a Result, `{ data }` on success or `{ failure }`
 * on a domain error, never a throw. The factories (`create`, `detect`, `fromProfile`) are
 * synchronous; `getToken`, `beginDeviceCodeFlow`, `pollForToken` and `bindClientDevice`
 * return Promises of Results. Additions (marked "Beyond upstream") are supersets: upstream
 * code type-checks unchanged.
 */

/** `{ data }` on success, `{ failure }` on error (the shape of `@byteslice/result`). */
export type Result<T, F = AuthFailure> = { data: T; failure?: never } | { data?: never; failure: F };

/**
 * The `error` of every failure: an `Error` whose `code` is the failure's precise `code` (the
 * failure's `type`, or for the codes upstream 0.42 lacks, the code behind it).
 */
export declare class AuthError extends Error {
  readonly code: StackAuthErrorCode;
  /** Beyond upstream: whether trying again may succeed (the library's rule; docs/errors.md). */
  retryable: boolean;
  help?: string;
  url?: string;
}

/** Fields present on every `AuthFailure`. */
interface FailureBase {
  /**
   * Beyond upstream: the precise code. It equals `type` except for the codes upstream 0.42 has
   * no type for, which `type` maps onto the type they behave like (see {@link upstreamType}):
   * `USAGE_LIMIT_EXCEEDED` and `ORG_NOT_PROVISIONED` are `SERVER_ERROR`s, `TIMEOUT` a
   * `REQUEST_ERROR`, and `CANCELLED`, `INVALID_ARGUMENT`, `INVALID_HANDLE` and `FORKED`
   * `INTERNAL_ERROR`s.
   */
  code: StackAuthErrorCode;
  /** A live `Error` with `.message` and `.code` (and `.help` / `.url` when present). */
  error: AuthError;
  /** Beyond upstream: whether trying again may succeed (REQUEST_ERROR, SERVER_ERROR, TIMEOUT, ...). */
  retryable: boolean;
  /** Actionable guidance, when the error carries it. */
  help?: string;
  /** A URL with more detail, when the error carries it. */
  url?: string;
}

/**
 * A domain failure, discriminated by `type`: narrow on it to reach per-variant payload (e.g.
 * `WORKSPACE_MISMATCH`'s `expected` / `actual`).
 */
// BEGIN GENERATED failures from build/gen/tables.json (make gen)
export type AuthFailure =
  | (FailureBase & { type: 'REQUEST_ERROR' })
  | (FailureBase & { type: 'ACCESS_DENIED' })
  | (FailureBase & { type: 'EXPIRED_TOKEN' })
  | (FailureBase & { type: 'INVALID_GRANT' })
  | (FailureBase & { type: 'INVALID_CLIENT' })
  | (FailureBase & { type: 'INVALID_URL' })
  | (FailureBase & { type: 'INVALID_REGION' })
  | (FailureBase & { type: 'INVALID_TOKEN' })
  | (FailureBase & { type: 'SERVER_ERROR' })
  | (FailureBase & { type: 'NOT_AUTHENTICATED' })
  | (FailureBase & { type: 'MISSING_WORKSPACE_CRN' })
  | (FailureBase & { type: 'INVALID_ACCESS_KEY' })
  | (FailureBase & { type: 'INVALID_CRN' })
  | (FailureBase & { type: 'WORKSPACE_MISMATCH'; expected: string; actual: string })
  | (FailureBase & { type: 'INVALID_WORKSPACE_ID' })
  | (FailureBase & { type: 'ALREADY_CONSUMED' })
  | (FailureBase & { type: 'INTERNAL_ERROR' })
  | (FailureBase & { type: 'CUSTOM' })
  | (FailureBase & { type: 'STORE_ERROR' });
// END GENERATED failures
// Exactly upstream 0.42's union, so an exhaustive `switch (failure.type)` written against
// @cipherstash/auth still covers every failure. The codes beyond it are in `failure.code`.

/** The machine-readable discriminant carried by every {@link AuthFailure}. */
export type AuthErrorCode = AuthFailure['type'];

/**
 * Beyond upstream: every code `failure.code` and `error.code` can carry: upstream's, plus
 * the library's own (each maps onto an upstream `type`, see {@link upstreamType}).
 */
// BEGIN GENERATED codes from build/gen/tables.json (make gen)
export type StackAuthErrorCode =
  | AuthErrorCode
  /** HTTP 402 with cs_code USAGE_LIMIT_EXCEEDED (or no cs_code); type SERVER_ERROR. */
  | 'USAGE_LIMIT_EXCEEDED'
  /** HTTP 402 with cs_code ORG_NOT_PROVISIONED; type SERVER_ERROR. */
  | 'ORG_NOT_PROVISIONED'
  /** The call, or a callback of yours, did not finish within its timeout; type REQUEST_ERROR. */
  | 'TIMEOUT'
  /** The strategy or device flow was closed while the call waited; type INTERNAL_ERROR. */
  | 'CANCELLED'
  /** An option value the library does not accept; type INTERNAL_ERROR. */
  | 'INVALID_ARGUMENT'
  /** The strategy or device flow was closed before the call; type INTERNAL_ERROR. */
  | 'INVALID_HANDLE'
  /** The library was used in a child process after fork(); type INTERNAL_ERROR. */
  | 'FORKED';
// END GENERATED codes

/** Every {@link StackAuthErrorCode}. */
export declare const ERROR_CODES: readonly StackAuthErrorCode[];

/** Beyond upstream: the upstream 0.42 failure `type` of a code (`type` of a failure with `code`). */
export declare function upstreamType(code: string): AuthErrorCode;

/** The result of a successful `getToken()` call. `inspect()` and `toString()` mask `token`. */
export interface TokenResult {
  /** The bearer token (`Authorization: Bearer <token>`). A secret: never log it. */
  token: string;
  /** The JWT `sub` claim (e.g. `"CS|CSAKkeyId"`). */
  subject: string;
  /** The workspace the token is for. */
  workspaceId: string;
  /** The JWT `iss` claim (the CTS host). */
  issuer: string;
  /** Service endpoints from the JWT `services` claim (e.g. `{ zerokms: "https://..." }`). */
  services: Record<string, string>;
  /** Beyond upstream: when the token expires (Unix seconds). */
  expiresAt: number;
}

/** Metadata returned by a successful device-code login; the token itself stays out of JS. */
export interface AuthResult {
  /** When the token expires (Unix seconds). */
  expiresAt: number;
  /** Seconds until then, at the time of return. */
  expiresIn: number;
}

/**
 * What `store` options accept: any `{ load, save }` object, sync or async (e.g. Redis, a KV
 * store, an HTTP-only cookie). `load` resolving `null`/`undefined` means nothing is stored.
 * A throwing or rejecting `load` is a cache miss and a failing `save` is ignored (both are
 * logged with `console.warn`, as upstream).
 *
 * Beyond upstream: every store is scoped per credential. `load` and `save` get the scope as
 * an extra argument, a non-secret string naming the workspace, the key id or JWT digest and
 * the audience (`access-key/<workspace>/<key id>/<audience>`, `oidc/<workspace>/<sha256>`):
 * a store shared by several strategies keys what it keeps by it. A store that ignores it is
 * safe too: a token saved for another scope (or with none) is a miss, costing one request.
 */
export interface TokenStore {
  load(scope: string): Promise<string | null | undefined> | string | null | undefined;
  save(json: string, scope: string): Promise<void> | void;
}

/** Options shared by the strategies that talk to CTS. Beyond upstream (Node entry). */
export interface StrategyOptions {
  /** CTS URL: beats `CS_CTS_HOST` and region discovery, for this strategy only. */
  baseUrl?: string;
  /** Where tokens are persisted between processes or requests. */
  store?: TokenStore | NativeTokenStore;
  /** Audience of access-key tokens. */
  audience?: string;
  /** Default timeout of each token fetch and of your callbacks, in ms (default 30000). */
  timeoutMs?: number;
  /** Refresh window in seconds (default 90, never more than half a token's lifetime). */
  leewaySecs?: number;
  /**
   * Beyond upstream 0.42 (upstream 0.43's `HttpTransport`): your own HTTP client carries every
   * request of the strategy (a proxy, custom TLS, tracing). Called with the request (headers
   * include the library's `user-agent`; replace it if you like, never drop it) and resolves
   * the server's answer, whatever its status. A throw or a rejection (no answer) is a
   * `REQUEST_ERROR`.
   */
  transport?: HttpTransport;
  /**
   * Called on the JS thread with each thing the refresh engine does (never a secret). The
   * engine never waits for it; if it throws, a `StackAuthWarning` process warning carries the
   * error as `cause`.
   */
  onEvent?: (event: StackAuthEvent) => void;
}

/** What the refresh engine did (`onEvent`). */
export interface StackAuthEvent {
  readonly kind: 'refresh_started' | 'refresh_succeeded' | 'refresh_failed' | 'token_invalidated' | 'store_degraded';
  readonly reason?: 'initial' | 'stale' | 'expired' | 'forced';
  readonly source?: 'memory' | 'store' | 'network';
  readonly latencyMs?: number;
  /** The failure's code (refresh_failed, store_degraded). */
  readonly errorCode?: string;
  readonly generation?: number;
  /** Events dropped before this one because the handler fell 256 behind. */
  readonly dropped?: number;
}

/** Beyond upstream 0.42: a request for {@link HttpTransport}. It carries credentials: never log it. */
export interface HttpRequest {
  method: string;
  url: string;
  /** `[name, value]` pairs, names in lower case. */
  headers: [string, string][];
  body: string;
}

/** Beyond upstream 0.42: what an {@link HttpTransport} resolves. */
export interface HttpResponse {
  status: number;
  headers?: [string, string][] | Record<string, string> | { entries(): IterableIterator<[string, string]> };
  body?: string | Uint8Array;
}

/** Beyond upstream 0.42: a host HTTP client, e.g. `async (r) => { const res = await fetch(r.url, r); return { status: res.status, headers: res.headers, body: await res.text() }; }`. */
export type HttpTransport = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** Options for `AutoStrategy.detect()`. */
export interface AutoStrategyOptions extends StrategyOptions {
  /** An explicit access key (beats `CS_CLIENT_ACCESS_KEY`). */
  accessKey?: string;
  /** An explicit workspace CRN (beats `CS_WORKSPACE_CRN`). */
  workspaceCrn?: string;
  /** Beyond upstream: the profile directory (beats `CS_CONFIG_PATH` and `~/.cipherstash`). */
  profileDir?: string;
}

/** Beyond upstream: options of `DeviceSessionStrategy.fromProfile()`. */
export interface DeviceSessionOptions extends StrategyOptions {
  profileDir?: string;
}

/** Beyond upstream (upstream's wasm entry has this shape): `OidcFederationStrategy.create`'s third argument. */
export interface OidcFederationStrategyOptions extends StrategyOptions {
  /** How many provider JWTs keep a cached token (default 1024). */
  cacheCapacity?: number;
}

/** Beyond upstream: what every strategy has (for code that accepts any of them). */
export interface AuthStrategy {
  getToken(): Promise<Result<TokenResult, AuthFailure>>;
}

/** What every strategy can do. */
declare abstract class Strategy implements AuthStrategy {
  /**
   * A valid token, refreshed or re-acquired as needed. Never rejects for a domain error.
   * Beyond upstream: `options.timeoutMs` bounds this call's wait (a cached token returns at once):
   * 1 to 86400000; another number resolves to an INVALID_ARGUMENT failure (the library's check),
   * a non-number rejects with a TypeError.
   */
  getToken(options?: { timeoutMs?: number }): Promise<Result<TokenResult, AuthFailure>>;
  /**
   * Beyond upstream: after a 401 with `token`, forces a refresh if it is still the current
   * token (a late 401 never throws away a newer one). `{ data: true }` when a refresh started.
   * An OIDC strategy refreshes the token of the JWT it was minted for; `AuthStrategyFn` and
   * static strategies cache nothing, so it is `{ data: false }`.
   */
  invalidate(token: string): Result<boolean, AuthFailure>;
  /**
   * Beyond upstream: frees the native strategy now (it is also freed when garbage-collected).
   * Pending `getToken()` calls end with `CANCELLED`; later ones fail with `INVALID_HANDLE`.
   * A device session's refresh already sent still completes and is saved; the process stays
   * alive (at most 5 s) until it is.
   */
  close(): void;
  /** The same as `close()` (the name of upstream's wasm-bindgen objects). */
  free(): void;
  /** `using s = ...`: close() at the end of the scope. */
  [Symbol.dispose](): void;
  /** `await using s = ...`: close() at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Detects credentials: an access key (`CS_CLIENT_ACCESS_KEY` + `CS_WORKSPACE_CRN`, or the
 * options) beats the device session saved by `stack-auth login`; otherwise `NOT_AUTHENTICATED`.
 */
export declare class AutoStrategy extends Strategy {
  private constructor();
  static detect(options?: AutoStrategyOptions | undefined | null): Result<AutoStrategy, AuthFailure>;
}

/** A static access key for service-to-service or CI/CD authentication. */
export declare class AccessKeyStrategy extends Strategy {
  private constructor();
  /**
   * The CRN format is `crn:<region>:<workspace-id>`. A token for another workspace fails
   * `getToken()` with `WORKSPACE_MISMATCH`. `options` is beyond upstream's Node entry (its
   * wasm entry takes `{ store }`).
   */
  static create(
    workspaceCrn: string,
    accessKey: string,
    options?: StrategyOptions | undefined | null,
  ): Result<AccessKeyStrategy, AuthFailure>;
}

/** The OAuth device session saved to the profile directory (`~/.cipherstash`). */
export declare class DeviceSessionStrategy extends Strategy {
  private constructor();
  static fromProfile(options?: DeviceSessionOptions | undefined | null): Result<DeviceSessionStrategy, AuthFailure>;
}

/**
 * Deprecated alias for {@link DeviceSessionStrategy} (as upstream).
 * @deprecated Renamed to `DeviceSessionStrategy`.
 */
export declare const OAuthStrategy: typeof DeviceSessionStrategy;

/** Federates a third-party OIDC JWT (Clerk, Supabase, …) into a CTS service token. */
export declare class OidcFederationStrategy extends Strategy {
  private constructor();
  /**
   * `getJwt` is called on every `getToken()`, on the caller's thread and async context
   * (AsyncLocalStorage included), and must return (or resolve to) the current OIDC JWT; each
   * distinct JWT is exchanged once and its token cached, so a cached call never leaves the JS
   * thread. `getJwt` may be `null` when every caller passes `getToken({ jwt })`. The third
   * argument is upstream's `baseUrl`, or (beyond upstream's Node entry) an options object such
   * as `{ baseUrl, store }`.
   */
  static create(
    workspaceCrn: string,
    getJwt: (() => Promise<string> | string) | null,
    baseUrl?: string | OidcFederationStrategyOptions | undefined | null,
  ): Result<OidcFederationStrategy, AuthFailure>;
  /** Like `create`, with the federated token persisted through `loadToken` / `saveToken`. */
  static createWithStore(
    workspaceCrn: string,
    getJwt: () => Promise<string> | string,
    loadToken: (scope: string) => Promise<string | null | undefined> | string | null | undefined,
    saveToken: (json: string, scope: string) => Promise<void> | void,
    baseUrl?: string | undefined | null,
  ): Result<OidcFederationStrategy, AuthFailure>;
  /**
   * `jwt`: the caller's OIDC JWT (a multi-tenant server passes each request's JWT to one
   * strategy); `getJwt` is then not called. `timeoutMs` bounds the exchange.
   */
  getToken(options?: { timeoutMs?: number; jwt?: string }): Promise<Result<TokenResult, AuthFailure>>;
}

/**
 * Beyond upstream: your own function gives the token (sync or async). It is asked on every
 * `getToken()` (no caching), on the caller's thread and async context; a string returned at
 * once becomes the token without leaving the JS thread. While its promise is pending,
 * concurrent callers share it and `timeoutMs` bounds it. A failure's `error.cause` is what it
 * threw or rejected with. A throw or rejection becomes
 * a `CUSTOM` failure (or the error's `code`, when it is an {@link AuthErrorCode}).
 */
export declare class AuthStrategyFn extends Strategy {
  private constructor();
  static create(
    fn: () => PromiseLike<string> | string,
    options?: { timeoutMs?: number } | undefined | null,
  ): Result<AuthStrategyFn, AuthFailure>;
}

/** Beyond upstream: always the same token (tests, fixed credentials). */
export declare class StaticTokenStrategy extends Strategy {
  private constructor();
  static create(token: string): Result<StaticTokenStrategy, AuthFailure>;
}

/** Beyond upstream: a token store held by the library (pass it as `store`). */
export declare class NativeTokenStore {
  protected constructor();
  /** Releases this handle; strategies using the store keep it alive. */
  close(): void;
  /** The same as `close()`. */
  free(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Beyond upstream: a store private to this process; share it between strategies. */
export declare class InMemoryTokenStore extends NativeTokenStore {
  constructor();
}

/** Beyond upstream: a store backed by your `load()` / `save(json)` (sync or async). */
export declare class TokenStoreFn extends NativeTokenStore {
  private constructor();
  static create(
    store: Partial<TokenStore>,
    options?: { timeoutMs?: number } | undefined | null,
  ): Result<TokenStoreFn, AuthFailure>;
}

/**
 * Beyond upstream: `"memory:"`, `"file:///absolute/path"` (shared by every process on the host) or
 * a Redis URL shared by a fleet: `redis://[user:pass@]host:port/db`, `rediss://…` (TLS; `?ca=`,
 * `?cert=&key=`), `redis+sentinel://h1:26379,h2:26379/master/db`, `redis+cluster://h1:7000,h2:7001`
 * (README.md, "Redis token stores").
 */
export declare function openTokenStore(url: string): Result<NativeTokenStore, AuthFailure>;
/**
 * Resolves `true` once every store save and device-session exchange in flight has finished
 * (`false` after `timeoutMs`, default 5000). A token reaches its callers before the store save
 * that follows it: `await flush()` before sending a response whose `cookieStore` must be written.
 */
export declare function flush(timeoutMs?: number): Promise<boolean>;

/**
 * Beyond upstream: `fn(level, message)` receives the library's log lines at 'info' and above
 * (a failing store: 'warn', "token store load failed error=..."); the library words them and
 * never puts a secret in them. `null` (the default): 'warn' and 'error' lines go to
 * `console.warn`, prefixed "stack-auth: ". Called on the main thread's event loop.
 */
export declare function setLogHandler(fn: ((level: 'debug' | 'info' | 'warn' | 'error', message: string) => void) | null): void;

/** The pending state of an OAuth 2.0 Device Authorization flow. */
export declare class DeviceCodeResult {
  private constructor();
  get userCode(): string;
  get verificationUri(): string;
  get verificationUriComplete(): string;
  get expiresIn(): number;
  /**
   * Polls until the user completes authorization. **Consumes** the flow: a second call fails
   * with `ALREADY_CONSUMED`. Beyond upstream: `options.timeoutMs` bounds the wait.
   */
  pollForToken(options?: { timeoutMs?: number }): Promise<Result<AuthResult, AuthFailure>>;
  /** Opens the verification URI in the default browser. Non-consuming. */
  openInBrowser(): Result<boolean, AuthFailure>;
  /** Beyond upstream: abandons the flow; a pending poll ends with `CANCELLED`. */
  close(): void;
  /** The same as `close()`. */
  free(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Beyond upstream: options of the device-code calls. */
export interface DeviceCodeOptions {
  baseUrl?: string;
  profileDir?: string;
  timeoutMs?: number;
  /** Your own HTTP client carries the flow's requests, its polls included (see `StrategyOptions.transport`). */
  transport?: HttpTransport;
}

/** Begin the OAuth 2.0 Device Authorization flow (`clientId` defaults to `"cli"`). */
export declare function beginDeviceCodeFlow(
  region: string,
  clientId?: string | null,
  options?: DeviceCodeOptions,
): Promise<Result<DeviceCodeResult, AuthFailure>>;

/** `beginDeviceCodeFlow` against an explicit CTS host (upstream's optional export). */
export declare function beginDeviceCodeFlowWithBaseUrl(
  region: string,
  clientId: string,
  baseUrl: string,
): Promise<Result<DeviceCodeResult, AuthFailure>>;

/** Provision a device client in ZeroKMS after login (a no-op when already bound). */
export declare function bindClientDevice(options?: {
  profileDir?: string;
  timeoutMs?: number;
  /** Your own HTTP client carries the ZeroKMS request (see `StrategyOptions.transport`). */
  transport?: HttpTransport;
}): Promise<Result<void, AuthFailure>>;

/** `bindClientDevice` for an explicit profile directory (upstream's optional export). */
export declare function bindClientDeviceWithProfileDir(profileDir: string): Promise<Result<void, AuthFailure>>;

/** Beyond upstream: the loaded libstack_auth. */
export declare function libraryInfo(): { version: string; abi: number; build: string };
