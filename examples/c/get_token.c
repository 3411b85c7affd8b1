/* Gets a token with AutoStrategy (CS_CLIENT_ACCESS_KEY + CS_WORKSPACE_CRN, or a saved login)
   and prints who it is for. Build: cc get_token.c $(pkg-config --cflags --libs stack_auth) */
#include <stdio.h>
#include <string.h>

#include "stack_auth.h"

/* Copies the string value of "key" from flat JSON into buf (enough for this example). */
static const char *json_string(const char *json, const char *key, char *buf, size_t size) {
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
	const char *p = strstr(json, pattern);
	size_t n = 0;
	if (p)
		for (p += strlen(pattern); *p && *p != '"' && n + 1 < size; p++) buf[n++] = *p;
	buf[n] = 0;
	return buf;
}

static int fail(const char *what) {
	fprintf(stderr, "%s: error[%s]: %s\n", what, sa_last_error_code(), sa_last_error_message());
	return 1;
}

int main(void) {
	if (sa_abi_version() != SA_ABI_VERSION) {
		fprintf(stderr, "libstack_auth ABI %u, header %d\n", sa_abi_version(), SA_ABI_VERSION);
		return 1;
	}
	sa_strategy strategy;
	if (sa_auto_strategy_detect(&strategy, NULL) != SA_OK) return fail("detect");

	sa_token token;
	if (sa_get_token(&token, strategy, 10000) != SA_OK) {
		int rc = fail("get_token"); /* before sa_flush, which clears this thread's error */
		sa_strategy_free(strategy);
		sa_flush(5000); /* a refresh already sent is saved before the process exits */
		return rc;
	}
	char *json;
	size_t len;
	if (sa_token_json(token, &json, &len) == SA_OK) {
		/* Print the claims, not the bearer token: it is a secret. */
		char sub[128], ws[64];
		printf("  C token: subject %s, workspace %s\n", json_string(json, "subject", sub, sizeof sub),
		       json_string(json, "workspaceId", ws, sizeof ws));
		sa_free(json);
	}
	sa_token_free(token);
	sa_strategy_free(strategy);
	sa_flush(5000);
	return 0;
}
