//go:build !unix

package runtime

import "os"

// mapFile reads the file: this system has no mapping here.
func mapFile(f *os.File, size int) ([]byte, func(), error) { return readFile(f, size) }
