"""Benchmark figures for the Python binding (no assertions): run by bench.sh against an
emulator whose ready line is in $EMU_READY. Prints the figures and, when $BENCH_JSON names a
file, writes them there as JSON for build/bench/report.py:
  cached strategy.get_token() ns/op (target <= 1 µs) and its variants;
  one AuthStrategyFn round trip (sync and async hooks);
  10,000 asyncio.gather'ed get_token_async() on an expired token coalescing on one request;
  the installed package's size;
  a fresh interpreter from `import stack_auth` to the first static / access-key token."""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import timeit
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import stack_auth as sa
from stack_auth import _runtime

emu = json.loads(os.environ["EMU_READY"])
N = int(os.environ.get("BENCH_N", "200000"))
CALLERS = 10_000
DELAY_MS = 200
LOAD_RUNS = 7
results: List[Dict[str, Any]] = []


def per_op(fn, n=N, repeat=5) -> float:
    """Best of `repeat` runs, in ns per call."""
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n * 1e9


def line(label: str, value: float, unit: str = "ns/op", metric: Optional[str] = None,
         headline: bool = False, name: Optional[str] = None, **extra: Any) -> None:
    """Prints a figure; with metric, records it for the report (under name, else label)."""
    print(f"  {label:58s} {value:10.0f} {unit}")
    if metric:
        results.append({"metric": metric, "name": name or label, "value": round(value, 3), "unit": unit,
                        "headline": headline, **extra})


def ctl(method: str, path: str, body: Any = None) -> Any:
    """The emulator's test-control API."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(emu["url"].rstrip("/") + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
    return json.loads(text) if text else None


s = sa.AccessKeyStrategy(emu["workspaceCrn"], emu["accessKey"], base_url=emu["url"])
s.get_token()
ffi, lib = _runtime.ffi, _runtime.lib
out = ffi.new("sa_token *")
h = s._h


def raw_pair() -> None:
    lib.sa_try_get_token(out, h)
    lib.sa_token_free(out[0])


print(f"Python binding benchmarks ({sa.build_info()}, CPython {'.'.join(map(str, sys.version_info[:3]))})")
line("cffi call floor: sa_version_number()", per_op(lib.sa_version_number), metric="cached_extra",
     name="cffi call floor: lib.sa_version_number()")
line("library floor: sa_try_get_token + sa_token_free (raw cffi)", per_op(raw_pair), metric="cached_extra",
     name="raw cffi sa_try_get_token + sa_token_free")
line("cached strategy.get_token()  [target <= 1000]", per_op(s.get_token), metric="cached", headline=True,
     name="strategy.get_token()")
t = s.get_token()
line("cached strategy.get_token().token (adds sa_token_value)", per_op(lambda: s.get_token().token, n=N // 2),
     metric="cached", name="strategy.get_token().token")
line("cached strategy.get_token().subject (adds sa_token_json)", per_op(lambda: s.get_token().subject, n=N // 4),
     metric="cached_extra", name="strategy.get_token().subject (claims JSON)")


async def cached_async(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await s.get_token_async()
    return (time.perf_counter() - start) / n * 1e9


line("cached await strategy.get_token_async()", min(asyncio.run(cached_async(N)) for _ in range(3)),
     metric="cached", name="await strategy.get_token_async()")

# Throughput with 32 threads sharing one strategy (2 cores; the GIL serialises Python).
THREADS, PER = 32, 20000
barrier = threading.Barrier(THREADS + 1)


def worker() -> None:
    barrier.wait()
    for _ in range(PER):
        s.get_token()


ts = [threading.Thread(target=worker) for _ in range(THREADS)]
for th in ts:
    th.start()
barrier.wait()
start = time.perf_counter()
for th in ts:
    th.join()
elapsed = time.perf_counter() - start
line(f"cached get_token(), {THREADS} threads: wall time per call", elapsed / (THREADS * PER) * 1e9,
     metric="cached2", name=f"get_token(), {THREADS} threads (wall time per call)")

# User functions run on the caller's thread (docs/architecture.md D4): the token or JWT goes to the
# library by a C call. Issue 16's figure before (a thread hop per call): 169 µs.
OLD_NS, TARGET_NS = 169000, 3000
fn = sa.AuthStrategyFn(lambda: "bench-token")
line("AuthStrategyFn(sync fn).get_token()  [target <= 3000; old 169000]", per_op(fn.get_token, n=20000),
     metric="callback", headline=True, name="AuthStrategyFn(lambda: token).get_token()", old=OLD_NS, target=TARGET_NS)

# A cached OIDC token: get_jwt on this thread, then the library's per-JWT cache.
FAKE_JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaC1vaWRjIn0.c2ln"
oidc = sa.OidcFederationStrategy(emu["workspaceCrn"], lambda: FAKE_JWT, base_url=emu["url"])
oidc.get_token()
line("OidcFederationStrategy cached get_token()  [target <= 3000; old 169000]", per_op(oidc.get_token),
     metric="callback", name="OidcFederationStrategy (cached).get_token(), sync get_jwt", old=OLD_NS, target=TARGET_NS)
line("OidcFederationStrategy cached get_token(jwt=...)", per_op(lambda: oidc.get_token(jwt=FAKE_JWT)),
     metric="callback", name="OidcFederationStrategy (cached).get_token(jwt=...)", old=OLD_NS, target=TARGET_NS)


async def get_jwt_async() -> str:
    return FAKE_JWT


aoidc = sa.OidcFederationStrategy(emu["workspaceCrn"], get_jwt_async, base_url=emu["url"])


async def oidc_async_loop(n: int) -> float:
    await aoidc.get_token_async()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            await aoidc.get_token_async()
        best = min(best, (time.perf_counter() - t0) / n * 1e9)
    return best


line("OidcFederationStrategy cached await get_token_async(), async get_jwt", asyncio.run(oidc_async_loop(20000)),
     metric="callback", name="OidcFederationStrategy (cached): await get_token_async(), async get_jwt", old=OLD_NS,
     target=TARGET_NS)
oidc.close()
aoidc.close()


async def afn() -> str:
    return "bench-token"


afs = sa.AuthStrategyFn(afn)
line("AuthStrategyFn(async fn).get_token() round trip", per_op(afs.get_token, n=2000, repeat=3),
     metric="callback", name="AuthStrategyFn(async def).get_token()")
fn.close()
afs.close()


# ---- 10,000 callers on an expired token, /api/authorise delayed ---------------------------
async def coalesce() -> None:
    ctl("POST", "/_emulator/config", {"tokenTtlSecs": 1})
    st = sa.AccessKeyStrategy(emu["workspaceCrn"], emu["accessKey"], base_url=emu["url"])
    exp = st.get_token().expires_at
    ctl("POST", "/_emulator/config", {"tokenTtlSecs": 900})
    while time.time() < exp:  # real time passing: the token must be expired, not just stale
        time.sleep(0.02)
    ctl("DELETE", "/_emulator/requests")
    ctl("DELETE", "/_emulator/faults")
    ctl("POST", "/_emulator/faults", {"path": "/api/authorise", "delayMs": DELAY_MS, "count": 1})
    t0 = time.perf_counter()
    tokens = await asyncio.wait_for(asyncio.gather(*(st.get_token_async() for _ in range(CALLERS))), 60)
    ms = (time.perf_counter() - t0) * 1e3
    upstream = sum(1 for r in ctl("GET", "/_emulator/requests")["requests"] if r["path"] == "/api/authorise")
    ctl("DELETE", "/_emulator/faults")
    ok = sum(1 for tk in tokens if isinstance(tk, sa.ServiceToken))
    del tokens
    st.close()
    print(f"  {'asyncio.gather of 10,000 get_token_async(), expired token':58s} {ms:10.1f} ms"
          f"  ({ok}/{CALLERS} tokens, {upstream} upstream request(s); /api/authorise delayed {DELAY_MS} ms)")
    results.append({"metric": "coalesce", "name": "asyncio.gather(*10,000 x get_token_async())",
                    "value": round(ms, 3), "unit": "ms", "headline": True, "callers": CALLERS, "ok": ok,
                    "requests": upstream, "delayMs": DELAY_MS})


asyncio.run(coalesce())

# ---- size of the installed package -------------------------------------------------------
pkg = Path(sa.__file__).parent
files = [p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
total = sum(p.stat().st_size for p in files)
ext = sum(p.stat().st_size for p in files if p.name.startswith("_native") and p.suffix == ".so")
print(f"  {'installed package (stack_auth/, with libstack_auth.so.1)':58s} {total / 1e6:10.2f} MB")
print(f"  {'  of which the cffi extension _native*.so':58s} {ext / 1e3:10.1f} kB")
results.append({"metric": "size", "name": "installed stack_auth/ (with the library)", "value": total,
                "unit": "bytes", "headline": True})
results.append({"metric": "size", "name": "its cffi extension _native.abi3.so", "value": ext, "unit": "bytes",
                "headline": False})

# ---- fresh interpreter: import .. first token ---------------------------------------------
LOAD = """
import time
t0 = time.perf_counter()
import os, stack_auth as sa
if os.environ.get("BENCH_KIND") == "static":
    sa.StaticTokenStrategy("bench-token").get_token()
