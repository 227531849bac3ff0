// Package store is lambdaplane's state: a transactional key-value store with
// revisions and watch, shaped like etcd's API so that etcd can replace the
// embedded bbolt backend when lambdaplane is clustered.
//
// Keys are slash-separated strings ("lambda/123456789012/us-east-1/functions/hello").
// Every committed write transaction increments the store revision by one; each
// key remembers the revision that created it and the one that last modified it.
package store

import (
	"context"
	"errors"
)

// ErrCompacted is returned by Watch when the requested start revision is older
// than the history the store still keeps; the caller should List and watch from
// the current revision instead.
var ErrCompacted = errors.New("store: requested revision has been compacted")

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("store: closed")

// KV is one stored key with its revisions.
type KV struct {
	Key       string
	Value     []byte
	CreateRev int64
	ModRev    int64
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota
	EventDelete
)

// Event is one change seen by a watcher. For deletes KV.Value is nil and
// PrevKV holds the value before the delete.
type Event struct {
	Type   EventType
	KV     KV
	PrevKV *KV
	Rev    int64
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
	Get(key string) (KV, bool)
	// List returns every key with the prefix, in key order.
	List(prefix string) []KV
}

// Tx is a read-write transaction. Its writes become visible, durable and
// observable by watchers only when the function passed to Store.Update
// returns nil.
type Tx interface {
	ReadTx
	Put(key string, value []byte)
	Delete(key string) bool
}

// Store is implemented by the bbolt backend (Open) and the in-memory one (NewMemory).
type Store interface {
	// View runs fn on a read-only snapshot.
	View(fn func(tx ReadTx) error) error
	// Update runs fn in one serializable read-write transaction. If fn returns
	// an error nothing is written. The returned revision is the store revision
	// after the commit (unchanged if fn wrote nothing).
	Update(fn func(tx Tx) error) (rev int64, err error)
	// Rev is the current store revision.
	Rev() int64
	// Watch delivers, in revision order, every event on keys with the prefix
	// whose revision is greater than afterRev. afterRev 0 means "from now".
	// The channel is closed when ctx ends or the store closes. A watcher that
	// cannot keep up is not allowed to block writers: it gets its channel
	// closed and should re-List.
	Watch(ctx context.Context, prefix string, afterRev int64) (<-chan Event, error)
	Close() error
}
