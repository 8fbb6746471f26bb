package codegen_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/numerics"
)

// TestBoundaryTypes runs a package whose inputs and outputs are f16, bf16
// and f64 (taken and returned as []uint16 bits and []float64, computed in
// float32): products that overflow f16 to Inf or fall into its
// subnormals, casts of float32 values at f16's and bf16's ties, NaN and
// ±Inf, and an input that is also an output. Every output must equal the
// evaluator's bit for bit (both round once, to nearest even).
func TestBoundaryTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	b := ir.NewBuilder("boundary")
	in := func(name string, dt ir.DType) *ir.Value {
		v, err := b.Input(name, ir.Type{DType: dt, Shape: ir.Shape{ir.N, ir.D(6)}})
		require.NoError(t, err)
		return v
	}
	h, bf, d, x := in("h", ir.F16), in("bf", ir.BF16), in("d", ir.F64), in("x", ir.F32)
	op := func(name string, o ir.Op, args ...*ir.Value) *ir.Value {
		n, err := b.Add(name, o, args)
		require.NoError(t, err)
		return n.Outputs[0]
	}
	b.G.Outputs = []*ir.Value{
		op("h2", ir.Simple{K: ir.KMul}, h, h),
		op("bf2", ir.Simple{K: ir.KAdd}, bf, bf),
		op("d2", ir.Simple{K: ir.KMul}, d, d),
		op("xh", &ir.Cast{To: ir.F16}, x),
		op("xb", &ir.Cast{To: ir.BF16}, x),
		h,
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	vals := map[*ir.Value][]float32{
		// 300² overflows f16; (2^-12)² is its smallest subnormal, (1.5·2^-12)² rounds to 2 of them.
		h:  {1.5, 300, 0x1p-12, 0x1.8p-12, nan, -inf, -2, 0.1, 65504, 0x1p-24, 0, -0.5},
		bf: {1.5, 3e38, 0x1p-130, -1, nan, inf, 0.1, 7, -3, 1e-38, 2, 0},
		d:  {1.5, 1e20, 0.1, -3, nan, inf, 1e-30, 2, 7, 0.25, -1, 4},
		// f16 ties: 1+2^-11 (to 1), 1+3·2^-11 (to 1+2^-9), 65520 (to Inf), 2^-25 (to 0),
		// 1.5·2^-24 (to 2^-23); bf16 ties likewise at 1+2^-8 and 1+3·2^-8.
		x: {1 + 0x1p-11, 1 + 0x3p-11, 65520, 0x1p-25, 0x1.8p-24, nan, 1 + 0x1p-8, 1 + 0x3p-8, -65519, 3e38, -inf, 0x1p-140},
	}
	var ins []*ir.Tensor
	for _, v := range b.G.Inputs {
		tn := ir.NewTensor(v.Type.DType, []int{2, 6})
		for i, f := range vals[v] {
			switch v.Type.DType { // the caller's inputs hold only their type's values
			case ir.F16:
				f = numerics.F16ToF32(numerics.F32ToF16(f))
			case ir.BF16:
				f = numerics.BF16ToF32(numerics.F32ToBF16(f))
			}
			tn.F[i] = f
		}
		ins = append(ins, tn)
	}
	want, err := ir.Eval(b.G, ins...)
	require.NoError(t, err)

	res, err := compile.Compile(&frontend.Model{Name: "boundary", Package: "boundary", Graph: b.G.Clone()}, compile.Options{Command: "modelc (test)", Version: "test"})
	require.NoError(t, err)
	require.Contains(t, string(res.Files["REPORT.md"]), "This f64 model is computed in float32")
	model := string(res.Files["model.go"])
	require.Contains(t, model, "H []uint16")
	require.Contains(t, model, "D []float64")
	mod := harness.TempModule(t, "boundary")
	mod.MustAdd(t, "boundary", res.Files)
	mod.MustGo(t, nil, "vet", "./boundary")
	runner, err := mod.BuildRunner([]harness.Case{{Pkg: "boundary", Graph: res.Graph}}, nil)
	require.NoError(t, err)
	out, err := runner.Run(t.TempDir(), nil, map[string][]*ir.Tensor{"boundary": ins})
	require.NoError(t, err)
	got := out["boundary"]
	require.NoError(t, got.Err)
	require.Len(t, got.Outputs, len(want))
	for i, w := range want {
		for j, wv := range w.F {
			gv := got.Outputs[i].F[j]
			if math.Float32bits(gv) != math.Float32bits(wv) && !(gv != gv && wv != wv) {
				t.Errorf("output %s[%d] = %v, want %v", b.G.Outputs[i].Name, j, gv, wv)
			}
		}
	}
	// The oracle's own values at the edges, so a shared mistake shows too.
	h2, xh, xb := got.Outputs[0].F, got.Outputs[3].F, got.Outputs[4].F
	require.Equal(t, []float32{2.25, inf, 0x1p-24, 0x2p-24}, h2[:4])
	require.Equal(t, []float32{1, 1 + 0x1p-9, inf, 0, 0x1p-23}, xh[:5])
	require.True(t, xh[5] != xh[5])
	require.Equal(t, []float32{1, 1 + 0x1p-6}, xb[6:8])
}
