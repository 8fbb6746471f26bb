package tensorio

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeNpzBytes(b []byte) ([]Array, error) { return DecodeNpz(b) }

// zipOf builds a zip with the given members, each stored or deflated.
func zipOf(t testing.TB, method uint16, members ...[2]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: method})
		require.NoError(t, err)
		_, err = w.Write([]byte(m[1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func npyBytes(t testing.TB, a Array) string {
	var b bytes.Buffer
	require.NoError(t, EncodeNpy(&b, a))
	return b.String()
}

func TestNpzNumPyFiles(t *testing.T) {
	want := []Array{
		arange("a", F32, []int{2, 3}),
		{Name: "b", DType: I64, Shape: []int{3}, Data: []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}},
		{Name: "s", DType: Bool, Shape: []int{}, Data: []byte{1}},
	}
	for _, f := range []string{"np_savez.npz", "np_savez_compressed.npz"} {
		got, err := ReadNpz(filepath.Join("testdata", f))
		require.NoError(t, err, f)
		requireSameArrays(t, want, got)
	}
}

func TestNpzRoundTripAllDTypes(t *testing.T) {
	var arrays []Array
	for _, dt := range npyDTypes {
		for i, shape := range testShapes {
			arrays = append(arrays, sample(string(dt)+string(rune('a'+i)), dt, shape))
		}
	}
	arrays = append(arrays, sample("dir/nested.name", F32, []int{2}), sample("", U8, []int{1}))
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npz")
	require.NoError(t, WriteNpz(path, arrays))
	got, err := ReadNpz(path)
	require.NoError(t, err)
	sorted := append([]Array{}, arrays...)
	sortArrays(sorted)
	requireSameArrays(t, sorted, got)

	// Deterministic: the same arrays in any order give the same bytes.
	b1, err := os.ReadFile(path)
	require.NoError(t, err)
	b2, err := encodeNpzBytes(sorted)
	require.NoError(t, err)
	assert.Equal(t, b1, b2)

	// Empty archive.
	require.NoError(t, WriteNpz(path, nil))
	got, err = ReadNpz(path)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestNpzDeflated(t *testing.T) {
	a := arange("w", F16, []int{4, 4})
	got, err := decodeNpzBytes(zipOf(t, zip.Deflate, [2]string{"w.npy", npyBytes(t, a)}))
	require.NoError(t, err)
	requireSameArrays(t, []Array{a}, got)
}

func TestNpzErrors(t *testing.T) {
	good := npyBytes(t, arange("", U8, []int{2}))
	corrupt := zipOf(t, zip.Store, [2]string{"a.npy", good})
	// Flip the last data byte: the CRC no longer matches.
	i := bytes.Index(corrupt, []byte(good)) + len(good) - 1
	corrupt[i] ^= 0xff

	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"not zip", []byte("hello, world"), "not a valid zip archive: zip: not a valid zip file"},
		{"not npy name", zipOf(t, zip.Store, [2]string{"a.txt", "hi"}), `member "a.txt": not a .npy file (name does not end in .npy)`},
		{"directory", zipOf(t, zip.Store, [2]string{"d/", ""}), `member "d/": not a .npy file (name does not end in .npy)`},
		{"duplicate", zipOf(t, zip.Store, [2]string{"a.npy", good}, [2]string{"a.npy", good}), `duplicate member "a.npy"`},
		{"bad npy", zipOf(t, zip.Store, [2]string{"a.npy", "garbage!!"}), `member "a.npy": not a .npy file: bad magic "garbag"`},
		{"truncated npy", zipOf(t, zip.Deflate, [2]string{"a.npy", good[:len(good)-1]}), `member "a.npy": header declares 2 bytes of data (dtype U8 shape [2]), only 1 follow`},
		{"trailing data", zipOf(t, zip.Store, [2]string{"a.npy", good + "x"}), `member "a.npy": 1 bytes of trailing data after the array`},
		{"crc", corrupt, `member "a.npy": corrupt zip data: zip: checksum error`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeNpzBytes(c.file)
			assert.EqualError(t, err, "npz: "+c.want)
		})
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "bad.npz")
	require.NoError(t, os.WriteFile(path, []byte("not a zip"), 0o644))
	_, err := ReadNpz(path)
	assert.EqualError(t, err, path+": not a valid zip archive: zip: not a valid zip file")
	_, err = ReadNpz(filepath.Join(dir, "missing.npz"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestNpzWriteErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.npz")
	a := arange("a", U8, []int{2})
	err := WriteNpz(path, []Array{a, a})
	assert.EqualError(t, err, path+`: duplicate tensor name "a"`)
	err = WriteNpz(path, []Array{a, {Name: "emb", DType: BF16, Shape: []int{}, Data: []byte{0, 0}}})
	assert.EqualError(t, err, path+`: tensor "emb": dtype BF16 has no NumPy equivalent; convert it to F32 (or F16) first`)
	err = WriteNpz(path, []Array{{Name: "w", DType: F32, Shape: []int{5, 6}, Data: make([]byte, 100)}})
	assert.EqualError(t, err, path+`: tensor "w": data has 100 bytes, dtype F32 shape [5,6] needs 120`)
	_, statErr := os.Stat(path)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "no file written on error")
}

func TestNpzLyingSizesAllocateLittle(t *testing.T) {
	// A deflated member declares a 1 TiB size and its .npy header 512 GiB;
	// only a few bytes are really there. Reading must fail without
	// allocating anything like the claims.
	npy := npyFile(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (549755813888,), }", []byte{1, 2, 3})
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(npy)
	fw.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name:               "a.npy",
		Method:             zip.Deflate,
		CRC32:              crc32.ChecksumIEEE(npy),
		CompressedSize64:   uint64(comp.Len()),
		UncompressedSize64: 1 << 40,
	})
	require.NoError(t, err)
	w.Write(comp.Bytes())
	require.NoError(t, zw.Close())

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = decodeNpzBytes(b.Bytes())
	runtime.ReadMemStats(&after)
	// archive/zip drops the bytes of the read that hits the early end, so
	// the count is 0, not 3.
	assert.EqualError(t, err, `npz: member "a.npy" inflates to 1099511627776 bytes, over the 1073741824 bytes left of the limit of 1073741824 for the archive`)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20))
}

// TestNpzBomb: deflated zeros whose sizes are all honest (the zip member's
// and the .npy header's) inflate only within the caller's limit, checked
// before inflating, the members together.
func TestNpzBomb(t *testing.T) {
	zeros := FromFloat32("z", []int{4 << 20}, make([]float32, 4<<20)) // 16 MiB
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"a.npy", "b.npy"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		require.NoError(t, err)
		require.NoError(t, EncodeNpy(w, zeros))
	}
	require.NoError(t, zw.Close())
	require.Less(t, b.Len(), 64<<10, "the bomb should be small")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadNpzAt(bytes.NewReader(b.Bytes()), int64(b.Len()), 24<<20)
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, `npz: member "b.npy" inflates to 16777344 bytes, over the 8388480 bytes left of the limit of 25165824 for the archive`)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(40<<20), "only the first member inflates (its buffer grows by doubling)")

	arrays, err := ReadNpzAt(bytes.NewReader(b.Bytes()), int64(b.Len()), 40<<20)
	require.NoError(t, err)
	require.Len(t, arrays, 2)
	require.Equal(t, []int{4 << 20}, arrays[1].Shape)
}
