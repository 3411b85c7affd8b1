#!/usr/bin/env bash
# Builds the library for one platform of README.md "Platforms", all from this Linux machine with
# `zig cc` as cgo's C compiler and linker:
#
#   bash build/lib.sh                  the host build every suite uses: build/out/lib/
#   bash build/lib.sh TARGET           build/out/targets/TARGET/ (make lib TARGET=...)
#   bash build/lib.sh all              every target, then a size table (make lib-all)
#
# TARGET is one of linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl win32-x64
# darwin-x64 darwin-arm64. Each build exports only the sa_* functions of the header:
#   linux   libstack_auth.so.1 (+ .so link), soname libstack_auth.so.1, NODELETE (a Go runtime
#           cannot be unloaded), glibc <= 2.17 symbol versions for -gnu; build/exports.map.
#   musl    the same, with the runtime's library entry replaced (build/musl/overlay.sh):
#           musl calls initialisers without argc/argv, and Go's runtime read them (golang/go#13492).
#   win32   stack_auth.dll, its import library stack_auth.lib, and stack_auth.def (the export
#           list, generated from the header; without it cgo exports only its own sago_* names).
#   darwin  libstack_auth.1.dylib (+ .dylib link), install name @rpath/libstack_auth.1.dylib,
#           macOS >= 11, exporting only the header's names (build/darwin/cc.sh), linked
#           against the text stubs of build/darwin/ (gen-tbd.sh); zig signs the arm64 one.
# The host build also keeps cgo's generated header (build/out/gen) for the drift check, and
# writes the pkg-config file. STACK_AUTH_CC=gcc gives a plain host build without zig.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/out
targets=(linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl win32-x64 darwin-x64 darwin-arm64)
version=$(sed -n 's/^#define SA_VERSION_STRING "\(.*\)"/\1/p' include/stack_auth.h)
abi=$(sed -n 's/^#define SA_ABI_VERSION \([0-9]*\)/\1/p' include/stack_auth.h)
source build/size_gcflags.sh

# The public names: every function the header declares with SA_API (not hand-copied, so a new
# export is picked up by the Windows and macOS export lists as by the Linux glob).
header_exports() {
	local names
	names=$(sed -n 's/^SA_API[^(]*[ *]\(sa_[a-z0-9_]*\)(.*/\1/p' include/stack_auth.h)
	# Every SA_API line must name its function on that line, or an export would be missed.
	if [[ $(grep -c '^SA_API' include/stack_auth.h) -ne $(wc -l <<<"$names") ]]; then
		echo "lib.sh: a SA_API declaration in include/stack_auth.h does not name its function on its first line" >&2
		return 1
	fi
	echo "$names"
}

