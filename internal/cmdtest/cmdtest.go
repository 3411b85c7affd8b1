// Package cmdtest runs command entry points for tests (the CLI's run, the emulator's Run, the
// built binary): their stdout as lines, their stderr in a buffer safe to read while they write.
package cmdtest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe to write from one goroutine and read from another.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Lines delivers r's lines, each with its "\n" (a last one without it if r ends so), and
// closes the channel at the end of r. It holds up to 64 lines nobody has read yet.
func Lines(r io.Reader) <-chan string {
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		br := bufio.NewReader(r)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	return lines
}

// WaitLine returns the first line satisfying match, failing the test when the lines end or
// after 30 seconds.
func WaitLine(t testing.TB, lines <-chan string, match func(string) bool) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stdout closed before the expected line")
			}
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatal("timed out waiting for a line on stdout")
		}
	}
}

// Run is an entry point running in the background (Start).
type Run[T any] struct {
	Lines  <-chan string // its stdout
	Stderr *Buffer
	Result <-chan T // what it returns, once it has
	Cancel context.CancelFunc
}

// Start calls main in a goroutine with a context the test cancels (Cancel, or at the
// latest its cleanup), as an interrupt would.
func Start[T any](t testing.TB, main func(ctx context.Context, stdout, stderr io.Writer) T) *Run[T] {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	result := make(chan T, 1)
	r := &Run[T]{Lines: Lines(pr), Stderr: &Buffer{}, Result: result, Cancel: cancel}
	go func() {
		result <- main(ctx, pw, r.Stderr)
		_ = pw.Close()
	}()
	return r
}
