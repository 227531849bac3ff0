package store

import (
	"slices"
	"strings"
	"sync"
)

// NewMemory returns a store that keeps everything in memory, with the same
// semantics as the bbolt one, for unit tests.
func NewMemory() Store { return newMemory(defaultOptions) }

func newMemory(o options) *kvStore { return newKVStore(&memory{data: map[string]KV{}}, 0, o) }

type memory struct {
	mu   sync.RWMutex
	data map[string]KV
}

func (m *memory) view(fn func(r reader) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.data == nil {
		return ErrClosed
	}
	return fn(memReader{m})
}

// begin needs no lock: kvStore runs one writer at a time and the writer only
// touches m.data when it commits.
func (m *memory) begin() (writer, error) {
	return &memWriter{m: m, overlay: map[string]*KV{}}, nil
}

func (m *memory) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data = nil
	return nil
}

// memReader is used with m.mu read-locked by view.
type memReader struct{ m *memory }

func (r memReader) get(key string) (KV, bool) {
	kv, ok := r.m.data[key]
	if !ok {
		return KV{}, false
	}
	return cloneKV(kv), true
}

func (r memReader) list(prefix string) []KV {
	var out []KV
	for k, kv := range r.m.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, cloneKV(kv))
		}
	}
	sortKVs(out)
	return out
}

// memWriter buffers writes so that a failed transaction leaves m.data alone.
type memWriter struct {
	m       *memory
	overlay map[string]*KV // nil value: deleted in this transaction
}

func (w *memWriter) get(key string) (KV, bool) {
	if kv, ok := w.overlay[key]; ok {
		if kv == nil {
			return KV{}, false
		}
		return cloneKV(*kv), true
	}
	w.m.mu.RLock()
	defer w.m.mu.RUnlock()
	return memReader{w.m}.get(key)
}

func (w *memWriter) list(prefix string) []KV {
	w.m.mu.RLock()
	base := memReader{w.m}.list(prefix)
	w.m.mu.RUnlock()
	out := base[:0]
	for _, kv := range base {
		if _, ok := w.overlay[kv.Key]; !ok {
			out = append(out, kv)
		}
	}
	for k, kv := range w.overlay {
		if kv != nil && strings.HasPrefix(k, prefix) {
			out = append(out, cloneKV(*kv))
		}
	}
	sortKVs(out)
	return out
}

func (w *memWriter) put(kv KV) error {
	kv = cloneKV(kv)
	w.overlay[kv.Key] = &kv
	return nil
}

func (w *memWriter) del(key string) error {
	w.overlay[key] = nil
	return nil
}

func (w *memWriter) commit(int64) error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	for k, kv := range w.overlay {
		if kv == nil {
			delete(w.m.data, k)
		} else {
			w.m.data[k] = *kv
		}
	}
	return nil
}

func (w *memWriter) rollback() {}

func sortKVs(kvs []KV) {
	slices.SortFunc(kvs, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
}
