#!/usr/bin/env bash
# The per-target packages of make dist, for every target of build/lib.sh, into build/out/dist/:
#
#   stack-auth-c-<v>-<target>.tar.gz        C: include/, lib/ (the library; on Windows the DLL,
#                                           its import library stack_auth.lib and .def), a
#                                           relocatable lib/pkgconfig/stack_auth.pc, LICENSE
#   stack-auth-cli-<v>-<target>.tar.gz      the Go CLI (CGO_ENABLED=0), LICENSE
#   stack-auth-<target>-<v>.tgz             npm: the N-API addon + library (os/cpu/libc fields)
#   stack-auth-cli-<target>-<v>.tgz         npm: the CLI (for `npx stack-auth`)
# The packages' CLI is built without the emulator (-tags noemulator) and each per-platform
# package stays within 4 MB compressed (tests/dist/run.sh checks); the CLI archive has it all.
#   stack-auth-<v>.tgz                      npm: the main package (JS, types, optionalDependencies)
#   stack_auth-<v>-<gem platform>.gem       Ruby: platform gems (the library), which depend on
#   stack_auth-cli-<v>-<gem platform>.gem   the CLI's gem (its `stack-auth` executable runs it)
#   stack_auth-<v>-cp39-abi3-<tag>.whl      Python: a wheel per target (from dist.sh's x86_64 one),
#   stack_auth_cli-<v>-py3-none-<tag>.whl   which depends on the CLI's wheel (`stack-auth` runs it)
#   stack_auth-<v>.tar.gz                   Python: the sdist (builds the library with Go)
#
# Every library comes from build/out/targets/<target> (built by build/lib.sh when missing).
# The linux-x64-gnu addon is the one build/dist/dist.sh built with node-gyp (its glibc checks);
# the others are compiled here with zig c++ against the system's Node headers (N-API is
# ABI-stable), as tests/platforms does. Environment: TARGETS (default all seven).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/out
DIST=$OUT/dist
WORK=$OUT/dist-work/targets
NODEDIR=${NODEDIR:-/usr}
VERSION=$(bash build/version.sh)
ABI=$(sed -n 's/^#define SA_ABI_VERSION \([0-9]*\)/\1/p' include/stack_auth.h)
ALL=(linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl win32-x64 darwin-x64 darwin-arm64)
read -r -a TARGETS <<<"${TARGETS:-${ALL[*]}}"
ZIG=$(bash build/zig.sh)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
TAR_FLAGS=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH")
PKG_MAX=4000000 # bytes: the budget of each per-platform npm package, wheel and gem (compressed)
source build/size_gcflags.sh

log() { printf '\033[1mdist:\033[0m %s\n' "$*"; }
die() {
	printf 'dist: error: %s\n' "$*" >&2
	exit 1
}
mkdir -p "$DIST" "$WORK"

# target -> GOOS GOARCH zig-target npm-os npm-cpu npm-libc gem-platform library-file
info() {
	case $1 in
	linux-x64-gnu) echo "linux amd64 x86_64-linux-gnu.2.17 linux x64 glibc x86_64-linux libstack_auth.so.$ABI" ;;
	linux-arm64-gnu) echo "linux arm64 aarch64-linux-gnu.2.17 linux arm64 glibc aarch64-linux libstack_auth.so.$ABI" ;;
	linux-x64-musl) echo "linux amd64 x86_64-linux-musl linux x64 musl x86_64-linux-musl libstack_auth.so.$ABI" ;;
	linux-arm64-musl) echo "linux arm64 aarch64-linux-musl linux arm64 musl aarch64-linux-musl libstack_auth.so.$ABI" ;;
	win32-x64) echo "windows amd64 x86_64-windows-gnu win32 x64 - x64-mingw-ucrt stack_auth.dll" ;;
	darwin-x64) echo "darwin amd64 x86_64-macos.11.0 darwin x64 - x86_64-darwin libstack_auth.$ABI.dylib" ;;
	darwin-arm64) echo "darwin arm64 aarch64-macos.11.0 darwin arm64 - arm64-darwin libstack_auth.$ABI.dylib" ;;
	*) die "unknown target $1" ;;
	esac
}
size_of() { stat -c %s "$1"; }

