#!/usr/bin/env bash
# make python: builds the stack_auth package (cffi API mode, out-of-line, extern "Python"
# callbacks) over build/out/lib/libstack_auth.so.1 and installs it into the virtualenv
# build/out/venv, with libstack_auth.so.1 copied beside the compiled extension ($ORIGIN rpath).
# Idempotent; build/setup.sh python installs what is missing (python3-venv, a C compiler, Python
# headers via apt; cffi, pytest, setuptools, wheel and mypy (the suite type-checks the package)
# via pip into the venv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/out
venv=$out/venv
python=${PYTHON:-python3}

[[ -f $out/lib/libstack_auth.so.1 && -f $out/include/stack_auth.h ]] || (cd "$repo" && bash build/lib.sh)
PYTHON=$python bash "$repo/build/setup.sh" python # a C compiler, python3-venv/-dev; the venv and its tools

# Build against the repository's library and header (stack_auth_build.py and setup.py read these).
export STACK_AUTH_LIB_DIR=$out/lib STACK_AUTH_INCLUDE_DIR=$out/include
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall "$here"

# Smoke test from a neutral directory (so the installed package, not the source tree, loads).
(cd / && "$venv/bin/python" -c 'import stack_auth; print("stack_auth", stack_auth.__version__, "over", stack_auth.build_info())')
