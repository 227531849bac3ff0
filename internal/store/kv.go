package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Limits shared by both backends so a key that works in unit tests also works
// on disk (they are bbolt's).
const (
	maxKeySize   = 32768
	maxValueSize = (1 << 31) - 2 - recordHeader
)

// options tunes a store; tests shrink them to reach edge cases quickly.
type options struct {
	history     int           // watch events kept in memory for replay
	backlog     int           // events a watcher may fall behind before it is dropped
	lockTimeout time.Duration // how long Open waits for the bbolt file lock
}

var defaultOptions = options{history: 4096, backlog: 8192, lockTimeout: time.Second}

// backend is the storage under kvStore. kvStore owns revisions, change
// tracking and watch, so both backends get the same semantics by construction.
type backend interface {
	view(fn func(r reader) error) error
	begin() (writer, error)
	close() error
}

// reader returns copies: callers may keep and modify what they get.
type reader interface {
	get(key string) (KV, bool)
	list(prefix string) []KV
}

// writer is one read-write transaction; its reads see its own writes.
type writer interface {
	reader
	put(kv KV) error
	del(key string) error
	// commit makes the writes durable together with the new store revision.
	commit(rev int64) error
	rollback()
}

type kvStore struct {
	b      backend
	mu     sync.Mutex // one writer at a time, so commits are published in revision order
	rev    atomic.Int64
	closed atomic.Bool
	hub    *hub
}

func newKVStore(b backend, rev int64, o options) *kvStore {
	s := &kvStore{b: b, hub: newHub(rev, o)}
	s.rev.Store(rev)
	return s
}

func (s *kvStore) Rev() int64 { return s.rev.Load() }

func (s *kvStore) View(fn func(tx ReadTx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.b.view(func(r reader) error {
		t := &readTx{r: r}
		defer func() { t.done = true }()
		return fn(t)
	})
}

func (s *kvStore) Update(fn func(tx Tx) error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return s.rev.Load(), ErrClosed
	}
	cur := s.rev.Load()
	w, err := s.b.begin()
	if err != nil {
		return cur, err
	}
	t := &tx{readTx: readTx{r: w}, w: w, rev: cur + 1, changes: map[string]*change{}}
	ended := false
	defer func() {
		// Reached with ended false only when fn panicked or called
		// runtime.Goexit: roll back and let the panic continue unwinding.
		if !ended {
			t.done = true
			w.rollback()
		}
	}()
	err = fn(t)
	ended = true
	t.done = true
	if err == nil {
		err = t.err
	}
	events := t.events()
	if err != nil || len(events) == 0 {
		w.rollback()
		return cur, err
	}
	if err := w.commit(t.rev); err != nil {
		return cur, fmt.Errorf("store: commit: %w", err)
	}
	s.rev.Store(t.rev)
	s.hub.publish(events)
	return t.rev, nil
}

func (s *kvStore) Watch(ctx context.Context, prefix string, afterRev int64) (<-chan Event, error) {
	if afterRev < 0 {
		return nil, fmt.Errorf("store: negative watch revision %d", afterRev)
	}
	return s.hub.watch(ctx, prefix, afterRev)
}

func (s *kvStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// Wait for an Update in flight, so its events reach watchers before they
	// are closed.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hub.close()
	return s.b.close()
}

type readTx struct {
	r    reader
	done bool
}

func (t *readTx) check() {
	if t.done {
		panic("store: transaction used after its function returned")
	}
}

func (t *readTx) Get(key string) (KV, bool) {
	t.check()
	return t.r.get(key)
}

func (t *readTx) List(prefix string) []KV {
	t.check()
	return t.r.list(prefix)
}

// change is the net effect of a transaction on one key; watchers see one
// event per key per revision, as with etcd.
type change struct {
	prev *KV // before the transaction; nil if the key did not exist
	cur  *KV // after it; nil if deleted
}

type tx struct {
	readTx
	w       writer
	rev     int64
	changes map[string]*change
	order   []string // keys in first-touch order, so events are deterministic
	err     error    // first write error; fails the whole transaction
}

func (t *tx) Put(key string, value []byte) {
	t.check()
	if t.err != nil {
		return
	}
	switch {
	case key == "":
		t.err = errors.New("store: empty key")
		return
	case len(key) > maxKeySize:
		t.err = fmt.Errorf("store: key longer than %d bytes", maxKeySize)
		return
	case len(value) > maxValueSize:
		t.err = fmt.Errorf("store: value for %s longer than %d bytes", key, maxValueSize)
		return
	}
	old, existed := t.w.get(key)
	kv := KV{Key: key, Value: append([]byte{}, value...), CreateRev: t.rev, ModRev: t.rev}
	if existed {
		kv.CreateRev = old.CreateRev
	}
	if err := t.w.put(kv); err != nil {
		t.err = fmt.Errorf("store: put %s: %w", key, err)
		return
	}
	t.record(key, old, existed, &kv)
}

func (t *tx) Delete(key string) bool {
	t.check()
	if t.err != nil {
		return false
	}
	old, existed := t.w.get(key)
	if !existed {
		return false
	}
	if err := t.w.del(key); err != nil {
		t.err = fmt.Errorf("store: delete %s: %w", key, err)
		return false
	}
	t.record(key, old, true, nil)
	return true
}

func (t *tx) record(key string, old KV, existed bool, cur *KV) {
	c, ok := t.changes[key]
	if !ok {
		c = &change{}
		if existed {
			c.prev = &old
		}
		t.changes[key] = c
		t.order = append(t.order, key)
	}
	c.cur = cur
}

// events is the net effect of the transaction. Empty means nothing changed
// (including a key created and deleted again), so the revision stays.
func (t *tx) events() []Event {
	var evs []Event
	for _, key := range t.order {
		c := t.changes[key]
		switch {
		case c.cur != nil:
			evs = append(evs, Event{Type: EventPut, KV: *c.cur, PrevKV: c.prev, Rev: t.rev})
		case c.prev != nil:
			evs = append(evs, Event{Type: EventDelete, KV: KV{Key: key, ModRev: t.rev}, PrevKV: c.prev, Rev: t.rev})
		}
	}
	return evs
}

func cloneKV(kv KV) KV {
	kv.Value = bytes.Clone(kv.Value)
	if kv.Value == nil {
		kv.Value = []byte{}
	}
	return kv
}
