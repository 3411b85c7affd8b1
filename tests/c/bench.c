/*
 * bench.c — figures for libstack_auth, printed, never asserted (tests/c/bench.sh runs it).
 *
 *   bench --load LIB    one cold start in this fresh process: ms from dlopen to the first
 *                       sa_version_number, and to the first token of a static strategy
 *   bench --load-ak LIB one cold start: ms from dlopen to the first access-key token from the
 *                       emulator (one POST /api/authorise)
 *   bench LIB           against the emulator (SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY):
 *                       cached sa_get_token + sa_token_value (+ sa_free + sa_token_free) and
 *                       sa_get_token_value + sa_free ns/op, single-threaded and with 2
 *                       threads; one AuthStrategyFn round trip (a hook that resolves at once);
 *                       10,000 sa_get_token_async callers on an expired token while
 *                       /api/authorise is delayed 200 ms: wall time, upstream requests
 *
 * With SA_BENCH_JSONL=FILE each figure is also appended to FILE as one JSON object a line
 * ({"metric","name","value","unit",...}); tests/c/bench.sh turns them into build/out/bench/c.json.
 *
 * The library is dlopen'ed (not linked) so the load is measured the way bindings load it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack_auth.h"
/* The emulator's control API (shared with the harness; not every helper is used here). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "emu.h"
#pragma GCC diagnostic pop

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The functions used, resolved with dlsym; types come from the public header. sa_version_number
   comes first, alone (bench_load times it); SA_REST lists the others. */
#define SA_REST(X)                                                                           \
	X(static_token_strategy_new) X(access_key_strategy_new) X(strategy_fn_new)                \
	X(get_token) X(get_token_value) X(get_token_async) X(request_resolve) X(last_error_message) \
	X(token_value) X(token_json) X(token_free) X(free) X(strategy_free)
#define SA_FIELD(fn) __typeof__(&sa_##fn) fn;
static struct {
	__typeof__(&sa_version_number) version_number;
	SA_REST(SA_FIELD)
} sa;

static void *need(void *lib, const char *name) {
	void *p = dlsym(lib, name);
	if (!p) {
		fprintf(stderr, "bench: dlsym %s: %s\n", name, dlerror());
		exit(2);
	}
	return p;
}

static void resolve_rest(void *lib) {
#define SA_RESOLVE(fn) sa.fn = need(lib, "sa_" #fn);
	SA_REST(SA_RESOLVE)
}

/* dlopen, or NULL after saying why. */
static void *open_lib(const char *path) {
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) fprintf(stderr, "bench: dlopen: %s\n", dlerror());
	return lib;
}

/* One figure as a JSON line for the report (when SA_BENCH_JSONL names a file). extra is
   either "" or ,"key":value pairs. */
static void jsonl(const char *metric, const char *name, double value, const char *unit, int headline,
                  const char *extra) {
	const char *path = getenv("SA_BENCH_JSONL");
	if (!path || !*path) return;
	FILE *f = fopen(path, "a");
	if (!f) return;
	fprintf(f, "{\"metric\":\"%s\",\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\",\"headline\":%s%s}\n",
	        metric, name, value, unit, headline ? "true" : "false", extra ? extra : "");
	fclose(f);
}

/* Prints one ns/op line and records it under its short name. */
static void figure(const char *metric, const char *label, const char *name, double ns, int headline) {
	printf("%-62s %8.0f ns/op\n", label, ns);
	jsonl(metric, name, ns, "ns/op", headline, "");
}

static int bench_load(const char *path) {
	double t0 = now_ns();
	void *lib = open_lib(path);
	if (!lib) return 2;
	sa.version_number = need(lib, "sa_version_number");
	uint32_t v = sa.version_number();
	double t1 = now_ns();
	resolve_rest(lib);
	sa_strategy s = 0;
	sa_token t = 0;
	if (sa.static_token_strategy_new(&s, "bench-token") != SA_OK || sa.get_token(&t, s, 1000) != SA_OK) {
		fprintf(stderr, "bench: first call failed\n");
		return 1;
	}
	double t2 = now_ns();
	sa.token_free(t);
	sa.strategy_free(s);
	/* One machine-readable line: version, ms to first call, ms to first token. */
	printf("load %u %.3f %.3f\n", v, (t1 - t0) / 1e6, (t2 - t0) / 1e6);
	return 0;
}

/* dlopen .. the first access-key token from the emulator (a real POST /api/authorise). */
static int bench_load_ak(const char *path) {
	const char *url = getenv("SA_EMU_URL"), *crn = getenv("SA_EMU_CRN"), *key = getenv("SA_EMU_KEY");
	if (!url || !crn || !key) {
		fprintf(stderr, "bench: SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY must name a running emulator\n");
		return 2;
	}
	char opts[512];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\"}", url);
	double t0 = now_ns();
	void *lib = open_lib(path);
	if (!lib) return 2;
	resolve_rest(lib);
	sa_strategy s = 0;
	sa_token t = 0;
	if (sa.access_key_strategy_new(&s, crn, key, opts) != SA_OK || sa.get_token(&t, s, 10000) != SA_OK) {
		fprintf(stderr, "bench: first access-key token: %s\n", sa.last_error_message());
		return 1;
	}
	double t1 = now_ns();
	sa.token_free(t);
	sa.strategy_free(s);
	printf("load-ak %.3f\n", (t1 - t0) / 1e6);
	return 0;
}

