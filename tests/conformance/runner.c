/*
 * runner.c — the conformance runner for the C ABI (libstack_auth, include/stack_auth.h).
 *
 * Runs every scenario of scenarios.json against ONE emulator, resetting it between
 * scenarios, prints `ok <name>` / `FAIL <name>: <why>` per scenario and `N passed, M failed`,
 * writes one JSON observation per scenario to $SA_CONFORMANCE_OUT (run.sh compares the
 * languages' files) and exits non-zero on any failure.
 *
 * Environment: SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY (required), SA_CONFORMANCE_SCENARIOS
 * (default: tests/conformance/scenarios.json under the working directory),
 * SA_CONFORMANCE_OUT, SA_CONFORMANCE_ONLY (comma-separated names).
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -pthread -I build/out/include runner.c \
 *            -L build/out/lib -lstack_auth -lcjson -Wl,-rpath,...   (run.sh does it)
 * JSON comes from Debian's libcjson-dev; HTTP to the control API is a tiny HTTP/1.1 client
 * over a loopback socket (as tests/c/emu.h).
 *
 * Scenarios marked "hostStringsOnly" (a NUL inside a string, ...) cannot be expressed with C
 * strings: they print `n/a <name>` and are neither passed nor failed.
 *
 * Beyond the shared checks, C also checks that sa_debug_live_objects() is back to its
 * starting value after each scenario (every handle and string freed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "stack_auth.h"

#define LANG "c"
#define SETTLE_SECS 5.0 /* see settle_requests() */
#define MAX_CONCURRENT 1000

static const char *CS_VARS[] = {"CS_CLIENT_ACCESS_KEY", "CS_WORKSPACE_CRN", "CS_CTS_HOST", "CS_CONFIG_PATH",
                                "CS_TOKEN_STORE"};
#define N_CS_VARS (sizeof CS_VARS / sizeof CS_VARS[0])

static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "runner.c: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static double now_secs(void) {
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double mono_secs(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0) {
	}
}

/* ---- a growable string ------------------------------------------------------------------ */

typedef struct {
	char *s;
	size_t n, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n) {
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) die("out of memory");
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

static void buf_printf(buf *b, const char *fmt, ...) {
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0) buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- the emulator's control API --------------------------------------------------------- */

static int EMU_PORT;

/* One request with Connection: close. Returns the HTTP status (or -1); *body_out (may be
   NULL) receives a malloc'd, NUL-terminated response body. */
static int emu_http(const char *method, const char *path, const char *body, char **body_out) {
	if (body_out) *body_out = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) return -1;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)EMU_PORT);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	size_t blen = body ? strlen(body) : 0;
	buf req = {0};
	buf_printf(&req,
	           "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
	           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	           method, path, EMU_PORT, blen);
	if (blen) buf_add(&req, body, blen);
	size_t off = 0;
	while (off < req.n) {
		ssize_t w = write(fd, req.s + off, req.n - off);
		if (w <= 0) {
			free(req.s);
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	free(req.s);
	buf resp = {0};
	char chunk[4096];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r <= 0) break;
		buf_add(&resp, chunk, (size_t)r);
	}
	close(fd);
	if (!resp.s) return -1;
	int status = -1;
	if (sscanf(resp.s, "HTTP/1.%*d %d", &status) != 1) status = -1;
	if (body_out) {
		/* The control API answers with Content-Length; chunked bodies are not expected. */
		char *sep = strstr(resp.s, "\r\n\r\n");
		*body_out = strdup(sep ? sep + 4 : "");
	}
	free(resp.s);
	return status;
}

/* A control call that must succeed; returns the parsed answer (caller deletes; may be NULL
   for an empty body). */
static cJSON *emu_must(const char *method, const char *path, const cJSON *body) {
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	char *out = NULL;
	int status = emu_http(method, path, text, &out);
	free(text);
	if (status / 100 != 2) {
		fprintf(stderr, "runner.c: %s %s: HTTP %d: %s\n", method, path, status, out ? out : "");
		free(out);
		return NULL;
	}
	cJSON *doc = (out && *out) ? cJSON_Parse(out) : NULL;
	free(out);
	return doc ? doc : cJSON_CreateNull();
}

static bool emu_ok(const char *method, const char *path, const cJSON *body) {
	cJSON *doc = emu_must(method, path, body);
	cJSON_Delete(doc);
	return doc != NULL;
}

static cJSON *request_counts(void) {
	cJSON *doc = emu_must("GET", "/_emulator/requests", NULL);
	cJSON *counts = cJSON_CreateObject();
	const cJSON *list = doc ? cJSON_GetObjectItemCaseSensitive(doc, "requests") : NULL;
	const cJSON *r;
	cJSON_ArrayForEach(r, list) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "path"));
		if (!path) continue;
		cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, path);
		if (n)
			cJSON_SetNumberValue(n, n->valuedouble + 1);
		else
			cJSON_AddNumberToObject(counts, path, 1);
	}
	cJSON_Delete(doc);
	return counts;
}

/* ---- placeholders ----------------------------------------------------------------------- */

#define MAX_PH 16
typedef struct {
	const char *name[MAX_PH];
	char *value[MAX_PH];
	int n;
} placeholders;

static void ph_set(placeholders *ph, const char *name, const char *value) {
	for (int i = 0; i < ph->n; i++)
		if (strcmp(ph->name[i], name) == 0) {
			free(ph->value[i]);
			ph->value[i] = strdup(value);
			return;
		}
	if (ph->n == MAX_PH) die("too many placeholders");
	ph->name[ph->n] = name;
	ph->value[ph->n] = strdup(value);
	ph->n++;
}

static const char *ph_get(const placeholders *ph, const char *name) {
	for (int i = 0; i < ph->n; i++)
		if (strcmp(ph->name[i], name) == 0) return ph->value[i];
	return NULL;
}

