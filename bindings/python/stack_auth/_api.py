"""The public classes of stack_auth over libstack_auth's handles.

Nothing here loads the library at import time: the first constructor (or ``version()``)
imports ``_runtime``, which loads it. Every behaviour (caching, refresh, single flight,
timeouts, retries) belongs to the library; these classes map handles to objects, callables
to hooks and error JSON to exceptions.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import json
import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Protocol,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
    runtime_checkable,
)

from ._errors import SA_E_TIMEOUT, SA_E_WOULD_BLOCK, AuthError, CallbackError, InvalidArgument

if TYPE_CHECKING:  # pragma: no cover
    import concurrent.futures


# Bound by _native() on first use: the runtime module, cffi's ffi and lib.
_rt: "Any" = None
_ffi: Any = None
_lib: Any = None
_load_lock = threading.Lock()

#: What a token callback may return: the token, an awaitable of it, or a
#: concurrent.futures.Future completed later from any thread.
TokenResult = Union[str, Awaitable[str], "concurrent.futures.Future[str]"]


def _native() -> Any:
    """Loads libstack_auth on first use (importing stack_auth loads nothing)."""
    global _rt, _ffi, _lib
    if _rt is None:
        with _load_lock:
            if _rt is None:
                from . import _runtime

                _runtime.token_from_handle = ServiceToken._adopt
                _ffi, _lib = _runtime.ffi, _runtime.lib
                ServiceToken._free = _lib.sa_token_free
                _rt = _runtime
    return _rt


def version() -> str:
    """The loaded library's version ("0.1.0")."""
    _native()
    return cast(bytes, _ffi.string(_lib.sa_version_string())).decode()


def build_info() -> str:
    """The loaded library's build ("stack-auth 0.1.0 (go1.x linux/amd64)")."""
    _native()
    return cast(bytes, _ffi.string(_lib.sa_build_info())).decode()


def flush(timeout: float = 5.0) -> bool:
    """Waits until every store save and device-session exchange in flight has finished: True
    then, False if some were still running after ``timeout`` seconds (0: do not wait). A token
    reaches its callers before the store save that follows it, so call this before reading a
    store the library writes. Inside an event loop whose async stores are saving, use
    :func:`flush_async`: this call blocks the loop they need."""
    rt = _native()
    status = _lib.sa_flush(rt.wait_ms(timeout))
    if status == SA_E_TIMEOUT:
        return False
    rt.raise_for(status)
    return True


async def flush_async(timeout: float = 5.0) -> bool:
    """:func:`flush` without blocking the running event loop (on its default executor)."""
    return await _in_executor(flush, timeout)


# ---- tokens -------------------------------------------------------------------------------


