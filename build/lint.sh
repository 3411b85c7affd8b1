#!/usr/bin/env bash
# make lint: every language's linter over the tree, each configured at the root or per binding;
# fails when any reports a finding. The tools come from build/setup.sh lint (make lint runs it).
#
#   bash build/lint.sh              all of them
#   bash build/lint.sh go shell     some: go, shell, python, ruby, js, c
#
#   go      go vet; staticcheck (its default checks); gofmt; library code (core/, capi/,
#           emulator/) never exits the process or panics: a Go panic or os.Exit inside a host process kills the
#           host (docs/c-abi.md P7). The only panic allowed is net/http's documented
#           http.ErrAbortHandler in the emulator.
#   shell   shellcheck over every *.sh (.shellcheckrc)
#   python  ruff (ruff.toml)
#   ruby    rubocop, Debian's (bindings/ruby/.rubocop.yml)
#   js      biome (biome.jsonc)
#   c       capi/shim.c and the C tests compiled with -Wall -Wextra -Werror
set -uo pipefail
cd "$(dirname "$0")/.." || exit
TOOLS=build/out/tools
failed=()

# run NAME CMD...: runs one linter, prints its findings and counts it failed if it fails.
run() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "lint: $name ok"
	else
		echo "lint: $name FAILED" >&2
		[[ -n $out ]] && printf '%s\n' "$out" >&2
		failed+=("$name")
	fi
}

# The library's packages, and every folder of Go code (emulator/ once it leaves core/).
library_dirs() { local d; for d in core capi emulator internal; do [[ -d $d ]] && echo "$d"; done; }
library_exits() {
	local bad
	# shellcheck disable=SC2046 # one argument per folder
	bad=$(grep -rnE 'os\.Exit\(|log\.Fatal|[^._a-zA-Z]panic\(' --include=*.go $(library_dirs) |
		grep -v '_test\.go:' | grep -v 'ErrAbortHandler\|panic(p) // let net/http' || true)
	[[ -z $bad ]] || { echo "library code must not exit or panic:"; echo "$bad"; return 1; }
}
gofmt_clean() {
	local unformatted
	# shellcheck disable=SC2046 # one argument per folder
	unformatted=$(gofmt -l $(library_dirs) cmd tests build 2>&1)
	[[ -z $unformatted ]] || { echo "not gofmt-clean: $unformatted"; return 1; }
}
shell_files() { git ls-files '*.sh'; }
c_warnings() {
	local gen rc=0 f
	gen=$(mktemp -d)
	# shim.c includes cgo's _cgo_export.h: generate it as the build does.
	# shellcheck disable=SC2046 # one argument per cgo file
	(cd capi && go tool cgo -objdir "$gen" -- -I../include $(go list -f '{{join .CgoFiles " "}}' .)) >/dev/null || rc=1
	gcc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only -Iinclude -Icapi -I"$gen" capi/shim.c || rc=1
	for f in tests/c/harness.c tests/c/bench.c tests/c/bench_async.c tests/conformance/testee.c tests/platforms/smoke.c tests/platforms/dlopen.c examples/c/get_token.c; do
		gcc -std=c11 -Wall -Wextra -Werror -pthread -fsyntax-only -Iinclude -Itests/c "$f" || rc=1
	done
	rm -rf "$gen"
	return $rc
}

lint_go() {
	run "go vet" go vet ./...
	run "staticcheck" "$TOOLS/bin/staticcheck" ./...
	run "gofmt" gofmt_clean
	run "library code never exits or panics" library_exits
}
lint_shell() { run "shellcheck" bash -c 'shell_files | xargs shellcheck -f gcc'; }
lint_python() { run "ruff" "$TOOLS/lint-venv/bin/ruff" check --quiet --output-format concise .; }
lint_ruby() {
	run "rubocop" bash -c 'cd bindings/ruby && rubocop --format emacs'
	run "rubocop (conformance testee)" rubocop --format emacs -c bindings/ruby/.rubocop.yml tests/conformance/testee.rb
}
lint_js() { run "biome" "$TOOLS/lint-node/node_modules/.bin/biome" lint --error-on-warnings --reporter=summary .; }
lint_c() { run "C warnings as errors" c_warnings; }
export -f shell_files

langs=("$@")
((${#langs[@]})) || langs=(go shell python ruby js c)
for l in "${langs[@]}"; do
	case $l in
	go | shell | python | ruby | js | c) "lint_$l" ;;
	*) echo "lint.sh: unknown part '$l' (go shell python ruby js c)" >&2; exit 2 ;;
	esac
done
((${#failed[@]} == 0)) || { echo "lint: failed: ${failed[*]}" >&2; exit 1; }
