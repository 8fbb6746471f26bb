package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// genConvNHWC specialises kernels.ConvNHWC (a convolution of groups 1
// and no dilation on NHWC activations, as layout-assign leaves them):
// the targets' ConvRow kernels where they have them, the pure-Go GEMM
// kernel on im2col rows elsewhere, both on the weights packed once as a
// linear layer's (kernels.PackConvNHWC) — at build time, or by the
// kernel at run time when they are fed at run time or a splat.
func genConvNHWC(c *kctx) error {
	w := kernels.WindowOf(c.node)
	e := kernels.EpiOf(c.node)
	K := w.KH * w.KW * w.C
	p := gemm.VectorParams(w.O, K, 1)
	p.Bias = e.Bias
	padded := p.Panels() * p.Panel()
	goName := p.Name()
	c.helper(goName, gemm.Emit(p, goName))
	runtimeW := !isDenseConst(c.node.Inputs[1])
	padBias := e.Bias && !isDenseConst(c.node.Inputs[2])
	s, err := kernels.NewConvNHWC(c.node, p, runtimeW, padBias)
	if err != nil {
		return err
	}
	var omit []string
	if runtimeW {
		c.scratchBuf(ir.D(p.PackedLen()))
	} else {
		c.packInput(1, "nhwc_"+goName, kernels.PackConvNHWC(p, w.O, w.C, w.KH, w.KW))
		omit = append(omit, "wbuf")
	}
	switch {
	case padBias:
		c.scratchBuf(ir.D(padded))
	case e.Bias:
		c.packPadded(2, padded)
		omit = append(omit, "bbuf")
	default:
		omit = append(omit, "bbuf")
	}
	if s.Padded {
		c.scratchBuf(s.Items.MulInt(s.RowsIn * s.Wp * w.C))
	} else {
		omit = append(omit, "pad")
	}
	c.scratchBuf(s.Items.MulInt(w.OW * K))
	spec := isa.ConvRowSpec{C: w.C, O: w.O, KH: w.KH, KW: w.KW, SW: w.SW, Wp: s.Wp, OW: w.OW, PW: s.PW, Bias: p.Bias}
	ks, goEpi := c.epilogueKernels(isa.Epilogue{Act: e.Act, Resid: e.Resid}, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
		sp := spec
		sp.Epi = e
		return t.ConvRow(sp)
	})
	b := tmpl.Binding{Shape: s, Omit: omit, Hooks: map[string]tmpl.Hook{
		"Gemm": tmpl.Call{Func: goName},
		"Row":  dispatchHook(ks, func(name string) bool { return goEpi[name] }, 4),
	}}
	if runtimeW || padBias {
		b.Serial = dimExpr(s.Items)
	} else {
		c.parallel(dimExpr(s.Items), 1)
	}
	if err := epilogue(e, &b); err != nil {
		return err
	}
	if err := prologue(c, &b); err != nil {
		return err
	}
	return c.template("ConvNHWC", b)
}

// isDenseConst reports whether v is a constant with dense data, which a
// kernel may ask to receive packed at build time.
func isDenseConst(v *ir.Value) bool { return v.IsConst() && !v.Const.Splat }

// genDepthwise specialises kernels.Depthwise (a depthwise convolution on
// NHWC activations): the targets' Depthwise kernels, vectors across
// channels with the epilogue fused, where they have them, the Go loop
// elsewhere, on the weights packed tap major once at build time.
func genDepthwise(c *kctx) error {
	w := kernels.WindowOf(c.node)
	e := kernels.EpiOf(c.node)
	s, err := kernels.NewDepthwise(c.node)
	if err != nil {
		return err
	}
	if !isDenseConst(c.node.Inputs[1]) {
		return fmt.Errorf("BUG: codegen: depthwise conv2d in NHWC on weights fed at run time (layout-assign keeps those NCHW)")
	}
	c.packInput(1, fmt.Sprintf("dw%dx%d_c%d", w.KH, w.KW, w.C), kernels.PackDepthwise(w.C, w.KH, w.KW))
	var omit []string
	if s.Padded {
		c.scratchBuf(s.Items.MulInt(s.RowsIn * s.Wp * w.C))
	} else {
		omit = append(omit, "pad")
	}
	spec := isa.DepthwiseSpec{C: w.C, KH: w.KH, KW: w.KW, SW: w.SW, DH: w.DH, DW: w.DW, Wp: s.Wp, OW: w.OW, Bias: e.Bias}
	ks, goEpi := c.epilogueKernels(isa.Epilogue{Act: e.Act, Resid: e.Resid}, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
		sp := spec
		sp.Epi = e
		return t.Depthwise(sp)
	})
	b := tmpl.Binding{Shape: s, Omit: omit, Hooks: map[string]tmpl.Hook{
		"Row": dispatchHook(ks, func(name string) bool { return goEpi[name] }, 4),
	}}
	c.parallel(dimExpr(s.Items), 1)
	if err := epilogue(e, &b); err != nil {
		return err
	}
	if err := prologue(c, &b); err != nil {
		return err
	}
	return c.template("Depthwise", b)
}

