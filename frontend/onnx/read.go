package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/ir"
)

// Decode parses a serialized ONNX ModelProto. Truncated or corrupted
// bytes give an error, never a panic.
func Decode(data []byte) (*onnxpb.ModelProto, error) {
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("not a valid ONNX model: %w", err)
	}
	if m.Graph == nil {
		return nil, errors.New("ONNX model has no graph")
	}
	return m, nil
}

// DecodeTensor parses a serialized TensorProto (the node tests' input_N.pb
// and output_N.pb) into an evaluator tensor.
func DecodeTensor(data []byte) (*ir.Tensor, error) {
	t := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("not a valid ONNX TensorProto: %w", err)
	}
	return TensorFromProto(t, nil)
}

// ExternalReader reads a file that an initializer's external data names,
// relative to the model file; it enforces the caller's path policy.
type ExternalReader func(location string) ([]byte, error)

// maxElements bounds a tensor's element count, so that a corrupted
// header cannot ask for an absurd allocation.
const maxElements = limits.TensorElems

// dtypeFromONNX maps an ONNX TensorProto.DataType to an IR dtype.
func dtypeFromONNX(code int32) (ir.DType, error) {
	switch onnxpb.TensorProto_DataType(code) {
	case onnxpb.TensorProto_FLOAT:
		return ir.F32, nil
	case onnxpb.TensorProto_FLOAT16:
		return ir.F16, nil
	case onnxpb.TensorProto_BFLOAT16:
		return ir.BF16, nil
	case onnxpb.TensorProto_INT8:
		return ir.I8, nil
	case onnxpb.TensorProto_UINT8:
		return ir.U8, nil
	case onnxpb.TensorProto_INT16:
		return ir.I16, nil
	case onnxpb.TensorProto_INT32:
		return ir.I32, nil
	case onnxpb.TensorProto_INT64:
		return ir.I64, nil
	case onnxpb.TensorProto_BOOL:
		return ir.Bool, nil
	case onnxpb.TensorProto_DOUBLE:
		return ir.F64, nil
	case onnxpb.TensorProto_UINT16:
		return ir.U16, nil
	case onnxpb.TensorProto_UINT32:
		return ir.U32, nil
	case onnxpb.TensorProto_UINT64:
		return ir.U64, nil
	}
	if f, ok := outOfScopeType(code); ok {
		return ir.Invalid, outOfScopeError(f, "element type "+dtypeName(code))
	}
	return ir.Invalid, unsupported("element type %s (supported: FLOAT, DOUBLE at float32 precision, FLOAT16, BFLOAT16, INT8…64, UINT8…64, BOOL)", dtypeName(code))
}

func dtypeName(code int32) string {
	if n, ok := onnxpb.TensorProto_DataType_name[code]; ok {
		return n
	}
	return "data type " + strconv.Itoa(int(code))
}

