#!/usr/bin/env bash
# Builds the Node binding (make node): the N-API addon build/Release/stack_auth.node, linked
# against libstack_auth.so.1 through an $ORIGIN rpath, with the library copied next to it.
#
#  - Dev tools (node-gyp, typescript) come from npm into node_modules/ (build/setup.sh node).
#  - Node's headers are the system's (/usr/include/node, from the nodejs package or Debian's
#    libnode-dev): node-gyp is pointed at them with --nodedir and never downloads any. The
#    build runs with an unusable proxy and an empty --devdir, and fails if anything was
#    fetched into it.
#  - Idempotent; build/setup.sh installs what is missing (Debian packages as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
OUT=$ROOT/build/out
NODEDIR=${NODEDIR:-/usr}

# Debian packages, and the npm dev dependencies (pinned by package-lock.json, no lifecycle scripts).
NODEDIR=$NODEDIR bash "$ROOT/build/setup.sh" node
if [[ ! -e $NODEDIR/include/node/node_api.h || ! -e $NODEDIR/include/node/common.gypi ]]; then
	echo "build.sh: Node headers not found under $NODEDIR/include/node (set NODEDIR)" >&2
	exit 1
fi

# The library (make node runs make lib first; this keeps the script standalone).
if [[ ! -e $OUT/lib/libstack_auth.so.1 || ! -e $OUT/include/stack_auth.h ]]; then
	(cd "$ROOT" && bash build/lib.sh)
fi

# The addon. An empty devdir and a dead proxy: any header download would fail the build.
devdir=$(mktemp -d)
trap 'rm -rf "$devdir"' EXIT
export npm_config_nodedir=$NODEDIR
HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
	node node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir="$NODEDIR" --devdir="$devdir" \
	--sa_out="$OUT" -j 2 --loglevel=warn
if [[ -n $(ls -A "$devdir") ]]; then
	echo "build.sh: node-gyp fetched something into its devdir; headers must come from $NODEDIR" >&2
	exit 1
fi
cp -f "$OUT/lib/libstack_auth.so.1" build/Release/libstack_auth.so.1

# The addon finds the library next to itself, and loads.
readelf -d build/Release/stack_auth.node | grep -Eq 'R(UN)?PATH.*\$ORIGIN' || {
	echo "build.sh: stack_auth.node lacks the \$ORIGIN rpath" >&2
	exit 1
}
env -u LD_LIBRARY_PATH node -e '
  const info = require(process.argv[1]).libraryInfo();
  if (info.abi !== 1) throw new Error("ABI " + info.abi);
  console.log("stack-auth node addon: " + info.build);
' "$HERE"
