package codegen_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
)

// kronCase is one factored layer of TestKronKernels.
type kronCase struct {
	r, m1, n1, m2, n2 int
	lead              []int // phm_linear: the dims before the features
	conv              []int // phc_conv2d: [H, W, kh, kw, stride, pad, dilation]
	scaled, bias      bool
	resid             bool
	act               string // "" or relu
	exec              string // phm_linear's exec
}

// TestKronKernels: the factored kernels (phm_linear as a GEMM on the
// stacked factors then the mix by A; phc_conv2d mixing channel blocks
// first) and phm_linear materialised (the cost rule's choice for small
// layers, or exec dense) on random shapes with n = 2, 3, 4, 8 and R ≠ n, every epilogue
// (scale, bias, residual, relu), rows spanning several row blocks and a
// chunk of three panels (R = 3), at batch 5 on every tier and purego,
// against the evaluator; and the evaluator's factored product equals the
// materialised dense layer's (kronecker's execution: materialized).
func TestKronKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	rng := rand.New(rand.NewPCG(17, 4))
	cases := []kronCase{
		{r: 2, m1: 2, n1: 2, m2: 5, n2: 3, lead: []int{}, exec: "factored"},
		{r: 3, m1: 3, n1: 3, m2: 50, n2: 7, lead: []int{2}, scaled: true, bias: true, act: "relu"},
		{r: 4, m1: 4, n1: 4, m2: 10, n2: 1100, lead: []int{3}, bias: true, resid: true, exec: "factored"},
		{r: 8, m1: 8, n1: 8, m2: 4, n2: 2, lead: []int{}, bias: true, act: "relu", exec: "factored"},
		{r: 5, m1: 2, n1: 3, m2: 6, n2: 4, lead: []int{}, scaled: true},
		// Small layers the cost rule materialises, and a forced one.
		{r: 2, m1: 2, n1: 2, m2: 5, n2: 3, lead: []int{}},
		{r: 4, m1: 4, n1: 4, m2: 10, n2: 30, lead: []int{3}, bias: true, resid: true, act: "relu"},
		{r: 3, m1: 3, n1: 3, m2: 7, n2: 5, lead: []int{}, bias: true, exec: "dense"},
		{r: 2, m1: 2, n1: 2, m2: 3, n2: 2, conv: []int{6, 5, 3, 3, 1, 1, 1}, bias: true, act: "relu"},
		{r: 4, m1: 4, n1: 4, m2: 2, n2: 1, conv: []int{7, 7, 3, 3, 2, 1, 1}, scaled: true, resid: true},
		{r: 3, m1: 3, n1: 3, m2: 2, n2: 2, conv: []int{6, 6, 3, 2, 1, 2, 2}},
	}
	b := ir.NewBuilder("kron")
	randT := func(shape ...int) *ir.Tensor {
		t := ir.NewTensor(ir.F32, shape)
		for i := range t.F {
			t.F[i] = float32(rng.NormFloat64())
		}
		return t
	}
	var outs []*ir.Value
	for i, c := range cases {
		name := fmt.Sprintf("k%d", i)
		var xs []int
		var op ir.Op
		sShape := []int{c.r, c.m2, c.n2}
		if c.conv == nil {
			xs = append(append([]int{}, c.lead...), c.n1*c.n2)
			op = &ir.PHMLinear{Scaled: c.scaled, Exec: c.exec, Epilogue: ir.Epilogue{Act: c.act, Residual: c.resid}}
		} else {
			h, w, kh, kw, st, pad, dil := c.conv[0], c.conv[1], c.conv[2], c.conv[3], c.conv[4], c.conv[5], c.conv[6]
			xs = []int{c.n1 * c.n2, h, w}
			sShape = append(sShape, kh, kw)
			op = &ir.PHCConv2D{Stride: []int{st, st}, Pad: []int{pad, pad, pad, pad}, Dilation: []int{dil, dil}, Scaled: c.scaled,
				Epilogue: ir.Epilogue{Act: c.act, Residual: c.resid}}
		}
		shape := ir.Shape{ir.N}
		for _, d := range xs {
			shape = append(shape, ir.D(d))
		}
		x, err := b.Input(name+"_x", ir.TensorType(ir.F32, shape))
		require.NoError(t, err)
		a, _ := b.Const(name+".A", randT(c.r, c.m1, c.n1))
		s, _ := b.Const(name+".F", randT(sShape...))
		in := []*ir.Value{x, a, s}
		if c.scaled {
			sc, _ := b.Const(name+".scale", randT(c.m1*c.m2))
			in = append(in, sc)
		}
		if c.bias {
			bv, _ := b.Const(name+".bias", randT(c.m1*c.m2))
			in = append(in, bv)
		}
		if c.resid {
			// The residual has the output's shape: infer it without one.
			probe := ir.NewBuilder("probe")
			px, _ := probe.Input("x", x.Type)
			pin := append([]*ir.Value{px}, in[1:]...)
			noRes := op
			switch o := op.(type) {
			case *ir.PHMLinear:
				cp := *o
				cp.Residual = false
				noRes = &cp
			case *ir.PHCConv2D:
				cp := *o
				cp.Residual = false
				noRes = &cp
			}
			py, err := probe.Add1("p", noRes, pin, "py")
			require.NoError(t, err)
			rv, err := b.Input(name+"_res", py.Type)
			require.NoError(t, err)
			in = append(in, rv)
		}
		y, err := b.Add1(name, op, in, name+"_y")
		require.NoError(t, err)
		outs = append(outs, y)
	}
	b.G.Outputs = outs
	inputs := ir.SampleInputs(b.G, 5, 9)
	want, err := ir.Eval(b.G, inputs...)
	require.NoError(t, err)

	// The factored evaluator equals the materialised dense layers.
	dense := b.G.Clone()
	p, err := passes.Build([]passes.Spec{{Name: "kronecker", Options: map[string]any{"execution": "materialized"}}})
	require.NoError(t, err)
	_, err = p.Run(dense, passes.RunOptions{})
	require.NoError(t, err)
	got, err := ir.Eval(dense, inputs...)
	require.NoError(t, err)
	for i := range want {
		require.NoError(t, match.Kernel(got[i].F, want[i].F), "output %d: materialised vs factored", i)
	}

	files := generate(t, &frontend.Model{Name: "kron", Package: "kron", Graph: b.G}, &codegen.Vectors{Inputs: inputs, Outputs: want, Rtol: 1e-4})
	// The rule materialised the small auto layers (k5, k6) and exec dense
	// (k7), and nothing else.
	src := string(files["kernels.go"])
	for i := range cases {
		dense := strings.Contains(src, fmt.Sprintf("materialised at build time; A is k%d.A.", i))
		require.Equal(t, i >= 5 && i <= 7, dense, "k%d materialised", i)
	}
	// REPORT.md says how each runs, and why.
	report := string(files["REPORT.md"])
	require.Contains(t, report, "| k5 | phm_linear | 2 × [2×2] ⊗ [5×3×1] | 60 → 38 | dense | dense W fits in 1024 KiB")
	require.Contains(t, report, "| k7 | phm_linear | 3 × [3×3] ⊗ [7×5×1] | 315 → 132 | dense | exec dense (the kronecker pass's execution) |")
	require.Contains(t, report, "| k1 | phm_linear | 3 × [3×3] ⊗ [50×7×1] | 3150 → 1077 | factored | a scale input")
	require.Contains(t, report, "| k8 | phc_conv2d | 2 × [2×2] ⊗ [3×2×9] | 216 → 116 | factored | phc_conv2d always runs on its factors |")
	module(t, "kron", files).EveryTier(t, "./kron")
}
