package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

var testCode = hex.EncodeToString(make([]byte, 32)) // 64 zeros

func otherCode() string {
	s := sha256.Sum256([]byte("other"))
	return hex.EncodeToString(s[:])
}

// testWeights is a weights file of n 64-byte blocks.
func testWeights(t *testing.T, n int) (file []byte, weights []byte) {
	t.Helper()
	weights = make([]byte, 64*n)
	for i := range weights {
		weights[i] = byte(i*7 + 3)
	}
	file, err := EncodeWeights(testCode, weights)
	noError(t, err)
	return file, weights
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "weights.bin")
	noError(t, os.WriteFile(p, data, 0o644))
	return p
}

// OpenWeights maps a file written by EncodeWeights and returns its
// weights, 64-byte aligned; so does the read fallback.
func TestWeightsRoundTrip(t *testing.T) {
	file, weights := testWeights(t, 5)
	equal(t, WeightsHeaderSize+len(weights), len(file))
	w, err := OpenWeights(writeTemp(t, file), testCode)
	noError(t, err)
	equal(t, string(weights), w.Data())
	isTrue(t, uintptr(unsafe.Pointer(unsafe.StringData(w.Data())))%64 == 0, "weights not 64-byte aligned")

	f, err := os.Open(writeTemp(t, file))
	noError(t, err)
	defer f.Close()
	all, release, err := readFile(f, len(file))
	noError(t, err)
	defer release()
	equal(t, file, all)
	isTrue(t, uintptr(unsafe.Pointer(&all[0]))%64 == 0, "read weights not 64-byte aligned")
}

// Every way a file can be unusable is an error wrapping ErrWeightsFile
// that says what is wrong (a missing file is the OS's error).
func TestWeightsFileErrors(t *testing.T) {
	file, _ := testWeights(t, 3)
	flip := func(at int) []byte {
		b := append([]byte(nil), file...)
		b[at] ^= 1
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		code string
		want string
	}{
		{"empty", nil, testCode, "0 bytes, shorter than the 128-byte header"},
		{"short", file[:100], testCode, "100 bytes, shorter than the 128-byte header"},
		{"magic", flip(0), testCode, "not a modelc weights file"},
		{"truncated", file[:len(file)-1], testCode, "191 bytes of weights, the header says 192 (truncated or padded)"},
		{"padded", append(append([]byte(nil), file...), 0), testCode, "193 bytes of weights, the header says 192"},
		{"other code", file, otherCode(), "written for other generated code (code hash 0000000000000000…, this package's " + otherCode()[:16] + "…)"},
		{"corrupt weights", flip(WeightsHeaderSize + 70), testCode, "its weights do not match their SHA-256 (corrupt)"},
		{"corrupt hash", flip(60), testCode, "its weights do not match their SHA-256 (corrupt)"},
		{"reserved", flip(100), testCode, "the header's reserved bytes are not zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenWeights(writeTemp(t, tc.data), tc.code)
			isTrue(t, errors.Is(err, ErrWeightsFile), "got %v", err)
			isTrue(t, strings.Contains(err.Error(), tc.want), "got %v, want %q", err, tc.want)
			isTrue(t, strings.Contains(err.Error(), "weights.bin"), "the error names the file: %v", err)
		})
	}
	_, err := OpenWeights(filepath.Join(t.TempDir(), "none.bin"), testCode)
	isTrue(t, errors.Is(err, os.ErrNotExist), "got %v", err)
	_, err = OpenWeights(t.TempDir(), testCode)
	isTrue(t, err != nil, "a directory opened as a weights file")
	_, err = EncodeWeights("xyz", nil)
	isTrue(t, err != nil && strings.Contains(err.Error(), "not 64 hex digits"), "got %v", err)
}

// FuzzWeightsFile: any bytes are a weights file or an error, never a
// panic; what decodes is what EncodeWeights wrote.
func FuzzWeightsFile(f *testing.F) {
	w := make([]byte, 64)
	good, _ := EncodeWeights(testCode, w)
	f.Add(good)
	f.Add(good[:WeightsHeaderSize])
	f.Add([]byte("MODELCW1"))
	reserved := append([]byte(nil), good...)
	reserved[100] = '0'
	f.Add(reserved)
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := decodeWeights(b, testCode)
		if err != nil {
			isTrue(t, errors.Is(err, ErrWeightsFile), "%v", err)
			return
		}
		again, err := EncodeWeights(testCode, data)
		noError(t, err)
		equal(t, b, again)
	})
}
