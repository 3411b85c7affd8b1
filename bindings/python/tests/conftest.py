"""Fixtures: a real `stack-auth serve` emulator per test (never a mock of the library), its
test-control API, and helpers that keep secrets out of test output.

STACK_AUTH_BIN names the stack-auth binary (test.sh sets it; default: the repository's
build/out/bin/stack-auth).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
BIN = os.environ.get("STACK_AUTH_BIN", str(REPO / "build" / "out" / "bin" / "stack-auth"))

CS_VARS = ("CS_CTS_HOST", "CS_CLIENT_ACCESS_KEY", "CS_WORKSPACE_CRN", "CS_CONFIG_PATH", "CS_TOKEN_STORE")


def fp(secret: str) -> str:
    """A fingerprint to compare secrets by, so a failing assertion never prints one."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class Emulator:
    """One `stack-auth serve` process and its /_emulator control API."""

    def __init__(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [BIN, "serve", "--addr", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self._ready_line()
        start = json.loads(line)
        self.url: str = start["url"]
        self.crn: str = start["workspaceCrn"]
        self.key: str = start["accessKey"]
        self.addr: str = start["addr"]  # where it listens (with --tls-name, not url's host)
        _, self.region, self.workspace_id = self.crn.split(":")

    def _ready_line(self) -> str:
        import selectors

        sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=10):
            self.stop()
            raise RuntimeError("stack-auth serve printed no ready line within 10 s")
        return self.proc.stdout.readline()

    def __repr__(self) -> str:  # never the access key
        return f"<Emulator {self.url} {self.crn}>"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    # ---- control API ----

    def control(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + "_emulator/" + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def requests(self, path: Optional[str] = None) -> List[Dict[str, Any]]:
        reqs = self.control("GET", "requests")["requests"]
        return [r for r in reqs if path is None or r["path"] == path]

    def count(self, path: str = "/api/authorise") -> int:
        return len(self.requests(path))

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    def fault(self, **fault: Any) -> None:
        fault.setdefault("path", "/api/authorise")
        self.control("POST", "faults", fault)

    def faults(self) -> List[Dict[str, Any]]:
        return self.control("GET", "faults")["faults"]

    def wait_faults_taken(self, deadline: float = 10.0) -> None:
        """Returns once every counted fault was claimed by a request (the claim happens when
        the request arrives, before any delay): the request is then in flight."""
        end = time.monotonic() + deadline
        while self.faults():
            if time.monotonic() > end:
                raise AssertionError("the request never reached the emulator")
            time.sleep(0.01)

    def config(self, **cfg: Any) -> Dict[str, Any]:
        return self.control("POST", "config", cfg)

    def new_workspace(self) -> Dict[str, str]:
        return self.control("POST", "workspaces", {})

    def usage_limit(self, code: str, workspace_id: Optional[str] = None) -> None:
        self.control("POST", "usage-limit", {"workspaceId": workspace_id or self.workspace_id, "code": code})

    def mint(self, **body: Any) -> Dict[str, Any]:
        return self.control("POST", "tokens", body)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    e = Emulator()
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture
def emu_auto() -> Iterator[Emulator]:
    """An emulator started with --auto-approve (device codes are approved at once)."""
    e = Emulator("--auto-approve")
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CS_* variables and an empty HOME/profile, so detection sees only what a test sets."""
    for name in CS_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def run_python(code: str, *, env: Optional[Dict[str, str]] = None, timeout: float = 20, **kw: Any) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter of this venv (hard timeout)."""
    full_env = {k: v for k, v in os.environ.items() if k not in CS_VARS}
    full_env.update(env or {})
    kw.setdefault("cwd", str(HERE))  # not the source tree: import the installed package
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def wait_for(predicate: Any, timeout: float = 5.0, what: str = "condition") -> None:
    """Polls predicate (for state only the library can change, e.g. destroy callbacks)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def start_thread(call: Callable[[], Any]) -> "Tuple[threading.Thread, List[Exception]]":
    """Runs call on a started thread; the stack_auth.AuthError it raises, if any, lands in the list."""
    import stack_auth

    raised: List[Exception] = []

    def run() -> None:
        try:
            call()
        except stack_auth.AuthError as e:
            raised.append(e)

    t = threading.Thread(target=run)
    t.start()
    return t, raised


class RecordingStore:
    """A store that is no TokenStore: just load and save, as a user would write one, counting
    its calls and the threads it loads on."""

    def __init__(self) -> None:
        self.saved: Optional[str] = None
        self.loads = 0
        self.saves = 0
        self.threads: List[str] = []

    def load(self) -> Optional[str]:
        self.loads += 1
        self.threads.append(threading.current_thread().name)
        return self.saved

    def save(self, token_json: str) -> None:
        self.saves += 1
        self.saved = token_json
