//go:build unix

package runtime

import (
	"os"

	"golang.org/x/sys/unix"
)

// openWeightsFlags opens a weights file non-blocking, so that a FIFO is
// refused (it is not a regular file) instead of waiting for a writer.
const openWeightsFlags = os.O_RDONLY | unix.O_NONBLOCK

// mapFile maps the file read-only (shared with the page cache and every
// process mapping it); where mapping fails, it reads the file instead.
func mapFile(f *os.File, size int) ([]byte, func(), error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return readFile(f, size)
	}
	return b, func() { unix.Munmap(b) }, nil
}
