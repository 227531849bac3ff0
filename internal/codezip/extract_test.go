package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

var testLimits = Limits{MaxUnzipped: 1 << 20, MaxFiles: 10}

// extract runs Extract into a fresh directory and checks that a failure left
// nothing behind.
func extract(t *testing.T, data []byte, lim Limits) (string, Info, error) {
	t.Helper()
	root := t.TempDir()
	dest := filepath.Join(root, "out")
	info, err := Extract(data, dest, lim)
	if err != nil {
		if names := dirNames(t, root); len(names) != 0 {
			t.Errorf("failed Extract left %v behind", names)
		}
	}
	return dest, info, err
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestExtractPackage(t *testing.T) {
	// Modes must not depend on the server's umask.
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	dest, info, err := extract(t, seeds(t)["good"], testLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		mode fs.FileMode
		body string // file content or link target
	}{
		"":             {fs.ModeDir | 0o755, ""},
		"bootstrap":    {0o755, "#!/bin/sh\necho hi\n"},
		"lib":          {fs.ModeDir | 0o755, ""},
		"lib/a.py":     {0o644, "print(1)\n"},
		"lib/pkg":      {fs.ModeDir | 0o755, ""},
		"lib/pkg/b.py": {0o644, "print(2)\n"},
		"lib/pkg/c.sh": {0o755, "exit 0\n"},
		"lib/current":  {fs.ModeSymlink, "pkg"},
		"bin":          {fs.ModeDir | 0o755, ""},
		"bin/tool":     {fs.ModeSymlink, "../lib/pkg/c.sh"},
		"self":         {fs.ModeSymlink, "."},
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		if rel == "." {
			rel = ""
		}
		seen[rel] = true
		w, ok := want[rel]
		if !ok {
			t.Errorf("unexpected %q", rel)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case w.mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil || target != w.body {
				t.Errorf("%s -> %q, %v; want -> %q", rel, target, err, w.body)
			}
		case fi.Mode() != w.mode:
			t.Errorf("%s mode %v, want %v", rel, fi.Mode(), w.mode)
		case !fi.IsDir():
			if b, _ := os.ReadFile(p); string(b) != w.body {
				t.Errorf("%s = %q, want %q", rel, b, w.body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range want {
		if !seen[rel] {
			t.Errorf("%q missing", rel)
		}
	}
	// Links work where they point.
	if b, err := os.ReadFile(filepath.Join(dest, "bin/tool")); err != nil || string(b) != "exit 0\n" {
		t.Errorf("reading through bin/tool: %q, %v", b, err)
	}
	wantSize := int64(len("#!/bin/sh\necho hi\n") + len("print(1)\n") + len("print(2)\n") + len("exit 0\n") + len("pkg") + len("../lib/pkg/c.sh") + len("."))
	if info.Files != 7 || info.UnzippedSize != wantSize {
		t.Errorf("Info = %+v, want 7 files, %d bytes", info, wantSize)
	}
}

func TestWindowsZipHasNoExecBit(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create(`handler.py`) // FAT creator, no unix mode
	f.Write([]byte("x"))
	w.Close()
	dest, _, err := extract(t, buf.Bytes(), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "handler.py")); err != nil || fi.Mode() != 0o644 {
		t.Errorf("handler.py: %v, %v; want 0644", fi.Mode(), err)
	}
}

func TestExtractRefusesUnsafe(t *testing.T) {
	s := seeds(t)
	for _, name := range []string{
		"dotdot", "absolute", "inner-dotdot", "backslash", "inner-backslash", "nul",
		"link-abs", "link-abs-then-file", "link-up", "link-chain", "link-chain-reversed", "link-chain-later",
		"link-loop", "file-through-link", "file-over-link", "link-over-file",
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "root")
			os.Mkdir(root, 0o755)
			_, err := Extract(s[name], filepath.Join(root, "out"), testLimits)
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("err = %v, want ErrUnsafe", err)
			}
			if names := dirNames(t, root); len(names) != 0 {
				t.Errorf("left %v behind", names)
			}
			if names := dirNames(t, base); !slices.Equal(names, []string{"root"}) {
				t.Errorf("wrote outside the root: %v", names)
			}
		})
	}
	if _, err := os.Lstat("/etc/lp-codezip-test"); err == nil {
		t.Error("/etc/lp-codezip-test was created")
	}
}

