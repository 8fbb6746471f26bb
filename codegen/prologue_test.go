package codegen_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

// TestProloguePackage generates the pre-activation ResNet of
// testdata/preact-resnet20, whose BatchNorms before padded convs
// bn-prologue moves into the convs' band copy (no batchnorm step is
// left), and runs its TestVectors, the reference evaluator's outputs on
// the graph as written (BN and ReLU steps of their own), at every tier
// of harness.Tiers: the machine's best, AVX2, pure Go by dispatch and
// the purego build, so each assembly conv kernel reads the prologue's
// band as its pure-Go twin does.
func TestProloguePackage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	m, err := frontend.Load("../testdata/preact-resnet20/model.yaml", frontend.Options{})
	require.NoError(t, err)
	in := ir.SampleInputs(m.Graph, 2, 3)
	want, err := ir.Eval(m.Graph, in...)
	require.NoError(t, err)
	files := generate(t, m, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	src := string(files["kernels.go"])
	require.Contains(t, src, "pshift", "the convs apply a prologue")
	steps := regexp.MustCompile(`// step \d+: batchnorm @(\S+)`).FindAllStringSubmatch(string(files["model.go"]), -1)
	require.Len(t, steps, 1, "one BatchNorm step is left")
	require.Equal(t, "bn", steps[0][1], "the last one, before the pool")
	mod := module(t, m.Package, files)
	for _, tier := range harness.Tiers {
		out := mod.MustGo(t, tier.Env(), append(append([]string{"test", "-count=1", "-v"}, tier.Args()...), "./"+m.Package)...)
		require.Contains(t, out, "--- PASS: TestVectors", "%s", tier)
	}
}
