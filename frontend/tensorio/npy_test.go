package tensorio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// arange returns an array of dt holding 0, 1, 2, ... in C order.
func arange(name string, dt DType, shape []int) Array {
	a := Array{Name: name, DType: dt, Shape: shape}
	n := a.Len()
	for i := 0; i < n; i++ {
		switch dt {
		case F64:
			a.Data = binary.LittleEndian.AppendUint64(a.Data, math.Float64bits(float64(i)))
		case F32:
			a.Data = binary.LittleEndian.AppendUint32(a.Data, math.Float32bits(float32(i)))
		case F16:
			a.Data = binary.LittleEndian.AppendUint16(a.Data, Float32ToFloat16(float32(i)))
		case I64:
			a.Data = binary.LittleEndian.AppendUint64(a.Data, uint64(i))
		case I32:
			a.Data = binary.LittleEndian.AppendUint32(a.Data, uint32(i))
		case I16:
			a.Data = binary.LittleEndian.AppendUint16(a.Data, uint16(i))
		default:
			a.Data = append(a.Data, byte(i))
		}
	}
	if a.Data == nil {
		a.Data = []byte{}
	}
	return a
}

// npyFile builds a .npy file with the given version, header and data.
func npyFile(major byte, header string, data []byte) []byte {
	b := append([]byte("\x93NUMPY"), major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	b = append(b, header...)
	return append(b, data...)
}

func decodeNpyBytes(b []byte) (Array, error) {
	return DecodeNpy(bytes.NewReader(b), int64(len(b)))
}

func TestNpyGoldenHandwritten(t *testing.T) {
	// np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) with NumPy 1.24:
	// the dict, 20 spaces of room for the first axis to grow, padding to a
	// 64-byte boundary and a newline.
	golden := []byte("\x93NUMPY\x01\x00\x76\x00" +
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
		strings.Repeat(" ", 58) + "\n" +
		"\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40")
	require.Len(t, golden, 128+24)
	a := arange("", F32, []int{2, 3})
	var buf bytes.Buffer
	require.NoError(t, EncodeNpy(&buf, a))
	assert.Equal(t, golden, buf.Bytes())
	got, err := decodeNpyBytes(golden)
	require.NoError(t, err)
	requireSameArray(t, a, got)

	fromNumPy, err := os.ReadFile("testdata/np_f4.npy")
	require.NoError(t, err)
	assert.Equal(t, golden, fromNumPy)
}

func TestNpyNumPyFiles(t *testing.T) {
	cases := []struct {
		file string
		want Array
		same bool // EncodeNpy reproduces the file byte for byte
	}{
		{"np_f8.npy", arange("", F64, []int{2, 3}), true},
		{"np_f4.npy", arange("", F32, []int{2, 3}), true},
		{"np_f2.npy", arange("", F16, []int{2, 3}), true},
		{"np_i8.npy", arange("", I64, []int{2, 3}), true},
		{"np_i4.npy", arange("", I32, []int{2, 3}), true},
		{"np_i2.npy", arange("", I16, []int{2, 3}), true},
		{"np_i1.npy", arange("", I8, []int{2, 3}), true},
		{"np_u1.npy", arange("", U8, []int{2, 3}), true},
		{"np_b1.npy", Array{DType: Bool, Shape: []int{3}, Data: []byte{1, 0, 1}}, true},
		{"np_scalar_f8.npy", FromFloat32("", []int{}, []float32{3.5}), false},
		{"np_empty_f4.npy", Array{DType: F32, Shape: []int{0, 3}, Data: []byte{}}, true},
		{"np_1d_i4.npy", Array{DType: I32, Shape: []int{3}, Data: []byte{0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff}}, true},
		{"np_be_f4.npy", arange("", F32, []int{2, 3}), false},
		{"np_be_i8.npy", arange("", I64, []int{2, 3}), false},
		{"np_fortran_i2.npy", arange("", I16, []int{2, 3, 4}), false},
		{"np_v2.npy", arange("", F32, []int{2, 3}), false},
		{"np_v3.npy", arange("", F32, []int{2, 3}), false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			if c.file == "np_scalar_f8.npy" {
				c.want = Array{DType: F64, Shape: []int{}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(3.5))}
				c.same = true
			}
			got, err := ReadNpy(path)
			require.NoError(t, err)
			requireSameArray(t, c.want, got)
			if c.same {
				raw, err := os.ReadFile(path)
				require.NoError(t, err)
				var buf bytes.Buffer
				require.NoError(t, EncodeNpy(&buf, got))
				assert.Equal(t, raw, buf.Bytes())
			}
		})
	}
}

