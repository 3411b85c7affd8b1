package cmdtest

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// Start runs main until the test cancels it; its stdout arrives line by line, an unfinished
// last line included, and its stderr and result are there once it has returned.
func TestStartDeliversOutputAndStopsOnCancel(t *testing.T) {
	run := Start(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		fmt.Fprint(stdout, "one\ntwo\n")
		<-ctx.Done()
		fmt.Fprint(stdout, "last")
		fmt.Fprint(stderr, "cancelled")
		return 7
	})
	if got := WaitLine(t, run.Lines, func(l string) bool { return l != "one\n" }); got != "two\n" {
		t.Fatalf("second line %q", got)
	}
	run.Cancel()
	if code := <-run.Result; code != 7 {
		t.Errorf("result %d", code)
	}
	if got := run.Stderr.String(); got != "cancelled" {
		t.Errorf("stderr %q", got)
	}
	var rest []string
	for l := range run.Lines {
		rest = append(rest, l)
	}
	if len(rest) != 1 || rest[0] != "last" {
		t.Errorf("lines after cancel %q, want the unfinished last one", rest)
	}
}
