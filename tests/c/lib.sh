# shellcheck shell=bash
# Shared by tests/c/run.sh and tests/c/bench.sh (sourced, not run): build prerequisites and
# one emulator per script that is always stopped (Debian packages: build/setup.sh).

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit
# shellcheck disable=SC2034 # used by the scripts that source this
ROOT=$PWD
OUT=build/out
TBUILD=$OUT/tests-c # test binaries; never inside the source tree

# The library and the CLI (make test-c builds both first; this keeps the scripts standalone).
ensure_built() {
	if [[ ! -e $OUT/lib/libstack_auth.so || ! -e $OUT/gen/libstack_auth_cgo.h || ! -e $OUT/include/stack_auth.h ]]; then
		bash build/lib.sh
	fi
	if [[ ! -x $OUT/bin/stack-auth ]]; then
		mkdir -p "$OUT/bin"
		go build -o "$OUT/bin/stack-auth" ./cmd/stack-auth
	fi
	mkdir -p "$TBUILD"
}

WORK=""
EMU_PID=""
REDIS_PID=""
TLS_EMU_PID=""
stop_pid() {
	if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
		# A stuck emulator must not hang the script.
		for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
	fi
}
cleanup() {
	stop_pid "$EMU_PID"
	stop_pid "$TLS_EMU_PID"
	if [[ -n $REDIS_PID ]]; then
		kill -KILL "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
	fi
	[[ -n $WORK ]] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# serve_emulator NAME PIDVAR [flags...]: `stack-auth serve` on a loopback port in the background,
# its ready line in $WORK/NAME.json and its log in NAME.log; sets PIDVAR (at once, for
# cleanup) and READY (the ready line); exits when it does not start.
serve_emulator() {
	local name=$1 pidvar=$2
	shift 2
	"$OUT/bin/stack-auth" serve --addr 127.0.0.1:0 "$@" >"$WORK/$name.json" 2>"$WORK/$name.log" &
	printf -v "$pidvar" %s "$!"
	for _ in $(seq 100); do
		[[ -s $WORK/$name.json ]] && break
		kill -0 "${!pidvar}" 2>/dev/null || break
		sleep 0.1
	done
	READY=$(head -n1 "$WORK/$name.json" 2>/dev/null || true)
	if [[ -z $READY ]]; then
		echo "the emulator ($name) did not start:" >&2
		cat "$WORK/$name.log" >&2
		exit 1
	fi
}

# ready_field NAME: a string field of the last ready line.
ready_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$READY"; }

# start_emulator [flags...]: exports SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY and SA_TEST_TMP.
start_emulator() {
	WORK=$(mktemp -d /tmp/sa-tests.XXXXXX)
	serve_emulator emu EMU_PID "$@"
	export SA_EMU_URL SA_EMU_CRN SA_EMU_KEY SA_TEST_TMP
	SA_EMU_URL=$(ready_field url)
	SA_EMU_CRN=$(ready_field workspaceCrn)
	SA_EMU_KEY=$(ready_field accessKey)
	SA_TEST_TMP=$WORK
}

# start_redis: a redis-server on a free loopback port, without persistence; exports
# SA_REDIS_URL. Call after start_emulator (it uses its work directory).
start_redis() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 100); do
		redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	export SA_REDIS_URL="redis://127.0.0.1:$port/0?timeout=2s"
}

# start_tls_emulator (after start_emulator): a second emulator serving HTTPS under a made-up
# name, https://cts.stack-auth.test/, which a test reaches through a CONNECT proxy of its own
# that connects to SA_EMU_TLS_ADDR, trusting SA_EMU_TLS_CERT (HTTPS_PROXY, SSL_CERT_FILE).
# Exports SA_EMU_TLS_URL, SA_EMU_TLS_ADDR, SA_EMU_TLS_CERT, SA_EMU_TLS_CRN and SA_EMU_TLS_KEY.
start_tls_emulator() {
	serve_emulator tls-emu TLS_EMU_PID --tls-name cts.stack-auth.test --tls-cert-out "$WORK/tls-emu.pem"
	export SA_EMU_TLS_URL SA_EMU_TLS_ADDR SA_EMU_TLS_CERT SA_EMU_TLS_CRN SA_EMU_TLS_KEY
	SA_EMU_TLS_URL=$(ready_field url)
	SA_EMU_TLS_ADDR=$(ready_field addr)
	SA_EMU_TLS_CERT=$WORK/tls-emu.pem
	SA_EMU_TLS_CRN=$(ready_field workspaceCrn)
	SA_EMU_TLS_KEY=$(ready_field accessKey)
}