func TestNpyRoundTripAllDTypes(t *testing.T) {
	dir := t.TempDir()
	for _, dt := range npyDTypes {
		for i, shape := range testShapes {
			a := sample("", dt, shape)
			var buf bytes.Buffer
			require.NoError(t, EncodeNpy(&buf, a))
			assert.Zero(t, (buf.Len()-len(a.Data))%64, "header aligned")
			got, err := decodeNpyBytes(buf.Bytes())
			require.NoError(t, err, "%s %v", dt, shape)
			requireSameArray(t, a, got)
			// Unknown size reads the same.
			got, err = DecodeNpy(bytes.NewReader(buf.Bytes()), -1)
			require.NoError(t, err)
			requireSameArray(t, a, got)

			if i > 1 {
				continue // files are slow (fsync); two shapes per dtype do
			}
			path := filepath.Join(dir, "a.npy")
			require.NoError(t, WriteNpy(path, a))
			got, err = ReadNpy(path)
			require.NoError(t, err)
			requireSameArray(t, a, got)
		}
	}
}

func TestNpyLargeShapeUsesGrowthPadding(t *testing.T) {
	// A first axis of 21 digits leaves no growth padding; NumPy then pads
	// only to the 64-byte boundary (a full 64 when already aligned).
	for _, n := range []int{0, 7, 123456789, 1<<62 + 5} {
		a := Array{DType: U8, Shape: []int{n, 0}, Data: []byte{}}
		var buf bytes.Buffer
		require.NoError(t, EncodeNpy(&buf, a))
		assert.Zero(t, buf.Len()%64)
		got, err := decodeNpyBytes(buf.Bytes())
		require.NoError(t, err)
		requireSameArray(t, a, got)
	}
}

func TestNpyFortranTranspose(t *testing.T) {
	// Column-major 2×3: memory order a00 a10 a01 a11 a02 a12.
	f := npyFile(1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }\n", []byte{0, 0, 3, 0, 1, 0, 4, 0, 2, 0, 5, 0})
	got, err := decodeNpyBytes(f)
	require.NoError(t, err)
	requireSameArray(t, arange("", I16, []int{2, 3}), got)
	// 1-d and empty Fortran arrays need no reordering.
	f = npyFile(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }", []byte{1, 2, 3})
	got, err = decodeNpyBytes(f)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, got.Data)
	f = npyFile(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (0, 3), }", nil)
	_, err = decodeNpyBytes(f)
	require.NoError(t, err)
}

func TestNpyHeaderVariants(t *testing.T) {
	// Header syntax NumPy or Python may produce beyond np.save's exact form.
	for _, h := range []string{
		`{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}`,
		"{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<f4'}   \n",
		"{ 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
	} {
		got, err := decodeNpyBytes(npyFile(1, h, arange("", F32, []int{2, 3}).Data))
		require.NoError(t, err, h)
		requireSameArray(t, arange("", F32, []int{2, 3}), got)
	}
	// 1-byte types may carry any byte order mark.
	for _, d := range []string{"|u1", "<u1", ">u1", "=u1"} {
		got, err := decodeNpyBytes(npyFile(1, "{'descr': '"+d+"', 'fortran_order': False, 'shape': (1,), }", []byte{7}))
		require.NoError(t, err, d)
		assert.Equal(t, U8, got.DType)
	}
}

func TestNpyDecodeReadsExactly(t *testing.T) {
	// DecodeNpy leaves whatever follows the array in the reader.
	var buf bytes.Buffer
	require.NoError(t, EncodeNpy(&buf, arange("", I8, []int{3})))
	buf.WriteString("rest")
	r := bytes.NewReader(buf.Bytes())
	_, err := DecodeNpy(r, -1)
	require.NoError(t, err)
	rest, _ := io.ReadAll(r)
	assert.Equal(t, "rest", string(rest))
}

