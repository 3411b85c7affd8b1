//! Raw declarations of libstack_auth's C ABI, one for one with `include/stack_auth.h` (read
//! it for ownership, threading and error codes; tests/rust/run.sh fails when a function of the
//! header is missing here). The safe API is the `stack-auth` crate.
//!
//! Handles are plain integers: every function may be called from any thread, concurrently, on
//! the same handle, except that a `*_free` must not race with other calls on that handle.
//! Strings the library returns are released with [`sa_free`], never `free()`.

#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};

pub type sa_status = i32;
pub type sa_strategy = u64;
pub type sa_store = u64;
pub type sa_token = u64;
pub type sa_request = u64;
pub type sa_device_flow = u64;
pub type sa_transport = u64;

// BEGIN GENERATED statuses from build/gen/tables.json (make gen)
pub const SA_OK: sa_status = 0;
pub const SA_E_AUTH: sa_status = -1;
pub const SA_E_INVALID_ARG: sa_status = -2;
pub const SA_E_INVALID_HANDLE: sa_status = -3;
pub const SA_E_TIMEOUT: sa_status = -4;
pub const SA_E_CANCELLED: sa_status = -5;
pub const SA_E_FORKED: sa_status = -6;
pub const SA_E_CALLBACK: sa_status = -7;
pub const SA_E_INTERNAL: sa_status = -8;
pub const SA_E_WOULD_BLOCK: sa_status = -9;
pub const SA_ABI_VERSION: u32 = 1;
// END GENERATED statuses

pub type sa_get_token_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, req: sa_request)>;
pub type sa_store_load_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, req: sa_request)>;
pub type sa_store_save_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, req: sa_request, json: *const c_char, len: usize)>;
pub type sa_token_done_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, status: sa_status, token: sa_token, error_json: *const c_char),
>;
pub type sa_http_send_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, req: sa_request, request_json: *const c_char, body: *const c_char, len: usize),
>;
pub type sa_destroy_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;
pub type sa_event_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char, len: usize)>;
pub type sa_log_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char, len: usize)>;
pub const SA_LOG_DEBUG: i32 = -4;
pub const SA_LOG_INFO: i32 = 0;
pub const SA_LOG_WARN: i32 = 4;
pub const SA_LOG_ERROR: i32 = 8;

