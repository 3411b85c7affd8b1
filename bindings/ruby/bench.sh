#!/usr/bin/env bash
# make bench-ruby: prints the cost of a cached get_token from Ruby (ns/op), against a local
# emulator it starts and stops, and more (see bench.rb); the figures also go to
# build/out/bench/ruby.json (read by build/bench/report.py). Figures only: it never fails on a
# slow machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bash "$here/build.sh" >/dev/null
bin=$root/build/out/bin/stack-auth
[[ -x $bin ]] || (cd "$root" && go build -o build/out/bin/stack-auth ./cmd/stack-auth)

# shellcheck source=build/emulator.sh
source "$root/build/emulator.sh"
start_emulator "$bin"
read -r url crn key < <(ruby -rjson -e 'j = JSON.parse(STDIN.readline); puts [j["url"], j["workspaceCrn"], j["accessKey"]].join(" ")' <"$work/serve.out")

unset CS_CTS_HOST CS_CLIENT_ACCESS_KEY CS_WORKSPACE_CRN CS_CONFIG_PATH CS_TOKEN_STORE STACK_AUTH_LIB
cd "$here"
mkdir -p "$root/build/out/bench"
HOME=$work timeout --kill-after=10 240 ruby -Ilib bench.rb "$url" "$crn" "$key" "$root/build/out/bench/ruby.json"
