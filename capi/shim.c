/*
 * The C side of libstack_auth: what Go cannot do well.
 *  - Every public sa_* function is defined here. It clears this thread's error, refuses to
 *    enter Go in a forked child (the Go runtime does not survive fork: a child that waits on
 *    a goroutine hangs), and then calls the Go export sago_*.
 *  - The per-thread last error lives in C thread-local storage: a Go export runs on its
 *    caller's thread, so setting it from the export writes the caller's slot.
 *  - Strings handed to the host carry a hidden length header, so sa_free can zero them.
 *  - Trampolines call host function pointers for Go.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* cgo's export header defines _GoString_ and includes shim.h through the Go preamble. */
#include "_cgo_export.h"
#include "shim.h"

#define GS_PTR(s) ((s).p)
#define GS_LEN(s) ((size_t)(s).n)

/* ---- fork guard ----------------------------------------------------------------------- */

static atomic_int sa_forked;

static void str_set_after_fork(void);

/* unused where pthread_atfork is a no-op (mingw: Windows has no fork) */
__attribute__((unused)) static void sa_on_fork_child(void) {
	atomic_store_explicit(&sa_forked, 1, memory_order_relaxed);
	str_set_after_fork(); /* a parent thread may have held a lock of the string set */
}

static pthread_key_t tl_key; /* its destructor frees an exiting thread's last error */
static void clear_error(void);
static void clear_warning(void);
static void free_thread_error(void *unused) {
	(void)unused;
	clear_error();
	clear_warning();
}

__attribute__((constructor)) static void sashim_init(void) {
	pthread_atfork(NULL, NULL, sa_on_fork_child);
	pthread_key_create(&tl_key, free_thread_error);
}

/* ---- per-thread last error ------------------------------------------------------------ */

static _Thread_local sa_status tl_status;
static _Thread_local char *tl_code, *tl_message, *tl_json;

/* Every read C makes of Go memory goes through copy_go_bytes. Valgrind can take Go's goroutine
   stack switches for frames being pushed or popped and mark live Go heap undefined or
   unaddressable; the valgrind build of tests/c/run.sh (SA_VALGRIND) tells memcheck that the
   string Go lends for this call is live and initialised, as cgo guarantees. */
#ifdef SA_VALGRIND
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#endif
static void copy_go_bytes(char *dst, _GoString_ s) {
	if (GS_LEN(s) == 0) return;
	VALGRIND_MAKE_MEM_DEFINED(GS_PTR(s), GS_LEN(s));
	memcpy(dst, GS_PTR(s), GS_LEN(s));
}

/* A malloc'd, NUL-terminated copy of a Go string. */
static char *dup_go(_GoString_ g) {
	char *s = malloc(GS_LEN(g) + 1);
	if (s) {
		copy_go_bytes(s, g);
		s[GS_LEN(g)] = 0;
	}
	return s;
}

static void clear_error(void) {
	if (tl_status == SA_OK && tl_code == NULL) return;
	free(tl_code);
	free(tl_message);
	free(tl_json);
	tl_code = tl_message = tl_json = NULL;
	tl_status = SA_OK;
}

/* Makes this thread's last error status with code, message and json (malloc'd copies it now
   owns). */
static void set_error_owned(sa_status status, char *code, char *message, char *json) {
	clear_error();
	pthread_setspecific(tl_key, (void *)1);
	tl_status = status;
	tl_code = code;
	tl_message = message;
	tl_json = json;
}

static void set_error_c(sa_status status, const char *code, const char *message, const char *json) {
	set_error_owned(status, strdup(code), strdup(message), strdup(json));
}

void sashim_set_error(sa_status status, _GoString_ code, _GoString_ message, _GoString_ json) {
	set_error_owned(status, dup_go(code), dup_go(message), dup_go(json));
}

/* The per-thread warning of the last call (an ignored option key): like the last error, but
   for a call that succeeded. */
static _Thread_local char *tl_warning;

static void clear_warning(void) {
	if (tl_warning == NULL) return;
	free(tl_warning);
	tl_warning = NULL;
}

void sashim_set_warning(_GoString_ text) {
	clear_warning();
	pthread_setspecific(tl_key, (void *)1);
	tl_warning = dup_go(text);
}

const char *sa_last_warning(void) { return tl_warning; }

const char *sa_last_error_code(void) { return tl_code; }
const char *sa_last_error_message(void) { return tl_message; }
const char *sa_last_error_json(void) { return tl_json; }
sa_status sa_last_error_status(void) { return tl_status; }

