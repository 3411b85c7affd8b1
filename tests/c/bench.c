/*
 * bench.c — figures for libstack_auth, printed, never asserted (tests/c/bench.sh runs it).
 *
 *   bench --load LIB    one cold start in this fresh process: ms from dlopen to the first
 *                       sa_version_number, and to the first token of a static strategy
 *   bench LIB           cached sa_get_token + sa_token_value (+ sa_free + sa_token_free)
 *                       ns/op, single-threaded and with 2 threads, against the emulator
 *                       (SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY)
 *
 * The library is dlopen'ed (not linked) so the load is measured the way bindings load it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack_auth.h"

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The functions used, resolved with dlsym; types come from the public header. */
static struct {
	__typeof__(&sa_version_number) version_number;
	__typeof__(&sa_static_token_strategy_new) static_token_strategy_new;
	__typeof__(&sa_access_key_strategy_new) access_key_strategy_new;
	__typeof__(&sa_get_token) get_token;
	__typeof__(&sa_token_value) token_value;
	__typeof__(&sa_get_token_value) get_token_value;
	__typeof__(&sa_token_free) token_free;
	__typeof__(&sa_free) free;
	__typeof__(&sa_strategy_free) strategy_free;
	__typeof__(&sa_last_error_message) last_error_message;
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
	sa.static_token_strategy_new = need(lib, "sa_static_token_strategy_new");
	sa.access_key_strategy_new = need(lib, "sa_access_key_strategy_new");
	sa.get_token = need(lib, "sa_get_token");
	sa.token_value = need(lib, "sa_token_value");
	sa.get_token_value = need(lib, "sa_get_token_value");
	sa.token_free = need(lib, "sa_token_free");
	sa.free = need(lib, "sa_free");
	sa.strategy_free = need(lib, "sa_strategy_free");
	sa.last_error_message = need(lib, "sa_last_error_message");
}

static int bench_load(const char *path) {
	double t0 = now_ns();
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "bench: dlopen: %s\n", dlerror());
		return 2;
	}
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

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "--load") == 0) return bench_load(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: bench [--load] /path/to/libstack_auth.so\n");
		return 2;
	}
	const char *url = getenv("SA_EMU_URL"), *crn = getenv("SA_EMU_CRN"), *key = getenv("SA_EMU_KEY");
	if (!url || !crn || !key) {
		fprintf(stderr, "bench: SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY must name a running emulator\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "bench: dlopen: %s\n", dlerror());
		return 2;
	}
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
	printf("%-62s %8.0f ns/op\n", "cached get+value+sa_free+token_free, access key, 1 thread",
	       best_of(5, ak, 1, N, 1));
	printf("%-62s %8.0f ns/op\n", "cached get+value+sa_free+token_free, access key, 2 threads",
	       best_of(5, ak, 2, N, 1));
	printf("%-62s %8.0f ns/op\n", "cached sa_get_token_value+sa_free, access key, 1 thread",
	       best_of(5, ak, 1, N, 2));
	printf("%-62s %8.0f ns/op\n", "cached sa_get_token_value+sa_free, access key, 2 threads",
	       best_of(5, ak, 2, N, 2));
	printf("%-62s %8.0f ns/op\n", "cached get+token_free only, access key, 1 thread", best_of(5, ak, 1, N, 0));
	printf("%-62s %8.0f ns/op\n", "cached get+token_free only, access key, 2 threads", best_of(5, ak, 2, N, 0));
	printf("%-62s %8.0f ns/op\n", "get+value+sa_free+token_free, static token, 1 thread", best_of(5, st, 1, N, 1));
	sa.strategy_free(ak);
	sa.strategy_free(st);
	return 0;
}
