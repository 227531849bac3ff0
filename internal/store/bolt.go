package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketKV   = []byte("kv")
	bucketMeta = []byte("meta")
	metaRev    = []byte("rev")
)

// A record is CreateRev and ModRev, big-endian, then the value.
const recordHeader = 16

// Open opens (creating if needed) the bbolt file at path. The file is locked
// while open; a second Open of the same file fails after a short wait rather
// than hanging.
func Open(path string) (Store, error) {
	s, err := open(path, defaultOptions)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func open(path string, o options) (*kvStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is locked by another process (is another lambdaplane running with the same data dir?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var rev int64
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKV); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(metaRev); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("corrupt revision record (%d bytes)", len(v))
			}
			rev = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return newKVStore(&boltBackend{db: db}, rev, o), nil
}

type boltBackend struct{ db *bolt.DB }

func (b *boltBackend) view(fn func(r reader) error) error {
	err := b.db.View(func(tx *bolt.Tx) error {
		return fn(boltReader{tx.Bucket(bucketKV)})
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (b *boltBackend) begin() (writer, error) {
	tx, err := b.db.Begin(true)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	return &boltWriter{boltReader: boltReader{tx.Bucket(bucketKV)}, tx: tx}, nil
}

func (b *boltBackend) close() error { return b.db.Close() }

type boltReader struct{ kv *bolt.Bucket }

func (r boltReader) get(key string) (KV, bool) {
	v := r.kv.Get([]byte(key))
	if v == nil {
		return KV{}, false
	}
	return decodeRecord(key, v), true
}

func (r boltReader) list(prefix string) []KV {
	var out []KV
	p := []byte(prefix)
	c := r.kv.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		out = append(out, decodeRecord(string(k), v))
	}
	return out
}

type boltWriter struct {
	boltReader
	tx *bolt.Tx
}

func (w *boltWriter) put(kv KV) error {
	rec := make([]byte, recordHeader+len(kv.Value))
	binary.BigEndian.PutUint64(rec[0:8], uint64(kv.CreateRev))
	binary.BigEndian.PutUint64(rec[8:16], uint64(kv.ModRev))
	copy(rec[recordHeader:], kv.Value)
	return w.kv.Put([]byte(kv.Key), rec)
}

func (w *boltWriter) del(key string) error { return w.kv.Delete([]byte(key)) }

func (w *boltWriter) commit(rev int64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(rev))
	if err := w.tx.Bucket(bucketMeta).Put(metaRev, v[:]); err != nil {
		w.tx.Rollback()
		return err
	}
	return w.tx.Commit()
}

func (w *boltWriter) rollback() { w.tx.Rollback() }

// decodeRecord copies out of v, which bbolt only keeps valid for the
// transaction.
func decodeRecord(key string, v []byte) KV {
	if len(v) < recordHeader {
		// Only a damaged file gets here; ReadTx has no error to return and
		// carrying on would hand out invented revisions.
		panic(fmt.Sprintf("store: corrupt record for key %q (%d bytes)", key, len(v)))
	}
	return KV{
		Key:       key,
		Value:     append([]byte{}, v[recordHeader:]...),
		CreateRev: int64(binary.BigEndian.Uint64(v[0:8])),
		ModRev:    int64(binary.BigEndian.Uint64(v[8:16])),
	}
}
