package tensorio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"unicode/utf8"
)

// safetensors layout (https://github.com/huggingface/safetensors):
//
//	u64 LE    N, the header length
//	N bytes   JSON header, UTF-8, starting with '{', maybe space-padded:
//	          {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//	           "__metadata__": {"key": "value"}}
//	rest      the byte buffer; offsets are relative to its start, and the
//	          tensors must cover it exactly, without gaps or overlaps.

// maxSafetensorsHeader is the header size limit of the reference
// implementation; a larger header is an attack, not a model.
const maxSafetensorsHeader = 100_000_000

const metadataKey = "__metadata__"

// ReadSafetensors reads a safetensors file. The arrays are sorted by name;
// metadata is nil when the file has none.
func ReadSafetensors(path string) (arrays []Array, metadata map[string]string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	arrays, metadata, err = decodeSafetensors(b)
	if err != nil {
		return nil, nil, wrap(err, path, "safetensors")
	}
	return arrays, metadata, nil
}

// DecodeSafetensors decodes a safetensors file held in b; see
// ReadSafetensors. The Data of the returned arrays aliases b (capacity-capped,
// so appending to one never overwrites another): loading a model does not
// need two copies of its weights.
func DecodeSafetensors(b []byte) ([]Array, map[string]string, error) {
	arrays, md, err := decodeSafetensors(b)
	if err != nil {
		return nil, nil, wrap(err, "", "safetensors")
	}
	return arrays, md, nil
}

type stEntry struct {
	name       string
	begin, end uint64
}

func decodeSafetensors(b []byte) ([]Array, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, errorf("file has %d bytes, too short for the 8-byte header length", len(b))
	}
	n, err := headerLength(binary.LittleEndian.Uint64(b), uint64(len(b)))
	if err != nil {
		return nil, nil, err
	}
	buf := b[8+n:]
	arrays, entries, metadata, err := parseSafetensorsHeader(b[8:8+n], uint64(len(buf)))
	if err != nil {
		return nil, nil, err
	}
	for i, e := range entries {
		arrays[i].Data = buf[e.begin:e.end:e.end]
	}
	sort.Slice(arrays, func(i, j int) bool { return arrays[i].Name < arrays[j].Name })
	return arrays, metadata, nil
}

// headerLength checks the header length prefix n of a file of size bytes.
func headerLength(n, size uint64) (uint64, error) {
	rest := size - 8
	if n > rest {
		return 0, errorf("header length %d exceeds the %d bytes after the length prefix", n, rest)
	}
	if n > maxSafetensorsHeader {
		return 0, errorf("header length %d exceeds the limit of %d bytes", n, maxSafetensorsHeader)
	}
	return n, nil
}

// ReadSafetensorsAt reads a safetensors file of size bytes from r (an
// opened file) in the order its format allows checking it: the 8-byte
// length, then the header, every tensor's dtype, shape and offsets
// checked against the size; only then the data, whose size must not
// exceed maxData. A 4 GiB file of junk is refused after reading 8 bytes,
// and no read is sized by anything not yet checked. check, if not nil, is
// given the arrays (without Data) once the header is read, and may refuse
// them before the data is. The arrays are sorted by name and their Data
// share one buffer.
func ReadSafetensorsAt(r io.ReaderAt, size, maxData int64, check func([]Array) error) ([]Array, map[string]string, error) {
	arrays, md, err := readSafetensorsAt(r, size, maxData, check)
	if err != nil {
		return nil, nil, wrap(err, "", "safetensors")
	}
	return arrays, md, nil
}

func readSafetensorsAt(r io.ReaderAt, size, maxData int64, check func([]Array) error) ([]Array, map[string]string, error) {
	if size < 8 {
		return nil, nil, errorf("file has %d bytes, too short for the 8-byte header length", size)
	}
	var prefix [8]byte
	if err := readAt(r, prefix[:], 0); err != nil {
		return nil, nil, err
	}
	n, err := headerLength(binary.LittleEndian.Uint64(prefix[:]), uint64(size))
	if err != nil {
		return nil, nil, err
	}
	header := make([]byte, n)
	if err := readAt(r, header, 8); err != nil {
		return nil, nil, err
	}
	bufLen := uint64(size) - 8 - n
	arrays, entries, metadata, err := parseSafetensorsHeader(header, bufLen)
	if err != nil {
		return nil, nil, err
	}
	if bufLen > uint64(maxData) {
		return nil, nil, errorf("the tensors hold %d bytes, over the limit of %d", bufLen, maxData)
	}
	if check != nil {
		if err := check(arrays); err != nil {
			return nil, nil, err
		}
	}
	buf := make([]byte, bufLen)
	if err := readAt(r, buf, int64(8+n)); err != nil {
		return nil, nil, err
	}
	for i, e := range entries {
		arrays[i].Data = buf[e.begin:e.end:e.end]
	}
	sort.Slice(arrays, func(i, j int) bool { return arrays[i].Name < arrays[j].Name })
	return arrays, metadata, nil
}