class ServiceToken:
    """A CipherStash service token: the bearer ``token`` and its claims.

    ``str()`` and ``repr()`` never show the token. A token from a strategy owns a library
    handle (used by ``AuthStrategy.invalidate``), freed when the object is collected; its
    fields are read from the library on first access.
    """

    __slots__ = ("_h", "_data")
    _h: int
    _data: Optional[Dict[str, Any]]
    # sa_token_free, bound when the library loads (a builtin: not turned into a method).
    _free: Callable[[int], None] = staticmethod(lambda h: None)

    def __new__(cls, *args: Any, **kwargs: Any) -> "ServiceToken":
        raise TypeError("ServiceToken objects come from a strategy's get_token()")

    @classmethod
    def _adopt(cls, handle: int) -> "ServiceToken":
        self = object.__new__(cls)
        self._h = handle
        self._data = None
        return self

    @classmethod
    def _from_json(cls, text: str) -> "ServiceToken":
        self = object.__new__(cls)
        self._h = 0
        self._data = json.loads(text)
        return self

    def __del__(self) -> None:
        h = self._h
        if h:
            self._h = 0
            self._free(h)

    def _fields(self) -> Dict[str, Any]:
        data = self._data
        if data is None:
            rt = _native()
            pp = _ffi.new("char **")
            plen = _ffi.new("size_t *")
            rt.raise_for(_lib.sa_token_json(self._h, pp, plen))
            data = self._data = json.loads(rt.take_string(pp, plen))
        return cast(Dict[str, Any], data)

    @property
    def token(self) -> str:
        """The bearer token (a secret: never log it)."""
        data = self._data
        if data is None:
            # The common use (`get_token().token`): sa_token_value, no JSON either side.
            try:
                pp, plen = _tls.str_out
            except AttributeError:
                _native()
                pp, plen = _tls.str_out = (_ffi.new("char **"), _ffi.new("size_t *"))
            status = _lib.sa_token_value(self._h, pp, plen)
            if status != 0:
                raise _rt.last_error(status)
            return cast(str, _rt.take_string(pp, plen))
        return cast(str, data["token"])

    @property
    def subject(self) -> str:
        """Who the token is for ("CS|CSAK..." for an access key, "CS|..." for a user)."""
        return cast(str, self._fields()["subject"])

    @property
    def workspace_id(self) -> str:
        return cast(str, self._fields()["workspaceId"])

    @property
    def issuer(self) -> str:
        return cast(str, self._fields()["issuer"])

    @property
    def services(self) -> Dict[str, str]:
        """Service name to URL, from the token's claims."""
        return dict(self._fields().get("services") or {})

    @property
    def expires_at(self) -> int:
        """Expiry, in seconds since the Unix epoch."""
        return cast(int, self._fields()["expiresAt"])

    def __repr__(self) -> str:
        f = self._fields()
        return (
            f"ServiceToken(subject={f.get('subject')!r}, workspace_id={f.get('workspaceId')!r}, "
            f"expires_at={f.get('expiresAt')!r}, token='<redacted>')"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("ServiceToken cannot be pickled (it holds a secret)")


# ---- strategies ---------------------------------------------------------------------------

# Per-thread out-parameter of sa_try_get_token: ffi.new costs more than the C call itself.
_tls = threading.local()
_new_object = object.__new__

S = TypeVar("S", bound="AuthStrategy")


class HttpRequest:
    """One request for a ``transport=`` callable (upstream 0.43's HttpRequest): ``method``,
    ``url``, ``headers`` (``(name, value)`` pairs, lower-case names, including the library's
    ``user-agent``: replace it if you like, never drop it) and ``body`` (bytes). It carries
    credentials: repr shows only the method, URL, header names and body length."""

    __slots__ = ("method", "url", "headers", "body")

    def __init__(self, method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> None:
        self.method, self.url, self.headers, self.body = method, url, headers, body

    def __repr__(self) -> str:
        names = [h[0] for h in self.headers]
        return f"<HttpRequest {self.method} {self.url.split('?')[0]} headers={names} body={len(self.body)} bytes>"


class HttpResponse:
    """What a ``transport=`` callable returns: the server's answer, whatever its status
    (``headers`` as pairs or a mapping; ``body`` bytes or str). A ``(status, headers, body)``
    tuple is accepted too."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Any = (), body: Union[bytes, str] = b"") -> None:
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} body={len(self.body)} bytes>"


#: A host HTTP client: ``(HttpRequest) -> HttpResponse``, sync or ``async def``. Raising
#: means no answer (DNS, refused, TLS): the get_token that needed it fails with RequestError.
HttpTransport = Callable[[HttpRequest], Any]


class _Transport:
    """A native transport handle for one strategy's construction (the strategy keeps its
    own reference; this one is freed with the object)."""

    __slots__ = ("handle", "_fin", "__weakref__")

    def __init__(self, send: HttpTransport) -> None:
        _check_callable(send, "transport")
        hook = _rt.Hook(send=send)
        self.handle = _register(
            hook,
            lambda out, ud: _lib.sa_transport_new(
                _ffi.cast("sa_transport *", out), _lib._sa_py_http_send, ud, _lib._sa_py_destroy, _ffi.NULL
            ),
        )
        self._fin = _rt.track(self, _lib.sa_transport_free, self.handle)


def _as_transport(transport: Optional[HttpTransport]) -> Optional[_Transport]:
    return None if transport is None else _Transport(transport)


@runtime_checkable
class TokenStoreProtocol(Protocol):
    """What ``store=`` accepts besides a TokenStore: any object with ``load()`` returning the
    stored token JSON (str) or None, and ``save(token_json)``; either may be ``async def``
    and may take the credential scope as one more argument. It is called as
    TokenStoreFn(obj.load, obj.save) would call it."""

    def load(self) -> Any: ...

    def save(self, token_json: str) -> Any: ...


StoreArg = Union["TokenStore", TokenStoreProtocol]


def _as_store(store: Optional[StoreArg]) -> Optional["TokenStore"]:
    """The TokenStore for ``store=``. Keep the result referenced until the strategy is built:
    an adapter made here is freed with it (the strategy holds its own reference after)."""
    if store is None or isinstance(store, TokenStore):
        return store
    if callable(getattr(store, "load", None)) and callable(getattr(store, "save", None)):
        return TokenStoreFn(store.load, store.save)
    raise TypeError(f"store must be a TokenStore or have load() and save(token_json), not {type(store).__name__}")


def _handle_of(store: Optional["TokenStore"]) -> Optional[int]:
    return None if store is None else store._handle()


def _strategy_options(
    store: Optional[StoreArg], transport: Optional[HttpTransport], timeout: Optional[float], **more: Any
) -> Tuple[Any, Tuple[Any, Any]]:
    """A strategy constructor's options, and the store and transport objects they name: keep
    those referenced until the strategy is built (it holds its own references after)."""
    st = _as_store(store)
    tr = _as_transport(transport)
    opts = _rt.options(
        store=_handle_of(st), transport=tr.handle if tr else None, timeoutMs=_rt.timeout_ms(timeout), **more
    )
    return opts, (st, tr)


def _own(obj: Any, handle: int, label: str, hook: Any, free: Callable[[int], None]) -> None:
    """Gives a strategy or store its library handle, freed by ``free`` when the object is
    closed or collected (or at interpreter exit)."""
    obj._h = handle
    obj._label = label
    # Only the count, never the hook: the registry alone keeps the callable alive.
    obj._destroyed = hook.destroyed if hook is not None else None
    obj._fin = _rt.track(obj, free, handle)


class AuthStrategy:
    """Gets service tokens and keeps them fresh. Close it (or use ``with``) when done;
    it is also closed when collected and at interpreter exit."""

    __slots__ = ("_h", "_fin", "_label", "_destroyed", "__weakref__")
    _h: int
    _fin: "weakref.finalize[Any, Any]"
    _label: str
    _destroyed: Any

    def __init__(self) -> None:  # pragma: no cover - subclasses build through _build
        raise TypeError("use one of the strategy classes")

    def _adopt(self, handle: int, label: str, hook: Any = None) -> None:
        _own(self, handle, label, hook, _lib.sa_strategy_free)

    @classmethod
    def _build(cls: Type[S], label: str, ctor: Callable[[Any], int]) -> S:
        rt = _native()
        out = _ffi.new("sa_strategy *")
        rt.raise_for(ctor(out))
        self = object.__new__(cls)
        self._adopt(int(out[0]), label)
        return self

    def get_token(self, timeout: Optional[float] = None) -> ServiceToken:
        """A usable token: the cached one at once, else waits (at most ``timeout`` seconds;
        None: the strategy's timeout). Ctrl-C interrupts the wait."""
        ms = 0 if timeout is None else _rt.checked_wait_ms(timeout)  # no call on the hot path
        try:
            out = _tls.out
        except AttributeError:
            out = _tls.out = _ffi.new("sa_token *")
        status = _lib.sa_try_get_token(out, self._h)
        if status == 0:  # the hot path: a cached token, no waiting, no thread switch
            tok = _new_object(ServiceToken)
            tok._h = out[0]
            tok._data = None
            return tok
        if status != SA_E_WOULD_BLOCK:
            raise _rt.last_error(status)
        waiter = _rt.SyncWaiter()
        _rt.start_async(self._h, waiter, ms)
        return _wait(waiter)

    async def get_token_async(self) -> ServiceToken:
        """Like get_token, without blocking the event loop: a cached token returns at once;
        otherwise the library completes on its own thread and the result is delivered to
        this loop."""
        try:
            out = _tls.out
        except AttributeError:
            out = _tls.out = _ffi.new("sa_token *")
        status = _lib.sa_try_get_token(out, self._h)
        if status == 0:  # cached: no await, no thread switch
            tok = _new_object(ServiceToken)
            tok._h = out[0]
            tok._data = None
            return tok
        if status != SA_E_WOULD_BLOCK:
            raise _rt.last_error(status)
        waiter = _rt.AsyncWaiter(asyncio.get_running_loop())
        _rt.start_async(self._h, waiter)
        return await _await(waiter)

    def invalidate(self, token: ServiceToken) -> bool:
        """After a 401: forces a refresh if ``token`` is still the current one (a late 401
        never throws away a newer token). True when a refresh started."""
        if not isinstance(token, ServiceToken):
            raise TypeError("invalidate() takes a ServiceToken from this strategy")
        refreshing = _ffi.new("int32_t *")
        _rt.raise_for(_lib.sa_strategy_invalidate(self._h, token._h, refreshing))
        return bool(refreshing[0])

    def on_event(self, fn: Optional[Callable[[Dict[str, Any]], None]]) -> None:
        """Calls ``fn(event)`` for each thing the refresh engine does, e.g. ``{"kind":
        "refresh_succeeded", "reason": "initial", "source": "network", "latencyMs": 12.5}``;
        kinds: refresh_started, refresh_succeeded, refresh_failed (with ``errorCode``),
        token_invalidated, store_degraded (a store failed; the engine goes on without it).
        Never a secret. ``fn`` runs on a library thread, in order; the engine never waits for
        it. An exception in ``fn`` is logged (logger ``stack_auth``). None removes it.
        AuthStrategyFn and StaticTokenStrategy have no engine: InvalidArgument."""
        rt = _native()
        if fn is None:
            rt.raise_for(_lib.sa_strategy_set_event_hook(self._h, _ffi.NULL, _ffi.NULL, _ffi.NULL))
            return
        _check_callable(fn, "on_event")
        hook = rt.Hook(get=fn)
        ud = rt.register_hook(hook)
        status = _lib.sa_strategy_set_event_hook(self._h, _lib._sa_py_event, ud, _lib._sa_py_destroy)
        if status != 0:
            err = rt.last_error(status)
            rt.unregister_hook(hook)
            raise err

    def close(self) -> None:
        """Frees the strategy; calls waiting on it end with Cancelled. Idempotent."""
        self._fin()

    @property
    def closed(self) -> bool:
        return not self._fin.alive

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self: S) -> S:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self._label}{' ' if self._label else ''}{state}>"


