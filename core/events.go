package stackauth

// What the engine reports through WithEvents: refreshes, invalidations, a degraded store.

import (
	"log/slog"
	"time"
)

type EventKind string

const (
	RefreshStarted   EventKind = "refresh_started"
	RefreshSucceeded EventKind = "refresh_succeeded"
	RefreshFailed    EventKind = "refresh_failed"
	TokenInvalidated EventKind = "token_invalidated"
	StoreDegraded    EventKind = "store_degraded"
)

type RefreshReason string

const (
	ReasonInitial RefreshReason = "initial"
	ReasonStale   RefreshReason = "stale"
	ReasonExpired RefreshReason = "expired"
	ReasonForced  RefreshReason = "forced"
)

type TokenSource string

const (
	SourceMemory  TokenSource = "memory"
	SourceStore   TokenSource = "store"
	SourceNetwork TokenSource = "network"
)

// Event reports what the engine did. It never carries a secret.
type Event struct {
	Kind       EventKind
	Reason     RefreshReason
	Source     TokenSource
	Latency    time.Duration
	ErrorCode  string // on failure
	Generation uint64 // of the token installed or invalidated
}

func (ev Event) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(ev.Kind)), slog.String("reason", string(ev.Reason)),
		slog.String("source", string(ev.Source)), slog.Duration("latency", ev.Latency),
		slog.String("error_code", ev.ErrorCode), slog.Uint64("generation", ev.Generation))
}
