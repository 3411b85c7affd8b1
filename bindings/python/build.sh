#!/usr/bin/env bash
# make python: builds the stack_auth package (cffi API mode, out-of-line, extern "Python"
# callbacks) over build/out/lib/libstack_auth.so.1 and installs it into the virtualenv
# build/out/venv, with libstack_auth.so.1 copied beside the compiled extension ($ORIGIN rpath).
# Idempotent; installs what is missing (python3-venv, a C compiler, Python headers via apt;
# cffi, pytest, setuptools, wheel and mypy (the suite type-checks the package) via pip into the venv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/out
venv=$out/venv
python=${PYTHON:-python3}

apt_install() {
	echo "build.sh: installing $* with apt-get" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[[ -f $out/lib/libstack_auth.so.1 && -f $out/include/stack_auth.h ]] || (cd "$repo" && bash build/lib.sh)
command -v cc >/dev/null || apt_install gcc libc6-dev
"$python" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
"$python" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
	apt_install python3-dev

[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
if ! "$venv/bin/python" -c 'import cffi, pytest, setuptools, wheel, mypy; assert int(setuptools.__version__.split(".")[0]) >= 77' 2>/dev/null; then
	"$venv/bin/python" -m pip install -q --disable-pip-version-check 'cffi>=1.17' 'pytest>=8' 'setuptools>=77' wheel mypy
fi

# Build against the repository's library and header (stack_auth_build.py and setup.py read these).
export STACK_AUTH_LIB_DIR=$out/lib STACK_AUTH_INCLUDE_DIR=$out/include
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall "$here"

# Smoke test from a neutral directory (so the installed package, not the source tree, loads).
(cd / && "$venv/bin/python" -c 'import stack_auth; print("stack_auth", stack_auth.__version__, "over", stack_auth.build_info())')
