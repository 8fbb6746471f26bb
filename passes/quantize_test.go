package passes

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// runQuantize runs the quantize pass alone on g with opts, calibrating
// on seeded samples of its inputs.
func runQuantize(t *testing.T, g *ir.Graph, opts map[string]any) (*Context, Stats, error) {
	t.Helper()
	c := &Context{Graph: g}
	st, err := quantize(c, NewOptions(opts, "model.yaml:7:5", map[string]string{"bits": "model.yaml:7:20", "keep_float": "model.yaml:7:40", "max_metric_drop": "model.yaml:7:60"}))
	return c, st, err
}

func parseFile(t *testing.T, path string) *ir.Graph {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	g, err := ir.Parse(path, src)
	require.NoError(t, err)
	return g
}

// relL2 is ‖a − b‖ / ‖b‖.
func relL2(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// TestQuantizeGolden runs quantize on testdata/quantize/*.ir with each
// case's options and compares the rewritten IR with its golden file (go
// test ./passes -update rewrites them); the result verifies, and on the
// seeded rows it stays close to the float graph.
func TestQuantizeGolden(t *testing.T) {
	cases := []struct {
		file, golden string
		opts         map[string]any
		quantized    int
		fused        int
		maxRelL2     float64
	}{
		// fc1 requantizes into fc2 (relu fused), fc2 dequantizes, fc3
		// (gelu) and head (last layer) stay float, fc1 is the first layer
		// but all_layers quantizes it.
		{"mlp.ir", "mlp.golden", map[string]any{"bits": []any{int64(8)}, "all_layers": true}, 3, 1, 0.05},
		// Defaults: bits [8, 16], first and last layers float.
		{"mlp.ir", "mlp.default.golden", map[string]any{}, 1, 0, 0.03},
		// Affine scales, u8 for the non-negative (post-ReLU) inputs.
		{"convnet.ir", "convnet.golden", map[string]any{"bits": []any{int64(8)}, "all_layers": true, "scheme": "affine", "asymmetric": true}, 3, 1, 0.05},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			path := filepath.Join("testdata", "quantize", tc.file)
			g := parseFile(t, path)
			in := ir.SampleInputs(g, 8, 5)
			want, err := ir.Eval(g, in...)
			require.NoError(t, err)
			c, st, err := runQuantize(t, g, tc.opts)
			require.NoError(t, err)
			t.Logf("%s\n%s", st, c.report.String())
			require.NoError(t, ir.Verify(g))
			require.Equal(t, tc.quantized, st["quantized"], "%s", st)
			require.Equal(t, tc.fused, st["requant-fused"], "%s", st)
			got, err := ir.Eval(g, in...)
			require.NoError(t, err)
			for i := range want {
				e := relL2(got[i].F, want[i].F)
				require.Less(t, e, tc.maxRelL2, "output %d: rel-L2 error of the quantized graph", i)
				require.Greater(t, e, 0.0, "output %d: the integer graph computes exactly the float one: nothing was quantized?", i)
			}
			golden := filepath.Join("testdata", "quantize", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(g.String()), 0o644))
			}
			exp, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./passes -update")
			require.Equal(t, string(exp), g.String())
		})
	}
}

// The report names every layer left float and why, prints each weight
// WL candidate's D and SQNR, and the metric before and after.
func TestQuantizeReport(t *testing.T) {
	g := parseFile(t, filepath.Join("testdata", "quantize", "mlp.ir"))
	c, _, err := runQuantize(t, g, map[string]any{"bits": []any{int64(8), int64(16)}, "all_layers": true, "keep_float": "fc2"})
	require.NoError(t, err)
	r := c.report.String()
	require.Contains(t, r, "- fc2: keep_float\n")
	require.Contains(t, r, "- fc3: its fused gelu has no integer epilogue\n")
	require.NotContains(t, r, "- fc1:")
	require.Regexp(t, `\| fc1 \| qlinear \| i(8|16), \(WL, FL\) = `, r)
	require.Regexp(t, `8: [0-9.e-]+ / [0-9.]+ dB( ✓)?; 16: [0-9.e-]+ / [0-9.]+ dB ✓`, r)
	require.Contains(t, r, "| calibration metric (kl) | mean KL 0 | mean KL ")
	require.Contains(t, r, "MACs per sample in integer layers")
}

// Weights already on a (WL, FL) grid (an AdaPT-trained layer) quantize
// losslessly: the search finds that FL, with D = 0 and no noise.
func TestQuantizeWeightsOnGrid(t *testing.T) {
	for _, fl := range []int{3, 7, 10} {
		w := make([]float32, 96)
		for i := range w {
			w[i] = float32(math.Ldexp(float64((i*37)%255-127), -fl))
		}
		rq := bestRowQuant(w, 8, "fixed-point", 128, 30)
		require.Equal(t, fl, rq.fl)
		require.Zero(t, rq.d)
		require.True(t, math.IsInf(rq.sqnr, 1))
		// One bit fewer cannot hold them: the search gives up range or
		// resolution, and it shows.
		rq = bestRowQuant(w, 7, "fixed-point", 128, 30)
		require.Less(t, rq.sqnr, 60.0)
	}
}

