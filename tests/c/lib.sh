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

# start_emulator [flags...]: exports SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY and SA_TEST_TMP.
start_emulator() {
	WORK=$(mktemp -d /tmp/sa-tests.XXXXXX)
	"$OUT/bin/stack-auth" serve --addr 127.0.0.1:0 "$@" >"$WORK/emu.json" 2>"$WORK/emu.log" &
	EMU_PID=$!
	for _ in $(seq 100); do
		[[ -s $WORK/emu.json ]] && break
		kill -0 "$EMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	local line
	line=$(head -n1 "$WORK/emu.json" 2>/dev/null || true)
	if [[ -z $line ]]; then
		echo "the emulator did not start:" >&2
		cat "$WORK/emu.log" >&2
		exit 1
	fi
	field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$line"; }
	export SA_EMU_URL SA_EMU_CRN SA_EMU_KEY SA_TEST_TMP
	SA_EMU_URL=$(field url)
	SA_EMU_CRN=$(field workspaceCrn)
	SA_EMU_KEY=$(field accessKey)
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
	"$OUT/bin/stack-auth" serve --addr 127.0.0.1:0 --tls-name cts.stack-auth.test \
		--tls-cert-out "$WORK/tls-emu.pem" >"$WORK/tls-emu.json" 2>"$WORK/tls-emu.log" &
	TLS_EMU_PID=$!
	for _ in $(seq 100); do
		[[ -s $WORK/tls-emu.json ]] && break
		kill -0 "$TLS_EMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	local line
	line=$(head -n1 "$WORK/tls-emu.json" 2>/dev/null || true)
	if [[ -z $line ]]; then
		echo "the TLS emulator did not start:" >&2
		cat "$WORK/tls-emu.log" >&2
		exit 1
	fi
	field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$line"; }
	export SA_EMU_TLS_URL SA_EMU_TLS_ADDR SA_EMU_TLS_CERT SA_EMU_TLS_CRN SA_EMU_TLS_KEY
	SA_EMU_TLS_URL=$(field url)
	SA_EMU_TLS_ADDR=$(field addr)
	SA_EMU_TLS_CERT=$WORK/tls-emu.pem
	SA_EMU_TLS_CRN=$(field workspaceCrn)
	SA_EMU_TLS_KEY=$(field accessKey)
}
