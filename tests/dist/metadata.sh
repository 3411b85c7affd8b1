#!/usr/bin/env bash
# Package metadata agrees with itself: one LICENSE at the root, the same licence (SPDX id) in
# every package, the npm packages publishable, every version copy equal to the header's, and
# the version check catches a drifted copy. Run by make vet (cheap: no build).
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
	tar -cf - include/stack_auth.h core/cts.go bindings/python/pyproject.toml | tar -C "$tmp" -xf -
	sed -i 's/^version = ".*"/version = "9.9.9"/' "$tmp/bindings/python/pyproject.toml"
	STACK_AUTH_ROOT=$tmp bash build/version.sh --check 2>"$tmp/err"
	rc=$?
	grep -q 'bindings/python/pyproject.toml has version .9\.9\.9.' "$tmp/err"
	local named=$?
	rm -rf "$tmp"
	((rc != 0 && named == 0))
}
check "LICENSE at the root is the $SPDX text" license_file
# shellcheck disable=SC2046 # one argument per package.json (paths without spaces)
check "npm: license $SPDX, not private" npm_meta $(ls bindings/node/npm/*/package.json 2>/dev/null)
check "python: license $SPDX, LICENSE shipped" py_meta
check "ruby: license $SPDX" gem_meta
check "rust: every crate licensed $SPDX" cargo_meta
check "versions: every copy equals SA_VERSION_STRING" bash build/version.sh --check
check "versions: a drifted copy is caught and named" drift_caught
echo "metadata: $passed passed, $failed failed"
((failed == 0))
