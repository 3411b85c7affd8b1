#!/usr/bin/env bash
# Installs what the builds and test suites need and a fresh machine of this kind may lack: the
# one place that installs tools (the other scripts call it with the group they need).
# Idempotent and quiet when everything is present.
#
#   bash build/setup.sh                 make deps: Go modules, chromium, Redis (make test)
#   bash build/setup.sh GROUP...        one or more of the groups below
#
# Groups: c (the C suites), valgrind, rust, node (+ its npm dev dependencies), python (+ the
# virtualenv build/out/venv with cffi, pytest, mypy), ruby (+ ffi, minitest), dist (packaging),
# bench, asan (libasan for the Node ASan build), venv (python3 -m venv), platforms (qemu, cross
# libcs, Wine), lint (make lint: shellcheck, rubocop, ruff, biome, staticcheck), conformance
# (its orchestrator) and conformance-c (its C testee).
# Debian packages come from apt-get (as root); the lint tools that Debian lacks or ships too old
# are pinned below and installed under build/out/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=build/out/tools

RUFF_VERSION=0.15.0           # PyPI, into $TOOLS/lint-venv
BIOME_VERSION=2.3.10          # npm @biomejs/biome, into $TOOLS/lint-node
STATICCHECK_VERSION=v0.8.2    # Go module proxy, into $TOOLS/bin

need_apt=()
# need CHECK:PACKAGE...: PACKAGE is missing when CHECK (a command, or an absolute path) is absent.
need() {
	local pair check
	for pair in "$@"; do
		check=${pair%%:*}
		if [[ $check == /* ]]; then [[ -e $check ]] && continue; else command -v "$check" >/dev/null 2>&1 && continue; fi
		need_apt+=("${pair#*:}")
	done
}
python_dev() {
	local py=${PYTHON:-python3}
	"$py" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
	"$py" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null ||
		need_apt+=(python3-dev)
}
ruby_ffi() { command -v ruby >/dev/null 2>&1 && ruby -e 'require "ffi"; require "minitest"' >/dev/null 2>&1 || need_apt+=(ruby ruby-ffi ruby-minitest); }

group() {
	case $1 in
	test)
		need chromium:chromium             # device page test (emulator)
		need redis-server:redis-server     # fleet tests (tests/fleet), tests/c
		need redis-cli:redis-tools         # tests/c/lib.sh (start_redis)
		;;
	c) need gcc:gcc g++:g++ nm:binutils readelf:binutils strip:binutils timeout:coreutils pkg-config:pkgconf \
		redis-server:redis-server redis-cli:redis-tools python3:python3 ;;
	valgrind) need valgrind:valgrind ;;
	rust) need cargo:cargo gcc:gcc pkg-config:pkgconf ;;
	node)
		local nodedir=${NODEDIR:-/usr}
		need node:nodejs npm:npm g++:g++ make:make python3:python3 readelf:binutils
		[[ $nodedir != /usr ]] || need /usr/include/node/node_api.h:libnode-dev
		;;
	python)
		need cc:gcc /usr/include/stdio.h:libc6-dev
		python_dev
		;;
	ruby) ruby_ffi ;;
	dist)
		need objdump:binutils readelf:binutils make:make cc:gcc c++:g++ strace:strace node:nodejs npm:npm ruby:ruby gem:ruby \
			pkg-config:pkgconf tar:tar gzip:gzip zopfli:zopfli sha256sum:coreutils /usr/include/node/node_api.h:libnode-dev \
			llvm-nm:llvm llvm-objdump:llvm
		python_dev
		ruby_ffi
		;;
	bench | conformance) need python3:python3 ;;
	conformance-c) need gcc:gcc /usr/include/stdio.h:libc6-dev /usr/include/cjson/cJSON.h:libcjson-dev ;;
	asan) [[ $(g++ -print-file-name=libasan.so 2>/dev/null) == /* ]] || need_apt+=(libasan8) ;;
	venv) python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv) ;;
	platforms)
		need qemu-aarch64-static:qemu-user-static musl-gcc:musl-tools llvm-nm:llvm llvm-objdump:llvm \
			/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1:libc6-arm64-cross \
			/usr/aarch64-linux-gnu/lib/libstdc++.so.6:libstdc++6-arm64-cross \
			/usr/lib/wine/wine64:wine64 # Debian installs Wine's loader here
		;;
	lint)
		need shellcheck:shellcheck rubocop:rubocop gcc:gcc node:nodejs npm:npm
		python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
		;;
	*)
		echo "setup: unknown group '$1'" >&2
		exit 2
		;;
	esac
}

# The Python binding's build and test tools, in the virtualenv its build installs into.
python_venv() {
	local py=${PYTHON:-python3} venv=build/out/venv
	[[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
	"$venv/bin/python" -c 'import cffi, pytest, setuptools, wheel, mypy; assert int(setuptools.__version__.split(".")[0]) >= 77' 2>/dev/null ||
		"$venv/bin/python" -m pip install -q --disable-pip-version-check 'cffi>=1.17' 'pytest>=8' 'setuptools>=77' wheel mypy
}
# The Node binding's dev tools (node-gyp, typescript), pinned by its package-lock.json; no scripts.
node_modules() {
	local stamp=bindings/node/node_modules/.stack-auth-installed
	[[ -e $stamp && ! bindings/node/package-lock.json -nt $stamp && ! bindings/node/package.json -nt $stamp ]] && return
	(cd bindings/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	touch "$stamp"
}

# The lint tools outside Debian, pinned (after apt: they need python3-venv, npm and go).
lint_tools() {
	if [[ $("$TOOLS/lint-venv/bin/ruff" --version 2>/dev/null) != "ruff $RUFF_VERSION" ]]; then
		echo "setup: installing ruff $RUFF_VERSION (PyPI)" >&2
		python3 -m venv "$TOOLS/lint-venv" >&2
		"$TOOLS/lint-venv/bin/pip" install -q --disable-pip-version-check "ruff==$RUFF_VERSION" >&2
	fi
	if [[ $("$TOOLS/lint-node/node_modules/.bin/biome" --version 2>/dev/null) != "Version: $BIOME_VERSION" ]]; then
		echo "setup: installing biome $BIOME_VERSION (npm)" >&2
		mkdir -p "$TOOLS/lint-node"
		(cd "$TOOLS/lint-node" && npm install --no-save --no-audit --no-fund --loglevel=error "@biomejs/biome@$BIOME_VERSION" >&2)
	fi
	if [[ $("$TOOLS/bin/staticcheck" -version 2>/dev/null) != *"(${STATICCHECK_VERSION#v})"* ]]; then
		echo "setup: installing staticcheck $STATICCHECK_VERSION (Go module proxy)" >&2
		GOBIN=$PWD/$TOOLS/bin go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	fi
}

groups=("$@")
((${#groups[@]})) || groups=(test)
for g in "${groups[@]}"; do group "$g"; done

if ((${#need_apt[@]})); then
	mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | sort -u)
	if [[ $(id -u) -ne 0 ]]; then
		echo "setup: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
		exit 1
	fi
	echo "setup: installing ${need_apt[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

for g in "${groups[@]}"; do
	case $g in
	test) go mod download ;;
	python) python_venv ;;
	node) node_modules ;;
	lint) lint_tools ;;
	esac
done