static void ph_copy(placeholders *dst, const placeholders *src) {
	dst->n = 0;
	for (int i = 0; i < src->n; i++) ph_set(dst, src->name[i], src->value[i]);
}

static void ph_free(placeholders *ph) {
	for (int i = 0; i < ph->n; i++) free(ph->value[i]);
	ph->n = 0;
}

/* Replaces every occurrence of from by to in s (malloc'd result; s is freed). */
static char *replace_all(char *s, const char *from, const char *to) {
	size_t fl = strlen(from);
	if (!fl || !strstr(s, from)) return s;
	buf b = {0};
	const char *p = s, *q;
	while ((q = strstr(p, from)) != NULL) {
		buf_add(&b, p, (size_t)(q - p));
		buf_add(&b, to, strlen(to));
		p = q + fl;
	}
	buf_add(&b, p, strlen(p));
	free(s);
	return b.s;
}

/* Order of placeholders: by name length (substitute) or value length (normalise), longest first. */
static int order[MAX_PH];
static const placeholders *order_ph;
static int by_name_len(const void *a, const void *b) {
	return (int)strlen(order_ph->name[*(const int *)b]) - (int)strlen(order_ph->name[*(const int *)a]);
}
static int by_value_len(const void *a, const void *b) {
	return (int)strlen(order_ph->value[*(const int *)b]) - (int)strlen(order_ph->value[*(const int *)a]);
}

/* $NAME placeholders in an input string (longest name first: $KEY_ID before $KEY). */
static char *substitute_str(const char *s, const placeholders *ph) {
	char *out = strdup(s);
	for (int i = 0; i < ph->n; i++) order[i] = i;
	order_ph = ph;
	qsort(order, (size_t)ph->n, sizeof order[0], by_name_len);
	for (int k = 0; k < ph->n; k++) {
		char pat[64];
		snprintf(pat, sizeof pat, "$%s", ph->name[order[k]]);
		out = replace_all(out, pat, ph->value[order[k]]);
	}
	return out;
}

/* A deep copy of j with every string substituted. */
static cJSON *substitute(const cJSON *j, const placeholders *ph) {
	cJSON *c = cJSON_Duplicate(j, 1);
	if (!c) return cJSON_CreateObject();
	cJSON *stack[64];
	int sp = 0;
	stack[sp++] = c;
	while (sp) {
		cJSON *n = stack[--sp];
		if (cJSON_IsString(n)) {
			char *v = substitute_str(n->valuestring, ph);
			free(n->valuestring);
			n->valuestring = v;
		}
		for (cJSON *ch = n->child; ch; ch = ch->next)
			if (sp < 64) stack[sp++] = ch;
	}
	return c;
}

static char *normalise_str(const char *s, const placeholders *ph) {
	char *out = strdup(s);
	for (int i = 0; i < ph->n; i++) order[i] = i;
	order_ph = ph;
	qsort(order, (size_t)ph->n, sizeof order[0], by_value_len);
	for (int k = 0; k < ph->n; k++) {
		const char *v = ph->value[order[k]];
		if (!*v) continue;
		char pat[64];
		snprintf(pat, sizeof pat, "$%s", ph->name[order[k]]);
		out = replace_all(out, v, pat);
	}
	return out;
}

/* Observed strings back to placeholders, in place. */
static void normalise(cJSON *j, const placeholders *ph) {
	if (cJSON_IsString(j)) {
		char *v = normalise_str(j->valuestring, ph);
		free(j->valuestring);
		j->valuestring = v;
	}
	for (cJSON *ch = j->child; ch; ch = ch->next) normalise(ch, ph);
}

/* 127.0.0.1:<port> -> 127.0.0.1:PORT (ephemeral ports differ between runs). */
static char *mask_ports(char *s) {
	buf b = {0};
	const char *p = s, *q;
	const char *pat = "127.0.0.1:";
	while ((q = strstr(p, pat)) != NULL) {
		buf_add(&b, p, (size_t)(q - p) + strlen(pat));
		p = q + strlen(pat);
		if (*p >= '0' && *p <= '9') {
			while (*p >= '0' && *p <= '9') p++;
			buf_add(&b, "PORT", 4);
		}
	}
	buf_add(&b, p, strlen(p));
	free(s);
	return b.s;
}

/* ---- observations ----------------------------------------------------------------------- */

static const char *status_code_name(sa_status st) {
	switch (st) {
	case SA_E_INVALID_ARG: return "INVALID_ARGUMENT";
	case SA_E_INVALID_HANDLE: return "INVALID_HANDLE";
	case SA_E_TIMEOUT: return "TIMEOUT";
	case SA_E_CANCELLED: return "CANCELLED";
	case SA_E_FORKED: return "FORKED";
	case SA_E_CALLBACK: return "CALLBACK";
	case SA_E_INTERNAL: return "INTERNAL_ERROR";
	case SA_E_WOULD_BLOCK: return "WOULD_BLOCK";
	default: return "UNKNOWN_STATUS";
	}
}

/* A failure, captured on the failing thread right after the call. */
typedef struct {
	char *code;
	char *json; /* sa_last_error_json, or NULL */
	char *message;
} failure;

static void failure_capture(failure *f, sa_status st) {
	const char *code = sa_last_error_code();
	const char *json = sa_last_error_json();
	const char *msg = sa_last_error_message();
	f->code = strdup(code ? code : status_code_name(st));
	f->json = json ? strdup(json) : NULL;
	f->message = strdup(msg ? msg : "");
}

static void failure_free(failure *f) {
	free(f->code);
	free(f->json);
	free(f->message);
	memset(f, 0, sizeof *f);
}

