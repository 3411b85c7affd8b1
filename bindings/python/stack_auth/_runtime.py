"""The native side of stack_auth, imported on first use (never by ``import stack_auth``).

Importing this module loads ``stack_auth._native`` (the cffi extension, which links
libstack_auth.so.1 and so starts the library's Go runtime), checks the ABI version, and
registers what the process needs once: the ``extern "Python"`` callbacks, an atexit handler
and a fork handler.

Threading model
  * AuthStrategyFn and OIDC get_jwt are called by _api on the caller's thread (docs/architecture.md D4);
    a token or JWT they return at once goes to the library by a C call. What is not ready
    (an awaitable, a future) reaches the library through the strategy's hook, which hands
    it back here (_api._Pending), so the library bounds it and shares it.
  * Hooks the library calls (TokenStoreFn, and the pending values above) run on the thread
    that asked. The ``extern "Python"`` functions below only hand the request to a thread the
    binding owns and return at once: sync callables run on a small pool of daemon threads,
    coroutine functions on the loop of a coroutine awaiting get_token_async (caller_loop),
    else on a private event loop in its own daemon thread. Whatever happens, the request is completed exactly once, with
    sa_request_resolve or sa_request_reject (an exception becomes a rejection carrying the
    exception's class name and message).
  * Objects passed to C as user_data are ``ffi.new_handle`` handles kept in registries:
    hooks until the library calls their destroy callback, sa_get_token_async completions
    until their done callback.
  * At exit, every live handle is freed and the binding waits (briefly) until the library
    has delivered the completions and destroy callbacks that freeing triggers, so no library
    thread calls into Python while the interpreter finalises (docs/c-abi.md P14).
  * After fork() the library answers SA_E_FORKED in the child; the binding forgets the
    parent's pending work there so the child's exit does not wait for it.
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import json
import math
import logging
import os
import queue
import threading
import weakref
from typing import Any, Callable, Dict, Optional, Tuple, cast

from . import _errors
from ._errors import AuthError, from_status

from ._native import ffi, lib  # noqa: E402  (loads libstack_auth)

# BEGIN GENERATED abi from build/gen/tables.json (make gen)
ABI_VERSION = 1
# END GENERATED abi

if lib.sa_abi_version() != ABI_VERSION:  # pragma: no cover - only with a mismatched library
    raise ImportError(
        f"libstack_auth ABI {lib.sa_abi_version()} does not match this binding's ABI {ABI_VERSION}"
    )

# Help texts in errors name this binding's API (the library's per-language table).
lib.sa_set_host_language(b"python")

NULL = ffi.NULL


# ---- errors ------------------------------------------------------------------------------


def last_error(status: int) -> AuthError:
    """The exception for ``status``; must run on the thread that made the failing call,
    right after it (the detail is per thread)."""
    p = lib.sa_last_error_json()
    text = ffi.string(p).decode("utf-8", "replace") if p != NULL else None
    return from_status(status, text)


def raise_for(status: int) -> None:
    if status != 0:
        raise last_error(status)


def cstr(value: str, name: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    # The C ABI takes NUL-terminated strings: a NUL inside would silently cut the value short.
    if "\0" in value:
        from ._errors import InvalidArgument

        raise InvalidArgument("a string argument contains a NUL character")
    # surrogateescape: undecodable input reaches the library, which refuses invalid UTF-8.
    return value.encode("utf-8", "surrogateescape")


def options(**kw: Any) -> Any:
    """options_json for the library (NULL when every option is None)."""
    doc = {k: v for k, v in kw.items() if v is not None}
    if not doc:
        return NULL
    return json.dumps(doc).encode("utf-8")


def timeout_ms(timeout: Optional[float]) -> Optional[int]:
    """Seconds to the library's int32 milliseconds, rounded away from zero (any positive
    value is at least 1 ms) and clamped keeping the sign: the library decides which values
    are valid, so an out-of-range one still gets its INVALID_ARGUMENT."""
    if timeout is None:
        return None
    ms = float(timeout) * 1000
    if math.isnan(ms):
        raise TypeError("timeout must be a number of seconds, not NaN")
    ms = max(-(2**31), min(2**31 - 1, ms))
    return math.ceil(ms) if ms > 0 else math.floor(ms)


def wait_ms(timeout: Optional[float]) -> int:
    """A call's own timeout for the library: 0 (None) is the default, else timeout_ms."""
    return 0 if timeout is None else cast(int, timeout_ms(timeout))


