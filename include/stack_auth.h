/*
 * stack_auth.h — the C interface of libstack_auth.
 *
 * libstack_auth gets short-lived CipherStash service tokens and keeps them fresh. It is a Go
 * engine behind this small, handle-based C ABI, which the Node, Python and Ruby bindings use
 * and which C and Rust programs link directly.
 *
 * Conventions (read once; every function below follows them)
 * -----------------------------------------------------------
 * Status   Every fallible function returns sa_status: SA_OK (0) or a negative SA_E_* code.
 *          The numbers never change; new codes are only added.
 * Errors   After a failure, sa_last_error_code/_message/_json describe it. The detail is
 *          kept per thread: it is valid until the next fallible sa_* call on the same thread
 *          (the void *_free functions and sa_free leave it alone, so a finalizer may run in
 *          between), and a successful call clears it. Messages are one line and never
 *          contain secrets.
 * Handles  sa_strategy, sa_store, sa_token, sa_request and sa_device_flow are uint64_t
 *          handles: 0 is never valid and values are never reused. A stale, freed or invented
 *          handle gives SA_E_INVALID_HANDLE; it never crashes. Every handle the library
 *          hands out has a *_free, which accepts 0 and stale handles.
 * Out      Out-parameters come first and are written only on success.
 * Strings  Inputs are copied before the call returns; the library never keeps a host
 *          pointer. Inputs are UTF-8; invalid UTF-8 is SA_E_INVALID_ARG. Strings the library
 *          returns (char **out, size_t *out_len) are NUL-terminated, owned by the caller,
 *          and released with sa_free, which zeroes them first. Never call free() on them.
 * Threads  Every function may be called from any thread, concurrently, on the same handle,
 *          except that a *_free must not race with other calls on that handle (a racing
 *          call then gets SA_E_INVALID_HANDLE).
 * Hooks    Host callbacks are registered as (fn, user_data, destroy). A get-token hook runs
 *          on the thread that needs its answer (sa_get_token's caller, or a library thread
 *          for async calls), so one that resolves inside its call costs about a function
 *          call; store and event hooks run on library threads. No hook runs while an
 *          internal lock is held, and none may block. A hook does not return its answer: it completes the
 *          sa_request it was given, exactly once, from any thread, now or later, with
 *          sa_request_resolve or sa_request_reject. A hook that never completes its request
 *          times out. destroy(user_data) is called exactly once, after the last call of the
 *          hook, when the handle it belongs to is freed (and, for a store, no strategy uses
 *          it any more). Once sa_strategy_free has returned, the library begins no new
 *          call of that strategy's hooks (a call it had begun may still be arriving, and
 *          one running may finish).
 *          A hook may call any sa_* function, including sa_get_token on another strategy
 *          (even one sharing its store: that store's hooks are then called again, on
 *          another thread, while this call waits). A hook must not wait for the token it
 *          is helping to produce: sa_get_token or sa_get_token_value on the strategy being
 *          served (or a strategy the hook itself serves) waits for this very hook and ends
 *          with SA_E_TIMEOUT; sa_try_get_token answers at once (SA_E_WOULD_BLOCK).
 * Blocking sa_get_token, sa_get_token_value, sa_device_code_begin, sa_device_code_poll and
 *          sa_bind_client_device block the calling thread (on the network or a hook), for at
 *          most their timeout. Hosts with a single event-loop thread use sa_try_get_token (never blocks)
 *          and sa_get_token_async (completes on a library thread), and run the device-code
 *          calls on a thread of their own.
 * fork     The library must not be used across fork(): in a child process every function
 *          returns SA_E_FORKED at once. Load it after forking (gunicorn preload_app, Puma
 *          preload_app!, multiprocessing's fork start method).
 * Env      CS_CTS_HOST, CS_CLIENT_ACCESS_KEY, CS_WORKSPACE_CRN, CS_CONFIG_PATH,
 *          CS_TOKEN_STORE, the proxy settings HTTPS_PROXY, HTTP_PROXY, NO_PROXY (or lower
 *          case; loopback is never proxied) and the extra trusted certificates SSL_CERT_FILE
 *          and SSL_CERT_DIR (added to the system's) are read with getenv() when a strategy is
 *          built, so values the host sets after loading the library are honoured.
 * Runtime  The library contains a Go runtime: it starts when the library is loaded, cannot
 *          be unloaded (dlclose is a no-op), and a process must not load a second Go-built
 *          shared library.
 */
