package tensorio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// .npy layout (numpy.lib.format):
//
//	"\x93NUMPY" major minor
//	header length: u16 LE (version 1.0) or u32 LE (2.0, 3.0)
//	header: a Python dict literal such as
//	        {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//	        space-padded and ending in '\n' so the data is 64-byte aligned
//	data: the raw elements
//
// The header is parsed by a small dedicated parser that accepts exactly the
// literal subset NumPy writes (plus Python 2's 3L integers), which is far
// easier to make panic-free than a general Python literal parser.

var npyMagic = []byte("\x93NUMPY")

const (
	// maxNpyHeader bounds the header read when the input size is unknown.
	// NumPy itself refuses headers over 10000 bytes by default; real
	// headers are well under 200 bytes.
	maxNpyHeader = 1 << 20
	// maxNpyDims is NumPy's NPY_MAXDIMS.
	maxNpyDims = 64
	// npyAlign is the alignment NumPy pads headers to.
	npyAlign = 64
	// growthAxisMaxDigits is NumPy's GROWTH_AXIS_MAX_DIGITS: extra header
	// space NumPy reserves so the first axis can grow in place.
	growthAxisMaxDigits = 21
)

// npyDescr maps the descr strings (without byte order) to DTypes.
var npyDescr = map[string]DType{
	"f8": F64, "f4": F32, "f2": F16,
	"i8": I64, "i4": I32, "i2": I16, "i1": I8,
	"u1": U8, "b1": Bool,
}

// descrOf returns NumPy's descr for dt.
func descrOf(dt DType) (string, error) {
	switch dt {
	case F64:
		return "<f8", nil
	case F32:
		return "<f4", nil
	case F16:
		return "<f2", nil
	case I64:
		return "<i8", nil
	case I32:
		return "<i4", nil
	case I16:
		return "<i2", nil
	case I8:
		return "|i1", nil
	case U8:
		return "|u1", nil
	case Bool:
		return "|b1", nil
	case BF16:
		return "", errorf("dtype BF16 has no NumPy equivalent; convert it to F32 (or F16) first")
	}
	return "", errorf("unknown dtype %q", string(dt))
}

