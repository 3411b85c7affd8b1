// stack_auth.node: the N-API addon of the Node binding, over libstack_auth's C ABI.
//
// It is thin: it maps handles to wrapped JS objects, host callbacks to JS functions, and the
// library's error JSON to JS values. index.js builds the public API (Results, classes) on it.
//
// Threading (include/stack_auth.h "Hooks" and "Blocking"; docs/c-abi.md "Threading model"):
//  - JS runs on one thread per environment (the main thread or a worker). Nothing here blocks
//    it: a cached token comes from sa_try_get_token; anything that may wait goes through
//    sa_get_token_async, or, for the device-code calls the ABI only offers blocking, through a
//    helper thread; completions come back through a thread-safe function (tsfn).
//  - One tsfn per environment, unbounded queue, and only napi_tsfn_nonblocking calls. It is
//    referenced only while an operation started from JS is pending, so an idle process exits.
//  - Library threads never hold the raw tsfn: they post through a Bridge, whose tsfn pointer is
//    cleared (under its mutex) when Node finalizes the tsfn at environment teardown. A post
//    that cannot be delivered cleans up in C: hook requests are rejected, tokens freed.
//  - A hook (AuthStrategyFn, OIDC provider, store load/save) is a small C function that posts
//    the request to the JS thread and returns at once; JS completes it with
//    sa_request_resolve / sa_request_reject (index.js turns throws and rejections into
//    rejections, never into a token).
//  - The addon is context-aware (instance data, env cleanup hook): every worker has its own
//    state and tsfn; at teardown every handle the environment still owns is freed, which
//    cancels its pending calls.

#include <node_api.h>
#include <pthread.h>
#include <stack_auth.h>
#include <string.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace {

// ---- small helpers ---------------------------------------------------------------------

// Zeroes a string that may hold a secret, then releases its memory.
void wipe(std::string &s) {
#ifdef _WIN32  // no explicit_bzero; volatile stores are not optimised away
  volatile char *p = s.empty() ? nullptr : &s[0];
  for (size_t i = 0; i < s.size(); i++) p[i] = 0;
#else
  if (!s.empty()) explicit_bzero(&s[0], s.size());
#endif
  s.clear();
  s.shrink_to_fit();
}

// An optional string argument: absent for null/undefined, then c_str() and data() are null.
// Wiped when it goes out of scope (options JSON, a hook's answer or a body may hold a secret).
struct OptString {
  std::string s;
  bool present = false;
  ~OptString() { wipe(s); }
  const char *c_str() const { return present ? s.c_str() : nullptr; }
  const char *data() const { return present ? s.data() : nullptr; }
  size_t size() const { return present ? s.size() : 0; }
};

std::atomic<int64_t> g_hooks_created{0};
std::atomic<int64_t> g_hooks_destroyed{0};

#define CHECK_NAPI(env, call)                                                                  \
  do {                                                                                         \
    if ((call) != napi_ok) {                                                                   \
      bool pending_ = false;                                                                   \
      napi_is_exception_pending((env), &pending_);                                             \
      if (!pending_) napi_throw_error((env), "ERR_STACK_AUTH_NAPI", "N-API call failed: " #call); \
      return nullptr;                                                                          \
    }                                                                                          \
  } while (0)

napi_value js_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

napi_value js_null(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

napi_value js_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

napi_value js_int(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

napi_value js_str(napi_env env, const char *s, size_t n) {
  napi_value v;
  if (napi_create_string_utf8(env, s, n, &v) != napi_ok) return js_null(env);
  return v;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

// Reads a JS string argument into out; throws a TypeError (and returns false) otherwise.
bool get_string(napi_env env, napi_value v, const char *what, std::string &out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    std::string msg = std::string(what) + " must be a string";
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg.c_str());
    return false;
  }
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return false;
  out.assign(n, '\0');
  size_t got = 0;
  if (napi_get_value_string_utf8(env, v, &out[0], n + 1, &got) != napi_ok) return false;
  out.resize(got);
  if (out.find('\0') != std::string::npos) {  // index.js refuses these first; never cut one short
    std::string msg = std::string(what) + " contains a NUL character";
    napi_throw_type_error(env, "INVALID_ARGUMENT", msg.c_str());
    return false;
  }
  return true;
}

// A string, or "absent" for null/undefined.
bool get_opt_string(napi_env env, napi_value v, const char *what, OptString &out) {
  out.present = !is_nullish(env, v);
  if (!out.present) return true;
  return get_string(env, v, what, out.s);
}

bool get_function(napi_env env, napi_value v, const char *what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_function) {
    std::string msg = std::string(what) + " must be a function";
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg.c_str());
    return false;
  }
  return true;
}

// BEGIN GENERATED statuses from build/gen/tables.json (make gen)
const char *status_code_name(sa_status st) {
  switch (st) {
    case SA_E_AUTH: return "INTERNAL_ERROR";
    case SA_E_INVALID_ARG: return "INVALID_ARGUMENT";
    case SA_E_INVALID_HANDLE: return "INVALID_HANDLE";
    case SA_E_TIMEOUT: return "TIMEOUT";
    case SA_E_CANCELLED: return "CANCELLED";
    case SA_E_FORKED: return "FORKED";
    case SA_E_CALLBACK: return "CUSTOM";
    case SA_E_INTERNAL: return "INTERNAL_ERROR";
    case SA_E_WOULD_BLOCK: return "WOULD_BLOCK";
    default: return "INTERNAL_ERROR";
  }
}
// END GENERATED statuses

// The error JSON of the last failure on this thread. Call it right after the failing sa_*
// call, on the same thread. Falls back to a synthetic envelope if the library gave none.
std::string last_error_json(sa_status st) {
  const char *j = sa_last_error_json();
  if (j && *j) return std::string(j);
  std::string s = "{\"type\":\"";
  s += status_code_name(st);
  s += "\",\"message\":\"libstack_auth failed with status ";
  s += std::to_string(st);
  s += "\"}";
  return s;
}

// [status, errorJson]: how every synchronous native call reports a failure to index.js.
napi_value status_array(napi_env env, sa_status st, const std::string &json) {
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, js_int(env, st));
  napi_set_element(env, arr, 1, js_str(env, json.data(), json.size()));
  return arr;
}

napi_value fail_array(napi_env env, sa_status st) { return status_array(env, st, last_error_json(st)); }

// ---- the bridge from library threads to the JS thread ----------------------------------

struct Msg;

// Shared by the JS thread and library threads; outlives the tsfn. tsfn is null once Node has
// finalized it (environment teardown): posts then fail and the poster cleans up in C.
struct Bridge {
  std::mutex mu;
  napi_threadsafe_function tsfn = nullptr;

  bool post(Msg *m) {
    std::lock_guard<std::mutex> lock(mu);
    if (tsfn == nullptr) return false;
    // Never the blocking mode: the queue is unbounded, and a blocking call from the JS thread
    // could deadlock (nodejs/node#32615).
    return napi_call_threadsafe_function(tsfn, m, napi_tsfn_nonblocking) == napi_ok;
  }
};

