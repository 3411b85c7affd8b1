"""Process-level behaviour, each in a fresh interpreter: fork, Ctrl-C during a blocking
call, interpreter exit with work in flight, environment set after load, small stacks
and opening the browser (docs/c-abi.md P9, P13, P14, P27, P17)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import HERE, Emulator, run_python


def _env(emu: Emulator) -> dict:
    return {"EMU_URL": emu.url, "EMU_CRN": emu.crn, "EMU_KEY": emu.key}


def test_fork_child_gets_forked_error_at_once(emu: Emulator) -> None:
    code = """
import os, time, stack_auth as sa
s = sa.AccessKeyStrategy(os.environ["EMU_CRN"], os.environ["EMU_KEY"], base_url=os.environ["EMU_URL"])
s.get_token()
pid = os.fork()
if pid == 0:
    ok = True
    start = time.monotonic()
    for call in (lambda: s.get_token(), lambda: s.get_token(timeout=5),
                 lambda: sa.AccessKeyStrategy(os.environ["EMU_CRN"], os.environ["EMU_KEY"]),
                 lambda: sa.AuthStrategyFn(lambda: "x")):
        try:
            call()
            ok = False
        except sa.Forked as e:
            ok = ok and e.code == "FORKED" and e.status == -6
    elapsed = time.monotonic() - start
    os._exit(0 if ok and elapsed < 0.1 else 1)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
print("parent", s.get_token().workspace_id == os.environ["EMU_CRN"].split(":")[2])
"""
    r = run_python(code, env=_env(emu))
    assert r.returncode == 0, r.stderr
    assert "child 0" in r.stdout
    assert "parent True" in r.stdout


def test_fork_before_first_use_works_in_the_child(emu: Emulator) -> None:
    code = """
import os, stack_auth as sa
pid = os.fork()
if pid == 0:
    t = sa.AccessKeyStrategy(os.environ["EMU_CRN"], os.environ["EMU_KEY"], base_url=os.environ["EMU_URL"]).get_token()
    os._exit(0 if t.subject.startswith("CS|CSAK") else 1)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""
    r = run_python(code, env=_env(emu))
    assert r.returncode == 0, r.stderr
    assert "child 0" in r.stdout


def test_ctrl_c_interrupts_a_blocked_get_token(emu: Emulator) -> None:
    emu.fault(status=0, delayMs=20000, count=1)
    code = """
import os, sys, stack_auth as sa
s = sa.AccessKeyStrategy(os.environ["EMU_CRN"], os.environ["EMU_KEY"], base_url=os.environ["EMU_URL"])
print("calling", flush=True)
try:
    s.get_token()
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(130)
print("returned", flush=True)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update(_env(emu))
    p = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(HERE), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "calling"
        emu.wait_faults_taken()  # the request is in flight and the caller is blocked
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "KeyboardInterrupt" in out, err
    assert p.returncode == 130
    assert elapsed < 5.0  # not the emulator's 20 s


def test_exit_with_work_in_flight_is_clean(emu: Emulator) -> None:
    """docs/c-abi.md P14: the interpreter exits (code 0, quickly, no traceback) while a refresh, a blocked
    caller, an async waiter and a callback that never answers are all in flight."""
    emu.fault(status=0, delayMs=20000, count=3)
    code = """
import asyncio, os, threading, time, stack_auth as sa
def call(strategy):
    try:
        strategy.get_token()
    except sa.Cancelled:  # what closing a strategy does to its waiting callers (at exit too)
        pass
s = sa.AccessKeyStrategy(os.environ["EMU_CRN"], os.environ["EMU_KEY"], base_url=os.environ["EMU_URL"])
threading.Thread(target=call, args=(s,), daemon=True).start()
import concurrent.futures
fn = sa.AuthStrategyFn(lambda: concurrent.futures.Future())  # the library waits on it
threading.Thread(target=call, args=(fn,), daemon=True).start()
async def never():
    await asyncio.Event().wait()
    return "never"
