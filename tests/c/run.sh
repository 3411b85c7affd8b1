#!/usr/bin/env bash
# tests/c/run.sh            header/ABI/symbol checks, then the C harness against an emulator
# tests/c/run.sh --memory   the harness under ASan+UBSan (+LSan), then a focused subset under
#                           valgrind (the Go runtime makes valgrind slow)
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mode=normal
[[ ${1:-} == --memory ]] && mode=memory

if [[ $mode == memory ]]; then bash build/setup.sh c valgrind; else bash build/setup.sh c; fi
ensure_built

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
# check NAME CMD...: one pass/fail line per command; its output only on failure.
check() {
	local name=$1 log
	shift
	log=$("$@" 2>&1) && ok "$name" || { bad "$name"; printf '%s\n' "$log" | sed 's/^/    /' | head -40; }
}

HDR=$OUT/include/stack_auth.h
LIB=$OUT/lib/libstack_auth.so
CFLAGS=(-std=c11 -Wall -Wextra -Werror -g -pthread -I"$OUT/include")
LDFLAGS=(-L"$OUT/lib" -lstack_auth -Wl,-rpath,"$ROOT/$OUT/lib")

# Public functions, parsed from the header: every "SA_API <type> [*]sa_name(" declaration.
header_functions() { grep -oE '^SA_API [^(]*\bsa_[a-z0-9_]+\(' "$HDR" | grep -oE 'sa_[a-z0-9_]+\($' | tr -d '(' | sort -u; }