struct Box;

// Per-environment state (instance data). Touched only on its JS thread.
struct EnvState {
  napi_env env = nullptr;
  std::shared_ptr<Bridge> bridge;
  napi_threadsafe_function tsfn = nullptr;  // null after Node finalized it
  int pending = 0;                          // operations started from JS, not yet completed
  napi_ref dispatch = nullptr;              // index.js: (kind, target, arg, req) => void
  std::unordered_set<Box *> boxes;          // live wrapped handles of this environment
  bool torn_down = false;

  // The tsfn keeps the event loop alive only while something started from JS is pending.
  void begin_pending() {
    if (pending++ == 0 && tsfn != nullptr) napi_ref_threadsafe_function(env, tsfn);
  }
  void end_pending() {
    if (--pending == 0 && tsfn != nullptr) napi_unref_threadsafe_function(env, tsfn);
  }
};

// ---- wrapped handles -------------------------------------------------------------------

enum Kind { K_STRATEGY = 1, K_STORE = 2, K_FLOW = 3, K_TRANSPORT = 4 };

const napi_type_tag kTags[5] = {
    {0, 0},
    {0x7374616b61757468ULL, 0x0000000000000001ULL},  // strategy
    {0x7374616b61757468ULL, 0x0000000000000002ULL},  // store
    {0x7374616b61757468ULL, 0x0000000000000003ULL},  // device flow
    {0x7374616b61757468ULL, 0x0000000000000004ULL},  // transport
};

struct Box {
  Kind kind;
  uint64_t h;
  std::shared_ptr<EnvState> es;
  std::string memo;  // strategy: the bearer value of the token tryGetToken last returned as JSON

  void free_handle() {
    uint64_t h0 = h;
    h = 0;
    wipe(memo);
    if (h0 == 0) return;
    switch (kind) {
      case K_STRATEGY: sa_strategy_free(h0); break;  // may call a hook's destroy: it posts
      case K_STORE: sa_store_free(h0); break;
      case K_FLOW: sa_device_flow_free(h0); break;
      case K_TRANSPORT: sa_transport_free(h0); break;
    }
  }
};

void box_finalize(napi_env /*env*/, void *data, void * /*hint*/) {
  Box *b = static_cast<Box *>(data);
  b->free_handle();  // handles are never reused: freeing a stale one is a no-op
  b->es->boxes.erase(b);
  delete b;
}

// Handle h wrapped in a new object owned by this environment; nullptr (h freed) on failure.
napi_value new_box(napi_env env, EnvState *es, Kind kind, uint64_t h, const std::shared_ptr<EnvState> &sp) {
  napi_value obj;
  Box *b = new Box{kind, h, sp, std::string()};
  if (napi_create_object(env, &obj) != napi_ok || napi_wrap(env, obj, b, box_finalize, nullptr, nullptr) != napi_ok) {
    b->free_handle();
    delete b;
    return nullptr;
  }
  napi_type_tag_object(env, obj, &kTags[kind]);
  es->boxes.insert(b);
  return obj;
}

Box *get_box(napi_env env, napi_value v, Kind kind) {
  bool ok = false;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_object) {
    napi_check_object_type_tag(env, v, &kTags[kind], &ok);
  }
  void *p = nullptr;
  if (!ok || napi_unwrap(env, v, &p) != napi_ok || p == nullptr) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a stack-auth native handle of the expected kind");
    return nullptr;
  }
  return static_cast<Box *>(p);
}

// ---- hooks: library thread -> JS thread ------------------------------------------------

enum HookKind { H_TOKEN = 0, H_LOAD = 1, H_SAVE = 2, H_HTTP = 3 };

// user_data of a hook. target is a strong reference to the JS function (token hooks) or
// store object (load/save), dropped when the library calls destroy.
struct HookData {
  std::shared_ptr<Bridge> bridge;
  napi_ref target = nullptr;
};

enum MsgType { M_HOOK, M_DESTROY, M_TOKEN_DONE, M_CALL_DONE, M_EVENT };
enum Op { OP_TOKEN, OP_BEGIN, OP_POLL, OP_BIND, OP_FLUSH };

// An operation started from JS that completes on the JS thread through the tsfn.
struct Pending {
  explicit Pending(Op o) : op(o) {}
  std::shared_ptr<Bridge> bridge;
  napi_ref cb = nullptr;    // JS completion callback
  napi_ref keep = nullptr;  // the wrapped handle object, kept alive while pending
  Box *box = nullptr;       // OP_TOKEN: the strategy (alive through keep)
  Op op;
  // inputs of blocking calls (run on a helper thread)
  std::string a;
  OptString b, c;
  uint64_t h = 0;
  int32_t timeout_ms = 0;
};

struct Msg {
  explicit Msg(MsgType t) : type(t) {}
  MsgType type;
  // M_HOOK / M_DESTROY
  HookData *hook = nullptr;
  HookKind hook_kind = H_TOKEN;
  sa_request req = 0;
  std::string arg;  // save: the token JSON (secret; wiped after use)
  std::string scope;  // load/save: the credential scope (sa_request_scope; not secret)
  std::string meta;   // http: the request JSON (method, url, headers; secret headers, wiped)
  // M_TOKEN_DONE / M_CALL_DONE
  Pending *call = nullptr;
  sa_status status = SA_OK;
  sa_token token = 0;  // M_TOKEN_DONE: the new token handle (freed on the JS thread)
  std::string out;  // token JSON, flow JSON or expiresAt (secret for tokens; wiped after use)
  std::string err;  // error JSON
  uint64_t flow = 0;
};

// Cleans a message up without JS (the environment is gone or cannot run JS).
void drop_msg(Msg *m) {
  switch (m->type) {
    case M_HOOK:
      sa_request_reject(m->req, "CANCELLED", "the JavaScript environment that owns this hook has shut down");
      break;
    case M_EVENT:
      break;
    case M_DESTROY:
      // The environment frees its references itself when it is torn down.
      g_hooks_destroyed.fetch_add(1);
      delete m->hook;
      break;
    case M_TOKEN_DONE:
    case M_CALL_DONE:
      if (m->token != 0) sa_token_free(m->token);
      if (m->flow != 0) sa_device_flow_free(m->flow);
      delete m->call;
      break;
  }
  wipe(m->arg);
  wipe(m->meta);
  wipe(m->out);
  delete m;
}

// A hook request's message; data (JSON or a body) becomes its arg.
Msg *hook_msg(HookData *hd, HookKind kind, sa_request req, const char *data, size_t len) {
  Msg *m = new Msg(M_HOOK);
  m->hook = hd;
  m->hook_kind = kind;
  m->req = req;
  if (data != nullptr && len > 0) m->arg.assign(data, len);
  return m;
}

