package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Sentinel errors, so callers can answer with AWS's texts. Returned errors
// wrap one of them together with the offending entry's name.
var (
	// ErrNotZip: the data is not a zip archive, is corrupt, or cannot be
	// unpacked as a file tree (encrypted, unknown compression, names too
	// long, a file where a directory must be).
	ErrNotZip = errors.New("codezip: not a valid zip file")
	// ErrTooLarge: more decompressed bytes or file-system entries than the
	// limits allow.
	ErrTooLarge = errors.New("codezip: archive exceeds the unzipped size or file count limit")
	// ErrUnsafe: an entry would be written, or a symlink would point,
	// outside the destination.
	ErrUnsafe = errors.New("codezip: unsafe archive entry")
)

// Info describes an extracted archive.
type Info struct {
	Files        int   // regular files and symlinks created
	UnzippedSize int64 // bytes actually decompressed
}

// Linux's PATH_MAX and NAME_MAX: longer names cannot be created anyway, and
// bounding them bounds the work done per entry.
const (
	maxPath = 4096
	maxName = 255
)

type kind int

const (
	kindDir kind = iota + 1
	kindFile
	kindLink
)

type entry struct {
	f      *zip.File
	rel    string // cleaned, slash-separated, relative to the root
	kind   kind
	target string // symlinks only
}

