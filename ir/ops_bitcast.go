package ir

import (
	"fmt"
	"math"
)

// BitCast reinterprets each element's bits as dtype To, of the same
// width (ONNX BitCast, little endian). f16, bf16 and f64 are not held as
// their own bits (the evaluator stores them as f32), so they do not take
// part.
type BitCast struct {
	To DType `attr:"to"`
}

func (*BitCast) Kind() Kind { return KBitCast }

func init() {
	ops[KBitCast] = OpInfo{"bit_cast", 1, 1, func() Op { return &BitCast{To: I32} }, inferBitCast}
	evalTable[KBitCast] = evalBitCast
}

func bitCastable(d DType) bool {
	return d != F16 && d != BF16 && d != F64 && d != Invalid && d < numDTypes
}

func inferBitCast(op Op, in []Type) ([]Type, error) {
	to, from := op.(*BitCast).To, in[0].DType
	if !bitCastable(to) || !bitCastable(from) || to.Size() != from.Size() {
		return nil, fmt.Errorf("cannot reinterpret %s as %s (same width, not f16, bf16 or f64)", from, to)
	}
	return one(TensorType(to, in[0].Shape.Clone())), nil
}

func evalBitCast(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x, to := in[0], op.(*BitCast).To
	res := NewTensor(to, x.Shape)
	mask := uint64(1)<<(8*to.Size()) - 1
	if to.Size() == 8 {
		mask = math.MaxUint64
	}
	for i := range x.Numel() {
		var bits uint64
		if x.F != nil {
			bits = uint64(math.Float32bits(x.F[i]))
		} else {
			bits = uint64(x.I[i]) & mask
		}
		switch {
		case to == F32:
			res.F[i] = math.Float32frombits(uint32(bits))
		case to == Bool:
			res.I[i] = b2i(bits != 0)
		default:
			res.I[i] = wrapInt(int64(bits), to)
		}
	}
	return []*Tensor{res}, nil
}
