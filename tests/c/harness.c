/*
 * harness.c — the C test suite of libstack_auth, run by tests/c/run.sh against a local
 * emulator (SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY). Plain C11 + pthreads; one tiny assertion
 * macro set. Every test frees what it creates and ends with no live library objects.
 *
 *   harness                 run every test
 *   harness NAME...         run the named tests
 *   harness --subset=vg     run the tests marked for valgrind (fast, no big thread counts)
 *   harness --list          list the tests
 *
 * Prints "ok NAME" / "FAIL NAME" per test and a last line "harness: N passed, M failed".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack_auth.h"
#include "emu.h"
#include "clock.h"

/* ---- assertions ------------------------------------------------------------------------ */

static atomic_int g_check_failures; /* failures in the current test (any thread) */
static pthread_mutex_t g_print_mu = PTHREAD_MUTEX_INITIALIZER;

static void fail_at(const char *file, int line, const char *what, const char *detail) {
	atomic_fetch_add(&g_check_failures, 1);
	pthread_mutex_lock(&g_print_mu);
	fprintf(stderr, "    %s:%d: check failed: %s%s%s\n", file, line, what, detail ? " -- " : "",
	        detail ? detail : "");
	pthread_mutex_unlock(&g_print_mu);
}

static const char *status_name(sa_status st) {
	switch (st) {
	case SA_OK: return "SA_OK";
	case SA_E_AUTH: return "SA_E_AUTH";
	case SA_E_INVALID_ARG: return "SA_E_INVALID_ARG";
	case SA_E_INVALID_HANDLE: return "SA_E_INVALID_HANDLE";
	case SA_E_TIMEOUT: return "SA_E_TIMEOUT";
	case SA_E_CANCELLED: return "SA_E_CANCELLED";
	case SA_E_FORKED: return "SA_E_FORKED";
	case SA_E_CALLBACK: return "SA_E_CALLBACK";
	case SA_E_INTERNAL: return "SA_E_INTERNAL";
	case SA_E_WOULD_BLOCK: return "SA_E_WOULD_BLOCK";
	}
	return "?";
}

#define CHECK(c)                                                                                   \
	do {                                                                                           \
		if (!(c)) fail_at(__FILE__, __LINE__, #c, NULL);                                           \
	} while (0)

/* Checks a status; on mismatch prints both and this thread's last error. */
#define CHECK_ST(expr, want)                                                                       \
	do {                                                                                           \
		sa_status st_ = (expr);                                                                    \
		if (st_ != (want)) {                                                                       \
			char d_[640];                                                                          \
			snprintf(d_, sizeof d_, "got %s (%d), want %s; last error %s: %.400s", status_name(st_), \
			         st_, status_name(want), sa_last_error_code() ? sa_last_error_code() : "-",     \
			         sa_last_error_message() ? sa_last_error_message() : "-");                     \
			fail_at(__FILE__, __LINE__, #expr, d_);                                                \
		}                                                                                          \
	} while (0)
#define CHECK_OK(expr) CHECK_ST(expr, SA_OK)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                           \
		const char *a_ = (a), *b_ = (b);                                                           \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
			char d_[512];                                                                          \
			snprintf(d_, sizeof d_, "\"%.200s\" != \"%.200s\"", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			fail_at(__FILE__, __LINE__, #a " == " #b, d_);                                         \
		}                                                                                          \
	} while (0)

/* Stops the test when a precondition fails (later checks would only add noise). */
#define REQUIRE(c)                                                                                 \
	do {                                                                                           \
		if (!(c)) {                                                                                \
			fail_at(__FILE__, __LINE__, #c, "required; test stopped");                             \
			return;                                                                                \
		}                                                                                          \
	} while (0)

/* ---- helpers --------------------------------------------------------------------------- */

/* Polls expr every millisecond for up to ms; evaluates to its last value. */
#define WAIT_UNTIL(expr, ms)                                                                       \
	({                                                                                             \
		double until_ = now_ms() + (ms);                                                           \
		while (!(expr) && now_ms() < until_) sleep_ms(1);                                          \
		(expr);                                                                                    \
	})

static char OPTS_BASE[512]; /* {"baseUrl":"<emulator>"} */

/* The bearer string of t as a malloc'd copy (NULL on failure). */
static char *token_value(sa_token t, size_t *len_out) {
	char *v = NULL;
	size_t n = 0;
	if (sa_token_value(t, &v, &n) != SA_OK) return NULL;
	char *copy = malloc(n + 1);
	memcpy(copy, v, n + 1);
	sa_free(v);
	if (len_out) *len_out = n;
	return copy;
}

static char *token_json(sa_token t) {
	char *v = NULL;
	size_t n = 0;
	if (sa_token_json(t, &v, &n) != SA_OK) return NULL;
	char *copy = strdup(v);
	sa_free(v);
	return copy;
}

/* Gets a token from s (10 s at most) and checks it is for the emulator's default workspace;
 * returns it (0 when there is none). */
static sa_token get_emu_token(sa_strategy s) {
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *json = token_json(t);
	char ws[128] = "";
	CHECK(json && json_get_str(json, "workspaceId", ws, sizeof ws) == 0);
	CHECK_STREQ(ws, EMU.ws);
	free(json);
	return t;
}

/* An access-key strategy on the emulator that keeps its token in st. */
static sa_strategy store_strategy(sa_store st) {
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	sa_strategy s = 0;
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	return s;
}

/* Library objects (handles + unfreed strings) settle asynchronously after hooks return. */
static int64_t live_settled(void) {
	WAIT_UNTIL(sa_debug_live_objects() == 0, 3000);
	return sa_debug_live_objects();
}

#define CHECK_NO_LIVE_OBJECTS()                                                                    \
	do {                                                                                           \
		int64_t live_ = live_settled();                                                            \
		if (live_ != 0) {                                                                          \
			char d_[64];                                                                           \
			snprintf(d_, sizeof d_, "%lld live objects", (long long)live_);                        \
			fail_at(__FILE__, __LINE__, "sa_debug_live_objects() == 0", d_);                       \
		}                                                                                          \
	} while (0)

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f) {
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static void make_tmpdir(char *out, size_t cap) {
	const char *base = getenv("SA_TEST_TMP");
	snprintf(out, cap, "%s/sa-c-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		abort();
	}
}

static void rm_tree(const char *dir) { nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static char g_found[1024];
static const char *g_find_name;
static int find_cb(const char *p, const struct stat *sb, int flag, struct FTW *f) {
	(void)sb, (void)flag;
	if (strcmp(p + f->base, g_find_name) == 0) {
		snprintf(g_found, sizeof g_found, "%s", p);
		return 1;
	}
	return 0;
}
/* Path of the first file called name under dir, or NULL. */
static const char *find_file(const char *dir, const char *name) {
	g_find_name = name;
	g_found[0] = 0;
	return nftw(dir, find_cb, 16, FTW_PHYS) == 1 ? g_found : NULL;
}

/* An access-key strategy against the emulator. */
static sa_status new_ak(sa_strategy *s) { return sa_access_key_strategy_new(s, EMU.crn, EMU.key, OPTS_BASE); }

/* new_ak, then the value of its first token (the caller frees it; NULL after a failure). */
static char *new_ak_token_value(sa_strategy *s) {
	sa_token t = 0;
	CHECK_OK(new_ak(s));
	CHECK_OK(sa_get_token(&t, *s, 10000));
	char *v = token_value(t, NULL);
	sa_token_free(t);
	return v;
}

/* A per-call timeout_ms is 0 (the strategy's timeoutMs) or 1 ms to a day; anything else is
   INVALID_ARGUMENT in core's words, before any request, for every call that takes one. */
static void never_done(void *ud, sa_status st, sa_token t, const char *ej) {
	(void)ud, (void)st, (void)ej;
	sa_token_free(t);
	atomic_fetch_add(&g_check_failures, 1); /* a refused call must never complete */
}

static void test_call_timeout_checked(void) {
	emu_clear_requests();
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	static const int32_t bad[] = {-1, 86400001, INT32_MIN};
	for (size_t i = 0; i < 3; i++) {
		sa_token t = 0;
		CHECK_ST(sa_get_token(&t, s, bad[i]), SA_E_INVALID_ARG);
		sa_token_free(t); /* 0 unless the check failed */
		CHECK_STREQ(sa_last_error_code(), "INVALID_ARGUMENT");
		const char *m = sa_last_error_message(), *j = sa_last_error_json();
		CHECK(m && strstr(m, "must be 0 (the default) or 1 to 86400000 ms"));
		CHECK(j && strstr(j, "`timeout_ms`")); /* help in C's words */
		char *v = NULL;
		CHECK_ST(sa_get_token_value(s, bad[i], &v, NULL), SA_E_INVALID_ARG);
		CHECK(v == NULL);
		CHECK_ST(sa_get_token_async_ex(s, bad[i], never_done, NULL), SA_E_INVALID_ARG);
		CHECK_ST(sa_flush(bad[i]), SA_E_INVALID_ARG);
		CHECK_STREQ(sa_last_error_code(), "INVALID_ARGUMENT");
		CHECK_ST(sa_check_timeout(bad[i]), SA_E_INVALID_ARG);
		CHECK_STREQ(sa_last_error_code(), "INVALID_ARGUMENT");
	}
	CHECK_OK(sa_check_timeout(0));
	CHECK_OK(sa_check_timeout(1));
	CHECK_OK(sa_check_timeout(86400000));
	CHECK(emu_count_requests("/api/authorise") == 0);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 86400000));
	sa_token_free(t);
	sa_strategy_free(s);
}

/* ---- version --------------------------------------------------------------------------- */

static void test_version(void) {
	CHECK(sa_abi_version() == SA_ABI_VERSION);
	CHECK(sa_version_number() == SA_VERSION_NUMBER);
	CHECK_STREQ(sa_version_string(), SA_VERSION_STRING);
	CHECK(strncmp(sa_build_info(), "stack-auth " SA_VERSION_STRING " (go", strlen("stack-auth " SA_VERSION_STRING " (go")) == 0);
}

/* ---- strategies against the emulator ---------------------------------------------------- */

static void test_access_key(void) {
	emu_clear_requests();
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	REQUIRE(s != 0);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	REQUIRE(t != 0);
	char *json = token_json(t);
	REQUIRE(json);
	static const char *keys[] = {"token", "subject", "workspaceId", "issuer", "services", "expiresAt"};
	for (size_t i = 0; i < 6; i++) CHECK(json_has_key(json, keys[i]));
	char ws[128] = "";
	CHECK(json_get_str(json, "workspaceId", ws, sizeof ws) == 0);
	CHECK_STREQ(ws, EMU.ws);
	CHECK(json_get_num(json, "expiresAt") > (long long)time(NULL));
	size_t n = 0;
	char *v = token_value(t, &n);
	REQUIRE(v);
	CHECK(n == strlen(v) && n > 20);
	CHECK(count_substr(v, ".") == 2); /* a JWT */
	char tok_in_json[4096];
	CHECK(json_get_str(json, "token", tok_in_json, sizeof tok_in_json) == 0 && strcmp(tok_in_json, v) == 0);

	/* Cached: a second call asks nobody. */
	sa_token t2 = 0;
	CHECK_OK(sa_get_token(&t2, s, 10000));
	char *v2 = token_value(t2, NULL);
	CHECK(v2 && strcmp(v, v2) == 0);
	CHECK(emu_count_requests("/api/authorise") == 1);

	/* Invalidate (after a 401): t is still current, so it forces exactly one refresh. */
	int32_t refreshing = -1;
	CHECK_OK(sa_strategy_invalidate(s, t, &refreshing));
	CHECK(refreshing == 1);
	sa_token t3 = 0;
	CHECK_OK(sa_get_token(&t3, s, 10000));
	CHECK(emu_count_requests("/api/authorise") == 2);
	/* A late 401 for the old token never throws the newer one away. */
	CHECK_OK(sa_strategy_invalidate(s, t, &refreshing));
	CHECK(refreshing == 0);
	CHECK_OK(sa_strategy_invalidate(s, t, NULL));

	free(v), free(v2), free(json);
	sa_token_free(t), sa_token_free(t2), sa_token_free(t3);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

static void unset_cs_env(void) {
	unsetenv("CS_CTS_HOST");
	unsetenv("CS_CLIENT_ACCESS_KEY");
	unsetenv("CS_WORKSPACE_CRN");
	unsetenv("CS_CONFIG_PATH");
	unsetenv("CS_TOKEN_STORE");
}

/* docs/c-abi.md P27: variables set with setenv() after the library (and its Go runtime) loaded. */
static void test_auto_env(void) {
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	unset_cs_env();
	setenv("CS_CTS_HOST", EMU.url, 1);
	setenv("CS_CLIENT_ACCESS_KEY", EMU.key, 1);
	setenv("CS_WORKSPACE_CRN", EMU.crn, 1);
	emu_clear_requests();
	sa_strategy s = 0;
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"profileDir\":\"%s\"}", dir); /* no baseUrl: CS_CTS_HOST only */
	CHECK_OK(sa_auto_strategy_detect(&s, opts));
	sa_token t = get_emu_token(s);
	CHECK(emu_count_requests("/api/authorise") == 1); /* it went to CS_CTS_HOST */
	sa_token_free(t);
	CHECK_OK(sa_try_get_token(&t, s)); /* AutoStrategy caches */
	sa_token_free(t);
	sa_strategy_free(s);

	/* CS_TOKEN_STORE set after load selects the store. */
	char url[1024], path[600];
	snprintf(path, sizeof path, "%s/env-store.json", dir);
	snprintf(url, sizeof url, "file://%s", path);
	setenv("CS_TOKEN_STORE", url, 1);
	CHECK_OK(sa_auto_strategy_detect(&s, opts));
	CHECK_OK(sa_get_token(&t, s, 10000));
	CHECK_OK(sa_flush(5000)); /* the save follows the caller's wake-up */
	struct stat sb;
	CHECK(stat(path, &sb) == 0);
	sa_token_free(t);
	sa_strategy_free(s);
	unset_cs_env();
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_auto_options(void) {
	unset_cs_env();
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	char opts[2048];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"accessKey\":\"%s\",\"workspaceCrn\":\"%s\",\"profileDir\":\"%s\"}",
	         EMU.url, EMU.key, EMU.crn, dir);
	sa_strategy s = 0;
	CHECK_OK(sa_auto_strategy_detect(&s, opts));
	sa_token t = get_emu_token(s);
	sa_token_free(t);
	sa_strategy_free(s);

	/* An access key without a CRN is a configuration error, not NOT_AUTHENTICATED. */
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"accessKey\":\"%s\",\"profileDir\":\"%s\"}", EMU.url, EMU.key, dir);
	s = 0xABCD;
	CHECK_ST(sa_auto_strategy_detect(&s, opts), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "MISSING_WORKSPACE_CRN");
	CHECK(s == 0xABCD);
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_auto_nothing(void) {
	unset_cs_env();
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"profileDir\":\"%s\"}", dir);
	sa_strategy s = 0xABCD;
	CHECK_ST(sa_auto_strategy_detect(&s, opts), SA_E_AUTH);
	CHECK(s == 0xABCD); /* out is written only on success */
	CHECK(sa_last_error_status() == SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "NOT_AUTHENTICATED");
	CHECK(sa_last_error_message() && *sa_last_error_message());
	const char *j = sa_last_error_json();
	CHECK(json_has_key(j, "type") && json_has_key(j, "message") && json_has_key(j, "help"));
	CHECK(j && strstr(j, "\"NOT_AUTHENTICATED\""));
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* Device-code login (auto-approving emulator), then the saved session, then binding. */
static void test_device_session(void) {
	unset_cs_env();
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\"}", EMU.url, dir);

	/* A device name of its own: ZeroKMS answers 409 (and binding writes nothing, by spec) for
	   a name the emulator has already seen, e.g. the hostname on a rerun. */
	char devpath[700];
	snprintf(devpath, sizeof devpath, "%s/device.json", dir);
	FILE *dev = fopen(devpath, "w");
	REQUIRE(dev);
	fprintf(dev, "{\"device_instance_id\":\"2f1c3b9e-5d4a-4c7e-9b1a-%012lx\",\"device_name\":\"c-harness-%s\"}\n",
	        (unsigned long)getpid() & 0xffffffffffffUL, strrchr(dir, '/') + 1);
	fclose(dev);
	chmod(devpath, 0600);

	/* Before login there is no session: auth.json is missing (docs/upstream.md 10.10: a Store error). */
	sa_strategy s = 0xABCD;
	CHECK_ST(sa_device_session_strategy_from_profile(&s, opts), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "STORE_ERROR");
	CHECK(s == 0xABCD);

	sa_device_flow f = 0;
	CHECK_OK(sa_device_code_begin(&f, EMU.region, NULL, opts));
	REQUIRE(f != 0);
	char *fj = NULL;
	size_t fjn = 0;
	CHECK_OK(sa_device_flow_json(f, &fj, &fjn));
	CHECK(fj && json_has_key(fj, "userCode") && json_has_key(fj, "verificationUri") &&
	      json_has_key(fj, "verificationUriComplete") && json_has_key(fj, "expiresIn"));
	CHECK(fj && strlen(fj) == fjn);
	sa_free(fj);

	char *tj = NULL;
	size_t tjn = 0;
	CHECK_OK(sa_device_code_poll(f, 15000, &tj, &tjn));
	char ws[128] = "";
	CHECK(tj && json_get_str(tj, "workspaceId", ws, sizeof ws) == 0);
	CHECK_STREQ(ws, EMU.ws);
	sa_free(tj);

	/* The flow is consumed. */
	tj = (char *)0x1;
	CHECK_ST(sa_device_code_poll(f, 1000, &tj, &tjn), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "ALREADY_CONSUMED");
	CHECK(tj == (char *)0x1);
	sa_device_flow_free(f);
	CHECK_ST(sa_device_flow_json(f, &fj, &fjn), SA_E_INVALID_HANDLE);
	sa_device_flow_free(f); /* stale: accepted */

	CHECK(find_file(dir, "auth.json") != NULL);

	CHECK_OK(sa_device_session_strategy_from_profile(&s, opts));
	sa_token t = get_emu_token(s);
	sa_token_free(t);
	CHECK_OK(sa_try_get_token(&t, s)); /* seeded from the profile: no wait */
	sa_token_free(t);
	sa_strategy_free(s);

	/* CS_CONFIG_PATH set with setenv() after load names the profile (docs/c-abi.md P27). */
	setenv("CS_CONFIG_PATH", dir, 1);
	CHECK_OK(sa_device_session_strategy_from_profile(&s, OPTS_BASE));
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	sa_strategy_free(s);
	unsetenv("CS_CONFIG_PATH");

	/* AutoStrategy falls back to the device session when there is no access key. */
	CHECK_OK(sa_auto_strategy_detect(&s, opts));
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	sa_strategy_free(s);

	char bopts[1024];
	snprintf(bopts, sizeof bopts, "{\"profileDir\":\"%s\"}", dir);
	CHECK_OK(sa_bind_client_device(bopts));
	const char *sk = find_file(dir, "secretkey.json");
	CHECK(sk != NULL);
	if (sk) {
		struct stat sb;
		CHECK(stat(sk, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	}
	CHECK_OK(sa_bind_client_device(bopts)); /* already bound: nothing to do */
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* A call's status and this thread's last error code after it ("-" when none): what a test
   reads back from a call made on another thread. */
typedef struct {
	sa_status st;
	char code[64];
} outcome;

static void outcome_set(outcome *o, sa_status st) {
	o->st = st;
	snprintf(o->code, sizeof o->code, "%s", sa_last_error_code() ? sa_last_error_code() : "-");
}

/* A call that blocks (10 s at most) on another thread while the test frees its handle:
   sa_device_code_poll on f when f is set, else sa_get_token on s. */
typedef struct {
	sa_strategy s;
	sa_device_flow f;
	outcome out;
	double returned_at;
} blocked_call;

static void *blocked_call_main(void *p) {
	blocked_call *b = p;
	sa_token t = 0;
	char *json = NULL;
	sa_status st = b->f ? sa_device_code_poll(b->f, 10000, &json, NULL) : sa_get_token(&t, b->s, 10000);
	b->returned_at = now_ms();
	outcome_set(&b->out, st);
	sa_free(json), sa_token_free(t); /* NULL and 0 unless the call succeeded */
	return NULL;
}

/* A pending device flow: poll times out, is denied, or is cancelled by freeing the flow. */
static void test_device_pending(void) {
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\"}", EMU.url, dir);
	REQUIRE(emu_http("POST", "/_emulator/config", "{\"autoApprove\":false}", NULL) == 200);

	/* timeout_ms passes while approval is pending. */
	sa_device_flow f = 0;
	CHECK_OK(sa_device_code_begin(&f, EMU.region, "cli", opts));
	char *out = (char *)0x1;
	size_t n = 0;
	double t0 = now_ms();
	CHECK_ST(sa_device_code_poll(f, 300, &out, &n), SA_E_TIMEOUT);
	CHECK(now_ms() - t0 < 2000);
	CHECK(out == (char *)0x1);
	sa_device_flow_free(f);

	/* Denied on the verification page. */
	CHECK_OK(sa_device_code_begin(&f, EMU.region, NULL, opts));
	char *fj = NULL;
	CHECK_OK(sa_device_flow_json(f, &fj, NULL));
	char code[64] = "", req[128];
	CHECK(json_get_str(fj, "userCode", code, sizeof code) == 0);
	sa_free(fj);
	snprintf(req, sizeof req, "{\"userCode\":\"%s\"}", code);
	CHECK(emu_http("POST", "/_emulator/deny", req, NULL) == 200);
	CHECK_ST(sa_device_code_poll(f, 5000, &out, &n), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "ACCESS_DENIED");
	sa_device_flow_free(f);

	/* Freed while another thread polls. */
	CHECK_OK(sa_device_code_begin(&f, EMU.region, NULL, opts));
	blocked_call p = {.f = f};
	pthread_t th;
	pthread_create(&th, NULL, blocked_call_main, &p);
	sleep_ms(300);
	t0 = now_ms();
	sa_device_flow_free(f);
	pthread_join(th, NULL);
	CHECK_ST(p.out.st, SA_E_CANCELLED);
	CHECK_STREQ(p.out.code, "CANCELLED");
	CHECK(now_ms() - t0 < 1000);

	emu_http("POST", "/_emulator/config", "{\"autoApprove\":true}", NULL);
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_static_token(void) {
	sa_strategy s = 0;
	CHECK_OK(sa_static_token_strategy_new(&s, "static-token-123"));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 0));
	size_t n = 0;
	char *v = token_value(t, &n);
	CHECK_STREQ(v, "static-token-123");
	CHECK(n == 16);
	free(v);
	sa_token_free(t);
	CHECK_OK(sa_try_get_token(&t, s)); /* a static token never needs a wait */
	sa_token_free(t);
	sa_strategy_free(s);
	s = 0xABCD;
	CHECK_ST(sa_static_token_strategy_new(&s, ""), SA_E_INVALID_ARG);
	CHECK_ST(sa_static_token_strategy_new(&s, NULL), SA_E_INVALID_ARG);
	CHECK(s == 0xABCD);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- AuthStrategyFn ------------------------------------------------------------------- */

enum { M_SYNC, M_THREAD, M_LATE, M_TWICE, M_REJECT, M_NEVER, M_SLOW_RETURN, M_NULL_LEN };

typedef struct {
	int mode;
	const char *value;
	size_t len;
	pthread_t caller;
	atomic_int calls, destroys, in_hook, on_caller_thread, destroy_during_hook, helpers;
	atomic_int st1, st2;
	_Atomic sa_request stash;
} fnctx;

static void fnctx_init(fnctx *c, int mode, const char *value) {
	memset(c, 0, sizeof *c);
	c->mode = mode;
	c->value = value;
	c->len = value ? strlen(value) : 0;
	c->caller = pthread_self();
	atomic_store(&c->st1, 99);
	atomic_store(&c->st2, 99);
}

typedef struct {
	fnctx *c;
	sa_request req;
} helper_arg;

static void *helper_main(void *p) {
	helper_arg *h = p;
	fnctx *c = h->c;
	if (c->mode == M_LATE) sleep_ms(200);
	atomic_store(&c->st1, sa_request_resolve(h->req, c->value, c->len));
	if (c->mode == M_TWICE) atomic_store(&c->st2, sa_request_resolve(h->req, "second", 6));
	free(h);
	atomic_fetch_sub(&c->helpers, 1);
	return NULL;
}

static void fn_hook(void *ud, sa_request req) {
	fnctx *c = ud;
	atomic_fetch_add(&c->in_hook, 1);
	atomic_fetch_add(&c->calls, 1);
	if (pthread_equal(pthread_self(), c->caller)) atomic_store(&c->on_caller_thread, 1);
	switch (c->mode) {
	case M_SYNC: atomic_store(&c->st1, sa_request_resolve(req, c->value, c->len)); break;
	case M_THREAD:
	case M_LATE:
	case M_TWICE: {
		helper_arg *h = malloc(sizeof *h);
		h->c = c, h->req = req;
		atomic_fetch_add(&c->helpers, 1);
		pthread_t th;
		pthread_create(&th, NULL, helper_main, h);
		pthread_detach(th);
		break;
	}
	case M_REJECT: atomic_store(&c->st1, sa_request_reject(req, "MY_HOOK_ERROR", "the host said no")); break;
	case M_NEVER: atomic_store(&c->stash, req); break;
	case M_SLOW_RETURN:
		atomic_store(&c->st1, sa_request_resolve(req, c->value, c->len));
		sleep_ms(300); /* destroy must wait for this return */
		break;
	case M_NULL_LEN:
		atomic_store(&c->st1, sa_request_resolve(req, NULL, 5)); /* NULL with len > 0 */
		atomic_store(&c->st2, sa_request_resolve(req, c->value, c->len));
		break;
	}
	atomic_fetch_sub(&c->in_hook, 1);
}

static void fn_destroy(void *ud) {
	fnctx *c = ud;
	if (atomic_load(&c->in_hook) != 0) atomic_store(&c->destroy_during_hook, 1);
	atomic_fetch_add(&c->destroys, 1);
}

/* Frees s and checks destroy ran exactly once, after the hook's last return. */
static void free_fn_strategy(sa_strategy s, fnctx *c) {
	CHECK(atomic_load(&c->destroys) == 0); /* never before free */
	sa_strategy_free(s);
	CHECK(WAIT_UNTIL(atomic_load(&c->destroys) == 1, 3000));
	CHECK(WAIT_UNTIL(atomic_load(&c->helpers) == 0, 3000));
	sleep_ms(20);
	CHECK(atomic_load(&c->destroys) == 1);
	CHECK(atomic_load(&c->destroy_during_hook) == 0);
	sa_strategy_free(s); /* stale: accepted, no second destroy */
	sleep_ms(5);
	CHECK(atomic_load(&c->destroys) == 1);
}

/* free_fn_strategy for a test's last object: then nothing is left alive. */
static void free_last_fn_strategy(sa_strategy s, fnctx *c) {
	free_fn_strategy(s, c);
	CHECK_NO_LIVE_OBJECTS();
}

/* A function strategy over fn_hook in mode (answering value), with c as its context. */
static sa_strategy new_fn_strategy(fnctx *c, int mode, const char *value) {
	fnctx_init(c, mode, value);
	sa_strategy s = 0;
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, c, fn_destroy));
	return s;
}

static void expect_fn_token(sa_strategy s, const char *want) {
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 5000));
	char *v = token_value(t, NULL);
	CHECK_STREQ(v, want);
	free(v);
	sa_token_free(t);
}

