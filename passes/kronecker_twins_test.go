package passes_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo/twins"
)

// kronecker compiles m's graph (compile.Lower) with the kronecker pass's
// options, calibrating on set, and returns its log entry; exclude names
// default passes not to run.
func kronecker(t *testing.T, m *frontend.Model, opts map[string]any, set *calib.Set, exclude ...passes.Spec) passes.Entry {
	t.Helper()
	p, err := passes.Build([]passes.Spec{{Name: "kronecker", Options: opts, Pos: "model.yaml:9:5"}}, exclude...)
	require.NoError(t, err)
	res, err := compile.Lower(m, compile.Options{Pipeline: p, Run: passes.RunOptions{Calib: func() (*calib.Set, error) { return set, nil }}})
	require.NoError(t, err)
	i := slices.IndexFunc(res.Log, func(e passes.Entry) bool { return e.Pass == "kronecker" })
	require.GreaterOrEqual(t, i, 0)
	return res.Log[i]
}

// twinSet is a twin's calibration rows for graph g (an ONNX import has no
// calibration: of its own).
func twinSet(t *testing.T, tw *twins.Twin, g *ir.Graph) *calib.Set {
	x, y, err := tw.Calibration()
	require.NoError(t, err)
	set, err := calib.New(g, []*ir.Tensor{x}, &ir.Tensor{DType: ir.I64, Shape: []int{len(y)}, I: y}, "")
	require.NoError(t, err)
	set.Source = tw.Name + "'s calibration rows"
	return set
}

// The phm-mlp and phc-cnn twins' model.onnx hold each PHM/PHC layer's W
// materialised: kronecker n = 4 recovers every one at rank 4 to float32
// rounding (relative error < 1e-6) with about ¼ of the parameters, and
// the model's held-out accuracy is unchanged. (bn-fold is excluded: it
// would fold each LayerNorm's γ into the next layer's input columns,
// W·diag(γ), which is no longer a sum of four Kronecker products.)
func TestKroneckerTwinRecovers(t *testing.T) {
	skipUnderRace(t)
	dir := filepath.Join("..", twins.Dir)
	for _, tc := range []struct {
		twin   string
		kind   ir.Kind
		layers int
		dense  string
	}{
		{"phm-mlp", ir.KPHMLinear, 7, "| /head/Gemm | [10, 128] | — | — | 1280 | — | — | — | — | dense: n 4 does not divide the output 10 and input 128 sizes |"},
		{"phc-cnn", ir.KPHCConv2D, 4, "| /stem/conv/Conv | [16, 1, 3, 3] | — | — | 144 | — | — | — | — | dense: n 4 does not divide the output 16 and input 1 sizes |"},
	} {
		t.Run(tc.twin, func(t *testing.T) {
			tw, err := twins.Load(dir, tc.twin)
			require.NoError(t, err)
			m, err := frontend.Load(filepath.Join(dir, tc.twin, "model.onnx"), frontend.Options{})
			require.NoError(t, err)
			before, err := twins.Eval(m.Graph.Clone(), tw.X, 120)
			require.NoError(t, err)
			e := kronecker(t, m, map[string]any{"n": int64(4), "max_rel_error": 1e-6, "max_output_rel_error": 1e-6}, twinSet(t, tw, m.Graph),
				passes.Spec{Name: "bn-fold", Pos: "model.yaml:10:5"})
			t.Logf("%s\n%s", e.Stats, e.Report)
			require.Equal(t, tc.layers, e.Stats["factored"], e.Report)
			require.Equal(t, tc.layers, countKind(m.Graph, tc.kind))
			for _, n := range m.Graph.Nodes {
				if k, ok := ir.KronOf(n); ok {
					require.Equal(t, 4, k.R, n.Name)
					require.InDelta(t, 0.25, float64(k.Params())/float64(k.Out()*k.In()*k.Taps), 0.015, n.Name)
				}
			}
			require.Contains(t, e.Report, tc.dense)
			require.Regexp(t, `\| 4 \| \d+ → \d+ \(0\.2[56]\d×\) \| \d+ → \d+ \| [0-9.]+e-0[78] \|`, e.Report)
			after, err := twins.Eval(m.Graph, tw.X, 120)
			require.NoError(t, err)
			require.Equal(t, twins.Top1(before, tw.Labels), twins.Top1(after, tw.Labels))
			t.Logf("held-out top-1 %d/%d before and after", twins.Top1(after, tw.Labels), len(tw.Labels))
		})
	}
}

// A trained dense MLP (the resmlp-bn twin) under max_metric_drop 0.01
// keeps its layers dense and says why: approximated without retraining,
// no rank below dense size meets the 5% weight error.
func TestKroneckerTwinDense(t *testing.T) {
	skipUnderRace(t)
	tw, err := twins.Load(filepath.Join("..", twins.Dir), "resmlp-bn")
	require.NoError(t, err)
	set, err := compile.Calibration(tw.Model)()
	require.NoError(t, err)
	e := kronecker(t, tw.Model, map[string]any{"n": int64(4), "max_metric_drop": 0.01}, set)
	t.Logf("%s\n%s", e.Stats, e.Report)
	require.Zero(t, e.Stats["factored"])
	require.Contains(t, e.Report, "dense: no rank ≤ 4 meets the budget")
	require.Zero(t, countKind(tw.Model.Graph, ir.KPHMLinear))
}