func TestNpyValidation(t *testing.T) {
	hdr := func(descr, fortran, shape string) string {
		return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n"
	}
	f4 := arange("", F32, []int{2, 3}).Data
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated magic and version: got 0 of 8 bytes"},
		{"short magic", []byte("\x93NUM"), "truncated magic and version: got 4 of 8 bytes"},
		{"bad magic", []byte("PK\x03\x04\x14\x00\x00\x00\x00\x00"), `not a .npy file: bad magic "PK\x03\x04\x14\x00"`},
		{"bad version", []byte("\x93NUMPY\x04\x00\x00\x00"), "unsupported .npy format version 4.0"},
		{"bad minor", []byte("\x93NUMPY\x01\x01\x00\x00"), "unsupported .npy format version 1.1"},
		{"short length", []byte("\x93NUMPY\x02\x00\x00"), "truncated header length: got 1 of 4 bytes"},
		{"header beyond file", []byte("\x93NUMPY\x01\x00\xff\x00{}"), "header length 255 exceeds the 2 bytes after the prefix"},
		{"header huge", []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{}"), "header length 4294967295 exceeds the 2 bytes after the prefix"},
		{"not a dict", npyFile(1, "[]", nil), "header: at offset 0: want '{'"},
		{"unterminated", npyFile(1, "{'descr", nil), "header: at offset 1: unterminated string"},
		{"escape", npyFile(1, `{'de\x': 1}`, nil), "header: at offset 4: escapes and newlines in strings are not supported"},
		{"missing shape", npyFile(1, "{'descr': '<f4', 'fortran_order': False}", nil), `header: missing key "shape"`},
		{"missing descr", npyFile(1, "{'shape': (), 'fortran_order': False}", nil), `header: missing key "descr"`},
		{"duplicate key", npyFile(1, "{'descr': '<f4', 'descr': '<f4'}", nil), `header: duplicate key "descr"`},
		{"unexpected key", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", nil), `header: unexpected key "x"`},
		{"missing comma", npyFile(1, "{'descr': '<f4' 'shape': ()}", nil), "header: at offset 16: want ',' or '}'"},
		{"trailing junk", npyFile(1, hdr("<f4", "False", "()")+"x", nil), "header: unexpected data at offset 56 after the header dict"},
		{"unsupported descr", npyFile(1, hdr("<u4", "False", "()"), nil), `header: descr "<u4" is not supported (want one of '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1', or their '>' variants)`},
		{"no byte order for f4", npyFile(1, hdr("|f4", "False", "()"), nil), `header: descr "|f4" is not supported (want one of '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1', or their '>' variants)`},
		{"short descr", npyFile(1, hdr("f", "False", "()"), nil), `header: descr "f" is not supported (want one of '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1', or their '>' variants)`},
		{"structured", npyFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}", nil), "header: descr is a structured dtype; only plain numeric and bool arrays are supported"},
		{"descr not string", npyFile(1, "{'descr': 4, 'fortran_order': False, 'shape': ()}", nil), "header: descr: at offset 10: want a quoted string"},
		{"fortran not bool", npyFile(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", nil), "header: fortran_order at offset 34 is not True or False"},
		{"fortran prefix", npyFile(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': ()}", nil), "header: fortran_order at offset 34 is not True or False"},
		{"shape not tuple", npyFile(1, hdr("<f4", "False", "[2]"), nil), "header: shape: at offset 50: want '('"},
		{"shape parenthesized int", npyFile(1, hdr("<f4", "False", "(6)"), f4), "header: shape (6) is not a tuple"},
		{"negative shape", npyFile(1, hdr("<f4", "False", "(-1, 2)"), f4), "header: shape has negative dimension -1"},
		{"float shape", npyFile(1, hdr("<f4", "False", "(2.0,)"), f4), "header: shape: at offset 52: want ',' or ')'"},
		{"empty dim", npyFile(1, hdr("<f4", "False", "(,)"), f4), "header: shape: at offset 51: want an integer"},
		{"huge dim", npyFile(1, hdr("<f4", "False", "(99999999999999999999,)"), f4), "header: shape dimension 99999999999999999999 is too large"},
		{"too many dims", npyFile(1, hdr("<f4", "False", "("+strings.Repeat("1,", 65)+")"), f4), "header: shape has more than 64 dimensions"},
		{"overflow", npyFile(1, hdr("<f4", "False", "(4294967296, 4294967296)"), f4), "header: element count of shape [4294967296,4294967296] overflows"},
		{"byte overflow", npyFile(1, hdr("<f8", "False", "(2305843009213693952,)"), f4), "header: byte size of dtype F64 shape [2305843009213693952] overflows"},
		{"data short", npyFile(1, hdr("<f4", "False", "(2, 4)"), f4), "header declares 32 bytes of data (dtype F32 shape [2,4]), only 24 follow"},
		{"data lies", npyFile(1, hdr("|u1", "False", "(9223372036854775807,)"), f4), "header declares 9223372036854775807 bytes of data (dtype U8 shape [9223372036854775807]), only 24 follow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeNpyBytes(c.file)
			assert.EqualError(t, err, "npy: "+c.want)
		})
	}
}

func TestNpyUnknownSize(t *testing.T) {
	// Without a size, limits still hold and truncation is reported as such.
	hdr := "{'descr': '|u1', 'fortran_order': False, 'shape': (9223372036854775807,), }"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeNpy(bytes.NewReader(npyFile(1, hdr, []byte{1, 2, 3})), -1)
	runtime.ReadMemStats(&after)
	assert.EqualError(t, err, "npy: truncated data: got 3 of 9223372036854775807 bytes")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "a lying header must not drive allocation")

	_, err = DecodeNpy(bytes.NewReader([]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{}")), -1)
	assert.EqualError(t, err, "npy: header length 4294967295 exceeds the limit of 1048576 bytes")
	_, err = DecodeNpy(bytes.NewReader([]byte("\x93NUMPY\x01\x00\xff\x00{}")), -1)
	assert.EqualError(t, err, "npy: truncated header: got 2 of 255 bytes")

	// Data arriving in many small reads is assembled correctly past the
	// initial buffer.
	big := sample("", U8, []int{300000})
	var buf bytes.Buffer
	require.NoError(t, EncodeNpy(&buf, big))
	got, err := DecodeNpy(io.MultiReader(bytes.NewReader(buf.Bytes()[:1000]), bytes.NewReader(buf.Bytes()[1000:])), -1)
	require.NoError(t, err)
	requireSameArray(t, big, got)
}

func TestNpyFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	var buf bytes.Buffer
	require.NoError(t, EncodeNpy(&buf, arange("", U8, []int{2})))
	buf.WriteString("xyz")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	_, err := ReadNpy(path)
	assert.EqualError(t, err, path+": 3 bytes of trailing data after the array")

	require.NoError(t, os.WriteFile(path, buf.Bytes()[:70], 0o644))
	_, err = ReadNpy(path)
	assert.EqualError(t, err, path+": header length 118 exceeds the 60 bytes after the prefix")

	_, err = ReadNpy(filepath.Join(dir, "missing.npy"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestNpyEncodeErrors(t *testing.T) {
	var buf bytes.Buffer
	err := EncodeNpy(&buf, Array{Name: "emb", DType: BF16, Shape: []int{1}, Data: []byte{0, 0}})
	assert.EqualError(t, err, `npy: tensor "emb": dtype BF16 has no NumPy equivalent; convert it to F32 (or F16) first`)
	err = EncodeNpy(&buf, Array{DType: BF16, Shape: []int{1}, Data: []byte{0, 0}})
	assert.EqualError(t, err, `npy: dtype BF16 has no NumPy equivalent; convert it to F32 (or F16) first`)
	err = EncodeNpy(&buf, FromFloat32("w", []int{5, 6}, make([]float32, 25)))
	assert.EqualError(t, err, `npy: tensor "w": data has 100 bytes, dtype F32 shape [5,6] needs 120`)
	err = EncodeNpy(&buf, Array{DType: "X"})
	assert.EqualError(t, err, `npy: unknown dtype "X"`)
	err = EncodeNpy(&buf, Array{DType: U8, Shape: make([]int, 65)})
	assert.EqualError(t, err, `npy: shape has 65 dimensions, NumPy supports at most 64`)
	assert.Zero(t, buf.Len(), "nothing written on error")

	dir := t.TempDir()
	path := filepath.Join(dir, "bf.npy")
	err = WriteNpy(path, Array{Name: "emb", DType: BF16, Shape: []int{}, Data: []byte{0, 0}})
	assert.EqualError(t, err, path+`: tensor "emb": dtype BF16 has no NumPy equivalent; convert it to F32 (or F16) first`)
	_, statErr := os.Stat(path)
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}
