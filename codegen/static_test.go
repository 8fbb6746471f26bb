package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
)

// TestStaticShapes: a graph whose shapes do not involve the batch (an
// ONNX model with fixed shapes) and one mixing a batch-major input with a
// static one compile into packages that build, vet and pass their own
// tests (vectors from the reference evaluator, wrong sizes, no
// allocations, clones, Predict).
func TestStaticShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles two generated packages")
	}
	f32 := func(shape []int, seed float32) *ir.Tensor {
		x := ir.NewTensor(ir.F32, shape)
		for i := range x.F {
			x.F[i] = seed * float32(i%7-3)
		}
		return x
	}
	cases := map[string]func(b *ir.Builder) ([]*ir.Tensor, error){
		// y = relu(x·wᵀ + b), x fixed at [2, 3].
		"static": func(b *ir.Builder) ([]*ir.Tensor, error) {
			x, err := b.Input("x", ir.Type{DType: ir.F32, Shape: ir.Shape{ir.D(2), ir.D(3)}})
			if err != nil {
				return nil, err
			}
			w, _ := b.Const("w", f32([]int{4, 3}, 0.25))
			bias, _ := b.Const("b", f32([]int{4}, 0.5))
			h, err := b.Add1("fc", &ir.Linear{}, []*ir.Value{x, w, bias}, "h")
			if err != nil {
				return nil, err
			}
			y, err := b.Add1("", ir.Simple{K: ir.KRelu}, []*ir.Value{h}, "y")
			b.G.Outputs = append(b.G.Outputs, y)
			return []*ir.Tensor{f32([]int{2, 3}, 1)}, err
		},
		// y = x + s, x batch-major [N, 3] and s a static input [3].
		"mixed": func(b *ir.Builder) ([]*ir.Tensor, error) {
			x, err := b.Input("x", ir.Type{DType: ir.F32, Shape: ir.Shape{ir.N, ir.D(3)}})
			if err != nil {
				return nil, err
			}
			s, err := b.Input("s", ir.Type{DType: ir.F32, Shape: ir.Shape{ir.D(3)}})
			if err != nil {
				return nil, err
			}
			y, err := b.Add1("", ir.Simple{K: ir.KAdd}, []*ir.Value{x, s}, "y")
			b.G.Outputs = append(b.G.Outputs, y)
			return []*ir.Tensor{f32([]int{4, 3}, 1), f32([]int{3}, 2)}, err
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			b := ir.NewBuilder(name)
			ins, err := build(b)
			require.NoError(t, err)
			require.NoError(t, ir.Verify(b.G))
			outs, err := ir.Eval(b.G, ins...)
			require.NoError(t, err)
			m := &frontend.Model{Name: name, Package: name, Graph: b.G}
			files := generate(t, m, &codegen.Vectors{Inputs: ins, Outputs: outs, Rtol: 1e-4})
			out := module(t, name, files).MustGo(t, nil, "test", "-count=1", "-v", "./"+name)
			require.Contains(t, out, "--- PASS: TestVectors")
			require.Contains(t, out, "--- PASS: TestWrongSizes")
		})
	}
}