// §5.5: a layer whose accumulator needs more than 32 bits gets int64.
func TestQuantizeHeadroom(t *testing.T) {
	for _, tc := range []struct {
		k    int
		bits []any
		acc  int
		a    int
	}{
		{1024, []any{int64(8)}, 32, 8 + 8 - 1 + 11},
		{4, []any{int64(12)}, 32, 12 + 12 - 1 + 3},
		{1024, []any{int64(16)}, 64, 16 + 16 - 1 + 11},
	} {
		g := headroomGraph(t, tc.k)
		c, _, err := runQuantize(t, g, map[string]any{"bits": tc.bits})
		require.NoError(t, err)
		var q *ir.QLinear
		for _, n := range g.Nodes {
			if op, ok := n.Op.(*ir.QLinear); ok {
				q = op
			}
		}
		require.NotNil(t, q, c.report.String())
		require.Equal(t, tc.acc, q.Acc, "K %d, bits %v", tc.k, tc.bits)
		require.Contains(t, c.report.String(), "(A = "+strconv.Itoa(tc.a)+")")
	}
}

// headroomGraph is first → fc → last with K inputs to fc: the first and
// last layers stay float, fc is quantized.
func headroomGraph(t *testing.T, k int) *ir.Graph {
	t.Helper()
	b := ir.NewBuilder("g")
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(k)}))
	fill := func(n, m int, f func(i int) float32) *ir.Tensor {
		w := ir.NewTensor(ir.F32, []int{n, m})
		for i := range w.F {
			w.F[i] = f(i)
		}
		return w
	}
	w0, _ := b.Const("w0", fill(k, k, func(i int) float32 { return float32((i*7)%13-6) / 64 }))
	w, _ := b.Const("w", fill(4, k, func(i int) float32 { return float32((i*5)%11-5) / 8 }))
	wl, _ := b.Const("wl", fill(4, 4, func(i int) float32 { return float32(i%3 - 1) }))
	x0, err := b.Add1("first", &ir.Linear{}, []*ir.Value{x, w0}, "x0")
	require.NoError(t, err)
	y, err := b.Add1("fc", &ir.Linear{}, []*ir.Value{x0, w}, "y")
	require.NoError(t, err)
	z, err := b.Add1("last", &ir.Linear{}, []*ir.Value{y, wl}, "z")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{z}
	return b.G
}

// Bad options are errors at their model.yaml position.
func TestQuantizeOptionErrors(t *testing.T) {
	cases := []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"bits": []any{int64(32)}}, "model.yaml:7:20: bits: word length 32 is outside what the integer kernels support (2…16 bits, in int8 and int16 containers)"},
		{map[string]any{"bits": []any{}}, "model.yaml:7:20: bits: want at least one word length"},
		{map[string]any{"keep_float": []any{"fc9"}}, `model.yaml:7:40: keep_float: no linear or conv2d layer "fc9" (have fc1, fc2, fc3, head)`},
		{map[string]any{"keep_float": int64(3)}, "model.yaml:7:40: keep_float: want a name or a list of names, got 3"},
		{map[string]any{"scheme": "log"}, "scheme: want one of fixed-point, affine"},
		{map[string]any{"activations": "median"}, "activations: want one of kl, max, percentile, mse"},
		{map[string]any{"weights": "per-channel", "per_channel": false}, "give weights: per-channel|per-tensor or per_channel: true|false, not both"},
		{map[string]any{"percentile": 0}, "percentile: want a percentile in (0, 100]"},
		{map[string]any{"max_metric_drop": 2}, "model.yaml:7:60: max_metric_drop: want a number in [0, 1]"},
	}
	for _, tc := range cases {
		g := parseFile(t, filepath.Join("testdata", "quantize", "mlp.ir"))
		_, _, err := runQuantize(t, g, tc.opts)
		require.ErrorContains(t, err, tc.want)
	}
}

// A budget nothing meets keeps every layer float with a warning (and the
// graph unchanged), or fails with strict; a generous one quantizes all.
func TestQuantizeBudget(t *testing.T) {
	opts := map[string]any{"bits": []any{int64(8)}, "all_layers": true, "max_metric_drop": 0}
	g := parseFile(t, filepath.Join("testdata", "quantize", "mlp.ir"))
	before := g.String()
	c, st, err := runQuantize(t, g, opts)
	require.NoError(t, err)
	require.Zero(t, st["quantized"])
	require.Len(t, c.warnings, 1)
	require.Contains(t, c.warnings[0], "over max_metric_drop 0; every layer stays float")
	require.Equal(t, before, g.String())
	require.Contains(t, c.report.String(), "- fc1: over max_metric_drop (no layer fits)")

	opts["strict"] = true
	_, _, err = runQuantize(t, parseFile(t, filepath.Join("testdata", "quantize", "mlp.ir")), opts)
	require.ErrorContains(t, err, "model.yaml:7:60: max_metric_drop 0: quantizing even ")
	require.ErrorContains(t, err, "(strict: true)")

	g = parseFile(t, filepath.Join("testdata", "quantize", "mlp.ir"))
	c, st, err = runQuantize(t, g, map[string]any{"bits": []any{int64(8)}, "all_layers": true, "max_metric_drop": 0.5})
	require.NoError(t, err)
	require.Equal(t, 3, st["quantized"], c.report.String())
	require.Contains(t, c.report.String(), "Budget search")
}
