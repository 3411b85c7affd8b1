#!/usr/bin/env python3
"""The cross-language conformance orchestrator (make test-conformance, via run.sh).

    conformance.py [--cli BIN] [--out DIR] [--only a,b] [--scenarios FILE] [--serial] LANG=COMMAND ...
    conformance.py --compare LANG=FILE.jsonl ...      (only compare observation files)

For every language it starts its own `stack-auth serve` and its testee (COMMAND, split like a
shell would), then runs every scenario of scenarios.json: it resets and sets up the emulator,
sends the testee one JSON request per line on stdin (testee.* perform them with the library and
answer one JSON line each on stdout; README.md lists the requests), builds the observation,
checks it against the scenario's `expect`, and at the end compares the languages' observations
with each other. Languages run at once (each against its own emulator) unless --serial.
Prints `ok`/`FAIL` per scenario and language, a table, and `N passed, M failed`; exits 1 on any
failure, crash, timeout or disagreement. Observations: DIR/<lang>.jsonl; testee stderr:
DIR/<lang>.log; emulator output: DIR/emulator-<lang>.log.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
CS_VARS = ["CS_CLIENT_ACCESS_KEY", "CS_WORKSPACE_CRN", "CS_CTS_HOST", "CS_CONFIG_PATH", "CS_TOKEN_STORE"]
SETTLE_SECS = 5.0  # see settle_requests()
REPLY_SECS = 90.0  # the longest a testee may take for one request before the run fails
ERROR_FIXED = {"type", "code", "error", "message", "help", "url", "retryable"}
# How a scenario's inputs reach each strategy's constructor: positional arguments and options.
ARGS = {"access_key": ["workspaceCrn", "accessKey"], "static": ["token"]}
OPTIONS = {"access_key": ["baseUrl"], "auto": ["accessKey", "workspaceCrn", "baseUrl", "profileDir"],
           "device_session": ["baseUrl", "profileDir"], "static": []}


class Problem(Exception):
    """A testee or emulator misbehaved: the scenario fails with this reason."""


# ---- the emulator and its control API -------------------------------------------------------


class Emulator:
    def __init__(self, cli: str, log_path: str) -> None:
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([cli, "serve", "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()  # the ready line: blocks until the emulator listens
        if not line:
            self.stop()
            raise Problem(f"the emulator did not start (see {log_path})")
        ready = json.loads(line)
        self.url, self.crn, self.key = ready["url"], ready["workspaceCrn"], ready["accessKey"]
        self.base = self.url.rstrip("/")

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
            raise Problem(f"emulator {method} {path}: HTTP {status}: {doc}")
        return doc

    def request_counts(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for r in self.must("GET", "/_emulator/requests")["requests"]:
            counts[r["path"]] = counts.get(r["path"], 0) + 1
        return counts

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---- a testee: JSON requests on stdin, JSON answers on stdout ----------------------------------


class Testee:
    def __init__(self, lang: str, cmd: List[str], log_path: str) -> None:
        self.lang = lang
        self.log = open(log_path, "w")
        env = {k: v for k, v in os.environ.items() if k not in CS_VARS}  # scenarios set them after load
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
                                     text=True, encoding="utf-8", bufsize=1)
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, op: str, **args: Any) -> Dict[str, Any]:
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise Problem(f"testee {self.lang} exited (code {self.proc.poll()}) before {op}") from None
        try:
            line = self.lines.get(timeout=REPLY_SECS)
        except queue.Empty:  # answers would no longer match requests: the testee is done
            self.proc.kill()
            self.proc.wait()
            raise Problem(f"testee {self.lang} did not answer {op} within {REPLY_SECS:.0f} s (killed)") from None
        if line is None:
            raise Problem(f"testee {self.lang} exited (code {self.proc.wait()}) during {op}")
        try:
            return json.loads(line)
        except ValueError:
            raise Problem(f"testee {self.lang} answered {op} with a line that is not JSON") from None

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ---- placeholders ---------------------------------------------------------------------------


def rewrite(value: Any, pairs: List[Tuple[str, str]]) -> Any:
    """Every string inside value with each (old, new) of pairs replaced, in order."""
    if isinstance(value, str):
        for old, new in pairs:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: rewrite(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, pairs) for v in value]
    return value


def substitute(value: Any, ph: Dict[str, str]) -> Any:
    """$NAME placeholders in input strings (longest name first: $KEY_ID before $KEY)."""
    return rewrite(value, [("$" + n, ph[n]) for n in sorted(ph, key=len, reverse=True)])


def normalise(value: Any, ph: Dict[str, str]) -> Any:
    """Observed strings back to placeholders (longest value first)."""
    return rewrite(value, [(ph[n], "$" + n) for n in sorted(ph, key=lambda n: len(ph[n]), reverse=True) if ph[n]])


# ---- what the testees answer, as observations ---------------------------------------------------


def error_obs(e: Dict[str, Any]) -> Dict[str, Any]:
    """A testee's error: C sends the error JSON ("json"), Node the failure's fields ("fields"),
    Python and Ruby the error's own attributes."""
    if "json" in e or "fields" in e:
        doc = (json.loads(e["json"]) if e.get("json") else {}) if "json" in e else e["fields"]
        e = {**e, "help": doc.get("help"), "url": doc.get("url"), "retryable": doc.get("retryable"),
             "payload": {k: v for k, v in doc.items() if k not in ERROR_FIXED}}
    return {"code": e["code"], "help": bool(e.get("help")), "url": e.get("url"),
            "retryable": e.get("retryable") is True,
            "payload": dict(e.get("payload") or {}), "message": e.get("message") or ""}