static cJSON *error_obs(const failure *f) {
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "code", f->code);
	cJSON *doc = f->json ? cJSON_Parse(f->json) : NULL;
	const char *help = doc ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "help")) : NULL;
	const char *url = doc ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "url")) : NULL;
	cJSON_AddBoolToObject(e, "help", help && *help);
	if (url)
		cJSON_AddStringToObject(e, "url", url);
	else
		cJSON_AddNullToObject(e, "url");
	cJSON_AddBoolToObject(e, "retryable", doc && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "retryable")));
	cJSON *payload = cJSON_CreateObject();
	const cJSON *kv;
	cJSON_ArrayForEach(kv, doc) {
		const char *k = kv->string;
		if (strcmp(k, "type") && strcmp(k, "message") && strcmp(k, "help") && strcmp(k, "url") && strcmp(k, "retryable"))
			cJSON_AddItemToObject(payload, k, cJSON_Duplicate(kv, 1));
	}
	cJSON_AddItemToObject(e, "payload", payload);
	cJSON_AddStringToObject(e, "message", f->message);
	cJSON_Delete(doc);
	return e;
}

/* A token's claims (from sa_token_json) and its bearer string (for distinct counts and the
   secret checks; never printed). */
typedef struct {
	cJSON *claims;
	char *bearer;
} token_info;

static bool token_read(sa_token t, token_info *ti, char **why) {
	char *json = NULL;
	size_t len = 0;
	sa_status st = sa_token_json(t, &json, &len);
	if (st != SA_OK) {
		*why = strdup("sa_token_json failed");
		return false;
	}
	cJSON *doc = cJSON_Parse(json);
	sa_free(json);
	if (!doc) {
		*why = strdup("sa_token_json: not JSON");
		return false;
	}
	char *val = NULL;
	size_t vlen = 0;
	st = sa_token_value(t, &val, &vlen);
	if (st != SA_OK) {
		cJSON_Delete(doc);
		*why = strdup("sa_token_value failed");
		return false;
	}
	const char *in_json = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "token"));
	if (!in_json || strcmp(in_json, val) != 0) {
		cJSON_Delete(doc);
		sa_free(val);
		*why = strdup("sa_token_value differs from sa_token_json's token");
		return false;
	}
	ti->bearer = strdup(val);
	sa_free(val);
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "token");
	ti->claims = doc;
	return true;
}

static cJSON *token_obs(const token_info *ti, double at) {
	cJSON *t = cJSON_CreateObject();
	const char *keys[] = {"workspaceId", "subject", "issuer"};
	for (size_t i = 0; i < 3; i++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ti->claims, keys[i]));
		cJSON_AddStringToObject(t, keys[i], v ? v : "");
	}
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(ti->claims, "services");
	cJSON_AddItemToObject(t, "services", svc ? cJSON_Duplicate(svc, 1) : cJSON_CreateObject());
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(ti->claims, "expiresAt");
	double e = cJSON_IsNumber(exp) ? exp->valuedouble : 0;
	cJSON_AddNumberToObject(t, "expiresInMin", floor((e - at) / 60 + 0.5));
	return t;
}

/* ---- building strategies ---------------------------------------------------------------- */

static const char *in_str(const cJSON *inputs, const char *k) {
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inputs, k));
}

/* options_json: the given keys of inputs, the store and timeoutMs; NULL when empty. */
static char *options_json(const cJSON *inputs, const cJSON *options, sa_store store, const char *const *keys,
                          size_t nkeys) {
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < nkeys; i++) {
		const char *v = in_str(inputs, keys[i]);
		if (v) cJSON_AddStringToObject(o, keys[i], v);
	}
	if (store) cJSON_AddNumberToObject(o, "store", (double)store);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(options, "timeoutMs");
	if (cJSON_IsNumber(t)) cJSON_AddNumberToObject(o, "timeoutMs", t->valuedouble);
	char *s = o->child ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

static sa_status build(sa_strategy *out, const char *kind, const cJSON *inputs, const cJSON *options, sa_store store) {
	sa_status st;
	char *opts;
	if (strcmp(kind, "access_key") == 0) {
		static const char *const keys[] = {"baseUrl"};
		opts = options_json(inputs, options, store, keys, 1);
		st = sa_access_key_strategy_new(out, in_str(inputs, "workspaceCrn"), in_str(inputs, "accessKey"), opts);
	} else if (strcmp(kind, "auto") == 0) {
		static const char *const keys[] = {"accessKey", "workspaceCrn", "baseUrl", "profileDir"};
		opts = options_json(inputs, options, store, keys, 4);
		st = sa_auto_strategy_detect(out, opts);
	} else if (strcmp(kind, "device_session") == 0) {
		static const char *const keys[] = {"baseUrl", "profileDir"};
		opts = options_json(inputs, options, store, keys, 2);
		st = sa_device_session_strategy_from_profile(out, opts);
	} else if (strcmp(kind, "static") == 0) {
		return sa_static_token_strategy_new(out, in_str(inputs, "token"));
	} else {
		die("unknown strategy %s", kind);
		return SA_E_INTERNAL;
	}
	free(opts);
	return st;
}

/* ---- concurrency ------------------------------------------------------------------------ */

/* One concurrent call: blocking (a thread on sa_get_token) or async (sa_get_token_async). */
typedef struct {
	sa_strategy s;
	pthread_barrier_t *barrier;
	sa_status status;
	sa_token token;
	failure fail;
	/* async completion */
	pthread_mutex_t *mu;
	pthread_cond_t *cv;
	int *done;
} call_slot;

static void *worker(void *p) {
	call_slot *a = p;
	pthread_barrier_wait(a->barrier); /* every thread starts its call at once */
	a->status = sa_get_token(&a->token, a->s, 0);
	if (a->status != SA_OK) failure_capture(&a->fail, a->status);
	return NULL;
}

