package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo/twins"
)

// bnRand makes BN statistics as algorithms.md §2 asks, so a fold that
// ignores a term fails: γ ∈ [−0.5, 1.5], β, μ ~ N(0, 1), σ² ∈ [0.01, 2],
// and every fifth channel with σ² ≈ 0 (a large a = γ/√(σ²+ε)).
type bnRand struct{ r *rand.Rand }

func newRand(seed uint64) bnRand { return bnRand{rand.New(rand.NewPCG(seed, 7))} }

func (r bnRand) tensor(scale float64, shape ...int) *ir.Tensor {
	t := ir.NewTensor(ir.F32, shape)
	for i := range t.F {
		t.F[i] = float32(scale * r.r.NormFloat64())
	}
	return t
}

// bn appends batchnorm(x) with random statistics; zeroShift makes
// t = β − a·μ exactly 0 (μ = β = 0).
func (r bnRand) bn(t *testing.T, b *ir.Builder, name string, x *ir.Value, zeroShift bool) *ir.Value {
	c := x.Type.Shape[1].B
	gamma, beta, mean, vr := ir.NewTensor(ir.F32, []int{c}), ir.NewTensor(ir.F32, []int{c}), ir.NewTensor(ir.F32, []int{c}), ir.NewTensor(ir.F32, []int{c})
	for i := range c {
		gamma.F[i] = float32(-0.5 + 2*r.r.Float64())
		if !zeroShift {
			beta.F[i] = float32(r.r.NormFloat64())
			mean.F[i] = float32(r.r.NormFloat64())
		}
		vr.F[i] = float32(0.01 + 1.99*r.r.Float64())
		if i%5 == 4 {
			vr.F[i] = 1e-7
		}
	}
	ins := []*ir.Value{x}
	for _, p := range []struct {
		s string
		t *ir.Tensor
	}{{"weight", gamma}, {"bias", beta}, {"running_mean", mean}, {"running_var", vr}} {
		ins = append(ins, mustConst(t, b, name+"."+p.s, p.t))
	}
	return must1(t, b, name, &ir.BatchNorm{Eps: 1e-5}, ins...)
}

func mustConst(t *testing.T, b *ir.Builder, name string, v *ir.Tensor) *ir.Value {
	t.Helper()
	c, err := b.Const(name, v)
	require.NoError(t, err)
	return c
}

func must1(t *testing.T, b *ir.Builder, name string, op ir.Op, ins ...*ir.Value) *ir.Value {
	t.Helper()
	v, err := b.Add1(name, op, ins, "")
	require.NoError(t, err)
	return v
}

func conv(stride, pad, dil, groups int) *ir.Conv2D {
	return &ir.Conv2D{Stride: []int{stride, stride}, Pad: []int{pad, pad, pad, pad}, Dilation: []int{dil, dil}, Groups: groups}
}

// convLayer appends conv2d(x) with a random [o, c/groups, k, k] weight.
func (r bnRand) convLayer(t *testing.T, b *ir.Builder, name string, x *ir.Value, o, k int, op *ir.Conv2D, bias bool) *ir.Value {
	c := x.Type.Shape[1].B
	ins := []*ir.Value{x, mustConst(t, b, name+".weight", r.tensor(1/math.Sqrt(float64(c*k*k/op.Groups)), o, c/op.Groups, k, k))}
	if bias {
		ins = append(ins, mustConst(t, b, name+".bias", r.tensor(0.5, o)))
	}
	return must1(t, b, name, op, ins...)
}

func (r bnRand) linearLayer(t *testing.T, b *ir.Builder, name string, x *ir.Value, o int, bias bool) *ir.Value {
	d := x.Type.Shape[x.Type.Shape.Rank()-1].B
	ins := []*ir.Value{x, mustConst(t, b, name+".weight", r.tensor(1/math.Sqrt(float64(d)), o, d))}
	if bias {
		ins = append(ins, mustConst(t, b, name+".bias", r.tensor(0.5, o)))
	}
	return must1(t, b, name, &ir.Linear{}, ins...)
}

