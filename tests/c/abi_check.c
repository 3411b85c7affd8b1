/*
 * abi_check.c — compile-only drift check (docs/c-abi.md P22). It includes the public header AND the
 * header cgo generates for the Go exports, and asserts that each public function sa_X has
 * exactly the type of the Go export sago_X it forwards to. The Go side spells const strings
 * as sa_cchar (a typedef of const char, capi/shim.h), so the two prototypes must be identical
 * types: any change of a parameter's width, signedness, constness, order or count, or of the
 * return type, is a compile error here.
 *
 * Compiled by tests/c/run.sh with
 *   gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only \
 *       -Ibuild/out/include -Icapi -Ibuild/out/gen tests/c/abi_check.c
 * run.sh also checks that the two lists below together name every function the public header
 * declares, so a new function cannot skip this check.
 */
#include "stack_auth.h"
#include "libstack_auth_cgo.h"

/* Both directions of pointer compatibility, so neither side can be a looser type. */
#define SA_SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))
/* Functions forwarded 1:1 to a Go export of the same name (SA_ABI_LIST, parsed by run.sh). */
#define SA_ABI_LIST(X)                                                                             \
	X(auto_strategy_detect)                                                                        \
	X(access_key_strategy_new)                                                                     \
	X(device_session_strategy_from_profile)                                                        \
	X(static_token_strategy_new)                                                                   \
	X(strategy_free)                                                                               \
	X(strategy_invalidate)                                                                         \
	X(strategy_invalidate_value)                                                                   \
	X(get_token)                                                                                   \
	X(get_token_value)                                                                              \
	X(try_get_token)                                                                               \
	X(check_timeout)                                                                               \
	X(token_value)                                                                                 \
	X(token_json)                                                                                  \
	X(token_free)                                                                                  \
	X(store_memory_new)                                                                            \
	X(store_open)                                                                                  \
	X(store_free)                                                                                  \
	X(request_resolve)                                                                             \
	X(request_reject)                                                                              \
	X(request_scope)                                                                               \
	X(request_respond)                                                                             \
	X(transport_free)                                                                              \
	X(set_host_language)                                                                           \
	X(device_code_begin)                                                                           \
	X(device_flow_json)                                                                            \
	X(device_flow_open_browser)                                                                    \
	X(device_code_poll)                                                                            \
	X(device_flow_free)                                                                            \
	X(bind_client_device)                                                                          \
	X(oidc_get_token_with_jwt)                                                                     \
	X(oidc_try_get_token_with_jwt)                                                                 \
	X(token_from_value)                                                                            \
	X(callback_error)                                                                              \
	X(flush)                                                                                       \
	X(debug_panic)

#define SA_CHECK_ONE(name)                                                                         \
	_Static_assert(SA_SAME_TYPE(&sa_##name, &sago_##name), "sa_" #name " drifted from sago_" #name);
SA_ABI_LIST(SA_CHECK_ONE)

/* Functions whose user_data travels through Go as uintptr_t (capi/shim.h says why): the Go
   export takes the public parameters with uintptr_t in place of void *. Each entry gives the
   public parameters with UD for user_data; both sides are pinned from it, UD being void * for
   sa_X and uintptr_t for sago_X (SA_UD_LIST, parsed by run.sh like SA_ABI_LIST). */
#define SA_UD_LIST(X)                                                                              \
	X(strategy_fn_new_ex, (sa_strategy *, sa_get_token_fn, UD, sa_destroy_fn, const char *))       \
	X(oidc_federation_strategy_new,                                                                \
	  (sa_strategy *, const char *, sa_get_token_fn, UD, sa_destroy_fn, const char *))              \
	X(store_fn_new_ex, (sa_store *, sa_store_load_fn, sa_store_save_fn, UD, sa_destroy_fn, const char *)) \
	X(oidc_get_token_with_jwt_async, (sa_strategy, const char *, size_t, int32_t, sa_token_done_fn, UD)) \
	X(strategy_set_event_hook, (sa_strategy, sa_event_fn, UD, sa_destroy_fn))                      \
	X(set_log_handler, (sa_log_fn, int32_t, UD))                                                   \
	X(transport_new, (sa_transport *, sa_http_send_fn, UD, sa_destroy_fn, const char *))

/* The list's arguments are expanded where it is used, so UD takes each definition in turn
   (sa_cchar is const char: the Go side's const strings need no second spelling). */
#define UD void *
#define SA_CHECK_PUBLIC(name, params)                                                              \
	_Static_assert(SA_SAME_TYPE(&sa_##name, sa_status(*) params), "sa_" #name " drifted");
SA_UD_LIST(SA_CHECK_PUBLIC)
#undef UD
#define UD uintptr_t
#define SA_CHECK_GO(name, params)                                                                  \
	_Static_assert(SA_SAME_TYPE(&sago_##name, sa_status(*) params), "sago_" #name " drifted");
SA_UD_LIST(SA_CHECK_GO)
#undef UD

/* Functions implemented in C only (capi/shim.c), or wrappers that call a Go export with extra
   arguments; the C compiler checks those calls when it builds shim.c (SA_SHIM_ONLY, parsed by
   run.sh):
   SA_SHIM_ONLY: abi_version version_number version_string build_info last_error_code
   SA_SHIM_ONLY: last_error_message last_error_json last_error_status free debug_live_objects
   SA_SHIM_ONLY: strategy_fn_new store_fn_new get_token_async get_token_async_ex last_warning */

/* The wrappers' shapes are pinned too. */
_Static_assert(SA_SAME_TYPE(&sa_strategy_fn_new,
                            sa_status (*)(sa_strategy *, sa_get_token_fn, void *, sa_destroy_fn)),
               "sa_strategy_fn_new drifted");
_Static_assert(SA_SAME_TYPE(&sa_store_fn_new,
                            sa_status (*)(sa_store *, sa_store_load_fn, sa_store_save_fn, void *, sa_destroy_fn)),
               "sa_store_fn_new drifted");
_Static_assert(SA_SAME_TYPE(&sa_get_token_async, sa_status (*)(sa_strategy, sa_token_done_fn, void *)),
               "sa_get_token_async drifted");
_Static_assert(SA_SAME_TYPE(&sa_get_token_async_ex, sa_status (*)(sa_strategy, int32_t, sa_token_done_fn, void *)),
               "sa_get_token_async_ex drifted");
_Static_assert(SA_SAME_TYPE(&sago_get_token_async, sa_status (*)(sa_strategy, int32_t, sa_token_done_fn, uintptr_t)),
               "sago_get_token_async drifted");

/* Handles and statuses have the widths every binding assumes. */
_Static_assert(sizeof(sa_status) == 4 && (sa_status)-1 < 0, "sa_status is int32_t");
_Static_assert(sizeof(sa_strategy) == 8 && sizeof(sa_store) == 8 && sizeof(sa_token) == 8 &&
                   sizeof(sa_request) == 8 && sizeof(sa_device_flow) == 8,
               "handles are uint64_t");
_Static_assert(SA_VERSION_NUMBER == ((SA_VERSION_MAJOR << 16) | (SA_VERSION_MINOR << 8) | SA_VERSION_PATCH),
               "version number");
_Static_assert(SA_OK == 0 && SA_E_AUTH == -1 && SA_E_INVALID_ARG == -2 && SA_E_INVALID_HANDLE == -3 &&
                   SA_E_TIMEOUT == -4 && SA_E_CANCELLED == -5 && SA_E_FORKED == -6 && SA_E_CALLBACK == -7 &&
                   SA_E_INTERNAL == -8 && SA_E_WOULD_BLOCK == -9,
               "status numbers never change");