func TestExtractMoreUnsafe(t *testing.T) {
	for name, data := range map[string][]byte{
		"dir-through-link":  mkzip(t, link("l", "."), zent{name: "l/d/"}),
		"link-through-link": mkzip(t, zent{name: "d/"}, link("l", "d"), link("l/x", "..")),
		"fifo":              mkzip(t, zent{name: "p", mode: fs.ModeNamedPipe | 0o644}),
		"device":            mkzip(t, zent{name: "sda", mode: fs.ModeDevice | 0o644}),
		"empty-target":      mkzip(t, link("l", "")),
		"backslash-target":  mkzip(t, link(`l`, `..\..\x`)),
		"deep-escape":       mkzip(t, link("a/b/c/l", "../../../../x")),
		"dot-only":          mkzip(t, zent{name: ".", body: "x"}),
		"link-dup-link":     mkzip(t, link("l", "a"), link("l", "b")),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := extract(t, data, testLimits); !errors.Is(err, ErrUnsafe) {
				t.Fatalf("err = %v, want ErrUnsafe", err)
			}
		})
	}
}

func TestExtractAllowsLinksThatStayInside(t *testing.T) {
	data := mkzip(t,
		zent{name: "node_modules/pkg/bin/cli.js", body: "x", mode: 0o755},
		link("node_modules/.bin/cli", "../pkg/bin/cli.js"),
		link("lib/libz.so", "libz.so.1"), // dangling until the next entry
		zent{name: "lib/libz.so.1", body: "elf"},
		link("a/b/up", "../.."),           // the root itself
		link("via", "a/b/up/lib/libz.so"), // through two links
		link("dangling", "nope/x"),
	)
	dest, info, err := extract(t, data, Limits{MaxUnzipped: 1 << 20, MaxFiles: 100})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "via")); err != nil || string(b) != "elf" {
		t.Errorf("via: %q, %v", b, err)
	}
	if info.Files != 7 {
		t.Errorf("Files = %d, want 7", info.Files)
	}
}

func TestExtractBombs(t *testing.T) {
	s := seeds(t)
	for _, name := range []string{"bomb-honest", "bomb-lying"} {
		t.Run(name, func(t *testing.T) {
			if len(s[name]) > 16<<10 {
				t.Fatalf("test archive is %d bytes; a bomb should be small", len(s[name]))
			}
			_, _, err := extract(t, s[name], testLimits)
			// A lying header is caught either by our byte count or by
			// archive/zip noticing the size mismatch; both must refuse.
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNotZip) {
				t.Fatalf("err = %v, want ErrTooLarge or ErrNotZip", err)
			}
		})
	}
	t.Run("many-files", func(t *testing.T) {
		var ents []zent
		for i := range 5 {
			ents = append(ents, zent{name: fmt.Sprint(i), body: strings.Repeat("x", 300<<10)})
		}
		if _, _, err := extract(t, mkzip(t, ents...), testLimits); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("at-limit", func(t *testing.T) {
		data := mkzip(t, zent{name: "f", body: strings.Repeat("x", int(testLimits.MaxUnzipped))})
		if _, info, err := extract(t, data, testLimits); err != nil || info.UnzippedSize != testLimits.MaxUnzipped {
			t.Fatalf("archive of exactly the limit: %+v, %v", info, err)
		}
	})
}

// The header check catches honest archives before decompression, so the
// byte count is tested on its own: it must stop a stream whatever it claims.
func TestBudgetStopsAtLimit(t *testing.T) {
	b := &budget{left: 1000}
	r := &budgetReader{r: bytes.NewReader(make([]byte, 1<<20)), b: b, name: "f"}
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if n > 1001 || b.used > 1001 {
		t.Errorf("read %d bytes (used %d) past a 1000-byte budget", n, b.used)
	}
	b = &budget{left: 1000}
	r = &budgetReader{r: bytes.NewReader(make([]byte, 1000)), b: b, name: "f"}
	if n, err := io.Copy(io.Discard, r); err != nil || n != 1000 {
		t.Errorf("exactly the budget: %d, %v", n, err)
	}
}

func TestExtractTooManyFiles(t *testing.T) {
	var ents []zent
	for i := range testLimits.MaxFiles {
		ents = append(ents, zent{name: fmt.Sprint(i), body: "x"})
	}
	if _, _, err := extract(t, mkzip(t, ents...), testLimits); err != nil {
		t.Fatalf("exactly MaxFiles files: %v", err)
	}
	ents = append(ents, zent{name: "one-more", body: "x"})
	if _, _, err := extract(t, mkzip(t, ents...), testLimits); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxFiles+1 files: err = %v, want ErrTooLarge", err)
	}
	// Implicit directories count: one file 11 levels deep is 11 entries.
	if _, _, err := extract(t, seeds(t)["too-many"], testLimits); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("deep path: err = %v, want ErrTooLarge", err)
	}
}