def token_obs(t: Dict[str, Any], now: float) -> Dict[str, Any]:
    return {"workspaceId": t["workspaceId"], "subject": t["subject"], "issuer": t["issuer"],
            "services": dict(t.get("services") or {}),
            "expiresInMin": int(math.floor((t["expiresAt"] - now) / 60 + 0.5))}


class Observation:
    """One scenario's observation, with what the checks need besides (never written out)."""

    def __init__(self, lang: str, sc: Dict[str, Any]) -> None:
        self.obs: Dict[str, Any] = {"lang": lang, "name": sc["name"], "login": None, "create": None, "concurrent": None,
                                    "calls": [], "invalidated": [] if sc.get("invalidate") else None, "token": None,
                                    "error": None, "distinctTokens": 0, "requests": {}, "leaks": []}
        self.tokens: List[str] = []
        self.surfaces: List[Tuple[str, str]] = []
        self.problems: List[str] = []

    def note(self, where: str, r: Optional[Dict[str, Any]]) -> str:
        """One answer of the library: the outcome "ok", the error's code, or HUNG."""
        if r and "token" in r:
            t = r["token"]
            if "json" in t:  # C: sa_token_json's document
                doc = json.loads(t["json"])
                t = {**t, **doc, "jsonValue": doc.get("token")}
            if "jsonValue" in t and t["jsonValue"] != t["value"]:
                self.problems.append(f"{where}: the token's value differs between its accessors")
            if t["value"] not in self.tokens:
                self.tokens.append(t["value"])
            self.surfaces += [(f"{where} {w}", s) for w, s in t.get("strings", [])]
            self.obs["token"] = self.obs["token"] or token_obs(t, time.time())
            return "ok"
        if r and "error" in r:
            e = r["error"]
            self.surfaces += [(f"{where} {w}", s) for w, s in e.get("strings", [])]
            node = e.get("node")
            if node and not node["isError"]:
                self.problems.append(f"{where}: failure.error is not an Error")
            elif node and node["errorCode"] != e["code"]:
                self.problems.append(f"{where}: failure.error.code {node['errorCode']} != failure.code {e['code']}")
            elif node and node["type"] != node["upstreamType"]:
                self.problems.append(f"{where}: failure.type {node['type']} is not upstream's type of {e['code']}")
            self.obs["error"] = self.obs["error"] or error_obs(e)
            return e["code"]
        if r and "notAResult" in r:
            self.problems.append(f"{where}: not a Result: {r['notAResult']}")
            return "NOT_A_RESULT"
        return "HUNG"