#ifndef STACK_AUTH_H
#define STACK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(SA_BUILDING_LIBRARY) /* build/lib.sh: exports come from a .def */
#define SA_API
#elif defined(_WIN32)
#define SA_API __declspec(dllimport)
#elif defined(__GNUC__)
#define SA_API __attribute__((visibility("default")))
#else
#define SA_API
#endif

/* BEGIN GENERATED version from build/gen/tables.json (make gen) */
#define SA_VERSION_MAJOR 0
#define SA_VERSION_MINOR 1
#define SA_VERSION_PATCH 0
#define SA_VERSION_NUMBER ((SA_VERSION_MAJOR << 16) | (SA_VERSION_MINOR << 8) | SA_VERSION_PATCH)
#define SA_VERSION_STRING "0.1.0"
/* The ABI number: the soname is libstack_auth.so.<SA_ABI_VERSION>. Bindings compare it with
   sa_abi_version() at load and refuse a mismatch. */
#define SA_ABI_VERSION 1
/* END GENERATED version */

typedef int32_t sa_status;
typedef uint64_t sa_strategy;
typedef uint64_t sa_store;
typedef uint64_t sa_token;       /* a ServiceToken */
typedef uint64_t sa_request;     /* a pending host-callback request */
typedef uint64_t sa_device_flow; /* a pending device-code login */
typedef uint64_t sa_transport;   /* a host HTTP transport */

/* BEGIN GENERATED statuses from build/gen/tables.json (make gen) */
#define SA_OK 0
#define SA_E_AUTH (-1)           /* a stack-auth error: see sa_last_error_code() */
#define SA_E_INVALID_ARG (-2)    /* NULL where a value is required, bad UTF-8 or JSON */
#define SA_E_INVALID_HANDLE (-3) /* 0, freed, stale or unknown handle */
#define SA_E_TIMEOUT (-4)        /* the timeout passed before an answer */
#define SA_E_CANCELLED (-5)      /* the handle was freed while the operation waited */
#define SA_E_FORKED (-6)         /* called in a child process after fork() */
#define SA_E_CALLBACK (-7)       /* a host hook rejected its request */
#define SA_E_INTERNAL (-8)       /* a bug in the library; it was contained */
#define SA_E_WOULD_BLOCK (-9)    /* sa_try_get_token: no usable token without waiting */
/* END GENERATED statuses */

/* ---- Callback shapes ------------------------------------------------------------------ */

/* Acquire a token (AuthStrategyFn) or a provider JWT (OIDC): resolve req with the bearer
   string. This hook runs on the thread that needs the answer (the caller of sa_get_token, or
   a library thread for async calls) and must not block: resolve req inside the call (the fast
   path: no thread hop, about the cost of a function call) or return and resolve it later from
   any thread. The store hooks below run on a library thread. */
typedef void (*sa_get_token_fn)(void *user_data, sa_request req);
/* Load the stored token JSON: resolve req with it, or with len 0 for "nothing stored". */
typedef void (*sa_store_load_fn)(void *user_data, sa_request req);
/* Send one HTTP request with the host's own client (sa_transport_new). request_json is
   {"method":"POST","url":"https://...","headers":[["content-type","application/json"],
   ["user-agent","stack-auth/..."], ...]} (lower-case names, in order); body is len bytes. Both
   are borrowed for the duration of the call and zeroed afterwards: they carry credentials
   (copy what you send later). Answer with sa_request_respond (any HTTP status: the library
   classifies it) or, when no answer came (DNS, refused, TLS), sa_request_reject: that is a
   REQUEST_ERROR of the call that needed the request. */
typedef void (*sa_http_send_fn)(void *user_data, sa_request req, const char *request_json, const char *body,
                                size_t len);
/* Save token_json (borrowed for the duration of the call; zeroed afterwards): resolve req
   (value ignored) or reject it when saving failed. */
typedef void (*sa_store_save_fn)(void *user_data, sa_request req, const char *token_json, size_t len);
/* The outcome of sa_get_token_async. On SA_OK, token is a new handle the callee owns (free it
   with sa_token_free); otherwise token is 0 and error_json (borrowed for the duration of the
   call) describes the failure as sa_last_error_json would. */
typedef void (*sa_token_done_fn)(void *user_data, sa_status status, sa_token token, const char *error_json);
typedef void (*sa_destroy_fn)(void *user_data);
/* One engine event (sa_strategy_set_event_hook) as JSON, borrowed for the call. */
typedef void (*sa_event_fn)(void *user_data, const char *event_json, size_t len);
/* One of the library's log lines (sa_set_log_handler), borrowed for the call; level is one
   of SA_LOG_*. */
