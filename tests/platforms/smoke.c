/*
 * smoke.c — the platform test (make test-platforms): one C program, built for each target
 * with zig cc (or musl-gcc), run here under qemu-user, Wine or musl against the emulator on
 * 127.0.0.1. It covers every strategy kind (access key, static, AuthStrategyFn hook, OIDC
 * federation, device session from a device-code login, AutoStrategy), a host store hook,
 * the memory and file stores, binding a client device, and errors (a bad CRN, a refused access
 * key, a stale handle, a rejected hook). Plain C11 with no POSIX or Win32 calls, so the same
 * file runs on every target; the driver (run.sh) gives it the emulator and an empty directory.
 *
 * Environment: SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY (the emulator's ready line), SA_SMOKE_DIR
 * (an empty directory, in the target's own path syntax: backslashes on Windows),
 * SA_SMOKE_SEP ("\\" on Windows, "/" elsewhere). Prints `ok <check>` / `FAIL <check>` and
 * `N passed, M failed`; exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack_auth.h"

static int passed, failed;

#define CHECK(name, cond)                                                                            \
	do {                                                                                             \
		if (cond) {                                                                                  \
			passed++;                                                                                \
			printf("ok   %s\n", name);                                                           \
		} else {                                                                                     \
			failed++;                                                                                \
			printf("FAIL %s (line %d; last error %s: %s)\n", name, __LINE__, sa_last_error_code(), \
			       sa_last_error_message());                                                    \
		}                                                                                            \
		fflush(stdout);                                                                              \
	} while (0)

static const char *need(const char *name) {
	const char *v = getenv(name);
	if (!v || !*v) {
		fprintf(stderr, "smoke: %s is not set\n", name);
		exit(2);
	}
	return v;
}

/* JSON string body of s (backslashes and quotes escaped: Windows paths). */
static void json_escape(char *dst, size_t cap, const char *s) {
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') dst[n++] = '\\';
		dst[n++] = *s;
	}
	dst[n] = 0;
}

/* The token's value, malloc'd, or NULL. */
static char *value_of(sa_token t) {
	char *v = NULL;
	size_t n = 0;
	if (sa_token_value(t, &v, &n) != SA_OK) return NULL;
	char *copy = malloc(n + 1);
	memcpy(copy, v, n);
	copy[n] = 0;
	sa_free(v);
	return copy;
}

/* A CTS token: three dot-separated segments, no CR or LF anywhere (Windows line endings must
   never reach a bearer token). */
static int looks_like_cts_token(const char *v) {
	if (!v || strchr(v, '\r') || strchr(v, '\n')) return 0;
	int dots = 0;
	for (const char *p = v; *p; p++) dots += *p == '.';
	return dots == 2;
}

/* Gets one token and checks it. */
static int token_ok(sa_strategy s, char **out_value) {
	sa_token t = 0;
	if (sa_get_token(&t, s, 20000) != SA_OK) return 0;
	char *v = value_of(t);
	sa_token_free(t);
	int ok = looks_like_cts_token(v);
	if (out_value)
		*out_value = v;
	else
		free(v);
	return ok;
}