extern "C" {
    pub fn sa_abi_version() -> u32;
    pub fn sa_version_number() -> u32;
    pub fn sa_version_string() -> *const c_char;
    pub fn sa_build_info() -> *const c_char;

    pub fn sa_last_error_code() -> *const c_char;
    pub fn sa_last_error_message() -> *const c_char;
    pub fn sa_last_error_json() -> *const c_char;
    pub fn sa_last_error_status() -> sa_status;

    pub fn sa_auto_strategy_detect(out: *mut sa_strategy, options_json: *const c_char) -> sa_status;
    pub fn sa_access_key_strategy_new(
        out: *mut sa_strategy,
        workspace_crn: *const c_char,
        access_key: *const c_char,
        options_json: *const c_char,
    ) -> sa_status;
    pub fn sa_device_session_strategy_from_profile(out: *mut sa_strategy, options_json: *const c_char)
        -> sa_status;
    pub fn sa_static_token_strategy_new(out: *mut sa_strategy, token: *const c_char) -> sa_status;
    pub fn sa_strategy_fn_new(
        out: *mut sa_strategy,
        f: sa_get_token_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
    ) -> sa_status;
    pub fn sa_strategy_fn_new_ex(
        out: *mut sa_strategy,
        f: sa_get_token_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
        options_json: *const c_char,
    ) -> sa_status;
    pub fn sa_oidc_federation_strategy_new(
        out: *mut sa_strategy,
        workspace_crn: *const c_char,
        provider: sa_get_token_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
        options_json: *const c_char,
    ) -> sa_status;
    pub fn sa_strategy_free(s: sa_strategy);
    pub fn sa_strategy_invalidate(s: sa_strategy, token: sa_token, out_refreshing: *mut i32) -> sa_status;

    pub fn sa_get_token(out: *mut sa_token, s: sa_strategy, timeout_ms: i32) -> sa_status;
    pub fn sa_try_get_token(out: *mut sa_token, s: sa_strategy) -> sa_status;
    pub fn sa_get_token_async(s: sa_strategy, done: sa_token_done_fn, user_data: *mut c_void) -> sa_status;
    pub fn sa_token_value(t: sa_token, out: *mut *mut c_char, out_len: *mut usize) -> sa_status;
    pub fn sa_token_json(t: sa_token, out: *mut *mut c_char, out_len: *mut usize) -> sa_status;
    pub fn sa_token_free(t: sa_token);

    pub fn sa_store_memory_new(out: *mut sa_store) -> sa_status;
    pub fn sa_store_fn_new(
        out: *mut sa_store,
        load: sa_store_load_fn,
        save: sa_store_save_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
    ) -> sa_status;
    pub fn sa_store_open(out: *mut sa_store, url: *const c_char) -> sa_status;
    pub fn sa_store_free(st: sa_store);

    pub fn sa_request_resolve(r: sa_request, value: *const c_char, len: usize) -> sa_status;
    pub fn sa_request_reject(r: sa_request, code: *const c_char, message: *const c_char) -> sa_status;

    pub fn sa_device_code_begin(
        out: *mut sa_device_flow,
        region: *const c_char,
        client_id: *const c_char,
        options_json: *const c_char,
    ) -> sa_status;
    pub fn sa_device_flow_json(f: sa_device_flow, out: *mut *mut c_char, out_len: *mut usize) -> sa_status;
    pub fn sa_device_code_poll(
        f: sa_device_flow,
        timeout_ms: i32,
        out: *mut *mut c_char,
        out_len: *mut usize,
    ) -> sa_status;
    pub fn sa_device_flow_free(f: sa_device_flow);
    pub fn sa_bind_client_device(options_json: *const c_char) -> sa_status;

    pub fn sa_strategy_invalidate_value(
        s: sa_strategy,
        token: *const c_char,
        len: usize,
        out_refreshing: *mut i32,
    ) -> sa_status;
    pub fn sa_get_token_async_ex(s: sa_strategy, timeout_ms: i32, done: sa_token_done_fn, user_data: *mut c_void)
        -> sa_status;
    pub fn sa_get_token_value(s: sa_strategy, timeout_ms: i32, out: *mut *mut c_char, out_len: *mut usize) -> sa_status;
    pub fn sa_store_fn_new_ex(
        out: *mut sa_store,
        load: sa_store_load_fn,
        save: sa_store_save_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
        options_json: *const c_char,
    ) -> sa_status;
    pub fn sa_request_scope(r: sa_request, out: *mut *mut c_char, out_len: *mut usize) -> sa_status;
    pub fn sa_device_flow_open_browser(f: sa_device_flow, out_opened: *mut i32) -> sa_status;
    pub fn sa_check_timeout(timeout_ms: i32) -> sa_status;
    pub fn sa_flush(timeout_ms: i32) -> sa_status;

    pub fn sa_last_warning() -> *const c_char;
    pub fn sa_set_host_language(name: *const c_char) -> sa_status;
    pub fn sa_transport_new(
        out: *mut sa_transport,
        send: sa_http_send_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
        options_json: *const c_char,
    ) -> sa_status;
    pub fn sa_transport_free(t: sa_transport);
    pub fn sa_request_respond(
        r: sa_request,
        status: i32,
        headers_json: *const c_char,
        body: *const c_char,
        len: usize,
    ) -> sa_status;

    // A caller's own JWT and user functions called in the host's language (issue 16).
    pub fn sa_oidc_get_token_with_jwt(
        out: *mut sa_token,
        s: sa_strategy,
        jwt: *const c_char,
        len: usize,
        timeout_ms: i32,
    ) -> sa_status;
    pub fn sa_oidc_try_get_token_with_jwt(out: *mut sa_token, s: sa_strategy, jwt: *const c_char, len: usize)
        -> sa_status;
    pub fn sa_oidc_get_token_with_jwt_async(
        s: sa_strategy,
        jwt: *const c_char,
        len: usize,
        timeout_ms: i32,
        done: sa_token_done_fn,
        user_data: *mut c_void,
    ) -> sa_status;
    pub fn sa_token_from_value(out: *mut sa_token, value: *const c_char, len: usize) -> sa_status;
    pub fn sa_callback_error(code: *const c_char, message: *const c_char) -> sa_status;
    pub fn sa_strategy_set_event_hook(
        s: sa_strategy,
        func: sa_event_fn,
        user_data: *mut c_void,
        destroy: sa_destroy_fn,
    ) -> sa_status;
    pub fn sa_set_log_handler(func: sa_log_fn, min_level: i32, user_data: *mut c_void) -> sa_status;

    pub fn sa_free(p: *mut c_void);
    pub fn sa_debug_live_objects() -> i64;
    pub fn sa_debug_panic() -> sa_status;
}
