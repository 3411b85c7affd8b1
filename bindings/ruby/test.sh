#!/usr/bin/env bash
# make test-ruby: the minitest suite against real `stack-auth serve` emulators (started and
# stopped by the suite). Installs what is missing (build.sh), prints minitest's summary line,
# exits non-zero on any failure. Hard timeout: 240 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

bash "$here/build.sh" # ruby + ffi + minitest, the library copy, the gem (idempotent)
bin=$root/build/out/bin/stack-auth
if [[ ! -x $bin ]]; then
	echo "ruby tests: building the stack-auth CLI (emulator)"
	(cd "$root" && go build -o build/out/bin/stack-auth ./cmd/stack-auth)
fi

work=$(mktemp -d)
pidfile=$work/emulators.pid
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	# Emulators left behind by a killed run (each test process stops its own normally).
	if [[ -f $pidfile ]]; then
		while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$pidfile"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# A clean environment: no credentials or profile of the machine's user.
unset CS_CTS_HOST CS_CLIENT_ACCESS_KEY CS_WORKSPACE_CRN CS_CONFIG_PATH CS_TOKEN_STORE STACK_AUTH_LIB
mkdir -p "$work/home"
export HOME=$work/home STACK_AUTH_TEST_PIDFILE=$pidfile STACK_AUTH_BIN=$bin

# The built gem installs offline (next to Debian's ffi) and loads the library it carries.
gem_file=$(ls -t "$root"/build/out/ruby/stack_auth-*.gem | head -n1)
gem_home=$work/gems
GEM_HOME=$gem_home GEM_PATH="$gem_home:$(gem env gempath)" gem install --local --no-document "$gem_file" >"$work/gem.log" 2>&1 ||
	{ cat "$work/gem.log" >&2; echo "ruby: installing $gem_file failed" >&2; exit 1; }
(cd "$work" && GEM_HOME=$gem_home GEM_PATH="$gem_home:$(gem env gempath)" ruby -e '
	require "stack_auth"
	lib = StackAuth::Native.candidates.first
	raise "not the bundled library: #{lib}" unless lib.start_with?(ENV["GEM_HOME"])
	raise "static token" unless StackAuth::StaticTokenStrategy.new("a.b.c").get_token.token == "a.b.c"
	puts "ruby: #{File.basename(ARGV[0])} installs offline and loads its bundled libstack_auth #{StackAuth.library_version}"
' "$gem_file")

cd "$here"
started=$(date +%s.%N)
set +e
timeout --kill-after=10 240 ruby -Ilib -Itest \
	-e 'Dir["test/*_test.rb"].sort.each { |f| require File.expand_path(f) }' -- "$@" 2>&1 | tee "$work/out.log"
rc=${PIPESTATUS[0]}
set -e
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
summary=$(grep -E '^[0-9]+ runs, ' "$work/out.log" | tail -n1 || true)
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
	echo "ruby tests: TIMED OUT after 240 s" >&2
fi
echo "ruby: ${summary:-no summary (rc $rc)} in ${elapsed}s"
exit "$rc"
