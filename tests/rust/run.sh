#!/usr/bin/env bash
# tests/rust/run.sh — the Rust ABI tests (cargo test --offline; the crate has no
# dependencies) against an emulator started here. Ends with "N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/../c/lib.sh" # cd to the repo root, ensure_*, start_emulator, trap

ensure_cmds cargo:cargo gcc:gcc
ensure_built
start_emulator

# Build output under build/out so the source tree stays clean; the library dir for build.rs.
export CARGO_TARGET_DIR=$ROOT/$OUT/rust-target
export STACK_AUTH_LIB_DIR=$ROOT/$OUT/lib

set +e
cargo test --offline --quiet --manifest-path tests/rust/Cargo.toml 2>&1 | tee "$WORK/rust.log"
rc=${PIPESTATUS[0]}
set -e

line=$(grep -E '^rust: [0-9]+ passed, [0-9]+ failed$' "$WORK/rust.log" | tail -n1 || true)
if [[ -z $line ]]; then
	echo "FAIL cargo test (exit $rc, no summary: build failure or crash)"
	echo "0 passed, 1 failed"
	exit 1
fi
read -r p f < <(sed -E 's/rust: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
if ((rc != 0 && f == 0)); then f=1; echo "FAIL cargo test exited $rc"; fi
echo "$p passed, $f failed"
((f == 0 && rc == 0))