class AutoStrategy(AuthStrategy):
    """Picks the credential: an access key (argument or CS_CLIENT_ACCESS_KEY, with
    CS_WORKSPACE_CRN) beats a device session saved by ``stack-auth login``."""

    __slots__ = ()

    def __init__(self) -> None:
        raise TypeError("use AutoStrategy.detect()")

    @classmethod
    def detect(
        cls,
        access_key: Optional[str] = None,
        workspace_crn: Optional[str] = None,
        store: Optional[StoreArg] = None,
        base_url: Optional[str] = None,
        *,
        profile_dir: Optional[str] = None,
        timeout: Optional[float] = None,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
        transport: Optional[HttpTransport] = None,
    ) -> "AutoStrategy":
        """Raises NotAuthenticated when there is neither. Does no network I/O. Environment
        variables are read now, so values set after import are honoured."""
        _native()
        opts, _refs = _strategy_options(
            store,
            transport,
            timeout,
            accessKey=access_key,
            workspaceCrn=workspace_crn,
            baseUrl=base_url,
            profileDir=profile_dir,
        )
        return _with_events(cls._build("", lambda out: _lib.sa_auto_strategy_detect(out, opts)), on_event)


class AccessKeyStrategy(AuthStrategy):
    """An access key bound to a workspace CRN ("crn:<region>:<workspace-id>")."""

    __slots__ = ()

    def __init__(
        self,
        workspace_crn: str,
        access_key: str,
        *,
        store: Optional[StoreArg] = None,
        base_url: Optional[str] = None,
        timeout: Optional[float] = None,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
        audience: Optional[str] = None,
        transport: Optional[HttpTransport] = None,
    ) -> None:
        rt = _native()
        crn = rt.cstr(workspace_crn, "workspace_crn")
        key = rt.cstr(access_key, "access_key")
        opts, _refs = _strategy_options(store, transport, timeout, baseUrl=base_url, audience=audience)
        out = _ffi.new("sa_strategy *")
        rt.raise_for(_lib.sa_access_key_strategy_new(out, crn, key, opts))
        self._adopt(int(out[0]), f"workspace_crn={workspace_crn!r}")
        _with_events(self, on_event)