func input(t *testing.T, b *ir.Builder, dims ...int) *ir.Value {
	s := ir.Shape{ir.N}
	for _, d := range dims {
		s = append(s, ir.D(d))
	}
	x, err := b.Input("x", ir.TensorType(ir.F32, s))
	require.NoError(t, err)
	return x
}

// runFold runs bn-fold on g and checks it by design.md's rule for exact
// passes (rel_l2 ≤ 1e-5, max_abs ≤ 1e-4·max(1, max|ref|)) at batch 3, and
// that a second run changes nothing.
func runFold(t *testing.T, g *ir.Graph) Stats {
	t.Helper()
	require.NoError(t, ir.Verify(g))
	in := ir.SampleInputs(g, 3, 5)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	pass, ok := Lookup("bn-fold")
	require.True(t, ok)
	stats, err := pass.Run(&Context{Graph: g}, Options{})
	require.NoError(t, err)
	require.NoError(t, ir.Verify(g), "%s", g)
	got, err := ir.Eval(g, in...)
	require.NoError(t, err)
	for i := range want {
		require.NoError(t, match.Kernel(got[i].F, want[i].F), "output %d after bn-fold (%s):\n%s", i, stats, g)
	}
	text := g.String()
	again, err := pass.Run(&Context{Graph: g}, Options{})
	require.NoError(t, err)
	require.Zero(t, again["rule-a"]+again["rule-b"]+again["repvgg"], "second run: %s", again)
	require.Equal(t, text, g.String(), "a second run changed the graph")
	return stats
}

func count(g *ir.Graph, k ir.Kind) int {
	n := 0
	for _, nd := range g.Nodes {
		if nd.Op.Kind() == k {
			n++
		}
	}
	return n
}

// Rule A: every conv (k, stride, dilation, groups incl. depthwise,
// with/without bias) and linear followed by a BN folds; the BN is gone.
func TestBNFoldRuleA(t *testing.T) {
	type tc struct {
		name               string
		k, s, dil, g, pad  int
		linear, bias, rank bool
	}
	var cases []tc
	for _, k := range []int{1, 3, 5} {
		for _, s := range []int{1, 2} {
			for _, dil := range []int{1, 2} {
				for _, g := range []int{1, 2, 4} {
					for _, bias := range []bool{false, true} {
						cases = append(cases, tc{name: fmt.Sprintf("conv k%d s%d d%d g%d bias=%v", k, s, dil, g, bias), k: k, s: s, dil: dil, g: g, pad: dil * (k - 1) / 2, bias: bias})
					}
				}
			}
		}
	}
	cases = append(cases, tc{name: "linear", linear: true}, tc{name: "linear bias", linear: true, bias: true})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(i))
			b := ir.NewBuilder("a")
			var y *ir.Value
			if c.linear {
				y = r.linearLayer(t, b, "fc", input(t, b, 6), 5, c.bias)
			} else {
				// groups 4 with 4 input channels is depthwise.
				y = r.convLayer(t, b, "conv", input(t, b, 4, 7, 7), 8, c.k, conv(c.s, c.pad, c.dil, c.g), c.bias)
			}
			y = r.bn(t, b, "bn", y, false)
			b.G.Outputs = []*ir.Value{must1(t, b, "", ir.Simple{K: ir.KRelu}, y)}
			st := runFold(t, b.G)
			require.Equal(t, 1, st["rule-a"], "%s", st)
			require.Equal(t, 0, count(b.G, ir.KBatchNorm))
			require.Equal(t, 2, len(b.G.Nodes))
			require.Len(t, b.G.Consts, 2, "the old weight and the BN's constants are dropped")
		})
	}
}

