package codegen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/codegen/isa/isatest"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

// TestTargetSeam registers the test target (codegen/isa/isatest: plain
// Go kernels, one per family hook, its own two tiers) in place of the
// real targets, generates testdata/families.ir (a call site of every
// family) and runs the package's own tests through the dispatch matrix:
// as it is, with AVX-512 off, with AVX2 off, and with the purego tag. At
// each, a test file added to the package checks that every family's call
// site ran the target's kernel of the expected tier (and no other), and
// the package's TestVectors that the results still match the evaluator.
// Nothing outside the isatest folder knows the target.
func TestTargetSeam(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	restore := codegen.SetTargets(isatest.Target{})
	defer restore()
	g := familiesGraph(t)
	in := ir.SampleInputs(g, 3, 5)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	files := generate(t, &frontend.Model{Name: "families", Package: "families", Graph: g}, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4})
	require.Contains(t, files, "kernels_stub.go")
	require.Contains(t, string(files["kernels.go"]), "pshift", "bn-prologue moves the BatchNorm and ReLU into @preconv")
	require.Contains(t, files, "kernels_stub_stub.go")
	require.NotContains(t, files, "kernels_amd64.go")
	mod := module(t, "families", files)
	require.NoError(t, os.WriteFile(filepath.Join(mod.PkgDir("families"), "seam_test.go"), []byte(seamTest), 0o644))
	for _, tier := range harness.Tiers {
		out := mod.MustGo(t, tier.Env(), append(append([]string{"test", "-count=1", "-v"}, tier.Args()...), "./families")...)
		require.Contains(t, out, "--- PASS: TestVectors")
		if tier.Tags == "" { // purego leaves the target, and the check, out
			require.True(t, strings.Contains(out, "stub kernels ran at tier"), "%s", out)
		}
	}
}

// seamTest is added to the generated package: after its tests, every
// family's stub kernel must have run at the tier the CPU selects, and
// none at the other (none at all when the pure-Go kernels run).
const seamTest = `//go:build !purego

package families

import (
	"fmt"
	"os"
	"testing"

	rt "github.com/modelc/modelc/runtime"
)

func TestMain(m *testing.M) {
	code := m.Run()
	want := -1 // the index of the tier in stubCalls, or -1 for none
	switch {
	case stubWIDE:
		want = 0
	case stubNARROW:
		want = 1
	}
	names := []string{"linear", "conv-block", "conv-row", "attention", "elementwise", "layernorm", "softmax"}
	for f, name := range names {
		for tier := range 2 {
			n := stubCalls[f][tier].Load()
			if (tier == want) != (n > 0) {
				fmt.Printf("FAIL: family %s, tier %d: %d calls (want tier %d, rt tier %v)\n", name, tier, n, want, rt.CPUTier())
				code = 1
			}
		}
	}
	fmt.Printf("stub kernels ran at tier %d (rt tier %v)\n", want, rt.CPUTier())
	os.Exit(code)
}
`