class DeviceSessionStrategy(AuthStrategy):
    """The device session saved by a device-code login (``stack-auth login`` or
    ``begin_device_code_flow``), refreshed with its rotating refresh token."""

    __slots__ = ()

    def __init__(self) -> None:
        raise TypeError("use DeviceSessionStrategy.from_profile()")

    @classmethod
    def from_profile(
        cls,
        profile_dir: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        store: Optional[StoreArg] = None,
        timeout: Optional[float] = None,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
        transport: Optional[HttpTransport] = None,
    ) -> "DeviceSessionStrategy":
        """profile_dir: default CS_CONFIG_PATH, then ~/.cipherstash. Raises
        NotAuthenticated when no session is saved there."""
        _native()
        opts, _refs = _strategy_options(store, transport, timeout, profileDir=profile_dir, baseUrl=base_url)
        return _with_events(
            cls._build("", lambda out: _lib.sa_device_session_strategy_from_profile(out, opts)), on_event
        )


#: Upstream's older name for DeviceSessionStrategy.
OAuthStrategy = DeviceSessionStrategy


class StaticTokenStrategy(AuthStrategy):
    """Always returns the same token (tests, fixed credentials)."""

    __slots__ = ()

    def __init__(self, token: str) -> None:
        rt = _native()
        value = rt.cstr(token, "token")
        out = _ffi.new("sa_strategy *")
        rt.raise_for(_lib.sa_static_token_strategy_new(out, value))
        self._adopt(int(out[0]), "")


def _wait(waiter: Any) -> ServiceToken:
    # The library bounds the wait (it completes within the call's timeout, with its own
    # TIMEOUT error); Event.wait is interruptible: KeyboardInterrupt reaches the caller at
    # once, and the library finishes the shared request and the token is freed.
    waiter.event.wait()
    if waiter.error is not None:
        raise waiter.error
    return cast(ServiceToken, waiter.token)


async def _await(waiter: Any) -> ServiceToken:
    # While this loop awaits the library, async store callables run on it (_runtime).
    _rt.enter_loop(waiter.loop)
    try:
        return cast(ServiceToken, await waiter.future)
    finally:
        _rt.exit_loop(waiter.loop)


def _token(handle: int) -> ServiceToken:
    tok = _new_object(ServiceToken)
    tok._h = handle
    tok._data = None
    return tok


# ---- user functions run in the caller's thread and loop (docs/architecture.md D4) ----------------------


def _ready(value: Any) -> bool:
    """A token or JWT the library can take now (else: an awaitable, a future, or a value the
    library refuses with the callback's error)."""
    return isinstance(value, str) and value != ""


def _call_user(fn: Callable[[], Any]) -> Any:
    """Calls a user function on this thread; its exception becomes a CallbackError (as the
    library describes it) whose __cause__ is the original, with its traceback."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - BaseException (Ctrl-C) goes to the caller as is
        raise _callback_error(e) from e


def _callback_error(e: BaseException) -> AuthError:
    code = e.code if isinstance(e, AuthError) else type(e).__name__
    message = str(e) or type(e).__name__
    status = _lib.sa_callback_error(code.encode("utf-8", "replace"), message.encode("utf-8", "replace"))
    return cast(AuthError, _rt.last_error(status))


class _Pending:
    """What a user function returned that is not ready (an awaitable or a future): the
    strategy's hook hands it to the library, which bounds it by the timeout and shares it
    with concurrent callers. Shared by the strategy and its hook, never holding either."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None


def _hook_get(fn: Callable[[], Any], pending: _Pending) -> Callable[[], Any]:
    def get() -> Any:
        v = pending.value
        return v if v is not None else fn()

    return get