// readAt fills b from r at off; io.EOF with b filled (allowed by
// io.ReaderAt at the end) is success, anything short an error.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	if len(b) == 0 {
		return nil
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		return errorf("truncated file: got %d of %d bytes at offset %d (did it change while being read?)", n, len(b), off)
	}
	return err
}

// parseSafetensorsHeader parses and checks the JSON header against a data
// buffer of bufLen bytes: the arrays (without Data) and their entries, in
// header order.
func parseSafetensorsHeader(header []byte, bufLen uint64) ([]Array, []stEntry, map[string]string, error) {
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, nil, errorf("header does not start with '{'")
	}
	if !utf8.Valid(header) {
		return nil, nil, nil, errorf("header is not valid UTF-8")
	}

	var (
		arrays   []Array
		entries  []stEntry
		metadata map[string]string
	)
	dec := json.NewDecoder(bytes.NewReader(header))
	err := walkObject(dec, func(key string, raw json.RawMessage) error {
		if key == metadataKey {
			md, err := decodeMetadata(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", metadataKey, err)
			}
			metadata = md
			return nil
		}
		a, e, err := decodeTensorInfo(key, raw, bufLen)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		arrays = append(arrays, a)
		entries = append(entries, e)
		return nil
	}, func(key string) error {
		if key == metadataKey {
			return errorf("duplicate %q", metadataKey)
		}
		return errorf("duplicate tensor name %q", key)
	})
	if err != nil {
		return nil, nil, nil, headerErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, errorf("header: unexpected data after the JSON object")
	}
	if err := checkCoverage(append([]stEntry(nil), entries...), bufLen); err != nil {
		return nil, nil, nil, err
	}
	return arrays, entries, metadata, nil
}

// jsonSyntaxError marks errors from encoding/json, so they are reported as
// malformed JSON rather than as a validation failure.
type jsonSyntaxError struct{ err error }

func (e jsonSyntaxError) Error() string { return e.err.Error() }

// jsonErr wraps an encoding/json error; the bare io.EOF that json.Decoder
// returns for a cut-off header would read as if nothing was wrong.
func jsonErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errors.New("unexpected end of header")
	}
	return jsonSyntaxError{err}
}

func headerErr(err error) error {
	var se jsonSyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("header: malformed JSON: %v", se.err)
	}
	return err
}

// walkObject reads one JSON object from dec, calling member for each member
// in order. encoding/json silently keeps the last of duplicate keys; here a
// duplicate is reported through dup, because two tensors of the same name
// mean the file is broken or crafted.
func walkObject(dec *json.Decoder, member func(key string, raw json.RawMessage) error, dup func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errorf("want a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return jsonSyntaxError{errorf("object key is not a string")}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(err)
		}
		if seen[key] {
			return dup(key)
		}
		seen[key] = true
		if err := member(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonErr(err)
	}
	return nil
}

func decodeMetadata(raw json.RawMessage) (map[string]string, error) {
	md := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	err := walkObject(dec, func(key string, raw json.RawMessage) error {
		if len(raw) == 0 || raw[0] != '"' {
			return errorf("value of %q is not a string", key)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return jsonErr(err)
		}
		md[key] = s
		return nil
	}, func(key string) error { return errorf("duplicate key %q", key) })
	return md, err
}