void post_hook(void *user_data, HookKind kind, sa_request req, const char *json, size_t len) {
  HookData *hd = static_cast<HookData *>(user_data);
  Msg *m = hook_msg(hd, kind, req, json, len);
  if (kind == H_LOAD || kind == H_SAVE) {
    // Read while the request is surely pending (it may time out before JS runs).
    char *scope = nullptr;
    size_t scope_len = 0;
    if (sa_request_scope(req, &scope, &scope_len) == SA_OK) {
      m->scope.assign(scope, scope_len);
      sa_free(scope);
    }
  }
  if (!hd->bridge->post(m)) drop_msg(m);
}

void hook_get_token(void *user_data, sa_request req) { post_hook(user_data, H_TOKEN, req, nullptr, 0); }
void hook_load(void *user_data, sa_request req) { post_hook(user_data, H_LOAD, req, nullptr, 0); }
void hook_save(void *user_data, sa_request req, const char *json, size_t len) {
  post_hook(user_data, H_SAVE, req, json, len);
}
// A transport request: the body is the message's arg, the request JSON its meta.
void hook_http(void *user_data, sa_request req, const char *request_json, const char *body, size_t len) {
  HookData *hd = static_cast<HookData *>(user_data);
  Msg *m = hook_msg(hd, H_HTTP, req, body, len);
  m->meta.assign(request_json);
  if (!hd->bridge->post(m)) drop_msg(m);
}

// An engine event (sa_strategy_set_event_hook), on the library's event thread: the JSON goes
// to the JS function on the JS thread (never a secret).
void hook_event(void *user_data, const char *json, size_t len) {
  HookData *hd = static_cast<HookData *>(user_data);
  Msg *m = new Msg(M_EVENT);
  m->hook = hd;
  m->arg.assign(json, len);
  if (!hd->bridge->post(m)) drop_msg(m);
}

// One of the library's log lines (sa_set_log_handler), on its log thread: "<level> <line>"
// goes to the JS function on the JS thread, as an event does.
void hook_log(void *user_data, int32_t level, const char *message, size_t len) {
  HookData *hd = static_cast<HookData *>(user_data);
  Msg *m = new Msg(M_EVENT);
  m->hook = hd;
  m->arg = std::to_string(level) + " ";
  m->arg.append(message, len);
  if (!hd->bridge->post(m)) drop_msg(m);
}

// destroy may run on a library thread or, inside sa_strategy_free, on the JS thread: the
// reference is always dropped on the JS thread, after every queued call of the hook (FIFO).
void hook_destroy(void *user_data) {
  HookData *hd = static_cast<HookData *>(user_data);
  Msg *m = new Msg(M_DESTROY);
  m->hook = hd;
  if (!hd->bridge->post(m)) drop_msg(m);
}

HookData *new_hook(napi_env env, EnvState *es, napi_value target) {
  HookData *hd = new HookData{es->bridge, nullptr};
  if (napi_create_reference(env, target, 1, &hd->target) != napi_ok) {
    delete hd;
    return nullptr;
  }
  g_hooks_created.fetch_add(1);
  return hd;
}

// For a hook the library did not take (the constructor failed: destroy is not called).
void discard_hook(napi_env env, HookData *hd) {
  if (hd == nullptr) return;
  napi_delete_reference(env, hd->target);
  g_hooks_destroyed.fetch_add(1);
  delete hd;
}

// A constructor that failed: its [st, json]; the library did not take the hook.
napi_value fail_discarding(napi_env env, sa_status st, HookData *hd) {
  napi_value r = fail_array(env, st);  // first: it reads this thread's last error
  discard_hook(env, hd);
  return r;
}

// sa_get_token_async's completion, on a library thread. It only hands the token handle to the
// JS thread: 10,000 callers coalescing on one refresh get one token, converted there once.
void token_done(void *user_data, sa_status status, sa_token token, const char *error_json) {
  Pending *p = static_cast<Pending *>(user_data);
  Msg *m = new Msg(M_TOKEN_DONE);
  m->call = p;
  m->status = status;
  if (status == SA_OK) {
    m->token = token;
  } else if (error_json != nullptr) {
    m->err = error_json;
  } else {
    m->err = last_error_json(status);
  }
  if (!p->bridge->post(m)) drop_msg(m);
}

// A token handle (freed here) as index.js expects it: true when it is the token whose JSON
// this strategy last returned (index.js keeps that parsed), else its JSON (remembered). On a
// failure, returns nullptr with *st and *err set.
napi_value token_to_js(napi_env env, Box *b, sa_token t, bool have_last, sa_status *st, std::string *err) {
  char *v = nullptr;
  size_t n = 0;
  *st = sa_token_value(t, &v, &n);
  if (*st != SA_OK) {
    *err = last_error_json(*st);
    sa_token_free(t);
    return nullptr;
  }
  if (have_last && n == b->memo.size() && memcmp(v, b->memo.data(), n) == 0) {
    sa_free(v);
    sa_token_free(t);
    return js_bool(env, true);
  }
  wipe(b->memo);
  b->memo.assign(v, n);
  sa_free(v);
  char *j = nullptr;
  size_t jn = 0;
  *st = sa_token_json(t, &j, &jn);
  if (*st != SA_OK) {
    *err = last_error_json(*st);
    wipe(b->memo);
    sa_token_free(t);
    return nullptr;
  }
  napi_value s = js_str(env, j, jn);
  sa_free(j);
  sa_token_free(t);
  return s;
}

// ---- the tsfn's JS side ----------------------------------------------------------------

napi_value ref_value(napi_env env, napi_ref r) {
  napi_value v = nullptr;
  if (r == nullptr || napi_get_reference_value(env, r, &v) != napi_ok) return nullptr;
  return v;
}

