package main

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// The library owns no terminal: go-redis would print connection failures to stderr. The
// engine reports them as StoreDegraded events instead.
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedisLogger{}) }
