package passes

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo/twins"
)

// tinyTransformer is a 3-layer pre-norm transformer with seeded weights;
// post makes it post-norm (norm after each residual add).
func tinyTransformer(t *testing.T, post bool) *frontend.Model {
	t.Helper()
	block := `  enc:
    - layernorm: {name: ln1}
    - attention: {name: attn, heads: 2, out: a}
    - add: {in: [$in, a], out: h}
    - layernorm: {name: ln2}
    - linear: {name: fc1, features: 16}
    - gelu:
    - linear: {name: fc2, features: 8, out: m}
    - add: {in: [h, m]}
`
	if post {
		block = `  enc:
    - attention: {name: attn, heads: 2, out: a}
    - add: {in: [$in, a]}
    - layernorm: {name: ln1, out: h}
    - linear: {name: fc1, features: 16}
    - gelu:
    - linear: {name: fc2, features: 8, out: m}
    - add: {in: [h, m]}
    - layernorm: {name: ln2}
`
	}
	src := `name: tiny
inputs: [{name: x, shape: [N, 5, 8], dtype: f32}]
init: {seed: 3}
blocks:
` + block + `graph:
  - repeat: {block: enc, times: 3, name: "blocks.{i}"}
  - layernorm: {name: norm}
  - linear: {name: head, features: 4, out: logits}
`
	m, err := frontend.LoadFS(fstest.MapFS{"m/model.yaml": {Data: []byte(src)}}, "m/model.yaml")
	require.NoError(t, err)
	return m
}

// runDrop runs the pipeline with attention-drop's options on m's graph,
// calibrating on m's calibration data (seeded rows when it has none), or
// on set when it is given.
func runDrop(m *frontend.Model, opts map[string]any, set ...*calib.Set) (*Result, error) {
	p, err := Build([]Spec{{Name: "attention-drop", Options: opts, Pos: "model.yaml:9:5", OptionPos: map[string]string{"drop": "model.yaml:9:30"}}})
	if err != nil {
		return nil, err
	}
	o := RunOptions{Calib: calib.ForModel(m), Test: func() (*calib.Set, error) { return calib.TestSet(m) }}
	if len(set) > 0 {
		o.Calib = func() (*calib.Set, error) { return set[0], nil }
	}
	return p.Run(m.Graph, o)
}

func dropEntry(res *Result) Entry {
	return res.Log[slices.IndexFunc(res.Log, func(e Entry) bool { return e.Pass == "attention-drop" })]
}

// Regions: a pre-norm transformer has one attention and one MLP region per
// layer, labelled by their nodes' common name; a post-norm one has none
// (and the post-norm sublayers are named); an RMSNorm written out is a
// norm.
func TestFindRegions(t *testing.T) {
	regions, post := findRegions(tinyTransformer(t, false).Graph)
	require.Empty(t, post)
	var got []string
	for _, r := range regions {
		got = append(got, fmt.Sprintf("%s %s %d %v %d", r.label, r.kind, r.layer, r.norm, len(r.nodes)))
	}
	require.Equal(t, []string{
		"blocks.0 attn 0 true 5", "blocks.0 mlp 0 true 4",
		"blocks.1 attn 1 true 5", "blocks.1 mlp 1 true 4",
		"blocks.2 attn 2 true 5", "blocks.2 mlp 2 true 4",
	}, got)

	regions, post = findRegions(tinyTransformer(t, true).Graph)
	require.Empty(t, regions)
	require.Equal(t, []postNorm{{"attn", "blocks.0"}, {"mlp", "blocks.0"}, {"attn", "blocks.1"}, {"mlp", "blocks.1"}, {"attn", "blocks.2"}, {"mlp", "blocks.2"}}, post)

	// x + fc2(gelu(fc1(rmsnorm(x)))), the RMSNorm as exporters write it.
	r := newRand(1)
	b := ir.NewBuilder("rms")
	x := input(t, b, 5, 8)
	sq := must1(t, b, "", ir.Simple{K: ir.KPow}, x, mustConst(t, b, "two", &ir.Tensor{DType: ir.F32, Shape: []int{1}, F: []float32{2}}))
	ms := must1(t, b, "", &ir.Reduce{K: ir.KReduceMean, Axes: []int{-1}, KeepDims: true}, sq)
	ms = must1(t, b, "", ir.Simple{K: ir.KAdd}, ms, mustConst(t, b, "eps", &ir.Tensor{DType: ir.F32, Shape: []int{1}, F: []float32{1e-6}}))
	rms := must1(t, b, "", ir.Simple{K: ir.KSqrt}, ms)
	nx := must1(t, b, "", ir.Simple{K: ir.KDiv}, x, rms)
	nx = must1(t, b, "", ir.Simple{K: ir.KMul}, nx, mustConst(t, b, "rms.weight", r.tensor(1, 8)))
	hid := must1(t, b, "", &ir.Gelu{Approximate: "none"}, r.linearLayer(t, b, "mlp.fc1", nx, 16, true))
	y := must1(t, b, "", ir.Simple{K: ir.KAdd}, x, r.linearLayer(t, b, "mlp.fc2", hid, 8, true))
	b.G.Outputs = []*ir.Value{r.linearLayer(t, b, "head", y, 3, false)}
	require.NoError(t, ir.Verify(b.G))
	regions, post = findRegions(b.G)
	require.Empty(t, post)
	require.Len(t, regions, 1)
	require.Equal(t, "mlp", regions[0].kind)
	require.True(t, regions[0].norm)
	require.Equal(t, "mlp", regions[0].label)
	require.Len(t, regions[0].nodes, 9)
}

