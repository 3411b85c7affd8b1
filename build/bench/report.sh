#!/usr/bin/env bash
# make bench: runs every benchmark one after the other (C ABI, Go engine, Python, Ruby, Node),
# each printing its figures and writing them to build/out/bench/<lang>.json, then
# build/bench/report.py turns those into build/out/bench.md and build/out/bench.svg and prints
# the tables. Each bench script starts and stops its own emulator.
#
# Figures are never asserted against the targets; the script fails (after writing the report
# with whatever was measured) when a bench fails, or when a coalescing run did not give all
# 10,000 callers their token from exactly one upstream request.
#
#   BENCH_ONLY="c python"  runs only those benches (the report keeps the others' last JSON)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit
ROOT=$PWD
DIR=$ROOT/build/out/bench
mkdir -p "$DIR"
only=${BENCH_ONLY:-c go python ruby node}

bash build/setup.sh bench

cat /proc/loadavg >"$DIR/loadavg.start" 2>/dev/null || true
failed=()
start=$(date +%s)

# run NAME COMMAND...: one bench, its output shown and kept in build/out/bench/NAME.log.
run() {
	local name=$1
	shift
	[[ " $only " == *" $name "* ]] || return 0
	rm -f "$DIR/$name.json"
	echo
	echo "================ $name ================"
	local t0=$SECONDS
	timeout --kill-after=10 300 "$@" 2>&1 | tee "$DIR/$name.log"
	local rc=${PIPESTATUS[0]}
	echo "---- $name: exit $rc, $((SECONDS - t0)) s"
	if ((rc != 0)); then
		failed+=("$name (exit $rc; see build/out/bench/$name.log)")
	elif [[ ! -s $DIR/$name.json ]]; then
		failed+=("$name (wrote no build/out/bench/$name.json)")
	fi
}

# The Go engine's own benchmarks (core/bench_test.go), parsed into go.json.
GO_BENCH='set -o pipefail
go test -run "^\$" -bench . -benchmem -count 1 ./core/ | tee "$1" && python3 build/bench/report.py go "$1"'

run c bash tests/c/bench.sh
run go bash -c "$GO_BENCH" go-bench "$DIR/go.raw"
run python bash bindings/python/bench.sh
run ruby bash bindings/ruby/bench.sh
if [[ -e bindings/node/bench.sh ]]; then
	run node bash bindings/node/bench.sh
elif [[ " $only " == *" node "* ]]; then
	failed+=("node (bindings/node/bench.sh does not exist)")
fi

echo
echo "================ report ($(($(date +%s) - start)) s of benchmarks) ================"
python3 build/bench/report.py render
rc=$?
if ((${#failed[@]})); then
	printf 'report.sh: failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
exit $rc
