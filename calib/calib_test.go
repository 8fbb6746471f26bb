package calib

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
)

// classifier is x[N,4] → linear(w) → logits[N,3], w given row by row.
func classifier(t *testing.T, w []float32) *ir.Graph {
	t.Helper()
	b := ir.NewBuilder("cls")
	x, err := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(4)}))
	require.NoError(t, err)
	wv, err := b.Const("w", &ir.Tensor{DType: ir.F32, Shape: []int{3, 4}, F: w})
	require.NoError(t, err)
	y, err := b.Add1("fc", &ir.Linear{}, []*ir.Value{x, wv}, "logits")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{y}
	return b.G
}

// identity3 reads the first three features as the logits.
var identity3 = []float32{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}

// rows makes n rows whose argmax over the first three features is
// labels[i], with feature 3 random.
func rows(n int) (*ir.Tensor, *ir.Tensor) {
	x := ir.NewTensor(ir.F32, []int{n, 4})
	y := ir.NewTensor(ir.I64, []int{n})
	for i := range n {
		y.I[i] = int64(i % 3)
		for j := range 3 {
			x.F[i*4+j] = float32(j) * 0.1
		}
		x.F[i*4+i%3] = 1 + float32(i%5)*0.1
		x.F[i*4+3] = float32(i)
	}
	return x, y
}

func TestNewChecksData(t *testing.T) {
	g := classifier(t, identity3)
	x, y := rows(10)
	s, err := New(g, []*ir.Tensor{x}, y, "")
	require.NoError(t, err)
	require.Equal(t, Top1, s.Metric)
	require.Equal(t, 10, s.Rows)
	s, err = New(g, []*ir.Tensor{x}, nil, "")
	require.NoError(t, err)
	require.Equal(t, KL, s.Metric)

	bad := []struct {
		name   string
		ins    []*ir.Tensor
		labels *ir.Tensor
		metric string
		want   string
	}{
		{"two arrays for one input", []*ir.Tensor{x, x}, nil, "", "2 input arrays, the model has 1 inputs (x f32[N,4])"},
		{"wrong shape", []*ir.Tensor{ir.NewTensor(ir.F32, []int{10, 5})}, nil, "", "input x: shape [10 5] does not fit f32[N,4] (want [10 4])"},
		{"wrong dtype", []*ir.Tensor{ir.NewTensor(ir.I64, []int{10, 4})}, nil, "", "input x: i64 data for a f32 input"},
		{"scalar", []*ir.Tensor{ir.NewTensor(ir.F32, nil)}, nil, "", "input x: a scalar, want f32[N,4] with rows first"},
		{"labels count", []*ir.Tensor{x}, ir.NewTensor(ir.I64, []int{9}), "", "9 labels for 10 input rows"},
		{"float labels", []*ir.Tensor{x}, ir.NewTensor(ir.F32, []int{10}), "", "labels: want a 1-D array of integer class ids, got f32[10]"},
		{"negative label", []*ir.Tensor{x}, &ir.Tensor{DType: ir.I64, Shape: []int{10}, I: []int64{0, 1, -1, 0, 0, 0, 0, 0, 0, 0}}, "", "labels: row 2 has class -1"},
		{"top1 without labels", []*ir.Tensor{x}, nil, Top1, "metric top1 needs labels"},
		{"unknown metric", []*ir.Tensor{x}, y, "top5", `unknown metric "top5"`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(g, c.ins, c.labels, c.metric)
			require.ErrorContains(t, err, c.want)
		})
	}
}

// Top-1 counts argmax hits; a label beyond the classes is an error; the
// batch size changes nothing.
func TestTop1(t *testing.T) {
	g := classifier(t, identity3)
	x, y := rows(70)
	s, err := New(g, []*ir.Tensor{x}, y, "")
	require.NoError(t, err)
	for _, batch := range []int{1, 7, 32, 100} {
		s.Batch, s.base = batch, nil
		r, err := s.Baseline(g)
		require.NoError(t, err)
		require.Equal(t, Result{Metric: Top1, Value: 1, Correct: 70, Rows: 70}, r)
	}
	// Swapping classes 0 and 1 gets the third of the rows labelled 2.
	swapped := classifier(t, []float32{0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0})
	r, err := s.Measure(swapped, "swapped")
	require.NoError(t, err)
	require.Equal(t, 23, r.Correct)
	require.InDelta(t, 1-23.0/70, s.Drop(r), 1e-12)
	require.Equal(t, "top-1 32.86% (23/70)", r.String())

	y.I[5] = 3
	s, err = New(g, []*ir.Tensor{x}, y, "")
	require.NoError(t, err)
	_, err = s.Baseline(g)
	require.ErrorContains(t, err, "calibration labels: row 5 has class 3, the model has 3 classes")
}

