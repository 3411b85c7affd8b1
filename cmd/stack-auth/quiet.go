package main

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// go-redis would print its connection failures over the CLI's own output; a shared store
// that is down is not the user's error (the token still comes, refreshed locally).
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedisLogger{}) }
