package main

import "sync"

// completionWorkers is how many library threads run sa_get_token_async's done callbacks.
// A cgo call pins an OS thread for as long as the host's code runs, so one goroutine per
// completion let a slow done (or one waiting on a host lock, as a GIL) pin a thread per
// pending call until Go aborted with "thread exhaustion" (docs/architecture.md D5).
const completionWorkers = 4

// completions is a FIFO of done calls served by completionWorkers goroutines. Adding never
// blocks: the goroutine that got the token (or the error) hands its call over and ends, so
// a done that blocks delays later completions but never a refresh or a blocking caller.
var completions completionQueue

type completionQueue struct {
	once    sync.Once
	mu      sync.Mutex
	ready   sync.Cond
	pending []func() // pending[head:] wait, oldest first
	head    int
}

func (q *completionQueue) add(call func()) {
	q.once.Do(func() {
		q.ready.L = &q.mu
		for range completionWorkers {
			go q.work()
		}
	})
	q.mu.Lock()
	q.pending = append(q.pending, call)
	q.mu.Unlock()
	q.ready.Signal()
}

func (q *completionQueue) work() {
	for {
		q.mu.Lock()
		for q.head == len(q.pending) {
			q.ready.Wait()
		}
		call := q.pending[q.head]
		q.pending[q.head] = nil
		q.head++
		if q.head == len(q.pending) { // drained: reuse the array from its start
			q.pending, q.head = q.pending[:0], 0
		}
		q.mu.Unlock()
		run(call)
	}
}

// run calls one completion; a panic (it cannot come from the host's C code) must not end
// the worker.
func run(call func()) {
	defer func() { recover() }()
	call()
}