def checked_wait_ms(timeout: Optional[float]) -> int:
    """wait_ms, refused by the library's rule (sa_check_timeout) before a cached fast path
    that takes no timeout, so a bad timeout fails whether or not a token is cached."""
    ms = wait_ms(timeout)
    if ms:
        raise_for(lib.sa_check_timeout(ms))
    return ms


def take_string(pp: Any, plen: Any) -> str:
    """Copies a library-owned string and frees it (sa_free zeroes it)."""
    try:
        return cast(bytes, ffi.unpack(pp[0], plen[0])).decode("utf-8")
    finally:
        lib.sa_free(pp[0])


# ---- handles freed when their object is collected, or at exit -----------------------------

_live_lock = threading.Lock()
_live: Dict[int, Tuple[Callable[[int], None], int]] = {}
_live_seq = 0


def _release(key: int) -> None:
    with _live_lock:
        entry = _live.pop(key, None)
    if entry is not None:
        entry[0](entry[1])


def track(obj: Any, free: Callable[[int], None], handle: int) -> "weakref.finalize[Any, Any]":
    """Frees ``handle`` with ``free`` when ``obj`` is collected, when the returned finalizer
    is called (close()), or at interpreter exit, whichever comes first, exactly once."""
    global _live_seq
    with _live_lock:
        _live_seq += 1
        key = _live_seq
        _live[key] = (free, handle)
    fin = weakref.finalize(obj, _release, key)
    fin.atexit = False  # our own atexit handler frees them, then drains (see _at_exit)
    return fin


# ---- host callbacks -----------------------------------------------------------------------

_state_lock = threading.Condition(threading.Lock())
# id(obj) -> ffi.new_handle(obj): hooks until destroy, async completions until done.
_hooks: Dict[int, Any] = {}
_pending: Dict[int, Any] = {}
_stats = {"destroy_calls": 0, "hooks_registered": 0}
_forked = False