/* Entry of every fallible function: fresh error state, and no Go in a forked child. */
#define SA_ENTER()                                                                              \
	do {                                                                                        \
		clear_error();                                                                          \
		clear_warning();                                                                        \
		if (atomic_load_explicit(&sa_forked, memory_order_relaxed)) {                           \
			set_error_c(SA_E_FORKED, "FORKED",                                                  \
			            "libstack_auth cannot be used in a child process after fork(); load it after forking", \
			            "{\"type\":\"FORKED\",\"message\":\"libstack_auth cannot be used in a child process after fork(); load it after forking\"}"); \
			return SA_E_FORKED;                                                                 \
		}                                                                                       \
	} while (0)

/* Entry of the void *_free functions: they keep this thread's error (a host finalizer may
   free a handle between a failing call and the read of its error). */
#define SA_ENTER_VOID()                                                                         \
	do {                                                                                        \
		if (atomic_load_explicit(&sa_forked, memory_order_relaxed)) return;                     \
	} while (0)

/* ---- strings -------------------------------------------------------------------------- */

/* Zeroes memory the compiler cannot prove dead (explicit_bzero needs glibc 2.25; the
   library targets 2.17). The empty asm with a memory clobber keeps the memset. */
static void wipe(void *p, size_t n) {
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Header before every string handed out: its length, so sa_free can zero it. 16 bytes keeps
   the string aligned for any use. */
typedef struct {
	size_t len;
	size_t pad;
} sa_str_header;

static atomic_llong live_strings;

/* The set of strings handed out and not yet freed. sa_free looks a pointer up before it
   touches anything, so a pointer the library did not hand out (a host's own, or one already
   freed) is ignored without reading the memory around it. Sharded open addressing (linear
   probing, backward-shift deletion); 0 marks an empty slot. */
enum { STR_SHARDS = 16 };
typedef struct {
	pthread_mutex_t mu;
	uintptr_t *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	char pad[24]; /* keep shards on separate cache lines */
} str_shard;
static str_shard str_set[STR_SHARDS];

static size_t str_hash(uintptr_t p) { return (size_t)(((uint64_t)p >> 4) * 0x9E3779B97F4A7C15ULL >> 24); }
static str_shard *str_shard_of(uintptr_t p) { return &str_set[((uint64_t)p >> 4) % STR_SHARDS]; }

static void str_put_locked(str_shard *sh, uintptr_t p) {
	size_t mask = sh->cap - 1, i = str_hash(p) & mask;
	while (sh->slot[i]) i = (i + 1) & mask;
	sh->slot[i] = p;
	sh->n++;
}

static int str_add(uintptr_t p) {
	str_shard *sh = str_shard_of(p);
	pthread_mutex_lock(&sh->mu);
	if ((sh->n + 1) * 2 > sh->cap) { /* keep the load at most one half */
		size_t cap = sh->cap ? sh->cap * 2 : 64;
		uintptr_t *slot = calloc(cap, sizeof *slot);
		if (!slot) {
			pthread_mutex_unlock(&sh->mu);
			return -1;
		}
		uintptr_t *old = sh->slot;
		size_t old_cap = sh->cap;
		sh->slot = slot, sh->cap = cap, sh->n = 0;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i]) str_put_locked(sh, old[i]);
		free(old);
	}
	str_put_locked(sh, p);
	pthread_mutex_unlock(&sh->mu);
	return 0;
}

/* Removes p; 0 when it was not in the set. */
static int str_remove(uintptr_t p) {
	str_shard *sh = str_shard_of(p);
	pthread_mutex_lock(&sh->mu);
	int found = 0;
	if (sh->cap) {
		size_t mask = sh->cap - 1, i = str_hash(p) & mask;
		while (sh->slot[i] && sh->slot[i] != p) i = (i + 1) & mask;
		if (sh->slot[i] == p) {
			found = 1;
			/* Shift back the entries after i that probed past it. */
			for (size_t j = i;;) {
				j = (j + 1) & mask;
				if (!sh->slot[j]) break;
				size_t k = str_hash(sh->slot[j]) & mask;
				if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
				sh->slot[i] = sh->slot[j];
				i = j;
			}
			sh->slot[i] = 0;
			sh->n--;
		}
	}
	pthread_mutex_unlock(&sh->mu);
	return found;
}

