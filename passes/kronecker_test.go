package passes

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// randKron is Σ_{r<R} A_r ⊗ F_r for random factors of shape sh, as a
// float64 weight [m1·m2][n1·n2][taps].
func randKron(rng *rand.Rand, sh ir.Kron) []float64 {
	a := make([]float32, sh.R*sh.M1*sh.N1)
	s := make([]float32, sh.R*sh.M2*sh.N2*sh.Taps)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	at, st := kronTensors(a, s, sh, []int{sh.Taps})
	return ir.KronSum(at, st)
}

// kronSum64 is Σ A_r ⊗ F_r from float64 factors (no rounding), for the
// identities below.
func kronSum64(a, s []float64, sh ir.Kron) []float64 {
	in := sh.N1 * sh.N2 * sh.Taps
	w := make([]float64, sh.M1*sh.M2*in)
	for r := range sh.R {
		for p := range sh.M1 {
			for q := range sh.N1 {
				av := a[(r*sh.M1+p)*sh.N1+q]
				for o := range sh.M2 {
					for j := range sh.N2 * sh.Taps {
						w[(p*sh.M2+o)*in+q*sh.N2*sh.Taps+j] += av * s[(r*sh.M2+o)*sh.N2*sh.Taps+j]
					}
				}
			}
		}
	}
	return w
}

func relDiff(w, what []float64) float64 {
	var num, den float64
	for i := range w {
		num += (w[i] - what[i]) * (w[i] - what[i])
		den += w[i] * w[i]
	}
	return math.Sqrt(num / den)
}

// An exact sum of R Kronecker products comes back at rank R, to float32
// rounding of the factors (1e-10 in float64), for linear and conv shapes
// and PHM orders 2, 3, 4, 8.
func TestKroneckerRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []ir.Kron{
		{R: 2, M1: 2, N1: 2, M2: 5, N2: 3, Taps: 1},
		{R: 3, M1: 3, N1: 3, M2: 4, N2: 6, Taps: 1},
		{R: 4, M1: 4, N1: 4, M2: 8, N2: 8, Taps: 1},
		{R: 8, M1: 8, N1: 8, M2: 4, N2: 2, Taps: 1},
		{R: 2, M1: 3, N1: 4, M2: 5, N2: 6, Taps: 1},
		{R: 4, M1: 4, N1: 4, M2: 2, N2: 3, Taps: 9},
	} {
		w := randKron(rng, sh)
		svd, sigma, err := nearestKron(w, sh)
		require.NoError(t, err)
		a, s := kronFactors(svd, sigma, sh)
		require.Less(t, relDiff(w, kronSum64(a, s, sh)), 1e-10, "%+v float64", sh)
		require.Less(t, kronRelErr(w, round32(a), round32(s), sh), 1e-6, "%+v float32", sh)
		// The spectrum says rank R: the (R+1)-th value is rounding.
		if len(sigma) > sh.R {
			require.Less(t, sigma[sh.R], 1e-9*sigma[0], "%+v", sh)
		}
	}
}

// ‖W − Ŵ_R‖_F = sqrt(Σ_{k>R} σ_k²) at every rank, the error does not
// rise with R and is zero at full rank (m1, n1, m2, n2 = 3, 4, 5, 6);
// perturbing the factors never lowers it (optimality).
func TestKroneckerErrorIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sh := ir.Kron{M1: 3, N1: 4, M2: 5, N2: 6, Taps: 1}
	w := make([]float64, sh.Out()*sh.In())
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	svd, sigma, err := nearestKron(w, sh)
	require.NoError(t, err)
	require.Len(t, sigma, 12)
	prev := math.Inf(1)
	for r := 1; r <= 12; r++ {
		sh.R = r
		a, s := kronFactors(svd, sigma, sh)
		what := kronSum64(a, s, sh)
		var direct, tail float64
		for i := range w {
			direct += (w[i] - what[i]) * (w[i] - what[i])
		}
		for _, v := range sigma[r:] {
			tail += v * v
		}
		direct, tail = math.Sqrt(direct), math.Sqrt(tail)
		require.InDelta(t, tail, direct, 1e-9*math.Max(tail, 1), "rank %d", r)
		require.LessOrEqual(t, direct, prev+1e-12)
		prev = direct
		for range 20 {
			pa, ps := append([]float64(nil), a...), append([]float64(nil), s...)
			for i := range pa {
				pa[i] += 1e-3 * rng.NormFloat64()
			}
			for i := range ps {
				ps[i] += 1e-3 * rng.NormFloat64()
			}
			var e float64
			for i, v := range kronSum64(pa, ps, sh) {
				e += (w[i] - v) * (w[i] - v)
			}
			require.GreaterOrEqual(t, math.Sqrt(e), direct-1e-12, "rank %d: a perturbation lowered the error", r)
		}
	}
	require.Less(t, prev, 1e-12)
}

