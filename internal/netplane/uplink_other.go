//go:build !linux

package netplane

// ConnectUplink needs Linux network namespaces; elsewhere it always fails.
func ConnectUplink(prefix, hostNetnsPath string) error { return errNotLinux }

// DisconnectUplink needs Linux network namespaces; elsewhere it always fails.
func DisconnectUplink(prefix, hostNetnsPath string) error { return errNotLinux }