// Extract unpacks zipData into dest, which must not exist yet. The tree is
// built in a private directory next to dest and renamed into place, so on
// error nothing is left behind. Zero fields in lim mean DefaultLimits'.
//
// Everything about the archive is checked before anything is written: names,
// the entry count and declared sizes, and where every symlink leads given all
// the others. Symlinks are created last, so no file is ever written through
// one.
func Extract(zipData []byte, dest string, lim Limits) (Info, error) {
	dest = filepath.Clean(dest)
	if lim.MaxUnzipped <= 0 {
		lim.MaxUnzipped = DefaultLimits.MaxUnzipped
	}
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultLimits.MaxFiles
	}
	if _, err := os.Lstat(dest); err == nil {
		return Info{}, fmt.Errorf("codezip: %s already exists", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("codezip: %w", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	// ErrInsecurePath (GODEBUG zipinsecurepath=0) comes with a usable
	// reader; our own checks below reject those names with a better error.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Info{}, fmt.Errorf("%w: %v", ErrNotZip, err)
	}

	parent := filepath.Dir(dest)
	// Room for the temporary directory's name and a separator.
	maxRel := maxPath - len(parent) - 32
	entries, nodes, err := plan(zr.File, lim, maxRel)
	if err != nil {
		return Info{}, err
	}
	b := &budget{left: lim.MaxUnzipped}
	if err := readLinkTargets(entries, b); err != nil {
		return Info{}, err
	}
	if err := checkLinks(entries); err != nil {
		return Info{}, err
	}

	tmp, err := os.MkdirTemp(parent, ".codezip-")
	if err != nil {
		return Info{}, fmt.Errorf("codezip: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	info, err := write(tmp, entries, nodes, b)
	if err != nil {
		return Info{}, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Info{}, fmt.Errorf("codezip: %w", err)
	}
	if err := renameNoReplace(tmp, dest); err != nil {
		return Info{}, fmt.Errorf("codezip: %w", err)
	}
	done = true
	return info, nil
}

// plan validates names and types and returns the entries to create, in
// archive order (for a file named more than once only the last copy, as
// unzip's overwrite leaves it), plus every path that will exist, implicit
// parent directories included.
func plan(files []*zip.File, lim Limits, maxRel int) ([]entry, map[string]kind, error) {
	nodes := map[string]kind{}
	var all []entry
	for _, f := range files {
		if f.Flags&0x1 != 0 {
			return nil, nil, fmt.Errorf("%w: %q is encrypted", ErrNotZip, f.Name)
		}
		rel, err := cleanName(f.Name, maxRel)
		if err != nil {
			return nil, nil, err
		}
		k, err := kindOf(f)
		if err != nil {
			return nil, nil, err
		}
		if rel == "" {
			if k == kindDir {
				continue // "./" names the root itself
			}
			return nil, nil, fmt.Errorf("%w: %q has an empty name", ErrUnsafe, f.Name)
		}
		if old, dup := nodes[rel]; dup {
			switch {
			case old == kindLink || k == kindLink:
				return nil, nil, fmt.Errorf("%w: %q duplicates an entry and one of them is a symlink", ErrUnsafe, f.Name)
			case old != k:
				return nil, nil, fmt.Errorf("%w: %q is both a file and a directory", ErrNotZip, f.Name)
			}
		}
		nodes[rel] = k
		if len(nodes) > lim.MaxFiles {
			return nil, nil, fmt.Errorf("%w: more than %d files", ErrTooLarge, lim.MaxFiles)
		}
		all = append(all, entry{f: f, rel: rel, kind: k})
	}

	// Parents must be real directories. Each distinct parent is walked once,
	// which keeps deep trees linear.
	walked := map[string]bool{}
	for _, e := range all {
		for dir := path.Dir(e.rel); dir != "."; dir = path.Dir(dir) {
			switch nodes[dir] {
			case kindLink:
				return nil, nil, fmt.Errorf("%w: %q would be written through symlink %q", ErrUnsafe, e.f.Name, dir)
			case kindFile:
				return nil, nil, fmt.Errorf("%w: %q is inside %q, which is a file", ErrNotZip, e.f.Name, dir)
			}
			if walked[dir] {
				break
			}
			walked[dir] = true
			nodes[dir] = kindDir
			if len(nodes) > lim.MaxFiles {
				return nil, nil, fmt.Errorf("%w: more than %d files and directories", ErrTooLarge, lim.MaxFiles)
			}
		}
	}

	var entries []entry
	last := map[string]int{}
	for i, e := range all {
		last[e.rel] = i
	}
	var declared uint64
	for i, e := range all {
		if e.kind == kindDir || last[e.rel] != i {
			continue
		}
		// Declared sizes are only a fast way to refuse an honest oversized
		// archive; the budget counts what is really decompressed.
		declared += min(e.f.UncompressedSize64, uint64(lim.MaxUnzipped)+1)
		if declared > uint64(lim.MaxUnzipped) {
			return nil, nil, fmt.Errorf("%w: unzipped size over %d bytes", ErrTooLarge, lim.MaxUnzipped)
		}
		entries = append(entries, e)
	}
	return entries, nodes, nil
}

// cleanName turns an entry name into a path relative to the root, refusing
// anything that could leave it. Backslashes are ordinary characters on Linux
// (as in Lambda), but a name that would escape if they were separators is
// refused too.
func cleanName(name string, maxRel int) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: entry with an empty name", ErrUnsafe)
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("%w: %q contains a NUL byte", ErrUnsafe, name)
	case strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`):
		return "", fmt.Errorf("%w: %q is an absolute path", ErrUnsafe, name)
	case hasDotDot(name):
		return "", fmt.Errorf("%w: %q refers to a parent directory", ErrUnsafe, name)
	case len(name) > maxRel:
		return "", fmt.Errorf("%w: %q: name too long", ErrNotZip, name)
	}
	var parts []string
	for _, c := range strings.Split(name, "/") {
		if c == "" || c == "." {
			continue
		}
		if len(c) > maxName {
			return "", fmt.Errorf("%w: %q: name too long", ErrNotZip, name)
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, "/"), nil
}

func hasDotDot(p string) bool {
	return slices.Contains(strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }), "..")
}

func kindOf(f *zip.File) (kind, error) {
	m := f.Mode()
	switch {
	case m&fs.ModeSymlink != 0:
		return kindLink, nil
	case m.IsDir() || strings.HasSuffix(f.Name, "/"):
		return kindDir, nil
	case m.Type() != 0:
		// Devices, pipes and sockets: creating them is never what a
		// function package means, and device nodes would be dangerous.
		return 0, fmt.Errorf("%w: %q has unsupported file type %v", ErrUnsafe, f.Name, m.Type())
	}
	return kindFile, nil
}

// budget counts decompressed bytes against MaxUnzipped.
type budget struct {
	left int64
	used int64
}

// budgetReader reads one entry. Its errors already carry the right sentinel:
// ErrTooLarge past the budget, ErrNotZip for anything wrong with the data.
type budgetReader struct {
	r    io.Reader
	b    *budget
	name string
}

func (br *budgetReader) Read(p []byte) (int, error) {
	// Ask for one byte more than allowed, to notice going over.
	if int64(len(p)) > br.b.left+1 {
		p = p[:br.b.left+1]
	}
	n, err := br.r.Read(p)
	br.b.used += int64(n)
	br.b.left -= int64(n)
	if br.b.left < 0 {
		return n, fmt.Errorf("%w: unzipped size over the limit at %q", ErrTooLarge, br.name)
	}
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("%w: %q: %v", ErrNotZip, br.name, err)
	}
	return n, err
}

func (b *budget) open(f *zip.File) (io.ReadCloser, io.Reader, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %q: %v", ErrNotZip, f.Name, err)
	}
	return rc, &budgetReader{r: rc, b: b, name: f.Name}, nil
}

func readLinkTargets(entries []entry, b *budget) error {
	for i := range entries {
		e := &entries[i]
		if e.kind != kindLink {
			continue
		}
		rc, r, err := b.open(e.f)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(r, maxPath+1))
		rc.Close()
		if err != nil {
			return err
		}
		target := string(data)
		switch {
		case target == "":
			return fmt.Errorf("%w: symlink %q has an empty target", ErrUnsafe, e.f.Name)
		case len(target) > maxPath:
			return fmt.Errorf("%w: symlink %q: target too long", ErrUnsafe, e.f.Name)
		case strings.ContainsRune(target, 0):
			return fmt.Errorf("%w: symlink %q: target contains a NUL byte", ErrUnsafe, e.f.Name)
		case strings.HasPrefix(target, "/"):
			return fmt.Errorf("%w: symlink %q -> %q: absolute target", ErrUnsafe, e.f.Name, target)
		case strings.Contains(target, `\`) && hasDotDot(target):
			return fmt.Errorf("%w: symlink %q -> %q: backslash path to a parent directory", ErrUnsafe, e.f.Name, target)
		}
		e.target = target
	}
	return nil
}

func write(root string, entries []entry, nodes map[string]kind, b *budget) (Info, error) {
	var dirs []string
	for rel, k := range nodes {
		if k == kindDir {
			dirs = append(dirs, rel)
		}
	}
	// A parent is a prefix of its children, so it sorts first.
	slices.Sort(dirs)
	for _, rel := range dirs {
		p := filepath.Join(root, rel)
		if err := os.Mkdir(p, 0o755); err != nil {
			return Info{}, fmt.Errorf("codezip: %w", err)
		}
		if err := os.Chmod(p, 0o755); err != nil { // whatever the umask
			return Info{}, fmt.Errorf("codezip: %w", err)
		}
	}
	buf := make([]byte, 64<<10)
	var info Info
	for _, e := range entries {
		if e.kind != kindFile {
			continue
		}
		if err := writeFile(filepath.Join(root, e.rel), e.f, b, buf); err != nil {
			return Info{}, err
		}
		info.Files++
	}
	for _, e := range entries {
		if e.kind != kindLink {
			continue
		}
		if err := os.Symlink(e.target, filepath.Join(root, e.rel)); err != nil {
			return Info{}, fmt.Errorf("codezip: %w", err)
		}
		info.Files++
	}
	info.UnzippedSize = b.used
	return info, nil
}

func writeFile(p string, f *zip.File, b *budget, buf []byte) error {
	perm := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		perm = 0o755
	}
	rc, r, err := b.open(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	// O_EXCL|O_NOFOLLOW: the private tree is ours alone and holds no
	// symlinks yet, so this is a second line of defence.
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, perm)
	if err != nil {
		return fmt.Errorf("codezip: %w", err)
	}
	_, err = io.CopyBuffer(out, r, buf)
	if err == nil {
		err = out.Chmod(perm) // whatever the umask
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNotZip) {
			return err
		}
		return fmt.Errorf("codezip: %w", err)
	}
	return nil
}