typedef void (*sa_log_fn)(void *user_data, int32_t level, const char *message, size_t len);

/* ---- Version -------------------------------------------------------------------------- */

/* SA_ABI_VERSION of the loaded library. Never fails. */
SA_API uint32_t sa_abi_version(void);
/* SA_VERSION_NUMBER of the loaded library. Never fails. */
SA_API uint32_t sa_version_number(void);
/* "0.1.0"; static storage, never free it. */
SA_API const char *sa_version_string(void);
/* "stack-auth 0.1.0 (go1.26.8 linux/amd64)"; static storage, never free it. */
SA_API const char *sa_build_info(void);

/* ---- Errors (per thread) -------------------------------------------------------------- */

/* The stack-auth code of the last failure on this thread ("INVALID_ACCESS_KEY",
   "WORKSPACE_MISMATCH", ...), or NULL after a success. Valid until the next sa_* call on this
   thread; do not free. */
SA_API const char *sa_last_error_code(void);
/* The one-line message of the last failure on this thread, or NULL. Same lifetime. */
SA_API const char *sa_last_error_message(void);
/* {"type","message","help"?,"url"?,"retryable", ...payload} of the last failure on this
   thread, or NULL. Same lifetime. "retryable" (bool) says whether trying again may succeed
   (REQUEST_ERROR, SERVER_ERROR, STORE_ERROR, INTERNAL_ERROR, CUSTOM, TIMEOUT; docs/errors.md).
   WORKSPACE_MISMATCH carries "expected" and "actual". Text a server sent is kept to one line
   with any secret of the request masked. */
SA_API const char *sa_last_error_json(void);
/* The status of the last call on this thread (SA_OK after a success). */
SA_API sa_status sa_last_error_status(void);
/* A warning left by the last call on this thread although it succeeded, or NULL: today, the
   option keys ignored for a host language whose upstream ignores unknown keys (node), once
   per key per process. Same lifetime as sa_last_error_message. A host shows it its own way
   (Node: process.emitWarning). */
SA_API const char *sa_last_warning(void);

/* ---- Host language -------------------------------------------------------------------- */

/* Names the language of the host, once, before other calls: "c" (the default), "rust",
   "node", "python", "ruby" or "go". Help texts of errors then name that language's API, and
   "node" makes options_json ignore unknown keys with a warning (sa_last_warning), as
   @cipherstash/auth does. Any other name: SA_E_INVALID_ARG. Thread-safe; the last call wins. */
SA_API sa_status sa_set_host_language(const char *name);

/* ---- Strategies ----------------------------------------------------------------------- */

/* options_json may be NULL or a JSON object with any of these keys (unknown keys are
   SA_E_INVALID_ARG, except for host language "node": see sa_set_host_language):
     "baseUrl"       string   CTS URL; beats CS_CTS_HOST and discovery
     "store"         number   an sa_store handle (the strategy keeps its own reference)
     "transport"     number   an sa_transport handle: every HTTP request of the strategy goes
                              through the host's client (the strategy keeps a reference);
                              sa_device_code_begin (the flow keeps it until freed) and
                              sa_bind_client_device take it too
     "audience"      string   audience of access-key tokens
     "accessKey"     string   AutoStrategy: beats CS_CLIENT_ACCESS_KEY
     "workspaceCrn"  string   AutoStrategy: beats CS_WORKSPACE_CRN
     "profileDir"    string   beats CS_CONFIG_PATH and ~/.cipherstash
     "timeoutMs"     number   default timeout of blocking calls and hooks (30000)
     "leewaySecs"    number   refresh window (90; never more than half a token's lifetime)
     "cacheCapacity" number   OIDC: how many provider JWTs keep a token (1024)
   Building a strategy does no network I/O. */

/* AutoStrategy: an access key (accessKey or CS_CLIENT_ACCESS_KEY, with workspaceCrn or
   CS_WORKSPACE_CRN) beats a device session in the profile directory; with neither, SA_E_AUTH
   with NOT_AUTHENTICATED. CS_TOKEN_STORE selects a store when options name none. */
SA_API sa_status sa_auto_strategy_detect(sa_strategy *out, const char *options_json);
/* An access key bound to workspace_crn ("crn:<region>:<workspace-id>"; the region is one of
   upstream's eight, listed in INVALID_CRN's help and docs/errors.md, and nothing is sent for
   any other). Errors: INVALID_CRN, INVALID_ACCESS_KEY, INVALID_URL (bad CS_CTS_HOST). */
