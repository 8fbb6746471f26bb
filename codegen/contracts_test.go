package codegen_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
)

// TestEmptySamples: an input of shape [N, 0] holds nothing at any batch,
// so a generated package could not tell the batch from its length (it
// used to build and answer for batch 1 whatever the caller meant): an
// error, not a package.
func TestEmptySamples(t *testing.T) {
	b := ir.NewBuilder("g")
	x, err := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(0)}))
	require.NoError(t, err)
	y, err := b.Add1("", ir.Simple{K: ir.KRelu}, []*ir.Value{x}, "y")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{y}
	p, err := passes.Build(nil)
	require.NoError(t, err)
	res, err := p.Run(b.G, passes.RunOptions{})
	require.NoError(t, err)
	_, err = codegen.Generate(codegen.Input{Graph: res.Graph, Plan: res.Plan, Package: "g", RuntimeImport: compile.RuntimeImport})
	require.ErrorContains(t, err, "input x has shape [N,0]: generated packages need batch-major tensors of N·k elements (k ≥ 1) or static shapes")
}

// TestNonFiniteConstants: constants that are NaN or ±Inf (an attention
// mask's -Inf splat, a pad value of -Inf, a LeakyRelu slope of NaN)
// become valid Go (they used to be written as NaN and inf, which do not
// compile), and an attribute that a kernel declares as a Go constant (a
// layernorm's eps) and is not finite is an error, not a package.
func TestNonFiniteConstants(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated package")
	}
	inf := math.Inf(-1)
	b := ir.NewBuilder("g")
	x, err := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(3)}))
	require.NoError(t, err)
	mask, err := b.Const("mask", &ir.Tensor{DType: ir.F32, Shape: []int{1, 3}, F: []float32{float32(inf)}, Splat: true})
	require.NoError(t, err)
	dense, err := b.Const("dense", &ir.Tensor{DType: ir.F32, Shape: []int{1, 3}, F: []float32{1, float32(math.Inf(1)), 3}})
	require.NoError(t, err)
	m, err := b.Add1("", ir.Simple{K: ir.KAdd}, []*ir.Value{x, mask}, "masked")
	require.NoError(t, err)
	r, err := b.Add1("", &ir.LeakyRelu{Alpha: math.NaN()}, []*ir.Value{m}, "zero")
	require.NoError(t, err)
	y, err := b.Add1("", &ir.Pad{Pads: []int{0, 1, 0, 1}, Value: inf}, []*ir.Value{x}, "padded")
	require.NoError(t, err)
	z, err := b.Add1("", ir.Simple{K: ir.KMul}, []*ir.Value{r, dense}, "scaled")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{y, z}
	p, err := passes.Build(nil)
	require.NoError(t, err)
	res, err := p.Run(b.G, passes.RunOptions{})
	require.NoError(t, err)
	files, err := codegen.Generate(codegen.Input{Graph: res.Graph, Plan: res.Plan, Package: "g", RuntimeImport: compile.RuntimeImport})
	require.NoError(t, err)
	require.Contains(t, string(files["model.go"]), "math.Float32frombits(uint32(0xff800000))")
	require.Contains(t, string(files["kernels.go"]), "float32(math.Inf(-1))")
	require.Contains(t, string(files["kernels.go"]), "(math.NaN()-1)")
	mod := harness.TempModule(t, "nonfinite")
	mod.MustAdd(t, "g", files)
	mod.MustGo(t, nil, "vet", "./g")

	// A layernorm's eps of NaN: the template writes math.NaN() where the
	// value is used, never a constant declaration Go refuses.
	b = ir.NewBuilder("h")
	x, err = b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(3)}))
	require.NoError(t, err)
	l, err := b.Add1("ln", &ir.LayerNorm{Axis: -1, Eps: math.NaN()}, []*ir.Value{x}, "y")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{l}
	res, err = p.Run(b.G, passes.RunOptions{})
	require.NoError(t, err)
	files, err = codegen.Generate(codegen.Input{Graph: res.Graph, Plan: res.Plan, Package: "h", RuntimeImport: compile.RuntimeImport})
	require.NoError(t, err)
	require.Contains(t, string(files["kernels.go"]), "math.NaN()")
	mod.MustAdd(t, "h", files)
	mod.MustGo(t, nil, "vet", "./h")
}
