package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Dense kernels: linear and conv2d, pure Go with f32 accumulation.
// linear is a GEMM from codegen/gemm on weights packed at build time;
// conv2d is a GEMM too, on im2col panels (NCHW, kernels.ConvGemm) or
// rows (NHWC, kernels.ConvNHWC), or direct when grouped.

func init() {
	register(genLinear, ir.KLinear)
	register(genConv2D, ir.KConv2D)
}

// epilogue returns the template bindings of a node's epilogue: its
// activation as the hook Act, and the bias and residual parameters the
// kernel lacks (Omit).
func epilogue(e kernels.Epi, b *tmpl.Binding) error {
	act, _, err := kernels.ActOf(e.Act)
	if err != nil {
		return err
	}
	if b.Hooks == nil {
		b.Hooks = map[string]tmpl.Hook{}
	}
	b.Hooks["Act"] = act
	if !e.Bias {
		b.Omit = append(b.Omit, "bias")
	}
	if !e.Resid {
		b.Omit = append(b.Omit, "resid")
	}
	return nil
}

// genLinear specialises kernels.Linear: a GEMM kernel from codegen/gemm
// specialised to the weight's shape, on weights packed at build time,
// and the targets' Linear kernels.
func genLinear(c *kctx) error {
	x := c.in(0)
	if _, ok := x.Shape[:x.Shape.Rank()-1].NumelDim(); !ok {
		return fmt.Errorf("rows of %s are not affine in N", x.Shape)
	}
	return genMatrix(c, kernels.Numel(x.Shape[:x.Shape.Rank()-1]))
}

// genPointwise specialises kernels.Linear for a 1×1 convolution of
// stride 1 without padding on NHWC activations, its weights constant
// (packed at build time): its input is the matrix
// [N·H·W, C] and its output [N·H·W, O], a linear layer's, with the
// weights [O, C, 1, 1] as W [O, C]. One GEMM over every pixel of the
// batch, where the convolution's rows would make one call per row of
// the image.
func genPointwise(c *kctx) error {
	x := c.in(0).Shape
	return genMatrix(c, x[0].MulInt(x[2].B*x[3].B))
}

// genMatrix specialises kernels.Linear for a node whose weights are input
// 1 ([N, K, …] with K·… = the depth) and whose input has rows rows of K.
func genMatrix(c *kctx, rows ir.Dim) error {
	w := c.in(1)
	return genGemmLinear(c, rows, w.Shape[0].B, kernels.Numel(w.Shape[1:]).B, 1, nil)
}

// builtWeights are weights a kernel's GEMM reads but the graph does not
// hold: of makes them, when the package is built, from the data of the
// input that stands for them (a phm_linear's F, in whose place the
// package stores W), and key names the result.
type builtWeights struct {
	key string
	of  func([]float32) []float32
}

// genGemmLinear specialises kernels.Linear for rows rows of k by weights
// [n, k]: input wIdx's (1, or 2 after a phm_linear's factors A, which the
// kernel takes and never reads), or those built makes from it (nil: none).
// Either way they are packed at build time for the layer's GEMM kernels.
func genGemmLinear(c *kctx, rows ir.Dim, n, k, wIdx int, built *builtWeights) error {
	e := kernels.EpiOf(c.node)
	bias := ""
	if e.Bias {
		bias = "bias"
	}
	// Weights of a linear fed at run time, or a splat, the kernel packs
	// itself (a phm_linear's F is multiplied out at build time).
	runtimeW := wIdx == 1 && built == nil && !isDenseConst(c.node.Inputs[wIdx])
	g := newGemmLayer(c, n, k, wIdx, !runtimeW, bias, isa.Epilogue{Act: e.Act, Resid: e.Resid})
	if built != nil {
		c.packInput(wIdx, built.key+"_"+g.name, func(w []float32) []float32 { return gemm.Pack(g.p, built.of(w)) })
	}
	s := kernels.NewLinear(c.node, g.p)
	s.Rows = rows
	s.RuntimeW = runtimeW
	items := fmt.Sprintf("(%s+%d)/%d*%d", dimExpr(s.Rows), s.RB-1, s.RB, s.NP)
	b := tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{
		"Gemm":   tmpl.Call{Func: g.name},
		"Vector": dispatchHook(g.ks, func(name string) bool { return g.goEpi[name] }, 7),
	}}
	if runtimeW {
		// Every chunk would pack the same buffer: one serial call.
		c.scratchBuf(ir.D(g.p.PackedLen()))
		b.Serial = items
	} else {
		c.parallel(items, 1)
		b.Omit = append(b.Omit, "wbuf")
	}
	if wIdx == 1 {
		b.Omit = append(b.Omit, "factors")
	}
	if err := epilogue(e, &b); err != nil {
		return err
	}
	return c.template("Linear", b)
}

