#!/usr/bin/env bash
# tests/conformance/run.sh — the cross-language conformance suite (make test-conformance).
#
# Builds the library, the CLI, the bindings and the C testee, then hands the testees to the
# orchestrator (conformance.py), which starts the emulators, runs every scenario of
# scenarios.json through each testee, checks and compares them, and exits non-zero on any
# failure. A language whose build fails fails the run; the others still run.
#
#   bash tests/conformance/run.sh                  everything
#   bash tests/conformance/run.sh --no-build       use what build/out already has
#   bash tests/conformance/run.sh c python         only these testees (c python ruby node)
#   SA_CONFORMANCE_ONLY=name1,name2 bash tests/conformance/run.sh   only these scenarios
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/out
RES=$OUT/conformance

build=1
langs=()
for a in "$@"; do
	case $a in
	--no-build) build=0 ;;
	c | python | ruby | node) langs+=("$a") ;;
	*)
		echo "usage: $0 [--no-build] [c] [python] [ruby] [node]" >&2
		exit 2
		;;
	esac
done
((${#langs[@]})) || langs=(c python ruby node)

mkdir -p "$RES"
rm -f "$RES"/*.jsonl "$RES"/*.log
declare -A cmd=([c]="$OUT/tests-conformance/testee" [python]="$OUT/venv/bin/python $HERE/testee.py"
	[ruby]="ruby $HERE/testee.rb" [node]="node $HERE/testee.mjs")
if ((build)); then
	echo "== build: make lib cli"
	make -C "$ROOT" --no-print-directory lib cli
fi
setup=(conformance) # python3 for the orchestrator; the C testee's compiler and cJSON
if [[ " ${langs[*]} " == *" c "* ]]; then setup+=(conformance-c); fi
bash "$ROOT/build/setup.sh" "${setup[@]}"
testees=() unbuilt=()
for l in "${langs[@]}"; do
	ok=1
	if [[ $l == c ]]; then
		mkdir -p "$OUT/tests-conformance"
		gcc -std=c11 -Wall -Wextra -Werror -g -O1 -pthread -I"$OUT/include" "$HERE/testee.c" \
			-o "$OUT/tests-conformance/testee" -L"$OUT/lib" -lstack_auth -lcjson -Wl,-rpath,"$OUT/lib" \
			>"$RES/build-c.log" 2>&1 || ok=0
	elif ((build)); then
		echo "== build: make $l"
		make -C "$ROOT" --no-print-directory "$l" >"$RES/build-$l.log" 2>&1 || ok=0
	fi
	if ((!ok)); then
		tail -n 30 "$RES/build-$l.log" | sed 's/^/    /'
		unbuilt+=("$l")
		continue
	fi
	testees+=("$l=${cmd[$l]}")
done
rc=0
((${#testees[@]})) && { python3 "$HERE/conformance.py" --cli "$OUT/bin/stack-auth" --out "$RES" "${testees[@]}" || rc=$?; }
if ((${#unbuilt[@]})); then
	echo "FAIL the testees of ${unbuilt[*]} do not build (see $RES/build-<lang>.log)"
	rc=1
fi
exit "$rc"
