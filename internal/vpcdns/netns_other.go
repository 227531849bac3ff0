//go:build !linux

package vpcdns

import (
	"errors"
	"syscall"
)

type netNS struct{}

func openNetNS(path string) (*netNS, error) {
	return nil, errors.New("vpcdns: serving in a network namespace needs Linux")
}

func (n *netNS) close() error { return nil }

func (n *netNS) do(fn func() error) error { return fn() }

func freebind(_, _ string, _ syscall.RawConn) error { return nil }
