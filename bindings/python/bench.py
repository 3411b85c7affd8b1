"""Benchmark figures for the Python binding (no assertions): run by bench.sh against an
emulator whose ready line is in $EMU_READY."""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import timeit

import stack_auth as sa
from stack_auth import _runtime

emu = json.loads(os.environ["EMU_READY"])
N = int(os.environ.get("BENCH_N", "200000"))


def per_op(fn, n=N, repeat=5) -> float:
    """Best of `repeat` runs, in ns per call."""
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n * 1e9


def line(name: str, value: float, unit: str = "ns/op") -> None:
    print(f"  {name:58s} {value:10.0f} {unit}")


s = sa.AccessKeyStrategy(emu["workspaceCrn"], emu["accessKey"], base_url=emu["url"])
s.get_token()
ffi, lib = _runtime.ffi, _runtime.lib
out = ffi.new("sa_token *")
h = s._h


def raw_pair() -> None:
    lib.sa_try_get_token(out, h)
    lib.sa_token_free(out[0])


print(f"Python binding benchmarks ({sa.build_info()}, CPython {'.'.join(map(str, __import__('sys').version_info[:3]))})")
line("cffi call floor: sa_version_number()", per_op(lib.sa_version_number))
line("library floor: sa_try_get_token + sa_token_free (raw cffi)", per_op(raw_pair))
line("cached strategy.get_token()  [target <= 1000]", per_op(s.get_token))
t = s.get_token()
line("cached strategy.get_token().token (adds sa_token_value)", per_op(lambda: s.get_token().token, n=N // 2))
line("cached strategy.get_token().subject (adds sa_token_json)", per_op(lambda: s.get_token().subject, n=N // 4))


async def cached_async(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await s.get_token_async()
    return (time.perf_counter() - start) / n * 1e9


line("cached await strategy.get_token_async()", min(asyncio.run(cached_async(N)) for _ in range(3)))

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
line(f"cached get_token(), {THREADS} threads: wall time per call", elapsed / (THREADS * PER) * 1e9)

# A round trip through a host callback (library thread -> binding thread -> resolve).
fn = sa.AuthStrategyFn(lambda: "bench-token")
line("AuthStrategyFn(sync fn).get_token() round trip", per_op(fn.get_token, n=2000, repeat=3))


async def afn() -> str:
    return "bench-token"


afs = sa.AuthStrategyFn(afn)
line("AuthStrategyFn(async fn).get_token() round trip", per_op(afs.get_token, n=2000, repeat=3))
