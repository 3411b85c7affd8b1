#!/usr/bin/env bash
# Prints the path of a `go build -overlay` file that makes Go c-shared libraries load on musl.
#
# Why: a c-shared library starts the Go runtime from an ELF initialiser, _rt0_<arch>_linux_lib,
# which expects glibc's calling convention for initialisers: (argc, argv, envp). musl calls
# initialisers with no arguments, so the runtime read garbage registers as argc/argv and
# crashed in runtime.sysargs (golang/go#13492, still open upstream).
# What: the overlay replaces runtime/rt0_linux_{amd64,arm64}.s with a copy of the installed
# Go's file whose library entry passes argc = 0 and argv = an empty vector (argv, envp and
# auxv each end at once). The runtime then reads the auxiliary vector from /proc/self/auxv (its
# own fallback) and sees no arguments and no environment: the library reads CS_* and the
# other variables through C getenv (docs/architecture.md D6), so nothing is lost. The file is generated
# from the Go in use, so a Go update keeps the rest of the file as Go ships it.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=build/out/musl-overlay
mkdir -p "$dir"
goroot=$(go env GOROOT)
json=$PWD/$dir/overlay.json
printf '{"Replace":{' >"$json"
sep=""
for arch in amd64 arm64; do
	src=$goroot/src/runtime/rt0_linux_$arch.s
	dst=$PWD/$dir/rt0_linux_$arch.s
	case $arch in
	amd64) entry="	MOVQ	\$0, DI\n	LEAQ	sa_musl_empty_argv<>(SB), SI\n	JMP	_rt0_amd64_lib(SB)" ;;
	arm64) entry="	MOVD	\$0, R0\n	MOVD	\$sa_musl_empty_argv<>(SB), R1\n	JMP	_rt0_arm64_lib(SB)" ;;
	esac
	grep -q "^TEXT _rt0_${arch}_linux_lib(SB)" "$src" || { echo "overlay.sh: $src has no _rt0_${arch}_linux_lib" >&2; exit 1; }
	# Replace the one JMP of the library entry; add the empty vector (4 zero words, read-only use).
	awk -v entry="$entry" -v arch="$arch" '
		/^TEXT _rt0_.*_linux_lib\(SB\)/ { print; inlib = 1; next }
		inlib && /JMP/ { print entry; inlib = 0; next }
		{ print }
		END { print ""; print "// stack-auth (build/musl/overlay.sh): argv, envp and auxv, each empty."; print "GLOBL sa_musl_empty_argv<>(SB),NOPTR,$32" }
	' "$src" >"$dst"
	printf '%s"%s":"%s"' "$sep" "$src" "$dst" >>"$json"
	sep=,
done
printf '}}\n' >>"$json"
echo "$json"