// Rule B: a BN with no producer folds into the linear or conv after it —
// unless the conv pads and t ≠ 0 (§2.3).
func TestBNFoldRuleB(t *testing.T) {
	cases := []struct {
		name                string
		linear, bias, zeroT bool
		k, pad, g           int
		folds               bool
	}{
		{name: "linear", linear: true, folds: true},
		{name: "linear bias", linear: true, bias: true, folds: true},
		{name: "conv 1x1", k: 1, g: 1, folds: true},
		{name: "conv 1x1 bias groups 2", k: 1, g: 2, bias: true, folds: true},
		{name: "conv 3x3 no padding", k: 3, g: 1, bias: true, folds: true},
		{name: "conv 3x3 pad 1, t != 0: refused", k: 3, pad: 1, g: 1, folds: false},
		{name: "conv 3x3 pad 1, t = 0", k: 3, pad: 1, g: 2, zeroT: true, folds: true},
		{name: "conv 1x1 pad 1, t != 0: refused", k: 1, pad: 1, g: 1, folds: false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(100 + i))
			b := ir.NewBuilder("b")
			var out *ir.Value
			if c.linear {
				out = r.linearLayer(t, b, "fc", r.bn(t, b, "bn", input(t, b, 6), c.zeroT), 5, c.bias)
			} else {
				out = r.convLayer(t, b, "conv", r.bn(t, b, "bn", input(t, b, 4, 6, 6), c.zeroT), 6, c.k, conv(1, c.pad, 1, c.g), c.bias)
			}
			b.G.Outputs = []*ir.Value{out}
			st := runFold(t, b.G)
			if c.folds {
				require.Equal(t, 1, st["rule-b"], "%s", st)
				require.Equal(t, 0, count(b.G, ir.KBatchNorm))
			} else {
				require.Equal(t, 0, st["rule-b"], "%s", st)
				require.Equal(t, 1, st["bn-kept"])
			}
		})
	}
}

// The reason for rule B's guard: folding a BN with t ≠ 0 into a padded
// 3×3 conv anyway keeps the interior outputs but changes the border ones,
// which miss the W·t term where the original padded the normalised input.
func TestBNFoldPaddedConvBorder(t *testing.T) {
	r := newRand(200)
	b := ir.NewBuilder("border")
	x := input(t, b, 3, 6, 6)
	y := r.bn(t, b, "bn", x, false)
	out := r.convLayer(t, b, "conv", y, 4, 3, conv(1, 1, 1, 1), true)
	b.G.Outputs = []*ir.Value{out}
	g := b.G
	in := ir.SampleInputs(g, 2, 1)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)

	// Rule B by hand, ignoring the guard.
	bn := y.Def
	a, tt, ok, err := bnAffine(bn)
	require.True(t, ok)
	require.NoError(t, err)
	cv := out.Def
	nw, nb := FoldConsumer(cv.Inputs[1].Const, cv.Inputs[2].Const, 1, a, tt)
	fb := ir.NewBuilder("folded")
	fx := input(t, fb, 3, 6, 6)
	fout := must1(t, fb, "conv", conv(1, 1, 1, 1), fx, mustConst(t, fb, "w", nw), mustConst(t, fb, "b", nb))
	fb.G.Outputs = []*ir.Value{fout}
	got, err := ir.Eval(fb.G, in...)
	require.NoError(t, err)
	var inW, inG, bdW, bdG []float32
	for i := range want[0].F {
		h, w := (i/6)%6, i%6
		if h == 0 || h == 5 || w == 0 || w == 5 {
			bdW, bdG = append(bdW, want[0].F[i]), append(bdG, got[0].F[i])
		} else {
			inW, inG = append(inW, want[0].F[i]), append(inG, got[0].F[i])
		}
	}
	require.NoError(t, match.Kernel(inG, inW), "interior")
	require.Error(t, match.Kernel(bdG, bdW), "border outputs should differ")

	// The pass refuses this fold.
	st := runFold(t, g)
	require.Equal(t, 1, st["bn-kept"], "%s", st)
	require.Equal(t, 1, count(g, ir.KBatchNorm))
}

// repbn appends SLAB's RepBN as the vit-repbn twin writes it:
// transpose → batchnorm → transpose, plus α·x, summed.
func (r bnRand) repbn(t *testing.T, b *ir.Builder, name string, x *ir.Value) *ir.Value {
	tr := must1(t, b, "", &ir.Transpose{Perm: []int{0, 2, 1}}, x)
	bn := r.bn(t, b, name+".bn", tr, false)
	back := must1(t, b, "", &ir.Transpose{Perm: []int{0, 2, 1}}, bn)
	alpha := mustConst(t, b, name+".alpha", &ir.Tensor{DType: ir.F32, Shape: []int{1}, F: []float32{float32(0.5 + r.r.Float64())}})
	ax := must1(t, b, "", ir.Simple{K: ir.KMul}, x, alpha)
	return must1(t, b, "", ir.Simple{K: ir.KAdd}, back, ax)
}