// decodeTensorInfo parses one tensor's header entry and checks it against
// a data buffer of bufLen bytes; the caller sets the Array's Data.
func decodeTensorInfo(name string, raw json.RawMessage, bufLen uint64) (Array, stEntry, error) {
	var dtypeRaw, shapeRaw, offRaw json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	err := walkObject(dec, func(key string, raw json.RawMessage) error {
		switch key {
		case "dtype":
			dtypeRaw = raw
		case "shape":
			shapeRaw = raw
		case "data_offsets":
			offRaw = raw
		}
		// Unknown fields are ignored, as the reference implementation does.
		return nil
	}, func(key string) error { return errorf("duplicate field %q", key) })
	if err != nil {
		return Array{}, stEntry{}, err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"dtype", dtypeRaw}, {"shape", shapeRaw}, {"data_offsets", offRaw}} {
		if f.raw == nil {
			return Array{}, stEntry{}, errorf("missing %q", f.name)
		}
	}

	if dtypeRaw[0] != '"' {
		return Array{}, stEntry{}, errorf("dtype is not a string")
	}
	var ds string
	if err := json.Unmarshal(dtypeRaw, &ds); err != nil {
		return Array{}, stEntry{}, jsonErr(err)
	}
	dt := DType(ds)
	if dt.Size() == 0 {
		return Array{}, stEntry{}, errorf("unknown dtype %q", ds)
	}

	dims, err := jsonInts(shapeRaw, "shape")
	if err != nil {
		return Array{}, stEntry{}, err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d.lt0() {
			return Array{}, stEntry{}, errorf("shape %s has negative dimension %s", rawCompact(shapeRaw), d.String())
		}
		if !d.IsInt64() || d.Int64() > math.MaxInt {
			return Array{}, stEntry{}, errorf("shape %s: dimension %s is too large", rawCompact(shapeRaw), d.String())
		}
		shape[i] = int(d.Int64())
	}
	need, err := byteSize(dt, shape)
	if err != nil {
		return Array{}, stEntry{}, err
	}

	offs, err := jsonInts(offRaw, "data_offsets")
	if err != nil {
		return Array{}, stEntry{}, err
	}
	if len(offs) != 2 {
		return Array{}, stEntry{}, errorf("data_offsets must hold 2 integers, not %d", len(offs))
	}
	for _, o := range offs {
		if o.lt0() {
			return Array{}, stEntry{}, errorf("data_offsets %s: offset %s is negative", rawCompact(offRaw), o.String())
		}
		if !o.IsUint64() {
			return Array{}, stEntry{}, errorf("data_offsets %s: offset %s is too large", rawCompact(offRaw), o.String())
		}
	}
	begin, end := offs[0].Uint64(), offs[1].Uint64()
	if begin > end {
		return Array{}, stEntry{}, errorf("data_offsets [%d, %d] end before they begin", begin, end)
	}
	if end > bufLen {
		return Array{}, stEntry{}, errorf("data_offsets [%d, %d] exceed the %d-byte data buffer", begin, end, bufLen)
	}
	if have := end - begin; have != uint64(need) {
		return Array{}, stEntry{}, errorf("data_offsets [%d, %d] hold %d bytes, dtype %s shape %s needs %d", begin, end, have, dt, fmtShape(shape), need)
	}
	a := Array{Name: name, DType: dt, Shape: shape}
	return a, stEntry{name, begin, end}, nil
}

// checkCoverage checks that the tensors tile the buffer exactly. The spec
// demands it, and it rules out two tensors sharing bytes (writing one would
// silently change the other) and hidden data smuggled between tensors.
func checkCoverage(entries []stEntry, size uint64) error {
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].begin != entries[j].begin {
			return entries[i].begin < entries[j].begin
		}
		if entries[i].end != entries[j].end {
			return entries[i].end < entries[j].end
		}
		return entries[i].name < entries[j].name
	})
	var pos uint64
	var prev *stEntry
	for i := range entries {
		e := &entries[i]
		switch {
		case e.begin < pos:
			return errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q [%d, %d]", e.name, e.begin, e.end, prev.name, prev.begin, prev.end)
		case e.begin > pos:
			if prev == nil {
				return errorf("buffer bytes [%d, %d) before tensor %q are not covered by any tensor", pos, e.begin, e.name)
			}
			return errorf("buffer bytes [%d, %d) between tensor %q and tensor %q are not covered by any tensor", pos, e.begin, prev.name, e.name)
		}
		pos = e.end
		prev = e
	}
	if pos != size {
		if prev == nil {
			return errorf("buffer bytes [0, %d) are not covered by any tensor", size)
		}
		return errorf("buffer bytes [%d, %d) after tensor %q are not covered by any tensor", pos, size, prev.name)
	}
	return nil
}

// jsonInts parses a JSON array of integers. It works on the literal text so
// that 1.5, 1e3, "3" and values beyond int64 are rejected rather than
// rounded or coerced.
func jsonInts(raw json.RawMessage, what string) ([]bigInt, error) {
	if raw[0] != '[' {
		return nil, errorf("%s %s is not an array", what, rawCompact(raw))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, jsonErr(err)
	}
	out := make([]bigInt, len(elems))
	for i, e := range elems {
		v, ok := parseBigInt(string(e))
		if !ok {
			return nil, errorf("%s %s: %s is not an integer", what, rawCompact(raw), string(e))
		}
		out[i] = v
	}
	return out, nil
}