// cosSum on hand-computed vectors: parallel 1, orthogonal 0, opposite −1,
// a zero pair 1, one zero vector 0.
func TestCosSum(t *testing.T) {
	x := &ir.Tensor{DType: ir.F32, Shape: []int{5, 2}, F: []float32{1, 0, 1, 0, 3, 4, 0, 0, 1, 1}}
	y := &ir.Tensor{DType: ir.F32, Shape: []int{5, 2}, F: []float32{2, 0, 0, 5, -3, -4, 0, 0, 0, 0}}
	s, n := cosSum(x, y)
	require.Equal(t, 5, n)
	require.InDelta(t, 1+0-1+1+0, s, 1e-15)
}

// Dropping region ℓ is exactly the model with ℓ's output projection (and
// bias) set to zero: h_out = h_in + 0 (design.md's exact-pass tolerance).
func TestAttentionDropRewriteEquivalence(t *testing.T) {
	for _, target := range []string{"attn", "mlp"} {
		for layer := range 3 {
			t.Run(fmt.Sprintf("%s %d", target, layer), func(t *testing.T) {
				g := tinyTransformer(t, false).Graph
				in := ir.SampleInputs(g, 3, 4)
				zeroed := g.Clone()
				proj := fmt.Sprintf("blocks.%d.attn.proj", layer)
				if target == "mlp" {
					proj = fmt.Sprintf("blocks.%d.fc2", layer)
				}
				for _, v := range zeroed.Consts {
					if v.Name == proj+".weight" || v.Name == proj+".bias" {
						v.Const = ir.NewTensor(ir.F32, v.Const.Shape)
					}
				}
				want, err := ir.Eval(zeroed, in...)
				require.NoError(t, err)
				regions, _ := findRegions(g)
				cs := candidates(regions, target)
				var drop []*region
				for _, r := range regions {
					if r.id == cs[layer].ids[0] {
						drop = append(drop, r)
					}
				}
				dropRegions(g, drop)
				_, err = deadCode(&Context{Graph: g}, Options{})
				require.NoError(t, err)
				require.NoError(t, ir.Verify(g))
				require.Nil(t, g.Lookup(proj+".weight"), "the dropped region's weights leave the graph")
				got, err := ir.Eval(g, in...)
				require.NoError(t, err)
				require.NoError(t, match.Kernel(got[0].F, want[0].F))
			})
		}
	}
}