// ReadNpy reads a .npy file. Unlike DecodeNpy it requires the array to fill
// the file exactly: trailing bytes mean the header and data disagree.
func ReadNpy(path string) (Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return Array{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Array{}, err
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	br := bufio.NewReader(f)
	a, err := decodeNpy(br, size, size >= 0)
	if err == nil {
		err = checkNpyEOF(br)
	}
	if err != nil {
		return Array{}, wrap(err, path, "npy")
	}
	return a, nil
}

// checkNpyEOF reports data left in r after an array.
func checkNpyEOF(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if n > 0 {
		return errorf("%d bytes of trailing data after the array", n)
	}
	return nil
}

// DecodeNpy reads one .npy array from r. size is the number of bytes r can
// deliver, or -1 if unknown. A known size lets header claims be checked up
// front and the data be read into one exact allocation, so the caller must
// not overstate it; with -1 the buffer grows only as data arrives. DecodeNpy
// reads exactly the array and nothing after it.
//
// Big-endian arrays are converted to little-endian and Fortran-order arrays
// are transposed to C order. The returned Array has an empty Name.
func DecodeNpy(r io.Reader, size int64) (Array, error) {
	a, err := decodeNpy(r, size, size >= 0)
	if err != nil {
		return Array{}, wrap(err, "", "npy")
	}
	return a, nil
}

// decodeNpy implements DecodeNpy. size (if ≥ 0) bounds what the header may
// claim; prealloc says size can be trusted for allocation – not so for a zip
// member's declared size, which is just another header field.
func decodeNpy(r io.Reader, size int64, prealloc bool) (Array, error) {
	var pre [12]byte
	if err := readFull(r, pre[:8], "magic and version"); err != nil {
		return Array{}, err
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return Array{}, errorf("not a .npy file: bad magic %q", pre[:6])
	}
	major, minor := pre[6], pre[7]
	var prefix int64
	var hlen uint32
	switch {
	case major == 1 && minor == 0:
		if err := readFull(r, pre[8:10], "header length"); err != nil {
			return Array{}, err
		}
		prefix, hlen = 10, uint32(binary.LittleEndian.Uint16(pre[8:]))
	case (major == 2 || major == 3) && minor == 0:
		if err := readFull(r, pre[8:12], "header length"); err != nil {
			return Array{}, err
		}
		prefix, hlen = 12, binary.LittleEndian.Uint32(pre[8:])
	default:
		return Array{}, errorf("unsupported .npy format version %d.%d", major, minor)
	}
	if size >= 0 && int64(hlen) > size-prefix {
		return Array{}, errorf("header length %d exceeds the %d bytes after the prefix", hlen, max(size-prefix, 0))
	}
	if hlen > maxNpyHeader {
		return Array{}, errorf("header length %d exceeds the limit of %d bytes", hlen, maxNpyHeader)
	}
	hdr := make([]byte, hlen)
	if err := readFull(r, hdr, "header"); err != nil {
		return Array{}, err
	}
	h, err := parseNpyHeader(hdr)
	if err != nil {
		return Array{}, fmt.Errorf("header: %w", err)
	}
	need, err := byteSize(h.dtype, h.shape)
	if err != nil {
		return Array{}, fmt.Errorf("header: %w", err)
	}
	if size >= 0 {
		if avail := size - prefix - int64(hlen); int64(need) > avail {
			return Array{}, errorf("header declares %d bytes of data (dtype %s shape %s), only %d follow", need, h.dtype, fmtShape(h.shape), avail)
		}
	}
	var data []byte
	if prealloc {
		data = make([]byte, need)
		err = readFull(r, data, "data")
	} else {
		data, err = readGrowing(r, need)
	}
	if err != nil {
		return Array{}, err
	}
	sz := h.dtype.Size()
	if h.bigEndian && sz > 1 {
		swapBytes(data, sz)
	}
	if h.fortran {
		data = fortranToC(data, h.shape, sz)
	}
	return Array{DType: h.dtype, Shape: h.shape, Data: data}, nil
}

// readFull is io.ReadFull with a message that says what was cut short.
func readFull(r io.Reader, b []byte, what string) error {
	n, err := io.ReadFull(r, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errorf("truncated %s: got %d of %d bytes", what, n, len(b))
	}
	return err
}

// readGrowing reads exactly n bytes without trusting n for allocation: the
// buffer starts small and doubles as data actually arrives, so a lying
// header costs at most a small constant, not n.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, 1<<16))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(2*cap(buf), n))
			copy(nb, buf)
			buf = nb
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if len(buf) < n {
				return nil, errorf("truncated data: got %d of %d bytes", len(buf), n)
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func swapBytes(b []byte, sz int) {
	for i := 0; i+sz <= len(b); i += sz {
		e := b[i : i+sz]
		for j, k := 0, sz-1; j < k; j, k = j+1, k-1 {
			e[j], e[k] = e[k], e[j]
		}
	}
}

// fortranToC reorders column-major data into row-major.
func fortranToC(data []byte, shape []int, sz int) []byte {
	n := len(data) / sz
	nd := len(shape)
	if nd < 2 || n <= 1 {
		return data
	}
	fs := make([]int, nd) // Fortran strides, in elements
	fs[0] = 1
	for i := 1; i < nd; i++ {
		fs[i] = fs[i-1] * shape[i-1]
	}
	out := make([]byte, len(data))
	idx := make([]int, nd)
	off := 0
	for i := 0; i < n; i++ {
		copy(out[i*sz:i*sz+sz], data[off*sz:off*sz+sz])
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			off += fs[d]
			if idx[d] < shape[d] {
				break
			}
			off -= fs[d] * shape[d]
			idx[d] = 0
		}
	}
	return out
}

type npyHeader struct {
	dtype     DType
	bigEndian bool
	fortran   bool
	shape     []int
}

// parseNpyHeader parses the header dict.
func parseNpyHeader(b []byte) (npyHeader, error) {
	p := &pyParser{s: b}
	var h npyHeader
	seen := map[string]bool{}
	p.ws()
	if err := p.expect('{'); err != nil {
		return h, err
	}
	for {
		p.ws()
		if p.peek() == '}' {
			p.i++
			break
		}
		key, err := p.str()
		if err != nil {
			return h, err
		}
		if seen[key] {
			return h, errorf("duplicate key %q", key)
		}
		seen[key] = true
		p.ws()
		if err := p.expect(':'); err != nil {
			return h, err
		}
		p.ws()
		switch key {
		case "descr":
			if c := p.peek(); c == '[' || c == '{' {
				return h, errorf("descr is a structured dtype; only plain numeric and bool arrays are supported")
			}
			s, err := p.str()
			if err != nil {
				return h, fmt.Errorf("descr: %w", err)
			}
			h.dtype, h.bigEndian, err = parseDescr(s)
			if err != nil {
				return h, err
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return h, errorf("fortran_order at offset %d is not True or False", p.i)
			}
		case "shape":
			h.shape, err = p.shape()
			if err != nil {
				return h, err
			}
		default:
			return h, errorf("unexpected key %q", key)
		}
		p.ws()
		if p.peek() == ',' {
			p.i++
			continue
		}
		p.ws()
		if p.peek() != '}' {
			return h, errorf("at offset %d: want ',' or '}'", p.i)
		}
	}
	p.ws()
	if p.i != len(p.s) {
		return h, errorf("unexpected data at offset %d after the header dict", p.i)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, errorf("missing key %q", k)
		}
	}
	return h, nil
}