/* The token want, answered by the hook's helper thread, whose sa_request_resolve succeeded. */
static void expect_helper_answer(sa_strategy s, fnctx *c, const char *want) {
	expect_fn_token(s, want);
	CHECK(WAIT_UNTIL(atomic_load(&c->helpers) == 0, 2000));
	CHECK(atomic_load(&c->st1) == SA_OK);
}

static void test_fn_sync(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_SYNC, "tok-sync");
	expect_fn_token(s, "tok-sync");
	CHECK(atomic_load(&c.st1) == SA_OK);
	expect_fn_token(s, "tok-sync");
	CHECK(atomic_load(&c.calls) == 2); /* no caching: asked on every call */
	/* The fast path: sa_get_token calls the hook on the caller's thread, no thread hop. */
	CHECK(atomic_load(&c.on_caller_thread) == 1);
	sa_token t = 0xABCD;
	CHECK_ST(sa_try_get_token(&t, s), SA_E_WOULD_BLOCK);
	CHECK(t == 0xABCD);
	free_last_fn_strategy(s, &c);
}

static void test_fn_thread(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_THREAD, "tok-from-thread");
	expect_helper_answer(s, &c, "tok-from-thread");
	free_last_fn_strategy(s, &c);
}

/* Many callers of one strategy s, from threads (fanin_thread) or async calls (fanin_done):
   how many completed, how many got a token, and whether every token had the same value. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, ok, mismatched;
	char value[4096];
	sa_strategy s; /* fanin_thread's */
} fanin;

static void fanin_init(fanin *f, sa_strategy s) {
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->s = s;
}

static void fanin_record(fanin *f, sa_status st, sa_token t) {
	char *v = st == SA_OK ? token_value(t, NULL) : NULL;
	if (st == SA_OK) sa_token_free(t);
	pthread_mutex_lock(&f->mu);
	f->done++;
	if (v) {
		f->ok++;
		if (!f->value[0]) snprintf(f->value, sizeof f->value, "%s", v);
		else if (strcmp(f->value, v) != 0) f->mismatched++;
	}
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	free(v);
}

static void fanin_done(void *ud, sa_status st, sa_token t, const char *err) {
	(void)err;
	fanin_record(ud, st, t);
}

static void *fanin_thread(void *p) {
	fanin *f = p;
	sa_token t = 0;
	sa_status st = sa_get_token(&t, f->s, 15000);
	fanin_record(f, st, t);
	return NULL;
}

static void test_fn_late(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_LATE, "tok-late");
	double t0 = now_ms();
	expect_fn_token(s, "tok-late");
	CHECK(now_ms() - t0 >= 190);
	CHECK(WAIT_UNTIL(atomic_load(&c.helpers) == 0, 2000));

	/* Concurrent callers share one request (single flight). */
	atomic_store(&c.calls, 0);
	fanin f;
	fanin_init(&f, s);
	pthread_t th[8];
	for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, fanin_thread, &f);
	for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
	CHECK(f.ok == 8 && f.mismatched == 0);
	CHECK_STREQ(f.value, "tok-late");
	CHECK(atomic_load(&c.calls) == 1);
	free_last_fn_strategy(s, &c);
}

static void test_fn_twice(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_TWICE, "first");
	expect_helper_answer(s, &c, "first");
	CHECK(atomic_load(&c.st2) == SA_E_INVALID_HANDLE); /* a repeated completion changes nothing */
	free_last_fn_strategy(s, &c);
}

static void test_fn_reject(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_REJECT, NULL);
	sa_token t = 0xABCD;
	CHECK_ST(sa_get_token(&t, s, 5000), SA_E_CALLBACK);
	CHECK(t == 0xABCD); /* never a token */
	CHECK(sa_last_error_status() == SA_E_CALLBACK);
	CHECK_STREQ(sa_last_error_code(), "MY_HOOK_ERROR");
	CHECK_STREQ(sa_last_error_message(), "the host said no");
	CHECK(sa_last_error_json() && strstr(sa_last_error_json(), "the host said no"));
	CHECK(atomic_load(&c.st1) == SA_OK);
	free_last_fn_strategy(s, &c);
}

static void test_fn_never(void) {
	/* The hook's own timeout (sa_strategy_fn_new_ex timeoutMs). */
	fnctx c;
	fnctx_init(&c, M_NEVER, NULL);
	sa_strategy s = 0;
	CHECK_OK(sa_strategy_fn_new_ex(&s, fn_hook, &c, fn_destroy, "{\"timeoutMs\":300}"));
	sa_token t = 0xABCD;
	double t0 = now_ms();
	CHECK_ST(sa_get_token(&t, s, 0), SA_E_TIMEOUT);
	double el = now_ms() - t0;
	CHECK(el >= 250 && el < 2000);
	CHECK(t == 0xABCD);
	CHECK_STREQ(sa_last_error_code(), "TIMEOUT");
	/* Once the hook's timeout has passed (the caller's equal deadline may end a moment
	   earlier), its request is dead: completing it now changes nothing. */
	sleep_ms(100);
	CHECK_ST(sa_request_resolve(atomic_load(&c.stash), "late", 4), SA_E_INVALID_HANDLE);
	free_fn_strategy(s, &c);

	/* The default hook timeout (30 s) is bounded by sa_get_token's timeout_ms. */
	fnctx_init(&c, M_NEVER, NULL);
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	t0 = now_ms();
	CHECK_ST(sa_get_token(&t, s, 200), SA_E_TIMEOUT);
	el = now_ms() - t0;
	CHECK(el >= 150 && el < 1500);
	CHECK(t == 0xABCD);
	sa_request stale = atomic_load(&c.stash);
	CHECK(stale != 0);
	free_fn_strategy(s, &c);
	CHECK_NO_LIVE_OBJECTS(); /* the pending request ended with the strategy */
	CHECK_ST(sa_request_resolve(stale, "late", 4), SA_E_INVALID_HANDLE);
	CHECK_ST(sa_request_reject(stale, NULL, NULL), SA_E_INVALID_HANDLE);
}

static void test_fn_destroy_order(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_SLOW_RETURN, "tok-slow");
	/* The hook runs on the asking thread: ask from another one, and free while the hook,
	   having resolved, still sleeps. */
	blocked_call w = {.s = s};
	pthread_t th;
	pthread_create(&th, NULL, blocked_call_main, &w);
	CHECK(WAIT_UNTIL(atomic_load(&c.st1) == SA_OK, 3000));
	CHECK(atomic_load(&c.in_hook) == 1);
	sa_strategy_free(s);
	CHECK(atomic_load(&c.destroys) == 0); /* the hook is still running */
	CHECK(WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000));
	pthread_join(th, NULL);
	CHECK(w.out.st == SA_OK || w.out.st == SA_E_CANCELLED);
	CHECK(atomic_load(&c.destroy_during_hook) == 0);
	sleep_ms(20);
	CHECK(atomic_load(&c.destroys) == 1);
	CHECK_NO_LIVE_OBJECTS();

	/* Failure to build: destroy is NOT called. */
	fnctx_init(&c, M_SYNC, "x");
	s = 0xABCD;
	CHECK_ST(sa_strategy_fn_new_ex(&s, fn_hook, &c, fn_destroy, "{\"baseUrl\":\"http://x\"}"), SA_E_INVALID_ARG);
	CHECK_ST(sa_strategy_fn_new_ex(&s, fn_hook, &c, fn_destroy, "{\"timeoutMs\":0}"), SA_E_INVALID_ARG);
	CHECK_ST(sa_strategy_fn_new(&s, NULL, &c, fn_destroy), SA_E_INVALID_ARG);
	CHECK_ST(sa_strategy_fn_new(NULL, fn_hook, &c, fn_destroy), SA_E_INVALID_ARG);
	CHECK(s == 0xABCD);
	sleep_ms(20);
	CHECK(atomic_load(&c.destroys) == 0);
	CHECK(atomic_load(&c.calls) == 0);

	/* A NULL destroy is allowed. */
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, NULL));
	expect_fn_token(s, "x");
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* docs/c-abi.md R13: sa_strategy_free never waits for a host hook; the waiting caller is cancelled. */
static void test_fn_free_while_waiting(void) {
	fnctx c;
	sa_strategy s = new_fn_strategy(&c, M_NEVER, NULL);
	blocked_call w = {.s = s};
	pthread_t th;
	pthread_create(&th, NULL, blocked_call_main, &w);
	CHECK(WAIT_UNTIL(atomic_load(&c.stash) != 0, 3000)); /* the hook holds a request */
	sleep_ms(20);
	double t0 = now_ms();
	sa_strategy_free(s);
	double free_ms = now_ms() - t0;
	pthread_join(th, NULL);
	CHECK(free_ms < 1000); /* it would be the 30 s hook timeout if free waited */
	CHECK_ST(w.out.st, SA_E_CANCELLED);
	CHECK_STREQ(w.out.code, "CANCELLED");
	CHECK(w.returned_at - t0 < 1000);
	CHECK(WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000));
	CHECK_NO_LIVE_OBJECTS();
	CHECK_ST(sa_request_resolve(atomic_load(&c.stash), "late", 4), SA_E_INVALID_HANDLE);
	sleep_ms(10);
	CHECK(atomic_load(&c.destroys) == 1);
}

/* The same, 300 times, with two busy threads competing for the two cores (they make the
   race visible: the freeing thread is preempted between ending the hook's request and
   cancelling the callers' contexts). Every wait must end with SA_E_CANCELLED. */
static atomic_int g_spin_stop;
static void *spin_main(void *p) {
	(void)p;
	volatile unsigned long x = 0;
	while (!atomic_load_explicit(&g_spin_stop, memory_order_relaxed)) x++;
	return NULL;
}

static void test_fn_free_while_waiting_race(void) {
	enum { ROUNDS = 300 };
	int wrong = 0;
	char first[160] = "";
	atomic_store(&g_spin_stop, 0);
	pthread_t spinners[2];
	for (int k = 0; k < 2; k++) pthread_create(&spinners[k], NULL, spin_main, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		fnctx c;
		fnctx_init(&c, M_NEVER, NULL);
		sa_strategy s = 0;
		if (sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy) != SA_OK) {
			wrong++;
			continue;
		}
		blocked_call w = {.s = s};
		pthread_t th;
		pthread_create(&th, NULL, blocked_call_main, &w);
		WAIT_UNTIL(atomic_load(&c.stash) != 0, 3000);
		sleep_ms(2);
		sa_strategy_free(s);
		pthread_join(th, NULL);
		WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000);
		if (w.out.st != SA_E_CANCELLED && !wrong++)
			snprintf(first, sizeof first, "round %d: %s (%d) with code %s", i, status_name(w.out.st), w.out.st, w.out.code);
	}
	atomic_store(&g_spin_stop, 1);
	for (int k = 0; k < 2; k++) pthread_join(spinners[k], NULL);
	if (wrong) {
		char d[256];
		snprintf(d, sizeof d, "%d of %d waits did not end with SA_E_CANCELLED; first: %s", wrong, ROUNDS, first);
		fail_at(__FILE__, __LINE__, "free while waiting always cancels", d);
	}
	CHECK_NO_LIVE_OBJECTS();
}

/* Freeing the strategy from inside its own hook defers destroy until the hook returns. */
typedef struct {
	fnctx c;
	_Atomic sa_strategy self;
} selffree;

static void selffree_hook(void *ud, sa_request req) {
	selffree *f = ud;
	atomic_fetch_add(&f->c.in_hook, 1);
	atomic_fetch_add(&f->c.calls, 1);
	sa_strategy_free(atomic_load(&f->self));
	if (atomic_load(&f->c.destroys) != 0) atomic_store(&f->c.destroy_during_hook, 1);
	atomic_store(&f->c.st1, sa_request_resolve(req, "self-freed", 10));
	atomic_fetch_sub(&f->c.in_hook, 1);
}

static void test_fn_free_inside_hook(void) {
	selffree f;
	fnctx_init(&f.c, M_SYNC, NULL);
	sa_strategy s = 0;
	CHECK_OK(sa_strategy_fn_new(&s, selffree_hook, &f, fn_destroy));
	atomic_store(&f.self, s);
	sa_token t = 0;
	sa_status st = sa_get_token(&t, s, 5000);
	/* Either outcome is valid (the free and the resolve race); it must not hang or crash. */
	CHECK(st == SA_OK || st == SA_E_CANCELLED);
	if (st == SA_OK) sa_token_free(t);
	CHECK(WAIT_UNTIL(atomic_load(&f.c.destroys) == 1, 3000));
	CHECK(atomic_load(&f.c.destroy_during_hook) == 0);
	CHECK(atomic_load(&f.c.calls) == 1);
	sleep_ms(10);
	CHECK(atomic_load(&f.c.destroys) == 1);
	CHECK_ST(sa_get_token(&t, s, 100), SA_E_INVALID_HANDLE);
	CHECK_NO_LIVE_OBJECTS();
}

