"""Host callbacks: AuthStrategyFn, OIDC providers and TokenStoreFn — sync, async, answered
from another thread, raising, never answering, and kept alive (and released) correctly."""
from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import threading
import time
import weakref
from typing import Any, List, Optional, cast

import pytest

import stack_auth as sa
from stack_auth import _runtime
from conftest import Emulator, RecordingStore, fp, wait_for


def test_sync_fn_is_called_on_every_get_token_on_the_callers_thread() -> None:
    calls: List[str] = []

    def fn() -> str:
        calls.append(threading.current_thread().name)
        return f"token-{len(calls)}"

    s = sa.AuthStrategyFn(fn)
    assert s.get_token().token == "token-1"
    assert s.get_token().token == "token-2"  # no caching: asked every time
    assert calls == ["MainThread", "MainThread"]  # docs/architecture.md D4: no thread hop


def test_async_fn_runs_on_the_callers_loop_with_get_token_async() -> None:
    """Issue 16 item 3: get_token_async runs an async fn on the awaiting coroutine's loop, so
    a future created on that loop can be awaited in it; the blocking get_token (which has no
    loop to lend) runs it on the binding's private loop."""
    seen: List[Any] = []
    bound: List[Any] = []

    async def fn() -> str:
        seen.append((threading.current_thread().name, asyncio.get_running_loop()))
        if bound:
            return cast(str, await bound[0])  # fails on any other loop
        return "async-token"

    s = sa.AuthStrategyFn(fn)
    assert s.get_token().token == "async-token"

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        loop.call_later(0.01, fut.set_result, "from-the-callers-loop")
        bound.append(fut)
        tok = await s.get_token_async()
        return tok, loop

    tok, caller_loop = asyncio.run(main())
    assert tok.token == "from-the-callers-loop"
    assert seen[0][0] == "stack-auth-asyncio"
    assert seen[1][1] is caller_loop
    assert seen[0][1] is not caller_loop


def test_answer_from_another_thread_via_a_future() -> None:
    pending: "concurrent.futures.Future[str]" = concurrent.futures.Future()
    asked = threading.Event()

    def fn() -> "concurrent.futures.Future[str]":
        asked.set()
        return pending

    def answer() -> None:
        asked.wait(5)
        pending.set_result("from-another-thread")

    t = threading.Thread(target=answer, name="answerer")
    t.start()
    assert sa.AuthStrategyFn(fn).get_token(timeout=5).token == "from-another-thread"
    t.join()


def test_sync_fn_returning_an_awaitable() -> None:
    async def later() -> str:
        return "awaited"

    assert sa.AuthStrategyFn(lambda: later()).get_token().token == "awaited"


def test_p1_slow_async_fn_from_the_main_thread_and_the_main_loop() -> None:
    async def fn() -> str:
        await asyncio.sleep(0.2)
        return "slow-token"

    s = sa.AuthStrategyFn(fn)
    start = time.monotonic()
    assert s.get_token().token == "slow-token"

    async def main() -> str:
        return (await asyncio.wait_for(s.get_token_async(), 5)).token

    assert asyncio.run(main()) == "slow-token"
    assert time.monotonic() - start < 5


class Boom(RuntimeError):
    pass


def test_raising_fn_is_a_callback_error_never_a_token() -> None:
    def fn() -> str:
        raise Boom("the vault is closed")

    with pytest.raises(sa.CallbackError) as info:
        sa.AuthStrategyFn(fn).get_token(timeout=5)
    assert info.value.code == "Boom"
    assert info.value.message == "the vault is closed"
    assert info.value.status == -7


def test_raising_async_fn_is_a_callback_error() -> None:
    async def fn() -> str:
        await asyncio.sleep(0)
        raise KeyError("missing")

    s = sa.AuthStrategyFn(fn)
    with pytest.raises(sa.CallbackError) as info:
        s.get_token(timeout=5)
    assert info.value.code == "KeyError"

    async def main() -> None:
        await s.get_token_async()

    with pytest.raises(sa.CallbackError):
        asyncio.run(main())


def test_fn_raising_an_auth_error_keeps_its_code() -> None:
    def fn() -> str:
        raise sa.InvalidAccessKey("revoked upstream")

    with pytest.raises(sa.CallbackError) as info:
        sa.AuthStrategyFn(fn).get_token(timeout=5)
    assert info.value.code == "INVALID_ACCESS_KEY"
    assert "revoked upstream" in info.value.message


