package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"strings"
	"sync"
)

// maxCachedKeys bounds the signing-key cache; keys change daily per
// (secret, region, service), so a reset now and then costs little.
const maxCachedKeys = 4096

// signingKey is a derived SigV4 key with a pool of HMACs already keyed with
// it, so that signing a request allocates no hash state.
type signingKey struct {
	key  []byte
	macs sync.Pool
}

func (k *signingKey) sign(dst, msg []byte) []byte {
	h, _ := k.macs.Get().(hash.Hash)
	if h == nil {
		h = hmac.New(sha256.New, k.key)
	} else {
		h.Reset()
	}
	h.Write(msg)
	dst = h.Sum(dst)
	k.macs.Put(h)
	return dst
}

type scopeKey struct{ secret, date, region, service string }

// keyCache caches derived signing keys per (secret, date, region, service):
// deriving one costs four HMACs, verifying with a cached one costs one.
type keyCache struct {
	mu   sync.RWMutex
	keys map[scopeKey]*signingKey
}

func (c *keyCache) get(secret, date, region, service string) *signingKey {
	sk := scopeKey{secret, date, region, service}
	c.mu.RLock()
	k := c.keys[sk]
	c.mu.RUnlock()
	if k != nil {
		return k
	}
	k = &signingKey{key: deriveKey(secret, date, region, service)}
	// The scope strings point into request headers; keep copies instead.
	sk = scopeKey{strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[scopeKey]*signingKey)
	}
	c.keys[sk] = k
	c.mu.Unlock()
	return k
}

func deriveKey(secret, date, region, service string) []byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k, region)
	k = hmacSum(k, service)
	return hmacSum(k, terminator)
}

func hmacSum(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
