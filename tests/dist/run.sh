#!/usr/bin/env bash
# make test-dist: installs every artifact of build/out/dist/ (make dist) into an empty
# temporary place and gets a token from a local emulator with it:
#   npm   npm install <tgz> into a fresh folder, then node
#   pip   pip install <whl> into a fresh venv (the default python3, plus the oldest and newest
#         other CPython >= 3.9 found under pyenv: the wheel is cp39-abi3), then python
#   gem   gem install --local into a fresh GEM_HOME, then ruby
#   C     the tarball unpacked, examples/get_token.c and the README's example built with
#         pkg-config (PKG_CONFIG_PATH into the tarball), then moved elsewhere and rebuilt
# Every run checks that the library mapped into the process is the installed copy. Then the
# ELF checks over every shipped object (each artifact's libstack_auth.so.1, the Node addon, the
# Python extension): highest GLIBC_ symbol version <= 2.17 (and a control object built here
# that must exceed it), NODELETE + SONAME on the library, $ORIGIN rpath and system-only
# dependencies on the addon and the extension, the four library copies identical, and
# auditwheel's verdict on the wheel.
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/out
DIST=$OUT/dist
BIN=$OUT/bin/stack-auth
GLIBC_MAX=2.17
START=$(date +%s)

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $1"
}
# check NAME CMD...: one line per check; the command's output only on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
		grep -E 'token: subject' <<<"$out" | sed 's/^ */    /'
	else
		bad "$name"
		printf '%s\n' "$out" | sed 's/^/    /' | tail -n 40
	fi
}
die() {
	echo "test-dist: $*" >&2
	exit 1
}

# ---- prerequisites ------------------------------------------------------------------------
for c in node npm ruby gem python3 cc c++ nm pkg-config objdump readelf timeout; do
	command -v "$c" >/dev/null || die "$c is missing (make dist installs the toolchain)"
done
[[ -x $BIN ]] || die "$BIN is missing: run make cli"
VERSION=$(sed -n 's/^#define SA_VERSION_STRING "\(.*\)"/\1/p' include/stack_auth.h)
NPM_TGZ=$DIST/stack-auth-$VERSION.tgz
C_NAME=stack-auth-c-$VERSION-linux-x86_64
C_TGZ=$DIST/$C_NAME.tar.gz
GEM_FILE=$(ls "$DIST"/stack_auth-"$VERSION"-x86_64-linux*.gem 2>/dev/null | head -n1)
WHL=$(ls "$DIST"/stack_auth-"$VERSION"-cp39-abi3-*manylinux2014_x86_64*.whl 2>/dev/null | head -n1)
for f in "$NPM_TGZ" "$C_TGZ" "$GEM_FILE" "$WHL"; do
	[[ -n $f && -f $f ]] || die "an artifact is missing (${f:-stack_auth gem/wheel}): run make dist"
done
AUDITWHEEL=$OUT/dist-work/venv/bin/auditwheel
[[ -x $AUDITWHEEL ]] || die "$AUDITWHEEL is missing: run make dist"