SA_API sa_status sa_access_key_strategy_new(sa_strategy *out, const char *workspace_crn,
                                            const char *access_key, const char *options_json);
/* The device session saved by a device-code login, refreshed with its rotating refresh token
   under a lock shared with other processes. Errors: STORE_ERROR, NOT_AUTHENTICATED. */
SA_API sa_status sa_device_session_strategy_from_profile(sa_strategy *out, const char *options_json);
/* Always returns token (tests, fixed credentials). token must be one line: CR or LF is
   SA_E_INVALID_ARG. */
SA_API sa_status sa_static_token_strategy_new(sa_strategy *out, const char *token);
/* AuthStrategyFn: fn is asked for a token on every sa_get_token (no caching); concurrent
   callers share one request. A request resolved with len 0 is the hook's failure
   (SA_E_CALLBACK), never an empty token. On failure of this call destroy is NOT called. */
SA_API sa_status sa_strategy_fn_new(sa_strategy *out, sa_get_token_fn fn, void *user_data,
                                    sa_destroy_fn destroy);
/* sa_strategy_fn_new with options_json: "timeoutMs" bounds each call of fn (default 30000)
   and is the default timeout of sa_get_token. */
SA_API sa_status sa_strategy_fn_new_ex(sa_strategy *out, sa_get_token_fn fn, void *user_data,
                                       sa_destroy_fn destroy, const char *options_json);
/* OidcFederationStrategy: provider is asked for the caller's OIDC JWT on every sa_get_token;
   each distinct JWT is exchanged once and its token cached and refreshed. As upstream, an
   empty JWT (len 0) is sent like any other, and the server's answer is the error (SA_E_AUTH,
   usually SERVER_ERROR). provider may be NULL when every caller passes its JWT
   (sa_oidc_get_token_with_jwt and its variants); sa_get_token then fails with SA_E_AUTH
   (INTERNAL_ERROR). destroy (may be NULL) runs once, at free. */
SA_API sa_status sa_oidc_federation_strategy_new(sa_strategy *out, const char *workspace_crn,
                                                 sa_get_token_fn provider, void *user_data,
                                                 sa_destroy_fn destroy, const char *options_json);
/* Frees the strategy and returns at once: waiting calls end with SA_E_CANCELLED, and a call
   racing the free gets SA_E_INVALID_HANDLE or SA_E_CANCELLED; its hook's destroy runs once the
   hook is no longer running. Never waits for a hook. Accepts 0 and stale handles.
   An OIDC or access-key strategy's refreshes stop: a refresh in flight is cancelled, and its
   answer is neither installed nor saved to the store. A device session's refresh that may
   already have reached the server is the exception: it finishes and saves the rotated
   refresh token in the background (call sa_flush before exiting). */
SA_API void sa_strategy_free(sa_strategy s);
/* Forces a refresh if token is still the strategy's current token (after a 401), so a late
   401 never throws away a newer token. *out_refreshing (may be NULL) is 1 when it did. An
   OIDC strategy refreshes the token of the JWT that token was minted for (other JWTs' tokens
   are untouched). AuthStrategyFn and static-token strategies cache nothing, so there is
   nothing to invalidate: SA_OK with *out_refreshing 0 (fn is asked again on every call; a
   static token stays what it is). */
SA_API sa_status sa_strategy_invalidate(sa_strategy s, sa_token token, int32_t *out_refreshing);

/* sa_strategy_invalidate by the bearer string itself (for hosts that keep only the string). */
SA_API sa_status sa_strategy_invalidate_value(sa_strategy s, const char *token, size_t len,
                                              int32_t *out_refreshing);

/* ---- Tokens --------------------------------------------------------------------------- */

/* Blocks until a usable token is available or timeout_ms passes (0: the strategy's timeoutMs;
   else 1 to 86400000 ms, a day). Every per-call timeout_ms of this header is checked the same
   way: a negative or larger one is SA_E_INVALID_ARG (INVALID_ARGUMENT), before anything else
   happens. A cached token returns at once. A new token is returned as soon as it is minted;
   its store save follows (a slow save never makes this time out). Errors: SA_E_AUTH (see the
   error code), SA_E_TIMEOUT, SA_E_CALLBACK, SA_E_CANCELLED, SA_E_INVALID_ARG. The caller owns
   *out. */