/* docs/c-abi.md P18: 1,000 concurrent async calls on a slow hook: one hook call, and no thread per call. */
static void test_async_thread_count(void) {
	enum { N = 1000 };
	fnctx c;
	fnctx_init(&c, M_LATE, "slow-hook"); /* resolves after 200 ms from a helper thread */
	sa_strategy s = 0;
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	fanin f;
	fanin_init(&f, s);
	int base = thread_count(), peak = base, started = 0;
	for (int i = 0; i < N; i++) started += sa_get_token_async(s, fanin_done, &f) == SA_OK;
	CHECK(started == N);
	double until = now_ms() + 10000;
	for (;;) {
		int n = thread_count();
		if (n > peak) peak = n;
		pthread_mutex_lock(&f.mu);
		int done = f.done;
		pthread_mutex_unlock(&f.mu);
		if (done == N || now_ms() > until) break;
		sleep_ms(5);
	}
	CHECK(f.done == N && f.ok == N && f.mismatched == 0);
	CHECK_STREQ(f.value, "slow-hook");
	CHECK(atomic_load(&c.calls) == 1); /* single flight */
	printf("    threads: %d before, %d at peak during %d async calls\n", base, peak, N);
	if (peak - base > 40) {
		char d[96];
		snprintf(d, sizeof d, "%d threads before, %d at peak", base, peak);
		fail_at(__FILE__, __LINE__, "no thread per waiting call", d);
	}
	free_last_fn_strategy(s, &c);
}

/* ---- OIDC federation -------------------------------------------------------------------- */

/* An OIDC strategy on the emulator whose provider (fn_hook, in c) answers jwt at once; the
   request log is cleared first. */
static sa_strategy new_oidc(fnctx *c, const char *jwt) {
	fnctx_init(c, M_SYNC, jwt);
	emu_clear_requests();
	sa_strategy s = 0;
	CHECK_OK(sa_oidc_federation_strategy_new(&s, EMU.crn, fn_hook, c, fn_destroy, OPTS_BASE));
	return s;
}

static void test_oidc(void) {
	/* The emulator accepts any three-segment JWT as the provider's token. */
	fnctx c;
	sa_strategy s = new_oidc(&c, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjLWhhcm5lc3MifQ.c2ln");
	sa_token t = get_emu_token(s);
	char *v = token_value(t, NULL);
	CHECK(v && count_substr(v, ".") == 2 && strcmp(v, c.value) != 0); /* a CTS token, not the JWT */
	sa_token_free(t);
	/* The provider is asked every time; the same JWT is exchanged once. */
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *v2 = token_value(t, NULL);
	CHECK(v && v2 && strcmp(v, v2) == 0);
	free(v), free(v2);
	sa_token_free(t);
	CHECK(atomic_load(&c.calls) == 2);
	CHECK(emu_count_requests("/api/authorise") == 1);
	free_fn_strategy(s, &c);

	/* Bad CRN: fails, destroy not called. */
	fnctx_init(&c, M_SYNC, "a.b.c");
	s = 0xABCD;
	CHECK_ST(sa_oidc_federation_strategy_new(&s, "not-a-crn", fn_hook, &c, fn_destroy, OPTS_BASE), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "INVALID_CRN");
	CHECK(s == 0xABCD);
	sleep_ms(10);
	CHECK(atomic_load(&c.destroys) == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* sa_strategy_invalidate on every kind of strategy: an OIDC strategy refreshes the rejected
   token's JWT; AuthStrategyFn and static tokens cache nothing, so it is OK and refreshes
   nothing (fn is asked on every call anyway). */
static void test_invalidate_every_strategy(void) {
	fnctx c;
	sa_strategy s = new_oidc(&c, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjLWludmFsaWRhdGUifQ.c2ln");
	sa_token t1 = 0, t2 = 0, t3 = 0;
	CHECK_OK(sa_get_token(&t1, s, 10000));
	int32_t refreshing = -1;
	CHECK_OK(sa_strategy_invalidate(s, t1, &refreshing));
	CHECK(refreshing == 1);
	CHECK_OK(sa_get_token(&t2, s, 10000));
	char *v1 = token_value(t1, NULL), *v2 = token_value(t2, NULL);
	CHECK(v1 && v2 && strcmp(v1, v2) != 0); /* the rejected token is not served again */
	CHECK(emu_count_requests("/api/authorise") == 2);
	CHECK_OK(sa_strategy_invalidate_value(s, v1, strlen(v1), &refreshing));
	CHECK(refreshing == 0); /* a late 401 for a replaced token changes nothing */
	CHECK_OK(sa_get_token(&t3, s, 10000));
	char *v3 = token_value(t3, NULL);
	CHECK(v3 && strcmp(v2, v3) == 0);
	CHECK(emu_count_requests("/api/authorise") == 2);
	free(v1), free(v2), free(v3);
	sa_token_free(t1), sa_token_free(t2), sa_token_free(t3);
	free_fn_strategy(s, &c);

	fnctx_init(&c, M_SYNC, "fn-token");
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	CHECK_OK(sa_get_token(&t1, s, 10000));
	refreshing = -1;
	CHECK_OK(sa_strategy_invalidate(s, t1, &refreshing));
	CHECK(refreshing == 0);
	CHECK_OK(sa_get_token(&t2, s, 10000));
	CHECK(atomic_load(&c.calls) == 2);
	sa_token_free(t1), sa_token_free(t2);
	free_fn_strategy(s, &c);

	CHECK_OK(sa_static_token_strategy_new(&s, "static-token"));
	CHECK_OK(sa_get_token(&t1, s, 0));
	refreshing = -1;
	CHECK_OK(sa_strategy_invalidate(s, t1, &refreshing));
	CHECK(refreshing == 0);
	sa_token_free(t1);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- stores ----------------------------------------------------------------------------- */

typedef struct {
	pthread_mutex_t mu;
	char *saved;
	size_t saved_len;
	atomic_int loads, saves, destroys, in_hook, destroy_during_hook;
} storectx;

static void store_load(void *ud, sa_request req) {
	storectx *c = ud;
	atomic_fetch_add(&c->in_hook, 1);
	atomic_fetch_add(&c->loads, 1);
	pthread_mutex_lock(&c->mu);
	if (c->saved) sa_request_resolve(req, c->saved, c->saved_len);
	else sa_request_resolve(req, NULL, 0); /* nothing stored */
	pthread_mutex_unlock(&c->mu);
	atomic_fetch_sub(&c->in_hook, 1);
}

static void store_save(void *ud, sa_request req, const char *json, size_t len) {
	storectx *c = ud;
	atomic_fetch_add(&c->in_hook, 1);
	atomic_fetch_add(&c->saves, 1);
	pthread_mutex_lock(&c->mu);
	free(c->saved);
	c->saved = malloc(len + 1);
	memcpy(c->saved, json, len); /* borrowed: copy before returning */
	c->saved[len] = 0;
	c->saved_len = len;
	pthread_mutex_unlock(&c->mu);
	sa_request_resolve(req, NULL, 0);
	atomic_fetch_sub(&c->in_hook, 1);
}

static void store_destroy(void *ud) {
	storectx *c = ud;
	if (atomic_load(&c->in_hook)) atomic_store(&c->destroy_during_hook, 1);
	atomic_fetch_add(&c->destroys, 1);
}

/* A function store over store_load and store_save, with c (zeroed here) as its context. */
static sa_store new_store_fn(storectx *c, sa_destroy_fn destroy) {
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, store_load, store_save, c, destroy));
	return st;
}

/* ---- host HTTP transport (sa_transport_new) --------------------------------------------- */

typedef struct {
	atomic_int sends, destroyed, ua_seen;
	int mode; /* 0: forward to the emulator, 1: reject (no answer) */
} transportctx;

/* Carries a request to the emulator with the harness's own HTTP code, as a host's client
   would, and answers with the emulator's status and body. */
static void transport_send(void *ud, sa_request req, const char *request_json, const char *body, size_t len) {
	transportctx *c = ud;
	atomic_fetch_add(&c->sends, 1);
	if (strstr(request_json, "[\"user-agent\",\"stack-auth/") != NULL) atomic_fetch_add(&c->ua_seen, 1);
	if (c->mode == 1) {
		CHECK_OK(sa_request_reject(req, "REQUEST_ERROR", "the host's proxy refused the connection"));
		return;
	}
	/* The wrong answer for a transport request is refused and leaves it open. */
	CHECK_ST(sa_request_resolve(req, "x", 1), SA_E_INVALID_ARG);
	CHECK_ST(sa_request_respond(req, 42, NULL, NULL, 0), SA_E_INVALID_ARG);
	CHECK_ST(sa_request_respond(req, 200, "{not json", NULL, 0), SA_E_INVALID_ARG);
	char method[16] = "", url[512] = "";
	CHECK(json_get_str(request_json, "method", method, sizeof method) == 0);
	CHECK(json_get_str(request_json, "url", url, sizeof url) == 0);
	const char *path = strstr(url, "://");
	path = path ? strchr(path + 3, '/') : NULL;
	REQUIRE(path != NULL);
	char *bodycopy = strndup(body ? body : "", len);
	char *answer = NULL;
	int status = emu_http(method, path, bodycopy, &answer);
	free(bodycopy);
	REQUIRE(status > 0 && answer != NULL);
	CHECK_OK(sa_request_respond(req, status, "[[\"content-type\",\"application/json\"]]", answer, strlen(answer)));
	CHECK_ST(sa_request_respond(req, status, NULL, NULL, 0), SA_E_INVALID_HANDLE); /* once */
	free(answer);
}

static void transport_destroy(void *ud) { atomic_fetch_add(&((transportctx *)ud)->destroyed, 1); }

static void test_transport(void) {
	transportctx c;
	memset(&c, 0, sizeof c);
	sa_transport tr = 0;
	CHECK_ST(sa_transport_new(&tr, NULL, &c, transport_destroy, NULL), SA_E_INVALID_ARG);
	CHECK_OK(sa_transport_new(&tr, transport_send, &c, transport_destroy, "{\"timeoutMs\":10000}"));
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"transport\":%llu}", EMU.url, (unsigned long long)tr);
	emu_clear_requests();

	sa_strategy s = 0;
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	sa_transport_free(tr); /* the strategy keeps it */
	sa_token t = get_emu_token(s);
	sa_token_free(t);
	CHECK(atomic_load(&c.sends) == 1);   /* the request went through the host's client... */
	CHECK(atomic_load(&c.ua_seen) == 1); /* ...with the library's user-agent */
	CHECK(emu_count_requests("/api/authorise") == 1);
	CHECK(atomic_load(&c.destroyed) == 0);
	sa_strategy_free(s);
	CHECK_OK(sa_flush(5000));
	CHECK(WAIT_UNTIL(atomic_load(&c.destroyed) == 1, 5000));

	/* No answer from the host's client: a REQUEST_ERROR, never a token. */
	transportctx c2;
	memset(&c2, 0, sizeof c2);
	c2.mode = 1;
	CHECK_OK(sa_transport_new(&tr, transport_send, &c2, transport_destroy, NULL));
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"transport\":%llu}", EMU.url, (unsigned long long)tr);
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	t = 0;
	sa_status st = sa_get_token(&t, s, 10000);
	CHECK(st != SA_OK && t == 0);
	CHECK_STREQ(sa_last_error_code(), "REQUEST_ERROR");
	sa_strategy_free(s);
	/* The device flow goes through the transport too: nothing reaches the emulator. */
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\",\"transport\":%llu}", EMU.url, dir,
	         (unsigned long long)tr);
	emu_clear_requests();
	int before = atomic_load(&c2.sends);
	sa_device_flow f = 0;
	CHECK(sa_device_code_begin(&f, EMU.region, "cli", opts) != SA_OK && f == 0);
	CHECK_STREQ(sa_last_error_code(), "REQUEST_ERROR");
	CHECK(atomic_load(&c2.sends) == before + 1);
	CHECK(emu_count_requests("/oauth/device/code") == 0);
	rm_tree(dir);
	sa_transport_free(tr);
	snprintf(opts, sizeof opts, "{\"transport\":%llu}", (unsigned long long)tr);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts), SA_E_INVALID_HANDLE); /* freed */
	CHECK_OK(sa_flush(5000));
	CHECK(WAIT_UNTIL(atomic_load(&c2.destroyed) == 1, 5000));
	CHECK_NO_LIVE_OBJECTS();
}

static void test_store_fn(void) {
	storectx c;
	sa_store st = new_store_fn(&c, store_destroy);
	emu_clear_requests();

	sa_strategy s1 = store_strategy(st);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s1, 10000));
	char *v1 = token_value(t, NULL);
	sa_token_free(t);
	CHECK_OK(sa_flush(5000)); /* the save follows the caller's wake-up */
	CHECK(atomic_load(&c.loads) == 1); /* cold start asks the store first */
	CHECK(atomic_load(&c.saves) == 1);
	CHECK(c.saved && v1 && strstr(c.saved, v1) != NULL); /* save got the token JSON */

	/* A second strategy with the same store: loaded, not minted. */
	sa_strategy s2 = store_strategy(st);
	CHECK_OK(sa_get_token(&t, s2, 10000));
	char *v2 = token_value(t, NULL);
	sa_token_free(t);
	CHECK(v1 && v2 && strcmp(v1, v2) == 0);
	CHECK(atomic_load(&c.loads) == 2);
	CHECK(atomic_load(&c.saves) == 1);
	CHECK(emu_count_requests("/api/authorise") == 1);
	free(v1), free(v2);

	/* The strategies keep the store alive after its handle is freed. */
	sa_store_free(st);
	sa_store_free(st); /* stale: accepted */
	sa_strategy_free(s1);
	sleep_ms(10);
	CHECK(atomic_load(&c.destroys) == 0);
	sa_strategy_free(s2);
	CHECK(WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000));
	CHECK(atomic_load(&c.destroy_during_hook) == 0);
	free(c.saved);

	/* Bad arguments; destroy not called on failure. */
	st = 0xABCD;
	CHECK_ST(sa_store_fn_new(&st, NULL, NULL, &c, store_destroy), SA_E_INVALID_ARG);
	CHECK_ST(sa_store_fn_new(NULL, store_load, store_save, &c, store_destroy), SA_E_INVALID_ARG);
	CHECK_ST(sa_store_fn_new_ex(&st, store_load, store_save, &c, store_destroy, "{\"store\":1}"), SA_E_INVALID_ARG);
	CHECK(st == 0xABCD);
	CHECK_OK(sa_store_fn_new_ex(&st, store_load, NULL, &c, store_destroy, "{\"timeoutMs\":500}"));
	sa_store_free(st);
	CHECK(WAIT_UNTIL(atomic_load(&c.destroys) == 2, 3000));
	/* A freed store handle in options is an invalid handle. */
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	sa_strategy s3 = 0xABCD;
	CHECK_ST(sa_access_key_strategy_new(&s3, EMU.crn, EMU.key, opts), SA_E_INVALID_HANDLE);
	CHECK(s3 == 0xABCD);
	pthread_mutex_destroy(&c.mu);
	CHECK_NO_LIVE_OBJECTS();
}

/* Store failures are cache misses (load) or ignored (save), and the library stays silent. */
enum { SF_REJECT, SF_BAD_JSON, SF_NEVER };
typedef struct {
	int mode;
	atomic_int loads, saves, destroys;
	_Atomic sa_request pending_load;
} storefail;

static void sf_load(void *ud, sa_request req) {
	storefail *c = ud;
	atomic_fetch_add(&c->loads, 1);
	if (c->mode == SF_REJECT) sa_request_reject(req, "STORE_DOWN", "the store is down");
	else if (c->mode == SF_BAD_JSON) sa_request_resolve(req, "{not json", 9);
	else atomic_store(&c->pending_load, req); /* never answered: the store's timeout applies */
}

static void sf_save(void *ud, sa_request req, const char *json, size_t len) {
	storefail *c = ud;
	(void)json, (void)len;
	atomic_fetch_add(&c->saves, 1);
	sa_request_reject(req, NULL, NULL); /* save failed */
}

static void sf_destroy(void *ud) { atomic_fetch_add(&((storefail *)ud)->destroys, 1); }

static void test_store_fn_failures(void) {
	char errpath[600], dir[512];
	make_tmpdir(dir, sizeof dir);
	snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
	fflush(stderr);
	int saved_err = dup(2);
	FILE *capture = fopen(errpath, "w");
	dup2(fileno(capture), 2); /* docs/c-abi.md R18: nothing on stderr by default, even when a store fails */

	int modes[] = {SF_REJECT, SF_BAD_JSON, SF_NEVER};
	sa_status got[3] = {99, 99, 99};
	int loads[3], saves[3], destroys[3];
	double ms[3];
	for (int i = 0; i < 3; i++) {
		storefail c;
		memset(&c, 0, sizeof c);
		c.mode = modes[i];
		sa_store st = 0;
		sa_store_fn_new_ex(&st, sf_load, sf_save, &c, sf_destroy, "{\"timeoutMs\":200}");
		char opts[1024];
		snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
		sa_strategy s = 0;
		sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts);
		sa_store_free(st);
		sa_token t = 0;
		double t0 = now_ms();
		got[i] = sa_get_token(&t, s, 10000);
		ms[i] = now_ms() - t0;
		if (got[i] == SA_OK) sa_token_free(t);
		sa_flush(5000); /* the save follows get_token; freeing first could cancel it */
		sa_strategy_free(s);
		WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000);
		loads[i] = atomic_load(&c.loads), saves[i] = atomic_load(&c.saves), destroys[i] = atomic_load(&c.destroys);
	}

	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	fclose(capture);
	struct stat sb;
	CHECK(stat(errpath, &sb) == 0 && sb.st_size == 0);
	for (int i = 0; i < 3; i++) {
		CHECK_OK(got[i]);
		CHECK(loads[i] == 1 && saves[i] == 1 && destroys[i] == 1);
	}
	CHECK(ms[2] >= 150 && ms[2] < 3000); /* the never-answered load timed out after ~200 ms */
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* sa_set_log_handler: a failing store is logged by the library, in its words, never with a
   secret; the handler gets each line once, and none after it is removed. */
typedef struct {
	atomic_int n; /* lines received; the library calls the handler on one thread at a time */
	int levels[8];
	char lines[8][512];
} logcollect;

static void collect_log(void *ud, int32_t level, const char *message, size_t len) {
	logcollect *c = ud;
	int i = atomic_load(&c->n);
	if (i < 8) {
		c->levels[i] = level;
		snprintf(c->lines[i], sizeof c->lines[0], "%.*s", (int)len, message);
	}
	atomic_store(&c->n, i + 1); /* publishes the line to the test's thread */
}

