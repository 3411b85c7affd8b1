#!/usr/bin/env bash
# What each part of the library costs (README "Platforms"): builds an unstripped copy of the
# host library into build/out/size/ and sums `go tool nm -size` by package group (code and
# data of Go symbols; the rest of the file is the runtime's tables, cgo and the C shim).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/out/size
mkdir -p "$dir"
zig=$(bash build/zig.sh)
source build/size_gcflags.sh
CC="$zig cc -target x86_64-linux-gnu.2.17" CGO_ENABLED=1 go build -buildmode=c-shared -trimpath -buildvcs=false \
	"${size_gcflags[@]}" \
	-o "$dir/libstack_auth.so.1" ./capi
go tool nm -size "$dir/libstack_auth.so.1" | awk '
	# Code, data and read-only data; not zero-filled buffers (fips140 drbg.memory is 32 MiB
	# of address space and no bytes of the file).
	$3 ~ /^[TtDdRr]$/ && $4 !~ /^_/ && $2 < 4000000 {
		name = $4
		sub(/^type:\.?/, "", name); sub(/^go:(itab\.)?\*?/, "", name)
		if (name ~ /^github\.com\/stackauth\/stack-auth\/|^main\./) g = "stack-auth (core, capi, profile)"
		else if (name ~ /^github\.com\/redis\/|^github\.com\/cespare\/|^github\.com\/dgryski\//) g = "Redis client (go-redis + deps)"
		else if (name ~ /^github\.com\/golang-jwt\//) g = "golang-jwt"
		else if (name ~ /^github\.com\/google\/uuid/) g = "google/uuid"
		else if (name ~ /^golang\.org\/x\//) g = "golang.org/x"
		else if (name ~ /^(vendor\/)?golang\.org\/x\/|^vendor\//) g = "std vendor (x/net, x/crypto)"
		else if (name ~ /^crypto\//) g = "std crypto (TLS, x509)"
		else if (name ~ /^net\/http/) g = "std net/http"
		else if (name ~ /^net[.\/]|^net$/) g = "std net"
		else if (name ~ /^runtime|^internal\/|^sync|^syscall|^func\./) g = "Go runtime (+ func metadata)"
		else if (name ~ /^(encoding|reflect|fmt|strconv|unicode|math|time|os|io|bufio|bytes|strings|sort|slices|maps|regexp|context|errors|log|path|mime|compress|hash|container|text|html|iter|unique|weak|cmp)[\/.]/) g = "std other"
		else g = "other"
		sum[g] += $2; total += $2
	}
	END {
		for (g in sum) printf "%-36s %6.2f MB\n", g, sum[g] / 1e6 | "sort -k1,1"
		close("sort -k1,1")
		printf "%-36s %6.2f MB\n", "all Go symbols", total / 1e6
	}'
printf '%-36s %6.2f MB (unstripped file: %.2f MB)\n' "stripped library (make lib)" \
	"$(awk -v b="$(stat -c %s build/out/lib/libstack_auth.so.1 2>/dev/null || echo 0)" 'BEGIN { print b / 1e6 }')" \
	"$(awk -v b="$(stat -c %s "$dir/libstack_auth.so.1")" 'BEGIN { print b / 1e6 }')"