typedef struct {
	sa_strategy s;
	long iters;
	int with_value;
	double ns;
	long failures;
} loop_arg;

/* The hot path a host runs per request: get the cached token, read its bearer string,
   free both. */
static void *loop(void *p) {
	loop_arg *a = p;
	double t0 = now_ns();
	for (long i = 0; i < a->iters; i++) {
		if (a->with_value == 2) { /* the one-call form: sa_get_token_value + sa_free */
			char *v = NULL;
			size_t n = 0;
			if (sa.get_token_value(a->s, 1000, &v, &n) != SA_OK) a->failures++;
			sa.free(v);
			continue;
		}
		sa_token t = 0;
		if (sa.get_token(&t, a->s, 1000) != SA_OK) {
			a->failures++;
			continue;
		}
		if (a->with_value) {
			char *v = NULL;
			size_t n = 0;
			if (sa.token_value(t, &v, &n) != SA_OK) a->failures++;
			sa.free(v);
		}
		sa.token_free(t);
	}
	a->ns = now_ns() - t0;
	return NULL;
}

/* ns/op per thread (latency seen by each caller) over nthreads concurrent threads. */
static double run(sa_strategy s, int nthreads, long iters, int with_value) {
	loop_arg args[8];
	pthread_t th[8];
	for (int i = 0; i < nthreads; i++) {
		args[i] = (loop_arg){.s = s, .iters = iters, .with_value = with_value};
		pthread_create(&th[i], NULL, loop, &args[i]);
	}
	double worst = 0;
	long failures = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		double per = args[i].ns / (double)iters;
		if (per > worst) worst = per;
		failures += args[i].failures;
	}
	if (failures) fprintf(stderr, "bench: %ld failed calls\n", failures);
	return worst;
}

static double best_of(int rounds, sa_strategy s, int nthreads, long iters, int with_value) {
	double best = 1e30;
	for (int r = 0; r < rounds; r++) {
		double v = run(s, nthreads, iters, with_value);
		if (v < best) best = v;
	}
	return best;
}

/* An AuthStrategyFn hook that answers at once, inside its call, on the calling thread. */
static void resolve_now(void *user_data, sa_request req) {
	(void)user_data;
	sa.request_resolve(req, "bench-callback-token", strlen("bench-callback-token"));
}

/* ns per sa_get_token + sa_token_free through the hook (AuthStrategyFn never caches). */
static void bench_callback(void) {
	sa_strategy fn = 0;
	if (sa.strategy_fn_new(&fn, resolve_now, NULL, NULL) != SA_OK) {
		fprintf(stderr, "bench: sa_strategy_fn_new: %s\n", sa.last_error_message());
		exit(1);
	}
	const long n = 20000;
	run(fn, 1, n / 10, 0); /* warm up */
	double ns = best_of(3, fn, 1, n, 0);
	printf("%-62s %8.0f ns/op  [target <= 2000; old 17900]\n", "AuthStrategyFn round trip: sa_get_token via a resolving hook", ns);
	jsonl("callback", "sa_get_token via a C hook that resolves inside its call", ns, "ns/op", 1,
	      ",\"target\":2000,\"old\":17900");
	sa.strategy_free(fn);
}

/* 10,000 sa_get_token_async callers on an expired token, /api/authorise delayed. */
enum { CALLERS = 10000, DELAY_MS = 200 };
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_long done, ok;
} co = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void on_done(void *user_data, sa_status status, sa_token token, const char *error_json) {
	(void)user_data;
	(void)error_json;
	if (status == SA_OK) {
		atomic_fetch_add(&co.ok, 1);
		sa.token_free(token);
	}
	if (atomic_fetch_add(&co.done, 1) + 1 == CALLERS) {
		pthread_mutex_lock(&co.mu);
		pthread_cond_broadcast(&co.cv);
		pthread_mutex_unlock(&co.mu);
	}
}