func parseDescr(s string) (DType, bool, error) {
	bad := func() (DType, bool, error) {
		return "", false, errorf("descr %q is not supported (want one of '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1', or their '>' variants)", s)
	}
	if len(s) < 2 {
		return bad()
	}
	dt, ok := npyDescr[s[1:]]
	if !ok {
		return bad()
	}
	switch s[0] {
	case '<':
		return dt, false, nil
	case '>':
		return dt, true, nil
	case '|', '=':
		// No byte order: fine for 1-byte types only. ('=' is the
		// writer's native order, which we cannot know.)
		if dt.Size() == 1 {
			return dt, false, nil
		}
	}
	return bad()
}

// pyParser parses the subset of Python literals found in .npy headers.
type pyParser struct {
	s []byte
	i int
}

func (p *pyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *pyParser) expect(c byte) error {
	if p.peek() != c {
		return errorf("at offset %d: want %q", p.i, c)
	}
	p.i++
	return nil
}

// word consumes the identifier w if it is next (and not a prefix of a
// longer identifier).
func (p *pyParser) word(w string) bool {
	if !bytes.HasPrefix(p.s[p.i:], []byte(w)) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && isIdent(p.s[j]) {
		return false
	}
	p.i += len(w)
	return true
}

func isIdent(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// str parses a quoted string without escapes (no key or descr NumPy writes
// needs one).
func (p *pyParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", errorf("at offset %d: want a quoted string", p.i)
	}
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		switch p.s[j] {
		case q:
			p.i = j + 1
			return string(p.s[start:j]), nil
		case '\\', '\n':
			return "", errorf("at offset %d: escapes and newlines in strings are not supported", j)
		}
	}
	return "", errorf("at offset %d: unterminated string", p.i)
}

