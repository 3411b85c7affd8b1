//! stack-auth for Rust: short-lived CipherStash service tokens, cached and refreshed by
//! libstack_auth (the one engine every language shares; this crate holds no policy).
//!
//! ```no_run
//! let s = stack_auth::Strategy::access_key("crn:ap-southeast-2.aws:WS", "CSAKkey.secret", None)?;
//! let token = s.get_token()?;          // blocks; cached tokens return at once
//! println!("Authorization: Bearer {}", token.value()?);
//! # Ok::<(), stack_auth::Error>(())
//! ```
//!
//! [`Strategy::get_token_async`] returns a future that any executor can poll (the library
//! completes it from its own thread; no runtime is assumed). Strategies and tokens are
//! `Send + Sync`: the C ABI allows every call from any thread on the same handle, and only
//! `Drop` (which frees) needs exclusive access, which Rust's ownership already guarantees.

use std::ffi::{c_char, c_void, CStr, CString};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use stack_auth_sys as sys;

/// How a call failed: the C status and, for `SA_E_AUTH` and hook failures, the stack-auth
/// code ("INVALID_ACCESS_KEY", "WORKSPACE_MISMATCH", ...; docs/errors.md) and its message.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    status: i32,
    code: Option<String>,
    message: String,
    json: Option<String>,
}

impl Error {
    /// The C status (`SA_E_AUTH`, `SA_E_TIMEOUT`, ... of stack-auth-sys).
    pub fn status(&self) -> i32 {
        self.status
    }
    /// The stack-auth error code, when the library gave one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    /// The one-line message (secrets masked by the library).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// `{"type","message","help"?,"retryable",...}` as sa_last_error_json gives it.
    pub fn json(&self) -> Option<&str> {
        self.json.as_deref()
    }
    fn status_name(&self) -> &'static str {
        match self.status {
            // BEGIN GENERATED statuses from build/gen/tables.json (make gen)
            sys::SA_E_AUTH => "SA_E_AUTH",
            sys::SA_E_INVALID_ARG => "SA_E_INVALID_ARG",
            sys::SA_E_INVALID_HANDLE => "SA_E_INVALID_HANDLE",
            sys::SA_E_TIMEOUT => "SA_E_TIMEOUT",
            sys::SA_E_CANCELLED => "SA_E_CANCELLED",
            sys::SA_E_FORKED => "SA_E_FORKED",
            sys::SA_E_CALLBACK => "SA_E_CALLBACK",
            sys::SA_E_INTERNAL => "SA_E_INTERNAL",
            sys::SA_E_WOULD_BLOCK => "SA_E_WOULD_BLOCK",
            // END GENERATED statuses
            _ => "SA_E_UNKNOWN",
        }
    }
    /// The library's detail of the last failure on this thread, read right after `status`.
    fn last(status: i32) -> Error {
        unsafe {
            let json = opt_string(sys::sa_last_error_json());
            Error {
                status,
                code: opt_string(sys::sa_last_error_code()),
                message: opt_string(sys::sa_last_error_message()).unwrap_or_default(),
                json,
            }
        }
    }
    /// An error described by error_json (sa_get_token_async's done).
    fn from_json(status: i32, json: Option<String>) -> Error {
        let field = |k: &str| json.as_deref().and_then(|j| json_string_field(j, k));
        Error { status, code: field("type"), message: field("message").unwrap_or_default(), json }
    }
    fn invalid_arg(message: &str) -> Error {
        Error { status: sys::SA_E_INVALID_ARG, code: None, message: message.to_string(), json: None }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status_name())
            .field("code", &self.code)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => write!(f, "{}: {}", self.status_name(), self.message),
        }
    }
}

impl std::error::Error for Error {}

/// The value of a top-level string field of a JSON object (the error objects the library
/// writes: flat, compact, escaped by encoding/json).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

fn check(status: i32) -> Result<(), Error> {
    if status == sys::SA_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

fn cstring(what: &str, s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::invalid_arg(&format!("{what} contains a NUL byte")))
}

