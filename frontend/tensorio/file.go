package tensorio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeAtomic writes a file by streaming into a temporary file in the same
// directory and renaming it over path only once everything was written and
// synced. Readers of path (a running server, a parallel build step) see the
// old file or the new one, never a torn one, and a failed write leaves no
// partial file behind under the final name.
//
// The target must be a regular file or not exist: a device, FIFO, socket
// or directory is refused (renaming over /dev/null as root would replace
// the device node). A symlink is written through: the file it points to
// is replaced and the link kept, so a link into another directory gets
// its new file there; a dangling link is refused.
func writeAtomic(path string, write func(w io.Writer) error) (err error) {
	if path, err = writeTarget(path); err != nil {
		return err
	}
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

// writeTarget returns the file writeAtomic replaces for path: path itself,
// or the regular file a symlink at path leads to.
func writeTarget(path string) (string, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return "", fmt.Errorf("%s is a symlink to nothing (%v); refusing to write through it", path, err)
		}
		if st, err = os.Stat(real); err != nil {
			return "", err
		}
		path = real
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file (%s); refusing to replace it", path, st.Mode().Type())
	}
	return path, nil
}