/* sa_token_done_fn: runs on a library thread; error_json is borrowed for the call. */
static void async_done(void *user_data, sa_status status, sa_token token, const char *error_json) {
	call_slot *a = user_data;
	a->status = status;
	a->token = token;
	if (status != SA_OK) {
		cJSON *doc = error_json ? cJSON_Parse(error_json) : NULL;
		const char *type = doc ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "type")) : NULL;
		const char *msg = doc ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "message")) : NULL;
		a->fail.code = strdup(type ? type : status_code_name(status));
		a->fail.json = error_json ? strdup(error_json) : NULL;
		a->fail.message = strdup(msg ? msg : "");
		cJSON_Delete(doc);
	}
	pthread_mutex_lock(a->mu);
	(*a->done)++;
	pthread_cond_broadcast(a->cv);
	pthread_mutex_unlock(a->mu);
}

/* ---- one scenario ----------------------------------------------------------------------- */

typedef struct {
	placeholders ph;
	const cJSON *defaults;
	cJSON *base_config;
} runner;

static bool reset(runner *r) {
	bool ok = emu_ok("DELETE", "/_emulator/faults", NULL) && emu_ok("DELETE", "/_emulator/requests", NULL);
	const char *ws[] = {ph_get(&r->ph, "WS"), ph_get(&r->ph, "OTHER_WS")};
	for (int i = 0; i < 2; i++) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "workspaceId", ws[i]);
		cJSON_AddStringToObject(b, "code", "");
		ok = ok && emu_ok("POST", "/_emulator/usage-limit", b);
		cJSON_Delete(b);
	}
	return ok && emu_ok("POST", "/_emulator/config", r->base_config);
}

static bool setup(const cJSON *setup, placeholders *ph) {
	bool ok = true;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(setup, "config");
	if (c) ok = ok && emu_ok("POST", "/_emulator/config", c);
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(setup, "usageLimit");
	if (u) {
		cJSON *b = substitute(u, ph);
		ok = ok && emu_ok("POST", "/_emulator/usage-limit", b);
		cJSON_Delete(b);
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(setup, "faults")) ok = ok && emu_ok("POST", "/_emulator/faults", f);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(setup, "mintToken");
	if (m) {
		cJSON *b = substitute(m, ph);
		cJSON *doc = emu_must("POST", "/_emulator/tokens", b);
		cJSON_Delete(b);
		const char *tok = doc ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "accessToken")) : NULL;
		if (tok)
			ph_set(ph, "TOKEN", tok);
		else
			ok = false;
		cJSON_Delete(doc);
	}
	return ok;
}

/* A device-code login with the library; the emulator approves it in between. SA_OK, or the
   failing status with *f captured. */
static sa_status login(const cJSON *login_j, failure *f) {
	cJSON *o = cJSON_CreateObject();
	const char *v;
	if ((v = in_str(login_j, "baseUrl"))) cJSON_AddStringToObject(o, "baseUrl", v);
	if ((v = in_str(login_j, "profileDir"))) cJSON_AddStringToObject(o, "profileDir", v);
	cJSON_AddNumberToObject(o, "timeoutMs", 10000);
	char *opts = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	sa_device_flow flow = 0;
	sa_status st = sa_device_code_begin(&flow, in_str(login_j, "region"), NULL, opts);
	free(opts);
	if (st != SA_OK) {
		failure_capture(f, st);
		return st;
	}
	char *json = NULL;
	size_t len = 0;
	st = sa_device_flow_json(flow, &json, &len);
	if (st != SA_OK) {
		failure_capture(f, st);
		sa_device_flow_free(flow);
		return st;
	}
	cJSON *doc = cJSON_Parse(json);
	sa_free(json);
	cJSON *body = cJSON_CreateObject();
	const char *code = doc ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "userCode")) : NULL;
	cJSON_AddStringToObject(body, "userCode", code ? code : "");
	bool approved = emu_ok("POST", "/_emulator/approve", body);
	cJSON_Delete(body);
	cJSON_Delete(doc);
	if (!approved) {
		sa_device_flow_free(flow);
		f->code = strdup("RUNNER: approve failed");
		f->json = NULL;
		f->message = strdup("");
		return SA_E_INTERNAL;
	}
	st = sa_device_code_poll(flow, 10000, &json, &len);
	if (st == SA_OK)
		sa_free(json);
	else
		failure_capture(f, st);
	sa_device_flow_free(flow);
	return st;
}

/* The emulator logs a request when its handler returns, which for a connection reset or a
   request the client abandoned is after the client saw the failure. So when the log has
   fewer entries than expected, read it again (bounded); more never shrinks. */
static cJSON *settle_requests(const cJSON *expected) {
	double deadline = mono_secs() + SETTLE_SECS;
	for (;;) {
		cJSON *counts = request_counts();
		if (!expected || cJSON_Compare(counts, expected, 1) || mono_secs() > deadline) return counts;
		const cJSON *kv;
		cJSON_ArrayForEach(kv, counts) {
			const cJSON *want = cJSON_GetObjectItemCaseSensitive(expected, kv->string);
			if (kv->valuedouble > (cJSON_IsNumber(want) ? want->valuedouble : 0)) return counts;
		}
		cJSON_Delete(counts);
		sleep_ms(20);
	}
}

static const cJSON *get_opt(const cJSON *sc, const cJSON *defaults, const char *k) {
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sc, k);
	return v ? v : cJSON_GetObjectItemCaseSensitive(defaults, k);
}

static int get_int(const cJSON *sc, const cJSON *defaults, const char *k, int dflt) {
	const cJSON *v = get_opt(sc, defaults, k);
	return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/* Secret-visibility bookkeeping: the surfaces C has are the error message and JSON. */
typedef struct {
	char **s;
	int n, cap;
} strlist;

static void sl_add(strlist *l, const char *s) {
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->s = realloc(l->s, (size_t)l->cap * sizeof *l->s);
	}
	l->s[l->n++] = strdup(s);
}

