package ec2

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/store"
)

// Meta is what every resource carries: its id, the account and region that
// own it, its tags and when it was made.
type Meta struct {
	ID      string    `json:"id"`
	Owner   string    `json:"owner"`
	Region  string    `json:"region"`
	Tags    []Tag     `json:"tags,omitempty"`
	Created time.Time `json:"created"`
}

func (m *Meta) meta() *Meta { return m }

// resource is any stored EC2 object. Resources are values once published:
// a change goes through txn.edit, which works on a copy.
type resource interface {
	meta() *Meta
}

// factories make an empty resource of a kind, for decoding stored objects.
var factories = map[kind]func() resource{}

func registerKind(k kind, f func() resource) { factories[k] = f }

const (
	keyResources = "ec2/r/"
	keyMarkers   = "ec2/m/"
)

// StoreKey is where a resource lives in the store; controllers watch
// StorePrefix to realize the network.
func StoreKey(id string) string { return keyResources + id }

// StorePrefix is the prefix of every stored EC2 resource.
const StorePrefix = keyResources

// state is the in-memory mirror of every EC2 resource in the store.
type state struct {
	byKind  map[kind]map[string]resource
	markers map[string]bool
	// sorted holds each kind's resources in id order, rebuilt when a write
	// changes the kind, so that reads (every Describe) need not sort.
	sorted map[kind][]resource

	// indexes map the values of exact-match filters to the resources that
	// have them, built on first use and dropped by every write, so that a
	// Describe whose filter names a value costs what its answer costs.
	idxMu   sync.Mutex
	indexes map[indexKey]map[string][]resource
}

type indexKey struct {
	k      kind
	filter string
}

// index returns the index of filter over kind k, building it with build.
func (st *state) index(k kind, filter string, build func() map[string][]resource) map[string][]resource {
	st.idxMu.Lock()
	defer st.idxMu.Unlock()
	key := indexKey{k, filter}
	if ix, ok := st.indexes[key]; ok {
		return ix
	}
	ix := build()
	if st.indexes == nil {
		st.indexes = map[indexKey]map[string][]resource{}
	}
	st.indexes[key] = ix
	return ix
}

func newState() *state {
	return &state{byKind: map[kind]map[string]resource{}, markers: map[string]bool{}, sorted: map[kind][]resource{}}
}

// resort rebuilds the id order of kind k.
func (st *state) resort(k kind) {
	rs := make([]resource, 0, len(st.byKind[k]))
	for _, r := range st.byKind[k] {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b resource) int { return strings.Compare(a.meta().ID, b.meta().ID) })
	st.sorted[k] = rs
}

func (st *state) get(id string) resource {
	return st.byKind[kindOf(id)][id]
}

func decodeResource(id string, b []byte) (resource, error) {
	f := factories[kindOf(id)]
	if f == nil {
		return nil, fmt.Errorf("ec2: stored object %q has an unknown kind", id)
	}
	r := f()
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("ec2: stored object %q: %w", id, err)
	}
	return r, nil
}

// load reads every stored resource.
func load(s store.Store) (*state, error) {
	st := newState()
	err := s.View(func(tx store.ReadTx) error {
		for _, kv := range tx.List(keyResources) {
			id := strings.TrimPrefix(kv.Key, keyResources)
			r, err := decodeResource(id, kv.Value)
			if err != nil {
				return err
			}
			st.put(r)
		}
		for _, kv := range tx.List(keyMarkers) {
			st.markers[strings.TrimPrefix(kv.Key, keyMarkers)] = true
		}
		return nil
	})
	for k := range st.byKind {
		st.resort(k)
	}
	return st, err
}

func (st *state) put(r resource) {
	id := r.meta().ID
	k := kindOf(id)
	m := st.byKind[k]
	if m == nil {
		m = map[string]resource{}
		st.byKind[k] = m
	}
	m[id] = r
}

func (st *state) del(id string) {
	delete(st.byKind[kindOf(id)], id)
}

// txn is one request's view of the state: reads see the base state with the
// request's own changes on top; nothing is visible to others until the
// Service commits it to the store.
type txn struct {
	base    *state
	changed map[string]resource // nil value: deleted
	marks   map[string]bool
	now     time.Time
}