// KL against the float model: 0 for the model itself, the closed form
// for a known pair of distributions; rel-L2 likewise.
func TestKLAndRelL2(t *testing.T) {
	require.InDelta(t, 0, meanKL([]float32{1, 2, 3, 4, 5, 6}, []float32{1, 2, 3, 4, 5, 6}, 3), 1e-15)
	// softmax([0, ln 3]) = (1/4, 3/4); softmax([0, 0]) = (1/2, 1/2).
	want := 0.25*math.Log(0.25/0.5) + 0.75*math.Log(0.75/0.5)
	require.InDelta(t, want, meanKL([]float32{0, float32(math.Log(3))}, []float32{0, 0}, 2), 1e-7)
	// Two rows: the mean.
	require.InDelta(t, want/2, meanKL([]float32{0, float32(math.Log(3)), 5, 5}, []float32{0, 0, 1, 1}, 2), 1e-7)

	g := classifier(t, identity3)
	x, _ := rows(20)
	for _, metric := range []string{KL, RelL2} {
		s, err := New(g, []*ir.Tensor{x}, nil, metric)
		require.NoError(t, err)
		base, err := s.Baseline(g)
		require.NoError(t, err)
		require.Zero(t, base.Value)
		scaled := classifier(t, []float32{2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0})
		r, err := s.Measure(scaled, "scaled")
		require.NoError(t, err)
		if metric == RelL2 {
			require.InDelta(t, 1, r.Value, 1e-6, "doubling the logits is a relative error of 1")
		} else {
			require.Greater(t, r.Value, 0.01)
		}
		require.Equal(t, r.Value, s.Drop(r))
		// The baseline stays the first graph's.
		again, err := s.Baseline(scaled)
		require.NoError(t, err)
		require.Equal(t, base, again)
	}
}

