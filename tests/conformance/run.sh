#!/usr/bin/env bash
# tests/conformance/run.sh — the cross-language conformance suite (make test-conformance).
#
# Builds the library, the CLI and the bindings, starts ONE emulator, runs the scenarios of
# scenarios.json through the C, Python, Ruby and Node runners in turn, compares what the
# languages observed with each other (compare.py), prints a language × passed/failed table
# and "N passed, M failed", and exits non-zero if any scenario failed in any language, a
# runner crashed, or the languages disagree.
#
#   bash tests/conformance/run.sh                  everything
#   bash tests/conformance/run.sh --no-build       use what build/out already has
#   bash tests/conformance/run.sh c python         only these runners (c python ruby node)
#   SA_CONFORMANCE_ONLY=name1,name2 bash tests/conformance/run.sh   only these scenarios
#
# Observations go to build/out/conformance/<lang>.jsonl, runner output to <lang>.log.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/out
RES=$OUT/conformance
RUNNER_TIMEOUT=${RUNNER_TIMEOUT:-120}
started=$(date +%s)

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
want() { [[ " ${langs[*]} " == *" $1 "* ]]; }

apt_install() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "run.sh: missing Debian packages: $* (run as root or install them)" >&2
		return 1
	fi
	echo "run.sh: installing $* (apt)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

mkdir -p "$RES"
declare -A status_of build_failed
# A binding that does not build fails its language (the others still run).
if ((build)); then
	echo "== build: make lib cli"
	make -C "$ROOT" --no-print-directory lib cli
	for l in python ruby node; do
		want "$l" || continue
		echo "== build: make $l"
		if ! make -C "$ROOT" --no-print-directory "$l" >"$RES/build-$l.log" 2>&1; then
			tail -n 30 "$RES/build-$l.log" | sed 's/^/    /'
			build_failed[$l]="make $l failed (see $RES/build-$l.log)"
		fi
	done
fi
[[ -e $OUT/lib/libstack_auth.so && -x $OUT/bin/stack-auth ]] || {
	echo "run.sh: build/out has no library or CLI (run without --no-build)" >&2
	exit 1
}
command -v timeout >/dev/null || apt_install coreutils
command -v python3 >/dev/null || apt_install python3
if want c; then
	command -v gcc >/dev/null || apt_install gcc libc6-dev
	[[ -e /usr/include/cjson/cJSON.h ]] || apt_install libcjson-dev
	echo "== build: runner.c"
	mkdir -p "$OUT/tests-conformance"
	rm -f "$OUT/tests-conformance/runner"
	if ! gcc -std=c11 -Wall -Wextra -Werror -g -O1 -pthread -I"$OUT/include" "$HERE/runner.c" \
		-o "$OUT/tests-conformance/runner" -L"$OUT/lib" -lstack_auth -lcjson -lm -Wl,-rpath,"$OUT/lib" \
		>"$RES/build-c.log" 2>&1; then
		sed 's/^/    /' "$RES/build-c.log" | head -40
		build_failed[c]="runner.c does not compile (see $RES/build-c.log)"
	fi
fi

