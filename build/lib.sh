#!/usr/bin/env bash
# Builds build/out/lib/libstack_auth.so (soname libstack_auth.so.1, only sa_* exported,
# NODELETE: a Go runtime cannot be unloaded), the pkg-config file, and keeps cgo's generated
# header for the drift check.
#
# By default the C side is compiled and linked with `zig cc` against glibc 2.17, so the
# library loads on distributions older than the build machine (a plain build here records
# GLIBC_2.34 symbols). STACK_AUTH_CC=gcc gives the plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/out
mkdir -p "$out/lib/pkgconfig" "$out/gen"
version=$(sed -n 's/^#define SA_VERSION_STRING "\(.*\)"/\1/p' include/stack_auth.h)
abi=$(sed -n 's/^#define SA_ABI_VERSION \([0-9]*\)/\1/p' include/stack_auth.h)

cc=${STACK_AUTH_CC:-zig}
if [[ $cc == zig ]]; then
	cc="$(bash build/zig.sh) cc -target x86_64-linux-gnu.2.17"
fi
CC=$cc CGO_ENABLED=1 go build -buildmode=c-shared -trimpath \
	-ldflags "-s -w -extldflags '-Wl,--version-script=$PWD/build/exports.map -Wl,-soname,libstack_auth.so.$abi -Wl,-z,nodelete -Wl,--strip-all'" \
	-o "$out/lib/libstack_auth.so.$abi" ./capi
mv "$out/lib/libstack_auth.so.h" "$out/gen/libstack_auth_cgo.h"
ln -sf "libstack_auth.so.$abi" "$out/lib/libstack_auth.so"
mkdir -p "$out/include"
cp include/stack_auth.h "$out/include/"

prefix=$(cd "$out" && pwd)
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" build/stack_auth.pc.in >"$out/lib/pkgconfig/stack_auth.pc"
