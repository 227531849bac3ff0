//go:build !linux

package netctl

import (
	"errors"
	"time"
)

type nsID struct{}

func spawn(netns string, argv []string, script []byte) (*instanceProc, error) {
	return nil, errors.New("netctl: instances run only on Linux")
}

func kill(p *instanceProc, grace time.Duration) {}