void call_js(napi_env env, napi_value /*js_cb*/, void *context, void *data) {
  Msg *m = static_cast<Msg *>(data);
  if (env == nullptr) {  // the tsfn is being torn down with messages still queued
    drop_msg(m);
    return;
  }
  EnvState *es = static_cast<std::shared_ptr<EnvState> *>(context)->get();
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    drop_msg(m);
    return;
  }
  napi_value undef = js_undefined(env);

  switch (m->type) {
    case M_HOOK: {
      napi_value fn = ref_value(env, es->dispatch);
      napi_value target = ref_value(env, m->hook->target);
      bool called = false;
      if (fn != nullptr && target != nullptr) {
        napi_value argv[5];
        argv[0] = js_int(env, m->hook_kind);
        argv[1] = target;
        argv[2] = m->hook_kind == H_SAVE   ? js_str(env, m->arg.data(), m->arg.size())
                  : m->hook_kind == H_HTTP ? js_str(env, m->meta.data(), m->meta.size())
                                           : undef;
        napi_create_double(env, static_cast<double>(m->req), &argv[3]);
        argv[4] = m->hook_kind == H_TOKEN  ? undef
                  : m->hook_kind == H_HTTP ? js_str(env, m->arg.data(), m->arg.size())
                                           : js_str(env, m->scope.data(), m->scope.size());
        wipe(m->arg);
        wipe(m->meta);
        called = napi_call_function(env, undef, fn, 5, argv, nullptr) == napi_ok;
      }
      if (!called) {
        // JS cannot run (a worker being terminated): fail the request now rather than let it
        // time out. A request the dispatcher already completed ignores this.
        sa_request_reject(m->req, "CANCELLED", "the JavaScript hook could not be called");
      }
      break;
    }
    case M_EVENT: {
      napi_value target = ref_value(env, m->hook->target);
      if (target != nullptr) {
        napi_value arg = js_str(env, m->arg.data(), m->arg.size());
        napi_call_function(env, undef, target, 1, &arg, nullptr);  // index.js catches its errors
      }
      break;
    }
    case M_DESTROY:
      napi_delete_reference(env, m->hook->target);
      g_hooks_destroyed.fetch_add(1);
      delete m->hook;
      m->hook = nullptr;
      break;
    case M_TOKEN_DONE:
    case M_CALL_DONE: {
      Pending *p = m->call;
      m->call = nullptr;
      napi_value cb = ref_value(env, p->cb);
      napi_value argv[4];
      int argc = 3;
      argv[0] = js_int(env, m->status);
      argv[1] = js_null(env);
      argv[2] = m->err.empty() ? js_null(env) : js_str(env, m->err.data(), m->err.size());
      if (m->status == SA_OK) {
        if (p->op == OP_TOKEN) {
          sa_token t = m->token;
          m->token = 0;
          sa_status st = SA_OK;
          std::string err;
          napi_value v = token_to_js(env, p->box, t, !p->box->memo.empty(), &st, &err);
          if (v != nullptr) {
            argv[1] = v;
          } else {
            argv[0] = js_int(env, st);
            argv[2] = js_str(env, err.data(), err.size());
          }
        } else if (p->op == OP_BEGIN) {
          // The flow handle becomes a wrapped object owned by this environment.
          std::shared_ptr<EnvState> sp = *static_cast<std::shared_ptr<EnvState> *>(context);
          napi_value box = new_box(env, es, K_FLOW, m->flow, sp);
          m->flow = 0;
          argv[1] = box != nullptr ? box : js_null(env);
          argv[3] = js_str(env, m->out.data(), m->out.size());
          argc = 4;
        } else if (p->op != OP_BIND && p->op != OP_FLUSH) {
          argv[1] = js_str(env, m->out.data(), m->out.size());
        }
      }
      wipe(m->out);
      if (p->cb) napi_delete_reference(env, p->cb);
      if (p->keep) napi_delete_reference(env, p->keep);
      delete p;
      if (cb != nullptr) napi_call_function(env, undef, cb, argc, argv, nullptr);
      es->end_pending();
      break;
    }
  }
  napi_close_handle_scope(env, scope);
  wipe(m->arg);
  wipe(m->out);
  delete m;
}

void tsfn_finalize(napi_env /*env*/, void *finalize_data, void *context) {
  auto *bridge = static_cast<std::shared_ptr<Bridge> *>(finalize_data);
  auto *es = static_cast<std::shared_ptr<EnvState> *>(context);
  {
    std::lock_guard<std::mutex> lock((*bridge)->mu);
    (*bridge)->tsfn = nullptr;
  }
  (*es)->tsfn = nullptr;
  delete bridge;
  delete es;
}

// At environment teardown (a worker terminated, or the process exiting): free every handle
// this environment still owns, so pending calls end (SA_E_CANCELLED) and hooks are destroyed.
void env_cleanup(void *arg) {
  auto *sp = static_cast<std::shared_ptr<EnvState> *>(arg);
  EnvState *es = sp->get();
  es->torn_down = true;
  for (Kind k : {K_STRATEGY, K_FLOW, K_STORE, K_TRANSPORT}) {
    for (Box *b : es->boxes) {
      if (b->kind == k) b->free_handle();
    }
  }
  delete sp;
}

void instance_finalize(napi_env /*env*/, void *data, void * /*hint*/) {
  delete static_cast<std::shared_ptr<EnvState> *>(data);
}

// ---- argument plumbing -----------------------------------------------------------------

// A call's arguments into argv (undefined where missing) and, when es is given, its environment.
template <size_t N>
bool args(napi_env env, napi_callback_info info, napi_value (&argv)[N], EnvState **es = nullptr) {
  size_t argc = N;
  void *data = nullptr;
  napi_value undef = js_undefined(env);
  for (size_t i = 0; i < N; i++) argv[i] = undef;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return false;
  if (es != nullptr) *es = static_cast<EnvState *>(data);
  return true;
}

// args, then the handle in argv[0], which must be a box of that kind (else a TypeError).
template <size_t N>
Box *args_box(napi_env env, napi_callback_info info, napi_value (&argv)[N], Kind kind, EnvState **es = nullptr) {
  if (!args(env, info, argv, es)) return nullptr;
  return get_box(env, argv[0], kind);
}

// The box of that kind a call's one argument holds (else a TypeError, and nullptr).
template <Kind kind>
Box *box_arg(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  return args_box(env, info, argv, kind);
}

std::shared_ptr<EnvState> shared(EnvState *es) {
  // Every EnvState is owned by shared_ptrs; recover one from the instance data.
  void *d = nullptr;
  napi_get_instance_data(es->env, &d);
  return *static_cast<std::shared_ptr<EnvState> *>(d);
}

// A constructor's answer: its handle in a new box of that kind, or [st, json].
napi_value box_result(napi_env env, EnvState *es, Kind kind, sa_status st, uint64_t h) {
  if (st != SA_OK) return fail_array(env, st);
  return new_box(env, es, kind, h, shared(es));
}

// ---- exported functions ----------------------------------------------------------------

napi_value Setup(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  if (!args(env, info, argv, &es) || !get_function(env, argv[0], "dispatch")) return nullptr;
  if (es->dispatch != nullptr) napi_delete_reference(env, es->dispatch);
  CHECK_NAPI(env, napi_create_reference(env, argv[0], 1, &es->dispatch));
  return js_undefined(env);
}

napi_value AbiVersion(napi_env env, napi_callback_info) { return js_int(env, sa_abi_version()); }

napi_value VersionString(napi_env env, napi_callback_info) {
  const char *s = sa_version_string();
  return js_str(env, s, strlen(s));
}

napi_value BuildInfo(napi_env env, napi_callback_info) {
  const char *s = sa_build_info();
  return js_str(env, s, strlen(s));
}

// The warning of the last library call on this thread, or undefined.
napi_value LastWarning(napi_env env, napi_callback_info) {
  const char *s = sa_last_warning();
  return s == nullptr ? js_undefined(env) : js_str(env, s, strlen(s));
}