# build_one TARGET DEST: the library of TARGET into DEST.
build_one() {
	local t=$1 dest=$2 goos goarch ztarget cc extld=() name overlay=()
	case $t in
	linux-x64-gnu) goos=linux goarch=amd64 ztarget=x86_64-linux-gnu.2.17 ;;
	linux-arm64-gnu) goos=linux goarch=arm64 ztarget=aarch64-linux-gnu.2.17 ;;
	linux-x64-musl) goos=linux goarch=amd64 ztarget=x86_64-linux-musl ;;
	linux-arm64-musl) goos=linux goarch=arm64 ztarget=aarch64-linux-musl ;;
	win32-x64) goos=windows goarch=amd64 ztarget=x86_64-windows-gnu ;;
	darwin-x64) goos=darwin goarch=amd64 ztarget=x86_64-macos.11.0 ;;
	darwin-arm64) goos=darwin goarch=arm64 ztarget=aarch64-macos.11.0 ;;
	*)
		echo "lib.sh: unknown target '$t' (one of: ${targets[*]})" >&2
		return 2
		;;
	esac
	mkdir -p "$dest/include"
	local zig
	zig=$(bash build/zig.sh)
	cc="$zig cc -target $ztarget"
	[[ $t == linux-x64-gnu && ${STACK_AUTH_CC:-zig} != zig ]] && cc=$STACK_AUTH_CC
	local cflags=${CGO_CFLAGS:--O2 -g}
	case $goos in
	linux)
		name=libstack_auth.so.$abi
		extld=(-Wl,--version-script="$PWD/build/exports.map" -Wl,-soname,"$name" -Wl,-z,nodelete -Wl,--strip-all)
		if [[ $t == *-musl ]]; then
			overlay=(-overlay "$(bash build/musl/overlay.sh)")
		fi
		;;
	windows)
		name=stack_auth.dll
		{
			echo "LIBRARY stack_auth.dll"
			echo "EXPORTS"
			header_exports | sed 's/^/    /'
		} >"$dest/stack_auth.def"
		cflags+=" -DSA_BUILDING_LIBRARY"
		extld=("$PWD/$dest/stack_auth.def" -Wl,--out-implib,"$PWD/$dest/stack_auth.lib" -Wl,--strip-all)
		;;
	darwin)
		name=libstack_auth.$abi.dylib
		header_exports | sed 's/^/_/' >"$dest/exports.txt"
		# zig ignores the list below (kept for a future linker); cc.sh enforces it.
		go build -o build/out/tools/machohide ./build/darwin/machohide
		export SA_ZIG=$zig SA_MACHOHIDE=$PWD/build/out/tools/machohide SA_DARWIN_EXPORTS=$PWD/$dest/exports.txt
		cc="$PWD/build/darwin/cc.sh -target $ztarget"
		extld=(-Wl,-install_name,@rpath/"$name" -Wl,-exported_symbols_list,"$PWD/$dest/exports.txt"
			-F"$PWD/build/darwin" -L"$PWD/build/darwin" -mmacos-version-min=11.0)
		;;
	esac
	echo "lib.sh: $t -> $dest/$name" >&2
	rm -f "$dest/$name"
	# extldflags is one string the Go linker splits on spaces: none of the paths has one.
	CC=$cc CGO_CFLAGS=$cflags CGO_ENABLED=1 GOOS=$goos GOARCH=$goarch MACOSX_DEPLOYMENT_TARGET=11.0 \
		go build -buildmode=c-shared -trimpath -buildvcs=false "${overlay[@]}" "${size_gcflags[@]}" \
		-ldflags "-s -w -X github.com/stackauth/stack-auth/core.Version=$version -extldflags '${extld[*]}'" -o "$dest/$name" ./capi
	mv "$dest/${name%.*}.h" "$dest/libstack_auth_cgo.h" # cgo names it after the output, minus one suffix
	case $goos in
	linux) ln -sf "$name" "$dest/libstack_auth.so" ;;
	darwin) ln -sf "$name" "$dest/libstack_auth.dylib" ;;
	esac
	cp include/stack_auth.h "$dest/include/"
}

size_table() {
	printf '%-18s %-22s %9s\n' target library MB
	local t f
	for t in "${targets[@]}"; do
		f=$(ls "$out/targets/$t"/{libstack_auth.so."$abi",stack_auth.dll,libstack_auth."$abi".dylib} 2>/dev/null | head -n1 || true)
		[[ -n $f ]] || { printf '%-18s %-22s %9s\n' "$t" - "not built"; continue; }
		printf '%-18s %-22s %9.1f\n' "$t" "$(basename "$f")" "$(awk -v b="$(stat -c %s "$f")" 'BEGIN { print b / 1e6 }')"
	done
}

# All in functions, called on the last line: bash has read the whole file before it runs.
main() {
	case ${1:-} in
	"")
		mkdir -p "$out/lib/pkgconfig" "$out/gen"
		build_one linux-x64-gnu "$out/lib"
		mv "$out/lib/libstack_auth_cgo.h" "$out/gen/libstack_auth_cgo.h"
		mkdir -p "$out/include"
		cp include/stack_auth.h "$out/include/"
		rm -rf "$out/lib/include"
		prefix=$(cd "$out" && pwd)
		sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" build/stack_auth.pc.in >"$out/lib/pkgconfig/stack_auth.pc"
		;;
	all)
		for t in "${targets[@]}"; do build_one "$t" "$out/targets/$t"; done
		size_table
		;;
	sizes) size_table ;;
	*) build_one "$1" "$out/targets/$1" ;;
	esac
}
main "$@"; exit