// prologue binds a conv2d's prologue (kernels.PreShape) in a band-copy
// template (ConvNHWC, Depthwise): the hook PreAct, inlined like the
// epilogue's Act, the targets' element-wise kernels PreMul, PreAdd and,
// for a ReLU, PreRelu, and parameters pscale and pshift, the last two
// inputs, tiled over a band row at build time (kernels.PackPre); they
// are omitted without a prologue.
func prologue(c *kctx, b *tmpl.Binding) error {
	cv := c.node.Op.(*ir.Conv2D)
	act, _, err := kernels.ActOf(cv.PreAct)
	if err != nil {
		return err
	}
	b.Hooks["PreAct"] = act
	b.Hooks["PreMul"], b.Hooks["PreAdd"], b.Hooks["PreRelu"] = tmpl.Dispatch{}, tmpl.Dispatch{}, tmpl.Dispatch{}
	if !cv.Pre {
		b.Omit = append(b.Omit, "pscale", "pshift")
		return nil
	}
	n, W := len(c.node.Inputs), kernels.WindowOf(c.node).W
	for i := n - 2; i < n; i++ {
		if !isDenseConst(c.node.Inputs[i]) {
			return fmt.Errorf("BUG: codegen: conv2d %q's prologue input %q is not a dense constant (bn-prologue makes them so)", c.node.Name, c.node.Inputs[i].Name)
		}
		c.packInput(i, fmt.Sprintf("pre_w%d", W), kernels.PackPre(W))
	}
	b.Hooks["PreMul"], b.Hooks["PreAdd"] = c.elementwise("mul"), c.elementwise("add")
	if cv.PreAct == "relu" {
		b.Hooks["PreRelu"] = c.elementwise("relu")
	}
	return nil
}

// genGroupConv specialises kernels.GroupConv (a grouped convolution that
// is not depthwise, on NHWC activations): per block of groups
// (kernels.GroupBlocks) a GEMM of the band's pixels by the block's output
// channels on the targets' ConvBlock kernels (the epilogue fused, rows
// of the output O floats apart) or the pure-Go GEMM kernel, on weights
// packed at build time with a constant bias folded in as their last row.
func genGroupConv(c *kctx) error {
	w := kernels.WindowOf(c.node)
	e := kernels.EpiOf(c.node)
	groups := c.node.Op.(*ir.Conv2D).Groups
	if !isDenseConst(c.node.Inputs[1]) {
		return fmt.Errorf("BUG: codegen: grouped conv2d in NHWC on weights fed at run time (layout-assign keeps those NCHW)")
	}
	per := kernels.GroupBlocks(groups, w.O/groups)
	CG := w.C / groups
	fold := e.Bias && isDenseConst(c.node.Inputs[2])
	OB, KB := w.O/groups*per, w.KH*w.KW*CG*per
	var bias []float32
	key := ""
	if fold {
		KB++
		bias, key = c.node.Inputs[2].Const.F, "_b"+c.node.Inputs[2].Name
	}
	p := gemm.VectorParams(OB, KB, 1)
	goName := p.Name()
	c.helper(goName, gemm.Emit(p, goName))
	s, err := kernels.NewGroupConv(c.node, per, p, fold)
	if err != nil {
		return err
	}
	c.packInput(1, fmt.Sprintf("grp%d_%s%s", per, goName, key), kernels.PackGroupConv(p, groups, per, CG, w.KH, w.KW, bias))
	var omit []string
	if s.Padded {
		c.scratchBuf(s.Items.MulInt(s.RowsIn * s.Wp * w.C))
	} else {
		omit = append(omit, "pad")
	}
	c.scratchBuf(s.Items.MulInt(s.Per * w.OW * s.KB))
	c.scratchBuf(s.Items.MulInt(s.Per * w.OW * s.OB))
	// A bias fed at run time is left to Go, and with it the epilogue.
	full := isa.Epilogue{Act: e.Act, Resid: e.Resid}
	kepi := full
	if s.Bias {
		kepi = isa.Epilogue{}
	}
	ks, goEpi := c.epilogueKernels(kepi, func(t isa.Target, e isa.Epilogue) []isa.Kernel {
		return t.ConvBlock(isa.ConvBlockSpec{K: s.KB, PW: p.Panel(), Epi: e})
	})
	b := tmpl.Binding{Shape: s, Omit: omit, Hooks: map[string]tmpl.Hook{
		"Gemm":  tmpl.Call{Func: goName},
		"Block": dispatchHook(ks, func(name string) bool { return goEpi[name] || kepi != full }, 7),
	}}
	c.parallel(dimExpr(s.Items), 1)
	if err := epilogue(e, &b); err != nil {
		return err
	}
	return c.template("GroupConv", b)
}