/// Copies a string the library returned and releases it with sa_free (which zeroes it).
unsafe fn take_string(p: *mut c_char, len: usize) -> String {
    let s = String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned();
    sys::sa_free(p as *mut c_void);
    s
}

fn timeout_ms(t: Option<Duration>) -> i32 {
    // <= 0 is the strategy's own timeoutMs.
    t.map_or(0, |d| d.as_millis().clamp(1, i32::MAX as u128) as i32)
}

/// A service token (a CTS JWT and its claims). Freed on drop. Its `Debug` never shows the
/// bearer string.
pub struct Token(sys::sa_token);

impl Token {
    /// The bearer string, for `Authorization: Bearer ...`.
    pub fn value(&self) -> Result<String, Error> {
        let (mut p, mut n) = (std::ptr::null_mut(), 0usize);
        check(unsafe { sys::sa_token_value(self.0, &mut p, &mut n) })?;
        Ok(unsafe { take_string(p, n) })
    }
    /// `{"token","subject","workspaceId","issuer","services","expiresAt"}` (contains the token).
    pub fn json(&self) -> Result<String, Error> {
        let (mut p, mut n) = (std::ptr::null_mut(), 0usize);
        check(unsafe { sys::sa_token_json(self.0, &mut p, &mut n) })?;
        Ok(unsafe { take_string(p, n) })
    }
    /// The raw handle (for stack-auth-sys calls); still owned by this Token.
    pub fn as_raw(&self) -> sys::sa_token {
        self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        unsafe { sys::sa_token_free(self.0) }
    }
}

/// The host's own token source (AuthStrategyFn): called on a library thread on every
/// get_token; `Err(message)` fails the call with SA_E_CALLBACK.
pub type TokenFn = dyn Fn() -> Result<String, String> + Send + Sync + 'static;

/// How tokens are obtained and kept fresh. Freed on drop: calls waiting on it end with
/// SA_E_CANCELLED.
#[derive(Debug)]
pub struct Strategy(sys::sa_strategy);

fn options_ptr(o: &Option<CString>) -> *const c_char {
    o.as_ref().map_or(std::ptr::null(), |o| o.as_ptr())
}

impl Strategy {
    /// An access key bound to `workspace_crn`. `options_json`: see sa_access_key_strategy_new
    /// (`{"baseUrl":..., "timeoutMs":..., ...}`).
    pub fn access_key(workspace_crn: &str, access_key: &str, options_json: Option<&str>) -> Result<Strategy, Error> {
        let crn = cstring("workspace_crn", workspace_crn)?;
        let key = cstring("access_key", access_key)?;
        let options = options_json.map(|o| cstring("options_json", o)).transpose()?;
        let mut s = 0;
        check(unsafe { sys::sa_access_key_strategy_new(&mut s, crn.as_ptr(), key.as_ptr(), options_ptr(&options)) })?;
        Ok(Strategy(s))
    }

    /// AutoStrategy: CS_CLIENT_ACCESS_KEY + CS_WORKSPACE_CRN, else the saved device session.
    pub fn auto_detect(options_json: Option<&str>) -> Result<Strategy, Error> {
        let options = options_json.map(|o| cstring("options_json", o)).transpose()?;
        let mut s = 0;
        check(unsafe { sys::sa_auto_strategy_detect(&mut s, options_ptr(&options)) })?;
        Ok(Strategy(s))
    }

    /// The device session a `stack-auth login` saved in the profile directory.
    pub fn from_profile(options_json: Option<&str>) -> Result<Strategy, Error> {
        let options = options_json.map(|o| cstring("options_json", o)).transpose()?;
        let mut s = 0;
        check(unsafe { sys::sa_device_session_strategy_from_profile(&mut s, options_ptr(&options)) })?;
        Ok(Strategy(s))
    }

    /// Always gives `token` (tests, fixed credentials).
    pub fn static_token(token: &str) -> Result<Strategy, Error> {
        let t = cstring("token", token)?;
        let mut s = 0;
        check(unsafe { sys::sa_static_token_strategy_new(&mut s, t.as_ptr()) })?;
        Ok(Strategy(s))
    }

