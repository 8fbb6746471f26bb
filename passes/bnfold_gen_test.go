// Generated packages are built and tested by the go tool, which the race
// detector does not reach: make test's -race run of this package skips it.

//go:build !race

package passes_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo/twins"
)

// TestBNFoldTwinPackages compiles the twins of BNFoldTwins with bn-fold
// (modelc build --passes bn-fold) into generated packages: their folded
// constants are embedded, and each package's own TestVectors checks
// model.yaml's test vectors, PyTorch's logits.
func TestBNFoldTwinPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles four generated packages")
	}
	mod := harness.TempModule(t, "bnfold")
	for _, name := range passes.BNFoldTwins {
		tw, err := twins.Load(filepath.Join("..", twins.Dir), name)
		require.NoError(t, err)
		tw.Model.Passes = []frontend.PassSpec{{Name: "bn-fold"}}
		res, err := compile.Compile(tw.Model, compile.Options{Command: "modelc build model.yaml -o .", Version: "test", TestVectors: true})
		require.NoError(t, err, name)
		for _, n := range res.Graph.Nodes {
			require.NotEqual(t, ir.KBatchNorm, n.Op.Kind(), "%s: a BatchNorm is left", name)
		}
		mod.MustAdd(t, name, res.Files)
	}
	out := mod.MustGo(t, nil, "test", "-count=1", "-v", "-run", "TestVectors", "./...")
	require.Equal(t, len(passes.BNFoldTwins), strings.Count(out, "--- PASS: TestVectors"), "%s", out)
}
