#!/usr/bin/env bash
# make test-python: the pytest suite of bindings/python/tests against `stack-auth serve`
# (each test starts and stops its own emulator). Prints pytest's summary line; exits
# non-zero on any failure, including "no tests collected" (pytest exit 5). Output is checked
# for leaked secrets (JWTs, access-key secrets).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=$repo/build/out/venv
export STACK_AUTH_BIN=${STACK_AUTH_BIN:-$repo/build/out/bin/stack-auth}
[[ -x $venv/bin/python ]] || bash "$here/build.sh"
[[ -x $STACK_AUTH_BIN ]] || (cd "$repo" && make cli)
export STACK_AUTH_LIB_DIR=$repo/build/out/lib STACK_AUTH_INCLUDE_DIR=$repo/build/out/include

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$here"
set +e
# -P keeps the source tree off sys.path: the tests import the installed package.
timeout 600 "$venv/bin/python" -P -m pytest -q -p no:cacheprovider --tb=short "${@:-tests}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if grep -Eq 'eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|CSAK[A-Z0-9]{16}\.[A-Za-z0-9_-]{20,}' "$log"; then
	echo "test.sh: a secret (JWT or access key) appeared in the test output" >&2
	exit 1
fi
case $status in
0) ;;
5) echo "test.sh: pytest collected no tests" >&2; exit 1 ;;
*) exit "$status" ;;
esac