// A region whose output projection is zero changes nothing: Sim = 1 and it
// is the first dropped; the report lists every region.
func TestAttentionDropZeroRegionFirst(t *testing.T) {
	m := tinyTransformer(t, false)
	for _, v := range m.Graph.Consts {
		if strings.HasPrefix(v.Name, "blocks.1.attn.proj.") {
			v.Const = ir.NewTensor(ir.F32, v.Const.Shape)
		}
	}
	res, err := runDrop(m, map[string]any{"drop": int64(1)})
	require.NoError(t, err)
	e := dropEntry(res)
	require.Equal(t, Stats{"candidates": 3, "dropped": 1, "nodes-removed": 6, "params-removed": 8*24 + 24 + 8*8 + 8}, e.Stats)
	require.Contains(t, e.Report, "| blocks.1 attn | 1 | 1.000000 | 0.000000 | 1 | yes | among the 1 highest Sim |")
	require.Contains(t, e.Report, "| blocks.0 attn | 0 |")
	require.Contains(t, e.Report, "seeded samples")
	require.Contains(t, e.Report, "| calibration metric (kl) | mean KL 0 | mean KL 0 |", "dropping a zero region changes no output")
	// bn-fold (by default) moved ln1's scale into qkv: its folded weights.
	require.Nil(t, m.Graph.Lookup("blocks.1.attn.qkv.weight.folded"))
	require.NotNil(t, m.Graph.Lookup("blocks.0.attn.qkv.weight.folded"))
}

type torchScores struct {
	Sim struct {
		Attn, MLP, Block []float64
	} `json:"sim"`
	Calibration struct{ Rows, Tokens int }
	AttnDrops   map[string][]int `json:"attn_drops"`
	Heldout     int              `json:"heldout_rows"`
	Correct     map[string]int   `json:"heldout_correct_after_attn_drop"`
}

func loadTorchScores(t *testing.T) torchScores {
	data, err := os.ReadFile(filepath.Join("..", twins.Dir, "vit", "drop_scores.json"))
	require.NoError(t, err, "make zoo-drop-scores writes it")
	var ts torchScores
	require.NoError(t, json.Unmarshal(data, &ts))
	require.Len(t, ts.Sim.Attn, 4)
	return ts
}

// simsOf parses the Sim column of the pass's report, in region order.
func simsOf(t *testing.T, report string) []float64 {
	var sims []float64
	for _, l := range strings.Split(report, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 8 || !strings.Contains(cells[1], "blocks") {
			continue
		}
		var s float64
		_, err := fmt.Sscan(strings.TrimSpace(cells[3]), &s)
		require.NoError(t, err, l)
		sims = append(sims, s)
	}
	return sims
}

