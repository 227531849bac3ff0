//go:build unix && !linux

package codezip

import "syscall"

const noFollow = syscall.O_NOFOLLOW

func renameNoReplace(from, to string) error { return renameChecked(from, to) }
