#!/usr/bin/env bash
# tests/c/bench.sh — prints libstack_auth's C-side figures; asserts nothing (targets in
# brackets are the design's, for the reader):
#   cached sa_get_token + sa_token_value (+ sa_free + sa_token_free) ns/op, 1 and 2 threads
#   library size, stripped
#   dlopen -> first call, and -> first token (median of fresh processes)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_cmds gcc:gcc strip:binutils
ensure_built

LIB=$ROOT/$OUT/lib/libstack_auth.so.1
gcc -std=c11 -Wall -Wextra -Werror -O2 -pthread -I"$OUT/include" tests/c/bench.c -o "$TBUILD/bench" -ldl

start_emulator

echo "== libstack_auth $(sed -n 's/^#define SA_VERSION_STRING "\(.*\)"/\1/p' "$OUT/include/stack_auth.h"), $(nproc) cores"

# Size: strip a copy (build/lib.sh already links with -s -w; strip removes what is left).
cp "$LIB" "$WORK/lib.so"
strip "$WORK/lib.so"
size=$(stat -c %s "$WORK/lib.so")
printf '%-62s %8.2f MB  (%s MiB, %d bytes) [target <= 8 MB]\n' "library size, stripped" \
	"$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$(awk -v s="$size" 'BEGIN{printf "%.2f", s/1048576}')" "$size"

# Load: each sample is a fresh process (the Go runtime starts once per process).
loads=()
for _ in $(seq 11); do loads+=("$("$TBUILD/bench" --load "$LIB")"); done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
first_call=$(printf '%s\n' "${loads[@]}" | awk '{print $3}' | median)
first_token=$(printf '%s\n' "${loads[@]}" | awk '{print $4}' | median)
printf '%-62s %8.2f ms [target <= 30 ms]\n' "dlopen + dlsym + sa_version_number (median of 11)" "$first_call"
printf '%-62s %8.2f ms\n' "dlopen .. first static strategy + sa_get_token (median of 11)" "$first_token"

# Hot path (the target applies to the first line).
"$TBUILD/bench" "$LIB" | sed '1s/$/ [target <= 250 ns]/'