# ---- one emulator for every runner -------------------------------------------------------
WORK=$(mktemp -d /tmp/sa-conformance.XXXXXX)
EMU_PID=""
cleanup() {
	if [[ -n $EMU_PID ]] && kill -0 "$EMU_PID" 2>/dev/null; then
		kill -TERM "$EMU_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$OUT/bin/stack-auth" serve --addr 127.0.0.1:0 >"$WORK/emu.json" 2>"$RES/emulator.log" &
EMU_PID=$!
# Waiting for the emulator's ready line (a process start, not a synchronisation of the tests).
for _ in $(seq 100); do
	[[ -s $WORK/emu.json ]] && break
	kill -0 "$EMU_PID" 2>/dev/null || break
	sleep 0.1
done
line=$(head -n1 "$WORK/emu.json" 2>/dev/null || true)
if [[ -z $line ]]; then
	echo "run.sh: the emulator did not start:" >&2
	cat "$RES/emulator.log" >&2
	exit 1
fi
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$line"; }
export SA_EMU_URL SA_EMU_CRN SA_EMU_KEY SA_CONFORMANCE_SCENARIOS=$HERE/scenarios.json
SA_EMU_URL=$(field url)
SA_EMU_CRN=$(field workspaceCrn)
SA_EMU_KEY=$(field accessKey)
echo "== emulator at $SA_EMU_URL"

# ---- the runners ---------------------------------------------------------------------------
declare -A cmd passed_of failed_of secs_of
cmd[c]="$OUT/tests-conformance/runner"
cmd[python]="$OUT/venv/bin/python $HERE/runner.py"
cmd[ruby]="ruby $HERE/runner.rb"
cmd[node]="node $HERE/runner.mjs"

total_passed=0
total_failed=0
bad=0
for l in "${langs[@]}"; do
	echo "== $l"
	rm -f "$RES/$l.jsonl"
	passed_of[$l]=0
	failed_of[$l]=0
	secs_of[$l]=0
	if [[ -n ${build_failed[$l]:-} ]]; then
		echo "FAIL $l: ${build_failed[$l]}"
		status_of[$l]="not built"
		bad=1
		continue
	fi
	t0=$(date +%s.%N)
	set +e
	# Runners start with no CS_* variables: scenarios set them (after the library loaded).
	(cd "$ROOT" && env -u CS_CLIENT_ACCESS_KEY -u CS_WORKSPACE_CRN -u CS_CTS_HOST -u CS_CONFIG_PATH -u CS_TOKEN_STORE \
		SA_CONFORMANCE_OUT="$RES/$l.jsonl" timeout -k 5 "$RUNNER_TIMEOUT" ${cmd[$l]}) 2>&1 | tee "$RES/$l.log"
	rc=${PIPESTATUS[0]}
	set -e
	secs_of[$l]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$RES/$l.log" | tail -n1 || true)
	if [[ -z $summary ]]; then
		status_of[$l]="crashed (exit $rc)"
		bad=1
		failed_of[$l]=1
	else
		read -r p f < <(sed -E 's/([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$summary")
		passed_of[$l]=$p
		failed_of[$l]=$f
		if ((rc != 0 && f == 0)); then
			status_of[$l]="exit $rc"
			bad=1
		else
			status_of[$l]=$([[ $f -eq 0 ]] && echo ok || echo FAIL)
		fi
	fi
	total_passed=$((total_passed + passed_of[$l]))
	total_failed=$((total_failed + failed_of[$l]))
done

# ---- the languages against each other -------------------------------------------------------
echo "== cross-language comparison"
cmp_args=()
for l in "${langs[@]}"; do
	[[ -n ${build_failed[$l]:-} ]] || cmp_args+=("$l=$RES/$l.jsonl")
done
agree=1
if ((${#cmp_args[@]} >= 2)); then
	python3 "$HERE/compare.py" "${cmp_args[@]}" >"$RES/compare.log" 2>&1 || agree=0
	cat "$RES/compare.log"
else
	echo "(fewer than two languages ran)"
fi

# The outputs never hold the access key's secret (the runners check the strings they see).
secret=${SA_EMU_KEY#*.}
if grep -rqF -- "$secret" "$RES"; then
	echo "FAIL the access key's secret appears in: $(grep -rlF -- "$secret" "$RES" | tr '\n' ' ')"
	bad=1
	total_failed=$((total_failed + 1))
fi

echo
printf '%-8s %7s %7s %7s  %s\n' language passed failed seconds status
for l in "${langs[@]}"; do
	printf '%-8s %7s %7s %7s  %s\n' "$l" "${passed_of[$l]}" "${failed_of[$l]}" "${secs_of[$l]}" "${status_of[$l]}"
done
((agree)) || echo "the languages DISAGREE (see above; $RES/compare.log)"
echo "conformance: $(($(date +%s) - started)) s in all; observations in $RES"
# A language that disagrees counts as one more failure, as a crashed or unbuilt runner does.
((agree)) || total_failed=$((total_failed + 1))
for l in "${langs[@]}"; do
	[[ ${status_of[$l]} == ok || ${status_of[$l]} == FAIL ]] || { [[ ${failed_of[$l]} -gt 0 ]] || total_failed=$((total_failed + 1)); }
done
echo "$total_passed passed, $total_failed failed"
((total_failed == 0 && bad == 0 && agree == 1))