// The vit twin's scores agree with LLM-Drop's, computed with PyTorch hooks
// by zoo/train/llmdrop_scores.py (drop_scores.json), to 1e-4 for attention,
// MLP and block regions; k = 1, 2, 3 drop the same attention regions; the
// dropped graph's held-out top-1 is PyTorch's for the same drops. The
// twin's model.onnx (same weights, imported) gives the same scores and
// drops.
func TestAttentionDropTorch(t *testing.T) {
	ts := loadTorchScores(t)
	dir := filepath.Join("..", twins.Dir)
	// Each form with its calibration set: model.yaml names its data; the
	// ONNX file has none, so it gets the twin's rows.
	load := map[string]func() (*frontend.Model, *twins.Twin, *calib.Set){
		"model.yaml": func() (*frontend.Model, *twins.Twin, *calib.Set) {
			tw, err := twins.Load(dir, "vit")
			require.NoError(t, err)
			set, err := calib.ForModel(tw.Model)()
			require.NoError(t, err)
			return tw.Model, tw, set
		},
		"model.onnx": func() (*frontend.Model, *twins.Twin, *calib.Set) {
			tw, err := twins.Load(dir, "vit")
			require.NoError(t, err)
			m, err := frontend.Load(filepath.Join(dir, "vit", "model.onnx"), frontend.Options{})
			require.NoError(t, err)
			x, y, err := tw.Calibration()
			require.NoError(t, err)
			set, err := calib.New(m.Graph, []*ir.Tensor{x}, &ir.Tensor{DType: ir.I64, Shape: []int{len(y)}, I: y}, "")
			require.NoError(t, err)
			return m, tw, set
		},
	}
	for _, form := range []string{"model.yaml", "model.onnx"} {
		t.Run(form, func(t *testing.T) {
			for _, tc := range []struct {
				target string
				want   []float64
			}{{"mlp", ts.Sim.MLP}, {"block", ts.Sim.Block}} { // attn: below, with each k
				m, _, set := load[form]()
				res, err := runDrop(m, map[string]any{"target": tc.target, "drop": int64(1)}, set)
				require.NoError(t, err)
				got := simsOf(t, dropEntry(res).Report)
				require.Len(t, got, 4, dropEntry(res).Report)
				for i := range got {
					require.InDelta(t, tc.want[i], got[i], 1e-4, "%s %s %d", form, tc.target, i)
				}
				require.Contains(t, dropEntry(res).Report, fmt.Sprintf("Sim averages %d tokens", ts.Calibration.Tokens))
			}
			for _, k := range []int{1, 2, 3} {
				m, tw, set := load[form]()
				res, err := runDrop(m, map[string]any{"drop": int64(k)}, set)
				require.NoError(t, err)
				got := simsOf(t, dropEntry(res).Report)
				require.Len(t, got, 4)
				for i := range got {
					require.InDelta(t, ts.Sim.Attn[i], got[i], 1e-4, "%s attn %d", form, i)
				}
				var dropped []int
				for _, l := range strings.Split(dropEntry(res).Report, "\n") {
					if c := strings.Split(l, "|"); len(c) > 7 && strings.TrimSpace(c[6]) == "yes" {
						var layer int
						_, err := fmt.Sscan(strings.TrimSpace(c[2]), &layer)
						require.NoError(t, err)
						dropped = append(dropped, layer)
					}
				}
				require.Equal(t, ts.AttnDrops[fmt.Sprint(k)], dropped, "k=%d", k)
				require.Equal(t, 4-k, count(m.Graph, ir.KAttention))
				if form == "model.onnx" {
					continue // the same drops of the same weights; model.yaml checks the accuracy
				}
				logits, err := twins.Eval(m.Graph, tw.X, 120)
				require.NoError(t, err)
				correct := twins.Top1(logits, tw.Labels)
				t.Logf("%s: k=%d drops layers %v; held-out top-1 %d/%d (PyTorch %d)", form, k, dropped, correct, len(tw.Labels), ts.Correct[fmt.Sprint(k)])
				require.InDelta(t, ts.Correct[fmt.Sprint(k)], correct, 1, "held-out top-1 after dropping, vs PyTorch (one near-tie allowed)")
			}
		})
	}
}

// max_metric_drop 0.01 on the vit twin drops the most attention regions
// that keep the calibration top-1 within one point, and says which; a
// budget nothing meets leaves the graph unchanged with a warning, or fails
// with strict.
func TestAttentionDropBudget(t *testing.T) {
	dir := filepath.Join("..", twins.Dir)
	tw, err := twins.Load(dir, "vit")
	require.NoError(t, err)
	res, err := runDrop(tw.Model, map[string]any{"max_metric_drop": 0.01})
	require.NoError(t, err)
	e := dropEntry(res)
	t.Logf("%s\n%s", e.Stats, e.Report)
	require.Empty(t, e.Warnings)
	// The search measured settings from all four dropped down to the one
	// that fits; every setting above it was over the budget.
	require.Contains(t, e.Report, "Budget search")
	kept := 4 - count(tw.Model.Graph, ir.KAttention)
	require.Equal(t, kept, e.Stats["dropped"])
	require.GreaterOrEqual(t, kept, 1)
	require.Contains(t, e.Report, fmt.Sprintf("| %d | top-1 ", kept))
	require.Contains(t, e.Report, "| true |")
	require.Contains(t, e.Report, "within max_metric_drop")
	// Its calibration top-1 is within one point of the float model's 123/128.
	set, err := calib.ForModel(tw.Model)()
	require.NoError(t, err)
	tw0, err := twins.Load(dir, "vit")
	require.NoError(t, err)
	_, err = set.Baseline(tw0.Model.Graph)
	require.NoError(t, err)
	r, err := set.Measure(tw.Model.Graph, "after")
	require.NoError(t, err)
	require.True(t, set.Fits(calib.Budget{MaxDrop: 0.01}, r), "%s", r)
	// One more drop (the next in the ranking) would not fit.
	if kept < 4 {
		ts := loadTorchScores(t)
		next := slices.SortedFunc(slices.Values([]int{0, 1, 2, 3}), func(a, b int) int {
			return int(math.Copysign(1, ts.Sim.Attn[b]-ts.Sim.Attn[a]))
		})[kept]
		require.Contains(t, e.Report, fmt.Sprintf("| blocks.%d attn | %d |", next, next))
		require.Regexp(t, fmt.Sprintf(`\| blocks\.%d attn \| %d \| [^|]+ \| [^|]+ \| %d \| no \| kept: dropping it too exceeds max_metric_drop \|`, next, next, kept+1), e.Report)
	}

	// No drop fits a zero budget on the twin whose every region matters.
	tw, err = twins.Load(dir, "vit")
	require.NoError(t, err)
	res, err = runDrop(tw.Model, map[string]any{"max_metric_drop": 0, "protect": []any{int64(3)}})
	require.NoError(t, err)
	e = dropEntry(res)
	require.Len(t, e.Warnings, 1)
	require.Contains(t, e.Warnings[0], "over max_metric_drop 0; the graph is unchanged")
	require.Contains(t, e.Report, "No region dropped: dropping even blocks.2 attn alone")
	require.Equal(t, 4, count(tw.Model.Graph, ir.KAttention))
	tw, err = twins.Load(dir, "vit")
	require.NoError(t, err)
	p, err := Build([]Spec{{Name: "attention-drop", Options: map[string]any{"max_metric_drop": 0, "strict": true, "protect": []any{int64(3)}}, Pos: "m.yaml:9:5",
		OptionPos: map[string]string{"max_metric_drop": "m.yaml:9:40"}}})
	require.NoError(t, err)
	_, err = p.Run(tw.Model.Graph, RunOptions{Calib: calib.ForModel(tw.Model)})
	require.ErrorContains(t, err, "m.yaml:9:40: pass attention-drop: max_metric_drop 0: dropping even blocks.2 attn alone changes the calibration metric by")
	require.ErrorContains(t, err, "(strict: true)")
}

