#!/usr/bin/env bash
# tests/c/valgrind_supp.sh OUT: writes the valgrind suppressions for `tests/c/run.sh --memory`.
#
# Valgrind does not understand goroutine stacks: Go switches and copies them, and memcheck takes
# a switch for a frame being pushed or popped, so it marks live Go memory uninitialised or
# unaddressable and reports nearly every access Go makes to it. The entries suppress errors whose
# innermost frame is Go code, and nothing else:
#   - *.*                 every Go symbol is package-qualified ("runtime.x", "main.sago_x",
#                         "github.com/...core.(*Engine).run"); C symbols have no dot because
#                         run.sh builds the valgrind copy of the library and the harness with -O0
#                         (no .part/.isra clones).
#   - _cgoexp_*           cgo's generated Go wrappers of the exports.
#   - _cgo_*_Cfunc_*      cgo's generated C stubs of Go-to-C calls: they read their arguments from
#                         (and write results to) the calling goroutine's stack.
#   - Go assembly routines without a package prefix (indexbytebody, indexbody, memeqbody, cmpbody,
#     countbody, aeshashbody: they read whole 16-byte words past a string's end).
#   - system calls Go makes (Param errors: valgrind matches a parameter name exactly, so there
#     is one entry per name this valgrind knows, each only for a Go frame).
# The one C function that reads Go memory, copy_go_bytes in capi/shim.c, needs no entry: the
# valgrind build marks the string Go lends it as addressable and defined first.
# Errors anywhere else in C (capi/shim.c, the harness, libc) and every leak are still reported.
set -euo pipefail
out=$1
# run.sh turns definedness errors off (Value*, Cond): only addressability kinds are left.
kinds=(Addr1 Addr2 Addr4 Addr8 Addr16 Addr32)
go_frames=('*.*' '_cgoexp_*' '_cgo_*_Cfunc_*' indexbytebody indexbody memeqbody cmpbody countbody aeshashbody)

tool=$(ls /usr/libexec/valgrind/memcheck-*-linux /usr/lib/*/valgrind/memcheck-*-linux 2>/dev/null | head -n1 || true)
[[ -n $tool ]] || { echo "valgrind_supp.sh: memcheck's tool binary not found" >&2; exit 1; }
# Names are plain ("openat(filename)") or formats over a socket address's fields
# ("socketcall.connect(serv_addr.%s)" with "sin_port", ...).
names=$(strings "$tool")
fields=$(grep -E '^(sa_family|sin_[a-z]+|sin6_[a-z_]+|sun_path|nl_[a-z]+)$' <<<"$names" | sort -u)
mapfile -t params < <({
	grep -E '^[a-z_0-9.]+\([][a-z_0-9.>-]+\)$' <<<"$names" | grep -vF '[...]'
	grep -E '^[a-z_0-9.]+\([a-z_0-9]+\.%s\)$' <<<"$names" | while read -r format; do
		for field in $fields; do printf '%s\n' "${format//%s/$field}"; done
	done
} | sort -u)
((${#params[@]} > 100)) || { echo "valgrind_supp.sh: no syscall parameter names in $tool" >&2; exit 1; }

{
	n=0
	for frame in "${go_frames[@]}"; do
		for kind in "${kinds[@]}"; do
			printf '{\n   go-%d\n   Memcheck:%s\n   fun:%s\n}\n' $((n++)) "$kind" "$frame"
		done
	done
	for param in "${params[@]}"; do
		printf '{\n   go-syscall-%d\n   Memcheck:Param\n   %s\n   fun:*.*\n}\n' $((n++)) "$param"
	done
} >"$out"