sa_status sashim_new_string(_GoString_ s, char **out, size_t *out_len) {
	size_t n = GS_LEN(s);
	sa_str_header *h = malloc(sizeof(sa_str_header) + n + 1);
	if (!h) return SA_E_INTERNAL;
	h->len = n;
	h->pad = 0;
	char *p = (char *)(h + 1);
	copy_go_bytes(p, s);
	p[n] = 0;
	if (str_add((uintptr_t)p) != 0) {
		wipe(h, sizeof(sa_str_header) + n + 1);
		free(h);
		return SA_E_INTERNAL;
	}
	atomic_fetch_add(&live_strings, 1);
	*out = p;
	if (out_len) *out_len = n;
	return SA_OK;
}

static void str_set_after_fork(void) {
	for (int i = 0; i < STR_SHARDS; i++) pthread_mutex_init(&str_set[i].mu, NULL);
}

__attribute__((constructor)) static void str_set_init(void) { str_set_after_fork(); }

void sa_free(void *p) {
	if (!p || !str_remove((uintptr_t)p)) return; /* not ours, or freed already: ignored */
	sa_str_header *h = (sa_str_header *)p - 1;
	size_t n = h->len;
	wipe(h, sizeof(sa_str_header) + n + 1);
	free(h);
	atomic_fetch_sub(&live_strings, 1);
}

int64_t sashim_live_strings(void) { return atomic_load(&live_strings); }

char *sashim_borrow(_GoString_ s) { return dup_go(s); }

void sashim_wipe_free(char *p, size_t len) {
	if (!p) return;
	wipe(p, len);
	free(p);
}

/* The host's live environment (Go's copy is taken once, at load). Returns a malloc'd copy. */
char *sashim_getenv(_GoString_ name) {
	char key[256];
	size_t n = GS_LEN(name);
	if (n >= sizeof key) return NULL;
	copy_go_bytes(key, name);
	key[n] = 0;
	const char *v = getenv(key);
	return v ? strdup(v) : NULL;
}

/* ---- trampolines ---------------------------------------------------------------------- */

void sashim_call_get_token(sa_get_token_fn fn, uintptr_t user_data, sa_request req) { fn((void *)user_data, req); }
void sashim_call_load(sa_store_load_fn fn, uintptr_t user_data, sa_request req) { fn((void *)user_data, req); }
void sashim_call_save(sa_store_save_fn fn, uintptr_t user_data, sa_request req, const char *json, size_t len) {
	fn((void *)user_data, req, json, len);
}
void sashim_call_done(sa_token_done_fn fn, uintptr_t user_data, sa_status status, sa_token token, const char *error_json) {
	fn((void *)user_data, status, token, error_json);
}
void sashim_call_event(sa_event_fn fn, uintptr_t user_data, const char *json, size_t len) {
	fn((void *)user_data, json, len);
}
void sashim_call_log(sa_log_fn fn, uintptr_t user_data, int32_t level, const char *message, size_t len) {
	fn((void *)user_data, level, message, len);
}
void sashim_call_http(sa_http_send_fn fn, uintptr_t user_data, sa_request req, const char *request_json, const char *body,
                      size_t len) {
	fn((void *)user_data, req, request_json, body, len);
}
void sashim_call_destroy(sa_destroy_fn fn, uintptr_t user_data) {
	if (fn) fn((void *)user_data);
}

/* ---- the public functions ------------------------------------------------------------- */

uint32_t sa_abi_version(void) { return SA_ABI_VERSION; }
uint32_t sa_version_number(void) { return SA_VERSION_NUMBER; }
const char *sa_version_string(void) { return SA_VERSION_STRING; }

static char build_info[160];

static void fill_build_info(void) { sago_build_info_fill(build_info, sizeof build_info); }

const char *sa_build_info(void) {
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	if (atomic_load_explicit(&sa_forked, memory_order_relaxed)) return "stack-auth " SA_VERSION_STRING;
	pthread_once(&once, fill_build_info);
	return build_info;
}

sa_status sa_auto_strategy_detect(sa_strategy *out, const char *options_json) {
	SA_ENTER();
	return sago_auto_strategy_detect(out, options_json);
}

sa_status sa_access_key_strategy_new(sa_strategy *out, const char *workspace_crn, const char *access_key,
                                     const char *options_json) {
	SA_ENTER();
	return sago_access_key_strategy_new(out, workspace_crn, access_key, options_json);
}