def get_opt(sc: Dict[str, Any], defaults: Dict[str, Any], key: str, fallback: Any) -> Any:
    return sc.get(key, defaults.get(key, fallback))


# ---- one language ---------------------------------------------------------------------------------


class Language:
    def __init__(self, lang: str, cmd: List[str], cli: str, out: str, defaults: Dict[str, Any]) -> None:
        self.lang, self.cmd, self.cli, self.out, self.defaults = lang, cmd, cli, out, defaults
        self.passed = self.failed = self.asserts = 0
        self.seconds = 0.0
        self.secret = ""
        self.host_strings = True  # False: the testee's strings cannot hold a NUL (hostStringsOnly)

    def run(self, scenarios: List[Dict[str, Any]]) -> None:
        t0 = time.monotonic()
        emu = testee = None
        with open(os.path.join(self.out, f"{self.lang}.jsonl"), "w") as out:
            try:
                emu = Emulator(self.cli, os.path.join(self.out, f"emulator-{self.lang}.log"))
                self.secret = emu.key.split(".", 1)[-1]
                testee = Testee(self.lang, self.cmd, os.path.join(self.out, f"{self.lang}.log"))
                hello = testee.ask("hello")  # loads the library before any CS_* variable is set
                self.host_strings = hello.get("hostStrings", True)
                self.ph = self.placeholders(emu)
                self.base_config = emu.must("GET", "/_emulator/config")
                for sc in scenarios:
                    self.one(emu, testee, sc, out)
            except Problem as e:
                self.failed += 1
                self.say(f"FAIL {self.lang}: {e}")
            finally:
                if testee:
                    testee.stop()
                if emu:
                    emu.stop()
        self.seconds = time.monotonic() - t0

    def say(self, line: str) -> None:
        print(f"[{self.lang}] {line}", flush=True)

    @staticmethod
    def placeholders(emu: Emulator) -> Dict[str, str]:
        state = emu.must("GET", "/_emulator/state")
        other = emu.must("POST", "/_emulator/workspaces", {})
        return {"URL": emu.url, "ZEROKMS_URL": state["zerokmsUrl"], "CRN": emu.crn, "WS": emu.crn.rsplit(":", 1)[-1],
                "KEY": emu.key, "KEY_ID": emu.key.split(".", 1)[0], "OTHER_CRN": other["workspaceCrn"],
                "OTHER_WS": other["workspaceId"], "OTHER_KEY": other["accessKey"],
                "OTHER_KEY_ID": other["accessKey"].split(".", 1)[0], "REGION": emu.crn.split(":")[1]}

    def one(self, emu: Emulator, testee: Testee, sc: Dict[str, Any], out: Any) -> None:
        if sc.get("hostStringsOnly") and not self.host_strings:
            out.write(json.dumps({"lang": self.lang, "name": sc["name"], "notApplicable": "host strings"}) + "\n")
            self.say(f"n/a {sc['name']}: {self.lang} strings cannot hold what this scenario passes")
            return
        try:
            obs, why = self.scenario(emu, testee, sc)
        except Problem as e:
            obs, why = {"lang": self.lang, "name": sc["name"], "crashed": str(e)}, [str(e)]
        out.write(json.dumps(obs, sort_keys=True) + "\n")
        out.flush()
        if why:
            self.failed += 1
            self.say(f"FAIL {sc['name']}: {'; '.join(why)}")
        else:
            self.passed += 1
            self.say(f"ok {sc['name']}")
        if testee.proc.poll() is not None:  # the testee is gone: the scenarios left are not run
            raise Problem(f"testee {self.lang} exited (code {testee.proc.returncode}); "
                          "the remaining scenarios did not run")

    def reset(self, emu: Emulator) -> None:
        emu.must("DELETE", "/_emulator/faults")
        emu.must("DELETE", "/_emulator/requests")
        for ws in (self.ph["WS"], self.ph["OTHER_WS"]):
            emu.must("POST", "/_emulator/usage-limit", {"workspaceId": ws, "code": ""})
        emu.must("POST", "/_emulator/config", self.base_config)

    @staticmethod
    def setup(emu: Emulator, setup: Dict[str, Any], ph: Dict[str, str]) -> None:
        if "config" in setup:
            emu.must("POST", "/_emulator/config", setup["config"])
        if "usageLimit" in setup:
            emu.must("POST", "/_emulator/usage-limit", substitute(setup["usageLimit"], ph))
        for fault in setup.get("faults", []):
            emu.must("POST", "/_emulator/faults", fault)
        if "mintToken" in setup:
            ph["TOKEN"] = emu.must("POST", "/_emulator/tokens", substitute(setup["mintToken"], ph))["accessToken"]

    @staticmethod
    def settle_requests(emu: Emulator, expected: Optional[Dict[str, int]]) -> Dict[str, int]:
        """The emulator logs a request when its handler returns, which for a connection reset
        or a request the client abandoned is after the client saw the failure. So when the
        log has fewer entries than expected, read it again (bounded); more never shrinks."""
        deadline = time.monotonic() + SETTLE_SECS
        while True:
            counts = emu.request_counts()
            if expected is None or counts == expected or time.monotonic() > deadline:
                return counts
            if any(n > expected.get(p, 0) for p, n in counts.items()):
                return counts
            time.sleep(0.02)

    def scenario(self, emu: Emulator, testee: Testee, sc: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
        ph = dict(self.ph)
        empty_dir = tempfile.mkdtemp(prefix="sa-conformance-")
        ph["EMPTY_DIR"] = empty_dir
        d = self.defaults
        o = Observation(self.lang, sc)
        obs = o.obs
        live_before = testee.ask("live").get("live")
        try:
            self.reset(emu)
            self.setup(emu, sc.get("setup", {}), ph)
            # After the library was loaded: the live-environment rule.
            testee.ask("env", unset=CS_VARS, set=substitute(sc.get("env", {}), ph))
            if "login" in sc:
                login = substitute(sc["login"], ph)
                options = {k: login[k] for k in ("baseUrl", "profileDir") if k in login}
                r = testee.ask("login_begin", region=login["region"], options={**options, "timeoutMs": 10000})
                if "userCode" in r:
                    emu.must("POST", "/_emulator/approve", {"userCode": r["userCode"]})
                    r = testee.ask("login_poll", timeoutMs=10000)
                obs["login"] = "ok" if r.get("ok") else o.note("login", r)
            if "store" in sc:
                r = testee.ask("store", url=substitute(sc["store"], ph))
                if "error" in r:
                    raise Problem(f"the scenario's store could not be opened: {r['error']['code']}")
            ids: List[int] = []
            kind, inputs = sc["strategy"], substitute(sc.get("inputs", {}), ph)
            args = {k: inputs.get(k) for k in ARGS.get(kind, [])}
            options = {k: inputs[k] for k in OPTIONS[kind] if k in inputs}
            if kind != "static" and "timeoutMs" in sc.get("options", {}):
                options["timeoutMs"] = sc["options"]["timeoutMs"]
            for _ in range(get_opt(sc, d, "strategies", 1)):
                r = testee.ask("create", strategy=kind, args=args, options=options, store="store" in sc)
                if "host" in r:  # not the binding's own error type: recorded as HOST:<class>
                    obs["create"] = f"HOST:{r['host']}"
                    o.surfaces += [("create " + w, s) for w, s in r.get("strings", [])]
                    obs["error"] = obs["error"] or error_obs({"code": obs["create"], "message": r.get("message")})
                    break
                if "error" in r:
                    obs["create"] = o.note("create", r)
                    break
                ids.append(r["id"])
                o.surfaces += [("create " + w, s) for w, s in r.get("strings", [])]
            else:
                obs["create"] = "ok"
            if obs["create"] == "ok":
                self.calls(testee, sc, ids, o)
        finally:
            if testee.proc.poll() is None:
                testee.ask("close", unset=CS_VARS)  # frees every strategy, token, store and flow
            shutil.rmtree(empty_dir, ignore_errors=True)
        live_after = testee.ask("live").get("live")
        if live_before != live_after:  # C only: every handle and library string was freed
            o.problems.append(f"sa_debug_live_objects: {live_before} before, {live_after} after")

        obs["distinctTokens"] = len(o.tokens)
        secrets = [s for s in (ph["KEY"].split(".", 1)[-1], ph["OTHER_KEY"].split(".", 1)[-1], ph.get("TOKEN")) if s]
        secrets += o.tokens
        obs["leaks"] = [where for where, text in o.surfaces if any(s in text for s in secrets)]
        obs["requests"] = self.settle_requests(emu, sc.get("expect", {}).get("requests"))
        obs = normalise(obs, ph)
        if obs["error"]:
            obs["error"]["message"] = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", obs["error"]["message"])
        if o.problems:
            obs["crashed"] = "; ".join(o.problems)
        return obs, self.check(sc.get("expect", {}), obs)

    def calls(self, testee: Testee, sc: Dict[str, Any], ids: List[int], o: Observation) -> None:
        d = self.defaults
        concurrent = get_opt(sc, d, "concurrent", 0)
        if concurrent:
            r = testee.ask("concurrent", id=ids[0], n=concurrent, api=get_opt(sc, d, "concurrentApi", "blocking"))
            counts: Dict[str, int] = {}
            for one in r["results"]:
                k = o.note("concurrent", one)
                counts[k] = counts.get(k, 0) + 1
            o.obs["concurrent"] = counts
        wait_before, wait_ms = get_opt(sc, d, "waitBeforeMs", 0), get_opt(sc, d, "waitBetweenMs", 0)
        if wait_before:
            time.sleep(wait_before / 1000)  # real time for a token to expire
        invalidate = {i["afterCall"]: i["tokenOfCall"] for i in sc.get("invalidate", [])}
        results: List[Dict[str, Any]] = []
        for sid in ids:
            for i in range(get_opt(sc, d, "calls", 1)):
                if i and wait_ms:
                    time.sleep(wait_ms / 1000)  # real time for a token to expire
                r = testee.ask("get_token", id=sid, timeoutMs=sc.get("callTimeoutMs"))
                results.append(r)
                o.obs["calls"].append(o.note("call", r))
                if len(results) - 1 in invalidate:
                    tok = results[invalidate[len(results) - 1]].get("token") or {}
                    inv = testee.ask("invalidate", id=sid, ref=tok.get("ref"))
                    o.obs["invalidated"].append(inv["value"] if "value" in inv else inv["error"]["code"])

    def check(self, expect: Dict[str, Any], obs: Dict[str, Any]) -> List[str]:
        """Every key of expect must equal the observation's; "token" and "error" are compared
        key by key (a subset); leaks must always be empty; the testee saw no problem."""
        why = []
        for k, want in expect.items():
            got = obs.get(k)
            if k in ("token", "error") and isinstance(want, dict) and isinstance(got, dict):
                for kk, w in want.items():
                    self.asserts += 1
                    if got.get(kk) != w:
                        why.append(f"{k}.{kk}: want {json.dumps(w)}, got {json.dumps(got.get(kk))}")
            else:
                self.asserts += 1
                if got != want:
                    why.append(f"{k}: want {json.dumps(want)}, got {json.dumps(got)}")
        self.asserts += 2
        if obs["leaks"]:
            why.append(f"secret visible in: {', '.join(obs['leaks'])}")
        if obs.get("crashed"):
            why.append(obs["crashed"])
        return why


# ---- the languages against each other ------------------------------------------------------------


def load(path: str) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    obs = json.loads(line)
                    obs.pop("lang", None)
                    out[obs["name"]] = obs
    return out


def differences(values: Dict[str, Any], prefix: str = "") -> List[str]:
    """Where the languages' values differ: objects key by key when every language has an
    object there, anything else as a whole."""
    if all(isinstance(v, dict) for v in values.values()):
        out: List[str] = []
        for k in sorted({k for v in values.values() for k in v}):
            here = {lang: v.get(k, "<absent>") for lang, v in values.items()}
            out += differences(here, f"{prefix}.{k}" if prefix else k)
        return out
    shown = {lang: json.dumps(v, sort_keys=True, ensure_ascii=False) for lang, v in values.items()}
    if len(set(shown.values())) == 1:
        return []
    groups: Dict[str, List[str]] = {}
    for lang, v in shown.items():
        groups.setdefault(v, []).append(lang)
    return [f"{prefix}: " + " | ".join(f"{'/'.join(ls)}={v}" for v, ls in groups.items())]


def compare(files: Dict[str, str]) -> int:
    """Every language must have observed the same thing (error messages included: they come
    from the library). A scenario a language declared not applicable is left out. Returns the
    number of disagreements."""
    data = {lang: load(path) for lang, path in files.items()}
    names: List[str] = []
    for lang in files:
        names += [n for n in data[lang] if n not in names]
    disagreements = 0
    for name in names:
        applicable = [lang for lang in files if "notApplicable" not in data[lang].get(name, {})]
        present = [lang for lang in applicable if name in data[lang]]
        missing = [lang for lang in applicable if name not in data[lang]]
        if missing:
            disagreements += 1
            print(f"DIFFER {name}: no observation from {', '.join(missing)}")
        diffs = differences({lang: data[lang][name] for lang in present}) if len(present) >= 2 else []
        if diffs:
            disagreements += 1
            print(f"DIFFER {name}: " + "; ".join(diffs))
    print(f"languages agree on {len(names) - disagreements} of {len(names)} scenarios"
          + (f" ({disagreements} disagreements)" if disagreements else ""))
    return disagreements


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=os.path.join(HERE, "../../build/out/bin/stack-auth"))
    ap.add_argument("--out", default=os.path.join(HERE, "../../build/out/conformance"))
    ap.add_argument("--scenarios", default=os.path.join(HERE, "scenarios.json"))
    ap.add_argument("--only", default=os.environ.get("SA_CONFORMANCE_ONLY", ""))
    ap.add_argument("--serial", action="store_true", help="one language at a time")
    ap.add_argument("--compare", action="store_true", help="only compare LANG=FILE.jsonl observation files")
    ap.add_argument("testees", nargs="+", metavar="LANG=COMMAND")
    args = ap.parse_args(argv)
    pairs = dict(a.split("=", 1) for a in args.testees)
    if args.compare:
        return 1 if compare(pairs) else 0

    started = time.monotonic()
    doc = json.load(open(args.scenarios))
    only = {n for n in args.only.split(",") if n}
    scenarios = [sc for sc in doc["scenarios"] if not only or sc["name"] in only]
    os.makedirs(args.out, exist_ok=True)
    defaults = doc.get("defaults", {})
    langs = [Language(lang, shlex.split(cmd), args.cli, args.out, defaults) for lang, cmd in pairs.items()]
    threads = [threading.Thread(target=lang.run, args=(scenarios,)) for lang in langs]
    for t in threads:
        t.start()
        if args.serial:
            t.join()
    for t in threads:
        t.join()

    disagreements = 0
    if len(langs) > 1:
        print("== cross-language comparison")
        disagreements = compare({lang.lang: os.path.join(args.out, f"{lang.lang}.jsonl") for lang in langs})
    failed = sum(lang.failed for lang in langs) + (1 if disagreements else 0)
    # The outputs never hold an access key's secret (the checks above look at what testees see).
    for lang in langs:
        mine = [f"{lang.lang}.jsonl", f"{lang.lang}.log", f"emulator-{lang.lang}.log"]
        leaked = [f for f in mine
                  if lang.secret and lang.secret in open(os.path.join(args.out, f), errors="replace").read()]
        if leaked:
            failed += 1
            print(f"FAIL the access key's secret of {lang.lang}'s emulator appears in: {', '.join(leaked)}")
    print(f"\n{'language':<8} {'passed':>7} {'failed':>7} {'asserts':>8} {'seconds':>8}")
    for lang in langs:
        print(f"{lang.lang:<8} {lang.passed:>7} {lang.failed:>7} {lang.asserts:>8} {lang.seconds:>8.1f}")
    if disagreements:
        print("the languages DISAGREE (see above)")
    print(f"conformance: {len(scenarios)} scenarios, {time.monotonic() - started:.1f} s in all; "
          f"observations in {args.out}")
    print(f"{sum(lang.passed for lang in langs)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
