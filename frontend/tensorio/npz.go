package tensorio

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/modelc/modelc/internal/limits"
)

// ReadNpz reads a .npz file (a zip of .npy files, stored or deflated, as
// np.savez and np.savez_compressed write them). Array names are the member
// names without the ".npy" suffix; the arrays are sorted by name. Members
// that are not .npy files are an error rather than skipped, so that nothing
// in a weights archive is silently ignored.
func ReadNpz(path string) ([]Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	arrays, err := decodeNpz(f, st.Size(), limits.DataBytes)
	if err != nil {
		return nil, wrap(err, path, "npz")
	}
	return arrays, nil
}

// ReadNpzAt reads a .npz file of size bytes from r whose members together
// inflate to at most limit bytes. Each member's inflated size is checked
// against what is left of the limit before it is inflated, and its .npy
// header against that size, so a few hundred kilobytes of deflated zeros
// cannot become gigabytes in memory.
func ReadNpzAt(r io.ReaderAt, size, limit int64) ([]Array, error) {
	arrays, err := decodeNpz(r, size, limit)
	if err != nil {
		return nil, wrap(err, "", "npz")
	}
	return arrays, nil
}

func decodeNpz(r io.ReaderAt, size, limit int64) ([]Array, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("not a valid zip archive: %w", err)
	}
	seen := map[string]bool{}
	var arrays []Array
	left := uint64(max(limit, 0))
	for _, zf := range zr.File {
		if zf.UncompressedSize64 > left {
			return nil, errorf("member %q inflates to %d bytes, over the %d bytes left of the limit of %d for the archive", zf.Name, zf.UncompressedSize64, left, limit)
		}
		left -= zf.UncompressedSize64
		a, err := decodeNpzMember(zf, size)
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", zf.Name, err)
		}
		if seen[a.Name] {
			return nil, errorf("duplicate member %q", zf.Name)
		}
		seen[a.Name] = true
		arrays = append(arrays, a)
	}
	sort.Slice(arrays, func(i, j int) bool { return arrays[i].Name < arrays[j].Name })
	return arrays, nil
}

func decodeNpzMember(zf *zip.File, archiveSize int64) (Array, error) {
	name, ok := strings.CutSuffix(zf.Name, ".npy")
	if !ok {
		return Array{}, errorf("not a .npy file (name does not end in .npy)")
	}
	if zf.Method != zip.Store && zf.Method != zip.Deflate {
		return Array{}, errorf("unsupported compression method %d", zf.Method)
	}
	declared := zf.UncompressedSize64
	if declared > 1<<62 {
		return Array{}, errorf("declared size %d is implausible", declared)
	}
	rc, err := zf.Open()
	if err != nil {
		return Array{}, err
	}
	defer rc.Close()
	// The declared size bounds what the .npy header may claim (archive/zip
	// fails a member that inflates past it), but it is itself an unchecked
	// header field, so it is trusted for allocation only for a stored member
	// whose bytes are actually in the archive.
	trusted := zf.Method == zip.Store && zf.CompressedSize64 == declared && int64(declared) <= archiveSize
	a, err := decodeNpy(rc, int64(declared), trusted)
	if err == nil {
		err = checkNpyEOF(rc)
	}
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
			return Array{}, fmt.Errorf("corrupt zip data: %w", err)
		}
		return Array{}, err
	}
	a.Name = name
	return a, nil
}

// WriteNpz writes arrays as a .npz file, atomically (see the package
// comment). Members are stored uncompressed, as np.savez does, so readers can
// map the data directly; they appear sorted by name with a fixed timestamp,
// so the same arrays always give the same bytes.
func WriteNpz(path string, arrays []Array) error {
	if err := checkNpzArrays(arrays); err != nil {
		return wrap(err, path, "npz")
	}
	return writeAtomic(path, func(w io.Writer) error {
		return encodeNpz(w, arrays)
	})
}

func checkNpzArrays(arrays []Array) error {
	seen := map[string]bool{}
	for _, a := range arrays {
		if seen[a.Name] {
			return errorf("duplicate tensor name %q", a.Name)
		}
		seen[a.Name] = true
		if _, err := npyHeaderBytes(a); err != nil {
			return fmt.Errorf("tensor %q: %w", a.Name, err)
		}
	}
	return nil
}

// npzTime is the timestamp of every member: the earliest a zip (MS-DOS)
// date can hold, so output does not depend on the clock.
var npzTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeNpz writes the zip; arrays must have passed checkNpzArrays.
func encodeNpz(w io.Writer, arrays []Array) error {
	order := make([]int, len(arrays))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return arrays[order[i]].Name < arrays[order[j]].Name })
	zw := zip.NewWriter(w)
	for _, i := range order {
		a := arrays[i]
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store, Modified: npzTime})
		if err != nil {
			return err
		}
		if err := EncodeNpy(fw, a); err != nil {
			return err
		}
	}
	return zw.Close()
}

// encodeNpzBytes is encodeNpz into memory, with validation.
func encodeNpzBytes(arrays []Array) ([]byte, error) {
	if err := checkNpzArrays(arrays); err != nil {
		return nil, wrap(err, "", "npz")
	}
	var b bytes.Buffer
	if err := encodeNpz(&b, arrays); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
