package netplane

import (
	"errors"
	"fmt"
	"github.com/vishvananda/netlink"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named namespaces are bind-mounted (iproute2's convention,
// so that `ip netns exec` sees them).
const netnsDir = "/run/netns"

// Do runs fn on an OS thread that has entered the named network namespace.
// Every kernel call of this package that depends on a namespace goes
// through Do, so no call can land in the host namespace by accident.
//
// fn runs on a goroutine of its own whose thread is locked; goroutines that
// fn starts run elsewhere and do not inherit the namespace (sockets do:
// a socket belongs to the namespace it was created in). If the thread
// cannot return to its original namespace it is never unlocked, so the Go
// runtime discards it instead of reusing it.
func Do(name string, fn func() error) error {
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("netplane: open namespace %s: %w", name, err)
	}
	defer target.Close()
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("netplane: current namespace: %w", err)}
			return
		}
		defer orig.Close()
		if orig.Equal(target) {
			// A name that leads back to where we are (the host, most
			// likely) must never be configured as if it were ours.
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("netplane: namespace %s is the caller's own namespace", name)}
			return
		}
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("netplane: enter namespace %s: %w", name, err)}
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			done <- result{errors.Join(ferr, fmt.Errorf("netplane: leave namespace %s: %w", name, err))}
			return // thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		done <- result{ferr}
	}()
	return (<-done).err
}

// isNetns reports whether path is a mounted network namespace rather than
// the bare file a crash between create and mount leaves behind.
func isNetns(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// ensureNS creates the named namespace unless it exists; it reports whether
// it created one.
func ensureNS(name string) (bool, error) {
	path := filepath.Join(netnsDir, name)
	if isNetns(path) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("netplane: remove stale %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer orig.Close()
		// NewNamed moves this thread into the new namespace.
		created, nerr := netns.NewNamed(name)
		if nerr == nil {
			created.Close()
		}
		if err := netns.Set(orig); err != nil {
			done <- errors.Join(nerr, err)
			return // thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		done <- nerr
	}()
	if err := <-done; err != nil {
		return false, fmt.Errorf("netplane: create namespace %s: %w", name, err)
	}
	return true, nil
}

func deleteNS(name string) error {
	path := filepath.Join(netnsDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netplane: unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netplane: remove %s: %w", path, err)
	}
	return nil
}

// ownedNS lists the named namespaces that carry prefix.
func ownedNS(prefix string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netplane: list namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		if owned(prefix, e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// setSysctl writes a net sysctl of the namespace the calling thread is in
// (/proc/sys/net follows the thread's namespace); it must run inside Do.
func setSysctl(key, value string) (bool, error) {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	cur, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("netplane: sysctl %s: %w", key, err)
	}
	if strings.TrimSpace(string(cur)) == value {
		return false, nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return false, fmt.Errorf("netplane: sysctl %s=%s: %w", key, value, err)
	}
	return true, nil
}

// waitOperUp waits (in the calling namespace) until the kernel reports the
// link operationally up. A veth pair comes up asynchronously once both ends
// are up, and until then it drops what it is given: without the wait, the
// first packet of whatever uses a new link (a function's first connection)
// would be lost and retried a second later.
func waitOperUp(name string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		link, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		if link.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netplane: link %s is not up after 2s (state %s)", name, link.Attrs().OperState)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
