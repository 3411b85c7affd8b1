package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// isTerminal reports whether w is a character device (a terminal), using only the
// standard library: a pipe, a file or a buffer is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startWaiting shows msg on w until the returned stop is called: an animated spinner with
// the time left before deadline on a terminal, else one plain line (logs and pipes do not
// want carriage returns). stop clears the spinner line and returns only once nothing more
// will be written, so the caller may write to w right after.
func startWaiting(w io.Writer, msg string, deadline time.Time) (stop func()) {
	if !isTerminal(w) {
		fmt.Fprintln(w, msg)
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r\033[K%c %s %s left", frames[i%len(frames)], msg, clockDuration(time.Until(deadline)))
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// clockDuration renders d as m:ss (h:mm:ss beyond an hour), never negative.
func clockDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// relative renders how far t is from now as "in 14m", "in 1h5m", "in 42s" or "3m ago".
func relative(t, now time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	default:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			s = fmt.Sprintf("%dh", h)
		} else {
			s = fmt.Sprintf("%dh%dm", h, m)
		}
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}