SA_API sa_status sa_get_token(sa_token *out, sa_strategy s, int32_t timeout_ms);
/* Never blocks: a cached token (a stale one starts a background refresh), a settled
   answer (SA_E_AUTH with a remembered refusal, EXPIRED_TOKEN when nothing can refresh the
   token, ALREADY_CONSUMED once the strategy is closed), or SA_E_WOULD_BLOCK when only
   waiting would give one; use sa_get_token_async then. */
SA_API sa_status sa_try_get_token(sa_token *out, sa_strategy s);
/* Checks a call's timeout_ms as every call that takes one does: SA_OK for 0 or 1 to 86400000,
   else SA_E_INVALID_ARG (INVALID_ARGUMENT, help in the host language's words). For a host
   that tries first (sa_try_get_token takes no timeout) and waits second: checking first
   gives a bad timeout the same answer whether or not a token is cached. */
SA_API sa_status sa_check_timeout(int32_t timeout_ms);
/* Starts getting a token and returns at once; done is called exactly once, on a library
   thread, within the strategy's timeoutMs. Returns an error (and never calls done) only when
   it could not start.
   Every done of the process runs on one pool of 4 library threads, in the order the outcomes
   arrive: however slow done is, or however many calls are pending, the library starts no
   more threads for them (pending completions wait in memory). So done should return
   promptly and must not wait for another completion. A done that blocks holds one of the 4
   threads until it returns; if all 4 block forever, no later done is ever called (the
   outcomes queue up), while refreshes, sa_get_token and the other functions keep working. */
SA_API sa_status sa_get_token_async(sa_strategy s, sa_token_done_fn done, void *user_data);
/* sa_get_token_async with its own timeout: done is called within timeout_ms (0: the
   strategy's timeoutMs) with SA_E_TIMEOUT if no token came by then. A negative timeout_ms or
   one over a day is SA_E_INVALID_ARG, and done is never called. */
SA_API sa_status sa_get_token_async_ex(sa_strategy s, int32_t timeout_ms, sa_token_done_fn done,
                                       void *user_data);
/* sa_get_token and sa_token_value in one call, without a token handle: the bearer string of
   a usable token (a cached one at once). Free *out with sa_free. */
SA_API sa_status sa_get_token_value(sa_strategy s, int32_t timeout_ms, char **out, size_t *out_len);
/* The bearer string. Free *out with sa_free. */
SA_API sa_status sa_token_value(sa_token t, char **out, size_t *out_len);
/* {"token","subject","workspaceId","issuer","services","expiresAt"}. Free with sa_free. */
SA_API sa_status sa_token_json(sa_token t, char **out, size_t *out_len);
SA_API void sa_token_free(sa_token t);

/* ---- Stores --------------------------------------------------------------------------- */

/* Every store is scoped per credential: a strategy's loads and saves are for its scope,
   "access-key/<workspace id>/<key id>/<audience>" or "oidc/<workspace id>/<hex SHA-256 of the
   JWT>" (each part percent-escaped; never secret), so strategies of different credentials
   (another key, another audience, another JWT) sharing a store never get each other's token.
   Built-in stores keep one token per scope. Each saved token JSON carries its scope
   ("store_scope"); a loaded token of another scope, or without one (saved by a version before
   scopes), is a miss: it costs one request, never a wrong token. */

/* A store private to this process. */
SA_API sa_status sa_store_memory_new(sa_store *out);
/* A store backed by host hooks (TokenStoreFn). Load failures and invalid JSON are cache
   misses; save failures are ignored. save runs after the callers waiting for the new token
   have it; the next refresh waits for it to complete, and sa_flush waits for it too. load and
   save are not serialised: with several strategies on one store they may run at the same
   time, on different threads. On failure of this call destroy is NOT called. A store shared
   by several strategies keys what it keeps by sa_request_scope; one that keeps a single slot
   is safe too, at the cost of a request whenever another credential saved last. */
SA_API sa_status sa_store_fn_new(sa_store *out, sa_store_load_fn load, sa_store_save_fn save,
                                 void *user_data, sa_destroy_fn destroy);
/* sa_store_fn_new with options_json: "timeoutMs" bounds each load and save (default 30000). */
SA_API sa_status sa_store_fn_new_ex(sa_store *out, sa_store_load_fn load, sa_store_save_fn save,
                                    void *user_data, sa_destroy_fn destroy, const char *options_json);