@contextlib.contextmanager
def _pending_value(pending: _Pending, value: Any) -> Iterator[None]:
    """While the library waits on ``value`` through the hook: pending holds it, and a
    CallbackError gets the exception it completed with as its cause."""
    pending.value = value
    try:
        yield
    except CallbackError as e:
        _add_cause(e, value)
        raise
    finally:
        if pending.value is value:
            pending.value = None


def _via_library(pending: _Pending, value: Any, get: Callable[[], Any]) -> Any:
    with _pending_value(pending, value):
        return get()


async def _via_library_async(pending: _Pending, value: Any, get: Callable[[], Any]) -> Any:
    with _pending_value(pending, value):
        return await get()


def _add_cause(err: BaseException, value: Any) -> None:
    if isinstance(value, concurrent.futures.Future) and value.done() and not value.cancelled():
        cause = value.exception()
        if cause is not None and err.__cause__ is None:
            err.__cause__ = cause


def _on_private_loop(aw: Any) -> "concurrent.futures.Future[Any]":
    """An awaitable a sync get_token got: it runs on the binding's loop (a blocking caller
    has no loop of its own to lend)."""
    async def run() -> Any:
        return await aw

    return asyncio.run_coroutine_threadsafe(run(), _rt.private_loop())


def _on_this_loop(aw: Any) -> "concurrent.futures.Future[Any]":
    """An awaitable get_token_async got: a task on the caller's own loop, so objects bound to
    that loop (sessions, locks, futures) work; its outcome goes to the library."""
    task = asyncio.ensure_future(aw)
    cf: "concurrent.futures.Future[Any]" = concurrent.futures.Future()

    def done(t: "asyncio.Future[Any]") -> None:
        if t.cancelled():
            cf.set_exception(concurrent.futures.CancelledError("the callback's task was cancelled"))
        elif t.exception() is not None:
            cf.set_exception(cast(BaseException, t.exception()))
        else:
            cf.set_result(t.result())

    task.add_done_callback(done)
    return cf


def _with_events(strategy: S, on_event: Optional[Callable[[Dict[str, Any]], None]]) -> S:
    """The ``on_event=`` option: strategy.on_event(on_event); the strategy is closed if that fails."""
    if on_event is not None:
        try:
            strategy.on_event(on_event)
        except BaseException:
            strategy.close()
            raise
    return strategy


def _register(hook: Any, ctor: Callable[[Any, Any], int]) -> int:
    """Registers a hook with the library; on failure the library never calls destroy."""
    ud = _rt.register_hook(hook)
    out = _ffi.new("uint64_t *")
    status = ctor(out, ud)
    if status != 0:
        err = _rt.last_error(status)
        _rt.unregister_hook(hook)
        raise err
    return int(out[0])


