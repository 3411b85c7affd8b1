/*
 * clock.h — the monotonic clock, sleeps and the thread count, for the harness and the
 * benches. Header-only; Linux (/proc/self/status).
 */
#ifndef SA_TEST_CLOCK_H
#define SA_TEST_CLOCK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(int ms) {
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* This process's thread count, or -1. */
static inline int thread_count(void) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
	if (f) fclose(f);
	return n;
}

#endif
