#!/usr/bin/env bash
# Regenerates the text stubs (.tbd) that the darwin builds link against (build/lib.sh passes
# -F and -L this directory): Linux has no macOS SDK, and zig ships libSystem but no
# frameworks. A stub lists the install name and the symbols a library exports; the linker
# records the install name in the dylib, and macOS binds the symbols at load as usual.
#
# The symbols are exactly those the Go standard library imports from each library: the
# `//go:cgo_import_dynamic <local> <symbol> "<install name>"` lines of $(go env GOROOT)/src
# (crypto/x509's CoreFoundation and Security calls; net's libresolv calls). Nothing of ours
# calls macOS APIs. Run this after a Go update; a symbol missing from a stub fails the link.
set -euo pipefail
cd "$(dirname "$0")"
goroot=$(go env GOROOT)
stub() { # file, install name
	local file=$1 install=$2 syms
	syms=$(grep -rh --include='*.go' --exclude='*_test.go' "^//go:cgo_import_dynamic [^ ]* [^ ]* \"$install\"" "$goroot/src" |
		awk '{ print "_" $3 }' | sort -u | paste -sd, - | sed 's/,/, /g')
	[[ -n $syms ]] || { echo "gen-tbd.sh: no symbols for $install" >&2; exit 1; }
	mkdir -p "$(dirname "$file")"
	cat >"$file" <<TBD
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '$install'
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ $syms ]
...
TBD
	echo "$file: $(tr -cd ',' <<<"$syms" | wc -c | awk '{ print $1 + 1 }') symbols"
}
stub CoreFoundation.framework/CoreFoundation.tbd /System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation
stub Security.framework/Security.tbd /System/Library/Frameworks/Security.framework/Versions/A/Security
stub libresolv.tbd /usr/lib/libresolv.9.dylib