napi_value LiveObjects(napi_env env, napi_callback_info) { return js_int(env, sa_debug_live_objects()); }

napi_value DebugCounters(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  if (!args(env, info, argv, &es)) return nullptr;
  napi_value o;
  CHECK_NAPI(env, napi_create_object(env, &o));
  napi_set_named_property(env, o, "hooksCreated", js_int(env, g_hooks_created.load()));
  napi_set_named_property(env, o, "hooksDestroyed", js_int(env, g_hooks_destroyed.load()));
  napi_set_named_property(env, o, "pending", js_int(env, es->pending));
  napi_set_named_property(env, o, "handles", js_int(env, static_cast<int64_t>(es->boxes.size())));
  return o;
}

// autoDetect / deviceSessionFromProfile: a strategy made from the options JSON alone.
template <sa_status (*make)(sa_strategy *, const char *)>
napi_value StrategyFromOptions(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  OptString opts;
  if (!args(env, info, argv, &es) || !get_opt_string(env, argv[0], "options", opts)) return nullptr;
  sa_strategy s = 0;
  sa_status st = make(&s, opts.c_str());
  return box_result(env, es, K_STRATEGY, st, s);
}

napi_value AccessKeyNew(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  EnvState *es;
  std::string crn, key;
  OptString opts;
  if (!args(env, info, argv, &es) || !get_string(env, argv[0], "workspaceCrn", crn) ||
      !get_string(env, argv[1], "accessKey", key) || !get_opt_string(env, argv[2], "options", opts))
    return nullptr;
  sa_strategy s = 0;
  sa_status st = sa_access_key_strategy_new(&s, crn.c_str(), key.c_str(), opts.c_str());
  wipe(key);
  return box_result(env, es, K_STRATEGY, st, s);
}

constexpr char kTokenArg[] = "token";
constexpr char kUrlArg[] = "url";

// staticTokenNew / storeOpen: a handle made from one string argument (named `what` in the
// TypeError), wiped after the call: a token, or a store URL with a password, is a secret.
template <Kind kind, sa_status (*make)(uint64_t *, const char *), const char *what>
napi_value FromString(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  std::string arg;
  if (!args(env, info, argv, &es) || !get_string(env, argv[0], what, arg)) return nullptr;
  uint64_t h = 0;
  sa_status st = make(&h, arg.c_str());
  wipe(arg);
  return box_result(env, es, kind, st, h);
}

napi_value StrategyFnNew(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  EnvState *es;
  OptString opts;
  if (!args(env, info, argv, &es) || !get_function(env, argv[0], "fn") ||
      !get_opt_string(env, argv[1], "options", opts))
    return nullptr;
  HookData *hd = new_hook(env, es, argv[0]);
  if (hd == nullptr) return nullptr;
  sa_strategy s = 0;
  sa_status st = sa_strategy_fn_new_ex(&s, hook_get_token, hd, hook_destroy, opts.c_str());
  if (st != SA_OK) return fail_discarding(env, st, hd);
  return box_result(env, es, K_STRATEGY, st, s);
}

napi_value OidcNew(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  EnvState *es;
  std::string crn;
  OptString opts;
  if (!args(env, info, argv, &es) || !get_string(env, argv[0], "workspaceCrn", crn) ||
      !get_opt_string(env, argv[2], "options", opts))
    return nullptr;
  // No provider hook: index.js calls getJwt on the caller's thread and async context and
  // passes the JWT (oidcTryGetTokenWithJwt / oidcGetTokenWithJwtAsync).
  sa_strategy s = 0;
  sa_status st = sa_oidc_federation_strategy_new(&s, crn.c_str(), nullptr, nullptr, nullptr,
                                                 opts.c_str());
  return box_result(env, es, K_STRATEGY, st, s);
}

// strategyFree / storeFree / deviceFlowFree: frees the handle in a box of that kind.
template <Kind kind>
napi_value FreeBox(napi_env env, napi_callback_info info) {
  Box *b = box_arg<kind>(env, info);
  if (b == nullptr) return nullptr;
  b->free_handle();
  return js_undefined(env);
}

napi_value try_result(napi_env env, Box *b, sa_status st, sa_token t, bool have_last);

// The hot path: never leaves the JS thread and never blocks.
//   true          the same token as the last JSON this returned for this strategy
//   string        a token's JSON (a new token)
//   null          no usable token without waiting: use getTokenAsync
//   [st, json]    a failure
// argv[1] false asks for the JSON even when the token has not changed.
napi_value TryGetToken(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Box *b = args_box(env, info, argv, K_STRATEGY);
  if (b == nullptr) return nullptr;
  bool have_last = false;
  napi_get_value_bool(env, argv[1], &have_last);

  sa_token t = 0;
  sa_status st = sa_try_get_token(&t, b->h);
  return try_result(env, b, st, t, have_last);
}

// checkTimeout(timeoutMs): undefined, or [st, json] when the library refuses the timeout.
// getToken asks first, so its cached fast path (which takes no timeout) refuses it too.
napi_value CheckTimeout(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, argv)) return nullptr;
  int32_t timeout_ms = 0;
  napi_get_value_int32(env, argv[0], &timeout_ms);
  sa_status st = sa_check_timeout(timeout_ms);
  return st == SA_OK ? js_undefined(env) : fail_array(env, st);
}

// The answer of a never-blocking getter, as TryGetToken documents.
napi_value try_result(napi_env env, Box *b, sa_status st, sa_token t, bool have_last) {
  if (st == SA_E_WOULD_BLOCK) return js_null(env);
  if (st != SA_OK) return fail_array(env, st);
  std::string err;
  napi_value v = token_to_js(env, b, t, have_last, &st, &err);
  if (v != nullptr) return v;
  return status_array(env, st, err);
}

// Starts one asynchronous token call (start, given the Pending to complete); cb(status,
// true|tokenJson|null, errorJson|null) runs on this JS thread (true and the JSON as for
// tryGetToken). Returns undefined, or [st, json] when the call could not start (cb never
// runs). The strategy object stays alive meanwhile.
template <typename Start>
napi_value start_token_async(napi_env env, EnvState *es, Box *b, napi_value strategy, napi_value cb, Start start) {
  Pending *p = new Pending(OP_TOKEN);
  p->bridge = es->bridge;
  p->box = b;
  if (napi_create_reference(env, cb, 1, &p->cb) != napi_ok ||
      napi_create_reference(env, strategy, 1, &p->keep) != napi_ok) {
    if (p->cb) napi_delete_reference(env, p->cb);
    delete p;
    napi_throw_error(env, "ERR_STACK_AUTH_NAPI", "could not create a reference");
    return nullptr;
  }
  sa_status st = start(p);
  if (st != SA_OK) {
    napi_value r = fail_array(env, st);
    napi_delete_reference(env, p->cb);
    napi_delete_reference(env, p->keep);
    delete p;
    return r;
  }
  es->begin_pending();
  return js_undefined(env);
}

