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

work=$(mktemp -d)
emu_pid=
cleanup() {
	[[ -n $emu_pid ]] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
"$bin" serve --addr 127.0.0.1:0 >"$work/ready" 2>/dev/null &
emu_pid=$!
for _ in $(seq 200); do [[ -s $work/ready ]] && break; sleep 0.05; done
[[ -s $work/ready ]] || { echo "bench.sh: the emulator did not start" >&2; exit 1; }

cd "$work"  # not the source tree: benchmark the installed package
mkdir -p "$repo/build/out/bench"
EMU_READY=$(head -n1 "$work/ready") BENCH_JSON=$repo/build/out/bench/python.json \
	timeout --kill-after=10 240 "$venv/bin/python" -P "$here/bench.py"
