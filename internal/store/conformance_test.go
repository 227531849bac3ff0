package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

type factory func(t *testing.T, o options) Store

var backends = map[string]factory{
	"memory": func(t *testing.T, o options) Store {
		s := newMemory(o)
		t.Cleanup(func() { s.Close() })
		return s
	},
	"bolt": func(t *testing.T, o options) Store {
		s, err := open(filepath.Join(t.TempDir(), "state.db"), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
}

// conformance runs every test against both backends, so NewMemory can stand
// in for the bbolt store in other packages' unit tests.
func conformance(t *testing.T, o options, test func(t *testing.T, s Store)) {
	t.Helper()
	for _, name := range []string{"memory", "bolt"} {
		t.Run(name, func(t *testing.T) { test(t, backends[name](t, o)) })
	}
}

func put(t *testing.T, s Store, kvs ...string) int64 {
	t.Helper()
	rev, err := s.Update(func(tx Tx) error {
		for i := 0; i < len(kvs); i += 2 {
			tx.Put(kvs[i], []byte(kvs[i+1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func del(t *testing.T, s Store, key string) (int64, bool) {
	t.Helper()
	var found bool
	rev, err := s.Update(func(tx Tx) error {
		found = tx.Delete(key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev, found
}

func get(t *testing.T, s Store, key string) (KV, bool) {
	t.Helper()
	var kv KV
	var ok bool
	if err := s.View(func(tx ReadTx) error {
		kv, ok = tx.Get(key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return kv, ok
}

func keys(kvs []KV) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, kv.Key)
	}
	return out
}

func list(t *testing.T, s Store, prefix string) []KV {
	t.Helper()
	var out []KV
	if err := s.View(func(tx ReadTx) error {
		out = tx.List(prefix)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutGetList(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		put(t, s, "a/2", "two", "a/10", "ten", "ab/1", "x", "a/1", "one", "b/1", "y", "a", "root")
		if got, want := keys(list(t, s, "a/")), []string{"a/1", "a/10", "a/2"}; !slices.Equal(got, want) {
			t.Errorf("List(a/) = %v, want %v", got, want)
		}
		if got, want := keys(list(t, s, "")), []string{"a", "a/1", "a/10", "a/2", "ab/1", "b/1"}; !slices.Equal(got, want) {
			t.Errorf("List(\"\") = %v, want %v", got, want)
		}
		if got := list(t, s, "c/"); len(got) != 0 {
			t.Errorf("List(c/) = %v, want nothing", got)
		}
		kv, ok := get(t, s, "a/10")
		if !ok || string(kv.Value) != "ten" {
			t.Fatalf("Get(a/10) = %+v, %v", kv, ok)
		}
		if _, ok := get(t, s, "a/3"); ok {
			t.Error("Get of a missing key reported it present")
		}
		// Neither the caller's buffer nor a returned value aliases the store.
		buf := []byte("orig")
		put(t, s, "buf", string(buf))
		if _, err := s.Update(func(tx Tx) error {
			tx.Put("buf2", buf)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		buf[0] = 'X'
		kv, _ = get(t, s, "buf2")
		kv.Value[1] = 'Y'
		if kv, _ := get(t, s, "buf2"); string(kv.Value) != "orig" {
			t.Errorf("stored value changed through an alias: %q", kv.Value)
		}
		put(t, s, "empty", "")
		if kv, ok := get(t, s, "empty"); !ok || kv.Value == nil || len(kv.Value) != 0 {
			t.Errorf("empty value: %+v %v, want present non-nil empty", kv, ok)
		}
	})
}

func TestTxSeesOwnWrites(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		put(t, s, "k/a", "1", "k/c", "3")
		_, err := s.Update(func(tx Tx) error {
			tx.Put("k/b", []byte("2"))
			if !tx.Delete("k/a") {
				return errors.New("Delete(k/a) = false")
			}
			if kv, ok := tx.Get("k/b"); !ok || string(kv.Value) != "2" {
				return fmt.Errorf("Get(k/b) in tx = %+v %v", kv, ok)
			}
			if _, ok := tx.Get("k/a"); ok {
				return errors.New("deleted key still visible in its tx")
			}
			if got := keys(tx.List("k/")); !slices.Equal(got, []string{"k/b", "k/c"}) {
				return fmt.Errorf("List in tx = %v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(list(t, s, "k/")); !slices.Equal(got, []string{"k/b", "k/c"}) {
			t.Errorf("List after commit = %v", got)
		}
	})
}

func TestRevisions(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		if s.Rev() != 0 {
			t.Fatalf("new store Rev = %d", s.Rev())
		}
		if rev := put(t, s, "a", "1"); rev != 1 || s.Rev() != 1 {
			t.Fatalf("first put rev %d, Rev() %d", rev, s.Rev())
		}
		if kv, _ := get(t, s, "a"); kv.CreateRev != 1 || kv.ModRev != 1 {
			t.Errorf("after create: %+v", kv)
		}
		put(t, s, "a", "2")
		if kv, _ := get(t, s, "a"); kv.CreateRev != 1 || kv.ModRev != 2 {
			t.Errorf("after modify: %+v", kv)
		}
		// A transaction that changes nothing leaves the revision alone.
		rev, err := s.Update(func(tx Tx) error {
			tx.Get("a")
			tx.List("")
			return nil
		})
		if err != nil || rev != 2 || s.Rev() != 2 {
			t.Errorf("read-only Update = %d, %v; Rev %d; want 2", rev, err, s.Rev())
		}
		if rev, found := del(t, s, "missing"); found || rev != 2 {
			t.Errorf("Delete(missing) = %v, rev %d; want false, 2", found, rev)
		}
		rev, err = s.Update(func(tx Tx) error {
			tx.Put("tmp", []byte("x"))
			tx.Delete("tmp")
			return nil
		})
		if err != nil || rev != 2 {
			t.Errorf("create+delete in one tx: rev %d, %v; want 2", rev, err)
		}
		if rev, found := del(t, s, "a"); !found || rev != 3 {
			t.Errorf("Delete(a) = %v, rev %d; want true, 3", found, rev)
		}
		put(t, s, "a", "again")
		if kv, _ := get(t, s, "a"); kv.CreateRev != 4 || kv.ModRev != 4 {
			t.Errorf("recreated key: %+v, want CreateRev=ModRev=4", kv)
		}
		// Many writes in one transaction share one revision.
		if rev := put(t, s, "m/1", "x", "m/2", "y", "a", "z"); rev != 5 {
			t.Errorf("multi-put rev %d, want 5", rev)
		}
		for _, kv := range list(t, s, "") {
			if kv.ModRev != 5 && kv.Key != "tmp" {
				t.Errorf("%s ModRev %d, want 5", kv.Key, kv.ModRev)
			}
		}
		if kv, _ := get(t, s, "a"); kv.CreateRev != 4 {
			t.Errorf("a CreateRev %d after modify, want 4", kv.CreateRev)
		}
	})
}

func TestRollbackOnError(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		put(t, s, "keep", "1")
		ch, err := s.Watch(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		rev, err := s.Update(func(tx Tx) error {
			tx.Put("new", []byte("x"))
			tx.Put("keep", []byte("changed"))
			tx.Delete("keep")
			return boom
		})
		if !errors.Is(err, boom) || rev != 1 || s.Rev() != 1 {
			t.Fatalf("Update = %d, %v; Rev %d; want 1, boom", rev, err, s.Rev())
		}
		if _, ok := get(t, s, "new"); ok {
			t.Error("write of failed tx is visible")
		}
		if kv, ok := get(t, s, "keep"); !ok || string(kv.Value) != "1" {
			t.Errorf("keep = %+v %v after failed tx", kv, ok)
		}
		put(t, s, "after", "y")
		ev := recv(t, ch)
		if ev.KV.Key != "after" || ev.Rev != 2 {
			t.Errorf("first event after failed tx = %+v, want put of after at rev 2", ev)
		}
	})
}

func TestInvalidPutFailsTx(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		for _, key := range []string{"", string(make([]byte, maxKeySize+1))} {
			rev, err := s.Update(func(tx Tx) error {
				tx.Put("ok", []byte("1"))
				tx.Put(key, []byte("x"))
				return nil
			})
			if err == nil || rev != 0 {
				t.Errorf("Put(%d-byte key): rev %d, err %v; want an error and rev 0", len(key), rev, err)
			}
			if _, ok := get(t, s, "ok"); ok {
				t.Error("other writes of the failed tx were kept")
			}
		}
	})
}

func TestRollbackOnPanic(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		put(t, s, "a", "1")
		func() {
			defer func() {
				if r := recover(); r != "kaboom" {
					t.Errorf("recovered %v, want the original panic", r)
				}
			}()
			s.Update(func(tx Tx) error {
				tx.Put("a", []byte("2"))
				tx.Put("b", []byte("x"))
				panic("kaboom")
			})
		}()
		if s.Rev() != 1 {
			t.Errorf("Rev %d after panic, want 1", s.Rev())
		}
		if kv, _ := get(t, s, "a"); string(kv.Value) != "1" {
			t.Errorf("a = %q after panicking tx", kv.Value)
		}
		if _, ok := get(t, s, "b"); ok {
			t.Error("write of panicking tx is visible")
		}
		// The store is still usable: the writer lock was released.
		if rev := put(t, s, "c", "3"); rev != 2 {
			t.Errorf("next Update rev %d, want 2", rev)
		}
	})
}

func TestTxUseAfterEndPanics(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		var leaked Tx
		put(t, s, "a", "1")
		s.Update(func(tx Tx) error { leaked = tx; return nil })
		defer func() {
			if recover() == nil {
				t.Error("using a finished transaction did not panic")
			}
		}()
		leaked.Put("a", []byte("2"))
	})
}

func recv(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return Event{}
}

func expectClosed(t *testing.T, ch <-chan Event) int {
	t.Helper()
	n := 0
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
			n++
		case <-timeout:
			t.Fatal("watch channel not closed within 5s")
		}
	}
}

func expectQuiet(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		t.Fatalf("unexpected event %+v (open %v)", ev, ok)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestWatchFromNow(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		put(t, s, "w/old", "0")
		ch, err := s.Watch(t.Context(), "w/", 0)
		if err != nil {
			t.Fatal(err)
		}
		put(t, s, "w/a", "1")
		put(t, s, "x/b", "2")
		put(t, s, "w/a", "3")
		del(t, s, "w/a")
		put(t, s, "w", "not under w/")

		ev := recv(t, ch)
		if ev.Type != EventPut || ev.KV.Key != "w/a" || string(ev.KV.Value) != "1" || ev.Rev != 2 || ev.PrevKV != nil {
			t.Errorf("event 1 = %+v", ev)
		}
		ev = recv(t, ch)
		if ev.Type != EventPut || string(ev.KV.Value) != "3" || ev.Rev != 4 || ev.KV.CreateRev != 2 || ev.PrevKV == nil || string(ev.PrevKV.Value) != "1" {
			t.Errorf("event 2 = %+v", ev)
		}
		ev = recv(t, ch)
		if ev.Type != EventDelete || ev.KV.Key != "w/a" || ev.KV.Value != nil || ev.Rev != 5 || ev.PrevKV == nil || string(ev.PrevKV.Value) != "3" {
			t.Errorf("event 3 = %+v", ev)
		}
		expectQuiet(t, ch)
	})
}

func TestWatchFromPastRev(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		for i := 1; i <= 5; i++ {
			put(t, s, fmt.Sprintf("k/%d", i), "v")
		}
		ch, err := s.Watch(t.Context(), "k/", 2)
		if err != nil {
			t.Fatal(err)
		}
		put(t, s, "k/6", "v")
		for want := int64(3); want <= 6; want++ {
			if ev := recv(t, ch); ev.Rev != want || ev.KV.Key != fmt.Sprintf("k/%d", want) {
				t.Fatalf("got %+v, want rev %d", ev, want)
			}
		}
		expectQuiet(t, ch)

		// A watch starting at the current revision replays nothing.
		ch, err = s.Watch(t.Context(), "k/", s.Rev())
		if err != nil {
			t.Fatal(err)
		}
		expectQuiet(t, ch)
	})
}

func TestWatchCompacted(t *testing.T) {
	o := options{history: 4, backlog: 8}
	conformance(t, o, func(t *testing.T, s Store) {
		for i := range 10 {
			put(t, s, fmt.Sprintf("k/%d", i), "v")
		}
		// Revisions 7..10 are held, so afterRev 6 works and 5 does not.
		if _, err := s.Watch(t.Context(), "", 5); !errors.Is(err, ErrCompacted) {
			t.Errorf("Watch(5) err = %v, want ErrCompacted", err)
		}
		ch, err := s.Watch(t.Context(), "", 6)
		if err != nil {
			t.Fatal(err)
		}
		for want := int64(7); want <= 10; want++ {
			if ev := recv(t, ch); ev.Rev != want {
				t.Fatalf("replayed rev %d, want %d", ev.Rev, want)
			}
		}
		// One revision with more events than the ring holds cannot be
		// replayed from before it.
		rev := put(t, s, "b/1", "", "b/2", "", "b/3", "", "b/4", "", "b/5", "")
		if _, err := s.Watch(t.Context(), "", rev-1); !errors.Is(err, ErrCompacted) {
			t.Errorf("Watch across a partly dropped revision: err = %v, want ErrCompacted", err)
		}
		if _, err := s.Watch(t.Context(), "", rev); err != nil {
			t.Errorf("Watch(current) = %v", err)
		}
	})
}

func TestWatchClosedOnCancel(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := s.Watch(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		expectClosed(t, ch)
		put(t, s, "a", "1") // publishing to nobody must not fail or block
	})
}

func TestSlowWatcherDropped(t *testing.T) {
	o := options{history: 8, backlog: 16}
	conformance(t, o, func(t *testing.T, s Store) {
		slow, err := s.Watch(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := s.Watch(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		const total = 200
		// The reading watcher is kept in lockstep with the writer, so only the
		// one that never reads can fall behind.
		writersDone := make(chan struct{})
		go func() {
			defer close(writersDone)
			for i := range total {
				rev, err := s.Update(func(tx Tx) error {
					tx.Put(fmt.Sprintf("k/%d", i), []byte("v"))
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				select {
				case ev, ok := <-fast:
					if !ok || ev.Rev != rev {
						t.Errorf("reading watcher: got %+v (open %v), want rev %d", ev, ok, rev)
						return
					}
				case <-time.After(5 * time.Second):
					t.Error("reading watcher got nothing within 5s")
					return
				}
			}
		}()
		select {
		case <-writersDone:
		case <-time.After(30 * time.Second):
			t.Fatal("writers blocked by a watcher that does not read")
		}
		n := expectClosed(t, slow)
		if n >= total {
			t.Errorf("slow watcher got all %d events; it should have been dropped", n)
		}
	})
}

func TestConcurrentCounters(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		const workers, rounds, counters = 8, 25, 3
		ch, err := s.Watch(t.Context(), "counter/", 0)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					key := fmt.Sprintf("counter/%d", (w+r)%counters)
					_, err := s.Update(func(tx Tx) error {
						var n int
						if _, err := GetJSON(tx, key, &n); err != nil {
							return err
						}
						return PutJSON(tx, key, n+1)
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
			wg.Go(func() { // readers race with the writers
				for range rounds {
					s.View(func(tx ReadTx) error { tx.List("counter/"); return nil })
				}
			})
		}
		wg.Wait()
		total := 0
		for _, kv := range list(t, s, "counter/") {
			var n int
			if _, err := GetJSON(viewTx(t, s), kv.Key, &n); err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if total != workers*rounds || s.Rev() != workers*rounds {
			t.Errorf("sum of counters %d, Rev %d; want %d", total, s.Rev(), workers*rounds)
		}
		for want := int64(1); want <= workers*rounds; want++ {
			if ev := recv(t, ch); ev.Rev != want {
				t.Fatalf("watch rev %d, want %d", ev.Rev, want)
			}
		}
	})
}

// viewTx returns a snapshot that stays valid after View returns, for tests
// that want ReadTx outside a closure.
func viewTx(t *testing.T, s Store) ReadTx {
	t.Helper()
	snap := &mapTx{}
	if err := s.View(func(tx ReadTx) error {
		snap.kvs = tx.List("")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return snap
}

type mapTx struct{ kvs []KV }

func (m *mapTx) Get(key string) (KV, bool) {
	for _, kv := range m.kvs {
		if kv.Key == key {
			return kv, true
		}
	}
	return KV{}, false
}

func (m *mapTx) List(string) []KV { return m.kvs }

func TestJSONHelpers(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		type fn struct {
			Name string
			Mem  int
		}
		if _, err := s.Update(func(tx Tx) error {
			if err := PutJSON(tx, "f", fn{"hello", 128}); err != nil {
				return err
			}
			if err := PutJSON(tx, "bad", make(chan int)); err == nil {
				return errors.New("PutJSON of a channel succeeded")
			}
			tx.Put("garbage", []byte("{"))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		s.View(func(tx ReadTx) error {
			var got fn
			if ok, err := GetJSON(tx, "f", &got); !ok || err != nil || got != (fn{"hello", 128}) {
				t.Errorf("GetJSON = %v, %v, %+v", ok, err, got)
			}
			untouched := fn{Name: "keep"}
			if ok, err := GetJSON(tx, "missing", &untouched); ok || err != nil || untouched.Name != "keep" {
				t.Errorf("GetJSON(missing) = %v, %v, %+v", ok, err, untouched)
			}
			if ok, err := GetJSON(tx, "garbage", &got); !ok || err == nil {
				t.Errorf("GetJSON(garbage) = %v, %v; want true and an error", ok, err)
			}
			if _, ok := tx.Get("bad"); ok {
				t.Error("failed PutJSON stored something")
			}
			return nil
		})
	})
}

func TestClose(t *testing.T) {
	conformance(t, defaultOptions, func(t *testing.T, s Store) {
		put(t, s, "a", "1")
		ch, err := s.Watch(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case _, ok := <-ch:
			if ok {
				t.Error("event after Close")
			}
		default:
			t.Error("watch channel still open after Close returned")
		}
		if _, err := s.Update(func(Tx) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Errorf("Update after Close: %v", err)
		}
		if err := s.View(func(ReadTx) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Errorf("View after Close: %v", err)
		}
		if _, err := s.Watch(t.Context(), "", 0); !errors.Is(err, ErrClosed) {
			t.Errorf("Watch after Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
