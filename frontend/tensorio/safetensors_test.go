package tensorio

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stFile builds a safetensors file from a header and a data buffer.
func stFile(header string, buf []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, buf...)
}

func TestSafetensorsGolden(t *testing.T) {
	// Written by hand from the spec: one F32 tensor [1, 2], header padded
	// with two spaces to 56 bytes so the data starts at offset 64.
	golden := []byte("\x38\x00\x00\x00\x00\x00\x00\x00" +
		`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ` +
		"\x00\x00\x80\x3f\x00\x00\x00\x40")
	x := FromFloat32("x", []int{2}, []float32{1, 2})
	got, err := EncodeSafetensors([]Array{x}, nil)
	require.NoError(t, err)
	assert.Equal(t, golden, got)

	arrays, md, err := DecodeSafetensors(golden)
	require.NoError(t, err)
	assert.Nil(t, md)
	requireSameArrays(t, []Array{x}, arrays)

	// Metadata comes first; tensors and their data are sorted by name. This
	// header is exactly 136 bytes, so needs no padding.
	golden2 := []byte("\x88\x00\x00\x00\x00\x00\x00\x00" +
		`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[],"data_offsets":[8,9]}}` +
		"\x00\x00\x80\x3f\x00\x00\x00\x40\xff")
	a := FromFloat32("a", []int{2}, []float32{1, 2})
	b := Array{Name: "b", DType: I8, Shape: []int{}, Data: []byte{0xff}}
	got, err = EncodeSafetensors([]Array{b, a}, map[string]string{"format": "pt"})
	require.NoError(t, err)
	assert.Equal(t, golden2, got)
	arrays, md, err = DecodeSafetensors(golden2)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt"}, md)
	requireSameArrays(t, []Array{a, b}, arrays)
}

func TestSafetensorsDecodeForeignLayout(t *testing.T) {
	// As other writers may produce it: data not in name order, whitespace
	// in the JSON, unknown fields, and a zero-size tensor in the middle.
	hdr := `{ "b": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2], "extra": 1},
	  "e": {"dtype": "F32", "shape": [0, 4], "data_offsets": [2, 2]},
	  "a": {"dtype": "U8", "shape": [1], "data_offsets": [2, 3]} }   `
	arrays, md, err := DecodeSafetensors(stFile(hdr, []byte{1, 2, 3}))
	require.NoError(t, err)
	assert.Nil(t, md)
	requireSameArrays(t, []Array{
		{Name: "a", DType: U8, Shape: []int{1}, Data: []byte{3}},
		{Name: "b", DType: U8, Shape: []int{2}, Data: []byte{1, 2}},
		{Name: "e", DType: F32, Shape: []int{0, 4}, Data: []byte{}},
	}, arrays)
	// Data is capacity-capped: appending must not clobber a neighbour.
	_ = append(arrays[1].Data, 99)
	assert.Equal(t, []byte{3}, arrays[0].Data)

	// Empty file: no tensors at all.
	arrays, md, err = DecodeSafetensors(stFile("{}", nil))
	require.NoError(t, err)
	assert.Empty(t, arrays)
	assert.Nil(t, md)
}

func TestSafetensorsRoundTripAllDTypes(t *testing.T) {
	dir := t.TempDir()
	var arrays []Array
	for _, dt := range allDTypes {
		for i, shape := range testShapes {
			arrays = append(arrays, sample(string(dt)+"/"+fmtShape(shape)+string(rune('a'+i)), dt, shape))
		}
	}
	sort.Slice(arrays, func(i, j int) bool { return arrays[i].Name < arrays[j].Name })
	md := map[string]string{"format": "pt", "note": "<&> \"quoted\" \u00e9"}
	b, err := EncodeSafetensors(arrays, md)
	require.NoError(t, err)
	assert.Zero(t, (8+binary.LittleEndian.Uint64(b))%8, "data must start 8-byte aligned")
	got, gotMD, err := DecodeSafetensors(b)
	require.NoError(t, err)
	assert.Equal(t, md, gotMD)
	requireSameArrays(t, arrays, got)

	path := filepath.Join(dir, "m.safetensors")
	require.NoError(t, WriteSafetensors(path, arrays, md))
	got, gotMD, err = ReadSafetensors(path)
	require.NoError(t, err)
	assert.Equal(t, md, gotMD)
	requireSameArrays(t, arrays, got)
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, onDisk, "file and in-memory encoding agree")

	// Unsorted input is written sorted.
	rev := append([]Array{}, arrays...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b2, err := EncodeSafetensors(rev, md)
	require.NoError(t, err)
	assert.Equal(t, b, b2)
}

func TestSafetensorsWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	good := []Array{FromFloat32("a", []int{1}, []float32{1})}
	require.NoError(t, WriteSafetensors(path, good, nil))
	before, _ := os.ReadFile(path)
	// A failing write leaves the old file and no temporary behind.
	err := WriteSafetensors(path, []Array{{Name: "x", DType: "X"}}, nil)
	assert.EqualError(t, err, path+`: tensor "x": unknown dtype "X"`)
	after, _ := os.ReadFile(path)
	assert.Equal(t, before, after)
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
	// Writing into a missing directory fails with the path in the error.
	err = WriteSafetensors(filepath.Join(dir, "nope", "x.safetensors"), good, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "nope"))
}

func TestReadSafetensorsNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weights.safetensors")
	hdr := `{"fc1.weight":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}}`
	require.NoError(t, os.WriteFile(path, stFile(hdr, make([]byte, 100)), 0o644))
	_, _, err := ReadSafetensors(path)
	assert.EqualError(t, err, path+`: tensor "fc1.weight": data_offsets [0, 100] hold 100 bytes, dtype F32 shape [5,6] needs 120`)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, path, e.File)

	_, _, err = ReadSafetensors(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "missing.safetensors")
}

func TestSafetensorsValidation(t *testing.T) {
	ok := `"dtype":"U8","shape":[2],"data_offsets":[0,2]`
	buf2 := []byte{1, 2}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "file has 3 bytes, too short for the 8-byte header length"},
		{"header length beyond file", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...), "header length 1000 exceeds the 2 bytes after the length prefix"},
		{"header length huge", append(binary.LittleEndian.AppendUint64(nil, 1<<63), "{}"...), "header length 9223372036854775808 exceeds the 2 bytes after the length prefix"},
		{"empty header", stFile("", nil), "header does not start with '{'"},
		{"not an object", stFile(`[]`, nil), "header does not start with '{'"},
		{"invalid utf8", stFile("{\"\xff\":1}", nil), "header is not valid UTF-8"},
		{"malformed json", stFile(`{"a":`, nil), "header: malformed JSON: unexpected end of header"},
		{"malformed json 2", stFile(`{"a" 1}`, nil), "header: malformed JSON: expected colon after object key"},
		{"trailing json", stFile(`{} {}`, nil), "header: unexpected data after the JSON object"},
		{"trailing garbage", stFile(`{}x`, nil), "header: unexpected data after the JSON object"},
		{"duplicate tensor", stFile(`{"a":{`+ok+`},"a":{`+ok+`}}`, buf2), `duplicate tensor name "a"`},
		{"duplicate metadata", stFile(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate "__metadata__"`},
		{"duplicate metadata key", stFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `__metadata__: duplicate key "k"`},
		{"metadata not object", stFile(`{"__metadata__":[]}`, nil), `__metadata__: want a JSON object`},
		{"metadata value not string", stFile(`{"__metadata__":{"k":1}}`, nil), `__metadata__: value of "k" is not a string`},
		{"tensor not object", stFile(`{"a":[1]}`, nil), `tensor "a": want a JSON object`},
		{"duplicate field", stFile(`{"a":{`+ok+`,"dtype":"U8"}}`, buf2), `tensor "a": duplicate field "dtype"`},
		{"missing dtype", stFile(`{"a":{"shape":[2],"data_offsets":[0,2]}}`, buf2), `tensor "a": missing "dtype"`},
		{"missing shape", stFile(`{"a":{"dtype":"U8","data_offsets":[0,2]}}`, buf2), `tensor "a": missing "shape"`},
		{"missing offsets", stFile(`{"a":{"dtype":"U8","shape":[2]}}`, buf2), `tensor "a": missing "data_offsets"`},
		{"unknown dtype", stFile(`{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}`, buf2), `tensor "a": unknown dtype "F8_E4M3"`},
		{"dtype not string", stFile(`{"a":{"dtype":4,"shape":[2],"data_offsets":[0,2]}}`, buf2), `tensor "a": dtype is not a string`},
		{"shape not array", stFile(`{"a":{"dtype":"U8","shape":2,"data_offsets":[0,2]}}`, buf2), `tensor "a": shape 2 is not an array`},
		{"negative shape", stFile(`{"a":{"dtype":"U8","shape":[2, -1],"data_offsets":[0,2]}}`, buf2), `tensor "a": shape [2,-1] has negative dimension -1`},
		{"fractional shape", stFile(`{"a":{"dtype":"U8","shape":[2.0],"data_offsets":[0,2]}}`, buf2), `tensor "a": shape [2.0]: 2.0 is not an integer`},
		{"string shape", stFile(`{"a":{"dtype":"U8","shape":["2"],"data_offsets":[0,2]}}`, buf2), `tensor "a": shape ["2"]: "2" is not an integer`},
		{"huge dimension", stFile(`{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,2]}}`, buf2), `tensor "a": shape [18446744073709551616]: dimension 18446744073709551616 is too large`},
		{"shape overflow", stFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,2]}}`, buf2), `tensor "a": element count of shape [4294967296,4294967296] overflows`},
		{"byte size overflow", stFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,2]}}`, buf2), `tensor "a": byte size of dtype F64 shape [2305843009213693952] overflows`},
		{"offsets count", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2,4]}}`, buf2), `tensor "a": data_offsets must hold 2 integers, not 3`},
		{"offsets not array", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":{}}}`, buf2), `tensor "a": data_offsets {} is not an array`},
		{"negative offset", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[-1,1]}}`, buf2), `tensor "a": data_offsets [-1,1]: offset -1 is negative`},
		{"huge offset", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,18446744073709551616]}}`, buf2), `tensor "a": data_offsets [0,18446744073709551616]: offset 18446744073709551616 is too large`},
		{"reversed offsets", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,0]}}`, buf2), `tensor "a": data_offsets [2, 0] end before they begin`},
		{"offsets beyond buffer", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, buf2), `tensor "a": data_offsets [1, 3] exceed the 2-byte data buffer`},
		{"offsets beyond buffer huge", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[18446744073709551613,18446744073709551615]}}`, buf2), `tensor "a": data_offsets [18446744073709551613, 18446744073709551615] exceed the 2-byte data buffer`},
		{"size mismatch", stFile(`{"fc1.weight":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}}`, make([]byte, 100)), `tensor "fc1.weight": data_offsets [0, 100] hold 100 bytes, dtype F32 shape [5,6] needs 120`},
		{"overlap", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, []byte{1, 2, 3}), `tensor "b": data_offsets [1, 3] overlap tensor "a" [0, 2]`},
		{"same offsets", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, buf2), `tensor "b": data_offsets [0, 2] overlap tensor "a" [0, 2]`},
		{"empty tensor inside another", stFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"e":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}`, buf2), `tensor "e": data_offsets [1, 1] overlap tensor "a" [0, 2]`},
		{"gap before", stFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, buf2), `buffer bytes [0, 1) before tensor "a" are not covered by any tensor`},
		{"gap between", stFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, []byte{1, 2, 3}), `buffer bytes [1, 2) between tensor "a" and tensor "b" are not covered by any tensor`},
		{"gap after", stFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, buf2), `buffer bytes [1, 2) after tensor "a" are not covered by any tensor`},
		{"no tensors", stFile(`{}`, buf2), `buffer bytes [0, 2) are not covered by any tensor`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(c.file)
			assert.EqualError(t, err, "safetensors: "+c.want)
		})
	}
}

func TestSafetensorsHeaderLimit(t *testing.T) {
	// A header over the 100 MB limit is refused before it is parsed. The
	// untouched pages of this buffer are never faulted in.
	n := maxSafetensorsHeader + 8
	b := make([]byte, 8+n)
	binary.LittleEndian.PutUint64(b, uint64(n))
	_, _, err := DecodeSafetensors(b)
	assert.EqualError(t, err, "safetensors: header length 100000008 exceeds the limit of 100000000 bytes")
}

func TestSafetensorsLyingHeaderAllocatesLittle(t *testing.T) {
	// A tensor claiming 8 EB of data in a tiny file must be rejected
	// without a matching allocation.
	file := stFile(`{"a":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}`, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := DecodeSafetensors(file)
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func TestSafetensorsEncodeErrors(t *testing.T) {
	x := FromFloat32("x", []int{1}, []float32{1})
	cases := []struct {
		name   string
		arrays []Array
		md     map[string]string
		want   string
	}{
		{"duplicate", []Array{x, x}, nil, `duplicate tensor name "x"`},
		{"reserved", []Array{{Name: "__metadata__", DType: U8, Shape: []int{0}}}, nil, `tensor name "__metadata__" is reserved`},
		{"bad utf8", []Array{{Name: "\xff", DType: U8, Shape: []int{0}}}, nil, `tensor name "\xff" is not valid UTF-8`},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xff"}, `__metadata__: key "k" or its value is not valid UTF-8`},
		{"unknown dtype", []Array{{Name: "u", DType: "U16", Shape: []int{1}, Data: []byte{0, 0}}}, nil, `tensor "u": unknown dtype "U16"`},
		{"negative shape", []Array{{Name: "n", DType: U8, Shape: []int{-2}}}, nil, `tensor "n": shape [-2] has negative dimension -2`},
		{"short data", []Array{FromFloat32("fc1.weight", []int{5, 6}, make([]float32, 25))}, nil, `tensor "fc1.weight": data has 100 bytes, dtype F32 shape [5,6] needs 120`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodeSafetensors(c.arrays, c.md)
			assert.EqualError(t, err, "safetensors: "+c.want)
		})
	}
	// Names are JSON-escaped, and HTML characters are left alone as the
	// reference writer leaves them.
	b, err := EncodeSafetensors([]Array{{Name: "a\"<b>\n", DType: U8, Shape: []int{0}}}, nil)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"a\"<b>\n"`), string(b))
}