@pytest.mark.parametrize("value", [None, 42, ""])
def test_fn_returning_no_token_is_an_error(value: Any) -> None:
    with pytest.raises(sa.CallbackError) as info:
        sa.AuthStrategyFn(lambda: value).get_token(timeout=5)
    assert info.value.code in ("TypeError", "CUSTOM")


def test_fn_that_never_answers_times_out() -> None:
    """A future fn returns is bounded by the library's timeout (a sync fn that blocks is the
    caller's own code on the caller's thread)."""
    never: "concurrent.futures.Future[str]" = concurrent.futures.Future()
    s = sa.AuthStrategyFn(lambda: never, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(sa.Timeout) as info:
        s.get_token()
    assert time.monotonic() - start < 2
    assert info.value.status == -4
    never.set_result("too-late")


def test_async_fn_that_never_answers_times_out() -> None:
    async def fn() -> str:
        await asyncio.Event().wait()
        return "never"

    s = sa.AuthStrategyFn(fn, timeout=0.3)

    async def main() -> None:
        await asyncio.wait_for(s.get_token_async(), 5)

    start = time.monotonic()
    with pytest.raises(sa.Timeout):
        asyncio.run(main())
    assert time.monotonic() - start < 2


def test_gc_before_first_use_and_destroy_exactly_once() -> None:
    """docs/c-abi.md P6: nothing but the binding's registry keeps the callable alive; it survives
    gc.collect(), works, and is released by the library's destroy, called exactly once."""

    class Source:
        def __call__(self) -> str:
            return "kept-alive"

    src = Source()
    ref = weakref.ref(src)
    s = sa.AuthStrategyFn(src)
    destroyed = s._destroyed
    del src
    gc.collect()
    assert ref() is not None
    assert s.get_token().token == "kept-alive"
    assert destroyed.calls == 0
    s.close()
    wait_for(lambda: destroyed.calls >= 1, what="destroy")
    gc.collect()
    assert ref() is None
    s.close()  # closing again frees nothing and destroys nothing
    gc.collect()
    assert destroyed.calls == 1


def test_dropping_the_strategy_object_releases_the_hook() -> None:
    s = sa.AuthStrategyFn(lambda: "x")
    s.get_token()
    destroyed = s._destroyed
    del s
    gc.collect()
    wait_for(lambda: destroyed.calls >= 1, what="destroy")
    assert destroyed.calls == 1


def test_failed_registration_releases_without_destroy(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks: List[Any] = []
    real = _runtime.register_hook

    def spy(hook: Any) -> Any:
        hooks.append(hook)
        return real(hook)

    monkeypatch.setattr(_runtime, "register_hook", spy)
    with pytest.raises(sa.InvalidCrn):
        sa.OidcFederationStrategy("bad-crn", lambda: "jwt", base_url=emu.url)
    with pytest.raises(sa.InvalidArgument):
        sa.AuthStrategyFn(lambda: "x", timeout=-1)
    assert len(hooks) == 2
    for hook in hooks:
        assert id(hook) not in _runtime._hooks  # released by the binding...
        assert hook.destroyed.calls == 0  # ...because the library never calls destroy then


def test_oidc_federation_exchanges_each_jwt_once(emu: Emulator) -> None:
    jwt = emu.mint(subject="oidc-user")["accessToken"]
    calls = []

    def get_jwt() -> str:
        calls.append(1)
        return jwt

    with sa.OidcFederationStrategy(emu.crn, get_jwt, base_url=emu.url) as s:
        a = s.get_token()
        b = s.get_token()
    assert a.subject == "CS|oidc-user"
    assert fp(a.token) == fp(b.token)
    assert len(calls) == 2  # the provider is asked every time...
    assert emu.count() == 1  # ...but each distinct JWT is exchanged once


def test_oidc_async_provider(emu: Emulator) -> None:
    jwt = emu.mint(subject="async-oidc")["accessToken"]

    async def get_jwt() -> str:
        await asyncio.sleep(0.01)
        return jwt

    s = sa.OidcFederationStrategy(emu.crn, get_jwt, base_url=emu.url, store=sa.InMemoryTokenStore())
    assert asyncio.run(s.get_token_async()).subject == "CS|async-oidc"


def test_oidc_provider_failure(emu: Emulator) -> None:
    def get_jwt() -> str:
        raise PermissionError("no identity")

    with pytest.raises(sa.CallbackError) as info:
        sa.OidcFederationStrategy(emu.crn, get_jwt, base_url=emu.url).get_token(timeout=5)
    assert info.value.code == "PermissionError"
    assert emu.count() == 0


def test_token_store_fn_persists_and_reloads(emu: Emulator) -> None:
    fake = RecordingStore()
    a = sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(fake.load, fake.save), base_url=emu.url)
    ta = a.get_token()
    assert _runtime.lib.sa_flush(5000) == 0  # the save follows get_token's return
    assert fake.loads >= 1 and fake.saves == 1
    assert fake.saved is not None and isinstance(json.loads(fake.saved), dict)
    b = sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(fake.load, fake.save), base_url=emu.url)
    assert fp(b.get_token().token) == fp(ta.token)
    assert emu.count() == 1
    assert set(fake.threads) == {"stack-auth-callback"}