// shape parses a tuple of non-negative integers: (), (n,), (n, m, ...).
func (p *pyParser) shape() ([]int, error) {
	start := p.i
	if err := p.expect('('); err != nil {
		return nil, fmt.Errorf("shape: %w", err)
	}
	shape := []int{}
	for {
		p.ws()
		if p.peek() == ')' {
			p.i++
			break
		}
		j := p.i
		for j < len(p.s) && (p.s[j] == '-' || '0' <= p.s[j] && p.s[j] <= '9') {
			j++
		}
		v, ok := parseBigInt(string(p.s[p.i:j]))
		if !ok {
			return nil, errorf("shape: at offset %d: want an integer", p.i)
		}
		p.i = j
		if c := p.peek(); c == 'L' || c == 'l' { // Python 2 long
			p.i++
		}
		if v.neg {
			return nil, errorf("shape has negative dimension %s", v)
		}
		if !v.IsInt64() || v.Int64() > int64(maxInt) {
			return nil, errorf("shape dimension %s is too large", v)
		}
		if len(shape) == maxNpyDims {
			return nil, errorf("shape has more than %d dimensions", maxNpyDims)
		}
		shape = append(shape, int(v.Int64()))
		p.ws()
		if p.peek() == ',' {
			p.i++
			continue
		}
		if p.peek() != ')' {
			return nil, errorf("shape: at offset %d: want ',' or ')'", p.i)
		}
		if len(shape) == 1 {
			// (3) is the integer 3 in Python, not a tuple.
			return nil, errorf("shape %s is not a tuple", p.s[start:p.i+1])
		}
	}
	return shape, nil
}

const maxInt = int(^uint(0) >> 1)

// WriteNpy writes a as a .npy file, atomically (see the package comment).
func WriteNpy(path string, a Array) error {
	hdr, err := npyHeaderBytes(a)
	if err != nil {
		return wrap(namedErr(a.Name, err), path, "npy")
	}
	return writeAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		_, err := w.Write(a.Data)
		return err
	})
}

// EncodeNpy writes a to w in .npy format, byte for byte as NumPy's np.save
// would: a version 1.0 header (2.0 if it would not fit), the same dict
// text, and the same padding.
func EncodeNpy(w io.Writer, a Array) error {
	hdr, err := npyHeaderBytes(a)
	if err != nil {
		return wrap(namedErr(a.Name, err), "", "npy")
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err = w.Write(a.Data)
	return err
}

// npyHeaderBytes validates a and returns its .npy prefix and header. Errors
// do not name the array; see namedErr.
func npyHeaderBytes(a Array) ([]byte, error) {
	descr, err := descrOf(a.DType)
	if err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	if len(a.Shape) > maxNpyDims {
		return nil, errorf("shape has %d dimensions, NumPy supports at most %d", len(a.Shape), maxNpyDims)
	}
	var sh strings.Builder
	sh.WriteByte('(')
	for i, d := range a.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.Itoa(d))
	}
	if len(a.Shape) == 1 {
		sh.WriteByte(',')
	}
	sh.WriteByte(')')
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh.String())
	if len(a.Shape) > 0 {
		dict += strings.Repeat(" ", max(growthAxisMaxDigits-len(strconv.Itoa(a.Shape[0])), 0))
	}
	// NumPy's _wrap_header: pad with spaces, end with '\n', so that prefix
	// plus header is a multiple of 64 (adding a full 64 when already aligned).
	hlen := len(dict) + 1
	prefix, major := 10, byte(1)
	if pad := npyAlign - (prefix+hlen)%npyAlign; hlen+pad > 0xffff {
		prefix, major = 12, 2
	}
	pad := npyAlign - (prefix+hlen)%npyAlign
	out := make([]byte, 0, prefix+hlen+pad)
	out = append(out, npyMagic...)
	out = append(out, major, 0)
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hlen+pad))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hlen+pad))
	}
	out = append(out, dict...)
	out = append(out, bytes.Repeat([]byte{' '}, pad)...)
	out = append(out, '\n')
	return out, nil
}

// namedErr prefixes err with the array name, if there is one.
func namedErr(name string, err error) error {
	if name == "" {
		return err
	}
	return fmt.Errorf("tensor %q: %w", name, err)
}