/* Opens a store by URL:
     "memory:"                          private to this process
     "file:///absolute/path"            shared by every process on the host (one 0600 file,
                                         a token per scope)
     "redis://[user:pass@]host[:port][/db]"                   one Redis server
     "rediss://..."                                           the same over TLS
     "redis+sentinel://[user:pass@]h1:26379[,h2:26379...]/master[/db]"   Sentinel
     "redis+cluster://[user:pass@]h1:7000[,h2:7001...]"                 Cluster
   (rediss+sentinel://, rediss+cluster://: with TLS), shared by every host of a fleet. Redis
   query parameters: prefix, timeout (per operation, default 500ms), lock_ttl (default 30s);
   with TLS ca=/path.pem (else SSL_CERT_FILE, read with getenv() now, else the system roots)
   and cert=/path.pem&key=/path.pem (a client certificate). README.md "Redis token stores"
   lists the ACL rules the Redis user needs. No connection is made here. A bad URL returns
   SA_E_AUTH with code INVALID_URL and a message naming the wrong part (never the password). */
SA_API sa_status sa_store_open(sa_store *out, const char *url);
/* Releases this handle; strategies using the store keep it alive. When neither this handle
   nor any strategy uses it any more, the store is closed (a Redis store's connections with
   it). */
SA_API void sa_store_free(sa_store st);

/* ---- Host HTTP transport (upstream 0.43's HttpTransport) ---------------------------------- */

/* A transport that carries a strategy's HTTP requests with the host's own client (a proxy,
   custom TLS, tracing): pass the handle as "transport" in a strategy's options_json. send is
   called on a library thread for each request (see sa_http_send_fn); every request already
   carries the library's user-agent (a host may replace it, never drop it: the production
   edge refuses a request without one). options_json: NULL or {"timeoutMs": n}, how long a
   request may stay unanswered (default 30000; then SA_E_TIMEOUT). One transport may serve
   many strategies at once. destroy (may be NULL) runs once, after the last send, when the
   handle and every strategy using it are freed. */
SA_API sa_status sa_transport_new(sa_transport *out, sa_http_send_fn send, void *user_data, sa_destroy_fn destroy,
                                  const char *options_json);
/* Releases the handle; strategies using the transport keep it alive. 0 and unknown handles
   are ignored. */
SA_API void sa_transport_free(sa_transport t);

/* ---- Completing hook requests (from any thread, at any time) -------------------------- */

/* Completes req with value[0..len). A late or repeated completion returns
   SA_E_INVALID_HANDLE and changes nothing. value may be NULL when len is 0.
   value is checked, and a bad one is SA_E_INVALID_ARG (the message names the problem, never
   the value) and leaves req open for a proper completion: a token or an OIDC JWT (the
   sa_get_token_fn hooks) must be valid UTF-8 without NUL, CR or LF (it is sent as one HTTP
   header line); stored token JSON (sa_store_load_fn) must be valid UTF-8 without NUL (line
   breaks are JSON whitespace; a token inside that breaks the token rule is a cache miss).
   Lifetime: req is valid from the hook's call until its first completion, the hook's timeout
   (timeoutMs), or the free of the handle the hook belongs to, whichever comes first; after
   that every completion returns SA_E_INVALID_HANDLE. Handles are never reused, so a stale
   req never completes another request. */
SA_API sa_status sa_request_resolve(sa_request r, const char *value, size_t len);
/* Answers a transport request (sa_http_send_fn) with the server's answer: its HTTP status
   (100-599), its headers as [["name","value"], ...] (or NULL) and the whole body (len bytes,
   copied). Like resolve: once, from any thread; a bad status or headers_json is
   SA_E_INVALID_ARG and leaves the request open. A transport request answered with
   sa_request_resolve, or another request with this call, is SA_E_INVALID_ARG. */
SA_API sa_status sa_request_respond(sa_request r, int32_t status, const char *headers_json, const char *body,
                                    size_t len);
/* Fails req. code is a stack-auth code (NULL: "CUSTOM"), or the host's own name for the
   failure (an exception class); message may be NULL. The waiting caller gets SA_E_CALLBACK
   with that code and message, except that codes whose message is fixed (NOT_AUTHENTICATED,
   EXPIRED_TOKEN, ACCESS_DENIED, INVALID_GRANT, INVALID_CLIENT, MISSING_WORKSPACE_CRN,
   ALREADY_CONSUMED) carry their fixed message, as FromErrorCode rebuilds them. */
SA_API sa_status sa_request_reject(sa_request r, const char *code, const char *message);
/* The scope a store's load or save request is for (see Stores), while the request is
   pending: call it from the hook, before completing req. Free *out with sa_free. Errors:
   SA_E_INVALID_ARG (out is NULL, or req belongs to a hook other than a store's),
   SA_E_INVALID_HANDLE (req is unknown; after it was completed or timed out it may be). */
