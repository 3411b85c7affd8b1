//! libstack_auth from Rust, against the emulator tests/rust/run.sh starts (SA_EMU_URL,
//! SA_EMU_CRN, SA_EMU_KEY). A plain runner (harness = false): tests run in order, each in
//! catch_unwind, and the last one checks that no library object is left.
//! Prints "ok NAME" / "FAIL NAME" and a last line "rust: N passed, M failed".

use stack_auth_abi_tests::ffi::*;
use stack_auth_abi_tests::*;
use std::ffi::{CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

struct Emu {
    url: String,
    crn: String,
    key: String,
    ws: String,
}

fn emu() -> Emu {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run tests/rust/run.sh"));
    let crn = var("SA_EMU_CRN");
    let ws = crn.rsplit(':').next().unwrap().to_string();
    Emu { url: var("SA_EMU_URL"), crn, key: var("SA_EMU_KEY"), ws }
}

fn opts(e: &Emu) -> String {
    format!(r#"{{"baseUrl":"{}"}}"#, e.url)
}

/// Polls cond for up to ms milliseconds.
fn wait_until(ms: u64, cond: impl Fn() -> bool) -> bool {
    let until = Instant::now() + Duration::from_millis(ms);
    while !cond() {
        if Instant::now() > until {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
    true
}

/// Counts drops of the closure a strategy owns: the box is dropped only in destroy.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn test_version() {
    unsafe {
        assert_eq!(sa_abi_version(), SA_ABI_VERSION);
        // The version's one source; make gen stamps it into the header the library is built from.
        let tables = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../build/gen/tables.json"));
        let version = tables.split("\"version\": \"").nth(1).and_then(|r| r.split('"').next()).unwrap();
        let n: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(sa_version_number(), (n[0] << 16) | (n[1] << 8) | n[2]);
        assert_eq!(CStr::from_ptr(sa_version_string()).to_str().unwrap(), version);
        assert!(CStr::from_ptr(sa_build_info()).to_str().unwrap().starts_with(&format!("stack-auth {version} (go")));
    }
}

fn test_access_key() {
    let e = emu();
    let s = Strategy::access_key(&e.crn, &e.key, Some(&opts(&e))).expect("strategy");
    let t = s.get_token(10_000).expect("token");
    let json = t.json().unwrap();
    for k in ["token", "subject", "workspaceId", "issuer", "services", "expiresAt"] {
        assert!(json.contains(&format!("\"{k}\":")), "{k} missing in {json}");
    }
    assert!(json.contains(&format!("\"workspaceId\":\"{}\"", e.ws)), "{json}");
    let v = t.value().unwrap();
    assert_eq!(v.matches('.').count(), 2, "a JWT");
    assert!(json.contains(&v));
    // Cached: the same token again.
    assert_eq!(s.get_token(10_000).unwrap().value().unwrap(), v);
}

fn test_access_key_errors() {
    let e = emu();
    let err = Strategy::access_key("not-a-crn", &e.key, Some(&opts(&e))).unwrap_err();
    assert_eq!(err.status, SA_E_AUTH);
    assert_eq!(err.code.as_deref(), Some("INVALID_CRN"));
    let err = Strategy::access_key(&e.crn, &e.key, Some(r#"{"nope":1}"#)).unwrap_err();
    assert_eq!(err.status, SA_E_INVALID_ARG);
    assert!(err.message.unwrap().contains("nope"));
    // A success clears this thread's error.
    let s = Strategy::access_key(&e.crn, &e.key, Some(&opts(&e))).unwrap();
    let le = last_error();
    assert_eq!((le.status, le.code, le.message, le.json), (SA_OK, None, None, None));
    drop(s);
    // Handles: 0, freed, invented.
    let mut t = 7u64;
    for h in [0u64, u64::MAX, 0x7fff_ffff_dead_beef] {
        assert_eq!(unsafe { sa_get_token(&mut t, h, 100) }, SA_E_INVALID_HANDLE);
        assert_eq!(t, 7);
    }
    let raw = {
        let s = Strategy::access_key(&e.crn, &e.key, Some(&opts(&e))).unwrap();
        s.0
    };
    assert_eq!(unsafe { sa_get_token(&mut t, raw, 100) }, SA_E_INVALID_HANDLE);
    assert_eq!(last_error().code.as_deref(), Some("INVALID_HANDLE"));
    // Invalid UTF-8 is refused.
    let bad = CString::new(vec![b'c', 0xff, 0xfe]).unwrap();
    let mut s = 0u64;
    let st = unsafe { sa_access_key_strategy_new(&mut s, bad.as_ptr(), bad.as_ptr(), std::ptr::null()) };
    assert_eq!(st, SA_E_INVALID_ARG);
}

fn test_closure_token() {
    let drops = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let c = calls.clone();
    let f: TokenFn = Box::new(move || {
        let _keep = &guard; // the closure owns the guard: dropping the box drops it
        c.fetch_add(1, Ordering::SeqCst);
        Ok("rust-closure-token".to_string())
    });
    let s = Strategy::from_fn(f, None).expect("fn strategy");
    for _ in 0..3 {
        assert_eq!(s.get_token(5_000).unwrap().value().unwrap(), "rust-closure-token");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3, "asked on every call");
    assert_eq!(drops.load(Ordering::SeqCst), 0, "destroy before free");
    drop(s);
    assert!(wait_until(3_000, || drops.load(Ordering::SeqCst) == 1), "destroy never ran");
    thread::sleep(Duration::from_millis(20));
    assert_eq!(drops.load(Ordering::SeqCst), 1, "destroy ran more than once");
    assert_eq!(DOUBLE_DESTROYS.load(Ordering::SeqCst), 0);
}

fn test_closure_concurrent() {
    // Concurrent callers share one request; the closure runs on the first caller's thread
    // (never this one, which does not ask) and may take its time.
    let calls = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let (c, guard) = (calls.clone(), DropCount(drops.clone()));
    let caller = thread::current().id();
    let f: TokenFn = Box::new(move || {
        let _keep = &guard;
        assert_ne!(thread::current().id(), caller, "hook on the caller's thread");
        c.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(150));
        Ok("shared".to_string())
    });
    let s = Strategy::from_fn(f, Some(r#"{"timeoutMs":5000}"#)).unwrap();
    thread::scope(|sc| {
        let hs: Vec<_> = (0..8).map(|_| sc.spawn(|| s.get_token(5_000).unwrap().value().unwrap())).collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), "shared");
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1, "single flight");
    drop(s);
    assert!(wait_until(3_000, || drops.load(Ordering::SeqCst) == 1));
}

fn test_closure_err_and_panic() {
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let f: TokenFn = Box::new(move || {
        let _keep = &guard;
        Err("the vault is sealed".to_string())
    });
    let s = Strategy::from_fn(f, None).unwrap();
    let err = s.get_token(5_000).unwrap_err();
    assert_eq!(err.status, SA_E_CALLBACK);
    assert_eq!(err.code.as_deref(), Some("RUST_ERROR"));
    assert_eq!(err.message.as_deref(), Some("the vault is sealed"));
    drop(s);
    assert!(wait_until(3_000, || drops.load(Ordering::SeqCst) == 1));

    // A panic is caught at the boundary (unwinding into Go would abort) and becomes an error.
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let f: TokenFn = Box::new(move || {
        let _keep = &guard;
        panic!("hook exploded")
    });
    let s = Strategy::from_fn(f, None).unwrap();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // an expected panic: keep the output clean
    let err = s.get_token(5_000).unwrap_err();
    std::panic::set_hook(prev);
    assert_eq!(err.status, SA_E_CALLBACK);
    assert_eq!(err.code.as_deref(), Some("RUST_PANIC"));
    assert_eq!(err.message.as_deref(), Some("hook exploded"));
    drop(s);
    assert!(wait_until(3_000, || drops.load(Ordering::SeqCst) == 1));
}

fn test_closure_timeout_and_bad_options() {
    // A closure runs on the thread that asked (the hook resolves inside its call: no thread
    // hop), so it is the caller's own code: the library's timeout bounds waits, not it.
    let caller = thread::current().id();
    let f: TokenFn = Box::new(move || {
        assert_eq!(thread::current().id(), caller, "the closure runs on the asking thread");
        Ok("on-the-caller".into())
    });
    let s = Strategy::from_fn(f, Some(r#"{"timeoutMs":200}"#)).unwrap();
    assert_eq!(s.get_token(0).unwrap().value().unwrap(), "on-the-caller");
    drop(s);

    // Failure to build: the wrapper keeps (and frees) the closure; destroy is not called.
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let f: TokenFn = Box::new(move || {
        let _keep = &guard;
        Ok("x".into())
    });
    let err = Strategy::from_fn(f, Some(r#"{"baseUrl":"http://x"}"#)).unwrap_err();
    assert_eq!(err.status, SA_E_INVALID_ARG);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped by the wrapper, once");
    assert_eq!(DOUBLE_DESTROYS.load(Ordering::SeqCst), 0);
}

fn test_debug_panic() {
    // A Go panic never unwinds into Rust: it is contained as SA_E_INTERNAL.
    assert_eq!(unsafe { sa_debug_panic() }, SA_E_INTERNAL);
    assert_eq!(last_error().code.as_deref(), Some("INTERNAL_ERROR"));
}

fn test_no_live_objects() {
    assert!(wait_until(3_000, || live_objects() == 0), "{} live objects", live_objects());
    assert_eq!(DOUBLE_DESTROYS.load(Ordering::SeqCst), 0);
}

fn main() {
    let tests: &[(&str, fn())] = &[
        ("version", test_version),
        ("access_key", test_access_key),
        ("access_key_errors", test_access_key_errors),
        ("closure_token", test_closure_token),
        ("closure_concurrent", test_closure_concurrent),
        ("closure_err_and_panic", test_closure_err_and_panic),
        ("closure_timeout_and_bad_options", test_closure_timeout_and_bad_options),
        ("debug_panic", test_debug_panic),
        ("no_live_objects", test_no_live_objects),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        let t0 = Instant::now();
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(()) => {
                passed += 1;
                println!("ok   {name:<34} {:>6} ms", t0.elapsed().as_millis());
            }
            Err(_) => {
                failed += 1;
                println!("FAIL {name:<34} {:>6} ms", t0.elapsed().as_millis());
            }
        }
    }
    println!("rust: {passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
