#!/usr/bin/env bash
# Package metadata agrees with itself: one LICENSE at the root, the same licence (SPDX id) in
# every package, the npm packages publishable, every generated table (error codes, statuses,
# help texts, the version) equal to build/gen/tables.json, and both checks catch a drifted
# copy. Run by make vet (cheap: no build).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
SPDX=Apache-2.0
passed=0 failed=0
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		[[ -n $out ]] && sed 's/^/    /' <<<"$out"
	fi
}
license_file() { grep -q 'Apache License' LICENSE && grep -q 'Version 2.0, January 2004' LICENSE; }
npm_meta() {
	local f
	for f in bindings/node/package.json "$@"; do
		node -e '
			const p = require(require("path").resolve(process.argv[1]));
			if (p.license !== process.argv[2]) throw new Error(process.argv[1] + ": license " + p.license);
			if (p.private) throw new Error(process.argv[1] + ": private (npm publish would refuse)");
		' "$f" "$SPDX" || return 1
	done
}
py_meta() { grep -qx "license = \"$SPDX\"" bindings/python/pyproject.toml && grep -qx 'license-files = \["LICENSE"\]' bindings/python/pyproject.toml; }
gem_meta() { grep -qx "  spec.license = \"$SPDX\"" bindings/ruby/stack_auth.gemspec && grep -q 'Dir\["LICENSE"\]' bindings/ruby/stack_auth.gemspec; }
cargo_meta() {
	local f
	for f in bindings/rust/*/Cargo.toml; do
		grep -qx "license = \"$SPDX\"" "$f" || {
			echo "$f: no license = \"$SPDX\""
			return 1
		}
	done
}
drift_caught() {
	local tmp rc
	tmp=$(mktemp -d)
	tar -cf - build/gen/tables.json core/cts.go bindings/python/pyproject.toml | tar -C "$tmp" -xf -
	sed -i 's/^version = ".*"/version = "9.9.9"/' "$tmp/bindings/python/pyproject.toml"
	STACK_AUTH_ROOT=$tmp bash build/version.sh --check 2>"$tmp/err"
	rc=$?
	grep -q 'bindings/python/pyproject.toml has version .9\.9\.9.' "$tmp/err"
	local named=$?
	rm -rf "$tmp"
	((rc != 0 && named == 0))
}
# The files go run ./build/gen writes (whole, or between BEGIN/END GENERATED markers).
generated() { sed -n 's/^\t\t{path: "\([^"]*\)".*/\1/p' build/gen/main.go; }
# A generated copy edited by hand, and the source edited without regenerating, are both caught
# and named.
tables_drift_caught() {
	local tmp rc1 rc2 ok=0 files
	tmp=$(mktemp -d)
	mapfile -t files < <(generated)
	tar -cf - build/gen/tables.json "${files[@]}" | tar -C "$tmp" -xf -
	sed -i 's/^SA_E_TIMEOUT = -4$/SA_E_TIMEOUT = -40/' "$tmp/bindings/python/stack_auth/_errors.py"
	STACK_AUTH_ROOT=$tmp go run ./build/gen -check 2>"$tmp/err1"
	rc1=$?
	grep -q 'bindings/python/stack_auth/_errors.py differs' "$tmp/err1" || ok=1
	sed -i 's/^SA_E_TIMEOUT = -40$/SA_E_TIMEOUT = -4/' "$tmp/bindings/python/stack_auth/_errors.py"
	sed -i 's/"format": "Invalid grant"/"format": "Invalid grant!"/' "$tmp/build/gen/tables.json"
	STACK_AUTH_ROOT=$tmp go run ./build/gen -check 2>"$tmp/err2"
	rc2=$?
	grep -q 'core/errors_table.go differs' "$tmp/err2" || ok=1
	grep -q 'bindings/python' "$tmp/err2" && ok=1 # only the file that changed is named
	cat "$tmp/err1" "$tmp/err2"
	rm -rf "$tmp"
	((rc1 != 0 && rc2 != 0 && ok == 0))
}
check "LICENSE at the root is the $SPDX text" license_file
# shellcheck disable=SC2046 # one argument per package.json (paths without spaces)
check "npm: license $SPDX, not private" npm_meta $(ls bindings/node/npm/*/package.json 2>/dev/null)
check "python: license $SPDX, LICENSE shipped" py_meta
check "ruby: license $SPDX" gem_meta
check "rust: every crate licensed $SPDX" cargo_meta
check "tables: every generated copy equals build/gen/tables.json" go run ./build/gen -check
check "tables: a stale generated copy is caught and named" tables_drift_caught
check "versions: every copy equals build/gen/tables.json" bash build/version.sh --check
check "versions: a drifted copy is caught and named" drift_caught
echo "metadata: $passed passed, $failed failed"
((failed == 0))
