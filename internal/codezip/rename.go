package codezip

import (
	"fmt"
	"os"
)

// renameChecked refuses an existing dest; between the check and the rename
// there is a window that only RENAME_NOREPLACE closes.
func renameChecked(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%s already exists", to)
	}
	return os.Rename(from, to)
}
