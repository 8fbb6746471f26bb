//go:build !linux

package codegen

import "errors"

// exchange is Linux's renameat2 RENAME_EXCHANGE; elsewhere Write renames
// twice.
func exchange(a, b string) error { return errors.New("no atomic exchange") }
