#!/usr/bin/env python3
"""Conformance runner for the Python binding (stack_auth).

Runs every scenario of scenarios.json against ONE emulator, resetting it between scenarios,
prints `ok <name>` / `FAIL <name>: <why>` per scenario and `N passed, M failed`, writes one
JSON observation per scenario to $SA_CONFORMANCE_OUT (run.sh compares the languages' files)
and exits non-zero on any failure.

Environment: SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY (the emulator's ready line; required),
SA_CONFORMANCE_SCENARIOS (default: scenarios.json beside this file), SA_CONFORMANCE_OUT
(default: none), SA_CONFORMANCE_ONLY (comma-separated scenario names to run).
Run with build/out/venv/bin/python (the venv `make python` builds).
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import stack_auth as sa

LANG = "python"
CS_VARS = ["CS_CLIENT_ACCESS_KEY", "CS_WORKSPACE_CRN", "CS_CTS_HOST", "CS_CONFIG_PATH", "CS_TOKEN_STORE"]
SETTLE_SECS = 5.0  # see settle_requests()


# ---- the emulator's control API -----------------------------------------------------------


class Emulator:
    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/")

    def call(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, method=method, data=data,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw.strip() else None
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def must(self, method: str, path: str, body: Any = None) -> Any:
        status, doc = self.call(method, path, body)
        if status // 100 != 2:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {doc}")
        return doc

    def request_counts(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for r in self.must("GET", "/_emulator/requests")["requests"]:
            counts[r["path"]] = counts.get(r["path"], 0) + 1
        return counts


# ---- placeholders -------------------------------------------------------------------------


def substitute(value: Any, ph: Dict[str, str]) -> Any:
    """$NAME placeholders in input strings (longest name first: $KEY_ID before $KEY)."""
    if isinstance(value, str):
        for name in sorted(ph, key=len, reverse=True):
            value = value.replace("$" + name, ph[name])
        return value
    if isinstance(value, dict):
        return {k: substitute(v, ph) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ph) for v in value]
    return value


def normalise(value: Any, ph: Dict[str, str]) -> Any:
    """Observed strings back to placeholders (longest value first)."""
    if isinstance(value, str):
        for name in sorted(ph, key=lambda n: len(ph[n]), reverse=True):
            if ph[name]:
                value = value.replace(ph[name], "$" + name)
        return value
    if isinstance(value, dict):
        return {k: normalise(v, ph) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, ph) for v in value]
    return value


def normalise_message(msg: str, ph: Dict[str, str]) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", normalise(msg, ph))


# ---- one scenario ---------------------------------------------------------------------------


def error_obs(e: sa.AuthError) -> Dict[str, Any]:
    return {"code": e.code, "help": bool(e.help), "url": e.url, "retryable": e.retryable, "payload": dict(e.payload),
            "message": e.message}


def token_obs(tok: sa.ServiceToken) -> Dict[str, Any]:
    expires_in = tok.expires_at - time.time()
    return {
        "workspaceId": tok.workspace_id,
        "subject": tok.subject,
        "issuer": tok.issuer,
        "services": dict(tok.services),
        "expiresInMin": int(math.floor(expires_in / 60 + 0.5)),
    }


def build(sc: Dict[str, Any], inputs: Dict[str, Any], options: Dict[str, Any],
          store: Optional[sa.TokenStore]) -> sa.AuthStrategy:
    timeout = options["timeoutMs"] / 1000 if "timeoutMs" in options else None
    kind = sc["strategy"]
    if kind == "access_key":
        return sa.AccessKeyStrategy(inputs["workspaceCrn"], inputs["accessKey"], store=store,
                                    base_url=inputs.get("baseUrl"), timeout=timeout)
    if kind == "auto":
        return sa.AutoStrategy.detect(access_key=inputs.get("accessKey"), workspace_crn=inputs.get("workspaceCrn"),
                                      store=store, base_url=inputs.get("baseUrl"),
                                      profile_dir=inputs.get("profileDir"), timeout=timeout)
    if kind == "device_session":
        return sa.DeviceSessionStrategy.from_profile(profile_dir=inputs.get("profileDir"),
                                                     base_url=inputs.get("baseUrl"), store=store, timeout=timeout)
    if kind == "static":
        return sa.StaticTokenStrategy(inputs["token"])
    raise ValueError(f"unknown strategy {kind!r}")


def get_opt(sc: Dict[str, Any], defaults: Dict[str, Any], key: str, fallback: Any) -> Any:
    return sc.get(key, defaults.get(key, fallback))


class Runner:
    def __init__(self, emu: Emulator, ph: Dict[str, str], defaults: Dict[str, Any], base_config: Any) -> None:
        self.emu = emu
        self.ph = ph
        self.defaults = defaults
        self.base_config = base_config

    def reset(self) -> None:
        self.emu.must("DELETE", "/_emulator/faults")
        self.emu.must("DELETE", "/_emulator/requests")
        for ws in (self.ph["WS"], self.ph["OTHER_WS"]):
            self.emu.must("POST", "/_emulator/usage-limit", {"workspaceId": ws, "code": ""})
        self.emu.must("POST", "/_emulator/config", self.base_config)

    def setup(self, setup: Dict[str, Any], ph: Dict[str, str]) -> None:
        if "config" in setup:
            self.emu.must("POST", "/_emulator/config", setup["config"])
        if "usageLimit" in setup:
            self.emu.must("POST", "/_emulator/usage-limit", substitute(setup["usageLimit"], ph))
        for fault in setup.get("faults", []):
            self.emu.must("POST", "/_emulator/faults", fault)
        if "mintToken" in setup:
            ph["TOKEN"] = self.emu.must("POST", "/_emulator/tokens", substitute(setup["mintToken"], ph))["accessToken"]

    def login(self, login: Dict[str, Any]) -> None:
        """A device-code login with the binding; the emulator approves it in between."""
        flow = sa.begin_device_code_flow(login["region"], base_url=login.get("baseUrl"),
                                         profile_dir=login.get("profileDir"), timeout=10)
        try:
            self.emu.must("POST", "/_emulator/approve", {"userCode": flow.user_code})
            flow.poll_for_token(timeout=10)
        finally:
            flow.close()

    def settle_requests(self, expected: Optional[Dict[str, int]]) -> Dict[str, int]:
        """The emulator logs a request when its handler returns, which for a connection reset
        or a request the client abandoned is after the client saw the failure. So when the
        log has fewer entries than expected, read it again (bounded); more never shrinks."""
        deadline = time.monotonic() + SETTLE_SECS
        while True:
            counts = self.emu.request_counts()
            if expected is None or counts == expected or time.monotonic() > deadline:
                return counts
            if any(n > expected.get(p, 0) for p, n in counts.items()):
                return counts
            time.sleep(0.02)

    def run(self, sc: Dict[str, Any]) -> Dict[str, Any]:
        ph = dict(self.ph)
        empty_dir = tempfile.mkdtemp(prefix="sa-conformance-")
        ph["EMPTY_DIR"] = empty_dir
        self.reset()
        self.setup(sc.get("setup", {}), ph)
        d = self.defaults
        inputs = substitute(sc.get("inputs", {}), ph)
        options = sc.get("options", {})
        env = substitute(sc.get("env", {}), ph)
        calls = get_opt(sc, d, "calls", 1)
        concurrent = get_opt(sc, d, "concurrent", 0)
        concurrent_api = get_opt(sc, d, "concurrentApi", "blocking")
        n_strategies = get_opt(sc, d, "strategies", 1)
        call_timeout = sc.get("callTimeoutMs")
        wait_before = get_opt(sc, d, "waitBeforeMs", 0)
        wait_ms = get_opt(sc, d, "waitBetweenMs", 0)
        invalidate = {i["afterCall"]: i["tokenOfCall"] for i in sc.get("invalidate", [])}

        obs: Dict[str, Any] = {"lang": LANG, "name": sc["name"], "login": None, "create": None, "concurrent": None,
                               "calls": [], "invalidated": [] if invalidate else None, "token": None, "error": None,
                               "distinctTokens": 0, "requests": {}, "leaks": []}
        secrets = [s for s in (ph["KEY"].split(".", 1)[-1], ph["OTHER_KEY"].split(".", 1)[-1], ph.get("TOKEN")) if s]
        tokens: List[str] = []
        surfaces: List[Tuple[str, str]] = []

        def note_error(where: str, e: sa.AuthError) -> None:
            surfaces.extend([(where + " str(error)", str(e)), (where + " repr(error)", repr(e))])
            if obs["error"] is None:
                obs["error"] = error_obs(e)

        def note_token(where: str, tok: sa.ServiceToken) -> None:
            tokens.append(tok.token)
            surfaces.extend([(where + " repr(token)", repr(tok)), (where + " str(token)", str(tok))])
            if obs["token"] is None:
                obs["token"] = token_obs(tok)

        def outcome(r: Any, where: str) -> str:
            if isinstance(r, sa.ServiceToken):
                note_token(where, r)
                return "ok"
            if isinstance(r, sa.AuthError):
                note_error(where, r)
                return r.code
            return "HUNG"

        for k in CS_VARS:
            os.environ.pop(k, None)
        os.environ.update(env)  # after the library was loaded: the live-environment rule
        strategies: List[sa.AuthStrategy] = []
        store: Optional[sa.TokenStore] = None
        try:
            if "login" in sc:
                try:
                    self.login(substitute(sc["login"], ph))
                    obs["login"] = "ok"
                except sa.AuthError as e:
                    obs["login"] = e.code
                    note_error("login", e)
            if "store" in sc:
                url = substitute(sc["store"], ph)
                store = sa.InMemoryTokenStore() if url == "memory" else sa.open_store(url)
            try:
                for _ in range(n_strategies):
                    strategies.append(build(sc, inputs, options, store))
                obs["create"] = "ok"
                surfaces.append(("repr(strategy)", repr(strategies[0])))
            except sa.AuthError as e:
                obs["create"] = e.code
                note_error("create", e)
            except Exception as e:  # not the binding's error type: recorded as HOST:<class>
                obs["create"] = f"HOST:{type(e).__name__}"
                surfaces.append(("create str(exception)", str(e)))
                obs["error"] = obs["error"] or {"code": obs["create"], "help": False, "url": None, "retryable": False, "payload": {},
                                                "message": str(e)}
            if strategies and obs["create"] == "ok":
                first = strategies[0]
                if concurrent:
                    obs["concurrent"] = self.concurrent(first, concurrent, concurrent_api, outcome)
                if wait_before:
                    time.sleep(wait_before / 1000)  # real time for a token to expire
                results: List[Any] = []
                for strategy in strategies:
                    for i in range(calls):
                        if i and wait_ms:
                            time.sleep(wait_ms / 1000)  # real time for a token to expire
                        try:
                            r: Any = strategy.get_token(None if call_timeout is None else call_timeout / 1000)
                        except sa.AuthError as e:
                            r = e
                        results.append(r)
                        obs["calls"].append(outcome(r, "call"))
                        if len(results) - 1 in invalidate:
                            tok = results[invalidate[len(results) - 1]]
                            obs["invalidated"].append(strategy.invalidate(tok))
        finally:
            for strategy in strategies:
                strategy.close()
            if store is not None:
                store.close()
            for k in CS_VARS:
                os.environ.pop(k, None)
            shutil.rmtree(empty_dir, ignore_errors=True)

        obs["distinctTokens"] = len(set(tokens))
        secrets += tokens
        for where, text in surfaces:
            if any(s in text for s in secrets):
                obs["leaks"].append(where)
        obs["requests"] = self.settle_requests(sc.get("expect", {}).get("requests"))
        msg = obs["error"]["message"] if obs["error"] else None
        obs = normalise(obs, ph)
        if msg is not None:
            obs["error"]["message"] = normalise_message(msg, ph)
        return obs

    @staticmethod
    def concurrent(strategy: sa.AuthStrategy, n: int, api: str, outcome: Any) -> Dict[str, int]:
        """n first calls at once: threads on get_token() behind a barrier, or (api "async")
        get_token_async() coroutines gathered on one event loop."""
        results: List[Any] = [None] * n
        if api == "async":
            async def one(i: int) -> None:
                try:
                    results[i] = await strategy.get_token_async()
                except sa.AuthError as e:
                    results[i] = e

            async def gather() -> None:
                await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), 60)

            asyncio.run(gather())
        else:
            barrier = threading.Barrier(n)

            def worker(i: int) -> None:
                barrier.wait()
                try:
                    results[i] = strategy.get_token()
                except sa.AuthError as e:
                    results[i] = e

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        counts: Dict[str, int] = {}
        for r in results:
            k = outcome(r, "concurrent")
            counts[k] = counts.get(k, 0) + 1
        return counts


def check(expect: Dict[str, Any], obs: Dict[str, Any]) -> List[str]:
    """Every key of expect must equal the observation's; "token" and "error" are compared
    key by key (a subset); leaks must always be empty."""
    why = []
    for k, want in expect.items():
        got = obs.get(k)
        if k in ("token", "error") and isinstance(want, dict) and isinstance(got, dict):
            for kk, w in want.items():
                if got.get(kk) != w:
                    why.append(f"{k}.{kk}: want {json.dumps(w)}, got {json.dumps(got.get(kk))}")
        elif got != want:
            why.append(f"{k}: want {json.dumps(want)}, got {json.dumps(got)}")
    if obs["leaks"]:
        why.append(f"secret visible in: {', '.join(obs['leaks'])}")
    return why


def main() -> int:
    url, crn, key = (os.environ.get(n) for n in ("SA_EMU_URL", "SA_EMU_CRN", "SA_EMU_KEY"))
    if not (url and crn and key):
        print("runner.py: set SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    doc = json.load(open(os.environ.get("SA_CONFORMANCE_SCENARIOS") or os.path.join(here, "scenarios.json")))
    only = {n for n in os.environ.get("SA_CONFORMANCE_ONLY", "").split(",") if n}
    out_path = os.environ.get("SA_CONFORMANCE_OUT")

    # Load the library first, so that every CS_* variable below is set after it was loaded.
    print(f"# {LANG}: {sa.build_info()}", file=sys.stderr)
    emu = Emulator(url)
    state = emu.must("GET", "/_emulator/state")
    other = emu.must("POST", "/_emulator/workspaces", {})
    ph = {
        "URL": url,
        "ZEROKMS_URL": state["zerokmsUrl"],
        "CRN": crn,
        "WS": crn.rsplit(":", 1)[-1],
        "KEY": key,
        "KEY_ID": key.split(".", 1)[0],
        "OTHER_CRN": other["workspaceCrn"],
        "OTHER_WS": other["workspaceId"],
        "OTHER_KEY": other["accessKey"],
        "OTHER_KEY_ID": other["accessKey"].split(".", 1)[0],
        "REGION": crn.split(":")[1],
    }
    runner = Runner(emu, ph, doc.get("defaults", {}), emu.must("GET", "/_emulator/config"))

    passed = failed = 0
    out = open(out_path, "w") if out_path else None
    try:
        for sc in doc["scenarios"]:
            if only and sc["name"] not in only:
                continue
            try:
                obs = runner.run(sc)
                why = check(sc.get("expect", {}), obs)
            except Exception as e:  # a runner or emulator problem: the scenario fails
                obs = {"lang": LANG, "name": sc["name"], "crashed": f"{type(e).__name__}: {e}"}
                why = [obs["crashed"]]
            if out:
                out.write(json.dumps(obs, sort_keys=True) + "\n")
                out.flush()
            if why:
                failed += 1
                print(f"FAIL {sc['name']}: {'; '.join(why)}", flush=True)
            else:
                passed += 1
                print(f"ok {sc['name']}", flush=True)
    finally:
        if out:
            out.close()
        runner.reset()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