    /// A strategy asking `f` for a token on every call (no caching). A panic in `f` becomes
    /// SA_E_CALLBACK: it never unwinds into the library.
    pub fn from_fn<F>(f: F, options_json: Option<&str>) -> Result<Strategy, Error>
    where
        F: Fn() -> Result<String, String> + Send + Sync + 'static,
    {
        let options = options_json.map(|o| cstring("options_json", o)).transpose()?;
        let ud = Box::into_raw(Box::new(Box::new(f) as Box<TokenFn>));
        let mut s = 0;
        let st = unsafe {
            sys::sa_strategy_fn_new_ex(&mut s, Some(call_token_fn), ud as *mut c_void, Some(drop_token_fn), options_ptr(&options))
        };
        if st != sys::SA_OK {
            let e = Error::last(st);
            drop(unsafe { Box::from_raw(ud) }); // destroy is not called on failure
            return Err(e);
        }
        Ok(Strategy(s))
    }

    /// A usable token, blocking up to the strategy's timeoutMs (a cached one at once).
    pub fn get_token(&self) -> Result<Token, Error> {
        self.get_token_timeout(None)
    }

    /// [`get_token`](Self::get_token) with its own timeout.
    pub fn get_token_timeout(&self, timeout: Option<Duration>) -> Result<Token, Error> {
        let mut t = 0;
        check(unsafe { sys::sa_get_token(&mut t, self.0, timeout_ms(timeout)) })?;
        Ok(Token(t))
    }

    /// Never blocks: `Ok(None)` when only waiting would give a token.
    pub fn try_get_token(&self) -> Result<Option<Token>, Error> {
        let mut t = 0;
        match unsafe { sys::sa_try_get_token(&mut t, self.0) } {
            sys::SA_OK => Ok(Some(Token(t))),
            sys::SA_E_WOULD_BLOCK => Ok(None),
            st => Err(Error::last(st)),
        }
    }

    /// A future of a token: the library works on its own threads and wakes the future's task
    /// when done, so any executor (tokio, async-std, smol, a hand-written one) can await it.
    /// Dropping the future early is safe: a token that arrives later is freed.
    pub fn get_token_async(&self) -> TokenFuture {
        let slot = Arc::new(Mutex::new(Slot { outcome: None, waker: None }));
        let ud = Arc::into_raw(slot.clone()) as *mut c_void;
        let st = unsafe { sys::sa_get_token_async(self.0, Some(token_done), ud) };
        if st != sys::SA_OK {
            let e = Error::last(st);
            drop(unsafe { Arc::from_raw(ud as *const Mutex<Slot>) }); // done is never called
            slot.lock().unwrap().outcome = Some(Err(e));
        }
        TokenFuture { slot }
    }

    /// Forces a refresh if `token` is still the current one (after a 401); true when a refresh
    /// started.
    pub fn invalidate(&self, token: &Token) -> Result<bool, Error> {
        let mut refreshing = 0;
        check(unsafe { sys::sa_strategy_invalidate(self.0, token.0, &mut refreshing) })?;
        Ok(refreshing != 0)
    }

    /// The raw handle (for stack-auth-sys calls); still owned by this Strategy.
    pub fn as_raw(&self) -> sys::sa_strategy {
        self.0
    }
}

impl Drop for Strategy {
    fn drop(&mut self) {
        unsafe { sys::sa_strategy_free(self.0) }
    }
}

unsafe extern "C" fn call_token_fn(user_data: *mut c_void, req: sys::sa_request) {
    let f = &*(user_data as *const Box<TokenFn>);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("the Rust token function panicked".to_string()));
    match outcome {
        Ok(tok) => {
            sys::sa_request_resolve(req, tok.as_ptr() as *const c_char, tok.len());
        }
        Err(msg) => {
            let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
            sys::sa_request_reject(req, b"CUSTOM\0".as_ptr() as *const c_char, msg.as_ptr());
        }
    }
}