// Iterative with drop 1 is discrete with drop 1; iterative re-scores after
// each drop (its report lists the rounds).
func TestAttentionDropIterative(t *testing.T) {
	dropped := func(mode string, k int) (string, string) {
		m := tinyTransformer(t, false)
		res, err := runDrop(m, map[string]any{"drop": int64(k), "mode": mode})
		require.NoError(t, err)
		return m.Graph.String(), dropEntry(res).Report
	}
	g1, _ := dropped("discrete", 1)
	g2, rep := dropped("iterative", 1)
	require.Equal(t, g1, g2)
	require.NotContains(t, rep, "round 2")
	_, rep = dropped("iterative", 2)
	require.Contains(t, rep, "- round 2: ")
	require.Contains(t, rep, "round 2: highest Sim of the remaining")
}

// targets all and block; threshold; protect.
func TestAttentionDropTargets(t *testing.T) {
	m := tinyTransformer(t, false)
	res, err := runDrop(m, map[string]any{"target": "block", "drop": int64(1)})
	require.NoError(t, err)
	require.Equal(t, 2, count(m.Graph, ir.KAttention))
	require.Equal(t, 2*4+1, count(m.Graph, ir.KLinear), "one block's qkv, proj, fc1 and fc2 gone")
	require.Contains(t, dropEntry(res).Report, "| blocks.0 block | 0 |")

	m = tinyTransformer(t, false)
	res, err = runDrop(m, map[string]any{"target": "all", "drop": int64(6)})
	require.NoError(t, err)
	require.Zero(t, count(m.Graph, ir.KAttention))
	require.Equal(t, 1, count(m.Graph, ir.KLinear), "the head stays")
	require.Equal(t, 6, dropEntry(res).Stats["dropped"])

	m = tinyTransformer(t, false)
	res, err = runDrop(m, map[string]any{"threshold": 2.0, "protect": []any{int64(0), int64(2)}})
	require.NoError(t, err)
	require.Equal(t, 1, dropEntry(res).Stats["dropped"], "only layer 1 is not protected")
	require.Contains(t, dropEntry(res).Report, "| blocks.0 attn | 0 | ")
	require.Regexp(t, `\| blocks\.0 attn \| 0 \| [^|]+ \| [^|]+ \| — \| no \| protected \|`, dropEntry(res).Report)
	require.NotNil(t, m.Graph.Lookup("blocks.0.attn.qkv.weight.folded"))
	require.Nil(t, m.Graph.Lookup("blocks.1.attn.qkv.weight.folded"))
}

