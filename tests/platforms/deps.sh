#!/usr/bin/env bash
# Installs what make test-platforms runs the foreign targets with (Debian 12 packages):
#   qemu-user-static                          linux-arm64 binaries under qemu-aarch64
#   libc6-arm64-cross libstdc++6-arm64-cross  the arm64 glibc (and libstdc++ for Node) qemu loads
#   musl-tools                                musl-gcc and the x86_64 musl loader
#   wine64                                    win32-x64 binaries under Wine
# Idempotent and quiet when everything is present.
set -euo pipefail
need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
[[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || need+=(libc6-arm64-cross)
[[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ]] || need+=(libstdc++6-arm64-cross)
command -v musl-gcc >/dev/null || need+=(musl-tools)
[[ -x /usr/lib/wine/wine64 ]] || need+=(wine64) # Debian installs the loader here
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
	echo "test-platforms: missing Debian packages: ${need[*]} (run as root or install them)" >&2
	exit 1
fi
echo "test-platforms: installing ${need[*]} (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
