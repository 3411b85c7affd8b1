// Package redisstore keeps each credential's sealed token bytes in Redis, with its refresh
// lock, for every host of a fleet to share (docs/architecture.md G7). It knows nothing of
// core, so core can import it: core's RedisTokenStore (OpenStore's redis URLs) puts tokens
// and error codes on top, as its FileTokenStore does over core/profile.
package redisstore
