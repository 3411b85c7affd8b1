/*
 * bench_async.c — sa_get_token_async under a slow completion callback (issue 12, item 5),
 * run by tests/c/bench.sh (make bench-c). Figures are printed, never asserted.
 *
 * 20,000 sa_get_token_async calls on a static strategy whose done sleeps 1 ms: once with no
 * lock, once holding a mutex every done shares (as a GIL would) across the sleep. Prints the
 * wall time and the thread count before and at peak (/proc/self/status, sampled by a thread
 * every millisecond and by every done). Exits 1 only if some call never completed.
 *
 * With SA_BENCH_JSONL=FILE each figure is also appended to FILE as one JSON object a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack_auth.h"
#include "clock.h"

enum { CALLS = 20000 };

static atomic_int peak, done_calls, ok_calls, sampling;
static pthread_mutex_t *shared;

static void note_threads(void) {
	int n = thread_count();
	for (int p = atomic_load(&peak); n > p && !atomic_compare_exchange_weak(&peak, &p, n);) {
	}
}

static void *sampler(void *arg) {
	(void)arg;
	while (atomic_load(&sampling)) {
		note_threads();
		sleep_ms(1);
	}
	return NULL;
}

static void slow_done(void *ud, sa_status st, sa_token t, const char *err) {
	(void)ud, (void)err;
	if (shared) pthread_mutex_lock(shared);
	sleep_ms(1);
	if (shared) pthread_mutex_unlock(shared);
	if (st == SA_OK) {
		atomic_fetch_add(&ok_calls, 1);
		sa_token_free(t);
	}
	if (atomic_fetch_add(&done_calls, 1) % 64 == 0) note_threads();
}

static int run(const char *name, const char *metric, pthread_mutex_t *lock) {
	shared = lock;
	atomic_store(&done_calls, 0);
	atomic_store(&ok_calls, 0);
	sa_strategy s = 0;
	if (sa_static_token_strategy_new(&s, "bench-async-token") != SA_OK) return 1;
	int base = thread_count();
	atomic_store(&peak, base);
	atomic_store(&sampling, 1);
	pthread_t th;
	pthread_create(&th, NULL, sampler, NULL);
	double t0 = now_ms();
	int started = 0;
	for (int i = 0; i < CALLS; i++) started += sa_get_token_async(s, slow_done, NULL) == SA_OK;
	while (atomic_load(&done_calls) < started && now_ms() - t0 < 300000) sleep_ms(5);
	double wall = now_ms() - t0;
	atomic_store(&sampling, 0);
	pthread_join(th, NULL);
	sa_strategy_free(s);
	int p = atomic_load(&peak), done = atomic_load(&done_calls), ok = atomic_load(&ok_calls);
	printf("%-62s %8.0f ms  threads %d before, %d at peak (+%d) [target < +64]; %d of %d completed, %d with a token\n",
	       name, wall, base, p, p - base, done, CALLS, ok);
	const char *jl = getenv("SA_BENCH_JSONL");
	FILE *f = jl && *jl ? fopen(jl, "a") : NULL;
	if (f) {
		fprintf(f, "{\"metric\":\"%s\",\"name\":\"%s\",\"value\":%d,\"unit\":\"threads\",\"threadsBefore\":%d,"
		           "\"threadsPeak\":%d,\"wallMs\":%.0f,\"completed\":%d,\"calls\":%d}\n",
		        metric, name, p - base, base, p, wall, done, CALLS);
		fclose(f);
	}
	return done == CALLS && ok == CALLS ? 0 : 1;
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
	int bad = run("20,000 sa_get_token_async, done sleeps 1 ms", "async_slow_done_threads", NULL);
	bad |= run("20,000 sa_get_token_async, done sleeps 1 ms holding a shared lock", "async_slow_done_locked_threads", &gil);
	return bad;
}