SA_API sa_status sa_request_scope(sa_request r, char **out, size_t *out_len);

/* ---- Device-code login ---------------------------------------------------------------- */

/* Starts a device-code login (RFC 8628) for region ("ap-southeast-2.aws"); client_id NULL
   means "cli". options_json keys: baseUrl, profileDir, timeoutMs. Blocks on the network
   (one request to the token service) for at most timeoutMs (default 30000), then SA_E_TIMEOUT;
   never call it on an event-loop thread. */
SA_API sa_status sa_device_code_begin(sa_device_flow *out, const char *region,
                                      const char *client_id, const char *options_json);
/* {"userCode","verificationUri","verificationUriComplete","expiresIn"}. Free with sa_free. */
SA_API sa_status sa_device_flow_json(sa_device_flow f, char **out, size_t *out_len);
/* Opens verificationUriComplete in the OS browser; *out_opened (may be NULL) is 1 when the
 * launcher (xdg-open, open) exited 0, or still runs after 5 s; 0 when it is missing or failed.
 * Blocks the caller until then. */
SA_API sa_status sa_device_flow_open_browser(sa_device_flow f, int32_t *out_opened);
/* Polls until the user approves (the session is saved to the profile directory), denies, or
   the code expires; at most timeout_ms (0: until the code expires; negative or over a day:
   SA_E_INVALID_ARG). *out is the token JSON of sa_token_json. Consumes the flow: a second call
   fails with ALREADY_CONSUMED. */
SA_API sa_status sa_device_code_poll(sa_device_flow f, int32_t timeout_ms, char **out, size_t *out_len);
SA_API void sa_device_flow_free(sa_device_flow f);
/* Registers this device with ZeroKMS and saves secretkey.json (docs/protocol.md 7.3). options_json keys:
   profileDir, timeoutMs. Blocks on the network for at most timeoutMs (default 30000), then
   SA_E_TIMEOUT; never call it on an event-loop thread. */
SA_API sa_status sa_bind_client_device(const char *options_json);

/* ---- The caller's own JWT or token (the host runs its function in its own language) ---- */

/* The token for jwt[0..len), the caller's OIDC JWT, from an OidcFederationStrategy; the
   provider is never called. The per-JWT cache, single-flight exchange and timeouts are the
   same as sa_get_token's: a cached token returns at once, else this blocks up to timeout_ms
   (0: the strategy's timeoutMs; negative or over a day: SA_E_INVALID_ARG). jwt is copied; an
   empty one (len 0, jwt may then be NULL) is sent like a provider's. Errors: SA_E_INVALID_ARG
   (jwt NULL with len > 0, over 16 MiB, not UTF-8 or holding a NUL, CR or LF; s not an OIDC
   strategy), SA_E_INVALID_HANDLE, SA_E_AUTH, SA_E_TIMEOUT, SA_E_CANCELLED. The caller owns
   *out. */
SA_API sa_status sa_oidc_get_token_with_jwt(sa_token *out, sa_strategy s, const char *jwt, size_t len,
                                            int32_t timeout_ms);
/* Never blocks: the token cached for jwt (a stale one starts a background refresh), or
   SA_E_WOULD_BLOCK when only an exchange would give one (use the _async variant then). */
SA_API sa_status sa_oidc_try_get_token_with_jwt(sa_token *out, sa_strategy s, const char *jwt, size_t len);
/* sa_oidc_get_token_with_jwt without blocking: returns at once; done is called exactly once,
   on a library thread, within timeout_ms (0: the strategy's timeoutMs), as for
   sa_get_token_async_ex. Returns an error (and never calls done) only when it could not start. */
SA_API sa_status sa_oidc_get_token_with_jwt_async(sa_strategy s, const char *jwt, size_t len, int32_t timeout_ms,
                                                  sa_token_done_fn done, void *user_data);
/* A token handle for value[0..len), the bearer string the host's own token function returned
   (an AuthStrategyFn run in the host's language), with the library's checks: an empty value
   is SA_E_CALLBACK (CUSTOM), and so is one over 16 MiB. The claims are decoded as for any token; a value that is not a
   JWT is still a token (its claims getters report the decoding error). The caller owns *out. */