// getTokenAsync(strategy, cb, timeoutMs): sa_get_token_async(_ex), see start_token_async.
napi_value GetTokenAsync(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  EnvState *es;
  Box *b = args_box(env, info, argv, K_STRATEGY, &es);
  if (b == nullptr || !get_function(env, argv[1], "callback")) return nullptr;
  int32_t timeout_ms = 0;  // argv[2]: this call's timeout (0 or absent: the strategy's; the library checks it)
  if (!is_nullish(env, argv[2])) napi_get_value_int32(env, argv[2], &timeout_ms);
  return start_token_async(env, es, b, argv[0], argv[1], [&](Pending *p) {
    return timeout_ms != 0 ? sa_get_token_async_ex(b->h, timeout_ms, token_done, p)
                           : sa_get_token_async(b->h, token_done, p);
  });
}

// oidcTryGetTokenWithJwt(strategy, jwt, haveLast): tryGetToken for the caller's OIDC JWT
// (the per-JWT cache; never leaves the JS thread, never calls a provider).
napi_value OidcTryGetTokenWithJwt(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  std::string jwt;
  Box *b = args_box(env, info, argv, K_STRATEGY);
  if (b == nullptr || !get_string(env, argv[1], "jwt", jwt)) return nullptr;
  bool have_last = false;
  napi_get_value_bool(env, argv[2], &have_last);
  sa_token t = 0;
  sa_status st = sa_oidc_try_get_token_with_jwt(&t, b->h, jwt.data(), jwt.size());
  wipe(jwt);
  return try_result(env, b, st, t, have_last);
}

// oidcGetTokenWithJwtAsync(strategy, jwt, cb, timeoutMs): getTokenAsync for the caller's JWT.
napi_value OidcGetTokenWithJwtAsync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  EnvState *es;
  std::string jwt;
  Box *b = args_box(env, info, argv, K_STRATEGY, &es);
  if (b == nullptr || !get_string(env, argv[1], "jwt", jwt) || !get_function(env, argv[2], "callback")) return nullptr;
  int32_t timeout_ms = 0;
  if (!is_nullish(env, argv[3])) napi_get_value_int32(env, argv[3], &timeout_ms);
  napi_value r = start_token_async(env, es, b, argv[0], argv[2], [&](Pending *p) {
    return sa_oidc_get_token_with_jwt_async(b->h, jwt.data(), jwt.size(), timeout_ms, token_done, p);
  });
  wipe(jwt);
  return r;
}

// tokenFromValue(bearer): the token JSON of the string an AuthStrategyFn returned, with the
// library's checks, or [st, json].
napi_value TokenFromValue(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  std::string v;
  if (!args(env, info, argv) || !get_string(env, argv[0], "token", v)) return nullptr;
  sa_token t = 0;
  sa_status st = sa_token_from_value(&t, v.data(), v.size());
  wipe(v);
  if (st != SA_OK) return fail_array(env, st);
  char *j = nullptr;
  size_t jn = 0;
  st = sa_token_json(t, &j, &jn);
  sa_token_free(t);
  if (st != SA_OK) return fail_array(env, st);
  napi_value r = js_str(env, j, jn);
  sa_free(j);
  return r;
}

// setEventHook(strategy, fn|null): fn(eventJson) on the JS thread for each engine event.
// undefined, or [st, json].
napi_value SetEventHook(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  EnvState *es;
  Box *b = args_box(env, info, argv, K_STRATEGY, &es);
  if (b == nullptr) return nullptr;
  if (is_nullish(env, argv[1])) {
    sa_status st = sa_strategy_set_event_hook(b->h, nullptr, nullptr, nullptr);
    return st == SA_OK ? js_undefined(env) : fail_array(env, st);
  }
  if (!get_function(env, argv[1], "onEvent")) return nullptr;
  HookData *hd = new_hook(env, es, argv[1]);
  if (hd == nullptr) return nullptr;
  sa_status st = sa_strategy_set_event_hook(b->h, hook_event, hd, hook_destroy);
  if (st != SA_OK) return fail_discarding(env, st, hd);
  return js_undefined(env);
}

// setLogHandler(fn): fn("<level> <line>") on this JS thread for each of the library's log
// lines at SA_LOG_INFO and above. index.js calls it once, on the main thread; the hook lives
// as long as the process (after this environment ends, its lines are dropped).
napi_value SetLogHandler(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  if (!args(env, info, argv, &es)) return nullptr;
  if (!get_function(env, argv[0], "log handler")) return nullptr;
  HookData *hd = new HookData{es->bridge, nullptr};
  if (napi_create_reference(env, argv[0], 1, &hd->target) != napi_ok) {
    delete hd;
    return nullptr;
  }
  sa_status st = sa_set_log_handler(hook_log, SA_LOG_INFO, hd);
  return st == SA_OK ? js_undefined(env) : fail_array(env, st);
}

// callbackError(code, message): [st, json] of a user function that threw, described by the
// library as a rejected hook request would be.
napi_value CallbackError(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  std::string code, message;
  if (!args(env, info, argv) || !get_string(env, argv[0], "code", code) ||
      !get_string(env, argv[1], "message", message))
    return nullptr;
  return fail_array(env, sa_callback_error(code.c_str(), message.c_str()));
}

// invalidate(strategy, bearer): after a 401, forces a refresh if that token is still the
// strategy's current one. true when a refresh started, or [st, json].
napi_value Invalidate(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Box *b = args_box(env, info, argv, K_STRATEGY);
  std::string tok;
  if (b == nullptr || !get_string(env, argv[1], "token", tok)) return nullptr;
  int32_t refreshing = 0;
  sa_status st = sa_strategy_invalidate_value(b->h, tok.data(), tok.size(), &refreshing);
  wipe(tok);
  if (st != SA_OK) return fail_array(env, st);
  return js_bool(env, refreshing != 0);
}

napi_value DebugPanic(napi_env env, napi_callback_info) {
  sa_status st = sa_debug_panic();
  return fail_array(env, st);
}

napi_value StoreMemoryNew(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  if (!args(env, info, argv, &es)) return nullptr;
  sa_store s = 0;
  sa_status st = sa_store_memory_new(&s);
  return box_result(env, es, K_STORE, st, s);
}

// storeFnNew(storeObject, optionsJson): JS calls storeObject.load() / .save(json).
napi_value StoreFnNew(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  EnvState *es;
  OptString opts;
  if (!args(env, info, argv, &es) || !get_opt_string(env, argv[1], "options", opts)) return nullptr;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_object && t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "store must be an object with load() and save(json)");
    return nullptr;
  }
  HookData *hd = new_hook(env, es, argv[0]);
  if (hd == nullptr) return nullptr;
  sa_store s = 0;
  sa_status st = sa_store_fn_new_ex(&s, hook_load, hook_save, hd, hook_destroy, opts.c_str());
  if (st != SA_OK) return fail_discarding(env, st, hd);
  return box_result(env, es, K_STORE, st, s);
}