class DestroyCount:
    """How many times the library called a hook's destroy (exactly once, eventually).
    Held by the strategy or store object, not by the hook, so tests can watch it."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0


class Hook:
    """The Python side of one (fn, user_data, destroy) registration."""

    __slots__ = ("get", "load", "save", "send", "load_scope", "save_scope", "destroyed", "__weakref__")

    def __init__(
        self,
        get: Optional[Callable[[], Any]] = None,
        load: Optional[Callable[..., Any]] = None,
        save: Optional[Callable[..., Any]] = None,
        send: Optional[Callable[..., Any]] = None,
    ) -> None:
        self.get = get
        self.send = send
        self.load = load
        self.save = save
        # A store callable that accepts one more argument gets the request's scope.
        self.load_scope = load is not None and _takes_extra_arg(load, 0)
        self.save_scope = save is not None and _takes_extra_arg(save, 1)
        self.destroyed = DestroyCount()


def _takes_extra_arg(fn: Callable[..., Any], fixed: int) -> bool:
    """Whether fn can be called with one positional argument more than ``fixed``."""
    try:
        inspect.signature(fn).bind(*([None] * (fixed + 1)))
    except (TypeError, ValueError):  # no room for it, or no signature (some builtins)
        return False
    return True


def _scope(req: int) -> str:
    """The credential scope of a store request (read before the request is completed)."""
    out = ffi.new("char **")
    n = ffi.new("size_t *")
    if lib.sa_request_scope(req, out, n) != lib.SA_OK:
        return ""
    try:
        return cast(bytes, ffi.unpack(out[0], n[0])).decode("utf-8")
    finally:
        lib.sa_free(out[0])


def register_hook(hook: Hook) -> Any:
    """user_data for ``hook``, kept alive until the library calls destroy."""
    h = ffi.new_handle(hook)
    with _state_lock:
        _hooks[id(hook)] = h
        _stats["hooks_registered"] += 1
    return h


def unregister_hook(hook: Hook) -> None:
    """For a registration the library refused (it then never calls destroy)."""
    with _state_lock:
        _hooks.pop(id(hook), None)
        _state_lock.notify_all()


def stats() -> Dict[str, int]:
    """Counters for tests: live hooks, destroy calls, pending async completions."""
    with _state_lock:
        return {
            "hooks_live": len(_hooks),
            "pending": len(_pending),
            "destroy_calls": _stats["destroy_calls"],
            "hooks_registered": _stats["hooks_registered"],
            "async_started": _stats.get("async_started", 0),
        }


class _Workers:
    """Daemon threads for sync host callables: one more starts whenever none is idle, so a
    callable that blocks (or never returns) never holds up another strategy's callback, and
    none of them keeps the interpreter from exiting."""

    def __init__(self) -> None:
        self._q: "queue.SimpleQueue[Tuple[Callable[..., None], Tuple[Any, ...]]]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1  # reserve an idle worker for this item
        self._q.put((fn, args))
        if spawn:
            threading.Thread(target=self._run, name="stack-auth-callback", daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, args = self._q.get()
            try:
                fn(*args)
            except BaseException:  # noqa: BLE001 - fn completes its request itself
                pass
            del fn, args
            with self._lock:
                self._idle += 1


class _PrivateLoop:
    """The binding's own asyncio loop, in a daemon thread, for async host callables."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._tasks: "set[asyncio.Task[None]]" = set()  # strong refs: asyncio keeps only weak ones

    def get(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            with self._lock:
                if self._loop is None:
                    new = asyncio.new_event_loop()
                    threading.Thread(
                        target=self._run, args=(new,), name="stack-auth-asyncio", daemon=True
                    ).start()
                    self._loop = new
                loop = self._loop
        return loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def run(self, awaitable: Any, finish: Callable[[Any, Optional[BaseException]], None]) -> None:
        loop = self.get()

        async def runner() -> None:
            try:
                value = await awaitable
            except BaseException as e:  # noqa: BLE001
                finish(None, e)
            else:
                finish(value, None)

        def start() -> None:
            task = loop.create_task(runner())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(start)


_workers = _Workers()
_loop = _PrivateLoop()


def _reject(req: int, exc: BaseException) -> None:
    """Fails req with the exception's code (its stack-auth code, else its class name)."""
    code = exc.code if isinstance(exc, AuthError) else type(exc).__name__
    message = str(exc) or type(exc).__name__
    lib.sa_request_reject(
        req, code.encode("utf-8", "replace"), message.encode("utf-8", "replace")
    )


def _resolve(req: int, value: Optional[bytes]) -> None:
    if value:
        lib.sa_request_resolve(req, value, len(value))
    else:
        lib.sa_request_resolve(req, NULL, 0)


_log = logging.getLogger("stack_auth")


def _respond(req: int, value: Any) -> None:
    """Answers a transport request with an HttpResponse (or a (status, headers, body) tuple)."""
    if isinstance(value, tuple) and len(value) == 3:
        status, headers, body = value
    else:
        status, headers, body = value.status, getattr(value, "headers", ()), getattr(value, "body", b"")
    if isinstance(headers, dict) or hasattr(headers, "items"):
        headers = list(headers.items())
    pairs = [[str(k).lower(), str(v)] for k, v in (headers or ())]
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    st = lib.sa_request_respond(req, int(status), json.dumps(pairs).encode("utf-8"), data or NULL, len(data))
    if st != lib.SA_OK:
        raise ValueError(f"the transport's answer was refused: {last_error(st)}")


def _answer(kind: str, req: int, value: Any, exc: Optional[BaseException]) -> None:
    """Completes req with a callable's outcome (runs on a binding-owned thread)."""
    try:
        if exc is not None and kind == "http":
            # No answer from the host's client: a REQUEST_ERROR of the call that needed it.
            lib.sa_request_reject(
                req, b"REQUEST_ERROR", f"the transport failed: {type(exc).__name__}: {exc}".encode("utf-8", "replace")
            )
        elif kind == "http":
            _respond(req, value)
        elif exc is not None:
            _reject(req, exc)  # a store failure: the library goes on without it, and logs it
        elif kind == "save":
            _resolve(req, None)
        elif kind == "load" and value is None:
            _resolve(req, None)  # nothing stored
        elif isinstance(value, str):
            _resolve(req, value.encode("utf-8"))
        elif isinstance(value, (bytes, bytearray)):
            _resolve(req, bytes(value))
        else:
            what = "a token" if kind == "get" else "the stored token JSON or None"
            _reject(req, TypeError(f"the callback must return {what} (str), not {type(value).__name__}"))
    except BaseException as e:  # noqa: BLE001 - never leave a request open
        try:
            _reject(req, e)
        except BaseException:  # noqa: BLE001
            pass


def _call(kind: str, fn: Callable[..., Any], args: Tuple[Any, ...], req: int) -> None:
    """Runs a sync callable (worker thread), following what it returns."""
    try:
        value = fn(*args)
    except BaseException as e:  # noqa: BLE001
        _answer(kind, req, None, e)
        return
    _follow(kind, value, req)


def _follow(kind: str, value: Any, req: int) -> None:
    if inspect.isawaitable(value):
        _loop.run(value, lambda v, e: _answer(kind, req, v, e))
    elif isinstance(value, concurrent.futures.Future):
        # Answered later, from whichever thread completes the future.
        def done(f: "concurrent.futures.Future[Any]") -> None:
            if f.cancelled():
                _answer(kind, req, None, concurrent.futures.CancelledError("the future was cancelled"))
            elif f.exception() is not None:
                _answer(kind, req, None, f.exception())
            else:
                _answer(kind, req, f.result(), None)

        value.add_done_callback(done)
    else:
        _answer(kind, req, value, None)


def _dispatch(kind: str, fn: Optional[Callable[..., Any]], args: Tuple[Any, ...], req: int) -> None:
    """Called on a library thread: hand the request to a binding thread and return."""
    if fn is None:
        _resolve(req, None)
    elif inspect.iscoroutinefunction(fn):
        loop = caller_loop()
        if loop is None:
            _loop.run(fn(*args), lambda v, e: _answer(kind, req, v, e))
        else:
            _run_on(loop, fn(*args), lambda v, e: _answer(kind, req, v, e))
    else:
        _workers.submit(_call, kind, fn, args, req)


# ---- the caller's loop ----------------------------------------------------------------------
# While a coroutine awaits get_token_async, its loop is free: async store callables the
# library calls meanwhile run there, so objects bound to the app's loop (an aiohttp or httpx
# session, a lock) work. With several loops awaiting, the most recent one is used; with none
# (the blocking get_token), the binding's private loop.

_caller_loops: Dict[Any, int] = {}
_caller_lock = threading.Lock()


def enter_loop(loop: asyncio.AbstractEventLoop) -> None:
    with _caller_lock:
        _caller_loops[loop] = _caller_loops.pop(loop, 0) + 1  # re-inserted: the most recent


def exit_loop(loop: asyncio.AbstractEventLoop) -> None:
    with _caller_lock:
        n = _caller_loops.pop(loop, 0) - 1
        if n > 0:
            _caller_loops[loop] = n


def caller_loop() -> Optional[asyncio.AbstractEventLoop]:
    with _caller_lock:
        for loop in reversed(list(_caller_loops)):
            if loop.is_running() and not loop.is_closed():
                return cast(asyncio.AbstractEventLoop, loop)
    return None


def _run_on(loop: asyncio.AbstractEventLoop, coro: Any, finish: Callable[[Any, Optional[BaseException]], None]) -> None:
    try:
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError:  # the loop closed meanwhile
        coro.close()
        finish(None, RuntimeError("the caller's event loop is closed"))
        return

    def done(f: "concurrent.futures.Future[Any]") -> None:
        if f.cancelled():
            finish(None, concurrent.futures.CancelledError("the callback's task was cancelled"))
        else:
            finish(f.result() if f.exception() is None else None, f.exception())

    fut.add_done_callback(done)


def private_loop() -> asyncio.AbstractEventLoop:
    return _loop.get()


@ffi.def_extern()
def _sa_py_get_token(user_data: Any, req: int) -> None:
    req = int(req)
    try:
        hook = ffi.from_handle(user_data)
        _dispatch("get", hook.get, (), req)
    except BaseException as e:  # noqa: BLE001
        _reject(req, e)


@ffi.def_extern()
def _sa_py_store_load(user_data: Any, req: int) -> None:
    req = int(req)
    try:
        hook = ffi.from_handle(user_data)
        _dispatch("load", hook.load, (_scope(req),) if hook.load_scope else (), req)
    except BaseException as e:  # noqa: BLE001
        _reject(req, e)


@ffi.def_extern()
def _sa_py_store_save(user_data: Any, req: int, token_json: Any, length: int) -> None:
    req = int(req)
    try:
        hook = ffi.from_handle(user_data)
        # Borrowed for the duration of this call only: copy it now.
        text = ffi.unpack(token_json, length).decode("utf-8")
        _dispatch("save", hook.save, (text, _scope(req)) if hook.save_scope else (text,), req)
    except BaseException as e:  # noqa: BLE001
        _reject(req, e)


@ffi.def_extern()
def _sa_py_event(user_data: Any, event_json: Any, length: int) -> None:
    """An engine event (sa_strategy_set_event_hook), on the library's event thread."""
    try:
        hook = ffi.from_handle(user_data)
        hook.get(json.loads(ffi.unpack(event_json, length).decode("utf-8")))
    except Exception:  # noqa: BLE001 - reported, never lost, never raised into the library
        _log.exception("the on_event callback raised")


@ffi.def_extern()
def _sa_py_log(user_data: Any, level: int, message: Any, length: int) -> None:
    """One of the library's log lines (sa_set_log_handler): its level (SA_LOG_DEBUG -4 ...
    SA_LOG_ERROR 8) becomes logging's (DEBUG 10 ... ERROR 40); the words are the library's."""
    try:
        _log.log(20 + int(level) * 10 // 4, "%s", ffi.unpack(message, length).decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001,S110 - a broken logging handler must not reach the library
        pass


# The library's log lines (a failing store, a failed background refresh) go to "stack_auth".
lib.sa_set_log_handler(lib._sa_py_log, 0, NULL)  # SA_LOG_INFO and above


@ffi.def_extern()
def _sa_py_http_send(user_data: Any, req: int, request_json: Any, body: Any, length: int) -> None:
    req = int(req)
    try:
        hook = ffi.from_handle(user_data)
        # Borrowed for the duration of this call only: copy them now.
        meta = json.loads(ffi.string(request_json).decode("utf-8"))
        data = ffi.unpack(body, length) if length else b""
        from ._api import HttpRequest  # the public type; _api imports this module first

        request = HttpRequest(meta["method"], meta["url"], [tuple(h) for h in meta["headers"]], data)
        _dispatch("http", hook.send, (request,), req)
    except BaseException as e:  # noqa: BLE001
        _answer("http", req, None, e)


@ffi.def_extern()
def _sa_py_destroy(user_data: Any) -> None:
    hook = ffi.from_handle(user_data)
    with _state_lock:
        hook.destroyed.calls += 1
        _stats["destroy_calls"] += 1
        _hooks.pop(id(hook), None)
        _state_lock.notify_all()


# ---- sa_get_token_async completions ---------------------------------------------------------


class SyncWaiter:
    """A blocking caller waiting on a threading.Event (interruptible by signals)."""

    __slots__ = ("event", "token", "error", "__weakref__")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.token: Any = None
        self.error: Optional[BaseException] = None

    def complete(self, token: Any, error: Optional[BaseException]) -> None:
        self.token, self.error = token, error
        self.event.set()


def _settle(fut: "asyncio.Future[Any]", token: Any, error: Optional[BaseException]) -> None:
    if fut.done():  # the awaiting task was cancelled; the token is freed with its object
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(token)


class AsyncWaiter:
    """An awaiting coroutine: the outcome is delivered to its loop with call_soon_threadsafe."""

    __slots__ = ("loop", "future", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future = loop.create_future()

    def complete(self, token: Any, error: Optional[BaseException]) -> None:
        try:
            self.loop.call_soon_threadsafe(_settle, self.future, token, error)
        except RuntimeError:
            pass  # the loop is closed: nobody waits; the token is freed with its object


def start_async(strategy: int, waiter: Any, ms: int = 0) -> None:
    """sa_get_token_async_ex; waiter.complete(token, error) is called on a library thread
    within ms (0: the strategy's timeout)."""
    _start(waiter, lambda h: lib.sa_get_token_async_ex(strategy, ms, lib._sa_py_token_done, h))


def start_async_jwt(strategy: int, jwt: bytes, waiter: Any, ms: int = 0) -> None:
    """sa_oidc_get_token_with_jwt_async; as start_async."""
    _start(waiter, lambda h: lib.sa_oidc_get_token_with_jwt_async(strategy, jwt, len(jwt), ms, lib._sa_py_token_done, h))


def _start(waiter: Any, call: Callable[[Any], int]) -> None:
    """Runs call with a handle of waiter that stays pending until the library completes it
    (or call fails)."""
    h = ffi.new_handle(waiter)
    key = id(waiter)
    with _state_lock:
        _pending[key] = h
        _stats["async_started"] = _stats.get("async_started", 0) + 1
    status = call(h)
    if status != 0:
        err = last_error(status)
        with _state_lock:
            _pending.pop(key, None)
            _state_lock.notify_all()
        raise err


# Set by _api when it binds: builds a ServiceToken owning a token handle.
token_from_handle: Callable[[int], Any] = lambda h: h  # noqa: E731


@ffi.def_extern()
def _sa_py_token_done(user_data: Any, status: int, token: int, error_json: Any) -> None:
    waiter = ffi.from_handle(user_data)
    try:
        if status == 0:
            tok, err = token_from_handle(int(token)), None
        else:
            text = ffi.string(error_json).decode("utf-8", "replace") if error_json != NULL else None
            tok, err = None, from_status(int(status), text)
        waiter.complete(tok, err)
    finally:
        with _state_lock:
            _pending.pop(id(waiter), None)
            _state_lock.notify_all()


# ---- process lifetime -----------------------------------------------------------------------

EXIT_DRAIN_SECONDS = 5.0


def close_all() -> None:
    """Frees every live handle (strategies, stores, flows, tokens)."""
    with _live_lock:
        keys = list(_live)
    for key in keys:
        _release(key)


def drain(timeout: float) -> bool:
    """Waits until no completion or destroy callback is outstanding."""
    with _state_lock:
        return _state_lock.wait_for(lambda: not _pending and not _hooks, timeout)


def _at_exit() -> None:
    if _forked:
        return  # the library is unusable here and owes this process nothing
    close_all()
    # A device session's refresh the server may already have performed finishes and saves
    # the rotated refresh token in the background; wait for it (bounded) before exiting.
    lib.sa_flush(int(EXIT_DRAIN_SECONDS * 1000))
    drain(EXIT_DRAIN_SECONDS)


def _after_fork_in_child() -> None:
    global _forked, _state_lock, _live_lock, _workers, _loop
    _forked = True
    # The parent's threads and pending work did not come along; neither may its locks.
    _state_lock = threading.Condition(threading.Lock())
    _live_lock = threading.Lock()
    _pending.clear()
    _hooks.clear()
    _workers = _Workers()
    _loop = _PrivateLoop()


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["ffi", "lib", "_errors"]