// The RepBN twin after bn-fold (the default): h + F(h) regions, the norm
// folded into qkv and fc1, are found and dropped.
func TestAttentionDropFoldedNorm(t *testing.T) {
	tw, err := twins.Load(filepath.Join("..", twins.Dir), "vit-repbn")
	require.NoError(t, err)
	res, err := runDrop(tw.Model, map[string]any{"drop": int64(1)})
	require.NoError(t, err)
	e := dropEntry(res)
	require.Equal(t, 4, e.Stats["candidates"])
	require.Equal(t, 3, count(tw.Model.Graph, ir.KAttention))
	require.Zero(t, count(tw.Model.Graph, ir.KBatchNorm))
	require.Contains(t, e.Report, "test: top-1 (32 labelled rows)")
}

// Bad input: errors at model.yaml's line, the graph untouched (bn-fold
// excluded, so nothing else rewrites it).
func TestAttentionDropErrors(t *testing.T) {
	cases := []struct {
		name string
		post bool
		opts map[string]any
		want string
	}{
		{"drop more than there are", false, map[string]any{"drop": int64(4)}, "model.yaml:9:30: pass attention-drop: drop: 4 exceeds the 3 attention regions (blocks.0 attn, blocks.1 attn, blocks.2 attn)"},
		{"drop 0", false, map[string]any{"drop": int64(0)}, "model.yaml:9:30: pass attention-drop: drop: want at least 1 region, got 0"},
		{"drop not a number", false, map[string]any{"drop": "two"}, `model.yaml:9:30: pass attention-drop: drop: want an integer, got "two"`},
		{"nothing to drop", false, map[string]any{"mode": "iterative"}, "model.yaml:9:5: pass attention-drop: say how much to drop"},
		{"bad target", false, map[string]any{"target": "heads", "drop": int64(1)}, `model.yaml:9:5: pass attention-drop: target: want one of attn, mlp, block, all, got "heads"`},
		{"bad mode", false, map[string]any{"mode": "consecutive", "drop": int64(1)}, "mode: want one of discrete, iterative"},
		{"drop and threshold", false, map[string]any{"threshold": 0.1, "drop": int64(1)}, "threshold: give drop: k or threshold: t, not both"},
		{"threshold out of range", false, map[string]any{"threshold": 3.0}, "threshold: want an importance 1 − cos in (0, 2], got 3"},
		{"strict without a budget", false, map[string]any{"drop": int64(1), "strict": true}, "strict: needs max_metric_drop"},
		{"budget above 1", false, map[string]any{"max_metric_drop": 1.5}, "max_metric_drop: want a number in [0, 1], got 1.5"},
		{"protect out of range", false, map[string]any{"drop": int64(1), "protect": []any{int64(3)}}, "protect: layer 3: the model has 3 attention regions (layers 0–2)"},
		{"post-norm", true, map[string]any{"drop": int64(1)}, "model.yaml:9:5: pass attention-drop: blocks.0 attn is a post-norm residual block (norm(h + F(h)))"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyTransformer(t, c.post)
			before := m.Graph.String()
			p, err := Build([]Spec{{Name: "attention-drop", Options: c.opts, Pos: "model.yaml:9:5", OptionPos: map[string]string{"drop": "model.yaml:9:30"}}}, Spec{Name: "bn-fold"})
			require.NoError(t, err)
			_, err = p.Run(m.Graph, RunOptions{Calib: calib.ForModel(m)})
			require.ErrorContains(t, err, c.want)
			require.Equal(t, before, m.Graph.String())
		})
	}
	// A model without residual attention: the zoo's residual MLP.
	b := ir.NewBuilder("mlp")
	r := newRand(2)
	x := input(t, b, 8)
	h := must1(t, b, "", ir.Simple{K: ir.KAdd}, x, r.linearLayer(t, b, "fc", x, 8, true))
	b.G.Outputs = []*ir.Value{h}
	p, err := Build([]Spec{{Name: "attention-drop", Options: map[string]any{"drop": int64(1)}, Pos: "m.yaml:4:10"}})
	require.NoError(t, err)
	_, err = p.Run(b.G, RunOptions{})
	require.ErrorContains(t, err, "m.yaml:4:10: pass attention-drop: no pre-norm residual attention regions in graph mlp")
}