static int bench_coalesce(const char *opts) {
	/* A token that expires within a second, then the default lifetime again. */
	if (emu_token_ttl(1) != 200) return fprintf(stderr, "bench: POST /_emulator/config failed\n"), 1;
	sa_strategy s = 0;
	sa_token t = 0;
	char *js = NULL;
	size_t n = 0;
	if (sa.access_key_strategy_new(&s, EMU.crn, EMU.key, opts) != SA_OK || sa.get_token(&t, s, 10000) != SA_OK ||
	    sa.token_json(t, &js, &n) != SA_OK) {
		fprintf(stderr, "bench: coalescing setup: %s\n", sa.last_error_message());
		return 1;
	}
	long long exp = json_get_num(js, "expiresAt");
	sa.free(js);
	sa.token_free(t);
	emu_token_ttl(900);
	/* Waiting for real time to pass: the token must be past its expiry, not just stale. */
	while ((double)time(NULL) < (double)exp) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	emu_clear_requests();
	emu_clear_faults();
	if (emu_fault("/api/authorise", 0, DELAY_MS, 1) != 200) return fprintf(stderr, "bench: fault failed\n"), 1;

	double t0 = now_ns();
	long started = 0;
	for (long i = 0; i < CALLERS; i++) {
		if (sa.get_token_async(s, on_done, NULL) == SA_OK) started++;
	}
	double t_started = now_ns();
	if (started != CALLERS) {
		fprintf(stderr, "bench: only %ld of %d sa_get_token_async calls started\n", started, CALLERS);
		return 1;
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&co.mu);
	while (atomic_load(&co.done) < CALLERS) {
		if (pthread_cond_timedwait(&co.cv, &co.mu, &deadline) != 0) break;
	}
	pthread_mutex_unlock(&co.mu);
	double t1 = now_ns();
	long done = atomic_load(&co.done), ok = atomic_load(&co.ok);
	int requests = emu_count_requests("/api/authorise");
	emu_clear_faults();
	sa.strategy_free(s);
	double ms = (t1 - t0) / 1e6;
	printf("%-62s %8.1f ms  (%ld/%d tokens, %d upstream request(s), %.1f ms to start them; "
	       "/api/authorise delayed %d ms)\n",
	       "10,000 sa_get_token_async on an expired token: all done", ms, ok, CALLERS, requests,
	       (t_started - t0) / 1e6, DELAY_MS);
	char extra[256];
	snprintf(extra, sizeof extra,
	         ",\"callers\":%d,\"ok\":%ld,\"done\":%ld,\"requests\":%d,\"delayMs\":%d,\"startMs\":%.3f", CALLERS,
	         ok, done, requests, DELAY_MS, (t_started - t0) / 1e6);
	jsonl("coalesce", "10,000 x sa_get_token_async (done callbacks)", ms, "ms", 1, extra);
	return done == CALLERS ? 0 : 1;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "--load") == 0) return bench_load(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--load-ak") == 0) return bench_load_ak(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: bench [--load] /path/to/libstack_auth.so\n");
		return 2;
	}
	const char *url = getenv("SA_EMU_URL"), *crn = getenv("SA_EMU_CRN"), *key = getenv("SA_EMU_KEY");
	if (!url || !crn || !key) {
		fprintf(stderr, "bench: SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY must name a running emulator\n");
		return 2;
	}
	void *lib = open_lib(argv[1]);
	if (!lib) return 2;
	resolve_rest(lib);
	char opts[512];
	snprintf(opts, sizeof opts, "{\"baseUrl\":\"%s\"}", url);
	sa_strategy ak = 0, st = 0;
	sa_token t = 0;
	if (sa.access_key_strategy_new(&ak, crn, key, opts) != SA_OK || sa.get_token(&t, ak, 10000) != SA_OK) {
		fprintf(stderr, "bench: access key strategy: %s\n", sa.last_error_message());
		return 1;
	}
	sa.token_free(t);
	if (sa.static_token_strategy_new(&st, "bench-static-token") != SA_OK) return 1;

	const long N = 200000;
	run(ak, 1, N / 4, 1); /* warm up: Go's extra M for this thread, caches */
	/* metric, label, name (for the report), strategy, threads, mode (run's with_value), headline */
	const struct {
		const char *metric, *label, *name;
		sa_strategy s;
		int threads, mode, headline;
	} figs[] = {
	    {"cached", "cached sa_get_token_value+sa_free, access key, 1 thread", "sa_get_token_value + sa_free", ak, 1,
	     2, 1},
	    {"cached", "cached get+value+sa_free+token_free, access key, 1 thread",
	     "sa_get_token + sa_token_value + sa_free + sa_token_free", ak, 1, 1, 0},
	    {"cached2", "cached sa_get_token_value+sa_free, access key, 2 threads",
	     "sa_get_token_value + sa_free, 2 threads (per-thread latency)", ak, 2, 2, 0},
	    {"cached2", "cached get+value+sa_free+token_free, access key, 2 threads",
	     "sa_get_token + sa_token_value + frees, 2 threads (per-thread latency)", ak, 2, 1, 0},
	    {"cached_extra", "cached get+token_free only, access key, 1 thread", "sa_get_token + sa_token_free", ak, 1, 0,
	     0},
	    {"cached2", "cached get+token_free only, access key, 2 threads",
	     "sa_get_token + sa_token_free, 2 threads (per-thread latency)", ak, 2, 0, 0},
	    {"cached_extra", "get+value+sa_free+token_free, static token, 1 thread",
	     "static strategy: sa_get_token + sa_token_value + frees", st, 1, 1, 0},
	};
	for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
		figure(figs[i].metric, figs[i].label, figs[i].name, best_of(5, figs[i].s, figs[i].threads, N, figs[i].mode),
		       figs[i].headline);
	sa.strategy_free(ak);
	sa.strategy_free(st);
	bench_callback();
	if (emu_init_from_env() != 0) {
		fprintf(stderr, "bench: SA_EMU_URL is not http://127.0.0.1:PORT/\n");
		return 2;
	}
	return bench_coalesce(opts);
}
