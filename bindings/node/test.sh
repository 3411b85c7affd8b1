#!/usr/bin/env bash
# Runs the Node binding's tests (make test-node): `node --test` over test/*.test.js, against
# real emulators (`stack-auth serve`) that each test file starts and stops. Every emulator a
# test process leaves behind (if it crashed) is killed here. Hard timeouts on everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)

# Build what is missing (make test-node builds both first; this keeps the script standalone).
[[ -e build/Release/stack_auth.node && -e build/Release/libstack_auth.so.1 && -e node_modules/.stack-auth-installed ]] || bash build.sh
if [[ ! -x $ROOT/build/out/bin/stack-auth ]]; then
	(cd "$ROOT" && mkdir -p build/out/bin && go build -o build/out/bin/stack-auth ./cmd/stack-auth)
fi
export STACK_AUTH_BIN=$ROOT/build/out/bin/stack-auth

SA_NODE_TEST_PIDS=$(mktemp -d)
export SA_NODE_TEST_PIDS
pkg=$(mktemp -d /tmp/sa-node-asan.XXXXXX)
cleanup() {
	local f
	for f in "$SA_NODE_TEST_PIDS"/*; do
		[[ -e $f ]] || continue
		kill -TERM "$(basename "$f")" 2>/dev/null || true
	done
	rm -rf "$SA_NODE_TEST_PIDS" "$pkg"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No CS_* from the caller's environment may leak into the tests.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(CS_[A-Za-z0-9_]*\)=.*/\1/p')

start=$(date +%s)
# --expose-gc: the GC tests force collections. Two test files at a time (two cores).
timeout --kill-after=10 300 node --expose-gc --test --test-concurrency=2 --test-timeout=120000 \
	--test-reporter=spec test/*.test.js

# The same addon built with ASan + UBSan (any report aborts), and the suites that exercise
# lifetimes under it: workers terminated mid-refresh, process.exit with requests pending, GC
# before callbacks fire, callbacks that throw / reject / never settle (docs/c-abi.md P4, P6).
bash "$ROOT/build/setup.sh" asan
asan=$(g++ -print-file-name=libasan.so)
mkdir -p "$pkg/build/Release"
g++ -std=c++17 -shared -fPIC -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -DNAPI_VERSION=8 -I"${NODEDIR:-/usr}/include/node" -I"$ROOT/build/out/include" \
	src/addon.cc -L"$ROOT/build/out/lib" -lstack_auth -Wl,-rpath,'$ORIGIN' -o "$pkg/build/Release/stack_auth.node"
cp build/Release/libstack_auth.so.1 "$pkg/build/Release/"
cp index.js native.js package.json "$pkg/"
cp -r test "$pkg/test"
ln -s "$PWD/node_modules" "$pkg/node_modules"
(cd "$pkg" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 LD_PRELOAD=$asan \
	timeout --kill-after=10 240 node --expose-gc --test --test-concurrency=2 --test-timeout=120000 \
	--test-reporter=dot test/lifecycle.test.js test/callbacks.test.js test/failures.test.js)
echo "node binding tests: $(($(date +%s) - start)) s (including the ASan/UBSan pass)"
