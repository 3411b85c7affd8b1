//! Thin RAII wrappers over stack-auth-sys (the published declarations of include/stack_auth.h)
//! for the ABI tests in tests/abi.rs, which poke at the C contract itself (hooks, destroy
//! counts, leaks); the safe API's own tests are in bindings/rust/stack-auth/tests.

#![allow(non_camel_case_types)]

use std::collections::HashSet;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The raw declarations: the stack-auth-sys crate (bindings/rust), not a copy.
pub use stack_auth_sys as ffi;

use ffi::*;

/// This thread's last error, copied out of the library's thread-local slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: sa_status,
    pub code: Option<String>,
    pub message: Option<String>,
    pub json: Option<String>,
}

fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Reads the detail of the last failure on this thread (valid until the next sa_* call).
pub fn last_error() -> Error {
    unsafe {
        Error {
            status: sa_last_error_status(),
            code: opt_string(sa_last_error_code()),
            message: opt_string(sa_last_error_message()),
            json: opt_string(sa_last_error_json()),
        }
    }
}

fn check(st: sa_status) -> Result<(), Error> {
    if st == SA_OK {
        Ok(())
    } else {
        let e = last_error();
        debug_assert_eq!(e.status, st);
        Err(e)
    }
}

/// Copies a library-owned string and releases it with sa_free (never free()).
unsafe fn take_string(p: *mut c_char, len: usize) -> Vec<u8> {
    let v = std::slice::from_raw_parts(p as *const u8, len).to_vec();
    sa_free(p as *mut c_void);
    v
}

fn cstring(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

/// An sa_token; freed on drop.
#[derive(Debug)]
pub struct Token(pub sa_token);

impl Token {
    pub fn value(&self) -> Result<String, Error> {
        let mut p: *mut c_char = std::ptr::null_mut();
        let mut n = 0usize;
        check(unsafe { sa_token_value(self.0, &mut p, &mut n) })?;
        Ok(String::from_utf8(unsafe { take_string(p, n) }).expect("UTF-8 token"))
    }
    pub fn json(&self) -> Result<String, Error> {
        let mut p: *mut c_char = std::ptr::null_mut();
        let mut n = 0usize;
        check(unsafe { sa_token_json(self.0, &mut p, &mut n) })?;
        Ok(String::from_utf8(unsafe { take_string(p, n) }).expect("UTF-8 JSON"))
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        unsafe { sa_token_free(self.0) }
    }
}

/// An sa_strategy; freed on drop.
#[derive(Debug)]
pub struct Strategy(pub sa_strategy);

impl Drop for Strategy {
    fn drop(&mut self) {
        unsafe { sa_strategy_free(self.0) }
    }
}

/// The Rust form of a get-token hook.
pub type TokenFn = Box<dyn Fn() -> Result<String, String> + Send + Sync>;

/// user_data pointers handed to the library and not destroyed yet: lets `destroy_token_fn`
/// detect a second destroy of the same pointer instead of double-freeing it.
static LIVE_HOOKS: Mutex<Option<HashSet<usize>>> = Mutex::new(None);
/// destroy calls for a pointer that was already destroyed (must stay 0).
pub static DOUBLE_DESTROYS: AtomicUsize = AtomicUsize::new(0);

fn hooks_insert(p: usize) {
    LIVE_HOOKS.lock().unwrap().get_or_insert_with(HashSet::new).insert(p);
}
fn hooks_remove(p: usize) -> bool {
    LIVE_HOOKS.lock().unwrap().get_or_insert_with(HashSet::new).remove(&p)
}

fn reject(req: sa_request, code: &str, message: &str) {
    let code = cstring(code);
    let message = CString::new(message.replace('\0', " ")).unwrap();
    unsafe { sa_request_reject(req, code.as_ptr(), message.as_ptr()) };
}

/// Calls the closure behind user_data and completes the request. A panic must not unwind
/// into the library (it would abort): it becomes a rejection.
unsafe extern "C" fn call_token_fn(user_data: *mut c_void, req: sa_request) {
    let f = &*(user_data as *const TokenFn);
    match catch_unwind(AssertUnwindSafe(|| f())) {
        Ok(Ok(tok)) => {
            sa_request_resolve(req, tok.as_ptr() as *const c_char, tok.len());
        }
        Ok(Err(msg)) => reject(req, "RUST_ERROR", &msg),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            reject(req, "RUST_PANIC", &msg)
        }
    }
}

/// Frees the closure: the library calls this exactly once, after the hook's last call.
unsafe extern "C" fn destroy_token_fn(user_data: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if hooks_remove(user_data as usize) {
            drop(Box::from_raw(user_data as *mut TokenFn));
        } else {
            DOUBLE_DESTROYS.fetch_add(1, Ordering::SeqCst);
        }
    }));
}

impl Strategy {
    pub fn access_key(crn: &str, key: &str, options: Option<&str>) -> Result<Strategy, Error> {
        let (crn, key) = (cstring(crn), cstring(key));
        let options = options.map(cstring);
        let mut s = 0;
        check(unsafe {
            sa_access_key_strategy_new(
                &mut s,
                crn.as_ptr(),
                key.as_ptr(),
                options.as_ref().map_or(std::ptr::null(), |o| o.as_ptr()),
            )
        })?;
        Ok(Strategy(s))
    }

    /// sa_strategy_fn_new_ex with the closure as user_data (a thin pointer to the boxed
    /// trait object), freed in destroy.
    pub fn from_fn(f: TokenFn, options: Option<&str>) -> Result<Strategy, Error> {
        let options = options.map(cstring);
        let ud = Box::into_raw(Box::new(f));
        hooks_insert(ud as usize);
        let mut s = 0;
        let st = unsafe {
            sa_strategy_fn_new_ex(
                &mut s,
                Some(call_token_fn),
                ud as *mut c_void,
                Some(destroy_token_fn),
                options.as_ref().map_or(std::ptr::null(), |o| o.as_ptr()),
            )
        };
        if st != SA_OK {
            // On failure destroy is NOT called: the box is still ours.
            let e = last_error();
            hooks_remove(ud as usize);
            drop(unsafe { Box::from_raw(ud) });
            return Err(e);
        }
        Ok(Strategy(s))
    }

    pub fn get_token(&self, timeout_ms: i32) -> Result<Token, Error> {
        let mut t = 0;
        check(unsafe { sa_get_token(&mut t, self.0, timeout_ms) })?;
        Ok(Token(t))
    }
}

pub fn live_objects() -> i64 {
    unsafe { sa_debug_live_objects() }
}
