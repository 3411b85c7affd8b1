#!/usr/bin/env bash
# tests/rust/run.sh — Rust against an emulator started here:
#   1. stack-auth-sys declares every function of include/stack_auth.h (no drift);
#   2. tests/rust: the C ABI's contract through stack-auth-sys (hooks, destroy, leaks);
#   3. bindings/rust/stack-auth: the safe crate's tests (cargo test).
# Both crates find the library as users do, through STACK_AUTH_LIB_DIR (tests/dist covers
# pkg-config). Ends with "N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/../c/lib.sh" # cd to the repo root, ensure_built, start_emulator, trap

bash build/setup.sh rust
ensure_built
start_emulator

export CARGO_TARGET_DIR=$ROOT/$OUT/rust-target
export STACK_AUTH_LIB_DIR=$ROOT/$OUT/lib
export LD_LIBRARY_PATH=$STACK_AUTH_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
p=0 f=0

# 1. The header's SA_API functions, each declared in stack-auth-sys (the crate may run ahead of
#    the header by a declaration: an unused extern is never linked).
header=$(sed -n 's/^SA_API[^(]*[ *]\(sa_[a-z0-9_]*\)(.*/\1/p' include/stack_auth.h | sort -u)
declared=$(grep -oE 'pub fn sa_[a-z0-9_]+' bindings/rust/stack-auth-sys/src/lib.rs | sed 's/pub fn //' | sort -u)
missing=$(comm -23 <(echo "$header") <(echo "$declared"))
if [[ -n $header && -z $missing ]]; then
	p=$((p + 1))
	echo "ok   stack-auth-sys declares all $(wc -l <<<"$header") functions of include/stack_auth.h"
else
	f=$((f + 1))
	echo "FAIL stack-auth-sys lacks functions of include/stack_auth.h:"
	echo "$missing" | sed 's/^/    /'
fi

# 2. The ABI tests (a custom runner printing "rust: N passed, M failed").
set +e
cargo test --quiet --manifest-path tests/rust/Cargo.toml 2>&1 | tee "$WORK/rust.log"
rc=${PIPESTATUS[0]}
set -e
line=$(grep -E '^rust: [0-9]+ passed, [0-9]+ failed$' "$WORK/rust.log" | tail -n1 || true)
if [[ -z $line ]]; then
	echo "FAIL tests/rust: cargo test (exit $rc, no summary: build failure or crash)"
	f=$((f + 1))
else
	read -r ap af < <(sed -E 's/rust: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
	((rc != 0 && af == 0)) && af=1 && echo "FAIL tests/rust: cargo test exited $rc"
	p=$((p + ap)) f=$((f + af))
fi

# 3. The safe crate (libtest: "test result: ok. N passed; M failed").
set +e
cargo test --manifest-path bindings/rust/Cargo.toml -p stack-auth -- --test-threads=1 2>&1 | tee "$WORK/rust-safe.log"
rc=${PIPESTATUS[0]}
set -e
sp=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1/p' "$WORK/rust-safe.log" | awk '{ s += $1 } END { print s + 0 }')
sf=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\2/p' "$WORK/rust-safe.log" | awk '{ s += $1 } END { print s + 0 }')
((rc != 0 && sf == 0)) && sf=1 && echo "FAIL bindings/rust: cargo test exited $rc"
p=$((p + sp)) f=$((f + sf))

echo "$p passed, $f failed"
((f == 0))
