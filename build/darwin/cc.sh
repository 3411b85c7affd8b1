#!/usr/bin/env bash
# cgo's C compiler for the darwin builds (build/lib.sh sets CC to this): `zig cc`, except
# that on the final link of the dylib every object's external symbols other than the
# header's sa_* functions are first made private extern (build/darwin/machohide), since
# zig's Mach-O linker ignores -exported_symbols_list.
# Environment (set by build/lib.sh): SA_ZIG, SA_MACHOHIDE, SA_DARWIN_EXPORTS.
set -euo pipefail
for a in "$@"; do
	if [[ $a == -dynamiclib || $a == -shared ]]; then
		objs=()
		for o in "$@"; do [[ $o == *.o && -f $o ]] && objs+=("$o"); done
		((${#objs[@]} == 0)) || "$SA_MACHOHIDE" -keep "$SA_DARWIN_EXPORTS" "${objs[@]}"
		break
	fi
done
exec "$SA_ZIG" cc "$@"
