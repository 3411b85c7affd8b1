package main

/*
#include "shim.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
)

// registry maps handles to objects. Handles come from one counter, so they are never
// reused, and a handle of one kind is never valid as another kind. It is sharded so that
// threads creating and freeing token handles do not queue on one lock.
type registry struct {
	next   atomic.Uint64
	shards [64]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[uint64]any
	_  [32]byte // keep shards on separate cache lines
}

var handles registry

func (r *registry) shard(h uint64) *shard {
	s := &r.shards[h%uint64(len(r.shards))]
	return s
}

func (r *registry) add(v any) uint64 {
	h := r.next.Add(1)
	s := r.shard(h)
	s.mu.Lock()
	if s.m == nil {
		s.m = map[uint64]any{}
	}
	s.m[h] = v
	s.mu.Unlock()
	return h
}

func (r *registry) remove(h uint64) (any, bool) {
	s := r.shard(h)
	s.mu.Lock()
	v, ok := s.m[h]
	delete(s.m, h)
	s.mu.Unlock()
	return v, ok
}

func (r *registry) len() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// lookup returns the object of handle h if it is a T.
func lookup[T any](h uint64) (T, bool) {
	s := handles.shard(h)
	s.mu.RLock()
	v, ok := s.m[h]
	s.mu.RUnlock()
	t, ok2 := v.(T)
	return t, ok && ok2
}

//export sago_live_handles
func sago_live_handles() C.int64_t { return C.int64_t(handles.len()) }
