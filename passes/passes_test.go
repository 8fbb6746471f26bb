package passes

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden runs each pass on testdata/<pass>/*.ir and compares the
// printed result with the .golden file; the result must verify and, the
// passes being exact, evaluate to what the input did.
func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*")
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		pass, ok := Lookup(filepath.Base(dir))
		require.True(t, ok, "testdata folder %s names no pass", dir)
		files, _ := filepath.Glob(filepath.Join(dir, "*.ir"))
		for _, f := range files {
			t.Run(strings.TrimPrefix(f, "testdata/"), func(t *testing.T) {
				src, err := os.ReadFile(f)
				require.NoError(t, err)
				g, err := ir.Parse(f, src)
				require.NoError(t, err)
				in := ir.SampleInputs(g, 2, 1)
				want, err := ir.Eval(g, in...)
				require.NoError(t, err)
				_, err = pass.Run(&Context{Graph: g}, nil)
				require.NoError(t, err)
				require.NoError(t, ir.Verify(g))
				got, err := ir.Eval(g, in...)
				require.NoError(t, err)
				for i := range want {
					require.NoError(t, match.Kernel(got[i].F, want[i].F))
				}
				golden := strings.TrimSuffix(f, ".ir") + ".golden"
				if *update {
					require.NoError(t, os.WriteFile(golden, []byte(g.String()), 0o644))
				}
				exp, err := os.ReadFile(golden)
				require.NoError(t, err, "run go test ./passes -update")
				require.Equal(t, string(exp), g.String())
				// Running the pass again changes nothing: a fixed point.
				_, err = pass.Run(&Context{Graph: g}, nil)
				require.NoError(t, err)
				require.Equal(t, string(exp), g.String())
			})
		}
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		specs []Spec
		want  string
	}{
		{[]Spec{{Name: "frobnicate", Pos: "m.yaml:3:5"}}, `m.yaml:3:5: unknown pass "frobnicate" (want one of bn-fold, attention-drop, kronecker, quantize)`},
		{[]Spec{{Name: "quantize", Pos: "m.yaml:3:5"}}, "m.yaml:3:5: pass quantize is not implemented yet"},
		{[]Spec{{Name: "dce", Pos: "m.yaml:3:5"}}, `m.yaml:3:5: unknown pass "dce"`},
	}
	for _, c := range cases {
		_, err := Build(c.specs)
		require.ErrorContains(t, err, c.want)
	}
	p, err := Build(nil)
	require.NoError(t, err)
	require.Equal(t, []string{"canonicalize", "const-fold", "dce", "fuse-epilogue", "layout-assign", "memory-plan"}, p.Names())
}

// TestZooPipeline runs the whole pipeline on every zoo model with the
// evaluator checking each exact pass, and prints after every pass.
func TestZooPipeline(t *testing.T) {
	for _, name := range zoo.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := frontend.LoadNamed(zoo.FS(), name)
			require.NoError(t, err)
			p, err := Build(nil)
			require.NoError(t, err)
			var sb strings.Builder
			res, err := p.Run(m.Graph, RunOptions{VerifyExact: name != "mlp", PrintAfter: "all", Out: &sb})
			require.NoError(t, err)
			for _, pass := range p.Names() {
				require.Contains(t, sb.String(), "// after "+pass+":")
			}
			require.NotNil(t, res.Plan)
			// Every non-constant value has a buffer; outputs are the caller's.
			for _, n := range m.Graph.Nodes {
				for _, v := range n.Outputs {
					require.NotNil(t, res.Plan.Of[v], v.Name)
				}
			}
			for _, v := range m.Graph.Outputs {
				require.True(t, res.Plan.Of[v].Output)
			}
			require.Greater(t, res.Plan.PeakBytes(32), res.Plan.PeakBytes(1))
		})
	}
}

func TestPrintAfterUnknown(t *testing.T) {
	g, err := ir.Parse("t.ir", []byte("graph g {\n input %x: f32[2]\n %y = relu (%x): f32[2]\n output %y\n}"))
	require.NoError(t, err)
	p, _ := Build(nil)
	_, err = p.Run(g, RunOptions{PrintAfter: "bogus"})
	require.ErrorContains(t, err, "--print-after bogus: not a pass of this pipeline (have canonicalize, const-fold, dce, fuse-epilogue, layout-assign, memory-plan, or all)")
}

// A pass that breaks the IR is reported as its bug, with the graph.
func TestBrokenPassIsReportedAsBug(t *testing.T) {
	g, err := ir.Parse("t.ir", []byte("graph g {\n input %x: f32[2]\n %y = relu (%x): f32[2]\n output %y\n}"))
	require.NoError(t, err)
	p := &Pipeline{steps: []step{{pass: &Pass{Name: "breaker", Run: func(c *Context, _ map[string]any) (Stats, error) {
		c.Graph.Outputs = nil
		return nil, nil
	}}}}}
	_, err = p.Run(g, RunOptions{})
	require.ErrorContains(t, err, "BUG: pass breaker left an invalid graph: graph has no outputs")
	require.ErrorContains(t, err, "graph g {")
}