static void test_log_handler(void) {
	logcollect lc = {0};
	CHECK_OK(sa_set_log_handler(collect_log, SA_LOG_INFO, &lc));
	storefail c;
	memset(&c, 0, sizeof c);
	c.mode = SF_REJECT;
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, sf_load, sf_save, &c, sf_destroy));
	sa_strategy s = store_strategy(st);
	sa_store_free(st);
	char *tok = NULL;
	CHECK_OK(sa_get_token_value(s, 10000, &tok, NULL));
	CHECK_OK(sa_flush(5000));
	WAIT_UNTIL(atomic_load(&lc.n) >= 2, 5000);
	CHECK_OK(sa_set_log_handler(NULL, 0, NULL));
	sa_strategy_free(s);
	WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000);
	REQUIRE(atomic_load(&lc.n) == 2);
	CHECK(lc.levels[0] == SA_LOG_WARN && lc.levels[1] == SA_LOG_WARN);
	CHECK_STREQ(lc.lines[0], "token store load failed error=the store is down");
	CHECK(strncmp(lc.lines[1], "token store save failed error=", 30) == 0);
	const char *secret = strchr(EMU.key, '.');
	for (int i = 0; i < 2; i++) {
		CHECK(tok && strstr(lc.lines[i], tok) == NULL);
		CHECK(secret && strstr(lc.lines[i], secret + 1) == NULL);
	}
	sa_free(tok);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_store_memory_shared(void) {
	sa_store st = 0;
	CHECK_OK(sa_store_memory_new(&st));
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	emu_clear_requests();
	sa_strategy s1 = 0, s2 = 0;
	CHECK_OK(sa_access_key_strategy_new(&s1, EMU.crn, EMU.key, opts));
	CHECK_OK(sa_access_key_strategy_new(&s2, EMU.crn, EMU.key, opts));
	sa_store_free(st); /* the strategies hold their own references */
	sa_token t1 = 0, t2 = 0;
	CHECK_OK(sa_get_token(&t1, s1, 10000));
	CHECK_OK(sa_get_token(&t2, s2, 10000));
	char *v1 = token_value(t1, NULL), *v2 = token_value(t2, NULL);
	CHECK(v1 && v2 && strcmp(v1, v2) == 0);
	CHECK(emu_count_requests("/api/authorise") == 1);
	free(v1), free(v2);
	sa_token_free(t1), sa_token_free(t2);
	sa_strategy_free(s1), sa_strategy_free(s2);
	CHECK_OK(sa_store_open(&st, "memory:"));
	sa_store_free(st);
	CHECK_ST(sa_store_memory_new(NULL), SA_E_INVALID_ARG);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_store_file(void) {
	char dir[512], path[700], url[800];
	make_tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/token.json", dir);
	snprintf(url, sizeof url, "file://%s", path);
	sa_store st1 = 0, st2 = 0;
	CHECK_OK(sa_store_open(&st1, url));
	CHECK_OK(sa_store_open(&st2, url)); /* a second handle: as another process would */
	emu_clear_requests();
	sa_strategy s1 = store_strategy(st1);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s1, 10000));
	sa_token_free(t);
	CHECK_OK(sa_flush(5000)); /* the save follows the caller's wake-up */
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600);
	sa_strategy s2 = store_strategy(st2);
	CHECK_OK(sa_get_token(&t, s2, 10000));
	sa_token_free(t);
	CHECK(emu_count_requests("/api/authorise") == 1);
	sa_strategy_free(s1), sa_strategy_free(s2);
	sa_store_free(st1), sa_store_free(st2);

	st1 = 0xABCD;
	CHECK_ST(sa_store_open(&st1, "file://relative/token.json"), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "INVALID_URL");
	CHECK_ST(sa_store_open(&st1, "redis-nope://x"), SA_E_AUTH);
	CHECK_ST(sa_store_open(&st1, NULL), SA_E_INVALID_ARG);
	CHECK_ST(sa_store_open(NULL, "memory:"), SA_E_INVALID_ARG);
	CHECK(st1 == 0xABCD);
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* Issue 12 item 11: a Redis store's client is closed when neither its handle nor a strategy
   uses it. 1,000 open/use/free cycles leave the process's open descriptors flat. run.sh
   starts a redis-server and exports SA_REDIS_URL. */
static int count_fds(void) {
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d) return -1;
	while (readdir(d)) n++;
	closedir(d);
	return n;
}

static void redis_cycle(const char *url) {
	sa_store st = 0;
	sa_strategy s = 0;
	sa_token t = 0;
	char opts[1024];
	CHECK_OK(sa_store_open(&st, url));
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	sa_strategy_free(s);
	sa_store_free(st);
}

static void test_store_redis_closed(void) {
	const char *url = getenv("SA_REDIS_URL");
	CHECK(url != NULL);
	if (!url) return;
	emu_clear_requests();
	for (int i = 0; i < 10; i++) redis_cycle(url);
	int before = count_fds();
	for (int i = 0; i < 1000 && atomic_load(&g_check_failures) == 0; i++) redis_cycle(url);
	int after = count_fds();
	fprintf(stderr, "    open descriptors: %d after 10 cycles, %d after 1,010\n", before, after);
	CHECK(before > 0 && after <= before + 2);
	CHECK(emu_count_requests("/api/authorise") <= 1); /* the token is shared through Redis */

	/* A bad Redis URL names the wrong part, never the password (issue 18). */
	sa_store st = 0;
	CHECK_ST(sa_store_open(&st, "redis+cluster://sa:Pa55-w0rd@127.0.0.1:7000,127.0.0.1:x"), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "INVALID_URL");
	CHECK(strstr(sa_last_error_message(), "127.0.0.1:x") != NULL);
	CHECK(strstr(sa_last_error_message(), "Pa55-w0rd") == NULL);
	CHECK(st == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* Stores are scoped per credential (docs/architecture.md D2): two access keys, or one key with two
   audiences, sharing a memory, file or one-slot host store never get each other's token. */

/* The decoded payload of a JWT (malloc'd), to read its claims. */
static char *jwt_payload(const char *jwt) {
	const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	if (!b) return NULL;
	size_t n = (size_t)(b - a - 1), o = 0;
	char *out = malloc(n + 1);
	unsigned acc = 0;
	int bits = 0;
	for (const char *p = a + 1; p < b; p++) {
		const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *at = strchr(set, *p);
		if (!at) break;
		acc = acc << 6 | (unsigned)(at - set);
		if ((bits += 6) >= 8) out[o++] = (char)(acc >> (bits -= 8) & 0xff);
	}
	out[o] = 0;
	return out;
}

static char *scoped_get(sa_store st, const char *key, const char *audience, char *claims, size_t cap) {
	char opts[1024];
	if (audience) snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu,\"audience\":\"%s\"}", EMU.url,
		                   (unsigned long long)st, audience);
	else snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	sa_strategy s = 0;
	sa_token t = 0;
	char *v = NULL;
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, key, opts));
	if (sa_get_token(&t, s, 10000) == SA_OK) {
		v = token_value(t, NULL);
		char *p = v ? jwt_payload(v) : NULL;
		snprintf(claims, cap, "%s", p ? p : "");
		free(p);
		sa_token_free(t);
	} else {
		CHECK(!"sa_get_token failed");
	}
	sa_strategy_free(s);
	return v;
}

static void test_store_scoped(void) {
	char *body = NULL, key2[512] = "", req[256];
	snprintf(req, sizeof req, "{\"workspaceId\":\"%s\"}", EMU.ws);
	REQUIRE(emu_http("POST", "/_emulator/access-keys", req, &body) == 200);
	CHECK(json_get_str(body, "accessKey", key2, sizeof key2) == 0);
	free(body);
	char dir[512], url[700];
	make_tmpdir(dir, sizeof dir);
	for (int kind = 0; kind < 3; kind++) {
		for (int pair = 0; pair < 2; pair++) {
			sa_store st = 0;
			storectx c;
			memset(&c, 0, sizeof c);
			pthread_mutex_init(&c.mu, NULL);
			if (kind == 0) CHECK_OK(sa_store_memory_new(&st));
			if (kind == 1) {
				snprintf(url, sizeof url, "file://%s/token-%d.json", dir, pair);
				CHECK_OK(sa_store_open(&st, url));
			}
			if (kind == 2) CHECK_OK(sa_store_fn_new(&st, store_load, store_save, &c, store_destroy)); /* one slot */
			emu_clear_requests();
			char ca[4096], cb[4096];
			char *a = scoped_get(st, EMU.key, pair ? "aud-a" : NULL, ca, sizeof ca);
			char *b = scoped_get(st, pair ? EMU.key : key2, pair ? "aud-b" : NULL, cb, sizeof cb);
			if (emu_count_requests("/api/authorise") != 2 || !a || !b || strcmp(a, b) == 0)
				printf("    store kind %d, %s: the second credential was served the first one's token\n", kind,
				       pair ? "other audience" : "other key");
			CHECK(emu_count_requests("/api/authorise") == 2);
			CHECK(a && b && strcmp(a, b) != 0);
			char sa_[256] = "", sb[256] = "";
			json_get_str(ca, "sub", sa_, sizeof sa_);
			json_get_str(cb, "sub", sb, sizeof sb);
			if (pair) {
				CHECK(strstr(ca, "\"aud\":\"aud-a\"") && strstr(cb, "\"aud\":\"aud-b\""));
			} else {
				CHECK(*sa_ && *sb && strcmp(sa_, sb) != 0);
			}
			free(a), free(b);
			sa_store_free(st);
			if (kind == 2) CHECK(WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000));
			free(c.saved);
			pthread_mutex_destroy(&c.mu);
		}
	}
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* A host store keyed by sa_request_scope: later strategies of each credential load their own
   token, and a hook other than a store's has no scope. */
typedef struct {
	pthread_mutex_t mu;
	char scope[2][512];
	char *json[2];
	atomic_int bad_scope;
} scopedctx;

static int scoped_slot(scopedctx *c, sa_request req) {
	char *scope = NULL;
	size_t n = 0;
	if (sa_request_scope(req, &scope, &n) != SA_OK || n != strlen(scope) || strncmp(scope, "access-key/", 11) != 0 ||
	    !strstr(scope, EMU.ws)) {
		atomic_store(&c->bad_scope, 1);
		if (scope) sa_free(scope);
		return -1;
	}
	int slot = -1;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < 2 && slot < 0; i++)
		if (strcmp(c->scope[i], scope) == 0) slot = i;
	for (int i = 0; i < 2 && slot < 0; i++)
		if (!c->scope[i][0]) snprintf(c->scope[slot = i], sizeof c->scope[i], "%s", scope);
	pthread_mutex_unlock(&c->mu);
	sa_free(scope);
	return slot;
}

static void scoped_load(void *ud, sa_request req) {
	scopedctx *c = ud;
	int slot = scoped_slot(c, req);
	pthread_mutex_lock(&c->mu);
	const char *j = slot >= 0 ? c->json[slot] : NULL;
	sa_request_resolve(req, j, j ? strlen(j) : 0);
	pthread_mutex_unlock(&c->mu);
}

static void scoped_save(void *ud, sa_request req, const char *json, size_t len) {
	scopedctx *c = ud;
	int slot = scoped_slot(c, req);
	pthread_mutex_lock(&c->mu);
	if (slot >= 0) {
		free(c->json[slot]);
		c->json[slot] = strndup(json, len);
	}
	pthread_mutex_unlock(&c->mu);
	sa_request_resolve(req, NULL, 0);
}

static void scope_of_token_hook(void *ud, sa_request req) {
	char *scope = (char *)"unchanged";
	atomic_store((atomic_int *)ud, sa_request_scope(req, &scope, NULL) == SA_E_INVALID_ARG &&
	                                   strcmp(scope, "unchanged") == 0 ? 1 : 2);
	sa_request_resolve(req, "static-token", 12);
}

static void test_request_scope(void) {
	scopedctx c;
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.mu, NULL);
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, scoped_load, scoped_save, &c, NULL));
	emu_clear_requests();
	char ca[4096], cb[4096];
	char *a = scoped_get(st, EMU.key, "aud-a", ca, sizeof ca), *b = scoped_get(st, EMU.key, "aud-b", cb, sizeof cb);
	char *a2 = scoped_get(st, EMU.key, "aud-a", ca, sizeof ca), *b2 = scoped_get(st, EMU.key, "aud-b", cb, sizeof cb);
	CHECK(emu_count_requests("/api/authorise") == 2); /* the later two loaded their own */
	CHECK(a && a2 && strcmp(a, a2) == 0 && b && b2 && strcmp(b, b2) == 0 && strcmp(a, b) != 0);
	CHECK(strstr(cb, "\"aud\":\"aud-b\""));
	CHECK(atomic_load(&c.bad_scope) == 0);
	CHECK(strcmp(c.scope[0], c.scope[1]) != 0 && strstr(c.scope[1], "aud-b"));
	free(a), free(b), free(a2), free(b2);
	sa_store_free(st);
	free(c.json[0]), free(c.json[1]);
	pthread_mutex_destroy(&c.mu);

	/* Other hooks have no scope; bad arguments. */
	atomic_int seen = 0;
	sa_strategy s = 0;
	sa_token t = 0;
	CHECK_OK(sa_strategy_fn_new(&s, scope_of_token_hook, &seen, NULL));
	CHECK_OK(sa_get_token(&t, s, 10000));
	CHECK(atomic_load(&seen) == 1);
	sa_token_free(t);
	sa_strategy_free(s);
	char *out = NULL;
	CHECK_ST(sa_request_scope(0, &out, NULL), SA_E_INVALID_HANDLE);
	CHECK_ST(sa_request_scope(12345, &out, NULL), SA_E_INVALID_HANDLE);
	CHECK_ST(sa_request_scope(12345, NULL, NULL), SA_E_INVALID_ARG);
	CHECK(out == NULL);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- proxy and TLS settings from the host's environment (docs/c-abi.md P27) ------------------ */

/* A CONNECT proxy on loopback that tunnels every CONNECT to one address (the TLS emulator),
   whatever host was asked for, one connection at a time, and records the request lines. */
typedef struct {
	int lfd, port;
	struct sockaddr_in target;
	pthread_mutex_t mu;
	char asked[8][256];
	int n_asked;
	atomic_int stop;
	pthread_t th;
} cproxy;