// kronGraph is x[N,12] → linear fc (w [8, 12], random or an exact rank-2
// PHM sum for n = 2 when exact) → relu → linear head [5, 8].
func kronGraph(t *testing.T, exact bool) *ir.Graph {
	rng := rand.New(rand.NewPCG(5, 6))
	b := ir.NewBuilder("g")
	x, err := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(12)}))
	require.NoError(t, err)
	w := ir.NewTensor(ir.F32, []int{8, 12})
	if exact {
		for i, v := range randKron(rng, ir.Kron{R: 2, M1: 2, N1: 2, M2: 4, N2: 6, Taps: 1}) {
			w.F[i] = float32(v)
		}
	} else {
		for i := range w.F {
			w.F[i] = float32(rng.NormFloat64())
		}
	}
	wh := ir.NewTensor(ir.F32, []int{5, 8})
	for i := range wh.F {
		wh.F[i] = float32(rng.NormFloat64())
	}
	wv, err := b.Const("fc.weight", w)
	require.NoError(t, err)
	hv, err := b.Const("head.weight", wh)
	require.NoError(t, err)
	h, err := b.Add1("fc", &ir.Linear{}, []*ir.Value{x, wv}, "h")
	require.NoError(t, err)
	r, err := b.Add1("", ir.Simple{K: ir.KRelu}, []*ir.Value{h}, "r")
	require.NoError(t, err)
	y, err := b.Add1("head", &ir.Linear{}, []*ir.Value{r, hv}, "y")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{y}
	return b.G
}

func runKron(g *ir.Graph, opts map[string]any) (*Context, Stats, error) {
	c := &Context{Graph: g}
	st, err := kronecker(c, NewOptions(opts, "model.yaml:7:5", map[string]string{"n": "model.yaml:7:20", "layers": "model.yaml:7:30", "shape": "model.yaml:7:40", "max_metric_drop": "model.yaml:7:50"}))
	return c, st, err
}

// Bad options and layers are errors at their model.yaml position; a
// layer n does not divide is an error when named, dense with the reason
// when selected by default.
func TestKroneckerErrors(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"n": 3, "layers": "fc"}, "model.yaml:7:20: n: layer fc [8, 12]: n 3 does not divide the output 8 and input 12 sizes"},
		{map[string]any{"n": 1}, "model.yaml:7:20: n: want a PHM order of at least 2, got 1"},
		{map[string]any{"layers": "fc9"}, `model.yaml:7:30: layers: graph g has no layer "fc9"`},
		{map[string]any{"layers": "blocks.*"}, `model.yaml:7:30: layers: "blocks.*" matches no eligible layer of graph g`},
		{map[string]any{"layers": []any{"fc", 3}}, "model.yaml:7:30: layers: want a name or a list of names"},
		{map[string]any{"shape": []any{2, 2, 4}}, "model.yaml:7:40: shape: want [m1, n1, m2, n2]"},
		{map[string]any{"shape": []any{2, 2, 4, 5}, "layers": "fc"}, "model.yaml:7:40: shape: layer fc [8, 12]: shape [2 2 4 5] gives [8, 10] (m1·m2, n1·n2)"},
		{map[string]any{"n": 2, "shape": []any{2, 2, 4, 6}}, "shape: give n or shape, not both"},
		{map[string]any{"execution": "materialized", "n": 2}, "n: execution: materialized writes factored layers as dense ones"},
		{map[string]any{"execution": "materialized", "layers": "fc"}, "layers: layer fc (linear) does not qualify: not a phm_linear or phc_conv2d layer"},
		{map[string]any{"execution": "fast"}, "execution: want one of auto, factored, materialized"},
	} {
		_, _, err := runKron(kronGraph(t, true), tc.opts)
		require.ErrorContains(t, err, tc.want, "%v", tc.opts)
	}
	// By default, n = 3 divides neither layer: both stay dense, and say why.
	c, st, err := runKron(kronGraph(t, true), map[string]any{"n": 3})
	require.NoError(t, err)
	require.Zero(t, st["factored"])
	require.Contains(t, c.report.String(), "| fc | [8, 12] | — | — | 96 | — | — | — | — | dense: n 3 does not divide the output 8 and input 12 sizes |")
}

