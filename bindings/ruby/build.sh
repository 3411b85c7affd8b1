#!/usr/bin/env bash
# make ruby: installs Ruby and the ffi gem (Debian packages) when missing, copies
# libstack_auth.so.1 into the gem (lib/stack_auth/), and builds the gem into
# build/out/ruby/. Idempotent. Run `make lib` first (the Makefile does).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# Debian's ruby, ruby-ffi and ruby-minitest (rubygems.org is not used).
bash "$root/build/setup.sh" ruby

lib=$root/build/out/lib/libstack_auth.so.1
if [[ ! -f $lib ]]; then
	echo "ruby: $lib is missing; run make lib" >&2
	exit 1
fi
install -m 0755 "$lib" "$here/lib/stack_auth/libstack_auth.so.1"
install -m 0644 "$root/LICENSE" "$here/LICENSE" # the gem carries the licence (a copy: gems refuse symlinks)

out=$root/build/out/ruby
mkdir -p "$out"
cd "$here"
gem build stack_auth.gemspec --output "$out/stack_auth.gem" >/dev/null 2>"$out/gem-build.log" || {
	cat "$out/gem-build.log" >&2
	exit 1
}
ver=$(ruby -e 'require "./lib/stack_auth/version"; print StackAuth::VERSION')
plat=$(ruby -e 'print Gem::Platform.local')
mv -f "$out/stack_auth.gem" "$out/stack_auth-$ver-$plat.gem"
echo "ruby: $(ruby -v | cut -d' ' -f1-2), ffi $(ruby -rffi -e 'print FFI::VERSION'); built build/out/ruby/stack_auth-$ver-$plat.gem"