def test_async_token_store_fn(emu: Emulator) -> None:
    saved: List[str] = []

    async def load() -> Optional[str]:
        await asyncio.sleep(0)
        return saved[-1] if saved else None

    async def save(token_json: str) -> None:
        await asyncio.sleep(0)
        saved.append(token_json)

    store = sa.TokenStoreFn(load, save)
    sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url).get_token()
    assert _runtime.lib.sa_flush(5000) == 0  # the save follows get_token's return
    assert len(saved) == 1
    sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url).get_token()
    assert emu.count() == 1


def test_failing_store_is_a_miss_and_saving_failure_is_ignored(emu: Emulator) -> None:
    def load() -> str:
        raise OSError("disk gone")

    def save(token_json: str) -> None:
        raise OSError("disk full")

    s = sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(load, save), base_url=emu.url)
    assert s.get_token().workspace_id == emu.workspace_id
    bad = sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(lambda: "{not json", None), base_url=emu.url)
    assert bad.get_token().workspace_id == emu.workspace_id


def test_store_load_that_never_answers_times_out_into_a_miss(emu: Emulator) -> None:
    release = threading.Event()

    def load() -> Optional[str]:
        release.wait(30)
        return None

    store = sa.TokenStoreFn(load, None, timeout=0.2)
    start = time.monotonic()
    t = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url).get_token(timeout=10)
    assert t.workspace_id == emu.workspace_id
    assert time.monotonic() - start < 5
    release.set()


def test_store_hook_destroyed_once_after_store_and_strategies_are_gone(emu: Emulator) -> None:
    fake = RecordingStore()
    store = sa.TokenStoreFn(fake.load, fake.save)
    destroyed = store._destroyed
    s = sa.AccessKeyStrategy(emu.crn, emu.key, store=store, base_url=emu.url)
    s.get_token()
    store.close()
    gc.collect()
    # The strategy still uses the store: no destroy yet.
    assert destroyed.calls == 0
    assert s.get_token().workspace_id == emu.workspace_id
    s.close()
    wait_for(lambda: destroyed.calls >= 1, what="store destroy")
    gc.collect()
    assert destroyed.calls == 1


def test_p17_hook_with_deep_recursion_json_and_ssl() -> None:
    import ssl

    def deep(n: int) -> int:
        return 0 if n == 0 else 1 + deep(n - 1)

    def fn() -> str:
        assert deep(200) == 200
        ssl.create_default_context()
        return json.loads(json.dumps({"t": "deep-token"}))["t"]

    assert sa.AuthStrategyFn(fn).get_token(timeout=10).token == "deep-token"


def test_flush_waits_for_the_save_that_follows_the_token(emu: Emulator) -> None:
    """The token reaches the caller before its store save (docs/architecture.md D3): flush()
    is how a host knows the save is done; False while it runs, True once it has."""
    release = threading.Event()
    saved: List[str] = []

    def save(token_json: str) -> None:
        release.wait(10)
        saved.append(token_json)

    s = sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(lambda: None, save), base_url=emu.url)
    s.get_token(timeout=10)
    assert sa.flush(timeout=0.05) is False  # the save is held
    assert saved == []
    release.set()
    assert sa.flush(timeout=10) is True
    assert len(saved) == 1
    with pytest.raises(sa.InvalidArgument):
        sa.flush(timeout=-1)  # the library's timeout rule
    s.close()


def test_flush_async_lets_an_async_store_on_the_loop_finish(emu: Emulator) -> None:
    saved: List[str] = []

    async def main() -> bool:
        gate = asyncio.get_running_loop().create_future()

        async def save(token_json: str) -> None:
            await gate  # runs on this loop: a blocking flush() here could never see it end
            saved.append(token_json)

        s = sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(lambda: None, save), base_url=emu.url)
        await s.get_token_async()
        asyncio.get_running_loop().call_soon(gate.set_result, None)
        done = await sa.flush_async(timeout=10)
        s.close()
        return done

    assert asyncio.run(main()) is True
    assert len(saved) == 1