def _check_callable(fn: Any, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, not {type(fn).__name__}")


class AuthStrategyFn(AuthStrategy):
    """A strategy that asks ``fn`` for the token on every call (no caching). ``fn`` takes
    no arguments and runs on the calling thread; a token it returns at once goes straight
    to the library's checks. It may instead be an ``async def`` or return an awaitable
    (run on the event loop of the coroutine awaiting get_token_async; with the blocking
    get_token, on the binding's private loop), or return a concurrent.futures.Future
    completed later from any thread: then the library bounds it by ``timeout`` (seconds,
    default 30) and concurrent callers share it. An exception in ``fn`` reaches the caller as
    CallbackError (code: the exception's class name; ``__cause__``: the exception)."""

    __slots__ = ("_fn", "_pending")

    def __init__(self, fn: Callable[[], TokenResult], *, timeout: Optional[float] = None) -> None:
        _check_callable(fn, "fn")
        rt = _native()
        opts = rt.options(timeoutMs=rt.timeout_ms(timeout))
        pending = _Pending()
        hook = rt.Hook(get=_hook_get(fn, pending))
        handle = _register(
            hook,
            lambda out, ud: _lib.sa_strategy_fn_new_ex(
                out, _lib._sa_py_get_token, ud, _lib._sa_py_destroy, opts
            ),
        )
        self._adopt(handle, "", hook)
        self._fn: Optional[Callable[[], TokenResult]] = fn
        self._pending = pending

    def get_token(self, timeout: Optional[float] = None) -> ServiceToken:
        fn = self._fn
        if fn is None or self._pending.value is not None:  # closed, or a pending call to join
            return AuthStrategy.get_token(self, timeout)
        if timeout is not None:
            _rt.checked_wait_ms(timeout)  # refused before fn is called, as the library would
        v = _call_user(fn)
        if _ready(v):
            return _token_from_value(v)
        if inspect.isawaitable(v):
            v = _on_private_loop(v)
        return cast(ServiceToken, _via_library(self._pending, v, lambda: AuthStrategy.get_token(self, timeout)))

    async def get_token_async(self) -> ServiceToken:
        fn = self._fn
        if fn is None or self._pending.value is not None:
            return await AuthStrategy.get_token_async(self)
        v = _call_user(fn)
        if _ready(v):
            return _token_from_value(v)
        if inspect.isawaitable(v):
            v = _on_this_loop(v)
        return cast(ServiceToken, await _via_library_async(self._pending, v, lambda: AuthStrategy.get_token_async(self)))

    def close(self) -> None:
        self._fn = None  # only the library's hook registry keeps the callable alive
        AuthStrategy.close(self)


def _token_from_value(value: str) -> ServiceToken:
    b = value.encode("utf-8")
    out = _ffi.new("sa_token *")
    _rt.raise_for(_lib.sa_token_from_value(out, b, len(b)))
    return _token(int(out[0]))


class OidcFederationStrategy(AuthStrategy):
    """Exchanges the caller's OIDC JWT for a service token of ``workspace_crn``; each
    distinct JWT's token is cached and refreshed (in the library), for up to
    ``cache_capacity`` JWTs (default 1024, least recently used dropped first; 0 caches
    nothing). ``get_jwt`` is called on every get_token, on the calling thread; an ``async def``
    get_jwt is awaited by get_token_async on the caller's own loop (with the blocking
    get_token: on the binding's private loop, bounded by ``timeout``).
    ``get_token(jwt=...)`` / ``get_token_async(jwt=...)`` take the caller's JWT and never call
    get_jwt (one strategy for a multi-tenant server; ``get_jwt`` may then be None). A cached
    token returns without leaving the thread."""

    __slots__ = ("_get_jwt", "_pending")

    def __init__(
        self,
        workspace_crn: str,
        get_jwt: Optional[Callable[[], TokenResult]],
        *,
        store: Optional[StoreArg] = None,
        base_url: Optional[str] = None,
        timeout: Optional[float] = None,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
        cache_capacity: Optional[int] = None,
        transport: Optional[HttpTransport] = None,
    ) -> None:
        if get_jwt is not None:
            _check_callable(get_jwt, "get_jwt")
        rt = _native()
        crn = rt.cstr(workspace_crn, "workspace_crn")
        opts, _refs = _strategy_options(store, transport, timeout, baseUrl=base_url, cacheCapacity=cache_capacity)
        pending = _Pending()
        if get_jwt is None:
            out = _ffi.new("sa_strategy *")
            rt.raise_for(_lib.sa_oidc_federation_strategy_new(out, crn, _ffi.NULL, _ffi.NULL, _ffi.NULL, opts))
            self._adopt(int(out[0]), f"workspace_crn={workspace_crn!r}")
        else:
            hook = rt.Hook(get=_hook_get(get_jwt, pending))
            handle = _register(
                hook,
                lambda out, ud: _lib.sa_oidc_federation_strategy_new(
                    _ffi.cast("sa_strategy *", out), crn, _lib._sa_py_get_token, ud, _lib._sa_py_destroy, opts
                ),
            )
            self._adopt(handle, f"workspace_crn={workspace_crn!r}", hook)
        self._get_jwt, self._pending = get_jwt, pending
        _with_events(self, on_event)

    def close(self) -> None:
        self._get_jwt = None  # only the library's hook registry keeps the callable alive
        AuthStrategy.close(self)

    def _no_provider(self) -> None:
        raise InvalidArgument(
                "this OidcFederationStrategy has no get_jwt: pass the caller's JWT, get_token(jwt=...)",
                code="INVALID_ARGUMENT",
            )

    def get_token(self, timeout: Optional[float] = None, *, jwt: Optional[str] = None) -> ServiceToken:
        ms = 0 if timeout is None else _rt.checked_wait_ms(timeout)  # no call on the hot path
        if jwt is None:
            get_jwt = self._get_jwt
            if get_jwt is None or self._pending.value is not None or self.closed:
                if get_jwt is None and not self.closed:
                    self._no_provider()
                return AuthStrategy.get_token(self, timeout)
            v = _call_user(get_jwt)
            if not _ready(v):
                if inspect.isawaitable(v):
                    v = _on_private_loop(v)
                return cast(ServiceToken, _via_library(self._pending, v, lambda: AuthStrategy.get_token(self, timeout)))
            jwt = v
        b = _jwt_bytes(jwt)
        out = _ffi.new("sa_token *")
        status = _lib.sa_oidc_try_get_token_with_jwt(out, self._h, b, len(b))
        if status == 0:  # cached: no waiting, no thread switch, get_jwt's JWT or the caller's
            return _token(out[0])
        if status != SA_E_WOULD_BLOCK:
            raise _rt.last_error(status)
        waiter = _rt.SyncWaiter()
        _rt.start_async_jwt(self._h, b, waiter, ms)
        return _wait(waiter)

    async def get_token_async(self, *, jwt: Optional[str] = None) -> ServiceToken:
        if jwt is None:
            get_jwt = self._get_jwt
            if get_jwt is None or self.closed:
                if get_jwt is None and not self.closed:
                    self._no_provider()
                return await AuthStrategy.get_token_async(self)
            v = _call_user(get_jwt)
            if inspect.isawaitable(v):
                try:
                    v = await v  # on this loop: objects bound to it work in get_jwt
                except Exception as e:  # noqa: BLE001
                    raise _callback_error(e) from e
            elif isinstance(v, concurrent.futures.Future):
                v = await _via_library_async(self._pending, v, lambda: AuthStrategy.get_token_async(self))
                return cast(ServiceToken, v)
            if not _ready(v):  # the library's own answer to a wrong value
                return cast(ServiceToken, await _via_library_async(self._pending, v, lambda: AuthStrategy.get_token_async(self)))
            jwt = v
        b = _jwt_bytes(jwt)
        out = _ffi.new("sa_token *")
        status = _lib.sa_oidc_try_get_token_with_jwt(out, self._h, b, len(b))
        if status == 0:
            return _token(out[0])
        if status != SA_E_WOULD_BLOCK:
            raise _rt.last_error(status)
        waiter = _rt.AsyncWaiter(asyncio.get_running_loop())
        _rt.start_async_jwt(self._h, b, waiter)
        return await _await(waiter)


def _jwt_bytes(jwt: Any) -> bytes:
    if not isinstance(jwt, str):
        raise TypeError(f"jwt must be a str, not {type(jwt).__name__}")
    return jwt.encode("utf-8")


# ---- stores -------------------------------------------------------------------------------


class TokenStore:
    """Where a strategy persists its token. Pass it as ``store=``; the strategy keeps its
    own reference, so closing the store object early is safe."""

    __slots__ = ("_h", "_fin", "_label", "_destroyed", "__weakref__")
    _h: int
    _fin: "weakref.finalize[Any, Any]"
    _label: str
    _destroyed: Any

    def __init__(self) -> None:  # pragma: no cover
        raise TypeError("use InMemoryTokenStore(), TokenStoreFn(...) or open_store(url)")

    def _adopt(self, handle: int, label: str, hook: Any = None) -> None:
        _own(self, handle, label, hook, _lib.sa_store_free)

    def _handle(self) -> int:
        return self._h

    def close(self) -> None:
        self._fin()

    @property
    def closed(self) -> bool:
        return not self._fin.alive

    def __enter__(self) -> "TokenStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self._label}{' ' if self._label else ''}{state}>"


class InMemoryTokenStore(TokenStore):
    """A store private to this process."""

    __slots__ = ()

    def __init__(self) -> None:
        rt = _native()
        out = _ffi.new("sa_store *")
        rt.raise_for(_lib.sa_store_memory_new(out))
        self._adopt(int(out[0]), "")


class TokenStoreFn(TokenStore):
    """A store backed by your callables: ``load()`` returns the stored token JSON (str) or
    None, ``save(token_json)`` persists it. Either may be ``async def``, and either may be
    None. Load failures are cache misses and save failures are ignored (by the library).
    ``timeout`` (seconds) bounds each call.

    Every store is scoped per credential: callables that accept one more argument,
    ``load(scope)`` and ``save(token_json, scope)``, are given the scope (a non-secret string
    naming the workspace, key id or JWT digest, and audience) to key what they keep by. A
    store that keeps one slot is still safe: a token saved for another scope is a miss."""

    __slots__ = ()

    def __init__(
        self,
        load: Optional[Callable[..., Any]] = None,
        save: Optional[Callable[..., Any]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> None:
        if load is not None:
            _check_callable(load, "load")
        if save is not None:
            _check_callable(save, "save")
        rt = _native()
        opts = rt.options(timeoutMs=rt.timeout_ms(timeout))
        hook = rt.Hook(load=load, save=save)
        handle = _register(
            hook,
            lambda out, ud: _lib.sa_store_fn_new_ex(
                out,
                _lib._sa_py_store_load if load is not None else _ffi.NULL,
                _lib._sa_py_store_save if save is not None else _ffi.NULL,
                ud,
                _lib._sa_py_destroy,
                opts,
            ),
        )
        self._adopt(handle, "", hook)


def open_store(url: str) -> TokenStore:
    """``"memory:"``, ``"file:///absolute/path"`` (shared by every process on the host) or a Redis
    URL shared by a fleet: ``redis://[user:pass@]host:port/db``, ``rediss://`` (TLS; ``?ca=``,
    ``?cert=&key=``), ``redis+sentinel://h1:26379,h2:26379/master/db``,
    ``redis+cluster://h1:7000,h2:7001`` (README.md, "Redis token stores")."""
    rt = _native()
    u = rt.cstr(url, "url")
    out = _ffi.new("sa_store *")
    rt.raise_for(_lib.sa_store_open(out, u))
    store = object.__new__(TokenStore)
    scheme = url.split(":", 1)[0]
    store._adopt(int(out[0]), f"{scheme}:")
    return store


# ---- device-code login --------------------------------------------------------------------


class PendingDeviceCode:
    """A device-code login in progress: show ``user_code`` and ``verification_uri`` (or
    open ``verification_uri_complete``), then ``poll_for_token()``."""

    __slots__ = ("_h", "_fin", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "__weakref__")

    _h: int
    _fin: "weakref.finalize[Any, Any]"
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int

    def __new__(cls, *args: Any, **kwargs: Any) -> "PendingDeviceCode":
        raise TypeError("use begin_device_code_flow()")

    @classmethod
    def _adopt(cls, handle: int) -> "PendingDeviceCode":
        self = object.__new__(cls)
        self._h = handle
        self._fin = _rt.track(self, _lib.sa_device_flow_free, handle)
        pp = _ffi.new("char **")
        plen = _ffi.new("size_t *")
        _rt.raise_for(_lib.sa_device_flow_json(handle, pp, plen))
        data = json.loads(_rt.take_string(pp, plen))
        self.user_code = data["userCode"]
        self.verification_uri = data["verificationUri"]
        self.verification_uri_complete = data["verificationUriComplete"]
        self.expires_in = data["expiresIn"]
        return self

    def open_in_browser(self) -> bool:
        """Opens verification_uri_complete in the OS browser; True when it did."""
        opened = _ffi.new("int32_t *")
        _rt.raise_for(_lib.sa_device_flow_open_browser(self._h, opened))
        return bool(opened[0])

    def poll_for_token(self, timeout: Optional[float] = None) -> ServiceToken:
        """Waits until the user approves (the session is saved to the profile directory),
        denies (AccessDenied) or the code expires (TokenExpired); at most ``timeout``
        seconds (None: until the code expires). One use: a second call raises
        AlreadyConsumed. Ctrl-C cancels the login."""
        ms = _rt.timeout_ms(timeout) or 0
        handle = self._h
        result: List[Any] = []
        done = threading.Event()

        # The poll blocks in the library; it runs on a helper thread so that the caller's
        # wait stays interruptible (Ctrl-C frees the flow, which ends the poll).
        def poll() -> None:
            pp = _ffi.new("char **")
            plen = _ffi.new("size_t *")
            status = _lib.sa_device_code_poll(handle, ms, pp, plen)
            if status == 0:
                result.append(ServiceToken._from_json(_rt.take_string(pp, plen)))
            else:
                result.append(_rt.last_error(status))
            done.set()

        threading.Thread(target=poll, name="stack-auth-device-poll", daemon=True).start()
        try:
            done.wait()
        except BaseException:
            self.close()
            raise
        outcome = result[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return cast(ServiceToken, outcome)

    async def poll_for_token_async(self, timeout: Optional[float] = None) -> ServiceToken:
        """poll_for_token without blocking the event loop: the poll runs on the loop's
        default executor. Cancelling the awaiting task abandons the login."""
        try:
            return await _in_executor(self.poll_for_token, timeout)
        except asyncio.CancelledError:
            self.close()
            raise

    def close(self) -> None:
        """Abandons the login (a poll in progress ends with Cancelled). Idempotent."""
        self._fin()

    def __enter__(self) -> "PendingDeviceCode":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PendingDeviceCode verification_uri={self.verification_uri!r} expires_in={self.expires_in!r}>"


def begin_device_code_flow(
    region: str,
    client_id: str = "cli",
    *,
    base_url: Optional[str] = None,
    profile_dir: Optional[str] = None,
    timeout: Optional[float] = None,
    transport: Optional[HttpTransport] = None,
) -> PendingDeviceCode:
    """Starts a device-code login (RFC 8628) for ``region`` ("ap-southeast-2.aws").
    ``transport`` carries the flow's requests, its polls included."""
    rt = _native()
    r = rt.cstr(region, "region")
    cid = rt.cstr(client_id, "client_id")
    tr = _as_transport(transport)  # referenced until the flow holds it
    opts = rt.options(
        baseUrl=base_url, profileDir=profile_dir, timeoutMs=rt.timeout_ms(timeout), transport=tr.handle if tr else None
    )
    out = _ffi.new("sa_device_flow *")
    rt.raise_for(_lib.sa_device_code_begin(out, r, cid, opts))
    return PendingDeviceCode._adopt(int(out[0]))


def bind_client_device(
    profile_dir: Optional[str] = None, *, timeout: Optional[float] = None, transport: Optional[HttpTransport] = None
) -> None:
    """Registers this device with ZeroKMS using the saved device session and saves
    secretkey.json in the profile directory (a no-op when it is already bound)."""
    rt = _native()
    tr = _as_transport(transport)  # referenced until the call returns
    opts = rt.options(profileDir=profile_dir, timeoutMs=rt.timeout_ms(timeout), transport=tr.handle if tr else None)
    rt.raise_for(_lib.sa_bind_client_device(opts))


T = TypeVar("T")


async def _in_executor(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a call that blocks on the network on the running loop's default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))


async def begin_device_code_flow_async(
    region: str,
    client_id: str = "cli",
    *,
    base_url: Optional[str] = None,
    profile_dir: Optional[str] = None,
    timeout: Optional[float] = None,
    transport: Optional[HttpTransport] = None,
) -> PendingDeviceCode:
    """begin_device_code_flow without blocking the event loop (it waits on the network: it
    runs on the loop's default executor)."""
    return await _in_executor(
        begin_device_code_flow,
        region,
        client_id,
        base_url=base_url,
        profile_dir=profile_dir,
        timeout=timeout,
        transport=transport,
    )


async def bind_client_device_async(
    profile_dir: Optional[str] = None, *, timeout: Optional[float] = None, transport: Optional[HttpTransport] = None
) -> None:
    """bind_client_device without blocking the event loop (it runs on the loop's default
    executor)."""
    await _in_executor(bind_client_device, profile_dir, timeout=timeout, transport=transport)