sa_status sa_device_session_strategy_from_profile(sa_strategy *out, const char *options_json) {
	SA_ENTER();
	return sago_device_session_strategy_from_profile(out, options_json);
}

sa_status sa_static_token_strategy_new(sa_strategy *out, const char *token) {
	SA_ENTER();
	return sago_static_token_strategy_new(out, token);
}

sa_status sa_strategy_fn_new(sa_strategy *out, sa_get_token_fn fn, void *user_data, sa_destroy_fn destroy) {
	SA_ENTER();
	return sago_strategy_fn_new_ex(out, fn, (uintptr_t)user_data, destroy, NULL);
}

sa_status sa_strategy_fn_new_ex(sa_strategy *out, sa_get_token_fn fn, void *user_data, sa_destroy_fn destroy,
                                const char *options_json) {
	SA_ENTER();
	return sago_strategy_fn_new_ex(out, fn, (uintptr_t)user_data, destroy, options_json);
}

sa_status sa_oidc_federation_strategy_new(sa_strategy *out, const char *workspace_crn, sa_get_token_fn provider,
                                          void *user_data, sa_destroy_fn destroy, const char *options_json) {
	SA_ENTER();
	return sago_oidc_federation_strategy_new(out, workspace_crn, provider, (uintptr_t)user_data, destroy, options_json);
}

void sa_strategy_free(sa_strategy s) {
	SA_ENTER_VOID();
	sago_strategy_free(s);
}

sa_status sa_strategy_invalidate(sa_strategy s, sa_token token, int32_t *out_refreshing) {
	SA_ENTER();
	return sago_strategy_invalidate(s, token, out_refreshing);
}

sa_status sa_strategy_invalidate_value(sa_strategy s, const char *token, size_t len, int32_t *out_refreshing) {
	SA_ENTER();
	return sago_strategy_invalidate_value(s, token, len, out_refreshing);
}

sa_status sa_get_token(sa_token *out, sa_strategy s, int32_t timeout_ms) {
	SA_ENTER();
	return sago_get_token(out, s, timeout_ms);
}

sa_status sa_get_token_value(sa_strategy s, int32_t timeout_ms, char **out, size_t *out_len) {
	SA_ENTER();
	return sago_get_token_value(s, timeout_ms, out, out_len);
}

sa_status sa_try_get_token(sa_token *out, sa_strategy s) {
	SA_ENTER();
	return sago_try_get_token(out, s);
}

sa_status sa_get_token_async(sa_strategy s, sa_token_done_fn done, void *user_data) {
	SA_ENTER();
	return sago_get_token_async(s, 0, done, (uintptr_t)user_data);
}

sa_status sa_get_token_async_ex(sa_strategy s, int32_t timeout_ms, sa_token_done_fn done, void *user_data) {
	SA_ENTER();
	return sago_get_token_async(s, timeout_ms, done, (uintptr_t)user_data);
}

sa_status sa_token_value(sa_token t, char **out, size_t *out_len) {
	SA_ENTER();
	return sago_token_value(t, out, out_len);
}

sa_status sa_token_json(sa_token t, char **out, size_t *out_len) {
	SA_ENTER();
	return sago_token_json(t, out, out_len);
}

void sa_token_free(sa_token t) {
	SA_ENTER_VOID();
	sago_token_free(t);
}

sa_status sa_store_memory_new(sa_store *out) {
	SA_ENTER();
	return sago_store_memory_new(out);
}

sa_status sa_store_fn_new(sa_store *out, sa_store_load_fn load, sa_store_save_fn save, void *user_data,
                          sa_destroy_fn destroy) {
	SA_ENTER();
	return sago_store_fn_new_ex(out, load, save, (uintptr_t)user_data, destroy, NULL);
}

sa_status sa_store_fn_new_ex(sa_store *out, sa_store_load_fn load, sa_store_save_fn save, void *user_data,
                             sa_destroy_fn destroy, const char *options_json) {
	SA_ENTER();
	return sago_store_fn_new_ex(out, load, save, (uintptr_t)user_data, destroy, options_json);
}

sa_status sa_transport_new(sa_transport *out, sa_http_send_fn send, void *user_data, sa_destroy_fn destroy,
                           const char *options_json) {
	SA_ENTER();
	return sago_transport_new(out, send, (uintptr_t)user_data, destroy, options_json);
}

void sa_transport_free(sa_transport t) {
	SA_ENTER_VOID();
	sago_transport_free(t);
}

