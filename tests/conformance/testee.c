/* testee.c — conformance testee for the C ABI: performs conformance.py's JSON requests (one a
   line on stdin) with libstack_auth and answers one JSON line each on stdout. No checks here.
   JSON via cJSON (Debian libcjson-dev). run.sh builds it. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stack_auth.h"

static sa_strategy strategies[512];
static sa_token tokens[512];
static int n_strategies, n_tokens;
static sa_store store;
static sa_device_flow flow;

static const char *str(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }
static int num(const cJSON *o, const char *k) { const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, k); return cJSON_IsNumber(n) ? n->valueint : 0; }

/* {"error": {code, json, message, strings}}: the error JSON is decoded by the orchestrator. */
static cJSON *error_of(const char *code, const char *json, const char *message) {
	cJSON *r = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(r, "error");
	const char *strings[][2] = {{"sa_last_error_message", message ? message : ""}, {"sa_last_error_json", json ? json : ""}};
	cJSON *s = cJSON_AddArrayToObject(e, "strings");
	for (int i = 0; i < 2; i++) cJSON_AddItemToArray(s, cJSON_CreateStringArray(strings[i], 2));
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", strings[0][1]);
	cJSON_AddItemToObject(e, "json", json ? cJSON_CreateString(json) : cJSON_CreateNull());
	return r;
}

/* The failure of the last call on this thread (every failure sets its code). */
static cJSON *last_error(void) {
	const char *code = sa_last_error_code();
	return error_of(code ? code : "NO_ERROR_CODE", sa_last_error_json(), sa_last_error_message());
}

/* {"token": {json (sa_token_json), value (sa_token_value), ref}}; the handle is kept for "close". */
static cJSON *token_of(sa_token t) {
	char *json = NULL, *val = NULL;
	size_t len = 0;
	if (sa_token_json(t, &json, &len) != SA_OK || sa_token_value(t, &val, &len) != SA_OK) return last_error();
	cJSON *r = cJSON_CreateObject(), *tok = cJSON_AddObjectToObject(r, "token");
	cJSON_AddStringToObject(tok, "json", json);
	cJSON_AddStringToObject(tok, "value", val);
	cJSON_AddNumberToObject(tok, "ref", n_tokens);
	tokens[n_tokens++] = t;
	sa_free(json);
	sa_free(val);
	return r;
}

/* options_json: the request's options and the store; NULL when empty. */
static sa_status build(sa_strategy *out, const cJSON *req) {
	const char *kind = str(req, "strategy");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(req, "args");
	cJSON *o = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(req, "options"), 1);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "store"))) cJSON_AddNumberToObject(o, "store", (double)store);
	char *opts = o->child ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	sa_status st = strcmp(kind, "static") == 0 ? sa_static_token_strategy_new(out, str(args, "token"))
	               : strcmp(kind, "access_key") == 0 ? sa_access_key_strategy_new(out, str(args, "workspaceCrn"), str(args, "accessKey"), opts)
	               : strcmp(kind, "auto") == 0 ? sa_auto_strategy_detect(out, opts)
	                                           : sa_device_session_strategy_from_profile(out, opts);
	free(opts);
	return st;
}

/* One concurrent call: a thread on sa_get_token behind a barrier, or sa_get_token_async. */
typedef struct {
	sa_strategy s;
	pthread_barrier_t *barrier;
	sa_status status;
	sa_token token;
	cJSON *error;
	sem_t *done;
} slot;

static void *worker(void *p) {
	slot *a = p;
	pthread_barrier_wait(a->barrier); /* every thread starts its call at once */
	if ((a->status = sa_get_token(&a->token, a->s, 0)) != SA_OK) a->error = last_error();
	return NULL;
}

static void async_done(void *user_data, sa_status status, sa_token token, const char *error_json) {
	slot *a = user_data;
	a->status = status;
	a->token = token;
	if (status != SA_OK) {
		cJSON *doc = cJSON_Parse(error_json ? error_json : "null");
		a->error = error_of(str(doc, "type") ? str(doc, "type") : "NO_ERROR_TYPE", error_json, str(doc, "message"));
		cJSON_Delete(doc);
	}
	sem_post(a->done);
}