// The exact PHM weight becomes a phm_linear at rank 2 that computes what
// the dense layer did; a random weight meets a 5% budget at no rank
// below dense size and stays dense, saying so; execution: materialized
// turns the factored layer back into a dense one, exactly.
func TestKroneckerRewrite(t *testing.T) {
	g := kronGraph(t, true)
	in := ir.SampleInputs(g, 3, 1)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	c, st, err := runKron(g, map[string]any{"n": 2, "max_rel_error": 1e-6, "max_output_rel_error": 1e-6})
	require.NoError(t, err)
	require.Equal(t, 1, st["factored"], c.report.String())
	require.Equal(t, ir.KPHMLinear, g.Nodes[0].Op.Kind())
	k, _ := ir.KronOf(g.Nodes[0])
	require.Equal(t, ir.Kron{R: 2, M1: 2, N1: 2, M2: 4, N2: 6, Taps: 1}, k)
	require.Equal(t, 96-k.Params(), st["params-removed"])
	require.Contains(t, c.report.String(), "| fc | [8, 12] | [2×2] ⊗ [4×6×1] | 2 | 96 → 56 (0.583×) |")
	got, err := ir.Eval(g, in...)
	require.NoError(t, err)
	require.Less(t, relL2(got[0].F, want[0].F), 1e-6)

	require.Equal(t, ir.ExecAuto, g.Nodes[0].Op.(*ir.PHMLinear).Exec, "auto leaves the choice to codegen")
	g2 := kronGraph(t, true)
	_, st, err = runKron(g2, map[string]any{"n": 2, "max_rel_error": 1e-6, "max_output_rel_error": 1e-6, "execution": "factored"})
	require.NoError(t, err)
	require.Equal(t, 1, st["exec-factored"])
	require.Equal(t, ir.ExecFactored, g2.Nodes[0].Op.(*ir.PHMLinear).Exec)

	c, st, err = runKron(g, map[string]any{"execution": "materialized"})
	require.NoError(t, err)
	require.Equal(t, 1, st["materialized"])
	require.Equal(t, ir.KLinear, g.Nodes[0].Op.Kind())
	back, err := ir.Eval(g, in...)
	require.NoError(t, err)
	require.Less(t, relL2(back[0].F, got[0].F), 1e-6)

	g = kronGraph(t, false)
	c, st, err = runKron(g, map[string]any{"n": 2, "layers": "fc"})
	require.NoError(t, err)
	require.Zero(t, st["factored"])
	require.Contains(t, c.report.String(), "dense: no rank ≤ 2 meets the budget")
	// Forced (a loose budget): factored, with its error in the report.
	c, st, err = runKron(g, map[string]any{"n": 2, "layers": "fc", "max_rel_error": 1, "max_output_rel_error": 1})
	require.NoError(t, err)
	require.Equal(t, 1, st["factored"], c.report.String())
	// A metric budget of 0 on the KL metric keeps every layer dense
	// (warning), or fails with strict.
	g = kronGraph(t, false)
	c, st, err = runKron(g, map[string]any{"n": 2, "layers": "fc", "max_rel_error": 1, "max_output_rel_error": 1, "max_metric_drop": 0})
	require.NoError(t, err)
	require.Zero(t, st["factored"])
	require.Len(t, c.warnings, 1)
	require.Contains(t, c.warnings[0], "factoring even fc alone")
	_, _, err = runKron(kronGraph(t, false), map[string]any{"n": 2, "layers": "fc", "max_rel_error": 1, "max_output_rel_error": 1, "max_metric_drop": 0, "strict": true})
	require.ErrorContains(t, err, "model.yaml:7:50: max_metric_drop 0: factoring even fc alone")
}
