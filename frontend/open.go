package frontend

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/limits"
)

// Files a model names are opened once and then only read through the
// opened descriptor, so what is checked is what is read:
//
//   - under the path policy (no --allow-external-paths) the file is opened
//     with openat2's RESOLVE_BENEATH relative to the model's directory
//     where the kernel has it (Linux ≥ 5.6), so no symlink, .. or absolute
//     path can leave it; elsewhere, or for a symlink with an absolute
//     target, it is opened and then its resolved path is checked to be
//     inside and to be the very file opened (same device and inode): a
//     symlink swapped between the open and the check is an error, never a
//     file read from outside;
//   - it is opened non-blocking, so a FIFO does not hang modelc, and must
//     be a regular file: a FIFO, device, socket or directory is refused
//     before a byte is read;
//   - its size comes from the descriptor and is checked against the
//     format's limit before anything is allocated, and no read goes past
//     it, so a character device or a file that grows is read within
//     bounds; formats with headers (safetensors, .npy, .npz) read and
//     check the header before the data.

// openFile opens rel, relative to the model's directory, under the path
// policy, and returns it with its size. The caller closes it.
func (s *source) openFile(rel string) (*os.File, int64, error) {
	p := rel
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.dir, rel)
	}
	var f *os.File
	var err error
	if s.allowExternal {
		f, err = openNonBlocking(p)
	} else {
		f, err = s.openInside(rel, p)
	}
	if err != nil {
		return nil, 0, err
	}
	size, err := regularSize(f, rel)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// openInside opens p (rel as given) only if it resolves inside the
// model's directory.
func (s *source) openInside(rel, p string) (*os.File, error) {
	root, err := filepath.EvalSymlinks(s.dir)
	if err != nil {
		return nil, err
	}
	root, _ = filepath.Abs(root)
	if under, ok := relativeTo(root, p); ok {
		f, err := openBeneath(root, under)
		if err == nil || !errors.Is(err, errNoBeneath) {
			return f, err
		}
	}
	// Portable: open, then check that the path resolves inside and to the
	// file that was opened.
	f, err := openNonBlocking(p)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		f.Close()
		return nil, unwrapPathError(err)
	}
	real, _ = filepath.Abs(real)
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		f.Close()
		return nil, fmt.Errorf("%s resolves to %s, outside the model's directory %s (use --allow-external-paths to permit)", rel, real, root)
	}
	opened, err1 := f.Stat()
	named, err2 := os.Stat(real)
	if err1 != nil || err2 != nil || !os.SameFile(opened, named) {
		f.Close()
		return nil, fmt.Errorf("%s changed while it was being opened (a symlink swapped?); refusing to read it", rel)
	}
	return f, nil
}

// relativeTo returns p relative to root when p, made absolute without
// resolving symlinks, is lexically inside root.
func relativeTo(root, p string) (string, bool) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(r, filepath.Base(abs))
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

func openNonBlocking(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	return f, nil
}

// regularSize returns the size of f, which must be a regular file.
func regularSize(f *os.File, name string) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file (%s)", name, describeMode(st.Mode()))
	}
	return st.Size(), nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// readAll reads rel whole if it holds at most max bytes.
func (s *source) readAll(rel string, max int64) ([]byte, error) {
	if !s.os {
		return s.ReadFile(rel)
	}
	f, size, err := s.openFile(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, rel, size, max)
}

func readBounded(f *os.File, name string, size, max int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%s: %d bytes, over the limit of %d (%s)", name, size, max, limits.Size(float64(max)))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("%s: %v (did it change while being read?)", name, err)
	}
	return data, nil
}

// readArrays reads the arrays of a .npy or .npz file named relative to
// the model, holding at most limit bytes of data once inflated.
func (s *source) readArrays(rel string, limit int64) ([]tensorio.Array, error) {
	if !s.os {
		data, err := s.ReadFile(rel)
		if err != nil {
			return nil, err
		}
		return decodeArrays(rel, bytes.NewReader(data), int64(len(data)), limit)
	}
	f, size, err := s.openFile(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeArrays(rel, f, size, limit)
}

// ReadArrays reads the arrays of the .npy or .npz file at path (no path
// policy: a file named on the command line), with the same checks as a
// model's files: a regular file, opened once, its data at most limit
// bytes once inflated.
func ReadArrays(path string, limit int64) ([]tensorio.Array, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	size, err := regularSize(f, path)
	if err != nil {
		return nil, err
	}
	return decodeArrays(path, f, size, limit)
}

func decodeArrays(name string, r io.ReaderAt, size, limit int64) ([]tensorio.Array, error) {
	switch filepath.Ext(name) {
	case ".npy":
		a, err := tensorio.DecodeNpy(io.NewSectionReader(r, 0, size), size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if int64(len(a.Data)) > limit {
			return nil, fmt.Errorf("%s: %s of data, over the limit of %s", name, limits.Size(float64(len(a.Data))), limits.Size(float64(limit)))
		}
		return []tensorio.Array{a}, nil
	case ".npz":
		as, err := tensorio.ReadNpzAt(r, size, limit)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return as, nil
	}
	return nil, fmt.Errorf("%s: want a .npy or .npz file", name)
}
