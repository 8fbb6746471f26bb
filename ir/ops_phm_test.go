package ir_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
)

// TestKronMatchesDense checks the factored evaluators against the dense
// ones on the materialised weight W = Σ_r A_r ⊗ F_r (ir.KronSum, scale
// folded into its rows), over random factor shapes, with every part of
// the epilogue.
func TestKronMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	randT := func(shape ...int) *ir.Tensor {
		x := ir.NewTensor(ir.F32, shape)
		for i := range x.F {
			x.F[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for i := range 12 {
		R, m1, n1, m2, n2 := 1+rng.IntN(4), 1+rng.IntN(4), 1+rng.IntN(4), 1+rng.IntN(7), 1+rng.IntN(7)
		conv := i%2 == 1
		e := ir.Epilogue{Act: []string{"", "relu", "gelu", "gelu_tanh"}[i%4], Residual: i%3 == 0}
		scaled, bias := i%3 != 1, i%4 != 2
		name := fmt.Sprintf("R%d_%dx%d_%dx%d_conv%v_%s_res%v", R, m1, n1, m2, n2, conv, e.Act, e.Residual)
		t.Run(name, func(t *testing.T) {
			kh, kw := 1+rng.IntN(3), 1+rng.IntN(3)
			a := randT(R, m1, n1)
			s := randT(R, m2, n2)
			if conv {
				s = randT(R, m2, n2, kh, kw)
			}
			out := m1 * m2
			scale, b := randT(out), randT(out)
			// The dense weight with the scale folded in, rounded once.
			w64 := ir.KronSum(a, s)
			per := len(w64) / out
			wshape := append([]int{out}, s.Shape[2:]...)
			wshape[1] *= n1
			wd := ir.NewTensor(ir.F32, wshape)
			for j, v := range w64 {
				if scaled {
					v *= float64(scale.F[j/per])
				}
				wd.F[j] = float32(v)
			}
			var x *ir.Tensor
			var fop, dop ir.Op
			if conv {
				x = randT(3, n1*n2, 6, 5)
				pad, stride := []int{1, 0, 1, 2}, []int{1 + i%2, 1}
				fop = &ir.PHCConv2D{Stride: stride, Pad: pad, Dilation: []int{1, 1}, Scaled: scaled, Epilogue: e}
				dop = &ir.Conv2D{Stride: stride, Pad: pad, Dilation: []int{1, 1}, Groups: 1, Epilogue: e}
			} else {
				x = randT(5, n1*n2)
				fop, dop = &ir.PHMLinear{Scaled: scaled, Epilogue: e}, &ir.Linear{Epilogue: e}
			}
			build := func(op ir.Op, ws ...*ir.Tensor) ([]*ir.Tensor, error) {
				bld := ir.NewBuilder("g")
				xv, _ := bld.Input("x", ir.TensorType(ir.F32, append(ir.Shape{ir.N}, ir.StaticShape(x.Shape[1:]...)...)))
				ins := []*ir.Value{xv}
				for k, w := range ws {
					v, _ := bld.Const(fmt.Sprint("w", k), w)
					ins = append(ins, v)
				}
				if bias {
					v, _ := bld.Const("b", b)
					ins = append(ins, v)
				}
				inputs := []*ir.Tensor{x}
				if e.Residual {
					// The residual has the result's shape: infer it first.
					types := make([]ir.Type, len(ins))
					for k, v := range ins {
						types[k] = v.Type
					}
					e0 := e
					e0.Residual = false
					ir.SetEpilogue(op, e0)
					rt, err := ir.Infer(op, types)
					ir.SetEpilogue(op, e)
					if err != nil {
						return nil, err
					}
					rv, _ := bld.Input("r", rt[0])
					ins = append(ins, rv)
					inputs = append(inputs, randResid(rt[0].Shape.At(x.Shape[0]), i))
				}
				y, err := bld.Add1("l", op, ins, "y")
				if err != nil {
					return nil, err
				}
				bld.G.Outputs = []*ir.Value{y}
				return ir.Eval(bld.G, inputs...)
			}
			fws := []*ir.Tensor{a, s}
			if scaled {
				fws = append(fws, scale)
			}
			got, err := build(fop, fws...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := build(dop, wd)
			if err != nil {
				t.Fatal(err)
			}
			if err := match.Kernel(got[0].F, want[0].F); err != nil {
				t.Error(err)
			}
		})
	}
}

// randResid is a residual of the given shape, seeded by i (the same in
// both graphs).
func randResid(shape []int, i int) *ir.Tensor {
	rng := rand.New(rand.NewPCG(uint64(i), 99))
	r := ir.NewTensor(ir.F32, shape)
	for j := range r.F {
		r.F[j] = float32(rng.NormFloat64())
	}
	return r
}