// Capture hands over graph inputs and intermediate values per batch,
// equal to what one evaluation of the rows gives.
func TestCapture(t *testing.T) {
	m, err := frontend.LoadNamed(zoo.FS(), "vit-tiny")
	require.NoError(t, err)
	g := m.Graph
	s := Seeded(g, 3, 9)
	s.Batch = 2
	h := g.Lookup("blocks.0/h")
	require.NotNil(t, h)
	all, err := ir.EvalOptions{Observe: func(n *ir.Node, outs []*ir.Tensor) {}}.Eval(g, s.Inputs...)
	require.NoError(t, err)
	var gotH []float32
	var lows []int
	err = s.Capture(g, "capture", []*ir.Value{g.Inputs[0], h, g.Outputs[0]}, func(lo int, vals []*ir.Tensor) error {
		lows = append(lows, lo)
		require.Equal(t, rowsOf(s.Inputs[0], lo, min(lo+2, 3)).F, vals[0].F)
		gotH = append(gotH, vals[1].F...)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, lows)
	// The reference: h evaluated on all three rows at once.
	var wantH []float32
	_, err = ir.EvalOptions{Observe: func(n *ir.Node, outs []*ir.Tensor) {
		if n.Outputs[0] == h {
			wantH = append(wantH, outs[0].F...)
		}
	}}.Eval(g, s.Inputs...)
	require.NoError(t, err)
	require.Equal(t, wantH, gotH)
	require.Len(t, all, 1)
}

// Search takes the most aggressive setting within the budget: settings
// are classifiers that get one more class wrong each (top-1 falls by a
// third per step), and the budget admits the first step only.
func TestSearch(t *testing.T) {
	x, y := rows(30)
	g := classifier(t, identity3)
	s, err := New(g, []*ir.Tensor{x}, y, "")
	require.NoError(t, err)
	_, _, err = s.Search(Budget{MaxDrop: 0.5}, 1, func(int) (*ir.Graph, error) { return g, nil })
	require.ErrorContains(t, err, "BUG: calib: Measure before Baseline")
	_, err = s.Baseline(g)
	require.NoError(t, err)
	// Setting i zeroes the first i class rows: rows of class < i are lost.
	settings := func(i int) (*ir.Graph, error) {
		w := append([]float32(nil), identity3...)
		for c := range i {
			for j := range 4 {
				w[c*4+j] = -10
			}
		}
		return classifier(t, w), nil
	}
	best, trials, err := s.Search(Budget{MaxDrop: 0.34}, 3, settings)
	require.NoError(t, err)
	require.Equal(t, 1, best)
	require.Len(t, trials, 2)
	require.Equal(t, 2, trials[0].Setting)
	require.False(t, trials[0].Fits)
	require.InDelta(t, 2.0/3, trials[0].Drop, 1e-9)
	require.True(t, trials[1].Fits)
	// A budget of exactly one third in rows admits one class (10 rows of 30).
	best, _, err = s.Search(Budget{MaxDrop: 1.0 / 3}, 3, settings)
	require.NoError(t, err)
	require.Equal(t, 1, best)
	// Nothing fits a zero budget except setting 0 (no change).
	best, trials, err = s.Search(Budget{MaxDrop: 0}, 3, settings)
	require.NoError(t, err)
	require.Equal(t, 0, best)
	require.Len(t, trials, 3)
	// Only aggressive settings: none fits.
	best, _, err = s.Search(Budget{MaxDrop: 0.1}, 2, func(i int) (*ir.Graph, error) { return settings(i + 1) })
	require.NoError(t, err)
	require.Equal(t, -1, best)

	require.NoError(t, Budget{MaxDrop: 0.1}.NoFit("dropping one region loses 3 points"))
	err = Budget{MaxDrop: 0.1, Strict: true, Pos: "m.yaml:9:40"}.NoFit("dropping one region loses 3 points")
	require.EqualError(t, err, "m.yaml:9:40: max_metric_drop 0.1: dropping one region loses 3 points (strict: true)")
}

// A progress bar goes to Progress when set, nowhere otherwise.
func TestProgress(t *testing.T) {
	g := classifier(t, identity3)
	x, y := rows(8)
	s, err := New(g, []*ir.Tensor{x}, y, "")
	require.NoError(t, err)
	var buf bytes.Buffer
	s.Progress = &buf
	s.Batch = 2
	_, err = s.Baseline(g)
	require.NoError(t, err)
	require.Contains(t, buf.String(), "calibration: float model")
}

// A model whose batch is fixed (an ONNX export without a dynamic batch)
// calibrates on rows in groups of its batch.
func TestFixedBatch(t *testing.T) {
	b := ir.NewBuilder("fixed")
	x, err := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.D(2), ir.D(4)}))
	require.NoError(t, err)
	wv, err := b.Const("w", &ir.Tensor{DType: ir.F32, Shape: []int{3, 4}, F: identity3})
	require.NoError(t, err)
	y, err := b.Add1("fc", &ir.Linear{}, []*ir.Value{x, wv}, "logits")
	require.NoError(t, err)
	b.G.Outputs = []*ir.Value{y}
	xs, ys := rows(6)
	s, err := New(b.G, []*ir.Tensor{xs}, ys, "")
	require.NoError(t, err)
	r, err := s.Baseline(b.G)
	require.NoError(t, err)
	require.Equal(t, 6, r.Correct)
	x5, y5 := rows(5)
	_, err = New(b.G, []*ir.Tensor{x5}, y5, "")
	require.ErrorContains(t, err, "input x: 5 rows, want a multiple of its fixed batch 2")
	seeded := Seeded(b.G, DefaultSeededRows, 1)
	require.Equal(t, 2, seeded.Rows)
	_, err = seeded.Baseline(b.G)
	require.NoError(t, err)
}