unsafe extern "C" fn drop_token_fn(user_data: *mut c_void) {
    let _ = std::panic::catch_unwind(|| drop(Box::from_raw(user_data as *mut Box<TokenFn>)));
}

struct Slot {
    outcome: Option<Result<Token, Error>>,
    waker: Option<Waker>,
}

/// The future of [`Strategy::get_token_async`].
pub struct TokenFuture {
    slot: Arc<Mutex<Slot>>,
}

impl Future for TokenFuture {
    type Output = Result<Token, Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap();
        match slot.outcome.take() {
            Some(o) => Poll::Ready(o),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Runs on a library thread, exactly once per started call.
unsafe extern "C" fn token_done(user_data: *mut c_void, status: sys::sa_status, token: sys::sa_token, error_json: *const c_char) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let slot = Arc::from_raw(user_data as *const Mutex<Slot>);
        let outcome = if status == sys::SA_OK { Ok(Token(token)) } else { Err(Error::from_json(status, opt_string(error_json))) };
        let waker = {
            let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
            s.outcome = Some(outcome);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }));
}

/// The loaded library's version ("0.1.0").
pub fn version() -> String {
    opt_string(unsafe { sys::sa_version_string() }).unwrap_or_default()
}

/// The loaded library's build ("stack-auth 0.1.0 (go1.x linux/amd64)").
pub fn build_info() -> String {
    opt_string(unsafe { sys::sa_build_info() }).unwrap_or_default()
}

/// Waits up to `timeout` for background work that must finish before exit (a device session's
/// refresh token rotation); true when nothing is pending.
pub fn flush(timeout: Duration) -> bool {
    unsafe { sys::sa_flush(timeout_ms(Some(timeout))) == sys::SA_OK }
}

/// A log line's level (the header's `SA_LOG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn raw(self) -> i32 {
        match self {
            LogLevel::Debug => sys::SA_LOG_DEBUG,
            LogLevel::Info => sys::SA_LOG_INFO,
            LogLevel::Warn => sys::SA_LOG_WARN,
            LogLevel::Error => sys::SA_LOG_ERROR,
        }
    }

    fn from_raw(level: i32) -> LogLevel {
        match level {
            l if l >= sys::SA_LOG_ERROR => LogLevel::Error,
            l if l >= sys::SA_LOG_WARN => LogLevel::Warn,
            l if l >= sys::SA_LOG_INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

type LogHandler = Box<dyn Fn(LogLevel, &str) + Send + Sync>;

// The library holds one handler per process; this is it (the trampoline reads it per line).
static LOG_HANDLER: RwLock<Option<LogHandler>> = RwLock::new(None);

/// Sends the library's log lines at `min_level` and above to `handler`, in the library's words
/// ("token store save failed error=...", never a secret), on one library thread, in order.
/// Replaces the previous handler. `handler` must return promptly (lines that queue up past 256
/// are dropped and counted) and should hand them to the host's logger (`log`, `tracing`).
pub fn set_log_handler<F>(min_level: LogLevel, handler: F)
where
    F: Fn(LogLevel, &str) + Send + Sync + 'static,
{
    *LOG_HANDLER.write().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(handler));
    unsafe { sys::sa_set_log_handler(Some(log_trampoline), min_level.raw(), std::ptr::null_mut()) };
}

/// Stops the library's log lines; once this returns, the handler is never called again.
pub fn clear_log_handler() {
    unsafe { sys::sa_set_log_handler(None, 0, std::ptr::null_mut()) };
    LOG_HANDLER.write().unwrap_or_else(|e| e.into_inner()).take();
}

unsafe extern "C" fn log_trampoline(_: *mut c_void, level: i32, message: *const c_char, len: usize) {
    // A panicking handler must not unwind into the library (that aborts the process).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let bytes = if message.is_null() { &[][..] } else { std::slice::from_raw_parts(message as *const u8, len) };
        if let Some(handler) = LOG_HANDLER.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            handler(LogLevel::from_raw(level), &String::from_utf8_lossy(bytes));
        }
    }));
}
