//go:build !linux

package netplane

import (
	"context"
	"errors"
)

var errNotLinux = errors.New("netplane: the linux data plane needs Linux; use --dataplane=none")

// Apply needs Linux network namespaces; elsewhere it always fails.
func Apply(ctx context.Context, t Topology) error { return errNotLinux }

// Teardown needs Linux network namespaces; elsewhere it always fails.
func Teardown(prefix string) error { return errNotLinux }

// RemoveEnvironments needs Linux network namespaces; elsewhere it always fails.
func RemoveEnvironments(prefix string) error { return errNotLinux }

// ApplyReport needs Linux network namespaces; elsewhere it always fails.
func ApplyReport(ctx context.Context, t Topology) ([]string, error) { return nil, errNotLinux }

// RemoveEnvironmentsReport needs Linux network namespaces; elsewhere it always fails.
func RemoveEnvironmentsReport(prefix string) ([]string, error) { return nil, errNotLinux }
