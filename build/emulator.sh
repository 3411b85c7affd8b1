# shellcheck shell=bash
# Sourced (not run) by build/demo.sh and bindings/*/bench.sh: a scratch folder $work and one
# local emulator, both gone when the script exits. start_emulator BIN [serve flags...] waits
# for the emulator's first line (its URL, workspace and access key as JSON) in
# $work/serve.out; its log goes to $work/serve.log.
work=$(mktemp -d)
emu_pid=
cleanup() {
	[[ -n $emu_pid ]] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

start_emulator() {
	local bin=$1
	shift
	"$bin" serve --addr 127.0.0.1:0 "$@" >"$work/serve.out" 2>"$work/serve.log" &
	emu_pid=$!
	for _ in $(seq 200); do [[ -s $work/serve.out ]] && break; sleep 0.05; done
	[[ -s $work/serve.out ]] || { echo "${0##*/}: the emulator did not start" >&2; exit 1; }
}
