#!/usr/bin/env bash
# Static checks beyond go vet (run by make vet):
#  - gofmt-clean Go sources;
#  - library code (core/, capi/) never exits the process or panics: a Go panic or os.Exit
#    inside a host process kills the host (docs/c-abi.md P7). The only panics allowed are
#    net/http's documented http.ErrAbortHandler in the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
unformatted=$(gofmt -l core capi cmd emulator tests 2>/dev/null || true)
if [[ -n $unformatted ]]; then
	echo "lint: not gofmt-clean:" $unformatted >&2
	status=1
fi
bad=$(grep -rnE 'os\.Exit\(|log\.Fatal|[^._a-zA-Z]panic\(' --include=*.go core capi emulator |
	grep -v '_test\.go:' | grep -v 'ErrAbortHandler\|panic(p) // let net/http' || true)
if [[ -n $bad ]]; then
	echo "lint: library code must not exit or panic:" >&2
	echo "$bad" >&2
	status=1
fi
exit $status