static cJSON *concurrent(sa_strategy s, int n, int async) {
	slot *slots = calloc((size_t)n, sizeof *slots);
	pthread_t *th = calloc((size_t)n, sizeof *th);
	pthread_barrier_t barrier;
	sem_t done;
	int started = 0;
	pthread_barrier_init(&barrier, NULL, (unsigned)n);
	sem_init(&done, 0, 0);
	for (int i = 0; i < n; i++) {
		slots[i] = (slot){.s = s, .barrier = &barrier, .done = &done};
		if (!async) pthread_create(&th[i], NULL, worker, &slots[i]);
		else if ((slots[i].status = sa_get_token_async(s, async_done, &slots[i])) == SA_OK) started++;
		else slots[i].error = last_error(); /* could not start: done is never called */
	}
	while (started) started -= sem_wait(&done) == 0; /* sem_wait may end early (EINTR); a hang times out */
	for (int i = 0; !async && i < n; i++) pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	sem_destroy(&done);
	cJSON *r = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(r, "results");
	for (int i = 0; i < n; i++) cJSON_AddItemToArray(results, slots[i].status == SA_OK ? token_of(slots[i].token) : slots[i].error);
	free(slots);
	free(th);
	return r;
}

/* r on SA_OK, else the failure (r is freed). */
static cJSON *or_error(sa_status st, cJSON *r) {
	if (st != SA_OK) cJSON_Delete(r), r = last_error();
	return r;
}

static cJSON *handle(const cJSON *req) {
	const char *op = str(req, "op");
	cJSON *r = cJSON_CreateObject(), *item;
	char *s = NULL;
	size_t len = 0;
	sa_status st;
	if (strcmp(op, "hello") == 0) {
		cJSON_AddBoolToObject(r, "hostStrings", 0); /* C strings end at the first NUL */
	} else if (strcmp(op, "live") == 0) {
		cJSON_AddNumberToObject(r, "live", (double)sa_debug_live_objects());
	} else if (strcmp(op, "env") == 0 || strcmp(op, "close") == 0) {
		if (strcmp(op, "close") == 0) {
			while (n_strategies) sa_strategy_free(strategies[--n_strategies]);
			while (n_tokens) sa_token_free(tokens[--n_tokens]);
			sa_store_free(store);
			sa_device_flow_free(flow);
			store = 0, flow = 0;
		}
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(req, "unset")) unsetenv(item->valuestring);
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(req, "set")) setenv(item->string, item->valuestring, 1);
	} else if (strcmp(op, "login_begin") == 0) {
		char *opts = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(req, "options"));
		st = sa_device_code_begin(&flow, str(req, "region"), NULL, opts);
		free(opts);
		if (st == SA_OK && (st = sa_device_flow_json(flow, &s, &len)) == SA_OK) {
			cJSON *doc = cJSON_Parse(s);
			cJSON_AddStringToObject(r, "userCode", str(doc, "userCode"));
			cJSON_Delete(doc);
			sa_free(s);
		}
		return or_error(st, r);
	} else if (strcmp(op, "login_poll") == 0) {
		if ((st = sa_device_code_poll(flow, num(req, "timeoutMs"), &s, &len)) == SA_OK) sa_free(s);
		cJSON_AddTrueToObject(r, "ok");
		return or_error(st, r);
	} else if (strcmp(op, "store") == 0) {
		return or_error(strcmp(str(req, "url"), "memory") == 0 ? sa_store_memory_new(&store) : sa_store_open(&store, str(req, "url")), r);
	} else if (strcmp(op, "create") == 0) {
		if ((st = build(&strategies[n_strategies], req)) == SA_OK) cJSON_AddNumberToObject(r, "id", n_strategies++);
		return or_error(st, r);
	} else if (strcmp(op, "get_token") == 0) {
		sa_token t = 0;
		cJSON_Delete(r);
		return sa_get_token(&t, strategies[num(req, "id")], num(req, "timeoutMs")) == SA_OK ? token_of(t) : last_error();
	} else if (strcmp(op, "concurrent") == 0) {
		cJSON_Delete(r);
		return concurrent(strategies[num(req, "id")], num(req, "n"), strcmp(str(req, "api"), "async") == 0);
	} else if (strcmp(op, "invalidate") == 0) {
		int32_t refreshing = -1;
		st = sa_strategy_invalidate(strategies[num(req, "id")], tokens[num(req, "ref")], &refreshing);
		cJSON_AddBoolToObject(r, "value", refreshing == 1);
		return or_error(st, r);
	}
	return r;
}

int main(void) {
	char *line = NULL, *out;
	size_t cap = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (getline(&line, &cap, stdin) > 0) {
		cJSON *req = cJSON_Parse(line), *r = handle(req);
		puts(out = cJSON_PrintUnformatted(r));
		free(out);
		cJSON_Delete(r);
		cJSON_Delete(req);
	}
	free(line);
	return 0;
}
