package store

import (
	"context"
	"strings"
	"sync"
)

// hub keeps recent events for replay and fans committed events out to
// watchers. publish never blocks: each watcher has its own queue and a
// goroutine that feeds its channel, and a queue that grows past the backlog
// gets the watcher dropped.
//
// Events are shared between watchers; receivers must not modify KV.Value.
type hub struct {
	mu      sync.Mutex
	ring    []Event // the last len(ring) events, oldest at head
	head    int
	size    int
	last    int64 // revision of the newest published event
	lost    int64 // events with Rev <= lost may be missing from ring
	backlog int
	closed  bool
	ws      map[*watcher]struct{}
	wg      sync.WaitGroup
}

type watcher struct {
	prefix string
	after  int64
	out    chan Event
	wake   chan struct{} // capacity 1: "pending has something"
	stop   chan struct{} // closed when the hub drops the watcher

	mu      sync.Mutex
	pending []Event
}

func newHub(rev int64, o options) *hub {
	// A replay is at most the whole ring; it must fit in a fresh backlog.
	backlog := max(o.backlog, o.history)
	return &hub{
		ring:    make([]Event, o.history),
		last:    rev,
		lost:    rev, // history before the store was opened is not kept
		backlog: backlog,
		ws:      map[*watcher]struct{}{},
	}
}

func (h *hub) publish(evs []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for _, ev := range evs {
		h.remember(ev)
	}
	h.last = evs[len(evs)-1].Rev
	for w := range h.ws {
		var matched []Event
		for _, ev := range evs {
			if w.wants(ev) {
				matched = append(matched, ev)
			}
		}
		if !w.enqueue(matched, h.backlog) {
			h.dropLocked(w)
		}
	}
}

func (h *hub) remember(ev Event) {
	n := len(h.ring)
	if h.size == n {
		h.lost = h.ring[h.head].Rev
		h.ring[h.head] = ev
		h.head = (h.head + 1) % n
		return
	}
	h.ring[(h.head+h.size)%n] = ev
	h.size++
}

func (h *hub) watch(ctx context.Context, prefix string, afterRev int64) (<-chan Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	w := &watcher{
		prefix: prefix,
		after:  afterRev,
		out:    make(chan Event, 64),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	if afterRev == 0 {
		w.after = h.last
	} else if afterRev < h.lost {
		return nil, ErrCompacted
	}
	var replay []Event
	for i := range h.size {
		if ev := h.ring[(h.head+i)%len(h.ring)]; w.wants(ev) {
			replay = append(replay, ev)
		}
	}
	w.enqueue(replay, h.backlog) // fits: backlog >= len(ring)
	h.ws[w] = struct{}{}
	h.wg.Add(1)
	go h.feed(ctx, w)
	return w.out, nil
}

func (h *hub) feed(ctx context.Context, w *watcher) {
	defer h.wg.Done()
	defer close(w.out)
	defer h.drop(w)
	for {
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, ev := range batch {
			select {
			case w.out <- ev:
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			}
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		}
	}
}

func (h *hub) drop(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(w)
}

func (h *hub) dropLocked(w *watcher) {
	if _, ok := h.ws[w]; ok {
		delete(h.ws, w)
		close(w.stop)
	}
}

// close drops every watcher and returns once all their channels are closed.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for w := range h.ws {
		h.dropLocked(w)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (w *watcher) wants(ev Event) bool {
	return ev.Rev > w.after && strings.HasPrefix(ev.KV.Key, w.prefix)
}

func (w *watcher) enqueue(evs []Event, limit int) bool {
	if len(evs) == 0 {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending)+len(evs) > limit {
		return false
	}
	w.pending = append(w.pending, evs...)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}