// gemmLayer is the GEMM of one weight shape [N, K] as a kernel calls it:
// the pure-Go kernel and, when the weights are packed for them, the
// targets' Linear kernels, chosen at run time by the package's tier
// switches. All read the same packed weights (gemm.Pack), so weights.bin
// holds one copy.
type gemmLayer struct {
	p    gemm.Params
	name string // the pure-Go kernel
	ks   []vkernel
	// goEpi names the kernels that apply only the bias, for want of the
	// layer's activation: the Go epilogue follows them.
	goEpi map[string]bool
}

// newGemmLayer emits the kernels for weights [n, k] in input wIdx (packed
// at build time when packW; else the kernel packs them at run time) with
// a bias ("" for none) and the epilogue ep after it.
// The bias is packed too, padded to whole panels, since the vector
// kernels read whole panels of it; a bias that is not a dense constant
// keeps the layer on the pure-Go kernel.
func newGemmLayer(c *kctx, n, k, wIdx int, packW bool, bias string, ep isa.Epilogue) gemmLayer {
	g := gemmLayer{p: gemm.VectorParams(n, k, 1)}
	// The vector kernels read the bias packed: a bias fed at run time
	// keeps the layer on the pure-Go kernel.
	vector := bias == "" || c.node.Inputs[wIdx+1].IsConst()
	if !vector {
		g.p = gemm.Default(n, k, 1)
	}
	g.p.Bias = bias != ""
	spec := isa.LinearSpec{N: n, K: k, PW: g.p.Panel(), Bias: g.p.Bias, Epi: ep}
	if vector {
		c.tuning.tuneLinear(n, k, &g.p, &spec)
		if bias != "" {
			c.packPadded(wIdx+1, g.p.Panels()*g.p.Panel())
		}
	}
	g.name = g.p.Name()
	c.helper(g.name, gemm.Emit(g.p, g.name))
	if packW {
		c.packInput(wIdx, g.name, func(w []float32) []float32 { return gemm.Pack(g.p, w) })
	}
	if vector {
		g.ks, g.goEpi = c.epilogueKernels(spec.Epi, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
			s := spec
			s.Epi = e
			return t.Linear(s)
		})
	}
	return g
}

// epilogueKernels asks every target for kernels applying the epilogue
// ep, and a target that has none for it for kernels applying no
// epilogue; it returns the kernels, and which of them leave the epilogue
// to Go.
func (c *kctx) epilogueKernels(ep isa.Epilogue, ask func(isa.Target, isa.Epilogue) []isa.Kernel) ([]vkernel, map[string]bool) {
	goEpi := map[string]bool{}
	ks := c.kernels(func(t isa.Target) []isa.Kernel {
		if ks := ask(t, ep); len(ks) > 0 || ep == (isa.Epilogue{}) {
			return ks
		}
		ks := ask(t, isa.Epilogue{})
		for _, k := range ks {
			goEpi[k.Name] = true
		}
		return ks
	})
	return ks, goEpi
}

// packPadded makes the kernel receive constant input i (a bias) padded
// with zeros to n floats: the vector kernels read whole panels of it.
func (c *kctx) packPadded(i, n int) {
	c.packInput(i, fmt.Sprintf("pad%d", n), func(b []float32) []float32 {
		return append(append(make([]float32, 0, n), b...), make([]float32, n-len(b))...)
	})
}

