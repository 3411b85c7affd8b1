#!/usr/bin/env bash
# The version comes from one place: "version" in build/gen/tables.json (make gen writes it into
# include/stack_auth.h, which build/lib.sh compiles into the library, and runs this with
# --write). Every package's metadata carries a copy, stamped from it:
#
#   bash build/version.sh           prints the version
#   bash build/version.sh --check   fails, naming each file, when a copy differs (make vet)
#   bash build/version.sh --write   stamps the version into every copy
#
# STACK_AUTH_ROOT runs it over another tree (tests/dist/metadata.sh checks a drifted copy).
set -euo pipefail
cd "${STACK_AUTH_ROOT:-$(dirname "$0")/..}"
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' build/gen/tables.json)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || {
	echo "version.sh: no \"version\" in build/gen/tables.json" >&2
	exit 1
}

# Each copy: FILE and a sed expression whose \1 is the prefix and \2 the version.
copies=(
	'core/cts.go|^\(var Version = "\)\([^"]*\)"'
	'bindings/node/package.json|^\(  "version": "\)\([^"]*\)"'
	'bindings/python/pyproject.toml|^\(version = "\)\([^"]*\)"'
	'bindings/python/stack_auth/__init__.py|^\(__version__ = "\)\([^"]*\)"'
	'bindings/ruby/lib/stack_auth/version.rb|^\(  VERSION = "\)\([^"]*\)"'
	'bindings/rust/stack-auth-sys/Cargo.toml|^\(version = "\)\([^"]*\)"'
	'bindings/rust/stack-auth/Cargo.toml|^\(version = "\)\([^"]*\)"'
	'bindings/rust/stack-auth/Cargo.toml|^\(stack-auth-sys = { version = "=\)\([^"]*\)"'
)

case ${1:-} in
"") echo "$version" ;;
--check)
	status=0
	for c in "${copies[@]}"; do
		f=${c%%|*} re=${c#*|}
		[[ -f $f ]] || continue # a package not in this tree (yet)
		got=$(sed -n "0,/$re/s/$re.*/\2/p" "$f")
		if [[ $got != "$version" ]]; then
			echo "version.sh: $f has version '${got:-none}', build/gen/tables.json $version (run make gen)" >&2
			status=1
		fi
	done
	exit $status
	;;
--write)
	for c in "${copies[@]}"; do
		f=${c%%|*} re=${c#*|}
		[[ -f $f ]] || continue
		sed -i "0,/$re/s/$re/\1$version\"/" "$f"
	done
	# The lockfile's own entry follows package.json.
	if [[ -f bindings/node/package-lock.json ]]; then
		node -e '
			const fs = require("fs"), f = process.argv[1], l = JSON.parse(fs.readFileSync(f, "utf8"));
			l.version = process.argv[2]; if (l.packages && l.packages[""]) l.packages[""].version = process.argv[2];
			fs.writeFileSync(f, JSON.stringify(l, null, 2) + "\n");' bindings/node/package-lock.json "$version"
	fi
	;;
*)
	echo "usage: bash build/version.sh [--check|--write]" >&2
	exit 2
	;;
esac