static void sl_free(strlist *l) {
	for (int i = 0; i < l->n; i++) free(l->s[i]);
	free(l->s);
	memset(l, 0, sizeof *l);
}

static bool sl_has(const strlist *l, const char *s) {
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->s[i], s) == 0) return true;
	return false;
}

typedef struct {
	cJSON *obs;
	strlist tokens;     /* bearer strings seen */
	strlist surf_where; /* where a text was visible */
	strlist surf_text;  /* what was visible there */
	char *first_error_message;
	char *why; /* a runner-level problem */
} scenario_state;

static void note_failure(scenario_state *ss, const char *where, const failure *f) {
	char w[128];
	snprintf(w, sizeof w, "%s sa_last_error_message", where);
	sl_add(&ss->surf_where, w);
	sl_add(&ss->surf_text, f->message);
	snprintf(w, sizeof w, "%s sa_last_error_json", where);
	sl_add(&ss->surf_where, w);
	sl_add(&ss->surf_text, f->json ? f->json : "");
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ss->obs, "error"))) {
		cJSON_ReplaceItemInObjectCaseSensitive(ss->obs, "error", error_obs(f));
		ss->first_error_message = strdup(f->message);
	}
}

static void note_token(scenario_state *ss, sa_token t, double at) {
	token_info ti = {0};
	char *why = NULL;
	if (!token_read(t, &ti, &why)) {
		if (!ss->why)
			ss->why = why;
		else
			free(why);
		return;
	}
	if (!sl_has(&ss->tokens, ti.bearer)) sl_add(&ss->tokens, ti.bearer);
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ss->obs, "token")))
		cJSON_ReplaceItemInObjectCaseSensitive(ss->obs, "token", token_obs(&ti, at));
	cJSON_Delete(ti.claims);
	free(ti.bearer);
}

static void count_outcome(cJSON *counts, const char *k) {
	cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, k);
	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + 1);
	else
		cJSON_AddNumberToObject(counts, k, 1);
}

/* n first calls at once on s: threads on sa_get_token behind a barrier, or (async)
   sa_get_token_async with completions counted under a mutex. */
