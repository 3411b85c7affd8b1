#!/usr/bin/env bash
# make bench-python: figures for the Python binding against a local emulator (no assertions).
# The headline is cached strategy.get_token() in ns/op (target <= 1 µs). The figures also go to
# build/out/bench/python.json (read by build/bench/report.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=$repo/build/out/venv
bin=$repo/build/out/bin/stack-auth
[[ -x $venv/bin/python ]] || bash "$here/build.sh"
[[ -x $bin ]] || (cd "$repo" && make cli)

# shellcheck source=build/emulator.sh
source "$repo/build/emulator.sh"
start_emulator "$bin"

cd "$work"  # not the source tree: benchmark the installed package
mkdir -p "$repo/build/out/bench"
EMU_READY=$(head -n1 "$work/serve.out") BENCH_JSON=$repo/build/out/bench/python.json \
	timeout --kill-after=10 240 "$venv/bin/python" -P "$here/bench.py"
