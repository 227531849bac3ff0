//go:build !linux

package netplane

// AttachEnvironment needs Linux network namespaces; elsewhere it always fails.
func AttachEnvironment(prefix, eniID, envNetns string) (EnvLink, error) {
	return EnvLink{}, errNotLinux
}

// DetachEnvironment needs Linux network namespaces; elsewhere it always fails.
func DetachEnvironment(prefix, eniID, envNetns string) error { return errNotLinux }