// transportNew(send): a host HTTP transport whose requests go to dispatch (H_HTTP).
napi_value TransportNew(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  EnvState *es;
  if (!args(env, info, argv, &es) || !get_function(env, argv[0], "transport")) return nullptr;
  HookData *hd = new_hook(env, es, argv[0]);
  if (hd == nullptr) return nullptr;
  sa_transport t = 0;
  sa_status st = sa_transport_new(&t, hook_http, hd, hook_destroy, nullptr);
  if (st != SA_OK) return fail_discarding(env, st, hd);
  return box_result(env, es, K_TRANSPORT, st, t);
}

// transportHandle / storeHandle: the handle in a box of that kind, for the "transport" or
// "store" key of options_json.
template <Kind kind>
napi_value BoxHandle(napi_env env, napi_callback_info info) {
  Box *b = box_arg<kind>(env, info);
  if (b == nullptr) return nullptr;
  napi_value v;
  CHECK_NAPI(env, napi_create_double(env, static_cast<double>(b->h), &v));
  return v;
}

bool get_request(napi_env env, napi_value v, sa_request *out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740992.0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "request must be a request id");
    return false;
  }
  *out = static_cast<sa_request>(d);
  return true;
}

// The arguments of a request's answer: argv[0] is the request id.
template <size_t N>
bool request_args(napi_env env, napi_callback_info info, napi_value (&argv)[N], sa_request *req) {
  return args(env, info, argv) && get_request(env, argv[0], req);
}

// requestResolve(req, value: string|null): the status (a late completion is INVALID_HANDLE).
napi_value RequestResolve(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  sa_request req;
  if (!request_args(env, info, argv, &req)) return nullptr;
  OptString value;
  if (!get_opt_string(env, argv[1], "value", value)) return nullptr;
  return js_int(env, sa_request_resolve(req, value.data(), value.size()));
}

// requestRespond(req, status, headersJson, body: string): a transport request's answer.
napi_value RequestRespond(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  sa_request req;
  if (!request_args(env, info, argv, &req)) return nullptr;
  int32_t status = 0;
  if (napi_get_value_int32(env, argv[1], &status) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "status must be a number");
    return nullptr;
  }
  OptString headers, body;
  if (!get_opt_string(env, argv[2], "headers", headers) || !get_opt_string(env, argv[3], "body", body)) return nullptr;
  return js_int(env, sa_request_respond(req, status, headers.c_str(), body.data(), body.size()));
}

napi_value RequestReject(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  sa_request req;
  if (!request_args(env, info, argv, &req)) return nullptr;
  OptString code, message;
  if (!get_opt_string(env, argv[1], "code", code) || !get_opt_string(env, argv[2], "message", message)) return nullptr;
  return js_int(env, sa_request_reject(req, code.c_str(), message.c_str()));
}

// ---- device-code login: blocking calls on a helper thread ------------------------------
//
// The C ABI has no async form of sa_device_code_begin, sa_device_code_poll or
// sa_bind_client_device. They run on a detached helper thread (not the libuv pool: Node waits
// for pool work before tearing a worker down, and a poll can wait minutes) and complete
// through the tsfn like everything else.

void *blocking_main(void *arg) {
  Pending *p = static_cast<Pending *>(arg);
  Msg *m = new Msg(M_CALL_DONE);
  m->call = p;
  sa_status st = SA_OK;
  switch (p->op) {
    case OP_BEGIN: {
      sa_device_flow f = 0;
      st = sa_device_code_begin(&f, p->a.c_str(), p->b.c_str(), p->c.c_str());
      if (st != SA_OK) break;
      char *s = nullptr;
      size_t n = 0;
      st = sa_device_flow_json(f, &s, &n);
      if (st == SA_OK) {
        m->out.assign(s, n);
        sa_free(s);
        m->flow = f;
      } else {
        m->err = last_error_json(st);  // read before the free below, itself a library call
        sa_device_flow_free(f);
      }
      break;
    }
    case OP_POLL: {
      char *s = nullptr;
      size_t n = 0;
      st = sa_device_code_poll(p->h, p->timeout_ms, &s, &n);
      if (st != SA_OK) break;
      // The token stays out of JS (as upstream): only its expiry crosses.
      std::string json(s, n);
      sa_free(s);
      size_t at = json.rfind("\"expiresAt\":");
      if (at != std::string::npos) {
        m->out = std::to_string(strtoull(json.c_str() + at + 12, nullptr, 10));
      } else {
        st = SA_E_INTERNAL;
        m->err = "{\"type\":\"INTERNAL_ERROR\",\"message\":\"the token JSON has no expiresAt\"}";
      }
      wipe(json);
      break;
    }
    case OP_BIND:
      st = sa_bind_client_device(p->c.c_str());
      break;
    case OP_FLUSH:
      st = sa_flush(p->timeout_ms);
      break;
    case OP_TOKEN:
      break;
  }
  // A failing call above was this thread's last library call: its error JSON is still current.
  if (st != SA_OK && m->err.empty()) m->err = last_error_json(st);
  m->status = st;
  if (!p->bridge->post(m)) drop_msg(m);
  return nullptr;
}

// Starts p on a helper thread; returns undefined or [st, json].
napi_value start_blocking(napi_env env, EnvState *es, Pending *p, napi_value cb, napi_value keep) {
  p->bridge = es->bridge;
  if (napi_create_reference(env, cb, 1, &p->cb) != napi_ok ||
      (keep != nullptr && napi_create_reference(env, keep, 1, &p->keep) != napi_ok)) {
    if (p->cb) napi_delete_reference(env, p->cb);
    delete p;
    napi_throw_error(env, "ERR_STACK_AUTH_NAPI", "could not create a reference");
    return nullptr;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  es->begin_pending();
  int rc = pthread_create(&th, &attr, blocking_main, p);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    es->end_pending();
    napi_delete_reference(env, p->cb);
    if (p->keep) napi_delete_reference(env, p->keep);
    delete p;
    return status_array(env, SA_E_INTERNAL, "{\"type\":\"INTERNAL_ERROR\",\"message\":\"could not start a thread\"}");
  }
  return js_undefined(env);
}

// deviceCodeBegin(region, clientId|null, optionsJson|null, cb(status, flow|null, err|null, flowJson))
napi_value DeviceCodeBegin(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  EnvState *es;
  if (!args(env, info, argv, &es)) return nullptr;
  Pending *p = new Pending(OP_BEGIN);
  if (!get_string(env, argv[0], "region", p->a) || !get_opt_string(env, argv[1], "clientId", p->b) ||
      !get_opt_string(env, argv[2], "options", p->c) || !get_function(env, argv[3], "callback")) {
    delete p;
    return nullptr;
  }
  return start_blocking(env, es, p, argv[3], nullptr);
}