SA_API sa_status sa_token_from_value(sa_token *out, const char *value, size_t len);
/* The failure of a host function that threw (run in the host's language): returns
   SA_E_CALLBACK and sets this thread's last error exactly as sa_request_reject(code, message)
   would describe it to the waiting caller (codes with a fixed message keep theirs). */
SA_API sa_status sa_callback_error(const char *code, const char *message);

/* ---- Events ------------------------------------------------------------------------------ */

/* Reports what the strategy's refresh engine does: fn(user_data, json, len) with
     {"kind": "refresh_started" | "refresh_succeeded" | "refresh_failed" | "token_invalidated"
              | "store_degraded",
      "reason"?: "initial" | "stale" | "expired" | "forced", "source"?: "memory" | "store"
              | "network", "latencyMs"?, "errorCode"?, "generation"?, "dropped"?}
   never a secret. Events are queued and delivered in order on one library thread per
   strategy, so the engine never waits for fn; when 256 are waiting, new ones are dropped and
   the next delivered event says how many ("dropped"). fn NULL removes the hook. Replacing or
   removing a hook, or freeing the strategy, calls the previous hook's destroy (may be NULL)
   once it can no longer be called (with fn NULL, destroy is ignored). fn must not call sa_strategy_set_event_hook. Errors:
   SA_E_INVALID_HANDLE; SA_E_INVALID_ARG for a strategy without a refresh engine
   (AuthStrategyFn, StaticTokenStrategy). On an error, destroy is NOT called. */
SA_API sa_status sa_strategy_set_event_hook(sa_strategy s, sa_event_fn fn, void *user_data, sa_destroy_fn destroy);

/* ---- Logging -------------------------------------------------------------------------- */

#define SA_LOG_DEBUG (-4)
#define SA_LOG_INFO 0
#define SA_LOG_WARN 4
#define SA_LOG_ERROR 8
/* Sends the library's log lines at min_level (SA_LOG_*) or above to fn (NULL: none, the
   default; nothing is logged then). The library decides what is logged and words each line (a
   message, then key=value pairs); it never holds a secret. A store that fails, for example,
   logs at SA_LOG_WARN "token store load failed error=..." (the load counts as a miss) or
   "token store save failed error=..." (the token is kept in memory). fn is called on one
   library thread, one line at a time, in order; it must return promptly (lines that arrive
   while 256 are queued are dropped, and the next line delivered says how many). After this
   returns, the previous fn is never called again; so never call it from inside fn. user_data
   must stay valid until fn is replaced. Any thread. Returns SA_OK. */
SA_API sa_status sa_set_log_handler(sa_log_fn fn, int32_t min_level, void *user_data);

/* ---- Process exit --------------------------------------------------------------------- */

/* Waits until no token exchange or store save is in flight any more, in any strategy, for at
   most timeout_ms (0: does not wait, only reports; negative or over a day: SA_E_INVALID_ARG).
   Call it before the process exits (after freeing strategies): a device session whose refresh
   may already have reached the server finishes that exchange and saves the rotated refresh
   token in the background even after sa_strategy_free, and exiting first would lose it (the
   next run gets INVALID_GRANT). 5000 ms is enough (the bindings use it in their exit hooks);
   exchanges are bounded by the refresh timeout. Returns SA_OK when nothing is pending any
   more, SA_E_TIMEOUT otherwise. A store save of a just-minted access-key or OIDC token still
   running when its strategy is freed may be cancelled (Redis, hook stores): call sa_flush
   before freeing to be sure it lands. Any thread, but never from inside a hook (a hook's own
   save would be waited for). */
SA_API sa_status sa_flush(int32_t timeout_ms);

/* ---- Memory --------------------------------------------------------------------------- */

/* Zeroes and frees a string the library returned. Accepts NULL. A pointer the library did not
   return, or one already freed, is ignored: sa_free looks it up among the strings it handed
   out and touches no memory it does not own (so a double sa_free is harmless, but a free()
   of a library string, or sa_free of a host pointer, is still a bug in the host). */
SA_API void sa_free(void *p);

/* ---- Diagnostics ---------------------------------------------------------------------- */

/* The number of live handles of every kind and of library-allocated strings not yet freed:
   0 once a program has freed everything (a leak check for tests). */
SA_API int64_t sa_debug_live_objects(void);
/* Panics inside the library on purpose and returns the status the host sees: SA_E_INTERNAL
   (a Go panic never crosses into the host). For tests of that guarantee. */
SA_API sa_status sa_debug_panic(void);

#ifdef __cplusplus
}
#endif

#endif /* STACK_AUTH_H */