afn = sa.AuthStrategyFn(never)
threading.Thread(target=call, args=(afn,), daemon=True).start()
loop = asyncio.new_event_loop()
fut = loop.create_task(s.get_token_async())
loop.run_until_complete(asyncio.sleep(0.05))
from stack_auth import _runtime
deadline = time.monotonic() + 5
while _runtime.stats()["pending"] < 4 and time.monotonic() < deadline:
    time.sleep(0.01)
print("pending", _runtime.stats()["pending"], flush=True)
"""
    start = time.monotonic()
    r = run_python(code, env=_env(emu), timeout=15)
    elapsed = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    assert "pending 4" in r.stdout
    assert "Traceback" not in r.stderr and "Fatal" not in r.stderr, r.stderr
    assert elapsed < 5


def test_environment_set_after_load_is_honoured(emu: Emulator, tmp_path: Path) -> None:
    """docs/c-abi.md P27: CS_* variables set with os.environ after the library is loaded."""
    code = f"""
import os, stack_auth as sa
sa.version()  # loads the library (and its Go runtime) before the variables exist
assert "libstack_auth" in open("/proc/self/maps").read()
os.environ["CS_CTS_HOST"] = os.environ["EMU_URL"]
os.environ["CS_CLIENT_ACCESS_KEY"] = os.environ["EMU_KEY"]
os.environ["CS_WORKSPACE_CRN"] = os.environ["EMU_CRN"]
os.environ["CS_CONFIG_PATH"] = {str(tmp_path / "profile")!r}
t = sa.AutoStrategy.detect().get_token()
print("subject", t.subject.startswith("CS|CSAK"), "workspace", t.workspace_id == os.environ["EMU_CRN"].split(":")[2])
"""
    r = run_python(code, env=_env(emu))
    assert r.returncode == 0, r.stderr
    assert "subject True workspace True" in r.stdout
    assert emu.count() == 1


def test_p17_callbacks_with_a_128k_stack_limit(emu: Emulator) -> None:
    code = """
import json, os, ssl, stack_auth as sa
def deep(n): return 0 if n == 0 else 1 + deep(n - 1)
def fn():
    deep(200); ssl.create_default_context()
    return json.loads(json.dumps({"t": "small-stack-token"}))["t"]
print(sa.AuthStrategyFn(fn).get_token(timeout=10).token)
s = sa.AccessKeyStrategy(os.environ["EMU_CRN"], os.environ["EMU_KEY"], base_url=os.environ["EMU_URL"],
                         store=sa.TokenStoreFn(lambda: (deep(200), None)[1], lambda j: json.loads(j) and None))
print(s.get_token(timeout=10).subject[:7])
"""
    import resource

    def small_stack() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (128 * 1024, 128 * 1024))

    r = run_python(code, env=_env(emu), preexec_fn=small_stack)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["small-stack-token", "CS|CSAK"]


def test_open_in_browser_runs_the_platform_opener(emu: Emulator, tmp_path: Path) -> None:
    opener = tmp_path / "bin" / "xdg-open"
    opener.parent.mkdir()
    opened = tmp_path / "opened"
    # Written whole, then renamed: the test waits for the file to exist.
    opener.write_text(f"#!/bin/sh\necho \"$1\" > {opened}.tmp && mv {opened}.tmp {opened}\n")
    opener.chmod(0o755)
    begin = f"""
import os, time, stack_auth as sa
flow = sa.begin_device_code_flow(os.environ["EMU_CRN"].split(":")[1], base_url=os.environ["EMU_URL"], profile_dir={str(tmp_path / "profile")!r})
print("opened", flow.open_in_browser())
"""
    wait = f"""
deadline = time.monotonic() + 5
while not os.path.exists({str(opened)!r}) and time.monotonic() < deadline:
    time.sleep(0.01)
print("same", open({str(opened)!r}).read().strip() == flow.verification_uri_complete)
"""
    r = run_python(begin + wait, env={**_env(emu), "PATH": f"{opener.parent}:{os.environ['PATH']}"})
    assert r.returncode == 0, r.stderr
    assert "opened True" in r.stdout and "same True" in r.stdout
    # No opener on PATH: False, not an exception.
    r = run_python(begin, env={**_env(emu), "PATH": str(tmp_path / "empty")})
    assert r.returncode == 0, r.stderr
    assert "opened False" in r.stdout
