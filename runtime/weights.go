package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"unsafe"
)

// A weights file is a generated package's weights.bin: embedded in the
// package by default, or read at run time with the package's
// WithWeightsFile option, memory-mapped where the system can (models too
// large to embed, or fine-tuned weights swapped into one build). It is a
// header of WeightsHeaderSize bytes, then the weights, each tensor 64-byte
// aligned in the layout its kernel reads:
//
//	offset  size  field
//	0       8     magic "MODELCW1"
//	8       8     the weights' length in bytes, little-endian
//	16      32    code hash: SHA-256 of the generated code that reads the file
//	48      32    SHA-256 of the weights
//	80      48    zero
//
// The code hash ties the file to the code its layout fits: a package
// accepts a file written for identical code (its own build, or the same
// architecture built from other weights) and rejects any other.

// WeightsHeaderSize is the size of a weights file's header; the weights
// follow it, so they keep its 64-byte alignment.
const WeightsHeaderSize = 128

var weightsMagic = []byte("MODELCW1")

// ErrWeightsFile reports a weights file that a package cannot use: not a
// weights file, truncated, corrupt, or written for other generated code.
var ErrWeightsFile = errors.New("unusable weights file")

// EncodeWeights returns the weights file holding weights, for the
// generated code whose SHA-256 is code (64 hex digits).
func EncodeWeights(code string, weights []byte) ([]byte, error) {
	c, err := hex.DecodeString(code)
	if err != nil || len(c) != sha256.Size {
		return nil, fmt.Errorf("runtime: EncodeWeights: code hash %q is not 64 hex digits", code)
	}
	out := make([]byte, WeightsHeaderSize, WeightsHeaderSize+len(weights))
	copy(out, weightsMagic)
	binary.LittleEndian.PutUint64(out[8:], uint64(len(weights)))
	copy(out[16:48], c)
	sum := sha256.Sum256(weights)
	copy(out[48:80], sum[:])
	return append(out, weights...), nil
}

// weightsHeader is a decoded header.
type weightsHeader struct {
	length uint64
	code   [32]byte
	sum    [32]byte
}

// parseWeightsHeader decodes the first WeightsHeaderSize bytes of a
// weights file of size bytes and checks them against code (the package's
// code hash, 64 hex digits).
func parseWeightsHeader(b []byte, size int64, code string) (weightsHeader, error) {
	var h weightsHeader
	if size < WeightsHeaderSize || len(b) < WeightsHeaderSize {
		return h, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrWeightsFile, size, WeightsHeaderSize)
	}
	if !bytes.Equal(b[:8], weightsMagic) {
		return h, fmt.Errorf("%w: not a modelc weights file (no MODELCW1 header)", ErrWeightsFile)
	}
	h.length = binary.LittleEndian.Uint64(b[8:])
	copy(h.code[:], b[16:48])
	copy(h.sum[:], b[48:80])
	if got := uint64(size - WeightsHeaderSize); got != h.length {
		return h, fmt.Errorf("%w: %d bytes of weights, the header says %d (truncated or padded)", ErrWeightsFile, got, h.length)
	}
	if want := hex.EncodeToString(h.code[:]); want != code {
		return h, fmt.Errorf("%w: written for other generated code (code hash %.16s…, this package's %.16s…): use the weights.bin of a build of the same model", ErrWeightsFile, want, code)
	}
	if bytes.Count(b[80:WeightsHeaderSize], []byte{0}) != WeightsHeaderSize-80 {
		return h, fmt.Errorf("%w: the header's reserved bytes are not zero", ErrWeightsFile)
	}
	if h.length == 0 || h.length%8 != 0 {
		return h, fmt.Errorf("%w: %d bytes of weights, not a positive multiple of 8", ErrWeightsFile, h.length)
	}
	return h, nil
}

// WeightsFile is a weights file opened by OpenWeights. Its weights stay
// readable as long as the WeightsFile is reachable; then they are
// released (unmapped).
type WeightsFile struct {
	data    string // the weights, read-only
	release func()
}

// Data returns the weights: 64-byte aligned, read-only (a string, as
// they may be a read-only mapping of the file).
func (f *WeightsFile) Data() string { return f.data }

// OpenWeights opens the weights file at path for the generated code
// whose hash is code (64 hex digits): memory-mapped where the system
// can, read into aligned memory otherwise. The whole file is hashed
// once and checked against its header, so a truncated, corrupt or
// mismatched file is an error (wrapping ErrWeightsFile), never a crash
// later. The file must not change while it is mapped.
func OpenWeights(path, code string) (*WeightsFile, error) {
	// Non-blocking, so that a FIFO is refused below instead of waiting
	// for a writer.
	f, err := os.OpenFile(path, openWeightsFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("weights file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("weights file %s: %w: not a regular file", path, ErrWeightsFile)
	}
	size := st.Size()
	head := make([]byte, WeightsHeaderSize)
	if size >= WeightsHeaderSize {
		if _, err := f.ReadAt(head, 0); err != nil {
			return nil, fmt.Errorf("weights file: %w", err)
		}
	}
	// The header first: a mismatched or truncated file fails before
	// anything is mapped or hashed.
	if _, err := parseWeightsHeader(head, size, code); err != nil {
		return nil, fmt.Errorf("weights file %s: %w", path, err)
	}
	if uint64(int(size)) != uint64(size) {
		return nil, fmt.Errorf("weights file %s: %w: %d bytes do not fit in memory", path, ErrWeightsFile, size)
	}
	all, release, err := mapFile(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("weights file %s: %w", path, err)
	}
	data, err := decodeWeights(all, code)
	if err != nil {
		release()
		return nil, fmt.Errorf("weights file %s: %w", path, err)
	}
	w := &WeightsFile{data: unsafe.String(unsafe.SliceData(data), len(data)), release: release}
	goruntime.SetFinalizer(w, func(w *WeightsFile) { w.release() })
	return w, nil
}

// decodeWeights checks a whole weights file (header and hash) against
// code and returns its weights.
func decodeWeights(all []byte, code string) ([]byte, error) {
	h, err := parseWeightsHeader(all, int64(len(all)), code)
	if err != nil {
		return nil, err
	}
	data := all[WeightsHeaderSize:]
	if sha256.Sum256(data) != h.sum {
		return nil, fmt.Errorf("%w: its weights do not match their SHA-256 (corrupt)", ErrWeightsFile)
	}
	return data, nil
}

// readFile reads the file into aligned memory (where mapping is not
// available or fails).
func readFile(f *os.File, size int) ([]byte, func(), error) {
	a := NewArena(size)
	if _, err := f.ReadAt(a.Bytes(), 0); err != nil {
		return nil, nil, err
	}
	return a.Bytes(), func() {}, nil
}
