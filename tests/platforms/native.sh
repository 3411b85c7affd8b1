#!/usr/bin/env bash
# tests/platforms/native.sh TARGET — the platform test on a machine of that platform (the
# macOS and Windows jobs of .github/workflows/platforms.yml): compiles smoke.c with the
# system's C compiler against build/out/targets/TARGET (built on Linux by make lib-all and
# handed over unchanged), starts the emulator (the CLI, built natively), runs it, and on
# Windows loads the DLL from a directory with a space and a non-ASCII name (docs/c-abi.md P16).
# Needs Go, a C compiler (cc; gcc on Windows: Git Bash with MinGW) and bash.
set -euo pipefail
t=${1:?usage: native.sh TARGET}
cd "$(dirname "$0")/../.."
mkdir -p build/out/bin build/out/tests-platforms
exe=
[[ $t == win32-* ]] && exe=.exe
go build -o "build/out/bin/stack-auth$exe" ./cmd/stack-auth
if [[ $t == win32-* ]]; then
	# tests/c/lib.sh runs build/out/bin/stack-auth; on Windows that is the .exe.
	cp "build/out/bin/stack-auth$exe" build/out/bin/stack-auth
fi
source tests/c/lib.sh
start_emulator --auto-approve
src=build/out/targets/$t
dir=$SA_TEST_TMP/smoke
mkdir -p "$dir"
case $t in
win32-*)
	bin="$SA_TEST_TMP/dir with space é"
	mkdir -p "$bin"
	cp "$src/stack_auth.dll" "$bin/"
	${CC:-gcc} -std=c11 -Wall -Werror -I"$src/include" tests/platforms/smoke.c "$src/stack_auth.dll" -o "$bin/smoke.exe"
	# shellcheck disable=SC1003 # a lone backslash, Windows' path separator
	SA_SMOKE_DIR=$(cygpath -w "$dir") SA_SMOKE_SEP='\' "$bin/smoke.exe"
	;;
*)
	${CC:-cc} -std=c11 -Wall -Werror -I"$src/include" tests/platforms/smoke.c -L"$src" -lstack_auth \
		-Wl,-rpath,"$PWD/$src" -o build/out/tests-platforms/smoke
	SA_SMOKE_DIR=$dir SA_SMOKE_SEP=/ build/out/tests-platforms/smoke
	;;
esac
