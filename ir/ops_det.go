package ir

import (
	"fmt"

	"github.com/modelc/modelc/runtime/numerics"
)

// det is ONNX Det: the determinants of the trailing n×n matrices of x
// (…, n, n), giving (…); LU with partial pivoting in float64
// (numerics.Det, which generated code shares).

func init() {
	ops[KDet] = OpInfo{"det", 1, 1, simple(KDet), inferDet}
	evalTable[KDet] = evalDet
}

func inferDet(op Op, in []Type) ([]Type, error) {
	if err := wantFloat(0, in[0]); err != nil {
		return nil, err
	}
	x := in[0].Shape
	r := x.Rank()
	if r < 2 || x[r-1] != x[r-2] || !x[r-1].Static() {
		return nil, fmt.Errorf("x has shape %v, want (…, n, n) with a static n", x)
	}
	return one(TensorType(in[0].DType, x[:r-2].Clone())), nil
}

func evalDet(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	n := x.Shape[r-1]
	res := NewTensor(x.DType, x.Shape[:r-2])
	a := make([]float64, n*n)
	for b := range res.F {
		res.F[b] = float32(numerics.Det(x.F[b*n*n:(b+1)*n*n], n, a))
	}
	return []*Tensor{res}, nil
}
