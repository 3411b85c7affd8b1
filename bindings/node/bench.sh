#!/usr/bin/env bash
# Benchmark figures of the Node binding (make bench-node / npm run bench): cached getToken()
# ns/op, one AuthStrategyFn round trip, 10,000 concurrent callers coalescing on one refresh,
# the addon's size and a fresh process's require() to first token. Figures only. They also go
# to build/out/bench/node.json (read by build/bench/report.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
[[ -e build/Release/stack_auth.node && -e build/Release/libstack_auth.so.1 ]] || bash build.sh >&2
if [[ ! -x $ROOT/build/out/bin/stack-auth ]]; then
	(cd "$ROOT" && mkdir -p build/out/bin && go build -o build/out/bin/stack-auth ./cmd/stack-auth)
fi
export STACK_AUTH_BIN=$ROOT/build/out/bin/stack-auth
export BENCH_JSON=${BENCH_JSON:-$ROOT/build/out/bench/node.json}
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(CS_[A-Za-z0-9_]*\)=.*/\1/p')
timeout --kill-after=10 180 node bench/bench.js
