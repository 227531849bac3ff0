// Package repo finds the lambdaplane module the benches build from.
package repo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Root is the module root, so that a bench builds the tree it lives in
// whatever directory it is started from.
func Root() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the lambdaplane module; run from the repository")
	}
	return filepath.Dir(mod), nil
}
