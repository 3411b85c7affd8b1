package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestRelativeAndClock(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for d, want := range map[time.Duration]string{
		42 * time.Second:                "in 42s",
		14*time.Minute + 59*time.Second: "in 14m",
		time.Hour:                       "in 1h",
		65 * time.Minute:                "in 1h5m",
		-3 * time.Minute:                "3m ago",
	} {
		if got := relative(now.Add(d), now); got != want {
			t.Errorf("relative(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		-time.Second: "0:00", 65 * time.Second: "1:05", 15 * time.Minute: "15:00", 3723 * time.Second: "1:02:03",
	} {
		if got := clockDuration(d); got != want {
			t.Errorf("clockDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSpinnerStops(t *testing.T) {
	// /dev/null is a character device, so it gets the animated spinner.
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if !isTerminal(f) {
		t.Skip("os.DevNull is not a character device here")
	}
	stop := startWaiting(f, "Waiting…", time.Now().Add(time.Minute))
	stop()
	stop() // idempotent

	var b strings.Builder // a non-terminal gets its line before startWaiting returns
	stop = startWaiting(&b, "Waiting…", time.Now().Add(time.Minute))
	stop()
	if got := b.String(); got != "Waiting…\n" {
		t.Errorf("non-terminal output %q, want one plain line", got)
	}
}
