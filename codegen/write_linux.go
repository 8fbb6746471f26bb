//go:build linux

package codegen

import "golang.org/x/sys/unix"

// exchange swaps directories a and b in one step (renameat2
// RENAME_EXCHANGE): there is no moment without a package at b.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