napi_value DeviceFlowOpenBrowser(napi_env env, napi_callback_info info) {
  Box *b = box_arg<K_FLOW>(env, info);
  if (b == nullptr) return nullptr;
  int32_t opened = 0;
  sa_status st = sa_device_flow_open_browser(b->h, &opened);
  if (st != SA_OK) return fail_array(env, st);
  return js_bool(env, opened != 0);
}

// deviceCodePoll(flow, timeoutMs, cb(status, expiresAt|null, err|null))
napi_value DeviceCodePoll(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  EnvState *es;
  Box *b = args_box(env, info, argv, K_FLOW, &es);
  if (b == nullptr || !get_function(env, argv[2], "callback")) return nullptr;
  int32_t timeout = 0;
  napi_get_value_int32(env, argv[1], &timeout);
  Pending *p = new Pending(OP_POLL);
  p->h = b->h;
  p->timeout_ms = timeout;
  return start_blocking(env, es, p, argv[2], argv[0]);
}

// flushPending() -> bool: whether an exchange or save is still in flight (sa_flush(0)).
napi_value FlushPending(napi_env env, napi_callback_info /*info*/) {
  return js_bool(env, sa_flush(0) != SA_OK);
}

// flush(timeoutMs, cb(status, null, err|null)): sa_flush on a helper thread. While it runs,
// the tsfn is referenced, so the event loop (and the process) stays alive until the rotated
// refresh token of a closed device session is saved (docs/architecture.md D1).
napi_value Flush(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  EnvState *es;
  if (!args(env, info, argv, &es)) return nullptr;
  if (!get_function(env, argv[1], "callback")) return nullptr;
  Pending *p = new Pending(OP_FLUSH);
  napi_get_value_int32(env, argv[0], &p->timeout_ms);
  return start_blocking(env, es, p, argv[1], nullptr);
}

// bindClientDevice(optionsJson|null, cb(status, null, err|null))
napi_value BindClientDevice(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  EnvState *es;
  if (!args(env, info, argv, &es)) return nullptr;
  Pending *p = new Pending(OP_BIND);
  if (!get_opt_string(env, argv[0], "options", p->c) || !get_function(env, argv[1], "callback")) {
    delete p;
    return nullptr;
  }
  return start_blocking(env, es, p, argv[1], nullptr);
}

}  // namespace

NAPI_MODULE_INIT() {
  if (sa_abi_version() != SA_ABI_VERSION) {
    std::string msg = "libstack_auth ABI " + std::to_string(sa_abi_version()) + " is loaded, but this addon was built for ABI " +
                      std::to_string(SA_ABI_VERSION);
    napi_throw_error(env, "ERR_STACK_AUTH_ABI", msg.c_str());
    return nullptr;
  }
  // Help texts name the Node API, and options follow @cipherstash/auth (unknown keys ignored).
  sa_set_host_language("node");

  auto es = std::make_shared<EnvState>();
  es->env = env;
  es->bridge = std::make_shared<Bridge>();

  napi_value name;
  CHECK_NAPI(env, napi_create_string_utf8(env, "stack-auth", NAPI_AUTO_LENGTH, &name));
  auto *tsfn_bridge = new std::shared_ptr<Bridge>(es->bridge);
  auto *tsfn_ctx = new std::shared_ptr<EnvState>(es);
  napi_threadsafe_function tsfn;
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, /*max_queue_size (unbounded)*/ 0,
                                      /*initial_thread_count*/ 1, tsfn_bridge, tsfn_finalize, tsfn_ctx, call_js,
                                      &tsfn) != napi_ok) {
    delete tsfn_bridge;
    delete tsfn_ctx;
    napi_throw_error(env, "ERR_STACK_AUTH_NAPI", "could not create the thread-safe function");
    return nullptr;
  }
  es->tsfn = tsfn;
  es->bridge->tsfn = tsfn;
  napi_unref_threadsafe_function(env, tsfn);  // referenced only while something is pending

  CHECK_NAPI(env, napi_set_instance_data(env, new std::shared_ptr<EnvState>(es), instance_finalize, nullptr));
  CHECK_NAPI(env, napi_add_env_cleanup_hook(env, env_cleanup, new std::shared_ptr<EnvState>(es)));

  struct Fn {
    const char *name;
    napi_callback cb;
  } fns[] = {
      {"setup", Setup},
      {"abiVersion", AbiVersion},
      {"versionString", VersionString},
      {"buildInfo", BuildInfo},
      {"lastWarning", LastWarning},
      {"liveObjects", LiveObjects},
      {"debugCounters", DebugCounters},
      {"autoDetect", StrategyFromOptions<sa_auto_strategy_detect>},
      {"accessKeyNew", AccessKeyNew},
      {"deviceSessionFromProfile", StrategyFromOptions<sa_device_session_strategy_from_profile>},
      {"staticTokenNew", FromString<K_STRATEGY, sa_static_token_strategy_new, kTokenArg>},
      {"strategyFnNew", StrategyFnNew},
      {"oidcNew", OidcNew},
      {"strategyFree", FreeBox<K_STRATEGY>},
      {"tryGetToken", TryGetToken},
      {"checkTimeout", CheckTimeout},
      {"getTokenAsync", GetTokenAsync},
      {"oidcTryGetTokenWithJwt", OidcTryGetTokenWithJwt},
      {"oidcGetTokenWithJwtAsync", OidcGetTokenWithJwtAsync},
      {"tokenFromValue", TokenFromValue},
      {"callbackError", CallbackError},
      {"setEventHook", SetEventHook},
      {"setLogHandler", SetLogHandler},
      {"invalidate", Invalidate},
      {"debugPanic", DebugPanic},
      {"storeMemoryNew", StoreMemoryNew},
      {"storeOpen", FromString<K_STORE, sa_store_open, kUrlArg>},
      {"storeFnNew", StoreFnNew},
      {"storeFree", FreeBox<K_STORE>},
      {"storeHandle", BoxHandle<K_STORE>},
      {"requestResolve", RequestResolve},
      {"requestReject", RequestReject},
      {"requestRespond", RequestRespond},
      {"transportNew", TransportNew},
      {"transportHandle", BoxHandle<K_TRANSPORT>},
      {"deviceCodeBegin", DeviceCodeBegin},
      {"deviceFlowOpenBrowser", DeviceFlowOpenBrowser},
      {"deviceCodePoll", DeviceCodePoll},
      {"deviceFlowFree", FreeBox<K_FLOW>},
      {"bindClientDevice", BindClientDevice},
      {"flushPending", FlushPending},
      {"flush", Flush},
  };
  for (const Fn &f : fns) {
    napi_value fn;
    CHECK_NAPI(env, napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, es.get(), &fn));
    CHECK_NAPI(env, napi_set_named_property(env, exports, f.name, fn));
  }
  return exports;
}
