//go:build !linux

package netplane

// ConnectionCount needs Linux network namespaces; elsewhere it always fails.
func ConnectionCount(prefix, eniID string) (int, error) { return 0, errNotLinux }
