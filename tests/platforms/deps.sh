#!/usr/bin/env bash
# Installs what make test-platforms runs the foreign targets with (Debian 12 packages, and
# a few foreign-architecture ones unpacked under build/out, never installed):
#   qemu-user-static                          linux-arm64 binaries under qemu-aarch64
#   libc6-arm64-cross libstdc++6-arm64-cross  the arm64 glibc (and libstdc++ for Node) qemu loads
#   musl-tools                                musl-gcc and the x86_64 musl loader
#   wine64                                    win32-x64 binaries under Wine
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The arm64 musl loader for qemu (linux-arm64-musl): Debian 13's musl:arm64 (1.2.5, as Alpine
# 3.20+; 12's 1.2.3 lacks statx, which zig's musl programs call), unpacked into
# build/out/musl-arm64-root. apt-get with a private state directory and source list fetches
# it without adding an architecture or a source to this machine's apt.
musl_arm64_root() {
	local root=build/out/musl-arm64-root apt=build/out/musl-arm64-apt
	[[ -e $root/lib/ld-musl-aarch64.so.1 ]] && return
	echo "test-platforms: fetching Debian 13's musl:arm64 into $root" >&2
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$root"
	: >"$apt/status"
	echo "deb http://deb.debian.org/debian trixie main" >"$apt/sources.list"
	local opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$PWD/$apt/lists"
		-o Dir::Cache="$PWD/$apt/cache" -o Dir::State::Status="$PWD/$apt/status"
		-o Dir::Etc::SourceList="$PWD/$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent -qq)
	apt-get "${opts[@]}" update >/dev/null
	(cd "$apt" && apt-get "${opts[@]}" download musl:arm64 2>&1 | grep -v unsandboxed || true)
	dpkg-deb -x "$apt"/musl_*_arm64.deb "$root"
	ln -sfn usr/lib "$root/lib" # Debian 13 is usr-merged; the loader is looked up in /lib
	[[ -e $root/lib/ld-musl-aarch64.so.1 ]] || { echo "deps.sh: no ld-musl-aarch64.so.1 in the musl:arm64 package" >&2; exit 1; }
}

# cJSON's source (the C conformance runner's JSON library) to compile for each target: Debian
# 12's source package, patches applied, fetched with apt-get's private state as above.
cjson_source() {
	local dir=build/out/cjson-src apt=build/out/cjson-apt
	[[ -e $dir/cJSON.c && -e $dir/include/cjson/cJSON.h ]] && return
	echo "test-platforms: fetching Debian 12's cjson source into $dir" >&2
	rm -rf "$dir"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	: >"$apt/status"
	echo "deb-src http://deb.debian.org/debian bookworm main" >"$apt/sources.list"
	local opts=(-o Dir::State::Lists="$PWD/$apt/lists" -o Dir::Cache="$PWD/$apt/cache"
		-o Dir::State::Status="$PWD/$apt/status" -o Dir::Etc::SourceList="$PWD/$apt/sources.list"
		-o Dir::Etc::SourceParts=/nonexistent -qq)
	apt-get "${opts[@]}" update >/dev/null
	(cd "$apt" && rm -rf src && apt-get "${opts[@]}" source --download-only cjson 2>&1 | grep -v unsandboxed || true)
	(cd "$apt" && dpkg-source -x cjson_*.dsc src >/dev/null 2>&1) # apt checked the files against the signed index
	mkdir -p "$dir/include/cjson"
	cp "$apt/src/cJSON.c" "$dir/"
	cp "$apt/src/cJSON.h" "$dir/include/cjson/"
}

# arm64_root NAME CHECK PACKAGE...: Debian 12's arm64 packages, unpacked with the arm64 glibc into
# build/out/NAME-arm64-root (never installed): a root for qemu-aarch64 -L. CHECK is a file
# that exists once done.
arm64_root() {
	local root=build/out/$1-arm64-root apt=build/out/arm64-apt check=$2
	shift 2
	[[ -e $root/$check && -e $root/lib/ld-linux-aarch64.so.1 ]] && return
	echo "test-platforms: fetching Debian 12's arm64 $* into $root" >&2
	rm -rf "$root"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$root/lib"
	: >"$apt/status"
	echo "deb http://deb.debian.org/debian bookworm main" >"$apt/sources.list"
	local opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$PWD/$apt/lists"
		-o Dir::Cache="$PWD/$apt/cache" -o Dir::State::Status="$PWD/$apt/status"
		-o Dir::Etc::SourceList="$PWD/$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent -qq)
	# shellcheck disable=SC2010,SC2143 # apt's list files: plain names
	[[ -n $(ls -A "$apt/lists" 2>/dev/null | grep -v partial) ]] || apt-get "${opts[@]}" update >/dev/null
	local pkg deb
	for pkg in "$@"; do
		deb=$(ls "$apt/debs/${pkg}_"*_{arm64,all}.deb 2>/dev/null | head -n1 || true)
		if [[ -z $deb ]]; then
			(cd "$apt/debs" && apt-get "${opts[@]}" download "$pkg:arm64" 2>&1 | grep -v unsandboxed || true)
			deb=$(ls "$apt/debs/${pkg}_"*_{arm64,all}.deb 2>/dev/null | head -n1 || true)
			[[ -n $deb ]] || { echo "deps.sh: could not download $pkg:arm64" >&2; exit 1; }
		fi
		dpkg-deb -x "$deb" "$root"
	done
	cp -a /usr/aarch64-linux-gnu/lib/. "$root/lib/"
	[[ -e $root/$check ]] || { echo "deps.sh: $root/$check missing" >&2; exit 1; }
}

musl_arm64_root
cjson_source
bash build/setup.sh platforms
# After libc6-arm64-cross, whose glibc they copy.
arm64_root ruby usr/bin/ruby3.1 ruby3.1 libruby3.1 ruby-ffi libffi8 libgmp10 libyaml-0-2 libssl3 zlib1g libcrypt1 \
	rubygems-integration
# Python 3.11 with Debian's cffi (its backend runs the extension; the package generates its C).
arm64_root python usr/bin/python3.11 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-dev \
	python3-cffi-backend python3-cffi python3-pycparser python3-ply python3-distutils python3-lib2to3 libexpat1 zlib1g \
	libffi8 libssl3 libbz2-1.0 liblzma5 libuuid1 libncursesw6 libtinfo6 libreadline8 libsqlite3-0 libdb5.3 libnsl2 \
	libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1 media-types
