# shellcheck shell=bash
# Sourced by build/lib.sh and build/size.sh. No inlining in the packages only a refresh or a
# store uses (HTTP, TLS, JSON, Redis; core's CTS wire client and Redis store): about 0.45 MB
# less library, while the cached path (core, capi, runtime, sync) keeps its inlining.
# shellcheck disable=SC2034
size_gcflags=(-gcflags='github.com/redis/...=-l' -gcflags='net/...=-l' -gcflags='crypto/...=-l' -gcflags='encoding/...=-l'
	-gcflags='github.com/stackauth/stack-auth/core/internal/cts=-l' -gcflags='github.com/stackauth/stack-auth/core/redisstore=-l')