// RepBN (§2.4): after a residual add it folds into the linear after it
// (rule B), also through the slice and reshape before a head; after a
// linear whose only reader it is, into that linear (rule A).
func TestBNFoldRepBN(t *testing.T) {
	r := newRand(300)
	b := ir.NewBuilder("repbn")
	x := input(t, b, 5, 8)
	h := must1(t, b, "", ir.Simple{K: ir.KAdd}, x, mustConst(t, b, "pos", r.tensor(1, 1, 5, 8)))
	n1 := r.repbn(t, b, "norm1", h)
	q := r.linearLayer(t, b, "qkv", n1, 8, true)
	h2 := must1(t, b, "", ir.Simple{K: ir.KAdd}, h, q)
	// Rule A: a linear whose result only the RepBN reads.
	p := r.linearLayer(t, b, "proj", h2, 8, false)
	n2 := r.repbn(t, b, "norm2", p)
	h3 := must1(t, b, "", ir.Simple{K: ir.KAdd}, h2, n2)
	// Rule B through slice and reshape to the head.
	n3 := r.repbn(t, b, "norm", h3)
	s := must1(t, b, "", &ir.Slice{Starts: []int{0}, Ends: []int{1}, Axes: []int{1}}, n3)
	s = must1(t, b, "", &ir.Reshape{Shape: ir.Shape{ir.N, ir.D(8)}}, s)
	b.G.Outputs = []*ir.Value{r.linearLayer(t, b, "head", s, 3, true)}
	nodes := len(b.G.Nodes)
	st := runFold(t, b.G)
	require.Equal(t, Stats{"rule-a": 1, "rule-b": 2, "repbn": 3, "nodes-removed": 15}, st)
	require.Equal(t, nodes-15, len(b.G.Nodes))
	for _, k := range []ir.Kind{ir.KBatchNorm, ir.KTranspose, ir.KMul} {
		require.Zero(t, count(b.G, k), k.String())
	}
}

// A RepVGG block (§2.6) becomes one 3×3 conv with a bias: all three
// branches, identity absent (stride 2, channels change), groups, a 5×5
// branch (the general centred merge) and a branch without BN.
func TestBNFoldRepVGG(t *testing.T) {
	cases := []struct {
		name             string
		cin, cout, s, g  int
		identity, bare1  bool
		k                int
		wantBranchesKept int
	}{
		{name: "three branches", cin: 4, cout: 4, s: 1, g: 1, identity: true, k: 3},
		{name: "no identity, stride 2", cin: 4, cout: 8, s: 2, g: 1, k: 3},
		{name: "groups 2 with identity", cin: 4, cout: 4, s: 1, g: 2, identity: true, k: 3},
		{name: "depthwise with identity", cin: 4, cout: 4, s: 1, g: 4, identity: true, k: 3},
		{name: "5x5 and a bare 1x1 conv with bias", cin: 4, cout: 4, s: 1, g: 1, identity: true, k: 5, bare1: true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(400 + i))
			b := ir.NewBuilder("repvgg")
			x := input(t, b, c.cin, 7, 7)
			x = must1(t, b, "", ir.Simple{K: ir.KRelu}, x)
			dense := r.bn(t, b, "rbr_dense.bn", r.convLayer(t, b, "rbr_dense.conv", x, c.cout, c.k, conv(c.s, (c.k-1)/2, 1, c.g), false), false)
			var one *ir.Value
			if c.bare1 {
				one = r.convLayer(t, b, "rbr_1x1.conv", x, c.cout, 1, conv(c.s, 0, 1, c.g), true)
			} else {
				one = r.bn(t, b, "rbr_1x1.bn", r.convLayer(t, b, "rbr_1x1.conv", x, c.cout, 1, conv(c.s, 0, 1, c.g), false), false)
			}
			sum := must1(t, b, "", ir.Simple{K: ir.KAdd}, dense, one)
			if c.identity {
				sum = must1(t, b, "", ir.Simple{K: ir.KAdd}, sum, r.bn(t, b, "rbr_identity", x, false))
			}
			b.G.Outputs = []*ir.Value{must1(t, b, "", ir.Simple{K: ir.KRelu}, sum)}
			st := runFold(t, b.G)
			require.Equal(t, 1, st["repvgg"], "%s", st)
			require.Equal(t, 3, len(b.G.Nodes), "relu, conv, relu:\n%s", b.G)
			cv := b.G.Nodes[1]
			require.Equal(t, ir.KConv2D, cv.Op.Kind())
			require.Equal(t, []int{c.cout, c.cin / c.g, c.k, c.k}, cv.Inputs[1].Const.Shape)
			require.Len(t, cv.Inputs, 3, "the merged conv has a bias")
		})
	}
}

