package codezip

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func FuzzExtract(f *testing.F) {
	for _, data := range seeds(f) {
		f.Add(data)
	}
	lim := Limits{MaxUnzipped: 1 << 20, MaxFiles: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(root, "out")
		_, err := Extract(data, dest, lim)
		if names := dirNames(t, base); !slices.Equal(names, []string{"root"}) {
			t.Fatalf("created outside the root: %v", names)
		}
		names := dirNames(t, root)
		if err != nil {
			if len(names) != 0 {
				t.Fatalf("failed with %v and left %v", err, names)
			}
			return
		}
		if !slices.Equal(names, []string{"out"}) {
			t.Fatalf("root holds %v, want just out", names)
		}
		checkInside(t, dest)
	})
}

// checkInside follows every symlink under dest with os.Root, which refuses
// to leave dest, as an oracle independent of the extractor's own resolver.
func checkInside(t *testing.T, dest string) {
	r, err := os.OpenRoot(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, _ := filepath.Rel(dest, p)
		if _, err := r.Stat(rel); err != nil && strings.Contains(err.Error(), "path escapes from parent") {
			target, _ := os.Readlink(p)
			t.Errorf("symlink %s -> %s escapes dest", rel, target)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