static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* Waits for fd (or the proxy's stop): 1 readable, 0 stopped or timed out. */
static int cproxy_wait(cproxy *p, struct pollfd *fds, int n) {
	while (!atomic_load(&p->stop)) {
		int r = poll(fds, (nfds_t)n, 50);
		if (r > 0) return 1;
		if (r < 0 && errno != EINTR) return 0;
	}
	return 0;
}

static void cproxy_tunnel(cproxy *p, int c) {
	char head[4096];
	size_t n = 0;
	struct pollfd one = {c, POLLIN, 0};
	while (n < sizeof head - 1 && cproxy_wait(p, &one, 1)) {
		ssize_t r = read(c, head + n, sizeof head - 1 - n);
		if (r <= 0) return;
		n += (size_t)r;
		head[n] = 0;
		if (strstr(head, "\r\n\r\n")) break;
	}
	if (!strstr(head, "\r\n\r\n")) return;
	pthread_mutex_lock(&p->mu);
	if (p->n_asked < 8) snprintf(p->asked[p->n_asked++], sizeof p->asked[0], "%.*s", (int)strcspn(head, "\r"), head);
	pthread_mutex_unlock(&p->mu);
	if (strncmp(head, "CONNECT ", 8) != 0) {
		write_all(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n", 55);
		return;
	}
	int up = socket(AF_INET, SOCK_STREAM, 0);
	if (up < 0 || connect(up, (struct sockaddr *)&p->target, sizeof p->target) != 0) {
		if (up >= 0) close(up);
		write_all(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", 47);
		return;
	}
	const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
	if (write_all(c, ok, strlen(ok)) == 0) {
		struct pollfd fds[2] = {{c, POLLIN, 0}, {up, POLLIN, 0}};
		char buf[16384];
		while (cproxy_wait(p, fds, 2)) {
			int done = 0;
			for (int i = 0; i < 2 && !done; i++) {
				if (!fds[i].revents) continue;
				ssize_t r = read(fds[i].fd, buf, sizeof buf);
				done = r <= 0 || write_all(fds[1 - i].fd, buf, (size_t)r) != 0;
			}
			if (done) break;
		}
	}
	close(up);
}

static void *cproxy_main(void *arg) {
	cproxy *p = arg;
	struct pollfd l = {p->lfd, POLLIN, 0};
	while (cproxy_wait(p, &l, 1)) {
		int c = accept(p->lfd, NULL, NULL);
		if (c < 0) continue;
		cproxy_tunnel(p, c);
		close(c);
	}
	return NULL;
}

static int cproxy_start(cproxy *p, const char *target_addr) {
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	const char *colon = strrchr(target_addr, ':');
	if (!colon) return -1;
	p->target.sin_family = AF_INET;
	p->target.sin_port = htons((unsigned short)atoi(colon + 1));
	p->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(p->lfd, 8) != 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	p->port = ntohs(sa.sin_port);
	return pthread_create(&p->th, NULL, cproxy_main, p);
}

static void cproxy_stop(cproxy *p) {
	atomic_store(&p->stop, 1);
	pthread_join(p->th, NULL);
	close(p->lfd);
	pthread_mutex_destroy(&p->mu);
}

/* HTTPS_PROXY and SSL_CERT_FILE set with setenv before the strategy is built are used: the
   TLS emulator is reachable only through the proxy, under a name only its certificate has. */
static void test_proxy_env(void) {
	const char *url = getenv("SA_EMU_TLS_URL"), *addr = getenv("SA_EMU_TLS_ADDR"),
	           *cert = getenv("SA_EMU_TLS_CERT"), *crn = getenv("SA_EMU_TLS_CRN"), *key = getenv("SA_EMU_TLS_KEY");
	REQUIRE(url && addr && cert && crn && key); /* tests/c/run.sh starts the TLS emulator */
	cproxy p;
	REQUIRE(cproxy_start(&p, addr) == 0);
	char proxy_url[64], opts[512];
	snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", p.port);
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\"}", url);
	setenv("HTTPS_PROXY", proxy_url, 1);
	setenv("SSL_CERT_FILE", cert, 1);
	sa_strategy s = 0;
	CHECK_OK(sa_access_key_strategy_new(&s, crn, key, opts));
	unsetenv("HTTPS_PROXY"); /* read when the strategy is built, not later */
	unsetenv("SSL_CERT_FILE");
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *json = token_json(t);
	char ws[128] = "";
	CHECK(json && json_get_str(json, "workspaceId", ws, sizeof ws) == 0 && strstr(crn, ws));
	free(json);
	sa_token_free(t);
	sa_strategy_free(s);
	pthread_mutex_lock(&p.mu);
	CHECK(p.n_asked == 1);
	CHECK_STREQ(p.asked[0], "CONNECT cts.stack-auth.test:443 HTTP/1.1");
	pthread_mutex_unlock(&p.mu);
	cproxy_stop(&p);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- try / async ------------------------------------------------------------------------ */

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	pthread_t thread;
	sa_status status;
	sa_token token;
	char error_json[2048];
	int had_error_json;
} asyncctx;

static void async_done(void *ud, sa_status status, sa_token token, const char *error_json) {
	asyncctx *a = ud;
	pthread_mutex_lock(&a->mu);
	a->calls++;
	a->thread = pthread_self();
	a->status = status;
	a->token = token;
	a->had_error_json = error_json != NULL;
	if (error_json) snprintf(a->error_json, sizeof a->error_json, "%s", error_json); /* borrowed */
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* The CLOCK_REALTIME instant ms from now: a pthread_cond_timedwait deadline. */
static struct timespec deadline_in(int ms) {
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
	return until;
}

static int async_wait(asyncctx *a, int ms) {
	struct timespec until = deadline_in(ms);
	pthread_mutex_lock(&a->mu);
	while (a->calls == 0)
		if (pthread_cond_timedwait(&a->cv, &a->mu, &until) != 0) break;
	int n = a->calls;
	pthread_mutex_unlock(&a->mu);
	return n;
}

static void asyncctx_init(asyncctx *a) {
	memset(a, 0, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
}

/* Starts sa_get_token_async on s into a, waits for done, and returns holding a->mu once a
   second call had 50 ms to show up (the caller unlocks). */
static void async_get_locked(asyncctx *a, sa_strategy s) {
	asyncctx_init(a);
	CHECK_OK(sa_get_token_async(s, async_done, a));
	CHECK(async_wait(a, 10000) == 1);
	sleep_ms(50);
	pthread_mutex_lock(&a->mu);
	CHECK(a->calls == 1);
}

static void test_try_and_async(void) {
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	sa_token t = 0xABCD;
	CHECK_ST(sa_try_get_token(&t, s), SA_E_WOULD_BLOCK); /* nothing cached yet */
	CHECK_STREQ(sa_last_error_code(), "WOULD_BLOCK");
	CHECK(t == 0xABCD);

	asyncctx a;
	async_get_locked(&a, s);
	CHECK(!pthread_equal(a.thread, pthread_self()));
	CHECK(a.status == SA_OK && a.token != 0 && !a.had_error_json);
	sa_token at = a.token;
	pthread_mutex_unlock(&a.mu);
	char *v = token_value(at, NULL);
	CHECK(v && count_substr(v, ".") == 2);

	t = 0;
	CHECK_OK(sa_try_get_token(&t, s)); /* now cached */
	char *v2 = token_value(t, NULL);
	CHECK(v && v2 && strcmp(v, v2) == 0);
	free(v), free(v2);
	sa_token_free(t), sa_token_free(at);
	sa_strategy_free(s);

	/* Failure: done gets the error JSON and no token. */
	emu_fault("/api/authorise", 401, 0, 1);
	CHECK_OK(new_ak(&s));
	asyncctx b;
	async_get_locked(&b, s);
	CHECK(b.status == SA_E_AUTH);
	CHECK(b.token == 0);
	CHECK(b.had_error_json && json_has_key(b.error_json, "type") && json_has_key(b.error_json, "message"));
	pthread_mutex_unlock(&b.mu);
	emu_clear_faults();

	/* Could not start: an error, and done is never called. */
	asyncctx c;
	asyncctx_init(&c);
	CHECK_ST(sa_get_token_async(s, NULL, &c), SA_E_INVALID_ARG);
	sa_strategy_free(s);
	CHECK_ST(sa_get_token_async(s, async_done, &c), SA_E_INVALID_HANDLE);
	CHECK_ST(sa_get_token_async(0, async_done, &c), SA_E_INVALID_HANDLE);
	sleep_ms(50);
	CHECK(c.calls == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* The caller passes its JWT: the provider is never asked; one exchange per JWT; the try
   variant answers from the cache without waiting; the async variant completes on a library
   thread. A strategy built without a provider serves only passed JWTs. */
static void test_oidc_with_jwt(void) {
	static const char jwt_a[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZW5hbnQtYSJ9.c2ln";
	static const char jwt_b[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZW5hbnQtYiJ9.c2ln";
	fnctx c;
	sa_strategy s = new_oidc(&c, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJwcm92aWRlciJ9.c2ln");
	sa_token t = 0xABCD;
	CHECK_ST(sa_oidc_try_get_token_with_jwt(&t, s, jwt_a, strlen(jwt_a)), SA_E_WOULD_BLOCK);
	CHECK(t == 0xABCD);
	CHECK_OK(sa_oidc_get_token_with_jwt(&t, s, jwt_a, strlen(jwt_a), 10000));
	char *v = token_value(t, NULL);
	sa_token_free(t);
	t = 0;
	CHECK_OK(sa_oidc_try_get_token_with_jwt(&t, s, jwt_a, strlen(jwt_a)));
	char *v2 = token_value(t, NULL);
	CHECK(v && v2 && strcmp(v, v2) == 0);
	free(v2);
	sa_token_free(t);
	CHECK(emu_count_requests("/api/authorise") == 1);
	CHECK(atomic_load(&c.calls) == 0); /* the provider was never asked */

	asyncctx a;
	asyncctx_init(&a);
	CHECK_OK(sa_oidc_get_token_with_jwt_async(s, jwt_b, strlen(jwt_b), 10000, async_done, &a));
	CHECK(async_wait(&a, 10000) == 1);
	pthread_mutex_lock(&a.mu);
	CHECK(a.status == SA_OK && a.token != 0);
	CHECK(!pthread_equal(a.thread, pthread_self()));
	sa_token bt = a.token;
	pthread_mutex_unlock(&a.mu);
	v2 = token_value(bt, NULL);
	CHECK(v && v2 && strcmp(v, v2) != 0); /* another JWT, another token */
	free(v), free(v2);
	sa_token_free(bt);
	CHECK(emu_count_requests("/api/authorise") == 2);

	/* Bad input: typed errors, done never called. */
	CHECK_ST(sa_oidc_get_token_with_jwt(&t, s, NULL, 3, 100), SA_E_INVALID_ARG);
	CHECK_ST(sa_oidc_get_token_with_jwt(&t, s, "a.b\r\nX-Injected: 1", 18, 100), SA_E_INVALID_ARG);
	CHECK_ST(sa_oidc_get_token_with_jwt(&t, s, "a\0b", 3, 100), SA_E_INVALID_ARG);
	CHECK(emu_count_requests("/api/authorise") == 2); /* none of those was sent */
	CHECK_ST(sa_oidc_get_token_with_jwt(NULL, s, jwt_a, strlen(jwt_a), 100), SA_E_INVALID_ARG);
	asyncctx n;
	asyncctx_init(&n);
	CHECK_ST(sa_oidc_get_token_with_jwt_async(s, jwt_a, strlen(jwt_a), 0, NULL, &n), SA_E_INVALID_ARG);
	sa_strategy st = 0;
	CHECK_OK(sa_static_token_strategy_new(&st, "static"));
	CHECK_ST(sa_oidc_get_token_with_jwt(&t, st, jwt_a, strlen(jwt_a), 100), SA_E_INVALID_ARG);
	sa_strategy_free(st);
	free_fn_strategy(s, &c);
	CHECK_ST(sa_oidc_try_get_token_with_jwt(&t, s, jwt_a, strlen(jwt_a)), SA_E_INVALID_HANDLE);
	CHECK_ST(sa_oidc_get_token_with_jwt_async(s, jwt_a, strlen(jwt_a), 0, async_done, &n), SA_E_INVALID_HANDLE);

	/* No provider: passed JWTs work; sa_get_token says to pass one. */
	fnctx_init(&c, M_SYNC, NULL);
	CHECK_OK(sa_oidc_federation_strategy_new(&s, EMU.crn, NULL, &c, fn_destroy, OPTS_BASE));
	CHECK_OK(sa_oidc_get_token_with_jwt(&t, s, jwt_a, strlen(jwt_a), 10000));
	sa_token_free(t);
	CHECK(emu_count_requests("/api/authorise") == 3); /* a new strategy: its own cache */
	/* An empty JWT (len 0, NULL allowed) is sent, as a provider's is (oidc_empty_jwt). */
	t = 0xABCD;
	CHECK_ST(sa_oidc_try_get_token_with_jwt(&t, s, NULL, 0), SA_E_WOULD_BLOCK);
	CHECK_ST(sa_oidc_get_token_with_jwt(&t, s, NULL, 0, 10000), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "SERVER_ERROR");
	CHECK(t == 0xABCD);
	CHECK(emu_count_requests("/api/authorise") == 4);
	CHECK_ST(sa_get_token(&t, s, 1000), SA_E_AUTH);
	CHECK(sa_last_error_message() && strstr(sa_last_error_message(), "sa_oidc_get_token_with_jwt"));
	free_fn_strategy(s, &c);
	sleep_ms(50);
	CHECK(n.calls == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* A bearer string from the host's own function becomes a token with the library's checks. */
static void test_token_from_value(void) {
	sa_token t = 0;
	/* iss, sub and workspace: the claims decode all or nothing (as upstream). */
	const char *jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2N0cy5leGFtcGxlLmNvbS8iLCJzdWIiOiJ1c2VyLTEiLCJ3b3Jrc3BhY2UiOiJaVkFUS1czVkhNRkcyN0RZIn0.c2ln";
	CHECK_OK(sa_token_from_value(&t, jwt, strlen(jwt)));
	char *v = token_value(t, NULL);
	CHECK_STREQ(v, jwt);
	free(v);
	char *json = token_json(t);
	char sub[64] = "";
	CHECK(json && json_get_str(json, "subject", sub, sizeof sub) == 0);
	CHECK_STREQ(sub, "user-1");
	free(json);
	sa_token_free(t);
	t = 0xABCD;
	CHECK_ST(sa_token_from_value(&t, "", 0), SA_E_CALLBACK);
	CHECK_STREQ(sa_last_error_code(), "CUSTOM");
	CHECK_ST(sa_token_from_value(&t, NULL, 4), SA_E_INVALID_ARG);
	CHECK_ST(sa_token_from_value(NULL, "x", 1), SA_E_INVALID_ARG);
	CHECK(t == 0xABCD);
	/* A host function that threw: described as sa_request_reject would. */
	CHECK_ST(sa_callback_error("MyError", "the vault is sealed"), SA_E_CALLBACK);
	CHECK_STREQ(sa_last_error_code(), "MyError");
	CHECK_STREQ(sa_last_error_message(), "the vault is sealed");
	CHECK_ST(sa_callback_error("NOT_AUTHENTICATED", "log in first"), SA_E_CALLBACK);
	CHECK(strstr(sa_last_error_message(), "Not authenticated") != NULL);
	CHECK_ST(sa_callback_error(NULL, NULL), SA_E_CALLBACK);
	CHECK_STREQ(sa_last_error_code(), "CUSTOM");
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- events ------------------------------------------------------------------------------ */

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char log[4096]; /* the events' kinds, space-separated, in delivery order */
	int n, secret_seen, destroys, wrong_thread;
	pthread_t caller;
	const char *secret;
} evctx;

static void ev_hook(void *ud, const char *json, size_t len) {
	evctx *e = ud;
	char kind[64] = "";
	char *copy = malloc(len + 1);
	memcpy(copy, json, len);
	copy[len] = 0;
	json_get_str(copy, "kind", kind, sizeof kind);
	pthread_mutex_lock(&e->mu);
	if (e->secret && strstr(copy, e->secret)) e->secret_seen = 1;
	if (pthread_equal(pthread_self(), e->caller)) e->wrong_thread = 1; /* never the caller's */
	strncat(e->log, kind, sizeof e->log - strlen(e->log) - 2);
	strcat(e->log, " ");
	e->n++;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	free(copy);
}

static void ev_destroy(void *ud) {
	evctx *e = ud;
	pthread_mutex_lock(&e->mu);
	e->destroys++;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* Waits until the log holds want (a substring), at most ms. */
static int ev_wait(evctx *e, const char *want, int ms) {
	struct timespec until = deadline_in(ms);
	pthread_mutex_lock(&e->mu);
	int rc = 0;
	while (!strstr(e->log, want) && rc == 0) rc = pthread_cond_timedwait(&e->cv, &e->mu, &until);
	int ok = strstr(e->log, want) != NULL;
	pthread_mutex_unlock(&e->mu);
	return ok;
}

/* Engine events reach a C hook, in order, on a library thread, without a secret; replacing
   the hook and freeing the strategy destroy each hook once. */
static void test_event_hook(void) {
	evctx e, f;
	memset(&e, 0, sizeof e);
	memset(&f, 0, sizeof f);
	pthread_mutex_init(&e.mu, NULL), pthread_cond_init(&e.cv, NULL);
	pthread_mutex_init(&f.mu, NULL), pthread_cond_init(&f.cv, NULL);
	e.caller = f.caller = pthread_self();
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	CHECK_OK(sa_strategy_set_event_hook(s, ev_hook, &e, ev_destroy));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *v = token_value(t, NULL);
	e.secret = v;
	CHECK(ev_wait(&e, "refresh_started refresh_succeeded ", 5000));
	int32_t refreshing = 0;
	CHECK_OK(sa_strategy_invalidate(s, t, &refreshing));
	CHECK(ev_wait(&e, "token_invalidated ", 5000));
	sa_token_free(t);

	/* Replace the hook: the first is destroyed once, the second gets what follows. */
	CHECK_OK(sa_strategy_set_event_hook(s, ev_hook, &f, ev_destroy));
	CHECK(e.destroys == 1);
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	CHECK(ev_wait(&f, "refresh_succeeded ", 5000));
	sa_strategy_free(s);
	pthread_mutex_lock(&f.mu);
	CHECK(f.destroys == 1);
	pthread_mutex_unlock(&f.mu);
	CHECK(e.destroys == 1);
	CHECK(!e.secret_seen && !f.secret_seen);
	CHECK(!e.wrong_thread && !f.wrong_thread);
	free(v);

	/* No engine, or a stale handle: an error and destroy is not called. */
	sa_strategy st = 0;
	CHECK_OK(sa_static_token_strategy_new(&st, "static"));
	CHECK_ST(sa_strategy_set_event_hook(st, ev_hook, &e, ev_destroy), SA_E_INVALID_ARG);
	sa_strategy_free(st);
	fnctx c;
	fnctx_init(&c, M_SYNC, "tok");
	CHECK_OK(sa_strategy_fn_new(&st, fn_hook, &c, NULL));
	CHECK_ST(sa_strategy_set_event_hook(st, ev_hook, &e, ev_destroy), SA_E_INVALID_ARG);
	sa_strategy_free(st);
	CHECK_ST(sa_strategy_set_event_hook(s, ev_hook, &e, ev_destroy), SA_E_INVALID_HANDLE);
	CHECK(e.destroys == 1);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- status codes ----------------------------------------------------------------------- */

static void test_invalid_arg(void) {
	sa_strategy s = 0xABCD;
	const char *bad_utf8 = "crn:ap-southeast-2.aws:\xff\xfe";
	CHECK_ST(sa_access_key_strategy_new(NULL, EMU.crn, EMU.key, OPTS_BASE), SA_E_INVALID_ARG);
	CHECK_STREQ(sa_last_error_code(), "INVALID_ARGUMENT");
	CHECK(sa_last_error_status() == SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, NULL, EMU.key, OPTS_BASE), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, NULL, OPTS_BASE), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, bad_utf8, EMU.key, OPTS_BASE), SA_E_INVALID_ARG);
	CHECK(sa_last_error_message() && strstr(sa_last_error_message(), "UTF-8"));
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, "{\"baseUrl\":\"\xc3\x28\"}"), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, "{"), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, "[]"), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, "{} {}"), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, "{\"timeoutMs\":\"1\"}"), SA_E_INVALID_ARG);
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, "{\"noSuchOption\":1}"), SA_E_INVALID_ARG);
	CHECK(sa_last_error_message() && strstr(sa_last_error_message(), "noSuchOption"));
	CHECK_ST(sa_auto_strategy_detect(NULL, NULL), SA_E_INVALID_ARG);
	CHECK_ST(sa_auto_strategy_detect(&s, "{\"bogus\":true}"), SA_E_INVALID_ARG);
	CHECK_ST(sa_device_session_strategy_from_profile(NULL, NULL), SA_E_INVALID_ARG);
	CHECK(s == 0xABCD);

	sa_token t = 0xABCD;
	CHECK_OK(sa_static_token_strategy_new(&s, "x"));
	CHECK_ST(sa_get_token(NULL, s, 0), SA_E_INVALID_ARG);
	CHECK_ST(sa_try_get_token(NULL, s), SA_E_INVALID_ARG);
	CHECK_OK(sa_get_token(&t, s, 0));
	CHECK_ST(sa_token_value(t, NULL, NULL), SA_E_INVALID_ARG);
	CHECK_ST(sa_token_json(t, NULL, NULL), SA_E_INVALID_ARG);
	char *v = NULL;
	CHECK_OK(sa_token_value(t, &v, NULL)); /* out_len may be NULL */
	CHECK_STREQ(v, "x");
	sa_free(v);
	sa_free(NULL);
	sa_token_free(t);
	sa_strategy_free(s);

	sa_device_flow f = 0xABCD;
	CHECK_ST(sa_device_code_begin(NULL, EMU.region, NULL, OPTS_BASE), SA_E_INVALID_ARG);
	CHECK_ST(sa_device_code_begin(&f, NULL, NULL, OPTS_BASE), SA_E_INVALID_ARG);
	CHECK_ST(sa_device_code_begin(&f, EMU.region, "\xff", OPTS_BASE), SA_E_INVALID_ARG);
	CHECK_ST(sa_device_code_begin(&f, EMU.region, NULL, "{\"x\":1}"), SA_E_INVALID_ARG);
	/* Which option applies to which call is core's (typed settings per call); a key of
	   another call is named, and a wrong type names the key, not a Go path. */
	CHECK_ST(sa_device_code_begin(&f, EMU.region, NULL, "{\"audience\":\"a\"}"), SA_E_INVALID_ARG);
	CHECK_STREQ(sa_last_error_message(), "options_json: key \"audience\" does not apply to this call");
	CHECK_ST(sa_device_code_begin(&f, EMU.region, NULL, "{\"timeoutMs\":\"x\"}"), SA_E_INVALID_ARG);
	CHECK_STREQ(sa_last_error_message(), "options_json: wrong type for timeoutMs");
	CHECK(f == 0xABCD);
	CHECK_ST(sa_bind_client_device("{"), SA_E_INVALID_ARG);
	CHECK_ST(sa_request_reject(1, "\xff", NULL), SA_E_INVALID_ARG);
	CHECK_ST(sa_request_resolve(1, NULL, 3), SA_E_INVALID_ARG);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_invalid_handle(void) {
	sa_strategy s = 0;
	sa_store st = 0;
	CHECK_OK(sa_static_token_strategy_new(&s, "tok"));
	CHECK_OK(sa_store_memory_new(&st));
	sa_token tok = 0;
	CHECK_OK(sa_get_token(&tok, s, 0));
	sa_strategy freed = 0;
	CHECK_OK(sa_static_token_strategy_new(&freed, "tok"));
	sa_strategy_free(freed);
	sa_token freed_tok = 0;
	CHECK_OK(sa_get_token(&freed_tok, s, 0));
	sa_token_free(freed_tok);

	/* 0, freed, random, and handles of the wrong kind. */
	uint64_t bad_strategies[] = {0, freed, 0x7fffffffdeadbeefULL, UINT64_MAX, st, tok};
	for (size_t i = 0; i < sizeof bad_strategies / sizeof *bad_strategies; i++) {
		sa_token t = 0xABCD;
		CHECK_ST(sa_get_token(&t, bad_strategies[i], 100), SA_E_INVALID_HANDLE);
		CHECK_STREQ(sa_last_error_code(), "INVALID_HANDLE");
		CHECK_ST(sa_try_get_token(&t, bad_strategies[i]), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_strategy_invalidate(bad_strategies[i], tok, NULL), SA_E_INVALID_HANDLE);
		CHECK(t == 0xABCD);
	}
	uint64_t bad_tokens[] = {0, freed_tok, 0x7fffffffdeadbeefULL, s, st};
	for (size_t i = 0; i < sizeof bad_tokens / sizeof *bad_tokens; i++) {
		char *v = (char *)0x1;
		size_t n = 77;
		CHECK_ST(sa_token_value(bad_tokens[i], &v, &n), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_token_json(bad_tokens[i], &v, &n), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_strategy_invalidate(s, bad_tokens[i], NULL), SA_E_INVALID_HANDLE);
		CHECK(v == (char *)0x1 && n == 77);
	}
	uint64_t bad_other[] = {0, freed, 0x7fffffffdeadbeefULL, s, st, tok};
	for (size_t i = 0; i < sizeof bad_other / sizeof *bad_other; i++) {
		char *v = NULL;
		CHECK_ST(sa_device_flow_json(bad_other[i], &v, NULL), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_device_flow_open_browser(bad_other[i], NULL), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_device_code_poll(bad_other[i], 10, &v, NULL), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_request_resolve(bad_other[i], "x", 1), SA_E_INVALID_HANDLE);
		CHECK_ST(sa_request_reject(bad_other[i], NULL, NULL), SA_E_INVALID_HANDLE);
	}
	/* A strategy handle is not a store. */
	char opts[256];
	snprintf(opts, sizeof opts, "{\"store\":%llu}", (unsigned long long)s);
	sa_strategy s2 = 0xABCD;
	CHECK_ST(sa_access_key_strategy_new(&s2, EMU.crn, EMU.key, opts), SA_E_INVALID_HANDLE);
	CHECK(s2 == 0xABCD);

	/* Frees of the wrong kind or of stale handles do nothing. */
	sa_token_free(s), sa_store_free(s), sa_device_flow_free(s);
	sa_strategy_free(st), sa_strategy_free(tok), sa_strategy_free(0), sa_strategy_free(freed);
	sa_token_free(0), sa_store_free(0), sa_device_flow_free(0);
	sa_token_free(freed_tok);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 0)); /* s survived all of that */
	sa_token_free(t);
	char *tv = token_value(tok, NULL); /* tok survived the wrong-kind frees too */
	CHECK_STREQ(tv, "tok");
	free(tv);
	sa_token_free(tok);
	sa_store_free(st);
	sa_strategy_free(s);
	/* Handles are never reused: the freed ones stay invalid. */
	CHECK_ST(sa_get_token(&t, s, 0), SA_E_INVALID_HANDLE);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_timeout(void) {
	emu_clear_faults();
	emu_fault("/api/authorise", 0, 1500, 1); /* delay only */
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	sa_token t = 0xABCD;
	double t0 = now_ms();
	CHECK_ST(sa_get_token(&t, s, 200), SA_E_TIMEOUT);
	double el = now_ms() - t0;
	CHECK(el >= 150 && el < 1000);
	CHECK_STREQ(sa_last_error_code(), "TIMEOUT");
	CHECK(t == 0xABCD);
	sa_strategy_free(s);

	/* The strategy's timeoutMs is the default of sa_get_token. */
	emu_fault("/api/authorise", 0, 1500, 1);
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"timeoutMs\":200}", EMU.url);
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	t0 = now_ms();
	CHECK_ST(sa_get_token(&t, s, 0), SA_E_TIMEOUT);
	el = now_ms() - t0;
	CHECK(el >= 150 && el < 1000);
	sa_strategy_free(s);
	emu_clear_faults();
	CHECK_NO_LIVE_OBJECTS();
}

/* With timeoutMs set, the caller's deadline and the refresh's deadline are the same moment:
   the status must still be SA_E_TIMEOUT every time, never the refresh's REQUEST_ERROR. */
static void test_timeout_status_race(void) {
	enum { ROUNDS = 80 };
	emu_fault("/api/authorise", 0, 3000, 0); /* every request hangs */
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"timeoutMs\":20}", EMU.url);
	int wrong = 0;
	char first[300] = "";
	for (int i = 0; i < ROUNDS; i++) {
		sa_strategy s = 0;
		if (sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts) != SA_OK) {
			wrong++;
			continue;
		}
		sa_token t = 0;
		sa_status st = sa_get_token(&t, s, 0);
		if (st != SA_E_TIMEOUT && !wrong++)
			snprintf(first, sizeof first, "round %d: %s (%d) %.200s", i, status_name(st), st,
			         sa_last_error_json() ? sa_last_error_json() : "");
		if (st == SA_OK) sa_token_free(t);
		sa_strategy_free(s);
	}
	emu_clear_faults();
	if (wrong) {
		char d[400];
		snprintf(d, sizeof d, "%d of %d calls did not end with SA_E_TIMEOUT; first: %s", wrong, ROUNDS, first);
		fail_at(__FILE__, __LINE__, "a passed timeout is SA_E_TIMEOUT", d);
	}
	CHECK_NO_LIVE_OBJECTS();
}

