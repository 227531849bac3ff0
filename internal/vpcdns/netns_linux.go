package vpcdns

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// netNS is an open network namespace. Holding the file open keeps using
// the namespace the server started in, even if its name is removed and
// made again meanwhile.
type netNS struct{ fd int }

func openNetNS(path string) (*netNS, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vpcdns: open namespace %s: %w", path, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return nil, fmt.Errorf("vpcdns: %s is not a namespace", path)
	}
	return &netNS{fd: fd}, nil
}

func (n *netNS) close() error {
	if n == nil {
		return nil
	}
	return unix.Close(n.fd)
}

// do runs fn on a goroutine of its own whose thread has entered the
// namespace; a nil namespace is the caller's own. A socket belongs to the
// namespace it was created in for its whole life, so fn only needs to
// create the sockets. If the thread cannot return to its namespace it
// stays locked, and the Go runtime discards it rather than reuse it.
func (n *netNS) do(fn func() error) error {
	if n == nil {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("vpcdns: current namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("vpcdns: enter namespace: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("vpcdns: leave namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// freebind lets a listener bind an address its namespace does not hold
// yet, so that starting the resolver does not depend on the order in
// which the data plane assigns the resolver's addresses.
func freebind(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	}); err != nil {
		return err
	}
	return serr
}
