package passes

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
)

// lowerWithPrologue runs the default pipeline (bn-fold, fuse-epilogue,
// layout-assign, bn-prologue) on g and checks it against the reference
// evaluator on the graph as built, by design.md's rule for exact passes,
// at batch 3. It returns bn-prologue's stats and bn-fold's.
func lowerWithPrologue(t *testing.T, g *ir.Graph) (pro, fold Stats) {
	t.Helper()
	require.NoError(t, ir.Verify(g))
	in := ir.SampleInputs(g, 3, 11)
	want, err := ir.Eval(g, in...)
	require.NoError(t, err)
	c := &Context{Graph: g}
	for _, name := range []string{"bn-fold", "fuse-epilogue", "layout-assign", "bn-prologue"} {
		p, ok := Lookup(name)
		require.True(t, ok, name)
		st, err := p.Run(c, Options{})
		require.NoError(t, err, name)
		require.NoError(t, ir.Verify(g), "after %s:\n%s", name, g)
		switch name {
		case "bn-fold":
			fold = st
		case "bn-prologue":
			pro = st
		}
	}
	got, err := ir.Eval(g, in...)
	require.NoError(t, err)
	for i := range want {
		require.NoError(t, match.Kernel(got[i].F, want[i].F), "output %d after bn-prologue (%s):\n%s", i, pro, g)
	}
	return pro, fold
}

func act(t *testing.T, b *ir.Builder, kind string, x *ir.Value) *ir.Value {
	switch kind {
	case "relu":
		return must1(t, b, "", ir.Simple{K: ir.KRelu}, x)
	case "relu6":
		return must1(t, b, "", &ir.Clip{Min: 0, Max: 6}, x)
	}
	return x
}

// The BatchNorms bn-fold refuses before padded convs become prologues
// of the convs that read them (with the activation between), and the
// graph computes what it did; those with a reader that cannot take one
// stay.
func TestBNPrologue(t *testing.T) {
	cases := []struct {
		name  string
		build func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value
		moved bool
		act   string
	}{
		{name: "add → BN → relu → conv3x3 pad 1 (pre-activation ResNet)", moved: true, act: "relu",
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				x := input(t, b, 4, 6, 6)
				h := r.convLayer(t, b, "stem", x, 4, 3, conv(1, 1, 1, 1), true)
				s := must1(t, b, "", ir.Simple{K: ir.KAdd}, h, x)
				return r.convLayer(t, b, "conv", act(t, b, "relu", r.bn(t, b, "bn", s, false)), 5, 3, conv(1, 1, 1, 1), false)
			}},
		{name: "input → BN → conv3x3 pad 1", moved: true,
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				return r.convLayer(t, b, "conv", r.bn(t, b, "bn", input(t, b, 3, 7, 5), false), 4, 3, conv(1, 1, 1, 1), true)
			}},
		{name: "concat → BN → relu → conv3x3 pad 1 and conv1x1 stride 2 (DenseNet, a projection)", moved: true, act: "relu",
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				x := input(t, b, 3, 6, 6)
				h := r.convLayer(t, b, "c0", x, 2, 3, conv(1, 1, 1, 1), false)
				cat := must1(t, b, "", &ir.Concat{Axis: 1}, x, h)
				a := act(t, b, "relu", r.bn(t, b, "bn", cat, false))
				y := r.convLayer(t, b, "conv", a, 4, 3, conv(2, 1, 1, 1), true)
				p := r.convLayer(t, b, "proj", a, 4, 1, conv(2, 0, 1, 1), false)
				return must1(t, b, "", ir.Simple{K: ir.KAdd}, y, p)
			}},
		{name: "BN → relu6 → depthwise 3x3 pad 1", moved: true, act: "relu6",
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				x := input(t, b, 4, 6, 6)
				return r.convLayer(t, b, "dw", act(t, b, "relu6", r.bn(t, b, "bn", x, false)), 4, 3, conv(1, 1, 1, 4), true)
			}},
		{name: "BN → relu → conv1x1 (pointwise GEMM, no band copy): kept",
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				return r.convLayer(t, b, "conv", act(t, b, "relu", r.bn(t, b, "bn", input(t, b, 4, 6, 6), false)), 5, 1, conv(1, 0, 1, 1), false)
			}},
		{name: "BN → relu → conv3x3 and an add: kept",
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				a := act(t, b, "relu", r.bn(t, b, "bn", input(t, b, 4, 6, 6), false))
				y := r.convLayer(t, b, "conv", a, 4, 3, conv(1, 1, 1, 1), false)
				return must1(t, b, "", ir.Simple{K: ir.KAdd}, y, a)
			}},
		{name: "BN → conv3x3 pad 1 grouped (NCHW direct kernel): kept",
			build: func(t *testing.T, r bnRand, b *ir.Builder) *ir.Value {
				return r.convLayer(t, b, "conv", r.bn(t, b, "bn", input(t, b, 4, 6, 6), false), 4, 3, conv(1, 1, 1, 2), false)
			}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(400 + i))
			b := ir.NewBuilder("pre")
			b.G.Outputs = []*ir.Value{c.build(t, r, b)}
			pro, fold := lowerWithPrologue(t, b.G)
			require.Equal(t, 1, fold["bn-kept"], "bn-fold keeps the BN: %s", fold)
			text := b.G.String()
			if !c.moved {
				require.Zero(t, pro["prologue"], "%s", pro)
				require.Equal(t, 1, count(b.G, ir.KBatchNorm))
				require.NotContains(t, text, "pre=true")
				return
			}
			require.Equal(t, 1, pro["prologue"], "%s", pro)
			require.Zero(t, count(b.G, ir.KBatchNorm), "%s", text)
			require.Zero(t, count(b.G, ir.KRelu)+count(b.G, ir.KClip), "%s", text)
			require.Contains(t, text, "pre=true")
			if c.act != "" {
				require.Contains(t, text, `pre_act="`+c.act+`"`)
				require.Equal(t, 1, pro[c.act])
			}
			for _, n := range b.G.Nodes {
				if cv, ok := n.Op.(*ir.Conv2D); ok && cv.Pre {
					require.Equal(t, c.act, cv.PreAct)
					require.True(t, strings.HasSuffix(n.Inputs[len(n.Inputs)-1].Name, ".pre_shift"), "%s", text)
				}
			}
		})
	}
}
