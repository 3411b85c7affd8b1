/* Internal declarations shared by the C shim (shim.c) and the Go exports (package main). */
#ifndef SA_SHIM_H
#define SA_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include "stack_auth.h"

/* const char* for Go exports: cgo keeps a typedef in the generated prototype, so the Go side
   can accept const strings without a cast in the shim. */
typedef const char sa_cchar;

/* Called from Go on the thread of the export that failed. */
void sashim_set_error(sa_status status, _GoString_ code, _GoString_ message, _GoString_ json);
/* Sets this thread's sa_last_warning (the call succeeded). */
void sashim_set_warning(_GoString_ text);
/* Copies s into a library-owned, NUL-terminated string released by sa_free. */
sa_status sashim_new_string(_GoString_ s, char **out, size_t *out_len);
/* C-heap copy of s for a hook argument; sashim_wipe_free zeroes and frees it. */
char *sashim_borrow(_GoString_ s);
void sashim_wipe_free(char *p, size_t len);
int64_t sashim_live_strings(void);
char *sashim_getenv(_GoString_ name);

/* Trampolines: Go cannot call C function pointers directly. user_data travels through Go
   as uintptr_t: hosts may pass any value (a small integer, say), and Go aborts the process
   when it finds a non-pointer in a pointer-typed variable on a goroutine's stack. */
void sashim_call_get_token(sa_get_token_fn fn, uintptr_t user_data, sa_request req);
void sashim_call_load(sa_store_load_fn fn, uintptr_t user_data, sa_request req);
void sashim_call_save(sa_store_save_fn fn, uintptr_t user_data, sa_request req, const char *json, size_t len);
void sashim_call_done(sa_token_done_fn fn, uintptr_t user_data, sa_status status, sa_token token, const char *error_json);
void sashim_call_destroy(sa_destroy_fn fn, uintptr_t user_data);
void sashim_call_event(sa_event_fn fn, uintptr_t user_data, const char *json, size_t len);
void sashim_call_log(sa_log_fn fn, uintptr_t user_data, int32_t level, const char *message, size_t len);
void sashim_call_http(sa_http_send_fn fn, uintptr_t user_data, sa_request req, const char *request_json, const char *body,
                      size_t len);

#endif