func newTxn(base *state, now time.Time) *txn {
	return &txn{base: base, changed: map[string]resource{}, marks: map[string]bool{}, now: now}
}

// get returns the resource with id, or nil.
func (t *txn) get(id string) resource {
	if r, ok := t.changed[id]; ok {
		return r
	}
	return t.base.get(id)
}

// getAs returns the resource with id if it exists and has type T.
func getAs[T resource](t *txn, id string) (T, bool) {
	r, ok := t.get(id).(T)
	return r, ok
}

// edit returns a private copy of the resource with id, recorded as changed;
// nil if it does not exist.
func (t *txn) edit(id string) resource {
	if r, ok := t.changed[id]; ok {
		return r
	}
	r := t.base.get(id)
	if r == nil {
		return nil
	}
	c := cloneResource(r)
	t.changed[id] = c
	return c
}

func editAs[T resource](t *txn, id string) T {
	r, _ := t.edit(id).(T)
	return r
}

func cloneResource(r resource) resource {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	c := reflect.New(reflect.TypeOf(r).Elem()).Interface().(resource)
	if err := json.Unmarshal(b, c); err != nil {
		panic(err)
	}
	return c
}

// put records a new or replaced resource.
func (t *txn) put(r resource) {
	t.changed[r.meta().ID] = r
}

// del records a deletion.
func (t *txn) del(id string) {
	t.changed[id] = nil
}

func (t *txn) marked(name string) bool {
	return t.marks[name] || t.base.markers[name]
}

func (t *txn) mark(name string) {
	t.marks[name] = true
}

// each calls fn for every resource of kind k, in id order, until fn returns
// false.
func (t *txn) each(k kind, fn func(r resource) bool) {
	if !t.changedKind(k) {
		for _, r := range t.base.sorted[k] {
			if !fn(r) {
				return
			}
		}
		return
	}
	ids := make([]string, 0, len(t.base.byKind[k])+len(t.changed))
	for id := range t.base.byKind[k] {
		if _, ok := t.changed[id]; !ok {
			ids = append(ids, id)
		}
	}
	for id, r := range t.changed {
		if r != nil && kindOf(id) == k {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if !fn(t.get(id)) {
			return
		}
	}
}

func (t *txn) changedKind(k kind) bool {
	for id := range t.changed {
		if kindOf(id) == k {
			return true
		}
	}
	return false
}

// all returns every resource of type T in kind k owned by acct in region,
// in id order.
func all[T resource](t *txn, k kind, acct, region string) []T {
	var out []T
	t.each(k, func(r resource) bool {
		m := r.meta()
		if v, ok := r.(T); ok && m.Owner == acct && m.Region == region {
			out = append(out, v)
		}
		return true
	})
	return out
}

// any reports whether some resource of kind k satisfies pred.
func anyOf[T resource](t *txn, k kind, pred func(T) bool) bool {
	found := false
	t.each(k, func(r resource) bool {
		if v, ok := r.(T); ok && pred(v) {
			found = true
			return false
		}
		return true
	})
	return found
}

// commit writes the txn's changes to s in one transaction.
func (t *txn) commit(s store.Store) error {
	if len(t.changed) == 0 && len(t.marks) == 0 {
		return nil
	}
	_, err := s.Update(func(tx store.Tx) error {
		for id, r := range t.changed {
			if r == nil {
				tx.Delete(keyResources + id)
				continue
			}
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			tx.Put(keyResources+id, b)
		}
		for m := range t.marks {
			tx.Put(keyMarkers+m, []byte("1"))
		}
		return nil
	})
	return err
}

// apply makes committed changes visible in the base state.
func (t *txn) apply() {
	touched := map[kind]bool{}
	for id, r := range t.changed {
		if r == nil {
			t.base.del(id)
		} else {
			t.base.put(r)
		}
		touched[kindOf(id)] = true
	}
	for k := range touched {
		t.base.resort(k)
	}
	if len(t.changed) > 0 {
		t.base.idxMu.Lock()
		t.base.indexes = nil
		t.base.idxMu.Unlock()
	}
	for m := range t.marks {
		t.base.markers[m] = true
	}
}
