#!/usr/bin/env bash
# Installs what the test suites need and a fresh machine of this kind may lack.
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)     # device page test (emulator)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server) # fleet tests (tests/fleet), tests/c
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)     # tests/c/lib.sh (start_redis)

if ((${#need_apt[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "setup: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
		exit 1
	fi
	echo "setup: installing ${need_apt[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

go mod download
