package codezip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io/fs"
	"sync"
	"testing"
)

// zent is one entry of a test archive. mode 0 means a plain 0644 file; a
// name ending in "/" is a directory.
type zent struct {
	name string
	body string
	mode fs.FileMode
}

func link(name, target string) zent { return zent{name, target, fs.ModeSymlink | 0o777} }

func mkzip(tb testing.TB, ents ...zent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch {
		case e.mode != 0:
			h.SetMode(e.mode)
		case len(e.name) > 0 && e.name[len(e.name)-1] == '/':
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o644)
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// mkrawzip stores data already compressed with method, under whatever sizes
// the header claims, to build lying and broken archives.
func mkrawzip(tb testing.TB, name string, method uint16, raw []byte, crc uint32, size uint64, flags uint16) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{
		Name:               name,
		Method:             method,
		Flags:              flags,
		CRC32:              crc,
		CompressedSize64:   uint64(len(raw)),
		UncompressedSize64: size,
	}
	h.SetMode(0o644)
	f, err := w.CreateRaw(h)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(raw); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func deflate(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(data)
	fw.Close()
	return buf.Bytes()
}

// bomb is a small archive whose header says 100 bytes but whose data
// inflates to size zero bytes.
func bomb(tb testing.TB, size int) []byte {
	data := make([]byte, size)
	return mkrawzip(tb, "bomb", zip.Deflate, deflate(tb, data), crc32.ChecksumIEEE(data), 100, 0)
}

var (
	seedsOnce sync.Once
	seedsMap  map[string][]byte
)

// seeds are the archives the unit tests use; the fuzzer starts from them.
// Built once: the bombs take a moment to compress.
func seeds(tb testing.TB) map[string][]byte {
	seedsOnce.Do(func() { seedsMap = buildSeeds(tb) })
	if seedsMap == nil {
		tb.Fatal("building the seed archives failed")
	}
	return seedsMap
}

func buildSeeds(tb testing.TB) map[string][]byte {
	big := bytes.Repeat([]byte("A"), 2<<20)
	good := mkzip(tb,
		zent{name: "bootstrap", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		zent{name: "lib/"},
		zent{name: "lib/a.py", body: "print(1)\n"},
		zent{name: "lib/pkg/b.py", body: "print(2)\n", mode: 0o600},
		zent{name: "./lib/pkg/c.sh", body: "exit 0\n", mode: 0o700},
		link("lib/current", "pkg"),
		link("bin/tool", "../lib/pkg/c.sh"),
		link("self", "."),
	)
	corrupt := bytes.Clone(good)
	corrupt[60] ^= 0xff
	return map[string][]byte{
		"good":            good,
		"dotdot":          mkzip(tb, zent{name: "../x", body: "x"}),
		"absolute":        mkzip(tb, zent{name: "/etc/lp-codezip-test", body: "x"}),
		"inner-dotdot":    mkzip(tb, zent{name: "a/../../x", body: "x"}),
		"backslash":       mkzip(tb, zent{name: `..\x`, body: "x"}),
		"inner-backslash": mkzip(tb, zent{name: `a\..\..\x`, body: "x"}),
		"nul":             mkzip(tb, zent{name: "a\x00/../../x", body: "x"}),
		"link-abs-then-file": mkzip(tb, link("etc", "/etc"),
			zent{name: "etc/lp-codezip-test", body: "x"}),
		"link-abs":            mkzip(tb, link("etc", "/etc")),
		"link-up":             mkzip(tb, link("up", "../..")),
		"link-chain":          mkzip(tb, zent{name: "a/b/"}, link("a/b/s", "../.."), link("t", "a/b/s/..")),
		"link-chain-reversed": mkzip(tb, link("t", "a/b/s/.."), link("a/b/s", "../..")),
		"link-chain-later":    mkzip(tb, link("t", "x/.."), link("x", "s"), link("s", ".")),
		"link-loop":           mkzip(tb, link("a", "b"), link("b", "a/x")),
		"file-through-link":   mkzip(tb, zent{name: "sub/"}, link("l", "sub"), zent{name: "l/x", body: "x"}),
		"file-over-link":      mkzip(tb, link("l", "sub"), zent{name: "l", body: "x"}),
		"link-over-file":      mkzip(tb, zent{name: "f", body: "x"}, link("f", "/etc/passwd")),
		"bomb-honest":         mkzip(tb, zent{name: "big", body: string(big)}),
		"bomb-lying":          bomb(tb, 2<<20),
		"corrupt":             corrupt,
		"truncated":           good[:len(good)/2],
		"too-many":            mkzip(tb, zent{name: "a/b/c/d/e/f/g/h/i/j/k/x", body: "x"}),
	}
}