// What must stay: a producer whose result has another reader, a BN whose
// only reader is not a linear/conv, a BN result that is a graph output.
func TestBNFoldKeeps(t *testing.T) {
	r := newRand(500)
	b := ir.NewBuilder("keep")
	x := input(t, b, 6)
	h := r.linearLayer(t, b, "fc", x, 6, true)
	y := r.bn(t, b, "bn1", h, false) // h is read twice
	z := must1(t, b, "", ir.Simple{K: ir.KAdd}, y, h)
	z = must1(t, b, "", ir.Simple{K: ir.KRelu}, r.bn(t, b, "bn2", z, false)) // no producer, read by relu
	w := r.bn(t, b, "bn3", z, false)                                         // a graph output
	b.G.Outputs = []*ir.Value{w}
	st := runFold(t, b.G)
	require.Equal(t, Stats{"bn-kept": 3}, st)
}

func TestBNFoldBadStatistics(t *testing.T) {
	r := newRand(600)
	b := ir.NewBuilder("bad")
	y := r.bn(t, b, "blocks.0.bn", r.linearLayer(t, b, "fc", input(t, b, 3), 3, false), false)
	b.G.Outputs = []*ir.Value{y}
	b.G.Lookup("blocks.0.bn.running_var").Const.F[1] = -1
	pass, _ := Lookup("bn-fold")
	_, err := pass.Run(&Context{Graph: b.G}, Options{})
	require.ErrorContains(t, err, `batchnorm "blocks.0.bn": running_var[1] + eps = -0.99999`)
}

// BNFoldTwins are the twins that bn-fold serves (and phc-cnn, whose
// kronecker configurations fold first); bnfold_gen_test.go builds them
// into generated packages.
var BNFoldTwins = []string{"resmlp-bn", "repvgg", "vit-repbn", "phc-cnn"}

