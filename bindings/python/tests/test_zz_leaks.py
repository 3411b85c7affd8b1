"""Runs last (file order): once every test's objects are collected, the library holds no
handle and no string (sa_debug_live_objects() == 0, docs/c-abi.md P19), and the binding holds no
hook or pending completion. Waits (bounded) for completions still owed by earlier tests
that gave up waiting on purpose."""
from __future__ import annotations

import gc
import time

from stack_auth import _runtime


def test_nothing_is_left_alive() -> None:
    deadline = time.monotonic() + 40
    while True:
        gc.collect()
        live = _runtime.lib.sa_debug_live_objects()
        stats = _runtime.stats()
        if live == 0 and stats["hooks_live"] == 0 and stats["pending"] == 0:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"still alive: {live} library objects, binding {stats}")
        time.sleep(0.05)
