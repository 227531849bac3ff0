//go:build !linux

package netctl

import (
	"errors"
	"time"
)

type nsID struct{}

type spawnSpec struct {
	argv       []string
	script     []byte
	hostname   string
	resolvConf string
}

func killStale(netns string) int { return 0 }

func spawn(netns string, sp spawnSpec) (*instanceProc, error) {
	return nil, errors.New("netctl: instances run only on Linux")
}

func kill(p *instanceProc, grace time.Duration) {}