// Every twin compiled by the default pipeline (bn-fold by default; the
// evaluator checking every exact pass) still matches PyTorch's logits on
// every held-out row by design.md's model rule, with no BatchNorm left
// (testdata/compiled/twin-NAME.golden): the BNFoldTwins fold as each rule
// says, the others' layernorms give their affine part to the linears.
func TestBNFoldTwins(t *testing.T) {
	dir := filepath.Join("..", twins.Dir)
	names, err := twins.Names(dir)
	require.NoError(t, err)
	if RaceEnabled {
		names = BNFoldTwins // the others fold layernorms only; spare the race run
	}
	for _, name := range names {
		tw, err := twins.Load(dir, name)
		require.NoError(t, err)
		g := tw.Model.Graph
		base, err := twins.Eval(g, tw.X, 64)
		require.NoError(t, err)
		baseRep, err := match.Outputs(base, tw.Logits.F, tw.Logits.Shape[1], 1e-4)
		require.NoError(t, err)
		before := len(g.Nodes)
		bns, lns := count(g, ir.KBatchNorm), count(g, ir.KLayerNorm)
		p, err := Build(nil)
		require.NoError(t, err)
		var sb strings.Builder
		res, err := p.Run(g, RunOptions{VerifyExact: true, PrintAfter: "bn-fold", Out: &sb})
		require.NoError(t, err)
		require.Contains(t, sb.String(), "// after bn-fold: ")
		st := res.Log[3].Stats
		require.Equal(t, "bn-fold", res.Log[3].Pass)
		require.True(t, res.Log[3].Default)
		requireCompiledGolden(t, "twin-"+name, g)
		for _, v := range g.Consts {
			require.True(t, v.Const.Splat || len(v.Const.F)+len(v.Const.I) == v.Const.Numel(), "%s: constant %s is not dense data", name, v.Name)
		}
		got, err := twins.Eval(g, tw.X, 64)
		require.NoError(t, err)
		classes := tw.Logits.Shape[1]
		rep, err := match.Outputs(got, tw.Logits.F, classes, 1e-4)
		require.NoError(t, err, "%s with bn-fold vs PyTorch", name)
		t.Logf("%s: bn-fold %s; %d BatchNorms, nodes %d → %d after the pipeline; vs PyTorch on %d rows: max error %.3g of the tolerance (unfolded: %.3g), near-ties %v, top-1 %d/%d (PyTorch %d)",
			name, st, bns, before, len(g.Nodes), len(tw.Labels), rep.MaxErr, baseRep.MaxErr, rep.NearTies, twins.Top1(got, tw.Labels), len(tw.Labels), tw.Accuracy.TestCorrect)
		switch name {
		case "resmlp-bn":
			require.Equal(t, Stats{"rule-a": 3, "rule-b": 1, "nodes-removed": 4}, st)
		case "repvgg":
			require.Equal(t, Stats{"repvgg": 6, "nodes-removed": 30}, st)
		case "vit-repbn":
			require.Equal(t, Stats{"rule-b": 9, "repbn": 9, "nodes-removed": 45}, st)
		case "phc-cnn":
			// The stem's BN folds into its conv; the four after PHC convs
			// become their scale inputs (no BN scale is rank one over the
			// 4×8 or 4×16 output blocks).
			require.Equal(t, Stats{"rule-a": 5, "kron-scale": 4, "nodes-removed": 5}, st)
		case "phm-mlp":
			// Only the final norm feeds a (dense) linear; the others feed
			// phm_linear and keep their affine part.
			require.Equal(t, Stats{"ln-affine": 1}, st)
		default:
			// Every layernorm of these pre-norm models feeds linears only.
			require.Zero(t, bns, name)
			require.Equal(t, Stats{"ln-affine": lns}, st, name)
			require.Positive(t, lns, name)
			continue
		}
	}
}

// layerNorm appends layernorm(x) over the last axis with random scale
// and shift (shift only with beta).
func (r bnRand) layerNorm(t *testing.T, b *ir.Builder, name string, x *ir.Value, beta bool) *ir.Value {
	d := x.Type.Shape[x.Type.Shape.Rank()-1].B
	g := ir.NewTensor(ir.F32, []int{d})
	for i := range g.F {
		g.F[i] = float32(-0.5 + 2*r.r.Float64())
	}
	ins := []*ir.Value{x, mustConst(t, b, name+".weight", g)}
	if beta {
		ins = append(ins, mustConst(t, b, name+".bias", r.tensor(1, d)))
	}
	return must1(t, b, name, &ir.LayerNorm{Axis: -1, Eps: 1e-5}, ins...)
}