static cJSON *concurrent_calls(scenario_state *ss, sa_strategy s, int n, bool async) {
	call_slot *slots = calloc((size_t)n, sizeof *slots);
	cJSON *counts = cJSON_CreateObject();
	if (async) {
		pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
		pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
		int done = 0, started = 0;
		for (int i = 0; i < n; i++) {
			slots[i].mu = &mu;
			slots[i].cv = &cv;
			slots[i].done = &done;
			sa_status st = sa_get_token_async(s, async_done, &slots[i]);
			if (st != SA_OK) { /* could not start: done is never called */
				slots[i].status = st;
				failure_capture(&slots[i].fail, st);
			} else {
				started++;
			}
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 60;
		pthread_mutex_lock(&mu);
		while (done < started)
			if (pthread_cond_timedwait(&cv, &mu, &until) != 0) break;
		int finished = done;
		pthread_mutex_unlock(&mu);
		if (finished < started) die("sa_get_token_async: %d of %d completions never came", started - finished, started);
	} else {
		pthread_barrier_t barrier;
		pthread_barrier_init(&barrier, NULL, (unsigned)n);
		pthread_t *th = calloc((size_t)n, sizeof *th);
		for (int i = 0; i < n; i++) {
			slots[i].s = s;
			slots[i].barrier = &barrier;
			if (pthread_create(&th[i], NULL, worker, &slots[i]) != 0) die("pthread_create failed");
		}
		for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
		pthread_barrier_destroy(&barrier);
		free(th);
	}
	double at = now_secs();
	for (int i = 0; i < n; i++) {
		if (slots[i].status == SA_OK) {
			count_outcome(counts, "ok");
			note_token(ss, slots[i].token, at);
			sa_token_free(slots[i].token);
		} else {
			count_outcome(counts, slots[i].fail.code);
			note_failure(ss, "concurrent", &slots[i].fail);
			failure_free(&slots[i].fail);
		}
	}
	free(slots);
	return counts;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

#define MAX_STRATEGIES 8
#define MAX_CALLS 64

/* Runs one scenario; returns its observation (normalised) and sets *why on a runner problem. */
static cJSON *run_scenario(runner *r, const cJSON *sc, char **why) {
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sc, "name"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sc, "strategy"));
	placeholders ph = {0};
	ph_copy(&ph, &r->ph);
	char empty_dir[] = "/tmp/sa-conformance-XXXXXX";
	if (!mkdtemp(empty_dir)) die("mkdtemp failed");
	ph_set(&ph, "EMPTY_DIR", empty_dir);

	scenario_state ss = {0};
	ss.obs = cJSON_CreateObject();
	cJSON_AddStringToObject(ss.obs, "lang", LANG);
	cJSON_AddStringToObject(ss.obs, "name", name);
	cJSON_AddNullToObject(ss.obs, "login");
	cJSON_AddNullToObject(ss.obs, "create");
	cJSON_AddNullToObject(ss.obs, "concurrent");
	cJSON *calls_obs = cJSON_AddArrayToObject(ss.obs, "calls");
	const cJSON *inval = cJSON_GetObjectItemCaseSensitive(sc, "invalidate");
	cJSON *invalidated = inval ? cJSON_AddArrayToObject(ss.obs, "invalidated") : NULL;
	if (!inval) cJSON_AddNullToObject(ss.obs, "invalidated");
	cJSON_AddNullToObject(ss.obs, "token");
	cJSON_AddNullToObject(ss.obs, "error");
	cJSON_AddNumberToObject(ss.obs, "distinctTokens", 0);
	cJSON_AddObjectToObject(ss.obs, "requests");
	cJSON *leaks = cJSON_AddArrayToObject(ss.obs, "leaks");

	int64_t live_before = sa_debug_live_objects();
	if (!reset(r)) ss.why = strdup("resetting the emulator failed");
	const cJSON *setup_j = cJSON_GetObjectItemCaseSensitive(sc, "setup");
	if (!ss.why && setup_j && !setup(setup_j, &ph)) ss.why = strdup("the scenario's emulator setup failed");
	const cJSON *in_j = cJSON_GetObjectItemCaseSensitive(sc, "inputs");
	cJSON *inputs = in_j ? substitute(in_j, &ph) : cJSON_CreateObject();
	const cJSON *options = cJSON_GetObjectItemCaseSensitive(sc, "options");
	const cJSON *env_j = cJSON_GetObjectItemCaseSensitive(sc, "env");
	cJSON *env = env_j ? substitute(env_j, &ph) : cJSON_CreateObject();
	int calls = get_int(sc, r->defaults, "calls", 1);
	int concurrent = get_int(sc, r->defaults, "concurrent", 0);
	const char *capi = cJSON_GetStringValue(get_opt(sc, r->defaults, "concurrentApi"));
	bool async = capi && strcmp(capi, "async") == 0;
	int n_strategies = get_int(sc, r->defaults, "strategies", 1);
	int call_timeout = get_int(sc, r->defaults, "callTimeoutMs", 0);
	int wait_before = get_int(sc, r->defaults, "waitBeforeMs", 0);
	int wait_ms = get_int(sc, r->defaults, "waitBetweenMs", 0);
	if (concurrent > MAX_CONCURRENT) die("concurrent > %d", MAX_CONCURRENT);
	if (n_strategies > MAX_STRATEGIES || n_strategies < 1) die("strategies must be 1..%d", MAX_STRATEGIES);
	if (n_strategies * calls > MAX_CALLS) die("more than %d calls", MAX_CALLS);

	for (size_t i = 0; i < N_CS_VARS; i++) unsetenv(CS_VARS[i]);
	const cJSON *kv;
	cJSON_ArrayForEach(kv, env) setenv(kv->string, cJSON_GetStringValue(kv), 1); /* after load */

	const cJSON *login_j = cJSON_GetObjectItemCaseSensitive(sc, "login");
	if (!ss.why && login_j) {
		cJSON *lj = substitute(login_j, &ph);
		failure f = {0};
		sa_status st = login(lj, &f);
		cJSON_ReplaceItemInObjectCaseSensitive(ss.obs, "login", cJSON_CreateString(st == SA_OK ? "ok" : f.code));
		if (st != SA_OK) {
			note_failure(&ss, "login", &f);
			failure_free(&f);
		}
		cJSON_Delete(lj);
	}
	sa_store store = 0;
	const char *store_j = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sc, "store"));
	if (!ss.why && store_j) {
		char *url = substitute_str(store_j, &ph);
		sa_status st = strcmp(url, "memory") == 0 ? sa_store_memory_new(&store) : sa_store_open(&store, url);
		if (st != SA_OK) ss.why = strdup("the scenario's store could not be opened");
		free(url);
	}

	sa_strategy strategies[MAX_STRATEGIES] = {0};
	int built = 0;
	if (!ss.why) {
		for (; built < n_strategies; built++) {
			sa_status st = build(&strategies[built], kind, inputs, options, store);
			if (st != SA_OK) {
				failure f;
				failure_capture(&f, st);
				cJSON_ReplaceItemInObjectCaseSensitive(ss.obs, "create", cJSON_CreateString(f.code));
				note_failure(&ss, "create", &f);
				failure_free(&f);
				break;
			}
		}
		if (built == n_strategies) cJSON_ReplaceItemInObjectCaseSensitive(ss.obs, "create", cJSON_CreateString("ok"));
	}
	sa_store_free(store); /* the strategies keep their own reference */
	if (built == n_strategies && !ss.why) {
		if (concurrent > 0)
			cJSON_ReplaceItemInObjectCaseSensitive(ss.obs, "concurrent",
			                                       concurrent_calls(&ss, strategies[0], concurrent, async));
		if (wait_before) sleep_ms(wait_before); /* real time for a token to expire */
		sa_token results[MAX_CALLS] = {0};
		int n_results = 0;
		for (int k = 0; k < n_strategies; k++) {
			for (int i = 0; i < calls; i++) {
				if (i && wait_ms) sleep_ms(wait_ms); /* real time for a token to expire */
				sa_token t = 0;
				sa_status st = sa_get_token(&t, strategies[k], call_timeout);
				if (st == SA_OK) {
					cJSON_AddItemToArray(calls_obs, cJSON_CreateString("ok"));
					note_token(&ss, t, now_secs());
				} else {
					failure f;
					failure_capture(&f, st);
					cJSON_AddItemToArray(calls_obs, cJSON_CreateString(f.code));
					note_failure(&ss, "call", &f);
					failure_free(&f);
				}
				results[n_results++] = t; /* kept for invalidate; freed below */
				const cJSON *inv;
				cJSON_ArrayForEach(inv, inval) {
					const cJSON *after = cJSON_GetObjectItemCaseSensitive(inv, "afterCall");
					const cJSON *of = cJSON_GetObjectItemCaseSensitive(inv, "tokenOfCall");
					if (!cJSON_IsNumber(after) || after->valueint != n_results - 1 || !cJSON_IsNumber(of) ||
					    of->valueint < 0 || of->valueint >= n_results)
						continue;
					int32_t refreshing = -1;
					sa_status ist = sa_strategy_invalidate(strategies[k], results[of->valueint], &refreshing);
					if (ist == SA_OK)
						cJSON_AddItemToArray(invalidated, cJSON_CreateBool(refreshing == 1));
					else
						cJSON_AddItemToArray(invalidated, cJSON_CreateString(status_code_name(ist)));
				}
			}
		}
		for (int i = 0; i < n_results; i++) sa_token_free(results[i]);
	}
	for (int k = 0; k < built; k++) sa_strategy_free(strategies[k]);
	for (size_t i = 0; i < N_CS_VARS; i++) unsetenv(CS_VARS[i]);
	if (nftw(empty_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fprintf(stderr, "runner.c: could not remove %s\n", empty_dir);

	cJSON_ReplaceItemInObjectCaseSensitive(ss.obs, "distinctTokens", cJSON_CreateNumber(ss.tokens.n));
	/* Secrets: both keys' secret parts, the minted token and every bearer string seen. */
	strlist secrets = {0};
	const char *keys[] = {ph_get(&ph, "KEY"), ph_get(&ph, "OTHER_KEY"), ph_get(&ph, "TOKEN")};
	for (int i = 0; i < 3; i++) {
		if (!keys[i]) continue;
		const char *dot = strchr(keys[i], '.');
		sl_add(&secrets, dot && i < 2 ? dot + 1 : keys[i]);
	}
	for (int i = 0; i < ss.tokens.n; i++) sl_add(&secrets, ss.tokens.s[i]);
	for (int i = 0; i < ss.surf_text.n; i++)
		for (int k = 0; k < secrets.n; k++)
			if (*secrets.s[k] && strstr(ss.surf_text.s[i], secrets.s[k])) {
				cJSON_AddItemToArray(leaks, cJSON_CreateString(ss.surf_where.s[i]));
				break;
			}
	sl_free(&secrets);

	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(sc, "expect");
	cJSON_ReplaceItemInObjectCaseSensitive(ss.obs, "requests",
	                                       settle_requests(cJSON_GetObjectItemCaseSensitive(expect, "requests")));
	normalise(ss.obs, &ph);
	if (ss.first_error_message) {
		char *m = mask_ports(normalise_str(ss.first_error_message, &ph));
		cJSON *err = cJSON_GetObjectItemCaseSensitive(ss.obs, "error");
		cJSON_ReplaceItemInObjectCaseSensitive(err, "message", cJSON_CreateString(m));
		free(m);
	}
	/* C only: every handle and library string of the scenario was freed. */
	int64_t live_after = sa_debug_live_objects();
	if (!ss.why && live_after != live_before) {
		char w[128];
		snprintf(w, sizeof w, "sa_debug_live_objects: %lld before, %lld after", (long long)live_before,
		         (long long)live_after);
		ss.why = strdup(w);
	}

	*why = ss.why;
	free(ss.first_error_message);
	sl_free(&ss.tokens);
	sl_free(&ss.surf_where);
	sl_free(&ss.surf_text);
	cJSON_Delete(inputs);
	cJSON_Delete(env);
	ph_free(&ph);
	return ss.obs;
}

/* Every key of expect must equal the observation's; "token" and "error" are compared key by
   key (a subset); leaks must always be empty. Appends the reasons to why. */
static void check(const cJSON *expect, const cJSON *obs, buf *why) {
	const cJSON *want;
	cJSON_ArrayForEach(want, expect) {
		const char *k = want->string;
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(obs, k);
		if ((!strcmp(k, "token") || !strcmp(k, "error")) && cJSON_IsObject(want) && cJSON_IsObject(got)) {
			const cJSON *w;
			cJSON_ArrayForEach(w, want) {
				const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);
				if (!g || !cJSON_Compare(w, g, 1)) {
					char *ws = cJSON_PrintUnformatted(w), *gs = g ? cJSON_PrintUnformatted(g) : strdup("(absent)");
					buf_printf(why, "%s%s.%s: want %s, got %s", why->n ? "; " : "", k, w->string, ws, gs);
					free(ws);
					free(gs);
				}
			}
		} else if (!got || !cJSON_Compare(want, got, 1)) {
			char *ws = cJSON_PrintUnformatted(want), *gs = got ? cJSON_PrintUnformatted(got) : strdup("(absent)");
			buf_printf(why, "%s%s: want %s, got %s", why->n ? "; " : "", k, ws, gs);
			free(ws);
			free(gs);
		}
	}
	const cJSON *leaks = cJSON_GetObjectItemCaseSensitive(obs, "leaks");
	if (cJSON_GetArraySize(leaks) > 0) {
		char *ls = cJSON_PrintUnformatted(leaks);
		buf_printf(why, "%ssecret visible in: %s", why->n ? "; " : "", ls);
		free(ls);
	}
}

