//go:build !unix

package runtime

import "os"

// openWeightsFlags: reading only (see weights_unix.go).
const openWeightsFlags = os.O_RDONLY

// mapFile reads the file: this system has no mapping here.
func mapFile(f *os.File, size int) ([]byte, func(), error) { return readFile(f, size) }
