#!/usr/bin/env bash
# Prints the path of a zig binary, installing the `ziglang` package from PyPI into
# build/out/tools when needed. zig cc cross-links against glibc 2.17, so the library loads
# on every glibc distribution of the last decade (RHEL 7/8, Amazon Linux 2, Ubuntu 20.04).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=build/out/tools
zig=$(ls "$tools"/venv/lib/python3*/site-packages/ziglang/zig 2>/dev/null | head -n1 || true)
if [[ -z $zig ]]; then
	echo "zig: installing ziglang from PyPI into $tools/venv" >&2
	bash build/setup.sh venv >&2
	python3 -m venv "$tools/venv" >&2
	"$tools/venv/bin/pip" install -q --disable-pip-version-check 'ziglang==0.17.1' >&2
	zig=$(ls "$tools"/venv/lib/python3*/site-packages/ziglang/zig | head -n1)
fi
echo "$PWD/$zig"