// TensorFromProto converts a TensorProto with its payload in raw_data, a
// typed field, or external data (read through ext, which may be nil when
// the caller allows none).
func TensorFromProto(t *onnxpb.TensorProto, ext ExternalReader) (*ir.Tensor, error) {
	name := t.GetName()
	wrap := func(err error) error {
		if name == "" {
			return fmt.Errorf("tensor: %w", err)
		}
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	dt, err := dtypeFromONNX(t.GetDataType())
	if err != nil {
		return nil, wrap(err)
	}
	shape := make([]int, len(t.Dims))
	n := int64(1)
	for i, d := range t.Dims {
		if d < 0 || d > maxElements {
			return nil, wrap(fmt.Errorf("bad dimension %d in %v", d, t.Dims))
		}
		shape[i] = int(d)
		if n *= d; n > maxElements {
			return nil, wrap(fmt.Errorf("shape %v is too large", t.Dims))
		}
	}
	if t.Segment != nil {
		return nil, wrap(unsupported("segmented tensors"))
	}
	raw := t.RawData
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		if raw, err = externalData(t, ext); err != nil {
			return nil, wrap(err)
		}
	}
	out := ir.NewTensor(dt, nil)
	out.Shape = shape
	count := int(n)
	if raw != nil || t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		size := dt.Size()
		if int64(len(raw)) != n*int64(size) {
			return nil, wrap(fmt.Errorf("raw data holds %d bytes, shape %v of %s needs %d", len(raw), shape, dtypeName(t.GetDataType()), n*int64(size)))
		}
		if dt.IsFloat() {
			out.F = make([]float32, count)
		} else {
			out.I = make([]int64, count)
		}
		for i := 0; i < count; i++ {
			b := raw[i*size:]
			switch dt {
			case ir.F32:
				out.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(b))
			case ir.F16:
				out.F[i] = tensorio.Float16ToFloat32(binary.LittleEndian.Uint16(b))
			case ir.BF16:
				out.F[i] = tensorio.BFloat16ToFloat32(binary.LittleEndian.Uint16(b))
			case ir.I8:
				out.I[i] = int64(int8(b[0]))
			case ir.U8:
				out.I[i] = int64(b[0])
			case ir.Bool:
				out.I[i] = int64(min(b[0], 1))
			case ir.I16:
				out.I[i] = int64(int16(binary.LittleEndian.Uint16(b)))
			case ir.I32:
				out.I[i] = int64(int32(binary.LittleEndian.Uint32(b)))
			case ir.I64, ir.U64:
				out.I[i] = int64(binary.LittleEndian.Uint64(b))
			case ir.F64:
				out.F[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
			case ir.U16:
				out.I[i] = int64(binary.LittleEndian.Uint16(b))
			case ir.U32:
				out.I[i] = int64(binary.LittleEndian.Uint32(b))
			}
		}
		return out, nil
	}
	// Typed fields.
	var got int
	switch dt {
	case ir.F32:
		got = len(t.FloatData)
		if got == count {
			out.F = append([]float32{}, t.FloatData...)
		}
	case ir.F16, ir.BF16:
		got = len(t.Int32Data)
		if got == count {
			out.F = make([]float32, count)
			for i, v := range t.Int32Data {
				if dt == ir.F16 {
					out.F[i] = tensorio.Float16ToFloat32(uint16(v))
				} else {
					out.F[i] = tensorio.BFloat16ToFloat32(uint16(v))
				}
			}
		}
	case ir.I64:
		got = len(t.Int64Data)
		if got == count {
			out.I = append([]int64{}, t.Int64Data...)
		}
	case ir.F64:
		got = len(t.DoubleData)
		if got == count {
			out.F = make([]float32, count)
			for i, v := range t.DoubleData {
				out.F[i] = float32(v)
			}
		}
	case ir.U32, ir.U64:
		got = len(t.Uint64Data)
		if got == count {
			out.I = make([]int64, count)
			for i, v := range t.Uint64Data {
				if dt == ir.U32 {
					v = uint64(uint32(v))
				}
				out.I[i] = int64(v)
			}
		}
	default: // int8, uint8, int16, uint16, int32, bool live in int32_data
		got = len(t.Int32Data)
		if got == count {
			out.I = make([]int64, count)
			for i, v := range t.Int32Data {
				switch dt {
				case ir.I8:
					v = int32(int8(v))
				case ir.U8:
					v = int32(uint8(v))
				case ir.I16:
					v = int32(int16(v))
				case ir.U16:
					v = int32(uint16(v))
				case ir.Bool:
					v = min(max(v, 0), 1)
				}
				out.I[i] = int64(v)
			}
		}
	}
	if got != count {
		return nil, wrap(fmt.Errorf("holds %d values, shape %v needs %d", got, shape, count))
	}
	if out.F == nil && out.I == nil { // zero elements
		if dt.IsFloat() {
			out.F = []float32{}
		} else {
			out.I = []int64{}
		}
	}
	return out, nil
}

// externalData reads an initializer stored outside the model file.
func externalData(t *onnxpb.TensorProto, ext ExternalReader) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range t.ExternalData {
		v := kv.GetValue()
		switch kv.GetKey() {
		case "location":
			loc = v
		case "offset", "length":
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return nil, fmt.Errorf("external data %s %q: want a non-negative integer", kv.GetKey(), v)
			}
			if kv.GetKey() == "offset" {
				offset = x
			} else {
				length = x
			}
		case "checksum":
		default:
			return nil, fmt.Errorf("external data: unknown key %q", kv.GetKey())
		}
	}
	if loc == "" {
		return nil, errors.New("external data without a location")
	}
	if ext == nil {
		return nil, fmt.Errorf("external data %q: no model directory to read it from", loc)
	}
	data, err := ext(loc)
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	if offset > int64(len(data)) {
		return nil, fmt.Errorf("external data %q: offset %d past the end of the file (%d bytes)", loc, offset, len(data))
	}
	data = data[offset:]
	if length >= 0 {
		if length > int64(len(data)) {
			return nil, fmt.Errorf("external data %q: length %d at offset %d runs past the end of the file", loc, length, offset)
		}
		data = data[:length]
	}
	return data, nil
}