# ---- the emulator -------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/stack-auth-dist.XXXXXX)
EMU_PID=
cleanup() {
	if [[ -n $EMU_PID ]]; then
		kill "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

"$BIN" serve --addr 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.log" &
EMU_PID=$!
for _ in $(seq 200); do
	[[ -s $WORK/serve.out ]] && break
	kill -0 "$EMU_PID" 2>/dev/null || break
	sleep 0.05
done
READY=$(head -n1 "$WORK/serve.out")
[[ -n $READY ]] || {
	cat "$WORK/serve.log" >&2
	die "the emulator did not start"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$READY" "$1"; }
URL=$(field url)
CRN=$(field workspaceCrn)
KEY=$(field accessKey)
WSID=${CRN##*:}
echo "emulator at $URL, workspace $WSID; artifacts of stack-auth $VERSION"

# The credentials reach each program through the environment (AutoStrategy), as in production;
# nothing else of this shell's environment that could point at the repository is kept.
run_app() { # run_app DIR CMD...: runs CMD in DIR, 120 s at most, with only the CS_* it needs
	local dir=$1
	shift
	(cd "$dir" && env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONPATH -u RUBYLIB -u NODE_PATH -u GEM_HOME -u GEM_PATH \
		-u CS_TOKEN_STORE -u CS_CONFIG_PATH HOME="$WORK/home" \
		CS_CLIENT_ACCESS_KEY="$KEY" CS_WORKSPACE_CRN="$CRN" CS_CTS_HOST="$URL" "${ENV_EXTRA[@]}" \
		timeout -k 5 120 "$@")
}
ENV_EXTRA=()
mkdir -p "$WORK/home"

# expect_token LABEL OUTPUT INSTALL_DIR: the program printed
#   "<Lang> token: subject CS|..., workspace <WSID>" and "lib <path>" with <path> in INSTALL_DIR.
expect_token() {
	local label=$1 out=$2 dir=$3 lib
	grep -qE "token: subject CS\|[^ ,]+, workspace $WSID\$" <<<"$out" || {
		echo "no token line for workspace $WSID in:"
		printf '%s\n' "$out"
		return 1
	}
	! grep -qF -- "$KEY" <<<"$out" || {
		echo "$label printed the access key"
		return 1
	}
	lib=$(sed -n 's/^lib //p' <<<"$out" | head -n1)
	[[ $lib == "$dir"/*libstack_auth.so.1 ]] || {
		echo "libstack_auth.so.1 was loaded from '${lib:-<not mapped>}', not from $dir"
		return 1
	}
}

# ---- C ------------------------------------------------------------------------------------
test_c() {
	local base=$WORK/c/a root out cflags libs
	mkdir -p "$base"
	tar -C "$base" -xzf "$C_TGZ" || return 1
	root=$base/$C_NAME
	export PKG_CONFIG_PATH=$root/lib/pkgconfig
	[[ $(pkg-config --modversion stack_auth) == "$VERSION" ]] || {
		echo "pkg-config --modversion: $(pkg-config --modversion stack_auth 2>&1)"
		return 1
	}
	cflags=$(pkg-config --cflags stack_auth) && libs=$(pkg-config --libs stack_auth) || return 1
	# shellcheck disable=SC2086
	cc -std=c99 -Wall -Wextra -Werror -o "$WORK/c/get_token" "$root/examples/get_token.c" $cflags $libs || return 1
	out=$(run_app "$WORK" "$WORK/c/get_token") || {
		echo "get_token failed: $out"
		return 1
	}
	# Where the dynamic loader finds the library for this program (its rpath, from pkg-config).
	out+=$'\n'"lib $(env -u LD_LIBRARY_PATH LD_TRACE_LOADED_OBJECTS=1 "$WORK/c/get_token" | sed -n 's/.*libstack_auth\.so\.1 => \([^ ]*\) .*/\1/p')"
	echo "$out" | grep token
	expect_token C "$out" "$root"
}
test_c_readme_example() {
	local root=$WORK/c/a/$C_NAME
	export PKG_CONFIG_PATH=$root/lib/pkgconfig
	sed -n '/^```c$/,/^```$/p' "$root/README.md" | sed '1d;$d' >"$WORK/c/readme.c"
	grep -q 'int main' "$WORK/c/readme.c" || {
		echo "the README has no complete C example"
		return 1
	}
	# shellcheck disable=SC2046
	cc -std=c99 -Wall -Wextra -Werror -o "$WORK/c/readme" "$WORK/c/readme.c" $(pkg-config --cflags --libs stack_auth) &&
		run_app "$WORK" "$WORK/c/readme"
}
# The tarball is relocatable: moved elsewhere, pkg-config follows it (prefix=${pcfiledir}/../..)
# and a program rebuilt there loads the library from the new place. (No space in the new path:
# pkg-config output is not meant for paths with spaces.)
test_c_relocated() {
	mv "$WORK/c/a" "$WORK/c/moved" || return 1
	local root=$WORK/c/moved/$C_NAME libdir out
	grep -qx 'prefix=${pcfiledir}/../..' "$root/lib/pkgconfig/stack_auth.pc" || {
		echo "stack_auth.pc's prefix is not \${pcfiledir}/../..:"
		head -n1 "$root/lib/pkgconfig/stack_auth.pc"
		return 1
	}
	export PKG_CONFIG_PATH=$root/lib/pkgconfig
	libdir=$(pkg-config --variable=libdir stack_auth)
	[[ $(cd "$libdir" 2>/dev/null && pwd -P) == "$(cd "$root/lib" && pwd -P)" ]] || {
		echo "libdir $libdir is not $root/lib"
		return 1
	}
	[[ $(readlink "$root/lib/libstack_auth.so") == libstack_auth.so.1 ]] || {
		echo "lib/libstack_auth.so is not a symlink to libstack_auth.so.1"
		return 1
	}
	# shellcheck disable=SC2046
	cc -std=c99 -Wall -Werror -o "$WORK/c/get_token2" "$root/examples/get_token.c" $(pkg-config --cflags --libs stack_auth) || return 1
	out=$(run_app "$WORK" "$WORK/c/get_token2") || {
		echo "get_token failed: $out"
		return 1
	}
	out+=$'\n'"lib $(env -u LD_LIBRARY_PATH LD_TRACE_LOADED_OBJECTS=1 "$WORK/c/get_token2" | sed -n 's/.*libstack_auth\.so\.1 => \([^ ]*\) .*/\1/p')"
	echo "$out" | grep token
	expect_token C "$out" "$root" || return 1
	# For the load-time check below: a program that only loads the library.
	printf '#include <stdio.h>\n#include "stack_auth.h"\nint main(void) { puts(sa_build_info()); return 0; }\n' >"$WORK/c/version.c"
	# shellcheck disable=SC2046
	cc -o "$WORK/c/load-only" "$WORK/c/version.c" $(pkg-config --cflags --libs stack_auth)
}

# ---- npm ----------------------------------------------------------------------------------
test_npm() {
	local dir=$WORK/npm out
	mkdir -p "$dir"
	# --offline: the package has no dependencies, so nothing may be fetched.
	(cd "$dir" && timeout -k 5 120 npm install --offline --no-audit --no-fund --loglevel=error "$NPM_TGZ") >"$WORK/npm-install.log" 2>&1 || {
		cat "$WORK/npm-install.log"
		return 1
	}
	out=$(run_app "$dir" node -e '
		const sa = require("stack-auth");
		const fs = require("fs");
		const where = require.resolve("stack-auth");
		if (!where.startsWith(process.cwd() + "/node_modules/")) throw new Error("stack-auth resolved to " + where);
		const r = sa.AutoStrategy.detect();
		if (r.failure) throw r.failure.error;
		r.data.getToken().then((t) => {
			if (t.failure) throw t.failure.error;
			console.log(`  Node token: subject ${t.data.subject}, workspace ${t.data.workspaceId}`);
			const m = fs.readFileSync("/proc/self/maps", "utf8").split("\n").find((l) => l.endsWith("/libstack_auth.so.1"));
			console.log("lib " + (m ? m.slice(m.indexOf("/")) : ""));
			r.data.close();
		});
	') || {
		echo "node failed: $out"
		return 1
	}
	echo "$out" | grep token
	expect_token Node "$out" "$dir/node_modules/stack-auth" || return 1
	# Installed as shipped: npm did not rebuild the addon.
	mkdir -p "$WORK/npm-x" && tar -C "$WORK/npm-x" -xzf "$NPM_TGZ" &&
		cmp "$WORK/npm-x/package/build/Release/stack_auth.node" "$dir/node_modules/stack-auth/build/Release/stack_auth.node"
}

# ---- pip ----------------------------------------------------------------------------------
# The interpreters: python3, plus the oldest and the newest other CPython >= 3.9 under pyenv.
pythons() {
	local default found=() v
	default=$(python3 -c 'import sys; print(sys.executable)')
	echo "$default"
	local root
	root=$(pyenv root 2>/dev/null) || return 0
	for v in $(ls "$root/versions" 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -V); do
		[[ $(printf '%s\n3.9\n' "$v" | sort -V | head -n1) == 3.9 ]] || continue
		[[ -x $root/versions/$v/bin/python3 ]] || continue
		[[ $("$root/versions/$v/bin/python3" -c 'import sys; print(sys.executable)') == "$default" ]] && continue
		found+=("$root/versions/$v/bin/python3")
	done
	((${#found[@]})) || return 0
	echo "${found[0]}"
	((${#found[@]} > 1)) && echo "${found[-1]}"
	return 0
}
test_pip() {
	local py=$1 venv out site
	venv=$WORK/py-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	"$py" -m venv "$venv" || return 1
	timeout -k 5 180 "$venv/bin/python" -m pip install -q --disable-pip-version-check "$WHL" >"$venv.log" 2>&1 || {
		cat "$venv.log"
		return 1
	}
	site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	out=$(run_app "$WORK" "$venv/bin/python" -I -c '
import stack_auth, sys
assert stack_auth.__file__.startswith(sys.prefix + "/"), stack_auth.__file__
with stack_auth.AutoStrategy.detect() as s:
    t = s.get_token(timeout=10)
    print(f"  Python {sys.version_info[0]}.{sys.version_info[1]} token: subject {t.subject}, workspace {t.workspace_id}")
maps = [l.split()[-1] for l in open("/proc/self/maps") if l.rstrip().endswith("/libstack_auth.so.1")]
print("lib " + (maps[0] if maps else ""))
') || {
		echo "python failed: $out"
		return 1
	}
	echo "$out" | grep token
	expect_token Python "$out" "$site/stack_auth"
}

# ---- gem ----------------------------------------------------------------------------------
test_gem() {
	local home=$WORK/gems ffi_path out
	# The ffi gem comes from Debian (ruby-ffi; rubygems.org is not reachable): its spec folder
	# joins GEM_PATH so the dependency resolves. (`--install-dir` would resolve dependencies
	# inside that folder only; GEM_HOME is the same destination with GEM_PATH honoured.)
	ffi_path=$(ruby -e 'print File.dirname(File.dirname(Gem::Specification.find_by_name("ffi").loaded_from))') || {
		echo "the ffi gem is not installed (apt-get install ruby-ffi)"
		return 1
	}
	mkdir -p "$home"
	GEM_HOME=$home GEM_PATH=$home:$ffi_path timeout -k 5 120 gem install --local --no-document "$GEM_FILE" >"$WORK/gem-install.log" 2>&1 || {
		cat "$WORK/gem-install.log"
		return 1
	}
	ENV_EXTRA=(GEM_HOME="$home" GEM_PATH="$home:$ffi_path")
	out=$(run_app "$WORK" ruby -e '
require "stack_auth"
spec = Gem.loaded_specs.fetch("stack_auth")
abort "stack_auth loaded from #{spec.full_gem_path}" unless spec.full_gem_path.start_with?(ENV["GEM_HOME"] + "/")
StackAuth::AutoStrategy.detect do |s|
  t = s.get_token(timeout: 10)
  puts "  Ruby token: subject #{t.subject}, workspace #{t.workspace_id}"
end
lib = File.readlines("/proc/self/maps").map { |l| l.split.last }.find { |p| p.to_s.end_with?("/libstack_auth.so.1") }
puts "lib #{lib}"
')
	local rc=$?
	ENV_EXTRA=()
	((rc == 0)) || {
		echo "ruby failed: $out"
		return 1
	}
	echo "$out" | grep token
	expect_token Ruby "$out" "$(ls -d "$home/gems/stack_auth-$VERSION-"*)"
}

echo "== install and get a token"
check "C: tarball + pkg-config, examples/get_token.c gets a token" test_c
check "C: the README's example builds with -Wall -Wextra -Werror and runs" test_c_readme_example
check "C: the tarball is relocatable (moved, rebuilt with pkg-config, loads from there)" test_c_relocated
check "npm: npm install $(basename "$NPM_TGZ") into an empty folder, node gets a token" test_npm
while read -r py; do
	v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	check "pip: pip install the wheel into a fresh Python $v venv, python gets a token" test_pip "$py"
done < <(pythons)
check "gem: gem install --local $(basename "$GEM_FILE") into an empty GEM_HOME, ruby gets a token" test_gem

# ---- ELF checks over the shipped objects ---------------------------------------------------
echo "== shipped objects"
X=$WORK/x
mkdir -p "$X/npm" "$X/whl" "$X/c" "$X/gem"
tar -C "$X/npm" -xzf "$NPM_TGZ"
python3 -m zipfile -e "$WHL" "$X/whl"
tar -C "$X/c" -xzf "$C_TGZ"
(cd "$X/gem" && tar -xf "$GEM_FILE" data.tar.gz && tar -xzf data.tar.gz)
LIBS=("$X/c/$C_NAME/lib/libstack_auth.so.1" "$X/npm/package/build/Release/libstack_auth.so.1"
	"$X/whl/stack_auth/libstack_auth.so.1" "$X/gem/lib/stack_auth/libstack_auth.so.1")
ADDON=$X/npm/package/build/Release/stack_auth.node
PYEXT=$X/whl/stack_auth/_native.abi3.so

glibc_max() { objdump -T "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/^GLIBC_//' | sort -Vu | tail -n1; }
version_le() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1) == "$1" ]]; }
# glibc_ok FILE: FILE exists, needs glibc symbols, none newer than GLIBC_MAX.
glibc_ok() {
	[[ -f $1 ]] || {
		echo "missing: $1"
		return 1
	}
	local v
	v=$(glibc_max "$1")
	[[ -n $v ]] || {
		echo "no GLIBC_ versions in $1"
		return 1
	}
	echo "GLIBC_$v"
	version_le "$v" "$GLIBC_MAX" || {
		echo "$1 needs GLIBC_$v > $GLIBC_MAX"
		return 1
	}
}
rel() { echo "${1#"$X"/}"; }
GLIBC_FOUND=()
for f in "${LIBS[@]}" "$ADDON" "$PYEXT"; do
	out=$(glibc_ok "$f" 2>&1)
	rc=$?
	GLIBC_FOUND+=("$(rel "$f"): $(head -n1 <<<"$out")")
	if ((rc == 0)); then ok "glibc: $(rel "$f") needs at most GLIBC_$GLIBC_MAX ($(head -n1 <<<"$out"))"; else
		bad "glibc: $(rel "$f")"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
done
# Control: the check sees a newer glibc. A host build here (glibc 2.36) of a program calling
# pthread_create records GLIBC_2.34; the check must reject it.
control_fails_check() {
	local host
	host=$(ldd --version | head -n1 | grep -oE '[0-9]+\.[0-9]+$')
	printf '#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint main(void) { pthread_t t; return pthread_create(&t, 0, f, 0); }\n' >"$WORK/control.c"
	cc -pthread -o "$WORK/control" "$WORK/control.c" || return 1
	if version_le "$host" "$GLIBC_MAX"; then
		echo "host glibc $host <= $GLIBC_MAX: no newer control object can be built here"
		return 1
	fi
	if glibc_ok "$WORK/control" >/dev/null; then
		echo "glibc check accepted a host object needing GLIBC_$(glibc_max "$WORK/control")"
		return 1
	fi
}
check "glibc: control: a host-built object needing GLIBC_2.34 is rejected by the same check" control_fails_check

lib_flags_ok() {
	local d
	d=$(readelf -d "$1") || return 1
	grep -q 'Flags:.*NODELETE' <<<"$d" || {
		echo "$1: no NODELETE in FLAGS_1"
		return 1
	}
	grep -q 'Library soname: \[libstack_auth.so.1\]' <<<"$d" || {
		echo "$1: SONAME is not libstack_auth.so.1"
		return 1
	}
}
for f in "${LIBS[@]}"; do
	check "readelf: $(rel "$f") is NODELETE with SONAME libstack_auth.so.1" lib_flags_ok "$f"
done
identical() {
	local f
	for f in "${LIBS[@]:1}"; do cmp "${LIBS[0]}" "$f" || return 1; done
}
check "the four artifacts carry the same libstack_auth.so.1" identical
# An addon/extension links libstack_auth.so.1 through $ORIGIN and needs only the C library
# (no libstdc++: the addon's libc++ is static and hidden).
consumer_ok() {
	local d needed extra
	d=$(readelf -d "$1") || return 1
	grep -Eq '\((RUNPATH|RPATH)\) +Library r(un)?path: \[\$ORIGIN\]$' <<<"$d" || {
		echo "$1: rpath is not \$ORIGIN"
		grep -E 'R(UN)?PATH' <<<"$d"
		return 1
	}
	needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$d")
	grep -qx 'libstack_auth.so.1' <<<"$needed" || {
		echo "$1 does not link libstack_auth.so.1"
		return 1
	}
	extra=$(grep -vxE 'libstack_auth\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux-x86-64\.so\.2' <<<"$needed")
	[[ -z $extra ]] || {
		echo "$1 needs libraries outside glibc: $extra"
		return 1
	}
	! objdump -T "$1" | grep -qE 'GLIBCXX_|CXXABI_' || {
		echo "$1 needs libstdc++ symbol versions"
		return 1
	}
}
check "readelf: the Node addon links libstack_auth.so.1 via \$ORIGIN, needs only glibc" consumer_ok "$ADDON"
check "readelf: the Python extension links libstack_auth.so.1 via \$ORIGIN, needs only glibc" consumer_ok "$PYEXT"
addon_exports_ok() {
	local syms
	syms=$(objdump -T "$ADDON" | awk '$2 == "g" || $2 == "w" { print $NF }' | grep -v '^$' | sort)
	[[ $syms == $'napi_register_module_v1\nnode_api_module_get_api_version_v1' || $syms == napi_register_module_v1 ]] || {
		echo "the addon exports more than its N-API entry points:"
		echo "$syms" | head -n 20
		return 1
	}
}
check "objdump: the Node addon exports only its N-API entry points" addon_exports_ok
auditwheel_ok() {
	local out
	out=$("$AUDITWHEEL" show "$WHL" 2>&1) || {
		echo "$out"
		return 1
	}
	tr '\n' ' ' <<<"$out" | grep -qE 'consistent with the +following platform tag: +"manylinux_2_17_x86_64"' || {
		echo "$out"
		return 1
	}
}
check "auditwheel show: the wheel is manylinux_2_17 (manylinux2014) as shipped" auditwheel_ok

# P22: the shipped header is the repository's, compiles as C and C++ with warnings as errors,
# and declares exactly the functions the shipped library exports.
header_ok() {
	local root=$WORK/c/moved/$C_NAME hdr declared exported
	hdr=$root/include/stack_auth.h
	cmp "$hdr" include/stack_auth.h || return 1
	printf '#include "stack_auth.h"\nint main(void) { return (int)sa_abi_version() - SA_ABI_VERSION; }\n' >"$WORK/hdr.c"
	cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/include" -fsyntax-only "$WORK/hdr.c" || return 1
	c++ -std=c++11 -Wall -Wextra -Werror -I"$root/include" -fsyntax-only -x c++ "$WORK/hdr.c" || return 1
	declared=$(grep -oE '^SA_API [^(]*\bsa_[a-z0-9_]+\(' "$hdr" | grep -oE 'sa_[a-z0-9_]+\($' | tr -d '(' | sort -u)
	exported=$(nm -D --defined-only "$root/lib/libstack_auth.so.1" | awk '{ print $NF }' | sort -u)
	[[ -n $declared && $declared == "$exported" ]] || {
		echo "header and exports differ (< header, > library):"
		diff <(echo "$declared") <(echo "$exported")
		return 1
	}
}
check "header: shipped stack_auth.h compiles as C and C++ and matches the library's exports" header_ok

# P24: loading each installed package and its library (a version call, no strategy) opens no
# network socket and reads nothing under HOME.
no_work_at_load() {
	local name=$1 trace=$WORK/strace-$1.txt bad_lines
	shift
	rm -f "$trace"
	run_app "$WORK" strace -f -qq -o "$trace" -e trace=socket,connect,openat "$@" >/dev/null || {
		echo "$name: the load command failed"
		return 1
	}
	bad_lines=$(grep -E 'socket\(AF_INET6?,|connect\(.*AF_INET|openat\(.*"'"$WORK"'/home' "$trace")
	[[ -z $bad_lines ]] || {
		echo "$name does work at load time:"
		echo "$bad_lines" | head -n 10
		return 1
	}
	grep -q 'libstack_auth\.so\.1' "$trace" || {
		echo "$name: libstack_auth.so.1 was not loaded (trace has no openat of it)"
		return 1
	}
}
if command -v strace >/dev/null; then
	check "load: C program calling sa_build_info() opens no socket, reads nothing in HOME" \
		no_work_at_load C "$WORK/c/load-only"
	check "load: require('stack-auth') + libraryInfo() opens no socket, reads nothing in HOME" \
		no_work_at_load node node -e 'process.chdir(process.argv[1]); console.log(require(process.argv[1] + "/node_modules/stack-auth").libraryInfo().build)' "$WORK/npm"
	check "load: import stack_auth + build_info() opens no socket, reads nothing in HOME" \
		no_work_at_load python "$WORK/py-$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')/bin/python" -I -c 'import stack_auth; print(stack_auth.build_info())'
	ENV_EXTRA=(GEM_HOME="$WORK/gems" GEM_PATH="$WORK/gems:$(ruby -e 'print File.dirname(File.dirname(Gem::Specification.find_by_name("ffi").loaded_from))')")
	check "load: require 'stack_auth' + build_info opens no socket, reads nothing in HOME" \
		no_work_at_load ruby ruby -e 'require "stack_auth"; puts StackAuth.build_info'
	ENV_EXTRA=()
else
	bad "load: strace is missing (apt-get install strace)"
fi

echo "== GLIBC versions found"
printf '  %s\n' "${GLIBC_FOUND[@]}"
echo "$passed passed, $failed failed ($(($(date +%s) - START)) s)"
((failed == 0))