# ---- C archive ---------------------------------------------------------------------------
c_archive() { # target
	local t=$1 goos lib name root
	read -r goos _ _ _ _ _ _ lib < <(info "$t")
	name=stack-auth-c-$VERSION-$t
	root=$WORK/c/$name
	rm -rf "$root"
	mkdir -p "$root/include" "$root/lib/pkgconfig" "$root/examples"
	install -m 0644 include/stack_auth.h "$root/include/"
	install -m 0755 "$OUT/targets/$t/$lib" "$root/lib/"
	case $goos in
	linux) ln -s "$lib" "$root/lib/libstack_auth.so" ;;
	darwin) ln -s "$lib" "$root/lib/libstack_auth.dylib" ;;
	windows) install -m 0644 "$OUT/targets/$t/stack_auth.lib" "$OUT/targets/$t/stack_auth.def" "$root/lib/" ;;
	esac
	# Relocatable: the prefix is wherever the archive was unpacked. Windows has no rpath: the DLL
	# goes beside the program (or on PATH).
	sed -e 's|^prefix=@PREFIX@$|prefix=${pcfiledir}/../..|' -e "s|@VERSION@|$VERSION|" build/stack_auth.pc.in >"$root/lib/pkgconfig/stack_auth.pc"
	[[ $goos == windows ]] && sed -i 's| -Wl,-rpath,${libdir}||' "$root/lib/pkgconfig/stack_auth.pc"
	! grep -q @ "$root/lib/pkgconfig/stack_auth.pc" || die "stack_auth.pc has an unsubstituted @VAR@"
	install -m 0644 examples/c/get_token.c "$root/examples/"
	install -m 0644 LICENSE "$root/"
	sed -e "s|@VERSION@|$VERSION|g" -e "s|@ABI@|$ABI|g" -e "s|linux-x86_64|$t|g" build/dist/README.c.md >"$root/README.md"
	tar -C "$WORK/c" "${TAR_FLAGS[@]}" -cf - "$name" | gzip -9n >"$DIST/$name.tar.gz"
}

# ---- CLI -----------------------------------------------------------------------------------
cli_build() { # target [tags] -> $WORK/cli[-tags]/<target>/stack-auth[.exe]
	local t=$1 tags=${2:-} goos goarch ext="" dir
	read -r goos goarch _ < <(info "$t")
	[[ $goos == windows ]] && ext=.exe
	dir=$WORK/cli${tags:+-$tags}/$t
	mkdir -p "$dir"
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false ${tags:+-tags "$tags"} "${size_gcflags[@]}" \
		-ldflags '-s -w' -o "$dir/stack-auth$ext" ./cmd/stack-auth
	echo "$dir/stack-auth$ext"
}
# The standalone archive has the whole CLI (the emulator included); the npm packages, wheels
# and gems carry the one without the emulator (cmd/stack-auth/serve_noemulator.go), which keeps
# each of them within PKG_MAX.
cli_archive() { # target
	local t=$1 name=stack-auth-cli-$VERSION-$1 exe
	exe=$(cli_build "$t")
	cli_build "$t" noemulator >/dev/null
	rm -rf "$WORK/clia/$name"
	mkdir -p "$WORK/clia/$name"
	install -m 0755 "$exe" "$WORK/clia/$name/"
	install -m 0644 LICENSE "$WORK/clia/$name/"
	tar -C "$WORK/clia" "${TAR_FLAGS[@]}" -cf - "$name" | gzip -9n >"$DIST/$name.tar.gz"
}
# The packaged CLI of a target (built by cli_archive).
cli_slim() { ls "$WORK/cli-noemulator/$1/"stack-auth*; }

