package passes

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
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
// calibrating on seeded samples of its inputs (the models here have no
// data).
func runDrop(m *frontend.Model, opts map[string]any) (*Result, error) {
	p, err := Build([]Spec{{Name: "attention-drop", Options: opts, Pos: "model.yaml:9:5", OptionPos: map[string]string{"drop": "model.yaml:9:30"}}})
	if err != nil {
		return nil, err
	}
	return p.Run(m.Graph, RunOptions{})
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
			_, err = p.Run(m.Graph, RunOptions{})
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