# run_harness NAME BINARY [ARGS...]: runs the harness (under a prefix such as valgrind when
# HARNESS_PREFIX is set) and adds its counts to the totals.
run_harness() {
	local name=$1 rc line
	shift
	echo "== $name"
	# The exit status goes through a file: the pipeline's own status is tee's.
	{
		# shellcheck disable=SC2086 # HARNESS_PREFIX is a command and its flags
		timeout -k 10 "${HARNESS_TIMEOUT:-240}" ${HARNESS_PREFIX:-} "$@"
		echo $? >"$WORK/$name.rc"
	} 2>&1 | tee "$WORK/$name.log" || true
	rc=$(cat "$WORK/$name.rc" 2>/dev/null || echo 255)
	line=$(grep -E '^harness: [0-9]+ passed, [0-9]+ failed$' "$WORK/$name.log" | tail -n1 || true)
	if [[ -z $line ]]; then
		bad "$name (exit $rc, no summary: crashed or timed out)"
		return
	fi
	read -r p f < <(sed -E 's/harness: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
	passed=$((passed + p))
	failed=$((failed + f))
	# 66 (ASan/LSan) and 99 (valgrind) are the tools' own exit codes: their reports count as
	# one more failure whatever the tests said; any other non-zero exit needs a failed test.
	if ((rc == 66 || rc == 99)); then
		bad "$name: memory errors or leaks (the report above)"
	elif ((rc != 0 && f == 0)); then
		bad "$name: exit $rc although every test passed"
	fi
}

start_emulator --auto-approve
start_redis
start_tls_emulator

if [[ $mode == normal ]]; then
	echo "== static checks"
	# docs/c-abi.md P22: the Go exports match the public prototypes.
	check "abi_check.c: sa_X and sago_X prototypes identical" \
		gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$OUT/include" -Icapi -I"$OUT/gen" tests/c/abi_check.c
	abi_missing() {
		local listed
		listed=$( { sed -n 's/^[[:space:]]*X(\([a-z0-9_]*\)[,)].*/sa_\1/p' tests/c/abi_check.c
			sed -n 's/.*SA_SHIM_ONLY: //p' tests/c/abi_check.c | tr ' ' '\n' | sed '/^$/d; s/^/sa_/'; } | sort -u)
		local missing
		missing=$(comm -23 <(header_functions) <(printf '%s\n' "$listed"))
		[[ -z $missing ]] || { echo "abi_check.c does not cover: $missing"; return 1; }
		# Every 1:1 entry must really have a Go export (else the list is stale).
		local stale
		stale=$(sed -n 's/^[[:space:]]*X(\([a-z0-9_]*\)[,)].*/\1/p' tests/c/abi_check.c | while read -r f; do
			grep -q "sago_$f(" "$OUT/gen/libstack_auth_cgo.h" || echo "sa_$f"; done)
		[[ -z $stale ]] || { echo "no Go export for: $stale"; return 1; }
	}
	check "abi_check.c covers every function of the header" abi_missing
	check "stack_auth.h compiles as C++11" g++ -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only "$HDR"
	check "stack_auth.h compiles as strict C99" gcc -x c -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only "$HDR"
	check "stack_auth.h compiles as C11 with -pedantic -Wstrict-prototypes" \
		gcc -x c -std=c11 -pedantic -Wall -Wextra -Wstrict-prototypes -Werror -fsyntax-only "$HDR"
	cxx_links() {
		# extern "C" really gives C linkage: a C++ program links and calls the library.
		printf '#include "stack_auth.h"\nint main() { return sa_abi_version() == SA_ABI_VERSION ? 0 : 1; }\n' >"$WORK/cxx.cc"
		g++ -std=c++11 -Wall -Wextra -Werror -I"$OUT/include" "$WORK/cxx.cc" -o "$WORK/cxx" "${LDFLAGS[@]}" && "$WORK/cxx"
	}
	check "a C++ program links and calls the library" cxx_links

	# docs/c-abi.md R16: the library exports exactly the functions the header declares.
	exports_match() {
		local diff_out
		diff_out=$(diff <(header_functions) <(nm -D --defined-only "$LIB" | awk '{print $3}' | sed 's/@.*//' | sort -u)) || {
			echo "< only in the header, > only in the library:"
			echo "$diff_out"
			return 1
		}
	}
	check "nm -D exports exactly the header's functions ($(header_functions | wc -l))" exports_match
	check "SONAME is libstack_auth.so.1" bash -c "readelf -d '$LIB' | grep -q 'Library soname: \[libstack_auth.so.1\]'"
	check "NODELETE is set (P11: a Go runtime cannot be unloaded)" bash -c "readelf -d '$LIB' | grep -E 'FLAGS_1' | grep -q NODELETE"
	pc_works() {
		local flags
		flags=$(PKG_CONFIG_PATH=$OUT/lib/pkgconfig pkg-config --cflags --libs stack_auth) || return 1
		printf '#include <stack_auth.h>\nint main(void){return sa_abi_version()==SA_ABI_VERSION?0:1;}\n' >"$WORK/pc.c"
		# shellcheck disable=SC2086
		gcc -std=c99 "$WORK/pc.c" $flags -Wl,-rpath,"$ROOT/$OUT/lib" -o "$WORK/pc" && "$WORK/pc"
	}
	check "stack_auth.pc builds and runs a program" pc_works

	echo "== build harness"
	rm -f "$TBUILD/harness" # never run a stale binary after a failed build
	check "harness builds with -Wall -Wextra -Werror" \
		gcc "${CFLAGS[@]}" -O1 tests/c/harness.c -o "$TBUILD/harness" "${LDFLAGS[@]}"
	if [[ -x $TBUILD/harness ]]; then
		run_harness harness "$TBUILD/harness"
	fi
else
	echo "== build harness (ASan + UBSan)"
	rm -f "$TBUILD/harness-asan" "$TBUILD/harness-vg"
	check "harness builds with -fsanitize=address,undefined" \
		gcc "${CFLAGS[@]}" -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		tests/c/harness.c -o "$TBUILD/harness-asan" "${LDFLAGS[@]}"
	# The Go runtime installs its own signal handlers and uses SIGSEGV for nil checks:
	# let it (handle_segv=0, allow_user_segv_handler=1). LSan runs at exit with lsan.supp
	# (reserved for Go-runtime allocations; none are needed today).
	export ASAN_OPTIONS="detect_leaks=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:allow_user_segv_handler=1:detect_stack_use_after_return=0:abort_on_error=0:exitcode=66"
	export LSAN_OPTIONS="suppressions=$ROOT/tests/c/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	if [[ -x $TBUILD/harness-asan ]]; then
		run_harness harness-asan "$TBUILD/harness-asan"
	fi
	unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

	# valgrind needs symbols to tell Go code (suppressed: it cannot follow goroutine stacks)
	# from C code (checked). build/lib.sh strips the library, so build a copy from the same
	# sources with the same linker flags, unstripped, with DWARF 4 (valgrind 3.19 cannot read
	# Go's or gcc 12's DWARF 5) and -O0 C (no .part/.isra clones: see valgrind_supp.sh).
	echo "== build library and harness for valgrind"
	vglib=$TBUILD/vglib
	mkdir -p "$vglib"
	check "unstripped library for valgrind builds" env CC=gcc CGO_ENABLED=1 CGO_CFLAGS="-g -O0 -gdwarf-4 -DSA_VALGRIND" GOEXPERIMENT=nodwarf5 \
		go build -buildmode=c-shared -trimpath \
		-ldflags "-extldflags '-Wl,--version-script=$ROOT/build/exports.map -Wl,-soname,libstack_auth.so.1 -Wl,-z,nodelete'" \
		-o "$vglib/libstack_auth.so.1" ./capi
	ln -sf libstack_auth.so.1 "$vglib/libstack_auth.so"
	check "harness builds for valgrind" gcc "${CFLAGS[@]}" -O0 -gdwarf-4 tests/c/harness.c -o "$TBUILD/harness-vg" \
		-L"$vglib" -lstack_auth -Wl,-rpath,"$ROOT/$vglib"
	check "valgrind suppressions generate" bash tests/c/valgrind_supp.sh "$WORK/valgrind.supp"
	if [[ -x $TBUILD/harness-vg && -e $vglib/libstack_auth.so.1 && -s $WORK/valgrind.supp ]]; then
		# Memory errors in C and definite leaks fail the run. --read-inline-info=no: valgrind
		# misreads the inline info of this mixed Go/C object (C frames named after Go files).
		# --undef-value-errors=no: valgrind's definedness tracking cannot follow a value across
		# the cgo boundary (cgo's stubs read arguments from goroutine stacks that valgrind marks
		# undefined after Go switches stacks), so it flagged C code using correct arguments under
		# load. Valgrind checks addressability and leaks; ASan/UBSan above check the rest.
		HARNESS_PREFIX="valgrind --quiet --undef-value-errors=no --read-inline-info=no --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 --suppressions=$WORK/valgrind.supp" \
			HARNESS_TIMEOUT=300 run_harness harness-valgrind "$TBUILD/harness-vg" --subset=vg
	fi
fi

echo "$passed passed, $failed failed"
((failed == 0))