/* cJSON keeps insertion order: write observations with sorted keys (like the other runners). */
static cJSON *sorted(const cJSON *j) {
	if (cJSON_IsObject(j)) {
		int n = cJSON_GetArraySize(j);
		const cJSON **items = calloc((size_t)n + 1, sizeof *items);
		int i = 0;
		const cJSON *c;
		cJSON_ArrayForEach(c, j) items[i++] = c;
		for (int a = 1; a < n; a++)
			for (int b = a; b > 0 && strcmp(items[b - 1]->string, items[b]->string) > 0; b--) {
				const cJSON *t = items[b];
				items[b] = items[b - 1];
				items[b - 1] = t;
			}
		cJSON *o = cJSON_CreateObject();
		for (i = 0; i < n; i++) cJSON_AddItemToObject(o, items[i]->string, sorted(items[i]));
		free(items);
		return o;
	}
	if (cJSON_IsArray(j)) {
		cJSON *a = cJSON_CreateArray();
		const cJSON *c;
		cJSON_ArrayForEach(c, j) cJSON_AddItemToArray(a, sorted(c));
		return a;
	}
	return cJSON_Duplicate(j, 1);
}

static char *read_file(const char *path) {
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, n);
	fclose(f);
	return b.s;
}

static bool selected(const char *only, const char *name) {
	if (!only || !*only) return true;
	size_t nl = strlen(name);
	for (const char *p = only; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == nl && strncmp(p, name, l) == 0) return true;
		if (!e) break;
		p = e + 1;
	}
	return false;
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *url = getenv("SA_EMU_URL"), *crn = getenv("SA_EMU_CRN"), *key = getenv("SA_EMU_KEY");
	if (!url || !crn || !key || !*url || !*crn || !*key) {
		fprintf(stderr, "runner.c: set SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY\n");
		return 2;
	}
	/* Load check first: every CS_* variable below is set after the library was loaded. */
	if (sa_abi_version() != SA_ABI_VERSION) die("ABI %u, built for %d", sa_abi_version(), SA_ABI_VERSION);
	fprintf(stderr, "# %s: %s\n", LANG, sa_build_info());
	const char *p = strstr(url, "127.0.0.1:");
	if (!p) die("SA_EMU_URL must be http://127.0.0.1:PORT/");
	EMU_PORT = atoi(p + strlen("127.0.0.1:"));

	const char *spath = getenv("SA_CONFORMANCE_SCENARIOS");
	if (!spath || !*spath) spath = "tests/conformance/scenarios.json";
	char *text = read_file(spath);
	if (!text) die("cannot read %s", spath);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	if (!doc) die("%s: not JSON", spath);
	const char *only = getenv("SA_CONFORMANCE_ONLY");
	const char *out_path = getenv("SA_CONFORMANCE_OUT");

	runner r = {0};
	cJSON *state = emu_must("GET", "/_emulator/state", NULL);
	cJSON *empty = cJSON_CreateObject();
	cJSON *other = emu_must("POST", "/_emulator/workspaces", empty);
	cJSON_Delete(empty);
	r.base_config = emu_must("GET", "/_emulator/config", NULL);
	if (!state || !other || !r.base_config) die("the emulator's control API does not answer");
	const char *zk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(state, "zerokmsUrl"));
	const char *ocrn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(other, "workspaceCrn"));
	const char *ows = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(other, "workspaceId"));
	const char *okey = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(other, "accessKey"));
	if (!zk || !ocrn || !ows || !okey) die("unexpected answers from /_emulator/state or /_emulator/workspaces");
	char tmp[512];
	ph_set(&r.ph, "URL", url);
	ph_set(&r.ph, "ZEROKMS_URL", zk);
	ph_set(&r.ph, "CRN", crn);
	ph_set(&r.ph, "WS", strrchr(crn, ':') ? strrchr(crn, ':') + 1 : crn);
	ph_set(&r.ph, "KEY", key);
	snprintf(tmp, sizeof tmp, "%.*s", (int)(strchr(key, '.') ? (size_t)(strchr(key, '.') - key) : strlen(key)), key);
	ph_set(&r.ph, "KEY_ID", tmp);
	ph_set(&r.ph, "OTHER_CRN", ocrn);
	ph_set(&r.ph, "OTHER_WS", ows);
	ph_set(&r.ph, "OTHER_KEY", okey);
	snprintf(tmp, sizeof tmp, "%.*s", (int)(strchr(okey, '.') ? (size_t)(strchr(okey, '.') - okey) : strlen(okey)),
	         okey);
	ph_set(&r.ph, "OTHER_KEY_ID", tmp);
	const char *c1 = strchr(crn, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	snprintf(tmp, sizeof tmp, "%.*s", c2 ? (int)(c2 - c1 - 1) : 0, c2 ? c1 + 1 : "");
	ph_set(&r.ph, "REGION", tmp);
	cJSON_Delete(state);
	cJSON_Delete(other);
	r.defaults = cJSON_GetObjectItemCaseSensitive(doc, "defaults");

	FILE *out = (out_path && *out_path) ? fopen(out_path, "w") : NULL;
	if (out_path && *out_path && !out) die("cannot write %s", out_path);
	int passed = 0, failed = 0;
	const cJSON *sc;
	cJSON_ArrayForEach(sc, cJSON_GetObjectItemCaseSensitive(doc, "scenarios")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sc, "name"));
		if (!name || !selected(only, name)) continue;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sc, "hostStringsOnly"))) {
			/* About host strings (a NUL inside one, ...): C strings cannot express them. */
			const char *na = "a C string cannot hold what this scenario passes";
			printf("n/a %s: %s\n", name, na);
			if (out) fprintf(out, "{\"lang\":\"%s\",\"name\":\"%s\",\"notApplicable\":\"%s\"}\n", LANG, name, na);
			continue;
		}
		char *problem = NULL;
		cJSON *obs = run_scenario(&r, sc, &problem);
		buf why = {0};
		if (problem) {
			buf_printf(&why, "%s", problem);
			cJSON_AddStringToObject(obs, "crashed", problem);
			free(problem);
		}
		check(cJSON_GetObjectItemCaseSensitive(sc, "expect"), obs, &why);
		if (out) {
			cJSON *so = sorted(obs);
			char *line = cJSON_PrintUnformatted(so);
			fprintf(out, "%s\n", line);
			fflush(out);
			free(line);
			cJSON_Delete(so);
		}
		if (why.n) {
			failed++;
			printf("FAIL %s: %s\n", name, why.s);
		} else {
			passed++;
			printf("ok %s\n", name);
		}
		free(why.s);
		cJSON_Delete(obs);
	}
	if (out) fclose(out);
	reset(&r);
	printf("%d passed, %d failed\n", passed, failed);
	ph_free(&r.ph);
	cJSON_Delete(r.base_config);
	cJSON_Delete(doc);
	return failed ? 1 : 0;
}
