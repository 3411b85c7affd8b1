"""User functions run in the caller's thread and loop (docs/architecture.md D4, issue 16 items 1-3, 7):
OIDC tokens for a cached JWT come back without a thread hop, a JWT passed by the caller
never calls get_jwt, async get_jwt and async stores run on the awaiting coroutine's loop, and
a failing callback is the CallbackError's __cause__ with its traceback."""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import traceback
from typing import Any, List, Optional

import pytest

import stack_auth as sa
from stack_auth import _runtime
from conftest import Emulator, fp


def test_oidc_cached_jwt_answers_on_the_callers_thread(emu: Emulator) -> None:
    jwt = emu.mint(subject="in-caller")["accessToken"]
    threads: List[str] = []

    def get_jwt() -> str:
        threads.append(threading.current_thread().name)
        return jwt

    with sa.OidcFederationStrategy(emu.crn, get_jwt, base_url=emu.url) as s:
        a = s.get_token()
        started = _runtime.stats()
        b = s.get_token()
        assert _runtime.stats() == started  # no library wait was started for a cached JWT
    assert fp(a.token) == fp(b.token)
    assert threads == ["MainThread", "MainThread"]
    assert emu.count() == 1


def test_oidc_jwt_passed_by_the_caller_never_calls_get_jwt(emu: Emulator) -> None:
    ja, jb = emu.mint(subject="tenant-a")["accessToken"], emu.mint(subject="tenant-b")["accessToken"]
    calls: List[int] = []
    with sa.OidcFederationStrategy(emu.crn, lambda: calls.append(1) or ja, base_url=emu.url) as s:
        assert s.get_token(jwt=ja).subject == "CS|tenant-a"
        assert s.get_token(jwt=jb).subject == "CS|tenant-b"
        assert s.get_token(jwt=ja).subject == "CS|tenant-a"
        assert asyncio.run(s.get_token_async(jwt=jb)).subject == "CS|tenant-b"
    assert calls == []
    assert emu.count() == 2  # one exchange per JWT
    with sa.OidcFederationStrategy(emu.crn, None, base_url=emu.url) as t:
        assert t.get_token(jwt=ja).subject == "CS|tenant-a"
        with pytest.raises(sa.InvalidArgument):
            t.get_token()
        with pytest.raises(TypeError):
            t.get_token(jwt=42)  # type: ignore[arg-type]


def test_async_get_jwt_and_async_store_run_on_the_callers_loop(emu: Emulator) -> None:
    """Item 3: objects bound to the app's loop (here a Future created on it) work inside an
    async get_jwt and an async store; before, they ran on a private loop and failed with
    "attached to a different loop"."""
    jwt = emu.mint(subject="loop-user")["accessToken"]
    loops: List[Any] = []
    saved: List[str] = []

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        gate = loop.create_future()
        loop.call_soon(gate.set_result, jwt)

        async def get_jwt() -> str:
            loops.append(("get_jwt", asyncio.get_running_loop()))
            return str(await gate)

        async def load() -> Optional[str]:
            loops.append(("load", asyncio.get_running_loop()))
            await gate
            return None

        saved_now = asyncio.Event()

        async def save(token_json: str) -> None:
            loops.append(("save", asyncio.get_running_loop()))
            await gate
            saved.append(token_json)
            saved_now.set()

        s = sa.OidcFederationStrategy(emu.crn, get_jwt, base_url=emu.url, store=sa.TokenStoreFn(load, save))
        tok = await s.get_token_async()
        # The save follows the token (docs/architecture.md D3): wait for it before the loop ends.
        await asyncio.wait_for(saved_now.wait(), 10)
        s.close()
        return tok, loop

    tok, loop = asyncio.run(main())
    assert tok.subject == "CS|loop-user"
    kinds = [k for k, _ in loops]
    assert "get_jwt" in kinds and "load" in kinds and "save" in kinds
    assert all(seen is loop for _, seen in loops)
    assert len(saved) == 1


def test_failing_callback_is_the_cause_with_its_traceback(emu: Emulator) -> None:
    def vault() -> str:
        raise PermissionError("vault sealed")

    with pytest.raises(sa.CallbackError) as info:
        sa.AuthStrategyFn(vault).get_token(timeout=5)
    err = info.value
    assert err.code == "PermissionError"
    assert isinstance(err.__cause__, PermissionError)
    assert "vault" in "".join(traceback.format_tb(err.__cause__.__traceback__))

    async def async_vault() -> str:
        raise KeyError("no key")

    async def main() -> None:
        await sa.AuthStrategyFn(async_vault).get_token_async()

    with pytest.raises(sa.CallbackError) as info2:
        asyncio.run(main())
    assert isinstance(info2.value.__cause__, KeyError)

    async def oidc_main() -> None:
        await sa.OidcFederationStrategy(emu.crn, async_vault, base_url=emu.url).get_token_async()

    with pytest.raises(sa.CallbackError) as info3:
        asyncio.run(oidc_main())
    assert isinstance(info3.value.__cause__, KeyError)
    assert emu.count() == 0


def test_store_failures_are_logged_by_the_library_in_its_words(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    def load() -> Optional[str]:
        raise OSError("disk gone")

    def save(token_json: str) -> None:
        raise OSError("disk full")

    caplog.set_level(logging.WARNING, logger="stack_auth")
    with sa.AccessKeyStrategy(emu.crn, emu.key, store=sa.TokenStoreFn(load, save), base_url=emu.url) as s:
        tok = s.get_token()
        deadline = time.monotonic() + 5  # the library's log thread delivers the lines
        while len([r for r in caplog.records if r.name == "stack_auth"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "stack_auth"]
    assert records == [
        (logging.WARNING, "token store load failed error=disk gone"),
        (logging.WARNING, "token store save failed error=disk full"),
    ]
    assert not any(tok.token in m for _, m in records)


def test_on_event_reports_the_engines_events(emu: Emulator) -> None:
    events: "queue.Queue[Any]" = queue.Queue()
    with sa.AccessKeyStrategy(emu.crn, emu.key, base_url=emu.url, on_event=events.put) as s:
        tok = s.get_token()
        kinds = [events.get(timeout=5)["kind"], events.get(timeout=5)["kind"]]
        assert kinds == ["refresh_started", "refresh_succeeded"]
        assert s.invalidate(tok)
        assert events.get(timeout=5)["kind"] == "token_invalidated"

        def boom(event: Any) -> None:
            raise ValueError("bad handler")

        logged: "queue.Queue[logging.LogRecord]" = queue.Queue()

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                logged.put(record)

        handler = Handler(level=logging.ERROR)
        logging.getLogger("stack_auth").addHandler(handler)
        try:
            s.on_event(boom)
            s.get_token()  # the forced refresh: its events reach boom, whose error is logged
            record = logged.get(timeout=5)
        finally:
            logging.getLogger("stack_auth").removeHandler(handler)
        assert "on_event" in record.getMessage()
        assert record.exc_info and isinstance(record.exc_info[1], ValueError)
    with pytest.raises(sa.InvalidArgument):
        sa.AuthStrategyFn(lambda: "x").on_event(print)