static void test_cancelled(void) {
	emu_clear_faults();
	emu_fault("/api/authorise", 0, 3000, 1);
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	blocked_call w = {.s = s};
	pthread_t th;
	pthread_create(&th, NULL, blocked_call_main, &w);
	sleep_ms(300); /* let it block on the delayed emulator */
	double freed_at = now_ms();
	sa_strategy_free(s);
	pthread_join(th, NULL);
	CHECK_ST(w.out.st, SA_E_CANCELLED);
	CHECK_STREQ(w.out.code, "CANCELLED");
	CHECK(w.returned_at - freed_at < 1000);

	/* An async call pending when its strategy is freed completes once, with SA_E_CANCELLED. */
	emu_fault("/api/authorise", 0, 3000, 1);
	CHECK_OK(new_ak(&s));
	asyncctx a;
	asyncctx_init(&a);
	CHECK_OK(sa_get_token_async(s, async_done, &a));
	sleep_ms(300);
	freed_at = now_ms();
	sa_strategy_free(s);
	CHECK(async_wait(&a, 5000) == 1);
	CHECK(now_ms() - freed_at < 1000);
	sleep_ms(50);
	pthread_mutex_lock(&a.mu);
	CHECK(a.calls == 1);
	CHECK_ST(a.status, SA_E_CANCELLED);
	CHECK(a.token == 0 && a.had_error_json && strstr(a.error_json, "CANCELLED"));
	pthread_mutex_unlock(&a.mu);
	emu_clear_faults();
	CHECK_NO_LIVE_OBJECTS();
}

/* Account and workspace errors keep their codes and payloads through the C ABI. */
static void test_auth_errors(void) {
	char *body = NULL;
	REQUIRE(emu_http("POST", "/_emulator/workspaces", "{}", &body) == 200);
	char ws2[128] = "", crn2[256] = "", key2[512] = "";
	CHECK(json_get_str(body, "workspaceId", ws2, sizeof ws2) == 0);
	CHECK(json_get_str(body, "workspaceCrn", crn2, sizeof crn2) == 0);
	CHECK(json_get_str(body, "accessKey", key2, sizeof key2) == 0);
	free(body);

	/* Workspace B's key bound to workspace A's CRN. */
	sa_strategy s = 0;
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, key2, OPTS_BASE));
	sa_token t = 0xABCD;
	CHECK_ST(sa_get_token(&t, s, 10000), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "WORKSPACE_MISMATCH");
	const char *j = sa_last_error_json();
	CHECK(json_has_key(j, "expected") && json_has_key(j, "actual"));
	CHECK(j && strstr(j, EMU.ws) && strstr(j, ws2));
	CHECK(t == 0xABCD);
	sa_strategy_free(s);

	/* A usage limit on workspace B. */
	char req[256];
	snprintf(req, sizeof req, "{\"workspaceId\":\"%s\",\"code\":\"USAGE_LIMIT_EXCEEDED\"}", ws2);
	CHECK(emu_http("POST", "/_emulator/usage-limit", req, NULL) == 200);
	CHECK_OK(sa_access_key_strategy_new(&s, crn2, key2, OPTS_BASE));
	CHECK_ST(sa_get_token(&t, s, 10000), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "USAGE_LIMIT_EXCEEDED");
	CHECK(t == 0xABCD);
	sa_strategy_free(s);
	snprintf(req, sizeof req, "{\"workspaceId\":\"%s\",\"code\":\"\"}", ws2);
	CHECK(emu_http("POST", "/_emulator/usage-limit", req, NULL) == 200);
	CHECK_OK(sa_access_key_strategy_new(&s, crn2, key2, OPTS_BASE));
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	sa_strategy_free(s);

	/* A key the service does not know. */
	char wrong[512];
	snprintf(wrong, sizeof wrong, "%s", EMU.key);
	char *dot = strchr(wrong, '.');
	REQUIRE(dot && dot[1]);
	dot[1] = dot[1] == 'x' ? 'y' : 'x';
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, wrong, OPTS_BASE));
	CHECK_ST(sa_get_token(&t, s, 10000), SA_E_AUTH);
	CHECK(sa_last_error_code() && *sa_last_error_code());
	CHECK(sa_last_error_message() && !strstr(sa_last_error_message(), wrong)); /* never echoes a secret */
	CHECK(sa_last_error_json() && !strstr(sa_last_error_json(), wrong));
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* docs/c-abi.md P9: a forked child gets SA_E_FORKED at once, before anything reaches the Go runtime. */
static void test_fork(void) {
	sa_strategy cached = 0, fresh = 0;
	CHECK_OK(new_ak(&cached));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, cached, 10000)); /* the library is in use */
	CHECK_OK(new_ak(&fresh));                  /* needs goroutines and the network */
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		sa_token ct = 0xABCD;
		sa_status st1 = sa_get_token(&ct, fresh, 5000);
		const char *code = sa_last_error_code();
		int code_ok = code && strcmp(code, "FORKED") == 0;
		sa_status st2 = sa_get_token(&ct, cached, 5000);
		sa_strategy ns = 0;
		sa_status st3 = sa_static_token_strategy_new(&ns, "x");
		sa_strategy_free(cached); /* void functions return at once too */
		clock_gettime(CLOCK_MONOTONIC, &b);
		double el = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		if (st1 != SA_E_FORKED) _exit(10);
		if (!code_ok) _exit(11);
		if (st2 != SA_E_FORKED || st3 != SA_E_FORKED) _exit(12);
		if (ct != 0xABCD) _exit(13);
		if (el > 100) _exit(14);
		_exit(0);
	}
	/* The child must exit by itself: without the guard it would hang in the Go runtime. */
	int status = 0;
	pid_t r = 0;
	double until = now_ms() + 5000;
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < until) sleep_ms(2);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_at(__FILE__, __LINE__, "child exited", "child hung after fork (fork guard missing?)");
	} else {
		CHECK(WIFEXITED(status));
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
			char d[96];
			snprintf(d, sizeof d, "child exit code %d (10 status, 11 code, 12 other calls, 13 out, 14 > 100 ms)",
			         WEXITSTATUS(status));
			fail_at(__FILE__, __LINE__, "child exit code 0", d);
		}
	}
	/* The parent is unaffected. */
	sa_token t2 = 0;
	CHECK_OK(sa_get_token(&t2, cached, 10000));
	sa_token_free(t2);
	sa_token_free(t);
	sa_strategy_free(cached), sa_strategy_free(fresh);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- per-thread errors (docs/c-abi.md P20) ---------------------------------------------- */

static atomic_int g_err_mismatch;

static void *errors_thread(void *p) {
	int id = (int)(intptr_t)p;
	char opts[64], url[64], mine_a[32], mine_b[32];
	snprintf(opts, sizeof opts, "{\"bogusKey%02d\":1}", id);
	snprintf(url, sizeof url, "scheme%02d://x", id);
	snprintf(mine_a, sizeof mine_a, "bogusKey%02d", id);
	snprintf(mine_b, sizeof mine_b, "scheme%02d", id);
	for (int i = 0; i < 200; i++) {
		sa_strategy s = 0;
		sa_store st = 0;
		int even = (i & 1) == 0;
		sa_status got = even ? sa_auto_strategy_detect(&s, opts) : sa_store_open(&st, url);
		const char *m = sa_last_error_message(), *j = sa_last_error_json();
		if (got != (even ? SA_E_INVALID_ARG : SA_E_AUTH) || sa_last_error_status() != got || !m || !j ||
		    !strstr(m, even ? mine_a : mine_b) || !strstr(j, even ? mine_a : mine_b))
			atomic_fetch_add(&g_err_mismatch, 1);
		/* A success clears this thread's error. */
		if (sa_static_token_strategy_new(&s, "x") != SA_OK || sa_last_error_code() != NULL ||
		    sa_last_error_message() != NULL || sa_last_error_json() != NULL || sa_last_error_status() != SA_OK)
			atomic_fetch_add(&g_err_mismatch, 1);
		sa_strategy_free(s);
	}
	return NULL;
}