func TestExtractCorrupt(t *testing.T) {
	s := seeds(t)
	data := []byte("hello")
	cases := map[string][]byte{
		"empty":          {},
		"not-zip":        []byte("this is not a zip file at all, just text"),
		"corrupt":        s["corrupt"],
		"truncated":      s["truncated"],
		"bad-crc":        mkrawzip(t, "f", zip.Store, data, 12345, uint64(len(data)), 0),
		"bad-deflate":    mkrawzip(t, "f", zip.Deflate, []byte{0xff, 0xff, 0xff, 0xff}, 0, 10, 0),
		"unknown-method": mkrawzip(t, "f", 99, data, crc32.ChecksumIEEE(data), uint64(len(data)), 0),
		"encrypted":      mkrawzip(t, "f", zip.Store, data, crc32.ChecksumIEEE(data), uint64(len(data)), 0x1),
		"file-and-dir":   mkzip(t, zent{name: "a", body: "x"}, zent{name: "a/b", body: "y"}),
		"dir-then-file":  mkzip(t, zent{name: "a/"}, zent{name: "a", body: "x"}),
		// The first file is written before the second turns out broken.
		"late-failure": func() []byte {
			good := mkzip(t, zent{name: "ok", body: "fine"})
			bad := mkrawzip(t, "bad", zip.Store, data, 12345, uint64(len(data)), 0)
			return concatZips(t, good, bad)
		}(),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := extract(t, data, testLimits); !errors.Is(err, ErrNotZip) {
				t.Fatalf("err = %v, want ErrNotZip", err)
			}
		})
	}
}

// concatZips makes one archive holding the raw entries of both.
func concatZips(t *testing.T, zips ...[]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, z := range zips {
		r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.File {
			if err := w.Copy(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Close()
	return buf.Bytes()
}

func TestDuplicateFileLastWins(t *testing.T) {
	dest, info, err := extract(t, mkzip(t, zent{name: "f", body: "first"}, zent{name: "./f", body: "second", mode: 0o755}), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dest, "f"))
	if b, _ := os.ReadFile(filepath.Join(dest, "f")); string(b) != "second" || fi.Mode() != 0o755 || info.Files != 1 {
		t.Errorf("f = %q %v, Files %d; want the last copy", b, fi.Mode(), info.Files)
	}
}

func TestExtractDestMustNotExist(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "out")
	os.Mkdir(dest, 0o755)
	os.WriteFile(filepath.Join(dest, "keep"), []byte("x"), 0o644)
	if _, err := Extract(seeds(t)["good"], dest, testLimits); err == nil {
		t.Fatal("Extract into an existing directory succeeded")
	}
	if names := dirNames(t, dest); !slices.Equal(names, []string{"keep"}) {
		t.Errorf("existing dest changed: %v", names)
	}
}