else:
    sa.AccessKeyStrategy(os.environ["BENCH_CRN"], os.environ["BENCH_KEY"], base_url=os.environ["BENCH_URL"]).get_token()
print((time.perf_counter() - t0) * 1e3)
"""


def load(kind: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update(BENCH_KIND=kind, BENCH_CRN=emu["workspaceCrn"], BENCH_KEY=emu["accessKey"], BENCH_URL=emu["url"])
    inner, wall = [], []
    for _ in range(LOAD_RUNS):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-P", "-c", LOAD], env=env, capture_output=True, text=True, timeout=60)
        wall.append((time.perf_counter() - t0) * 1e3)
        if r.returncode != 0:
            raise SystemExit(f"bench.py: the {kind} load run failed: {r.stderr.strip()[-500:]}")
        inner.append(float(r.stdout.strip()))
    med, wmed = statistics.median(inner), statistics.median(wall)
    label = {"static": "StaticTokenStrategy", "access_key": "AccessKeyStrategy"}[kind]
    print(f"  {'import stack_auth .. first ' + label:58s} {med:10.2f} ms  (median of {LOAD_RUNS}; whole process {wmed:.1f} ms)")
    results.append({"metric": "load_" + kind, "name": f"import stack_auth .. {label}, first get_token()", "value": round(med, 3),
                    "unit": "ms", "headline": True, "runs": LOAD_RUNS, "wallMs": round(wmed, 3)})


load("static")
load("access_key")

if os.environ.get("BENCH_JSON"):
    doc = {"lang": "python", "label": "Python",
           "runtime": f"CPython {'.'.join(map(str, sys.version_info[:3]))}, cffi {__import__('cffi').__version__}",
           "results": results}
    Path(os.environ["BENCH_JSON"]).parent.mkdir(parents=True, exist_ok=True)
    Path(os.environ["BENCH_JSON"]).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {os.environ['BENCH_JSON']}")