// bigInt is a JSON integer that may be out of range for int64 or uint64:
// neg tells the sign, mag the magnitude, and ovf that the magnitude does not
// fit in uint64. Keeping the text around gives error messages the value
// exactly as the file wrote it.
type bigInt struct {
	text string
	neg  bool
	mag  uint64
	ovf  bool
}

func parseBigInt(s string) (bigInt, bool) {
	t := s
	neg := false
	if len(t) > 0 && t[0] == '-' {
		neg, t = true, t[1:]
	}
	if len(t) == 0 {
		return bigInt{}, false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return bigInt{}, false
		}
	}
	mag, err := strconv.ParseUint(t, 10, 64)
	ovf := err != nil
	if neg && mag == 0 && !ovf {
		neg = false // -0
	}
	return bigInt{text: s, neg: neg, mag: mag, ovf: ovf}, true
}

func (b bigInt) String() string { return b.text }

// less-than-zero comparison used as b < 0.
func (b bigInt) lt0() bool { return b.neg }

func (b bigInt) IsInt64() bool  { return !b.neg && !b.ovf && b.mag <= math.MaxInt64 }
func (b bigInt) Int64() int64   { return int64(b.mag) }
func (b bigInt) IsUint64() bool { return !b.neg && !b.ovf }
func (b bigInt) Uint64() uint64 { return b.mag }

// rawCompact returns a JSON value's text without insignificant whitespace,
// for error messages, cut short if very long.
func rawCompact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		b.Reset()
		b.Write(raw)
	}
	s := b.String()
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// WriteSafetensors writes arrays and metadata as a safetensors file,
// atomically (see the package comment).
func WriteSafetensors(path string, arrays []Array, metadata map[string]string) error {
	hdr, order, err := safetensorsHeader(arrays, metadata)
	if err != nil {
		return wrap(err, path, "safetensors")
	}
	return writeAtomic(path, func(w io.Writer) error {
		return writeSafetensors(w, hdr, arrays, order)
	})
}

// EncodeSafetensors returns arrays and metadata as the bytes of a
// safetensors file: metadata first, then tensors sorted by name, their data
// stored in the same order, the header space-padded so that the data starts
// 8-byte aligned.
func EncodeSafetensors(arrays []Array, metadata map[string]string) ([]byte, error) {
	hdr, order, err := safetensorsHeader(arrays, metadata)
	if err != nil {
		return nil, wrap(err, "", "safetensors")
	}
	total := len(hdr)
	for _, i := range order {
		total += len(arrays[i].Data)
	}
	var b bytes.Buffer
	b.Grow(total)
	if err := writeSafetensors(&b, hdr, arrays, order); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeSafetensors(w io.Writer, hdr []byte, arrays []Array, order []int) error {
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, i := range order {
		if _, err := w.Write(arrays[i].Data); err != nil {
			return err
		}
	}
	return nil
}

// safetensorsHeader validates arrays and returns the length prefix plus
// padded JSON header, and the order (indexes into arrays) of the data.
func safetensorsHeader(arrays []Array, metadata map[string]string) ([]byte, []int, error) {
	order := make([]int, len(arrays))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return arrays[order[i]].Name < arrays[order[j]].Name })

	var h bytes.Buffer
	h.WriteString("{")
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, errorf("%s: key %q or its value is not valid UTF-8", metadataKey, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(jsonString(metadataKey) + ":{")
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			h.WriteString(jsonString(k) + ":" + jsonString(metadata[k]))
		}
		h.WriteString("}")
		first = false
	}
	var off uint64
	for n, i := range order {
		a := arrays[i]
		if n > 0 && arrays[order[n-1]].Name == a.Name {
			return nil, nil, errorf("duplicate tensor name %q", a.Name)
		}
		if a.Name == metadataKey {
			return nil, nil, errorf("tensor name %q is reserved", a.Name)
		}
		if !utf8.ValidString(a.Name) {
			return nil, nil, errorf("tensor name %q is not valid UTF-8", a.Name)
		}
		if err := a.check(); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", a.Name, err)
		}
		if !first {
			h.WriteByte(',')
		}
		first = false
		end := off + uint64(len(a.Data))
		fmt.Fprintf(&h, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, jsonString(a.Name), a.DType, fmtShape(a.Shape), off, end)
		off = end
	}
	h.WriteString("}")
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > maxSafetensorsHeader {
		return nil, nil, errorf("header of %d bytes exceeds the limit of %d bytes", h.Len(), maxSafetensorsHeader)
	}
	out := make([]byte, 8, 8+h.Len())
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	return append(out, h.Bytes()...), order, nil
}

// jsonString quotes s as JSON without HTML escaping, as serde_json (the
// reference writer) does.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // cannot fail for a string
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