// LayerNorm affine (§2.5): a layernorm whose readers are all linears
// (also through views keeping the last axis) gives them its scale and
// shift and keeps its statistics; one read by anything else, or over more
// than the last axis, keeps its affine part.
func TestBNFoldLayerNorm(t *testing.T) {
	r := newRand(700)
	b := ir.NewBuilder("ln")
	x := input(t, b, 5, 8)
	// Two linears read one norm (qkv-like and a second head).
	n1 := r.layerNorm(t, b, "ln1", x, true)
	q := r.linearLayer(t, b, "q", n1, 8, true)
	k := r.linearLayer(t, b, "k", n1, 8, false)
	h := must1(t, b, "", ir.Simple{K: ir.KAdd}, q, k)
	// Scale only, through slice and reshape.
	n2 := r.layerNorm(t, b, "ln2", h, false)
	s := must1(t, b, "", &ir.Slice{Starts: []int{0}, Ends: []int{1}, Axes: []int{1}}, n2)
	s = must1(t, b, "", &ir.Reshape{Shape: ir.Shape{ir.N, ir.D(8)}}, s)
	head := r.linearLayer(t, b, "head", s, 3, true)
	// Read by a linear and an add: kept.
	n3 := r.layerNorm(t, b, "ln3", h, true)
	o := must1(t, b, "", ir.Simple{K: ir.KAdd}, n3, r.linearLayer(t, b, "fc", n3, 8, true))
	// Over the last two axes: kept.
	n4 := must1(t, b, "ln4", &ir.LayerNorm{Axis: -2, Eps: 1e-5}, h, mustConst(t, b, "ln4.weight", r.tensor(1, 5, 8)))
	o4 := r.linearLayer(t, b, "fc4", n4, 2, false)
	b.G.Outputs = []*ir.Value{head, o, o4}
	st := runFold(t, b.G)
	require.Equal(t, Stats{"ln-affine": 2}, st)
	ins := map[string]int{}
	for _, n := range b.G.Nodes {
		if n.Op.Kind() == ir.KLayerNorm {
			ins[n.Name] = len(n.Inputs)
		}
	}
	require.Equal(t, map[string]int{"ln1": 1, "ln2": 1, "ln3": 3, "ln4": 2}, ins)
	require.Nil(t, b.G.Lookup("ln1.weight"), "the folded scale leaves the graph")
	require.NotNil(t, b.G.Lookup("q.bias.folded"))
	require.NotNil(t, b.G.Lookup("k.bias.folded"), "a linear without bias gets W·β")
}

// Rule A on Kronecker-factored producers: a BN whose scale is α ⊗ β over
// the (m1, m2) output blocks folds into the factors (the op stays a sum
// of R terms, no scale input); any other BN becomes the op's scale and
// bias inputs. Either way the weight stays factored.
func TestBNFoldKron(t *testing.T) {
	for _, conv := range []bool{false, true} {
		for _, rank1 := range []bool{false, true} {
			t.Run(fmt.Sprintf("conv=%v rank-one=%v", conv, rank1), func(t *testing.T) {
				r := newRand(11)
				b := ir.NewBuilder("k")
				R, m1, n1, m2, n2 := 3, 2, 2, 3, 4
				var y *ir.Value
				if conv {
					x := input(t, b, n1*n2, 6, 6)
					y = must1(t, b, "pc", &ir.PHCConv2D{Stride: []int{1, 1}, Pad: []int{1, 1, 1, 1}, Dilation: []int{1, 1}}, x,
						mustConst(t, b, "pc.A", r.tensor(0.5, R, m1, n1)), mustConst(t, b, "pc.F", r.tensor(0.3, R, m2, n2, 3, 3)))
				} else {
					x := input(t, b, n1*n2)
					y = must1(t, b, "pm", &ir.PHMLinear{}, x,
						mustConst(t, b, "pm.A", r.tensor(0.5, R, m1, n1)), mustConst(t, b, "pm.F", r.tensor(0.3, R, m2, n2)),
						mustConst(t, b, "pm.bias", r.tensor(1, m1*m2)))
				}
				bn := r.bn(t, b, "bn", y, false)
				if rank1 {
					// γ = α ⊗ β with one variance: a = γ/√(σ²+ε) is rank one.
					g, v := bn.Def.Inputs[1].Const, bn.Def.Inputs[4].Const
					for i := range g.F {
						g.F[i] = float32(0.5+float64(i/m2)) * float32(1+0.25*float64(i%m2))
						v.F[i] = 0.7
					}
				}
				b.G.Outputs = []*ir.Value{must1(t, b, "", ir.Simple{K: ir.KRelu}, bn)}
				st := runFold(t, b.G)
				require.Equal(t, 1, st["rule-a"], "%s", st)
				require.Equal(t, 0, count(b.G, ir.KBatchNorm))
				p := b.G.Nodes[0]
				_, ok := ir.KronOf(p)
				require.True(t, ok, "the producer stays factored: %s", b.G)
				scale, bias, _ := ir.KronInputs(p)
				require.NotNil(t, bias)
				if rank1 {
					require.Equal(t, 1, st["kron-factors"], "%s", st)
					require.Nil(t, scale, "%s", b.G)
				} else {
					require.Equal(t, 1, st["kron-scale"], "%s", st)
					require.NotNil(t, scale, "%s", b.G)
					require.True(t, ir.ScaledOf(p.Op))
				}
			})
		}
	}
}
