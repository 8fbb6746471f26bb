package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
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
