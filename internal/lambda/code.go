package lambda

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/lambdaplane/lambdaplane/internal/codezip"
)

// codeStore keeps deployment packages content-addressed under one directory:
// HEX.zip is the package as uploaded, HEX/ its extracted tree. Functions and
// versions with the same package share both.
type codeStore struct {
	dir    string
	limits codezip.Limits
	mu     sync.Mutex // serializes extraction and gc
	// inFlight counts requests that stored a package but have not yet
	// committed the function that references it; gc keeps those.
	inFlight map[string]int
}

type codeInfo struct {
	sha256B64 string
	hex       string
	size      int64
	unzipped  int64
}

func newCodeStore(dir string) (*codeStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &codeStore{dir: dir, limits: codezip.DefaultLimits, inFlight: map[string]int{}}, nil
}

func (c *codeStore) treeDir(hexSum string) string { return filepath.Join(c.dir, hexSum) }
func (c *codeStore) zipPath(hexSum string) string { return filepath.Join(c.dir, hexSum+".zip") }

// put validates and stores a package. It runs before the store transaction
// that references it; the caller calls done(info.hex) after that transaction,
// whatever its outcome. A package nobody references is removed by gc.
func (c *codeStore) put(zip []byte) (codeInfo, error) {
	sum := sha256.Sum256(zip)
	info := codeInfo{
		sha256B64: base64.StdEncoding.EncodeToString(sum[:]),
		hex:       hex.EncodeToString(sum[:]),
		size:      int64(len(zip)),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight[info.hex]++
	tree := c.treeDir(info.hex)
	if _, err := os.Stat(tree); err == nil {
		n, err := dirSize(tree)
		info.unzipped = n
		return info, err
	}
	x, err := codezip.Extract(zip, tree, c.limits)
	switch {
	case errors.Is(err, codezip.ErrTooLarge):
		return info, errInvalidParameter("Unzipped size must be smaller than %d bytes", c.limits.MaxUnzipped)
	case errors.Is(err, codezip.ErrNotZip):
		return info, errInvalidParameter("Could not unzip uploaded file. Please check your file, then try to upload again.")
	case errors.Is(err, codezip.ErrUnsafe):
		return info, errInvalidParameter("Could not unzip uploaded file. Please check your file, then try to upload again. (%v)", err)
	case err != nil:
		return info, fmt.Errorf("extract deployment package: %w", err)
	}
	info.unzipped = x.UnzippedSize
	if err := os.WriteFile(c.zipPath(info.hex)+".tmp", zip, 0o644); err != nil {
		os.RemoveAll(tree)
		return info, err
	}
	if err := os.Rename(c.zipPath(info.hex)+".tmp", c.zipPath(info.hex)); err != nil {
		os.RemoveAll(tree)
		return info, err
	}
	return info, nil
}

func (c *codeStore) done(hexSum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight[hexSum]--; c.inFlight[hexSum] <= 0 {
		delete(c.inFlight, hexSum)
	}
}

func (c *codeStore) readZip(hexSum string) ([]byte, error) { return os.ReadFile(c.zipPath(hexSum)) }

// gc removes every package whose hex digest is not in keep.
func (c *codeStore) gc(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		h := name
		if filepath.Ext(name) == ".zip" {
			h = name[:len(name)-4]
		}
		if len(h) == 64 && !keep[h] && c.inFlight[h] == 0 {
			os.RemoveAll(filepath.Join(c.dir, name))
		}
	}
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// hexFromB64 turns a stored CodeSha256 back into the directory name.
func hexFromB64(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(raw)
}

// readZipStat reports whether a package's extracted tree is present.
func (c *codeStore) readZipStat(hexSum string) (os.FileInfo, error) {
	return os.Stat(c.treeDir(hexSum))
}