# ---- npm -------------------------------------------------------------------------------------
# npm_platform_json NAME OS CPU LIBC MAIN FILES...: a per-platform package.json.
npm_platform_json() {
	node -e '
		const [name, version, os, cpu, libc, main, ...files] = process.argv.slice(1);
		const p = { name, version, description: `stack-auth prebuilt files for ${os}-${cpu}${libc === "-" ? "" : "-" + libc} (installed by the stack-auth package)`,
			license: "Apache-2.0", repository: "github:stackauth/stack-auth", os: [os], cpu: [cpu] };
		if (libc !== "-") p.libc = [libc];
		if (main !== "-") p.main = main;
		Object.assign(p, { files: files.concat(["LICENSE"]), engines: { node: ">=18" } });
		process.stdout.write(JSON.stringify(p, null, 2) + "\n");
	' "$@"
}
npm_pack() { # dir -> prints the tarball path
	(cd "$1" && npm pack --ignore-scripts --pack-destination "$DIST" --loglevel=error | tail -n1) | sed "s|^|$DIST/|"
}
node_addon() { # target dest
	local t=$1 dest=$2 goos zt lib=$OUT/targets/$1
	read -r goos _ zt _ < <(info "$t")
	local src=bindings/node/src/addon.cc flags=(-std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -I"$NODEDIR/include/node" -I"$lib/include")
	case $goos in
	linux)
		if [[ $t == linux-x64-gnu && -f $OUT/dist-work/stage/node/build/Release/stack_auth.node ]]; then
			cp "$OUT/dist-work/stage/node/build/Release/stack_auth.node" "$dest/" # dist.sh's node-gyp build
			return
		fi
		"$ZIG" c++ -target "$zt" -shared -fPIC "${flags[@]}" "$src" -L"$lib" -lstack_auth -Wl,-rpath,'$ORIGIN' \
			-Wl,--version-script="$ROOT/build/dist/addon.map" -Wl,--strip-all -o "$dest/stack_auth.node"
		;;
	darwin)
		"$ZIG" c++ -target "$zt" -shared -fPIC -include "$ROOT/build/dist/darwin_compat.h" "${flags[@]}" "$src" -L"$lib" -lstack_auth -Wl,-rpath,@loader_path \
			-Wl,-undefined,dynamic_lookup -o "$dest/stack_auth.node"
		;;
	windows)
		# N-API is imported from node.exe: an import library of the napi_* names the addon uses.
		"$ZIG" c++ -target "$zt" "${flags[@]}" -c "$src" -o "$WORK/addon-$t.o"
		{
			echo "LIBRARY node.exe"
			echo "EXPORTS"
			llvm-nm -u "$WORK/addon-$t.o" | awk '$2 ~ /^napi_/ { print "    " $2 }'
		} >"$WORK/node.def"
		"$ZIG" dlltool -d "$WORK/node.def" -l "$WORK/node.lib" -m i386:x86-64
		"$ZIG" c++ -target "$zt" -shared "$WORK/addon-$t.o" "$WORK/node.lib" "$lib/stack_auth.lib" -o "$dest/stack_auth.node"
		;;
	esac
}
npm_platform() { # target
	local t=$1 goos os cpu libc lib dir tgz
	read -r goos _ _ os cpu libc _ lib < <(info "$t")
	dir=$WORK/npm/$t
	rm -rf "$dir"
	mkdir -p "$dir"
	node_addon "$t" "$dir"
	install -m 0755 "$OUT/targets/$t/$lib" "$dir/"
	install -m 0644 LICENSE "$dir/"
	npm_platform_json "stack-auth-$t" "$VERSION" "$os" "$cpu" "$libc" stack_auth.node stack_auth.node "$lib" >"$dir/package.json"
	tgz=$(npm_pack "$dir")
	# npm packs with zlib; a package over PKG_MAX (win32-x64: the DLL compresses worst) is
	# recompressed with zopfli, still gzip (about 6% smaller), which npm publish takes as it is.
	if (($(size_of "$tgz") > PKG_MAX)); then
		gunzip -c "$tgz" >"$WORK/npm-$t.tar"
		zopfli -c --i5 "$WORK/npm-$t.tar" >"$tgz"
		rm -f "$WORK/npm-$t.tar"
	fi
	# tests/dist/run.sh holds every package to PKG_MAX.
	(($(size_of "$tgz") <= PKG_MAX)) || log "WARNING: $(basename "$tgz") is $(size_of "$tgz") bytes, over the $PKG_MAX budget"
	# The CLI's package.
	dir=$WORK/npm/cli-$t
	rm -rf "$dir"
	mkdir -p "$dir"
	install -m 0755 "$(cli_slim "$t")" "$dir/"
	install -m 0644 LICENSE "$dir/"
	npm_platform_json "stack-auth-cli-$t" "$VERSION" "$os" "$cpu" "$libc" - "$(basename "$(cli_slim "$t")")" >"$dir/package.json"
	npm_pack "$dir" >/dev/null
}
npm_main() {
	local dir=$WORK/npm/main
	rm -rf "$dir"
	mkdir -p "$dir"
	# shellcheck disable=SC2046 # one word per file of package.json's files list
	(cd bindings/node && tar -h -cf - package.json $(node -p 'require("./package.json").files.join(" ")')) | tar -C "$dir" -xf -
	node -e '
		const fs = require("fs"), f = process.argv[1], p = JSON.parse(fs.readFileSync(f, "utf8"));
		const targets = process.argv.slice(3);
		delete p.devDependencies; delete p.scripts; // nothing runs at install; no compiler
		p.repository = "github:stackauth/stack-auth";
		p.optionalDependencies = {};
		for (const t of targets) p.optionalDependencies[`stack-auth-${t}`] = process.argv[2];
		for (const t of targets) p.optionalDependencies[`stack-auth-cli-${t}`] = process.argv[2];
		fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n");
	' "$dir/package.json" "$VERSION" "${ALL[@]}"
	[[ ! -e $dir/binding.gyp ]] || die "the main npm package must not ship binding.gyp (npm would compile it)"
	npm_pack "$dir" >/dev/null
}