// KL calibration (docs/algorithms.md §5.3): uniform data keeps nearly
// its whole range; Gaussian and Laplacian data are cut below the
// maximum; the result does not depend on the order the values come in.
func TestThresholds(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	gen := map[string]func() float64{
		"uniform":   func() float64 { return rng.Float64()*2 - 1 },
		"gaussian":  rng.NormFloat64,
		"laplacian": func() float64 { return rng.ExpFloat64() * float64(1-2*rng.IntN(2)) },
	}
	for _, name := range []string{"uniform", "gaussian", "laplacian"} {
		v := make([]float32, 200000)
		mx := 0.0
		for i := range v {
			v[i] = float32(gen[name]())
			mx = math.Max(mx, math.Abs(float64(v[i])))
		}
		h := NewHistogram(2048, mx)
		h.Add(v)
		tKL, err := h.Threshold(RangeKL, 128, 0)
		require.NoError(t, err)
		t.Logf("%s: max|x| %.3f, KL threshold %.3f (clips %.2g)", name, mx, tKL, h.Clipped(tKL))
		switch name {
		case "uniform":
			require.Greater(t, tKL, 0.9*mx, "uniform data: the threshold stays near max|x|")
		default:
			require.Less(t, tKL, 0.95*mx, "%s data: the threshold cuts the tail", name)
			require.Greater(t, h.Clipped(tKL), 0.0, "%s data: values beyond the threshold saturate", name)
			require.Greater(t, tKL, 2.0, "%s data: the threshold keeps the bulk", name)
		}
		// Order independence: the same values in another order.
		rng.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
		h2 := NewHistogram(2048, mx)
		for lo := 0; lo < len(v); lo += 777 {
			h2.Add(v[lo:min(lo+777, len(v))])
		}
		t2, _ := h2.Threshold(RangeKL, 128, 0)
		require.Equal(t, tKL, t2, "%s: KL threshold depends on the order of the values", name)
		tMax, _ := h.Threshold(RangeMax, 128, 0)
		require.Equal(t, mx, tMax)
		tP, _ := h.Threshold(RangePercentile, 128, 99)
		require.Less(t, tP, mx)
		require.InDelta(t, 0.01, h.Clipped(tP), 0.002, "%s: the 99th percentile clips 1%%", name)
		tM, _ := h.Threshold(RangeMSE, 128, 0)
		require.LessOrEqual(t, tM, mx)
		// 16-bit formats have more levels than bins: KL keeps the max.
		t16, _ := h.Threshold(RangeKL, 32768, 0)
		require.Equal(t, mx, t16)
	}
	_, err := NewHistogram(8, 1).Threshold("median", 128, 0)
	require.ErrorContains(t, err, "unknown range method")
}

// A ReLU's output, half exact zeros: with bin 0 the KL search clips a
// large share of the tail; DropZeroBin (TensorRT's choice) keeps the
// threshold of the non-zero half.
func TestThresholdZeroSpike(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	v := make([]float32, 100000)
	nz := make([]float32, 0, len(v))
	mx := 0.0
	for i := range v {
		if i%2 == 0 {
			x := math.Abs(rng.NormFloat64())
			v[i] = float32(x)
			nz = append(nz, v[i])
			mx = math.Max(mx, x)
		}
	}
	h := NewHistogram(2048, mx)
	h.Add(v)
	withZero, err := h.Threshold(RangeKL, 128, 0)
	require.NoError(t, err)
	h.DropZeroBin = true
	dropped, err := h.Threshold(RangeKL, 128, 0)
	require.NoError(t, err)
	hn := NewHistogram(2048, mx)
	hn.Add(nz)
	want, _ := hn.Threshold(RangeKL, 128, 0)
	t.Logf("max %.3f: KL threshold with bin 0 %.3f (clips %.3g), without %.3f (clips %.3g), non-zero half alone %.3f",
		mx, withZero, h.Clipped(withZero), dropped, h.Clipped(dropped), want)
	require.Less(t, withZero, 0.5*dropped, "the zero spike pulls the threshold down")
	require.InDelta(t, want, dropped, 2*h.Width(), "without bin 0 the zeros do not matter")
	require.Less(t, h.Clipped(dropped), 0.001)
}
