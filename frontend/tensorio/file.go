package tensorio

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes a file by streaming into a temporary file in the same
// directory and renaming it over path only once everything was written and
// synced. Readers of path (a running server, a parallel build step) see the
// old file or the new one, never a torn one, and a failed write leaves no
// partial file behind under the final name.
func writeAtomic(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; weights are not secrets, so give them
	// the usual mode of a newly written file.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