sa_status sa_request_respond(sa_request r, int32_t status, const char *headers_json, const char *body, size_t len) {
	SA_ENTER();
	return sago_request_respond(r, status, headers_json, body, len);
}

sa_status sa_set_host_language(const char *name) {
	SA_ENTER();
	return sago_set_host_language(name);
}

sa_status sa_store_open(sa_store *out, const char *url) {
	SA_ENTER();
	return sago_store_open(out, url);
}

void sa_store_free(sa_store st) {
	SA_ENTER_VOID();
	sago_store_free(st);
}

sa_status sa_request_resolve(sa_request r, const char *value, size_t len) {
	SA_ENTER();
	return sago_request_resolve(r, value, len);
}

sa_status sa_request_reject(sa_request r, const char *code, const char *message) {
	SA_ENTER();
	return sago_request_reject(r, code, message);
}

sa_status sa_request_scope(sa_request r, char **out, size_t *out_len) {
	SA_ENTER();
	return sago_request_scope(r, out, out_len);
}

sa_status sa_device_code_begin(sa_device_flow *out, const char *region, const char *client_id,
                               const char *options_json) {
	SA_ENTER();
	return sago_device_code_begin(out, region, client_id, options_json);
}

sa_status sa_device_flow_json(sa_device_flow f, char **out, size_t *out_len) {
	SA_ENTER();
	return sago_device_flow_json(f, out, out_len);
}

sa_status sa_device_flow_open_browser(sa_device_flow f, int32_t *out_opened) {
	SA_ENTER();
	return sago_device_flow_open_browser(f, out_opened);
}

sa_status sa_device_code_poll(sa_device_flow f, int32_t timeout_ms, char **out, size_t *out_len) {
	SA_ENTER();
	return sago_device_code_poll(f, timeout_ms, out, out_len);
}

void sa_device_flow_free(sa_device_flow f) {
	SA_ENTER_VOID();
	sago_device_flow_free(f);
}

sa_status sa_bind_client_device(const char *options_json) {
	SA_ENTER();
	return sago_bind_client_device(options_json);
}

sa_status sa_check_timeout(int32_t timeout_ms) {
	SA_ENTER();
	return sago_check_timeout(timeout_ms);
}

sa_status sa_flush(int32_t timeout_ms) {
	SA_ENTER();
	return sago_flush(timeout_ms);
}

int64_t sa_debug_live_objects(void) {
	if (atomic_load_explicit(&sa_forked, memory_order_relaxed)) return -1;
	return sago_live_handles() + sashim_live_strings();
}

sa_status sa_debug_panic(void) {
	SA_ENTER();
	return sago_debug_panic();
}

/* ---- the user's function runs in the host's language (docs/architecture.md D4) ---------------------- */

sa_status sa_oidc_get_token_with_jwt(sa_token *out, sa_strategy s, const char *jwt, size_t len, int32_t timeout_ms) {
	SA_ENTER();
	return sago_oidc_get_token_with_jwt(out, s, jwt, len, timeout_ms);
}

sa_status sa_oidc_try_get_token_with_jwt(sa_token *out, sa_strategy s, const char *jwt, size_t len) {
	SA_ENTER();
	return sago_oidc_try_get_token_with_jwt(out, s, jwt, len);
}

sa_status sa_oidc_get_token_with_jwt_async(sa_strategy s, const char *jwt, size_t len, int32_t timeout_ms,
                                           sa_token_done_fn done, void *user_data) {
	SA_ENTER();
	return sago_oidc_get_token_with_jwt_async(s, jwt, len, timeout_ms, done, (uintptr_t)user_data);
}

sa_status sa_token_from_value(sa_token *out, const char *value, size_t len) {
	SA_ENTER();
	return sago_token_from_value(out, value, len);
}

sa_status sa_callback_error(const char *code, const char *message) {
	SA_ENTER();
	return sago_callback_error(code, message);
}

sa_status sa_strategy_set_event_hook(sa_strategy s, sa_event_fn fn, void *user_data, sa_destroy_fn destroy) {
	SA_ENTER();
	return sago_strategy_set_event_hook(s, fn, (uintptr_t)user_data, destroy);
}

sa_status sa_set_log_handler(sa_log_fn fn, int32_t min_level, void *user_data) {
	SA_ENTER();
	return sago_set_log_handler(fn, min_level, (uintptr_t)user_data);
}
