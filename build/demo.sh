#!/usr/bin/env bash
# make demo: the main job end to end, against a local emulator on a free port.
#   1. start `stack-auth serve` (auto-approving device codes)
#   2. log in with the device flow into a temporary profile, print a token from the profile
#   3. get a token with an access key
#   4. get a token from C, Python, Ruby and Node through libstack_auth
# Tokens are secrets: only their claims and a short prefix are shown.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/out/bin/stack-auth
# shellcheck source=build/emulator.sh
source build/emulator.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
short() { local t; t=$(cat); printf '%s… (%d chars)\n' "${t:0:16}" "${#t}"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

step "Starting the emulator"
start_emulator "$bin" --auto-approve
start=$(head -n1 "$work/serve.out")
url=$(json_field url <<<"$start")
crn=$(json_field workspaceCrn <<<"$start")
key=$(json_field accessKey <<<"$start")
echo "emulator at $url, workspace $crn"

# A clean environment: only what each step sets.
unset CS_CLIENT_ACCESS_KEY CS_WORKSPACE_CRN CS_TOKEN_STORE
export CS_CTS_HOST=$url CS_CONFIG_PATH=$work/profile HOME=$work/home

step "stack-auth login (device code flow, auto-approved)"
"$bin" login --no-browser --region "$(cut -d: -f2 <<<"$crn")" 2>&1 | sed 's/^/  /'

step "stack-auth token (from the saved profile)"
printf '  token: '; "$bin" token | short
"$bin" status | sed 's/^/  /'

step "stack-auth token --json (access key)"
CS_CLIENT_ACCESS_KEY=$key CS_WORKSPACE_CRN=$crn "$bin" token --json |
	python3 -c 'import json,sys; t=json.load(sys.stdin); print("  subject %s, workspace %s, expires %s" % (t["subject"], t["workspaceId"], t["expiresAt"]))'

step "C: libstack_auth (access key via the environment)"
cc -std=c99 -Wall -Werror -Ibuild/out/include examples/c/get_token.c -Lbuild/out/lib \
	-Wl,-rpath,"$PWD/build/out/lib" -lstack_auth -o "$work/get_token"
CS_CLIENT_ACCESS_KEY=$key CS_WORKSPACE_CRN=$crn "$work/get_token"

step "Python, Ruby and Node bindings (access key via the environment)"
CS_CLIENT_ACCESS_KEY=$key CS_WORKSPACE_CRN=$crn build/out/venv/bin/python bindings/python/demo.py
CS_CLIENT_ACCESS_KEY=$key CS_WORKSPACE_CRN=$crn ruby bindings/ruby/demo.rb
CS_CLIENT_ACCESS_KEY=$key CS_WORKSPACE_CRN=$crn node bindings/node/demo.js

step "Summary"
requests=$(curl -fsS "${url}_emulator/requests" 2>/dev/null || python3 -c 'import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "${url}_emulator/requests")
python3 - "$requests" <<'PY'
import json, sys, collections
reqs = json.loads(sys.argv[1])["requests"]
c = collections.Counter(r["path"] for r in reqs)
for path, n in sorted(c.items()):
    print(f"  {n:3d} × {path}")
print("  demo OK: device login, profile token, access-key token, C, Python, Ruby and Node tokens")
PY