# ---- Python ----------------------------------------------------------------------------------
# One wheel per target from dist.sh's manylinux2014 x86_64 wheel: the same Python files, with the
# target's cffi extension (compiled here with zig cc against the limited API, abi3) and library.
PYVENV=$OUT/dist-work/venv
BASE_WHL=$(ls "$DIST"/stack_auth-"$VERSION"-cp39-abi3-manylinux*_x86_64*.whl 2>/dev/null | head -n1 || true)
[[ -z $BASE_WHL ]] || { cp "$BASE_WHL" "$WORK/base.whl" && BASE_WHL=$WORK/base.whl; }
py_tag() {
	case $1 in
	linux-x64-gnu) echo manylinux_2_17_x86_64.manylinux2014_x86_64 ;;
	linux-arm64-gnu) echo manylinux_2_17_aarch64.manylinux2014_aarch64 ;;
	linux-x64-musl) echo musllinux_1_2_x86_64 ;;
	linux-arm64-musl) echo musllinux_1_2_aarch64 ;;
	darwin-x64) echo macosx_11_0_x86_64 ;;
	darwin-arm64) echo macosx_11_0_arm64 ;;
	win32-x64) echo win_amd64 ;;
	esac
}
py_prepare() { # the generated C source and LP64 Python headers (the limited API: one set serves)
	[[ -n $BASE_WHL ]] || die "no manylinux x86_64 wheel in $DIST: run build/dist/dist.sh first"
	local inc
	inc=$("$PYVENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
	rm -rf "$WORK/pyinc" && cp -rL "$inc" "$WORK/pyinc"
	# Debian's pyconfig.h picks a per-architecture file; every target here is LP64 like this one.
	cp -L "$(dirname "$inc")/$(gcc -print-multiarch)/$(basename "$inc")/pyconfig.h" "$WORK/pyinc/pyconfig.h" 2>/dev/null ||
		cp -L "/usr/include/$(gcc -print-multiarch)/$(basename "$inc")/pyconfig.h" "$WORK/pyinc/pyconfig.h"
	STACK_AUTH_INCLUDE_DIR=$ROOT/include "$PYVENV/bin/python" tests/platforms/emit_python_ext.py "$ROOT/bindings/python" "$WORK/_native.c" >/dev/null
}
py_wheel() { # target
	local t=$1 goos zt lib tag dir
	read -r goos _ zt _ _ _ _ lib < <(info "$t")
	tag=$(py_tag "$t")
	[[ -n $tag ]] || return 0
	dir=$WORK/py/$t
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && "$PYVENV/bin/python" -m zipfile -e "$BASE_WHL" .)
	py_cli_wheel "$t"
	# The console command runs the CLI wheel's binary: a dependency of this platform's wheel
	# (not of the sdist, which builds where no CLI wheel may exist; its command says so).
	grep -qx "Requires-Dist: stack-auth-cli==$VERSION" "$dir"/stack_auth-*.dist-info/METADATA ||
		sed -i "0,/^Requires-Dist: /s//Requires-Dist: stack-auth-cli==$VERSION\n&/" "$dir"/stack_auth-*.dist-info/METADATA
	grep -qx "Requires-Dist: stack-auth-cli==$VERSION" "$dir"/stack_auth-*.dist-info/METADATA || die "$t: the wheel does not require stack-auth-cli"
	if [[ $t == linux-x64-gnu ]]; then # dist.sh's extension and library (auditwheel-checked)
		"$PYVENV/bin/python" -m wheel pack "$dir" -d "$DIST" >"$WORK/py-$t.log" 2>&1 || die "wheel pack for $t failed"
		return 0
	fi
	rm -f "$dir"/stack_auth/_native* "$dir"/stack_auth/libstack_auth*
	if [[ $goos == windows ]]; then
		py_windows_extension "$dir/stack_auth"
	else
		py_unix_extension "$t" "$dir/stack_auth"
	fi
	"$PYVENV/bin/python" - "$dir"/stack_auth-*.dist-info/WHEEL "$tag" <<'PY'
import sys
path, tag = sys.argv[1], sys.argv[2]
lines = [l for l in open(path).read().splitlines() if l and not l.startswith("Tag: ")]
lines += [f"Tag: cp39-abi3-{p}" for p in tag.split(".")]
open(path, "w").write("\n".join(lines) + "\n")
PY
	sed -i '/^stack_auth\/_native\|^stack_auth\/libstack_auth\|^stack_auth\/stack_auth\.dll/d' "$dir"/stack_auth-*.dist-info/RECORD
	"$PYVENV/bin/python" -m wheel pack "$dir" -d "$DIST" >"$WORK/py-$t.log" 2>&1 || {
		cat "$WORK/py-$t.log" >&2
		die "wheel pack for $t failed"
	}
}
py_unix_extension() { # target dest
	local t=$1 goos zt lib
	read -r goos _ zt _ _ _ _ lib < <(info "$t")
	local rpath='-Wl,-rpath,$ORIGIN' extra=()
	[[ $goos == darwin ]] && rpath=-Wl,-rpath,@loader_path extra=(-Wl,-undefined,dynamic_lookup)
	"$ZIG" cc -target "$zt" -shared -fPIC -O2 -I"$WORK/pyinc" -I"$ROOT/include" "$WORK/_native.c" \
		-L"$OUT/targets/$t" -lstack_auth "$rpath" "${extra[@]}" -o "$2/_native.abi3.so"
	install -m 0755 "$OUT/targets/$t/$lib" "$2/"
}
# win_amd64: _native.pyd against the limited API with build/dist/win_pyconfig.h, linked with an
# import library of python3.dll (as node_addon makes node.exe's) and stack_auth.lib; Python
# (3.8+) finds stack_auth.dll beside the .pyd that imports it.
py_windows_extension() { # dest
	local inc=$WORK/pyinc-win lib=$OUT/targets/win32-x64
	rm -rf "$inc" && cp -r "$WORK/pyinc" "$inc" && cp build/dist/win_pyconfig.h "$inc/pyconfig.h"
	"$ZIG" cc -target x86_64-windows-gnu -O2 -Werror -I"$inc" -I"$ROOT/include" -c "$WORK/_native.c" -o "$WORK/_native-win.o"
	! llvm-nm -u "$WORK/_native-win.o" | grep -qE ' _?Py[A-Za-z_]+$' || die "the Windows extension references Python symbols without dllimport"
	{
		echo "LIBRARY python3.dll"
		echo "EXPORTS"
		llvm-nm -u "$WORK/_native-win.o" | awk '$2 ~ /^__imp__?Py/ { n = $2; sub(/^__imp_/, "", n); print "    " n (n ~ /Struct$|_Type$/ ? " DATA" : "") }'
	} >"$WORK/python3.def"
	"$ZIG" dlltool -d "$WORK/python3.def" -l "$WORK/python3.lib" -m i386:x86-64
	# Linked in a folder of its own: the linker also writes an import library (and, unstripped,
	# a .pdb) beside the output.
	rm -rf "$WORK/pyd-win" && mkdir -p "$WORK/pyd-win"
	"$ZIG" cc -target x86_64-windows-gnu -shared -s "$WORK/_native-win.o" "$WORK/python3.lib" "$lib/stack_auth.lib" -o "$WORK/pyd-win/_native.pyd"
	install -m 0755 "$WORK/pyd-win/_native.pyd" "$lib/stack_auth.dll" "$1/"
}
# The stack_auth_cli wheel of a target: the packaged CLI and bindings/python/cli's module.
py_cli_wheel() { # target
	local t=$1 tag dir di p
	tag=$(py_tag "$t")
	dir=$WORK/pycli/$t
	di=$dir/stack_auth_cli-$VERSION.dist-info
	rm -rf "$dir" && mkdir -p "$dir/stack_auth_cli/bin" "$di/licenses"
	install -m 0644 bindings/python/cli/stack_auth_cli/__init__.py "$dir/stack_auth_cli/"
	install -m 0755 "$(cli_slim "$t")" "$dir/stack_auth_cli/bin/"
	install -m 0644 LICENSE "$di/licenses/"
	cat >"$di/METADATA" <<META
Metadata-Version: 2.4
Name: stack_auth_cli
Version: $VERSION
Summary: The stack-auth command (Go binary) for one platform; installed with stack_auth
License-Expression: Apache-2.0
License-File: LICENSE
Requires-Python: >=3.9
META
	{
		echo "Wheel-Version: 1.0"
		echo "Generator: stack-auth build/dist/targets.sh"
		echo "Root-Is-Purelib: false"
		for p in ${tag//./ }; do echo "Tag: py3-none-$p"; done
	} >"$di/WHEEL"
	: >"$di/RECORD"
	"$PYVENV/bin/python" -m wheel pack "$dir" -d "$DIST" >"$WORK/pycli-$t.log" 2>&1 || {
		cat "$WORK/pycli-$t.log" >&2
		die "the CLI wheel for $t failed"
	}
}
py_sdist() {
	local dir=$WORK/sdist
	rm -rf "$dir" && mkdir -p "$dir"
	tar -C bindings/python -h --exclude=./build --exclude=./dist --exclude=./tests --exclude='*.egg-info' --exclude=__pycache__ \
		--exclude='./stack_auth/_native*' --exclude='./stack_auth/libstack_auth*' -cf - . | tar -C "$dir" -xf -
	mkdir -p "$dir/go"
	tar -cf - go.mod go.sum core capi include | tar -C "$dir/go" -xf -
	(cd "$dir" && STACK_AUTH_LIB_DIR=$OUT/lib "$PYVENV/bin/python" setup.py -q sdist -d "$DIST") >"$WORK/sdist.log" 2>&1 || {
		cat "$WORK/sdist.log" >&2
		die "the sdist failed"
	}
}

# ---- Ruby ------------------------------------------------------------------------------------
gem_platform() { # target
	local t=$1 goos plat lib dir
	read -r goos _ _ _ _ _ plat lib < <(info "$t")
	dir=$WORK/gem/$t
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -C bindings/ruby -h --exclude=./test --exclude='*.gem' --exclude='./lib/stack_auth/libstack_auth.so*' \
		--exclude='./lib/stack_auth/cli' --exclude=./cli -cf - . | tar -C "$dir" -xf -
	install -m 0755 "$OUT/targets/$t/$lib" "$dir/lib/stack_auth/"
	install -m 0644 LICENSE "$dir/"
	(cd "$dir" && STACK_AUTH_GEM_PLATFORM=$plat STACK_AUTH_GEM_CLI=$VERSION gem build stack_auth.gemspec --output "$DIST/stack_auth-$VERSION-$plat.gem") \
		>"$WORK/gem-$t.log" 2>&1 || {
		cat "$WORK/gem-$t.log" >&2
		die "gem build for $t failed"
	}
	[[ $(ruby -rrubygems/package -e 'print Gem::Package.new(ARGV[0]).spec.platform' "$DIST/stack_auth-$VERSION-$plat.gem") == "$plat" ]] ||
		die "stack_auth-$VERSION-$plat.gem does not carry the platform $plat"
	# The CLI's gem (bindings/ruby/cli), staged beside a copy of lib/stack_auth/version.rb.
	dir=$WORK/gemcli/$t
	rm -rf "$dir"
	mkdir -p "$dir/cli/libexec" "$dir/lib/stack_auth"
	install -m 0644 bindings/ruby/lib/stack_auth/version.rb "$dir/lib/stack_auth/"
	install -m 0644 bindings/ruby/cli/stack_auth-cli.gemspec LICENSE "$dir/cli/"
	install -m 0755 "$(cli_slim "$t")" "$dir/cli/libexec/"
	(cd "$dir/cli" && STACK_AUTH_GEM_PLATFORM=$plat gem build stack_auth-cli.gemspec --output "$DIST/stack_auth-cli-$VERSION-$plat.gem") \
		>"$WORK/gemcli-$t.log" 2>&1 || {
		cat "$WORK/gemcli-$t.log" >&2
		die "the CLI gem for $t failed"
	}
}

py_prepare
for t in "${TARGETS[@]}"; do
	read -r _ _ _ _ _ _ _ lib < <(info "$t")
	[[ -f $OUT/targets/$t/$lib ]] || bash build/lib.sh "$t"
	log "$t: C archive, CLI, npm packages, gem"
	c_archive "$t"
	cli_archive "$t"
	npm_platform "$t"
	gem_platform "$t"
	py_wheel "$t"
done
log "npm: the main package; Python: the sdist"
npm_main
py_sdist
(cd "$DIST" && sha256sum -- *.tgz *.tar.gz *.gem *.whl *.tar.gz 2>/dev/null | sort -u -k2 >SHA256SUMS)
log "compressed sizes (bytes):"
(cd "$DIST" && ls -l --time-style=+ -- *.tgz *.tar.gz *.gem *.whl 2>/dev/null | awk '{printf "  %10d  %s\n", $5, $NF}')