static int file_exists(const char *path) {
	FILE *f = fopen(path, "rb");
	if (!f) return 0;
	fclose(f);
	return 1;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

typedef struct {
	const char *value; /* what the hook resolves with; NULL: reject */
	int calls, destroyed;
} hook_ctx;

static void hook(void *ud, sa_request req) {
	hook_ctx *c = ud;
	c->calls++;
	if (c->value)
		sa_request_resolve(req, c->value, strlen(c->value));
	else
		sa_request_reject(req, "MY_HOOK_ERROR", "the host said no");
}

static void hook_destroy(void *ud) { ((hook_ctx *)ud)->destroyed++; }

typedef struct {
	char saved[8192];
	int loads, saves;
} store_ctx;

static void store_load(void *ud, sa_request req) {
	store_ctx *c = ud;
	c->loads++;
	sa_request_resolve(req, c->saved, strlen(c->saved)); /* empty: a miss */
}

static void store_save(void *ud, sa_request req, const char *json, size_t len) {
	store_ctx *c = ud;
	c->saves++;
	if (len < sizeof c->saved) {
		memcpy(c->saved, json, len);
		c->saved[len] = 0;
	}
	sa_request_resolve(req, NULL, 0);
}

int main(void) {
	const char *url = need("SA_EMU_URL"), *crn = need("SA_EMU_CRN"), *key = need("SA_EMU_KEY");
	const char *dir = need("SA_SMOKE_DIR"), *sep = need("SA_SMOKE_SEP");
	char region[128] = "";
	const char *a = strchr(crn, ':'), *b = strrchr(crn, ':');
	if (a && b && b > a) snprintf(region, sizeof region, "%.*s", (int)(b - a - 1), a + 1);
	char dir_json[1024], base[512], opts[2048];
	json_escape(dir_json, sizeof dir_json, dir);
	snprintf(base, sizeof base, "{\"baseUrl\":\"%s\"}", url);
	int64_t live0 = sa_debug_live_objects();

	CHECK("abi version", sa_abi_version() == SA_ABI_VERSION);
	CHECK("version string", strcmp(sa_version_string(), SA_VERSION_STRING) == 0);
	printf("build: %s\n", sa_build_info());

	/* Access key, with the memory store. */
	sa_store mem = 0;
	CHECK("memory store", sa_store_memory_new(&mem) == SA_OK);
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", url, (unsigned long long)mem);
	sa_strategy s = 0;
	char *v1 = NULL, *v2 = NULL;
	CHECK("access key strategy", sa_access_key_strategy_new(&s, crn, key, opts) == SA_OK);
	CHECK("access key token", token_ok(s, &v1));
	CHECK("access key token cached", token_ok(s, &v2) && v1 && v2 && strcmp(v1, v2) == 0);
	sa_strategy_free(s);
	/* A second strategy over the same store starts from the saved token. */
	CHECK("access key strategy 2", sa_access_key_strategy_new(&s, crn, key, opts) == SA_OK);
	free(v2);
	v2 = NULL;
	CHECK("memory store serves the saved token", token_ok(s, &v2) && v2 && strcmp(v1, v2) == 0);
	free(v2);
	sa_strategy_free(s);
	sa_store_free(mem);
	sa_token t = 0;

	/* The file store, at a path in the platform's syntax. */
	char store_url[1200];
	/* file:///C:/x on Windows (backslashes become slashes), file:///tmp/x elsewhere. */
	char fwd[1024];
	snprintf(fwd, sizeof fwd, "%s%cstore", dir, sep[0]);
	for (char *p = fwd; *p; p++)
		if (*p == '\\') *p = '/';
	snprintf(store_url, sizeof store_url, "file://%s%s", fwd[0] == '/' ? "" : "/", fwd);
	sa_store fst = 0;
	CHECK("file store opens", sa_store_open(&fst, store_url) == SA_OK);
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", url, (unsigned long long)fst);
	CHECK("file store strategy", sa_access_key_strategy_new(&s, crn, key, opts) == SA_OK);
	char *f1 = NULL, *f2 = NULL;
	CHECK("file store token", token_ok(s, &f1));
	sa_strategy_free(s);
	CHECK("file store strategy 2", sa_access_key_strategy_new(&s, crn, key, opts) == SA_OK);
	CHECK("file store serves the saved token", token_ok(s, &f2) && f1 && f2 && strcmp(f1, f2) == 0);
	free(f1), free(f2);
	sa_strategy_free(s);
	sa_store_free(fst);

	/* A host store hook sees the save and serves the load. */
	store_ctx sc = {{0}, 0, 0};
	sa_store hst = 0;
	CHECK("store hook", sa_store_fn_new(&hst, store_load, store_save, &sc, NULL) == SA_OK);
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"store\":%llu}", url, (unsigned long long)hst);
	CHECK("store hook strategy", sa_access_key_strategy_new(&s, crn, key, opts) == SA_OK);
	CHECK("store hook token", token_ok(s, NULL));
	CHECK("store hook save flushed", sa_flush(5000) == SA_OK); /* the save follows the token */
	sa_strategy_free(s);
	sa_store_free(hst);
	CHECK("store hook loaded and saved", sc.loads >= 1 && sc.saves >= 1 && strstr(sc.saved, "token") != NULL);

	/* Static token. */
	CHECK("static strategy", sa_static_token_strategy_new(&s, "a.b.c") == SA_OK);
	char *sv = NULL;
	sa_get_token(&t, s, 1000);
	sv = value_of(t);
	CHECK("static token", sv && strcmp(sv, "a.b.c") == 0);
	free(sv);
	sa_token_free(t);
	sa_strategy_free(s);

	/* AuthStrategyFn: the hook answers; then a hook that rejects. */
	hook_ctx hc = {v1, 0, 0};
	CHECK("fn strategy", sa_strategy_fn_new(&s, hook, &hc, hook_destroy) == SA_OK);
	CHECK("fn strategy token", token_ok(s, NULL) && hc.calls == 1);
	sa_strategy_free(s);
	CHECK("fn strategy destroy ran", hc.destroyed == 1);
	hook_ctx rej = {NULL, 0, 0};
	CHECK("fn strategy (rejecting)", sa_strategy_fn_new(&s, hook, &rej, NULL) == SA_OK);
	CHECK("rejected hook gives SA_E_CALLBACK",
	      sa_get_token(&t, s, 5000) == SA_E_CALLBACK && strcmp(sa_last_error_code(), "MY_HOOK_ERROR") == 0);
	sa_strategy_free(s);

	/* OIDC federation: the provider hook gives a JWT the emulator accepts. */
	hook_ctx oc = {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJwbGF0Zm9ybXMifQ.c2ln", 0, 0};
	CHECK("oidc strategy", sa_oidc_federation_strategy_new(&s, crn, hook, &oc, hook_destroy, base) == SA_OK);
	char *ov = NULL;
	CHECK("oidc token", token_ok(s, &ov) && ov && strcmp(ov, oc.value) != 0 && oc.calls == 1);
	free(ov);
	sa_strategy_free(s);

	/* AutoStrategy with the access key in its options. */
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"accessKey\":\"%s\",\"workspaceCrn\":\"%s\"}", url, key, crn);
	CHECK("auto strategy", sa_auto_strategy_detect(&s, opts) == SA_OK);
	CHECK("auto token", token_ok(s, NULL));
	sa_strategy_free(s);

	/* Device-code login (the emulator approves at once) into the profile directory, then the
	   device session from it: its refresh takes the profile lock (LockFileEx on Windows). */
	char profile[1100], profile_json[1200];
	snprintf(profile, sizeof profile, "%s%cprofile", dir, sep[0]);
	json_escape(profile_json, sizeof profile_json, profile);
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\",\"profileDir\":\"%s\"}", url, profile_json);
	sa_device_flow f = 0;
	CHECK("device code begin", sa_device_code_begin(&f, region, NULL, opts) == SA_OK);
	char *tj = NULL;
	size_t tjn = 0;
	CHECK("device code poll", sa_device_code_poll(f, 20000, &tj, &tjn) == SA_OK && tj && strstr(tj, "workspaceId"));
	sa_free(tj);
	sa_device_flow_free(f);
	char authjson[1300];
	snprintf(authjson, sizeof authjson, "%s%cauth.json", profile, sep[0]);
	int found = file_exists(authjson);
	if (!found) { /* the session may live in a workspace subdirectory */
		snprintf(authjson, sizeof authjson, "%s%cworkspaces%c%s%cauth.json", profile, sep[0], sep[0], b ? b + 1 : "", sep[0]);
		found = file_exists(authjson);
	}
	CHECK("device session saved (auth.json)", found);
	CHECK("device session strategy", sa_device_session_strategy_from_profile(&s, opts) == SA_OK);
	char *d1 = NULL, *d2 = NULL;
	CHECK("device session token", token_ok(s, &d1));
	/* A refresh with the rotating refresh token, under the profile lock. */
	sa_token dt = 0;
	int32_t refreshing = 0;
	if (sa_get_token(&dt, s, 20000) == SA_OK) {
		CHECK("device session invalidate", sa_strategy_invalidate(s, dt, &refreshing) == SA_OK && refreshing == 1);
		sa_token_free(dt);
	}
	CHECK("device session refreshed token", token_ok(s, &d2) && d1 && d2 && strcmp(d1, d2) != 0);
	free(d1), free(d2);
	sa_strategy_free(s);
	/* Binding the client device writes secretkey.json under the same lock. */
	snprintf(opts, sizeof opts, "{\"profileDir\":\"%s\"}", profile_json);
	CHECK("bind client device", sa_bind_client_device(opts) == SA_OK);

	/* Errors. */
	s = 0xABCD;
	CHECK("bad CRN is INVALID_CRN", sa_access_key_strategy_new(&s, "not-a-crn", key, base) == SA_E_AUTH &&
	                                    strcmp(sa_last_error_code(), "INVALID_CRN") == 0 && s == 0xABCD);
	char badkey[600];
	snprintf(badkey, sizeof badkey, "%s", key);
	size_t kl = strlen(badkey);
	badkey[kl - 1] = badkey[kl - 1] == 'A' ? 'B' : 'A'; /* a secret the emulator does not know */
	CHECK("refused key strategy", sa_access_key_strategy_new(&s, crn, badkey, base) == SA_OK);
	sa_status st = sa_get_token(&t, s, 20000);
	CHECK("refused key is SA_E_AUTH", st == SA_E_AUTH && strlen(sa_last_error_code()) > 0);
	CHECK("error message keeps the secret out", strstr(sa_last_error_json(), badkey + kl / 2) == NULL);
	sa_strategy_free(s);
	CHECK("stale handle is SA_E_INVALID_HANDLE", sa_get_token(&t, s, 10) == SA_E_INVALID_HANDLE);

	free(v1);
	CHECK("every handle freed", sa_debug_live_objects() == live0);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
