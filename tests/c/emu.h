/*
 * emu.h — a tiny HTTP/1.1 client for the emulator's test-control API (/_emulator/...), and
 * the few JSON probes the tests need. Header-only; loopback only; no dependencies, so the
 * harness needs neither libcurl nor a JSON library.
 */
#ifndef SA_TEST_EMU_H
#define SA_TEST_EMU_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* From the environment run.sh exports (the emulator's ready line). */
typedef struct {
	char url[256];    /* "http://127.0.0.1:PORT/" */
	char crn[256];    /* "crn:<region>:<workspace id>" */
	char key[512];    /* the default workspace's access key */
	char region[128]; /* "<region>" part of crn */
	char ws[128];     /* "<workspace id>" part of crn */
	int port;
} emu_info;

static emu_info EMU;

static int emu_init_from_env(void) {
	const char *url = getenv("SA_EMU_URL"), *crn = getenv("SA_EMU_CRN"), *key = getenv("SA_EMU_KEY");
	if (!url || !crn || !key) return -1;
	snprintf(EMU.url, sizeof EMU.url, "%s", url);
	snprintf(EMU.crn, sizeof EMU.crn, "%s", crn);
	snprintf(EMU.key, sizeof EMU.key, "%s", key);
	const char *p = strstr(url, "127.0.0.1:");
	if (!p) return -1;
	EMU.port = atoi(p + strlen("127.0.0.1:"));
	/* crn:<region>:<ws> */
	const char *a = strchr(crn, ':'), *b = a ? strrchr(crn, ':') : NULL;
	if (!a || !b || a == b) return -1;
	snprintf(EMU.region, sizeof EMU.region, "%.*s", (int)(b - a - 1), a + 1);
	snprintf(EMU.ws, sizeof EMU.ws, "%s", b + 1);
	return 0;
}

/* One request with Connection: close. Returns the HTTP status (or -1) and, when body_out is
   not NULL, a malloc'd NUL-terminated response body. */
static int emu_http(const char *method, const char *path, const char *body, char **body_out) {
	if (body_out) *body_out = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) return -1;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)EMU.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	size_t blen = body ? strlen(body) : 0;
	char head[512];
	int hn = snprintf(head, sizeof head,
	                  "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
	                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	                  method, path, EMU.port, blen);
	if (write(fd, head, (size_t)hn) != hn || (blen && write(fd, body, blen) != (ssize_t)blen)) {
		close(fd);
		return -1;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR) continue; /* a signal (the Go runtime's, say) is no end of the answer */
		if (r <= 0) break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	int status = -1;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
	if (body_out) {
		char *sep = strstr(buf, "\r\n\r\n");
		/* The control API answers with Content-Length; chunked bodies are not expected. */
		*body_out = strdup(sep ? sep + 4 : "");
	}
	free(buf);
	return status;
}

/* Counts the occurrences of needle in hay. */
static int count_substr(const char *hay, const char *needle) {
	int n = 0;
	size_t len = strlen(needle);
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len) n++;
	return n;
}

/* Upstream requests to path in the emulator's log (control calls are never logged). */
static int emu_count_requests(const char *path) {
	char *body = NULL;
	if (emu_http("GET", "/_emulator/requests", NULL, &body) != 200) {
		free(body);
		return -1;
	}
	char needle[256];
	snprintf(needle, sizeof needle, "\"path\":\"%s\"", path);
	int n = count_substr(body, needle);
	free(body);
	return n;
}

static int emu_clear_requests(void) { return emu_http("DELETE", "/_emulator/requests", NULL, NULL); }
static int emu_clear_faults(void) { return emu_http("DELETE", "/_emulator/faults", NULL, NULL); }

static int emu_fault(const char *path, int status, int delay_ms, int count) {
	char body[512];
	snprintf(body, sizeof body, "{\"path\":\"%s\",\"status\":%d,\"delayMs\":%d,\"count\":%d}", path, status,
	         delay_ms, count);
	return emu_http("POST", "/_emulator/faults", body, NULL);
}

/* A fault answering status with body (sent verbatim) for the next count requests to path. */
static int emu_fault_body(const char *path, int status, const char *body, int count) {
	size_t n = strlen(body), cap = 2 * n + strlen(path) + 128;
	char *req = malloc(cap), *w = req;
	w += sprintf(w, "{\"path\":\"%s\",\"status\":%d,\"count\":%d,\"body\":\"", path, status, count);
	for (const char *p = body; *p; p++) {
		if (*p == '"' || *p == '\\') *w++ = '\\', *w++ = *p;
		else if (*p == '\n') *w++ = '\\', *w++ = 'n';
		else if (*p == '\r') *w++ = '\\', *w++ = 'r';
		else *w++ = *p;
	}
	strcpy(w, "\"}");
	int st = emu_http("POST", "/_emulator/faults", req, NULL);
	free(req);
	return st;
}

static int emu_token_ttl(int secs) {
	char body[128];
	snprintf(body, sizeof body, "{\"tokenTtlSecs\":%d}", secs);
	return emu_http("POST", "/_emulator/config", body, NULL);
}

/* A JSON key is present at any depth ("key": ...). Enough for the flat objects tested. */
static int json_has_key(const char *json, const char *key) {
	char needle[128];
	snprintf(needle, sizeof needle, "\"%s\":", key);
	return json && strstr(json, needle) != NULL;
}

/* Copies the string value of "key" (no escapes expected) into out; 0 on success. */
static int json_get_str(const char *json, const char *key, char *out, size_t cap) {
	char needle[128];
	snprintf(needle, sizeof needle, "\"%s\":\"", key);
	const char *p = json ? strstr(json, needle) : NULL;
	if (!p) return -1;
	p += strlen(needle);
	const char *q = strchr(p, '"');
	if (!q || (size_t)(q - p) >= cap) return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = 0;
	return 0;
}

static long long json_get_num(const char *json, const char *key) {
	char needle[128];
	snprintf(needle, sizeof needle, "\"%s\":", key);
	const char *p = json ? strstr(json, needle) : NULL;
	return p ? atoll(p + strlen(needle)) : -1;
}

#endif