static void test_last_error_threads(void) {
	atomic_store(&g_err_mismatch, 0);
	pthread_t th[16];
	for (int i = 0; i < 16; i++) pthread_create(&th[i], NULL, errors_thread, (void *)(intptr_t)i);
	for (int i = 0; i < 16; i++) pthread_join(th[i], NULL);
	CHECK(atomic_load(&g_err_mismatch) == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* A host thread that ends right after a failing call must not leak its error detail. The
   plain run cannot see a leak; --memory (LSan, valgrind) fails on it. */
static void *fail_then_exit(void *p) {
	(void)p;
	sa_token t = 0;
	if (sa_get_token(&t, 0, 0) != SA_E_INVALID_HANDLE) atomic_fetch_add(&g_err_mismatch, 1);
	return NULL;
}

static void test_thread_exit_error(void) {
	atomic_store(&g_err_mismatch, 0);
	for (int i = 0; i < 8; i++) {
		pthread_t th;
		pthread_create(&th, NULL, fail_then_exit, NULL);
		pthread_join(th, NULL);
	}
	CHECK(atomic_load(&g_err_mismatch) == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- concurrency ------------------------------------------------------------------------ */

static int g_stress_iters = 10000;

typedef struct {
	sa_strategy s;
	const char *want;
	atomic_int failures;
} stress_arg;

static void *stress_main(void *p) {
	stress_arg *a = p;
	size_t want_len = strlen(a->want);
	for (int i = 0; i < g_stress_iters; i++) {
		sa_token t = 0;
		char *v = NULL;
		size_t n = 0;
		if (sa_get_token(&t, a->s, 10000) != SA_OK || sa_token_value(t, &v, &n) != SA_OK || n != want_len ||
		    memcmp(v, a->want, n) != 0)
			atomic_fetch_add(&a->failures, 1);
		sa_free(v);
		sa_token_free(t);
	}
	return NULL;
}

static void test_stress_cached(void) {
	sa_strategy s = 0;
	char *want = new_ak_token_value(&s);
	REQUIRE(want);
	stress_arg a = {.s = s, .want = want};
	pthread_t th[64];
	double t0 = now_ms();
	for (int i = 0; i < 64; i++) pthread_create(&th[i], NULL, stress_main, &a);
	for (int i = 0; i < 64; i++) pthread_join(th[i], NULL);
	double el = now_ms() - t0;
	CHECK(atomic_load(&a.failures) == 0);
	printf("    64 threads x %d cached get+value+free: %.0f ms (%.0f ns/iteration wall)\n", g_stress_iters, el,
	       el * 1e6 / (64.0 * g_stress_iters));
	free(want);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* sa_get_token_value: the bearer string in one call, the same as through a token handle. */
static void test_get_token_value(void) {
	sa_strategy s = 0;
	char *want = new_ak_token_value(&s);
	REQUIRE(want);
	char *got = NULL;
	size_t len = 0;
	CHECK_OK(sa_get_token_value(s, 10000, &got, &len));
	CHECK(got && len == strlen(want) && strcmp(got, want) == 0);
	sa_free(got);
	CHECK(sa_get_token_value(s, 1000, NULL, &len) == SA_E_INVALID_ARG);
	CHECK(sa_get_token_value(0, 1000, &got, &len) == SA_E_INVALID_HANDLE);
	free(want);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* 1,000 async calls + 100 blocked threads on an EXPIRED token: one upstream request. */
static void test_expired_single_flight(void) {
	enum { N_ASYNC = 1000, N_THREADS = 100 };
	emu_clear_faults();
	emu_token_ttl(2);
	sa_strategy s = 0;
	CHECK_OK(new_ak(&s));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *json = token_json(t), *old = token_value(t, NULL);
	sa_token_free(t);
	emu_token_ttl(900); /* the refreshed token stays fresh for the rest of the test */
	long long exp = json_get_num(json, "expiresAt");
	free(json);
	REQUIRE(exp > 0 && old);
	/* Let real time pass until the token is unusable (no calls meanwhile: no background
	   refresh while it was merely stale). */
	while ((long long)time(NULL) < exp) sleep_ms(20);
	sleep_ms(50);
	emu_clear_requests();
	emu_fault("/api/authorise", 0, 300, 0); /* delay only, so every caller arrives in time */

	fanin f;
	fanin_init(&f, s);
	pthread_t th[N_THREADS];
	for (int i = 0; i < N_THREADS; i++) pthread_create(&th[i], NULL, fanin_thread, &f);
	int started = 0;
	for (int i = 0; i < N_ASYNC; i++) started += sa_get_token_async(s, fanin_done, &f) == SA_OK;
	CHECK(started == N_ASYNC);
	for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
	struct timespec until = deadline_in(15000);
	pthread_mutex_lock(&f.mu);
	while (f.done < N_ASYNC + N_THREADS)
		if (pthread_cond_timedwait(&f.cv, &f.mu, &until) != 0) break;
	CHECK(f.done == N_ASYNC + N_THREADS);
	CHECK(f.ok == N_ASYNC + N_THREADS);
	CHECK(f.mismatched == 0);
	CHECK(strcmp(f.value, old) != 0); /* they got the refreshed token */
	pthread_mutex_unlock(&f.mu);
	emu_clear_faults();
	int n = emu_count_requests("/api/authorise");
	if (n != 1) {
		char d[64];
		snprintf(d, sizeof d, "%d upstream /api/authorise requests", n);
		fail_at(__FILE__, __LINE__, "exactly one refresh", d);
	}
	free(old);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- NULL and huge inputs (docs/c-abi.md P23) ------------------------------------------- */

static void test_huge_inputs(void) {
	const size_t MiB = 1 << 20;
	char *big = malloc(MiB + 64);
	memset(big, 'A', MiB);
	big[MiB] = 0;

	sa_strategy s = 0xABCD;
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, big, OPTS_BASE), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "INVALID_ACCESS_KEY");
	CHECK(sa_last_error_message() && strlen(sa_last_error_message()) < 1024); /* never echoes it */
	CHECK(sa_last_error_json() && strlen(sa_last_error_json()) < 2048);
	CHECK(s == 0xABCD);

	/* 1 MiB of options JSON: valid, then garbage. */
	char *opts = malloc(MiB + 128);
	int k = snprintf(opts, 128, "{\"baseUrl\":\"%s\",\"audience\":\"", EMU.url);
	memset(opts + k, 'b', MiB);
	strcpy(opts + k + MiB, "\"}");
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	sa_strategy_free(s);
	memset(opts, '[', MiB);
	opts[MiB] = 0;
	s = 0xABCD;
	CHECK_ST(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts), SA_E_INVALID_ARG);
	CHECK(s == 0xABCD);
	CHECK(strlen(sa_last_error_message()) < 1024);
	free(opts);

	/* A 1 MiB bearer token from a hook. */
	fnctx c;
	fnctx_init(&c, M_SYNC, big);
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *v = NULL;
	size_t n = 0;
	CHECK_OK(sa_token_value(t, &v, &n));
	CHECK(n == MiB && v && memcmp(v, big, MiB) == 0 && v[MiB] == 0);
	sa_free(v);
	sa_token_free(t);
	free_fn_strategy(s, &c);

	/* A token with an embedded NUL is refused (it could not be sent); the request stays
	   open, so the caller's timeout ends the wait. */
	static const char nul_tok[] = {'a', 'b', 0, 'c', 'd'};
	fnctx_init(&c, M_SYNC, NULL);
	c.value = nul_tok, c.len = sizeof nul_tok;
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	t = 0xABCD;
	CHECK_ST(sa_get_token(&t, s, 200), SA_E_TIMEOUT);
	CHECK(t == 0xABCD);
	CHECK(atomic_load(&c.st1) == SA_E_INVALID_ARG);
	free_fn_strategy(s, &c);

	/* len 0 (value NULL): an empty bearer token is the hook's error, never a token. */
	fnctx_init(&c, M_SYNC, NULL);
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	t = 0xABCD;
	CHECK_ST(sa_get_token(&t, s, 10000), SA_E_CALLBACK);
	CHECK(t == 0xABCD);
	free_fn_strategy(s, &c); /* destroy runs after the hook returned: st1 is written */
	CHECK(atomic_load(&c.st1) == SA_OK);

	/* NULL with len > 0 is refused and leaves the request open for a proper answer. */
	fnctx_init(&c, M_NULL_LEN, "after-null");
	CHECK_OK(sa_strategy_fn_new(&s, fn_hook, &c, fn_destroy));
	expect_fn_token(s, "after-null");
	CHECK(atomic_load(&c.st1) == SA_E_INVALID_ARG);
	CHECK(atomic_load(&c.st2) == SA_OK);
	free_fn_strategy(s, &c);

	/* A static token of 1 MiB round-trips. */
	CHECK_OK(sa_static_token_strategy_new(&s, big));
	CHECK_OK(sa_get_token(&t, s, 0));
	CHECK_OK(sa_token_value(t, &v, &n));
	CHECK(n == MiB);
	sa_free(v);
	sa_token_free(t);
	sa_strategy_free(s);
	free(big);
	CHECK_NO_LIVE_OBJECTS();
}

/* A hook (of a strategy or a store's load) that resolves its request with value/len, keeps that
   call's status in st, and when it is refused resolves with fallback (NULL: nothing) instead. */
typedef struct {
	const char *value;
	size_t len;
	const char *fallback;
	atomic_int st;
} resolve_once;

static void resolve_once_hook(void *ud, sa_request req) {
	resolve_once *r = ud;
	sa_status st = sa_request_resolve(req, r->value, r->len);
	atomic_store(&r->st, st);
	if (st != SA_OK) sa_request_resolve(req, r->fallback, r->fallback ? strlen(r->fallback) : 0);
}

/* A length beyond what the library can copy must be refused, never silently truncated.
   The buffer is a 4 GiB + 5 byte reservation (MAP_NORESERVE): only its first page is touched. */

static void test_resolve_len_over_int32(void) {
	size_t sizes[] = {((size_t)1 << 32) + 5, (size_t)1 << 31};
	for (int i = 0; i < 2; i++) {
		size_t len = sizes[i];
		char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		REQUIRE(buf != MAP_FAILED);
		memcpy(buf, "abcde", 5);
		resolve_once b = {.value = buf, .len = len, .fallback = "refused"};
		atomic_store(&b.st, 99);
		sa_strategy s = 0;
		CHECK_OK(sa_strategy_fn_new(&s, resolve_once_hook, &b, NULL));
		sa_token t = 0;
		CHECK_OK(sa_get_token(&t, s, 30000));
		size_t n = 0;
		char *v = token_value(t, &n);
		sa_status st = atomic_load(&b.st);
		char d[160];
		snprintf(d, sizeof d, "len %zu: sa_request_resolve returned %s (%d), token length %zu", len, status_name(st), st, n);
		/* Either refused as an invalid argument, or copied whole: never cut, never a panic. */
		if (!(st == SA_E_INVALID_ARG || (st == SA_OK && n == len)))
			fail_at(__FILE__, __LINE__, "resolve refuses or copies the whole length", d);
		free(v);
		sa_token_free(t);
		sa_strategy_free(s);
		munmap(buf, len);
	}
	CHECK_NO_LIVE_OBJECTS();
}

/* docs/c-abi.md P7/R18: a Go panic inside the library is contained and reported as SA_E_INTERNAL. */
static void test_debug_panic(void) {
	CHECK_ST(sa_debug_panic(), SA_E_INTERNAL);
	CHECK(sa_last_error_status() == SA_E_INTERNAL);
	CHECK_STREQ(sa_last_error_code(), "INTERNAL_ERROR");
	CHECK(sa_last_error_json() && json_has_key(sa_last_error_json(), "message"));
	sa_strategy s = 0;
	CHECK_OK(sa_static_token_strategy_new(&s, "still-alive"));
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- the host survives (issue 12, items 5-8) -------------------------------------------- */

/* Item 5: completions run on a small fixed pool. N async calls whose done sleeps 1 ms (and,
   in the second round, holds a lock every done shares, as a GIL would): every call
   completes, and the process never has 64 threads more than before. Counts only; the
   timings are tests/c/bench_async.c's. */
typedef struct {
	pthread_mutex_t *shared; /* NULL: no shared lock */
	atomic_int done, ok, peak;
} slowdone;

static void slow_done(void *ud, sa_status st, sa_token t, const char *err) {
	(void)err;
	slowdone *d = ud;
	if (d->shared) pthread_mutex_lock(d->shared);
	sleep_ms(1);
	int n = thread_count();
	for (int p = atomic_load(&d->peak); n > p && !atomic_compare_exchange_weak(&d->peak, &p, n);) {
	}
	if (d->shared) pthread_mutex_unlock(d->shared);
	if (st == SA_OK) {
		atomic_fetch_add(&d->ok, 1);
		sa_token_free(t);
	}
	atomic_fetch_add(&d->done, 1);
}

static void test_async_done_pool(void) {
	enum { N = 1000 };
	pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
	for (int round = 0; round < 2; round++) {
		sa_strategy s = 0;
		CHECK_OK(sa_static_token_strategy_new(&s, "pool-token"));
		slowdone d = {.shared = round ? &shared : NULL};
		int base = thread_count(), started = 0;
		atomic_store(&d.peak, base);
		for (int i = 0; i < N; i++) started += sa_get_token_async(s, slow_done, &d) == SA_OK;
		CHECK(started == N);
		for (double until = now_ms() + 60000; atomic_load(&d.done) < N && now_ms() < until;) {
			int n = thread_count();
			for (int p = atomic_load(&d.peak); n > p && !atomic_compare_exchange_weak(&d.peak, &p, n);) {
			}
			sleep_ms(2);
		}
		int peak = atomic_load(&d.peak);
		printf("    %s: threads %d before, %d at peak; %d of %d completed\n", round ? "shared lock" : "no lock",
		       base, peak, atomic_load(&d.done), N);
		CHECK(atomic_load(&d.done) == N && atomic_load(&d.ok) == N);
		if (peak - base >= 64) {
			char msg[96];
			snprintf(msg, sizeof msg, "%d threads before, %d at peak", base, peak);
			fail_at(__FILE__, __LINE__, "completions run on a bounded pool", msg);
		}
		sa_strategy_free(s);
	}
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 5: a done that blocks holds one pool thread; the others keep completing calls, and
   other calls of the library are unaffected. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int release, blocked;
} gate;

static void gate_init(gate *g) {
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
}

static void gate_wait(gate *g) {
	pthread_mutex_lock(&g->mu);
	g->blocked++;
	pthread_cond_broadcast(&g->cv);
	while (!g->release) pthread_cond_wait(&g->cv, &g->mu);
	g->blocked--;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int gate_blocked(gate *g) {
	pthread_mutex_lock(&g->mu);
	int n = g->blocked;
	pthread_mutex_unlock(&g->mu);
	return n;
}

static void gate_open(gate *g) {
	pthread_mutex_lock(&g->mu);
	g->release = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void gate_destroy(gate *g) {
	pthread_mutex_lock(&g->mu);
	while (g->blocked) pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

static void blocking_done(void *ud, sa_status st, sa_token t, const char *err) {
	(void)err;
	if (st == SA_OK) sa_token_free(t);
	gate_wait(ud);
}

static void test_async_done_blocks(void) {
	sa_strategy s = 0;
	CHECK_OK(sa_static_token_strategy_new(&s, "gate-token"));
	gate g;
	gate_init(&g);
	CHECK_OK(sa_get_token_async(s, blocking_done, &g));
	CHECK(WAIT_UNTIL(gate_blocked(&g) == 1, 5000));
	/* One done is stuck: later completions still run, and blocking calls still work. */
	slowdone d = {0};
	for (int i = 0; i < 100; i++) CHECK_OK(sa_get_token_async(s, slow_done, &d));
	CHECK(WAIT_UNTIL(atomic_load(&d.done) == 100, 10000));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 1000));
	sa_token_free(t);
	gate_open(&g);
	gate_destroy(&g);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 6: a store handle freed while a constructor names it: the constructor either took
   its reference first (it succeeds; the store's destroy waits for the strategy) or fails
   with SA_E_INVALID_HANDLE. Never a strategy whose store was already destroyed. */
typedef struct {
	atomic_int loads, destroys, loads_after_destroy;
} racestore;

static void racestore_load(void *ud, sa_request req) {
	racestore *r = ud;
	atomic_fetch_add(&r->loads, 1);
	if (atomic_load(&r->destroys)) atomic_fetch_add(&r->loads_after_destroy, 1);
	sa_request_resolve(req, NULL, 0);
}

static void racestore_destroy(void *ud) { atomic_fetch_add(&((racestore *)ud)->destroys, 1); }

typedef struct {
	pthread_barrier_t *go;
	const char *opts;
	sa_strategy s;
	sa_status st;
} ctor_arg;

static void *ctor_main(void *p) {
	ctor_arg *a = p;
	pthread_barrier_wait(a->go);
	a->st = sa_access_key_strategy_new(&a->s, EMU.crn, EMU.key, a->opts);
	return NULL;
}

static void test_store_free_vs_constructor(void) {
	enum { ROUNDS = 20000 };
	int bad_status = 0, destroyed_early = 0, ok = 0, invalid = 0;
	atomic_store(&g_spin_stop, 0);
	pthread_t spinners[2];
	for (int k = 0; k < 2; k++) pthread_create(&spinners[k], NULL, spin_main, NULL);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < ROUNDS; i++) {
		racestore r = {0};
		sa_store st = 0;
		if (sa_store_fn_new(&st, racestore_load, NULL, &r, racestore_destroy) != SA_OK) {
			bad_status++;
			continue;
		}
		char opts[600];
		snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
		ctor_arg a = {.go = &go, .opts = opts};
		pthread_t th;
		pthread_create(&th, NULL, ctor_main, &a);
		pthread_barrier_wait(&go);
		sa_store_free(st);
		pthread_join(th, NULL);
		if (a.st == SA_OK) {
			ok++;
			if (atomic_load(&r.destroys)) destroyed_early++; /* the strategy still holds it */
			sa_strategy_free(a.s);
		} else if (a.st == SA_E_INVALID_HANDLE) {
			invalid++;
		} else {
			bad_status++;
		}
		WAIT_UNTIL(atomic_load(&r.destroys) == 1, 3000);
		if (atomic_load(&r.destroys) != 1) bad_status++;
	}
	atomic_store(&g_spin_stop, 1);
	for (int k = 0; k < 2; k++) pthread_join(spinners[k], NULL);
	pthread_barrier_destroy(&go);
	printf("    %d rounds: %d built, %d SA_E_INVALID_HANDLE, %d built on a destroyed store\n", ROUNDS, ok,
	       invalid, destroyed_early);
	CHECK(bad_status == 0);
	CHECK(destroyed_early == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 6: sa_try_get_token racing sa_strategy_free returns a token, SA_E_INVALID_HANDLE or
   SA_E_CANCELLED; never the engine's ALREADY_CONSUMED. */
typedef struct {
	sa_strategy s;
	atomic_int *stop;
	int other;
	outcome first_other;
} tryspin;

static void *tryspin_main(void *p) {
	tryspin *a = p;
	while (!atomic_load(a->stop)) {
		sa_token t = 0;
		sa_status st = sa_try_get_token(&t, a->s);
		if (st == SA_OK) sa_token_free(t);
		else if (st == SA_E_INVALID_HANDLE) break;
		else if (st != SA_E_CANCELLED && !a->other++) outcome_set(&a->first_other, st);
	}
	return NULL;
}

static void test_try_vs_free(void) {
	enum { ROUNDS = 2000, SPINNERS = 3 };
	sa_store st = 0;
	CHECK_OK(sa_store_memory_new(&st)); /* one mint; every later strategy loads it */
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	int other = 0;
	char first[160] = "";
	for (int i = 0; i < ROUNDS; i++) {
		sa_strategy s = 0;
		CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
		sa_token t = 0;
		CHECK_OK(sa_get_token(&t, s, 10000));
		sa_token_free(t);
		atomic_int stop = 0;
		tryspin a[SPINNERS];
		pthread_t th[SPINNERS];
		for (int k = 0; k < SPINNERS; k++) {
			a[k] = (tryspin){.s = s, .stop = &stop};
			pthread_create(&th[k], NULL, tryspin_main, &a[k]);
		}
		sa_strategy_free(s);
		for (int k = 0; k < SPINNERS; k++) {
			pthread_join(th[k], NULL);
			if (a[k].other && !other)
				snprintf(first, sizeof first, "round %d: %s (%d) %s", i, status_name(a[k].first_other.st),
				         a[k].first_other.st, a[k].first_other.code);
			other += a[k].other;
		}
	}
	sa_store_free(st);
	if (other) {
		char d[256];
		snprintf(d, sizeof d, "%d calls returned something else; first: %s", other, first);
		fail_at(__FILE__, __LINE__, "try_get_token racing free: OK, INVALID_HANDLE or CANCELLED", d);
	}
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 6: freeing an OIDC strategy stops its refresh: a background refresh in flight when
   the strategy is freed never reaches the store's save hook afterwards. */
typedef struct {
	atomic_int saves, saves_after_free, freed;
} oidcstore;

static void oidcstore_load(void *ud, sa_request req) {
	(void)ud;
	sa_request_resolve(req, NULL, 0);
}

static void oidcstore_save(void *ud, sa_request req, const char *json, size_t len) {
	(void)json, (void)len;
	oidcstore *o = ud;
	atomic_fetch_add(&o->saves, 1);
	if (atomic_load(&o->freed)) atomic_fetch_add(&o->saves_after_free, 1);
	sa_request_resolve(req, NULL, 0);
}

/* The emulator drops a fault with count 1 once a request has taken it. */
static int fault_taken(const char *path) {
	char *body = NULL;
	if (emu_http("GET", "/_emulator/faults", NULL, &body) != 200) return 0;
	int taken = body && !strstr(body, path);
	free(body);
	return taken;
}

static void test_oidc_free_stops_refresh(void) {
	fnctx c;
	fnctx_init(&c, M_SYNC, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJvaWRjLWZyZWUifQ.c2ln");
	oidcstore o = {0};
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, oidcstore_load, oidcstore_save, &o, NULL));
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	emu_token_ttl(2); /* stale after 1 s */
	sa_strategy s = 0;
	CHECK_OK(sa_oidc_federation_strategy_new(&s, EMU.crn, fn_hook, &c, fn_destroy, opts));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	char *json = token_json(t);
	sa_token_free(t);
	emu_token_ttl(900);
	long long exp = json_get_num(json, "expiresAt");
	free(json);
	REQUIRE(exp > 0);
	CHECK(WAIT_UNTIL(atomic_load(&o.saves) == 1, 3000));
	while ((long long)time(NULL) < exp - 1) sleep_ms(20); /* stale, still usable */
	emu_fault("/api/authorise", 0, 600, 1); /* the background refresh waits on the server */
	CHECK_OK(sa_get_token(&t, s, 10000)); /* the stale token; starts the refresh */
	sa_token_free(t);
	CHECK(WAIT_UNTIL(fault_taken("/api/authorise"), 3000)); /* the refresh reached the server */
	sa_strategy_free(s);
	atomic_store(&o.freed, 1);
	/* The delayed answer arrives after 600 ms; a refresh still running would save then. */
	sleep_ms(1200);
	printf("    saves %d, after free %d\n", atomic_load(&o.saves), atomic_load(&o.saves_after_free));
	CHECK(atomic_load(&o.saves_after_free) == 0);
	CHECK(WAIT_UNTIL(atomic_load(&c.destroys) == 1, 3000));
	sa_store_free(st);
	emu_clear_faults();
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 7: a store load hook may call sa_get_token on another strategy that shares its
   store: the nested load runs (no library lock is held across a hook) and the call works. */
typedef struct {
	storectx store;
	_Atomic sa_strategy other, self;
	atomic_int nested, nested_status, self_status, self_try_status;
} reentry;

static void reentry_load(void *ud, sa_request req) {
	reentry *r = ud;
	if (atomic_exchange(&r->nested, 1) == 0) {
		sa_token t = 0;
		sa_strategy other = atomic_load(&r->other), self = atomic_load(&r->self);
		if (other) {
			sa_status st = sa_get_token(&t, other, 3000);
			atomic_store(&r->nested_status, st);
			if (st == SA_OK) sa_token_free(t);
		}
		if (self) {
			/* A hook never waits for the token it is computing: it times out. Trying never blocks. */
			atomic_store(&r->self_try_status, sa_try_get_token(&t, self));
			sa_status st = sa_get_token(&t, self, 300);
			atomic_store(&r->self_status, st);
			if (st == SA_OK) sa_token_free(t);
		}
	}
	store_load(&r->store, req);
}

static void reentry_save(void *ud, sa_request req, const char *json, size_t len) {
	store_save(&((reentry *)ud)->store, req, json, len);
}

static void test_hook_calls_other_strategy(void) {
	reentry r;
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.store.mu, NULL);
	atomic_store(&r.nested_status, 99);
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, reentry_load, reentry_save, &r, NULL));
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	sa_strategy a = 0, b = 0;
	CHECK_OK(sa_access_key_strategy_new(&a, EMU.crn, EMU.key, opts));
	CHECK_OK(sa_access_key_strategy_new(&b, EMU.crn, EMU.key, opts));
	atomic_store(&r.other, b);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, a, 10000));
	sa_token_free(t);
	CHECK_ST(atomic_load(&r.nested_status), SA_OK);
	CHECK(atomic_load(&r.store.loads) >= 2); /* the nested load ran while the outer one waited */
	CHECK_OK(sa_flush(5000)); /* the save follows the wake-up: done before the frees */
	sa_strategy_free(a), sa_strategy_free(b);
	sa_store_free(st);
	free(r.store.saved);
	pthread_mutex_destroy(&r.store.mu);
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 7, the other side: a hook that waits on its own strategy's token gets SA_E_TIMEOUT
   (documented), sa_try_get_token answers at once, and the outer call still succeeds. */
static void test_hook_calls_own_strategy(void) {
	reentry r;
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.store.mu, NULL);
	atomic_store(&r.self_status, 99);
	atomic_store(&r.self_try_status, 99);
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, reentry_load, reentry_save, &r, NULL));
	sa_strategy a = store_strategy(st);
	atomic_store(&r.self, a);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, a, 10000));
	sa_token_free(t);
	CHECK_ST(atomic_load(&r.self_try_status), SA_E_WOULD_BLOCK);
	CHECK_ST(atomic_load(&r.self_status), SA_E_TIMEOUT);
	CHECK_OK(sa_flush(5000)); /* the save follows the wake-up: done before the frees */
	sa_strategy_free(a);
	sa_store_free(st);
	free(r.store.saved);
	pthread_mutex_destroy(&r.store.mu);
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 8: a token handed to sa_request_resolve must be valid UTF-8 without NUL, CR or LF
   (it becomes an HTTP header value); the error names the problem, never the value. The
   request stays open, so the hook can still complete it. Stored token JSON may hold line
   breaks (JSON whitespace) but not invalid UTF-8 or NUL. */
typedef struct {
	const char *bad;
	size_t bad_len;
	sa_status st;
	char msg[256];
} badresolve;

static void badresolve_hook(void *ud, sa_request req) {
	badresolve *b = ud;
	b->st = sa_request_resolve(req, b->bad, b->bad_len);
	snprintf(b->msg, sizeof b->msg, "%s", sa_last_error_message() ? sa_last_error_message() : "");
	if (b->st != SA_OK) sa_request_resolve(req, "good-token", 10);
}

static void test_resolve_checks_token(void) {
	struct {
		const char *v;
		size_t n;
		const char *names;
	} bad[] = {
	    {"secret\xff\xfe-tok", 12, "UTF-8"}, {"secret\0-tok", 11, "NUL"}, {"secret\r\n-tok", 12, "line"},
	    {"secret\n-tok", 11, "line"},        {"secret\r-tok", 11, "line"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		badresolve b = {.bad = bad[i].v, .bad_len = bad[i].n, .st = 99};
		sa_strategy s = 0;
		CHECK_OK(sa_strategy_fn_new(&s, badresolve_hook, &b, NULL));
		sa_token t = 0;
		CHECK_OK(sa_get_token(&t, s, 5000));
		char *v = token_value(t, NULL);
		CHECK_STREQ(v, "good-token"); /* the bad value never became a token */
		free(v);
		sa_token_free(t);
		CHECK_ST(b.st, SA_E_INVALID_ARG);
		CHECK(strstr(b.msg, bad[i].names) != NULL);
		CHECK(strstr(b.msg, "secret") == NULL); /* never echoes the value */
		sa_strategy_free(s);
	}
	/* So does a static token. */
	sa_strategy bad_static = 0xABCD;
	CHECK_ST(sa_static_token_strategy_new(&bad_static, "secret\r\nX-Injected: 1"), SA_E_INVALID_ARG);
	CHECK(sa_last_error_message() && strstr(sa_last_error_message(), "line") && !strstr(sa_last_error_message(), "secret"));
	CHECK(bad_static == 0xABCD);
	/* The OIDC provider's JWT follows the token rule too. */
	badresolve b = {.bad = "a.b\n.c", .bad_len = 6, .st = 99};
	sa_strategy s = 0;
	CHECK_OK(sa_oidc_federation_strategy_new(&s, EMU.crn, badresolve_hook, &b, NULL, OPTS_BASE));
	sa_token t = 0;
	sa_status got = sa_get_token(&t, s, 5000); /* "good-token" is no JWT: the exchange may fail */
	if (got == SA_OK) sa_token_free(t);
	CHECK_ST(b.st, SA_E_INVALID_ARG);
	sa_strategy_free(s);
	CHECK_NO_LIVE_OBJECTS();
}

/* A stored token whose value breaks the token rule (a JSON-escaped CR LF) is a cache miss:
   the strategy mints its own rather than send it. */
static void stored_token_with_line_break(void) {
	storectx cap;
	sa_store st = new_store_fn(&cap, NULL);
	char opts[600];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	sa_strategy s = 0;
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	CHECK_OK(sa_flush(5000)); /* the save follows the waiters' wake-up */
	sa_strategy_free(s);
	sa_store_free(st);
	const char *key = "\"access_token\":\"";
	char *at = cap.saved ? strstr(cap.saved, key) : NULL;
	char *end = at ? strchr(at + strlen(key), '"') : NULL;
	REQUIRE(end);
	size_t head = (size_t)(end - cap.saved);
	char *bad = malloc(cap.saved_len + 5);
	memcpy(bad, cap.saved, head);
	memcpy(bad + head, "\\r\\n", 4); /* the JSON escapes \r\n */
	strcpy(bad + head + 4, end);

	resolve_once l = {.value = bad, .len = strlen(bad)};
	atomic_store(&l.st, 99);
	CHECK_OK(sa_store_fn_new(&st, resolve_once_hook, NULL, &l, NULL));
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", EMU.url, (unsigned long long)st);
	CHECK_OK(sa_access_key_strategy_new(&s, EMU.crn, EMU.key, opts));
	emu_clear_requests();
	CHECK_OK(sa_get_token(&t, s, 10000));
	CHECK_ST(atomic_load(&l.st), SA_OK); /* the JSON itself is fine */
	char *v = token_value(t, NULL);
	CHECK(v && !strchr(v, '\r') && !strchr(v, '\n'));
	CHECK(emu_count_requests("/api/authorise") == 1); /* a miss: minted */
	free(v);
	sa_token_free(t);
	sa_strategy_free(s);
	sa_store_free(st);
	free(bad);
	free(cap.saved);
	pthread_mutex_destroy(&cap.mu);
}

static void test_resolve_checks_store_json(void) {
	const char pretty[] = "{\n  \"not\": \"a token\"\r\n}";
	struct {
		const char *v;
		size_t n;
		sa_status want;
	} cases[] = {
	    {pretty, sizeof pretty - 1, SA_OK}, {"{\"a\":\"\xff\"}", 8, SA_E_INVALID_ARG}, {"{\"a\":\0}", 7, SA_E_INVALID_ARG},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		resolve_once l = {.value = cases[i].v, .len = cases[i].n};
		atomic_store(&l.st, 99);
		sa_store st = 0;
		CHECK_OK(sa_store_fn_new(&st, resolve_once_hook, NULL, &l, NULL));
		sa_strategy s = store_strategy(st);
		sa_token t = 0;
		CHECK_OK(sa_get_token(&t, s, 10000)); /* a miss either way: minted */
		sa_token_free(t);
		CHECK_ST(atomic_load(&l.st), cases[i].want);
		sa_strategy_free(s);
		sa_store_free(st);
	}
	stored_token_with_line_break();
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 8: sa_device_code_begin blocks on the network for at most its timeoutMs. */
static void test_device_begin_timeout(void) {
	char dir[512], opts[1200];
	make_tmpdir(dir, sizeof dir);
	emu_fault("/oauth/device/code", 0, 3000, 1); /* the server holds the request */
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\",\"timeoutMs\":200}", EMU.url, dir);
	sa_device_flow f = 0xABCD;
	CHECK_ST(sa_device_code_begin(&f, EMU.region, NULL, opts), SA_E_TIMEOUT);
	CHECK_STREQ(sa_last_error_code(), "TIMEOUT");
	CHECK(f == 0xABCD);
	emu_clear_faults();
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* Item 8: sa_free ignores a pointer it did not hand out (or already freed) without reading
   memory around it: a pointer at the start of a page after an unmapped one, a malloc'd
   pointer, a stack buffer, and a second sa_free of a library string. Run in a child so a
   crash is a failed check rather than the end of the suite; the child only calls sa_free,
   which never enters the Go runtime. */
static void test_free_foreign_pointer(void) {
	long page = sysconf(_SC_PAGESIZE);
	char *v = NULL;
	sa_strategy s = 0;
	CHECK_OK(sa_static_token_strategy_new(&s, "free-me"));
	CHECK_OK(sa_get_token_value(s, 1000, &v, NULL));
	sa_strategy_free(s);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char *pages = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pages == MAP_FAILED) _exit(3);
		munmap(pages, (size_t)page); /* the page before the pointer is unmapped */
		sa_free(pages + page);
		char *heap = malloc(64);
		memset(heap, 0x5a, 64);
		sa_free(heap);
		free(heap);
		char stack[32] = "not the library's";
		sa_free(stack);
		sa_free(v);
		sa_free(v); /* already freed */
		_exit(0);
	}
	int status = 0;
	REQUIRE(pid > 0 && waitpid(pid, &status, 0) == pid);
	char d[96];
	snprintf(d, sizeof d, "child %s %d", WIFSIGNALED(status) ? "killed by signal" : "exit status",
	         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fail_at(__FILE__, __LINE__, "sa_free ignores foreign pointers", d);
	sa_free(v); /* the parent's copy is still live */
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- agreement with upstream 0.43 (issue 13) and echoed secrets (issue 12.9) ----------- */

/* A region upstream does not serve, or a service name with a dot: INVALID_CRN at
   construction, help listing the supported regions, and nothing sent. */
static void test_upstream_crn(void) {
	const char *bad[] = {"crn:ap-northeast-1.aws:%s", "crn:ap-southeast-2.aws:%s:zero.kms"};
	emu_clear_requests();
	for (size_t i = 0; i < 2; i++) {
		char crn[256];
		snprintf(crn, sizeof crn, bad[i], EMU.ws);
		sa_strategy s = 0xABCD;
		CHECK_ST(sa_access_key_strategy_new(&s, crn, EMU.key, OPTS_BASE), SA_E_AUTH);
		CHECK(s == 0xABCD);
		CHECK_STREQ(sa_last_error_code(), "INVALID_CRN");
		const char *j = sa_last_error_json();
		CHECK(j && strstr(j, "ca-central-1.aws") && strstr(j, "us-west-2.aws"));
		CHECK(j && strstr(j, "\"retryable\":false"));
	}
	CHECK(emu_count_requests("/api/authorise") == 0);
	CHECK_NO_LIVE_OBJECTS();
}

/* sa_last_error_json says whether retrying may help. */
static void test_error_json_retryable(void) {
	sa_strategy s = 0;
	sa_token t = 0;
	emu_fault("/api/authorise", 503, 0, 1);
	CHECK_OK(new_ak(&s));
	CHECK_ST(sa_get_token(&t, s, 10000), SA_E_AUTH);
	CHECK_STREQ(sa_last_error_code(), "SERVER_ERROR");
	CHECK(sa_last_error_json() && strstr(sa_last_error_json(), "\"retryable\":true"));
	sa_strategy_free(s);
	emu_clear_faults();
	CHECK_NO_LIVE_OBJECTS();
}

/* An OIDC provider's empty JWT is sent, as upstream does, and the server's answer reported. */
static void test_oidc_empty_jwt(void) {
	fnctx c;
	fnctx_init(&c, M_SYNC, NULL); /* resolves with len 0 */
	emu_clear_requests();
	sa_strategy s = 0;
	sa_token t = 0xABCD;
	CHECK_OK(sa_oidc_federation_strategy_new(&s, EMU.crn, fn_hook, &c, fn_destroy, OPTS_BASE));
	CHECK_ST(sa_get_token(&t, s, 10000), SA_E_AUTH);
	CHECK(t == 0xABCD);
	CHECK_STREQ(sa_last_error_code(), "SERVER_ERROR");
	CHECK(emu_count_requests("/api/authorise") == 1);
	free_last_fn_strategy(s, &c);
}

/* A server that echoes the access key or the provider's JWT, with a newline, in each kind
   of error answer: neither reaches the message or the error JSON, which stay one line. */
static void test_echoed_secrets(void) {
	static const char jwt[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJlY2hvLWNhbmFyeSJ9.RUNITy1DQU5BUlk";
	const char *secret_part = strchr(EMU.key, '.') + 1;
	const char *shapes[][2] = {
	    {"402", "{\"error\":\"access_denied\",\"error_description\":\"got %s\\nline two\"}"},
	    {"400", "{\"error\":\"invalid_request\",\"error_description\":\"got %s\\nline two\"}"},
	    {"500", "{\"error\":\"server_error\",\"error_description\":\"got %s\\nline two\"}"},
	    {"502", "bad gateway\nrequest was: {\"accessKey\":\"%s\"}\n"},
	};
	for (int oidc = 0; oidc < 2; oidc++) {
		for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
			char body[2048];
			snprintf(body, sizeof body, shapes[i][1], oidc ? jwt : EMU.key);
			CHECK(emu_fault_body("/api/authorise", atoi(shapes[i][0]), body, 1) == 200);
			fnctx c;
			fnctx_init(&c, M_SYNC, jwt);
			sa_strategy s = 0;
			sa_token t = 0;
			if (oidc) CHECK_OK(sa_oidc_federation_strategy_new(&s, EMU.crn, fn_hook, &c, fn_destroy, OPTS_BASE));
			else CHECK_OK(new_ak(&s));
			CHECK_ST(sa_get_token(&t, s, 10000), SA_E_AUTH);
			const char *m = sa_last_error_message(), *j = sa_last_error_json();
			CHECK(m && j);
			if (m && j) {
				CHECK(!strchr(m, '\n') && !strchr(m, '\r'));
				CHECK(!strstr(m, EMU.key) && !strstr(j, EMU.key));
				CHECK(!strstr(m, secret_part) && !strstr(j, secret_part));
				CHECK(!strstr(m, jwt) && !strstr(j, jwt));
				CHECK(strstr(m, "***") != NULL); /* the server's text is kept, masked */
			}
			if (oidc) free_fn_strategy(s, &c);
			else sa_strategy_free(s);
			emu_clear_faults();
		}
	}
	CHECK_NO_LIVE_OBJECTS();
}

/* ---- the end ---------------------------------------------------------------------------- */

/* ---- item: nothing minted is lost (docs/architecture.md D1, D3) ------------------------- */

static char *slurp(const char *path) {
	FILE *fp = fopen(path, "rb");
	if (!fp) return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

/* auth.json's refresh token (the file is indented JSON) into out; 0 on success. */
static int saved_refresh_token(const char *path, char *out, size_t cap) {
	char *json = slurp(path);
	const char *p = json ? strstr(json, "\"refresh_token\"") : NULL;
	int rc = -1;
	if (p) {
		p += strlen("\"refresh_token\"");
		while (*p == ' ' || *p == ':') p++;
		const char *q = *p == '"' ? strchr(++p, '"') : NULL;
		if (q && (size_t)(q - p) < cap) {
			memcpy(out, p, (size_t)(q - p));
			out[q - p] = 0;
			rc = 0;
		}
	}
	free(json);
	return rc;
}

/* Logs in to the emulator (auto-approve) into dir and returns auth.json's path (static). */
static const char *login_session(const char *dir) {
	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\"}", EMU.url, dir);
	sa_device_flow f = 0;
	CHECK_OK(sa_device_code_begin(&f, EMU.region, NULL, opts));
	char *tj = NULL;
	CHECK_OK(sa_device_code_poll(f, 15000, &tj, NULL));
	sa_free(tj);
	sa_device_flow_free(f);
	return find_file(dir, "auth.json");
}

/* Rewrites auth.json with its access token expired, so the next use refreshes. */
static void expire_session(const char *path) {
	char *json = slurp(path);
	REQUIRE(json);
	char *p = strstr(json, "\"expires_at\":");
	REQUIRE(p);
	p += strlen("\"expires_at\":");
	while (*p == ' ') p++;
	char *end = p;
	while (*end >= '0' && *end <= '9') end++;
	FILE *fp = fopen(path, "wb");
	REQUIRE(fp);
	fprintf(fp, "%.*s1000000000%s", (int)(p - json), json, end);
	fclose(fp);
	free(json);
}

/* A device session freed while its refresh is in flight: the server already rotated the
   refresh token (it answers 700 ms later). sa_strategy_free returns at once, the exchange
   finishes and saves in the background, and sa_flush waits for it. */
static void test_free_mid_refresh_saves(void) {
	unset_cs_env();
	char dir[512];
	make_tmpdir(dir, sizeof dir);
	char path[1024];
	const char *found = login_session(dir);
	REQUIRE(found);
	snprintf(path, sizeof path, "%s", found);
	expire_session(path);
	char spent[512] = "", saved[512] = "";
	CHECK(saved_refresh_token(path, spent, sizeof spent) == 0);
	CHECK_OK(sa_flush(0)); /* nothing pending: at once */

	char opts[1024];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\"}", EMU.url, dir);
	emu_clear_requests();
	REQUIRE(emu_http("POST", "/_emulator/faults", "{\"path\":\"/oauth/token\",\"delayAfterMs\":700,\"count\":1}", NULL) == 200);
	sa_strategy s = 0;
	CHECK_OK(sa_device_session_strategy_from_profile(&s, opts));
	sa_token t = 0;
	CHECK_ST(sa_get_token(&t, s, 300), SA_E_TIMEOUT);
	sa_strategy_free(s);
	CHECK_ST(sa_flush(0), SA_E_TIMEOUT); /* the exchange is still running */
	CHECK_STREQ(sa_last_error_code(), "TIMEOUT");
	CHECK_OK(sa_flush(5000));

	CHECK(saved_refresh_token(path, saved, sizeof saved) == 0);
	CHECK(saved[0] && strcmp(saved, spent) != 0); /* the rotated refresh token was saved */
	CHECK(emu_count_requests("/oauth/token") == 1);

	/* The next run starts from it: no INVALID_GRANT. */
	CHECK_OK(sa_device_session_strategy_from_profile(&s, opts));
	CHECK_OK(sa_get_token(&t, s, 10000));
	sa_token_free(t);
	sa_strategy_free(s);
	rm_tree(dir);
	CHECK_NO_LIVE_OBJECTS();
}

/* A store whose save hangs until the test releases it. */
typedef struct {
	_Atomic sa_request pending_save;
	atomic_int saves;
} hungstore;

static void hung_load(void *ud, sa_request req) {
	(void)ud;
	sa_request_resolve(req, NULL, 0);
}

static void hung_save(void *ud, sa_request req, const char *json, size_t len) {
	hungstore *c = ud;
	(void)json, (void)len;
	atomic_fetch_add(&c->saves, 1);
	atomic_store(&c->pending_save, req); /* answered later, by the test */
}

/* Waiters wake when the token is minted; a hung save never makes them time out. */
static void test_hung_save_does_not_fail_get_token(void) {
	hungstore c;
	memset(&c, 0, sizeof c);
	sa_store st = 0;
	CHECK_OK(sa_store_fn_new(&st, hung_load, hung_save, &c, NULL));
	sa_strategy s = store_strategy(st);
	sa_token t = 0;
	CHECK_OK(sa_get_token(&t, s, 2000));
	sa_token_free(t);
	CHECK(WAIT_UNTIL(atomic_load(&c.pending_save) != 0, 5000));
	CHECK_ST(sa_flush(0), SA_E_TIMEOUT); /* sa_flush waits for in-flight saves too */
	CHECK_OK(sa_request_resolve(atomic_load(&c.pending_save), NULL, 0));
	CHECK_OK(sa_flush(5000));
	CHECK(atomic_load(&c.saves) == 1);
	sa_strategy_free(s);
	sa_store_free(st);
	CHECK_NO_LIVE_OBJECTS();
}

static void test_no_live_objects(void) { CHECK_NO_LIVE_OBJECTS(); }

/* ---- runner ----------------------------------------------------------------------------- */

typedef struct {
	const char *name;
	void (*fn)(void);
	int vg; /* in the valgrind subset: quick, few threads */
} test_case;

static const test_case TESTS[] = {
    {"version", test_version, 1},
    {"access_key", test_access_key, 1},
    {"call_timeout_checked", test_call_timeout_checked, 1},
    {"auto_env", test_auto_env, 0},
    {"auto_options", test_auto_options, 0},
    {"auto_nothing", test_auto_nothing, 1},
    {"device_session", test_device_session, 0},
    {"device_pending", test_device_pending, 0},
    {"static_token", test_static_token, 1},
    {"fn_sync", test_fn_sync, 1},
    {"fn_thread", test_fn_thread, 1},
    {"fn_late", test_fn_late, 0},
    {"fn_twice", test_fn_twice, 1},
    {"fn_reject", test_fn_reject, 1},
    {"fn_never", test_fn_never, 0},
    {"fn_destroy_order", test_fn_destroy_order, 0},
    {"fn_free_while_waiting", test_fn_free_while_waiting, 0},
    {"fn_free_while_waiting_race", test_fn_free_while_waiting_race, 0},
    {"fn_free_inside_hook", test_fn_free_inside_hook, 1},
    {"async_thread_count", test_async_thread_count, 0},
    {"oidc", test_oidc, 1},
    {"invalidate_every_strategy", test_invalidate_every_strategy, 1},
    {"transport", test_transport, 1},
    {"store_fn", test_store_fn, 1},
    {"store_fn_failures", test_store_fn_failures, 0},
    {"log_handler", test_log_handler, 1},
    {"store_memory_shared", test_store_memory_shared, 1},
    {"store_file", test_store_file, 0},
    {"store_redis_closed", test_store_redis_closed, 0},
    {"store_scoped", test_store_scoped, 1},
    {"request_scope", test_request_scope, 1},
    {"proxy_env", test_proxy_env, 0},
    {"try_and_async", test_try_and_async, 1},
    {"oidc_with_jwt", test_oidc_with_jwt, 1},
    {"token_from_value", test_token_from_value, 1},
    {"event_hook", test_event_hook, 1},
    {"invalid_arg", test_invalid_arg, 1},
    {"invalid_handle", test_invalid_handle, 1},
    {"timeout", test_timeout, 0},
    {"timeout_status_race", test_timeout_status_race, 0},
    {"cancelled", test_cancelled, 0},
    {"auth_errors", test_auth_errors, 1},
    {"fork", test_fork, 0},
    {"last_error_threads", test_last_error_threads, 0},
    {"thread_exit_error", test_thread_exit_error, 1},
    {"stress_cached", test_stress_cached, 0},
    {"get_token_value", test_get_token_value, 0},
    {"expired_single_flight", test_expired_single_flight, 0},
    {"huge_inputs", test_huge_inputs, 0},
    {"resolve_len_over_int32", test_resolve_len_over_int32, 0},
    {"debug_panic", test_debug_panic, 1},
    {"async_done_pool", test_async_done_pool, 0},
    {"async_done_blocks", test_async_done_blocks, 0},
    {"store_free_vs_constructor", test_store_free_vs_constructor, 0},
    {"try_vs_free", test_try_vs_free, 0},
    {"oidc_free_stops_refresh", test_oidc_free_stops_refresh, 0},
    {"hook_calls_other_strategy", test_hook_calls_other_strategy, 1},
    {"hook_calls_own_strategy", test_hook_calls_own_strategy, 1},
    {"resolve_checks_token", test_resolve_checks_token, 1},
    {"resolve_checks_store_json", test_resolve_checks_store_json, 1},
    {"free_foreign_pointer", test_free_foreign_pointer, 0}, /* its forked child copies Go memory valgrind cannot see; ASan covers it */
    {"device_begin_timeout", test_device_begin_timeout, 0},
    {"upstream_crn", test_upstream_crn, 1},
    {"error_json_retryable", test_error_json_retryable, 1},
    {"oidc_empty_jwt", test_oidc_empty_jwt, 1},
    {"echoed_secrets", test_echoed_secrets, 0},
    {"free_mid_refresh_saves", test_free_mid_refresh_saves, 0},
    {"hung_save_does_not_fail_get_token", test_hung_save_does_not_fail_get_token, 0},
    {"no_live_objects", test_no_live_objects, 1},
};
#define N_TESTS (sizeof TESTS / sizeof *TESTS)

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	int vg_only = 0, list = 0;
	const char *only[64];
	int n_only = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--subset=vg") == 0) vg_only = 1;
		else if (strcmp(argv[i], "--list") == 0) list = 1;
		else if (n_only < 64) only[n_only++] = argv[i];
	}
	if (list) {
		for (size_t i = 0; i < N_TESTS; i++) printf("%s%s\n", TESTS[i].name, TESTS[i].vg ? " (vg)" : "");
		return 0;
	}
	if (emu_init_from_env() != 0) {
		fprintf(stderr, "harness: SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY must name a running emulator\n");
		return 2;
	}
	if (getenv("SA_STRESS_ITERS")) g_stress_iters = atoi(getenv("SA_STRESS_ITERS"));
	snprintf(OPTS_BASE, sizeof OPTS_BASE, "{\"baseUrl\":\"%s\"}", EMU.url);

	int passed = 0, failed = 0;
	for (size_t i = 0; i < N_TESTS; i++) {
		int selected = n_only == 0;
		for (int j = 0; j < n_only; j++) selected |= strcmp(only[j], TESTS[i].name) == 0;
		if (!selected || (vg_only && !TESTS[i].vg)) continue;
		atomic_store(&g_check_failures, 0);
		double t0 = now_ms();
		TESTS[i].fn();
		double el = now_ms() - t0;
		/* Leave the emulator as the next test expects it. */
		emu_clear_faults();
		if (atomic_load(&g_check_failures) == 0) {
			passed++;
			printf("ok   %-24s %7.0f ms\n", TESTS[i].name, el);
		} else {
			failed++;
			printf("FAIL %-24s %7.0f ms (%d failed checks)\n", TESTS[i].name, el, atomic_load(&g_check_failures));
		}
	}
	printf("harness: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
