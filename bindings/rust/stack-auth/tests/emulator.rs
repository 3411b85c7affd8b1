//! The safe API against the emulator that tests/rust/run.sh starts (SA_EMU_URL, SA_EMU_CRN,
//! SA_EMU_KEY). Run with --test-threads=1: the request counts read the emulator's one log.

use stack_auth::{Error, LogLevel, Strategy, Token};
use std::ffi::CString;
use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run tests/rust/run.sh"))
}
fn opts() -> String {
    format!(r#"{{"baseUrl":"{}"}}"#, env("SA_EMU_URL"))
}
fn access_key() -> Strategy {
    Strategy::access_key(&env("SA_EMU_CRN"), &env("SA_EMU_KEY"), Some(&opts())).expect("strategy")
}

/// One request to the emulator's control API (HTTP/1.0, so the body ends at EOF).
fn control(method: &str, path: &str) -> String {
    let url = env("SA_EMU_URL");
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut c = TcpStream::connect(host).expect("emulator");
    write!(c, "{method} {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}
fn authorise_requests() -> usize {
    control("GET", "/_emulator/requests").matches(r#""path":"/api/authorise""#).count()
}

/// A minimal executor: parks this thread until the waker (called on a library thread) unparks it.
struct Unpark(Thread, AtomicUsize);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.unpark();
    }
}
fn block_on<F: Future>(f: F) -> (F::Output, usize) {
    let unpark = Arc::new(Unpark(thread::current(), AtomicUsize::new(0)));
    let waker = Waker::from(unpark.clone());
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) {
            return (v, unpark.1.load(Ordering::SeqCst));
        }
        thread::park();
    }
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn strategy_and_token_are_send_and_sync() {
    assert_send_sync::<Strategy>();
    assert_send_sync::<Token>();
    assert_send_sync::<Error>();
}

#[test]
fn access_key_token_is_cached() {
    control("DELETE", "/_emulator/requests");
    let s = access_key();
    let t = s.get_token().expect("token");
    let v = t.value().unwrap();
    assert_eq!(v.matches('.').count(), 2, "a JWT");
    assert!(t.json().unwrap().contains(&format!("\"token\":\"{v}\"")));
    assert_eq!(s.get_token().unwrap().value().unwrap(), v);
    assert_eq!(s.try_get_token().unwrap().expect("cached").value().unwrap(), v);
    assert_eq!(authorise_requests(), 1);
}

#[test]
fn threads_share_one_request() {
    control("DELETE", "/_emulator/requests");
    let s = Arc::new(access_key());
    let values: Vec<String> = (0..8)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || s.get_token().unwrap().value().unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(values.iter().all(|v| v == &values[0]));
    assert_eq!(authorise_requests(), 1);
}

#[test]
fn async_get_token_wakes_the_task() {
    control("DELETE", "/_emulator/requests");
    let s = access_key();
    let (t, wakes) = block_on(s.get_token_async());
    let v = t.expect("token").value().unwrap();
    assert_eq!(v.matches('.').count(), 2);
    assert!(wakes <= 1, "woken {wakes} times");
    // Cached now: the same token, still one request.
    let (t2, _) = block_on(s.get_token_async());
    assert_eq!(t2.unwrap().value().unwrap(), v);
    assert_eq!(authorise_requests(), 1);
}

#[test]
fn async_error_carries_the_code() {
    let s = Strategy::access_key(&env("SA_EMU_CRN"), "CSAKnot.the-key", Some(&opts())).unwrap();
    let (r, _) = block_on(s.get_token_async());
    let e = r.unwrap_err();
    assert_eq!(e.status(), stack_auth_sys::SA_E_AUTH, "{e:?}");
    let sync = s.get_token().unwrap_err();
    assert_eq!(e.code(), sync.code(), "async and blocking calls name the same code");
    assert!(e.code().is_some() && !e.message().is_empty(), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("the-key"), "the key leaked: {e:?}");
}

#[test]
fn dropping_a_pending_future_is_safe() {
    let s = access_key();
    drop(s.get_token_async()); // the library completes it later; the token is freed then
    assert!(s.get_token().is_ok());
}

#[test]
fn bad_input_is_a_typed_error() {
    let e = Strategy::access_key("not-a-crn", &env("SA_EMU_KEY"), Some(&opts())).unwrap_err();
    assert_eq!(e.code(), Some("INVALID_CRN"), "{e:?}");
    assert_eq!(e.status(), stack_auth_sys::SA_E_AUTH);
    assert!(e.to_string().starts_with("INVALID_CRN: "), "{e}");
    let e = Strategy::static_token("a\0b").unwrap_err();
    assert_eq!(e.status(), stack_auth_sys::SA_E_INVALID_ARG);
    let e = Strategy::access_key(&env("SA_EMU_CRN"), &env("SA_EMU_KEY"), Some("{\"nope\":1}")).unwrap_err();
    assert_eq!(e.status(), stack_auth_sys::SA_E_INVALID_ARG, "{e:?}");
}

#[test]
fn token_debug_hides_the_secret() {
    let s = Strategy::static_token("header.payload.sig").unwrap();
    let t = s.get_token().unwrap();
    assert_eq!(t.value().unwrap(), "header.payload.sig");
    assert_eq!(format!("{t:?}"), "Token(<redacted>)");
}

#[test]
fn closure_strategy_errors_and_panics_become_callback_errors() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let s = Strategy::from_fn(
        move || match c.fetch_add(1, Ordering::SeqCst) {
            0 => Ok("a.b.c".to_string()),
            1 => Err("no token today".to_string()),
            _ => panic!("boom"),
        },
        None,
    )
    .unwrap();
    assert_eq!(s.get_token().unwrap().value().unwrap(), "a.b.c");
    let e = s.get_token().unwrap_err();
    assert_eq!(e.status(), stack_auth_sys::SA_E_CALLBACK, "{e:?}");
    assert!(e.message().contains("no token today"), "{e:?}");
    let e = s.get_token().unwrap_err();
    assert_eq!(e.status(), stack_auth_sys::SA_E_CALLBACK, "{e:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn version_is_the_crates() {
    assert_eq!(stack_auth::version(), env!("CARGO_PKG_VERSION"));
    assert!(stack_auth::build_info().starts_with(&format!("stack-auth {} (go", env!("CARGO_PKG_VERSION"))));
}

/// Core's log lines reach the handler in core's words, and never carry a secret: a file store
/// in a folder that cannot be created fails its save, which the library logs at WARN.
#[test]
fn log_lines_reach_the_handler() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    stack_auth::set_log_handler(LogLevel::Info, move |level, line| {
        let _ = tx.lock().unwrap().send((level, line.to_string()));
    });
    let mut store = 0;
    let url = CString::new("file:///proc/stack-auth-cannot-create/tokens.json").unwrap();
    assert_eq!(unsafe { stack_auth_sys::sa_store_open(&mut store, url.as_ptr()) }, stack_auth_sys::SA_OK);
    let options = format!(r#"{{"baseUrl":"{}","store":{store}}}"#, env("SA_EMU_URL"));
    let s = Strategy::access_key(&env("SA_EMU_CRN"), &env("SA_EMU_KEY"), Some(&options)).expect("strategy");
    unsafe { stack_auth_sys::sa_store_free(store) };
    let token = s.get_token().expect("token").value().expect("value");
    let mut lines = Vec::new();
    let level = loop {
        let (level, line) = rx.recv_timeout(Duration::from_secs(10)).expect("the save failure was logged");
        let found = line.starts_with("token store save failed error=");
        lines.push(line);
        if found {
            break level;
        }
    };
    stack_auth::clear_log_handler();
    assert_eq!(level, LogLevel::Warn);
    let key_secret = env("SA_EMU_KEY").split_once('.').map(|(_, s)| s.to_string()).unwrap();
    assert!(lines.iter().all(|l| !l.contains(&token) && !l.contains(&key_secret)), "no secret in a log line");
}