// genConv2D specialises kernels.ConvNHWC on NHWC activations
// (kernels.Depthwise for a depthwise one, kernels.GroupConv for another
// grouped one, kernels.Linear for a pointwise one), kernels.ConvGemm on NCHW, and
// kernels.ConvDirect for a grouped convolution left NCHW (weights fed at
// run time).
func genConv2D(c *kctx) error {
	cv := c.node.Op.(*ir.Conv2D)
	if c.in(0).Layout == ir.NHWC && ir.IsDepthwise(cv, c.in(1).Shape) {
		return genDepthwise(c)
	}
	if cv.Pre && (c.in(0).Layout != ir.NHWC || cv.Groups > 1) {
		return fmt.Errorf("BUG: codegen: conv2d %q has a prologue on a %s convolution of %d groups (bn-prologue gives one only to NHWC convolutions whose band copy applies it: depthwise, or groups 1)", c.node.Name, c.in(0).Layout, cv.Groups)
	}
	if c.in(0).Layout == ir.NHWC && cv.Groups > 1 {
		return genGroupConv(c)
	}
	if w := c.in(1).Shape; c.in(0).Layout == ir.NHWC && !cv.Pre && cv.Groups == 1 && w[2] == ir.D(1) && w[3] == ir.D(1) &&
		cv.Stride[0] == 1 && cv.Stride[1] == 1 && cv.Pad[0]+cv.Pad[1]+cv.Pad[2]+cv.Pad[3] == 0 && isDenseConst(c.node.Inputs[1]) {
		return genPointwise(c)
	}
	if c.in(0).Layout == ir.NHWC {
		return genConvNHWC(c)
	}
	if cv.Groups == 1 {
		return genConvGemm(c)
	}
	s := kernels.ConvDirectOf(c.node)
	c.parallel(dimExpr(s.Items), 2)
	b := tmpl.Binding{Shape: s}
	if err := epilogue(kernels.EpiOf(c.node), &b); err != nil {
		return err
	}
	return c.template("ConvDirect", b)
}

// genConvGemm specialises kernels.ConvGemm: the pure-Go GEMM kernel on
// weights stored negated (the kernels subtract products) and the im2col
// panels, and the targets' ConvBlock kernels, which also add a residual
// and apply the activation before they store when the conv has no bias
// (a bias is per row here, which their epilogue does not add); otherwise
// a Go loop applies the epilogue to the item's block while it is in
// cache.
func genConvGemm(c *kctx) error {
	w := kernels.WindowOf(c.node)
	e := kernels.EpiOf(c.node)
	K, P := w.C*w.KH*w.KW, w.OH*w.OW
	p := gemm.VectorParams(P, K, w.O)
	goName := p.Name()
	c.helper(goName, gemm.Emit(p, goName))
	s := kernels.NewConvGemm(c.node, p)
	// Weights fed at run time, or a splat, the kernel negates itself.
	s.RuntimeW = !isDenseConst(c.node.Inputs[1])
	if !s.RuntimeW {
		c.packInput(1, "neg", func(w []float32) []float32 {
			n := make([]float32, len(w))
			for i, v := range w {
				n[i] = -v
			}
			return n
		})
	}
	c.scratchBuf(s.Items.MulInt(K * s.PW))
	full := isa.Epilogue{Act: e.Act, Resid: e.Resid}
	kepi := full
	if e.Bias {
		kepi = isa.Epilogue{}
	}
	ks, goEpi := c.epilogueKernels(kepi, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
		return t.ConvBlock(isa.ConvBlockSpec{K: K, PW: s.PW, Epi: e})
	})
	b := tmpl.Binding{Shape: s, Hooks: map[string]tmpl.Hook{
		"Gemm": tmpl.Call{Func: goName},
		// The kernels leave the bias to Go, and the rest of the epilogue
		// when they lack it.
		"Block": dispatchHook(ks, func(name string) bool { return goEpi[name] || kepi != full || e.Bias }, 7),
	}}
	if s.RuntimeW {
		// Every chunk would negate into the same buffer: one serial call.
		c.scratchBuf(ir.D(w.O * K))
		b.Serial = dimExpr(s.Items)
	} else {
		c.parallel(dimExpr(s.Items), 1)
		b.Omit = append(b.Omit, "wbuf")
	}
	if err := epilogue(e, &b); err != nil {
		return err
	}
	return c.template("ConvGemm", b)
}
