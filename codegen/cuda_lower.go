package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/ir"
)

// The CUDA back end's lowering: each step of the schedule becomes one or
// more PTX kernels (codegen/ptx, one generator per family) with the
// tensors each kernel operand reads or writes. Layouts are handled by
// strides: every tensor's physical strides per logical dimension
// (physStrides) let the element-wise family move data between any two
// layouts, so relayout, transpose, slice, pad, expand, concat and split
// are strided copies.

// gpuKernel is one launch of a step.
type gpuKernel struct {
	k   *ptx.Kernel
	l   ptx.Launch
	ops map[string]arg // pointer operand → tensor (a constant maybe packed)
}

// errNoPTX marks a step without a PTX generator (which --cuda-fallback
// cpu runs on the CPU instead).
type errNoPTX struct{ why string }

func (e errNoPTX) Error() string { return e.why }

func noPTX(format string, args ...any) error { return errNoPTX{fmt.Sprintf(format, args...)} }

// lowerCUDA lowers node n to its kernels.
func (g *gen) lowerCUDA(n *ir.Node) ([]gpuKernel, error) {
	for _, vs := range [][]*ir.Value{n.Inputs, n.Outputs} {
		for _, v := range vs {
			if v.Type.Shape.Rank() > 0 {
				if _, err := gpuStrides(v.Type); err != nil {
					return nil, err
				}
			}
		}
	}
	switch op := n.Op.(type) {
	case *ir.Linear:
		return g.cudaLinear(n, op)
	case *ir.Conv2D:
		return g.cudaConv(n, op)
	case *ir.LayerNorm:
		return g.cudaLayerNorm(n, op)
	case *ir.Softmax:
		return g.cudaSoftmax(n, op)
	case *ir.Attention:
		return g.cudaAttention(n, op)
	case *ir.Reshape, *ir.Flatten:
		return cudaFlatCopy(n)
	case *ir.Transpose:
		return cudaTranspose(n, op)
	case *ir.Slice:
		return cudaSlice(n, op)
	case *ir.Pad:
		return cudaPad(n, op)
	case *ir.Expand:
		return cudaExpand(n)
	case *ir.Concat:
		return cudaConcat(n, op)
	case *ir.Split:
		return cudaSplit(n, op)
	case *ir.Gather:
		return cudaGather(n, op.Axis, n.Inputs[0], n.Inputs[1])
	case *ir.Reduce:
		return cudaReduce(n, op)
	case *ir.Gelu:
		act := "gelu"
		if op.Approximate == "tanh" {
			act = "gelu_tanh"
		}
		return cudaElementwise(n, ptx.ElementwiseSpec{Op: act})
	case *ir.LeakyRelu:
		return cudaElementwise(n, ptx.ElementwiseSpec{Op: "leaky_relu", Alpha: float32(op.Alpha)})
	case *ir.Clip:
		return cudaElementwise(n, ptx.ElementwiseSpec{Op: "clip", Alpha: float32(op.Min), Beta: float32(op.Max)})
	case *ir.HardSigmoid:
		return cudaElementwise(n, ptx.ElementwiseSpec{Op: "hard_sigmoid", Alpha: float32(op.Alpha), Beta: float32(op.Beta)})
	}
	switch k := n.Op.Kind(); k {
	case ir.KRelayout:
		return cudaRelayout(n)
	case ir.KGlobalAvgPool:
		return cudaGlobalAvgPool(n)
	case ir.KEmbedding:
		return cudaGather(n, 0, n.Inputs[1], n.Inputs[0])
	case ir.KAdd, ir.KSub, ir.KMul, ir.KDiv, ir.KRelu, ir.KSigmoid, ir.KTanh, ir.KErf, ir.KExp, ir.KLog, ir.KSqrt, ir.KNeg, ir.KAbs:
		return cudaElementwise(n, ptx.ElementwiseSpec{Op: k.String()})
	}
	return nil, noPTX("%s has no PTX generator", n.Op.Kind())
}

// gpuStrides are t's element strides per logical dimension in its
// physical layout. Only the outermost dimension may grow with the batch.
func gpuStrides(t ir.Type) ([]int, error) {
	sh := t.Shape
	for i := 1; i < len(sh); i++ {
		if !sh[i].Static() {
			return nil, noPTX("shape %s: only the outermost dimension may depend on the batch on the GPU", sh)
		}
	}
	st := make([]int, len(sh))
	switch t.Layout {
	case ir.LayoutAny:
		acc := 1
		for i := len(sh) - 1; i >= 0; i-- {
			st[i] = acc
			acc *= sh[i].B
		}
	case ir.NHWC:
		if len(sh) != 4 {
			return nil, fmt.Errorf("BUG: codegen: NHWC tensor of shape %s", sh)
		}
		C, H, W := sh[1].B, sh[2].B, sh[3].B
		st = []int{H * W * C, 1, W * C, C}
	default:
		return nil, noPTX("layout %s has no PTX generator", t.Layout)
	}
	return st, nil
}

// gpuRows is the element count of a shape as an affine count.
func gpuRows(s ir.Shape) ptx.Rows {
	d, ok := s.NumelDim()
	if !ok {
		panic("BUG: codegen: size of " + s.String() + " is not affine (memory-plan checks this)")
	}
	return ptx.Rows{A: d.A, B: d.B}
}

// gpuExtents are a shape's static extents (the outermost as its constant
// part: the kernels never need it).
func gpuExtents(s ir.Shape) []int {
	e := make([]int, len(s))
	for i, d := range s {
		e[i] = d.B
		if i == 0 && !d.Static() {
			e[i] = 0
		}
	}
	return e
}

// gpuElemSize is the bytes of one element as kernels hold it: 4 for floats,
// 8 for integers and bools (int64, as the evaluator and the CPU kernels).
func gpuElemSize(v *ir.Value) (int, error) {
	switch {
	case v.Type.DType == ir.F32:
		return 4, nil
	case v.Type.DType.IsInt() || v.Type.DType == ir.Bool:
		return 8, nil
	}
	return 0, noPTX("dtype %s has no PTX generator", v.Type.DType)
}

func gpuOne(k *ptx.Kernel, l ptx.Launch, ops map[string]arg) []gpuKernel {
	return []gpuKernel{{k: k, l: l, ops: ops}}
}

// cudaElementwise lowers an element-wise op over broadcast operands.
func cudaElementwise(n *ir.Node, s ptx.ElementwiseSpec) ([]gpuKernel, error) {
	out := n.Outputs[0]
	for _, v := range append([]*ir.Value{out}, n.Inputs...) {
		if v.Type.DType != ir.F32 {
			return nil, noPTX("%s on %s has no PTX generator", n.Op.Kind(), v.Type.DType)
		}
	}
	ost, _ := gpuStrides(out.Type)
	s.Dims, s.OutStrides, s.Count = gpuExtents(out.Type.Shape), ost, gpuRows(out.Type.Shape)
	ops := map[string]arg{"y": {v: out}}
	for i, in := range n.Inputs {
		if in.IsConst() && in.Const.Splat {
			s.Ins = append(s.Ins, ptx.Operand{Splat: true, Value: in.Const.F[0]})
			continue
		}
		ist, _ := gpuStrides(in.Type)
		s.Ins = append(s.Ins, ptx.Operand{Strides: gpuBroadcastStrides(in.Type.Shape, ist, out.Type.Shape)})
		ops[fmt.Sprintf("x%d", i)] = arg{v: in}
	}
	s.Merge()
	k, l, err := ptx.Elementwise(s)
	if err != nil {
		return nil, noPTX("%v", err)
	}
	return gpuOne(k, l, ops), nil
}

// gpuBroadcastStrides are an operand's strides over the output's dimensions
// (numpy broadcasting: aligned on the right, 0 where it is broadcast).
func gpuBroadcastStrides(in ir.Shape, st []int, out ir.Shape) []int {
	r := make([]int, len(out))
	off := len(out) - len(in)
	for i := range out {
		j := i - off
		if j < 0 || (in[j] == ir.D(1) && out[i] != ir.D(1)) {
			continue
		}
		r[i] = st[j]
	}
	return r
}

// gpuCopy is a strided copy of the elements of dims (outermost
// first) from src (strides ss from element so) to dst (ds from do),
// count elements in all.
func gpuCopy(dst, src *ir.Value, dims, ds, ss []int, do, so int, count ptx.Rows) (gpuKernel, error) {
	size, err := gpuElemSize(src)
	if err != nil {
		return gpuKernel{}, err
	}
	s := ptx.ElementwiseSpec{Op: "copy", Elem: size, Dims: dims, OutStrides: ds, OutOffset: do,
		Ins: []ptx.Operand{{Strides: ss, Offset: so}}, Count: count}
	s.Merge()
	k, l, err := ptx.Elementwise(s)
	if err != nil {
		return gpuKernel{}, noPTX("%v", err)
	}
	return gpuKernel{k: k, l: l, ops: map[string]arg{"y": {v: dst}, "x0": {v: src}}}, nil
}

// gpuSameShapeCopy copies src into dst, both of dst's logical shape, each in
// its own layout.
func gpuSameShapeCopy(dst, src *ir.Value, srcStrides []int) ([]gpuKernel, error) {
	ds, _ := gpuStrides(dst.Type)
	k, err := gpuCopy(dst, src, gpuExtents(dst.Type.Shape), ds, srcStrides, 0, 0, gpuRows(dst.Type.Shape))
	if err != nil {
		return nil, err
	}
	return []gpuKernel{k}, nil
}

func cudaRelayout(n *ir.Node) ([]gpuKernel, error) {
	ss, _ := gpuStrides(n.Inputs[0].Type)
	return gpuSameShapeCopy(n.Outputs[0], n.Inputs[0], ss)
}

// cudaFlatCopy copies a reshape (or flatten) whose result is not a view
// of its input: the same elements in the same order.
func cudaFlatCopy(n *ir.Node) ([]gpuKernel, error) {
	in, out := n.Inputs[0], n.Outputs[0]
	if in.Type.Layout != ir.LayoutAny || out.Type.Layout != ir.LayoutAny {
		return nil, fmt.Errorf("BUG: codegen: %s of a laid-out tensor", n.Op.Kind())
	}
	k, err := gpuCopy(out, in, []int{0}, []int{1}, []int{1}, 0, 0, gpuRows(out.Type.Shape))
	if err != nil {
		return nil, err
	}
	return []gpuKernel{k}, nil
}

func cudaTranspose(n *ir.Node, op *ir.Transpose) ([]gpuKernel, error) {
	is, _ := gpuStrides(n.Inputs[0].Type)
	ss := make([]int, len(op.Perm))
	for i, p := range op.Perm {
		ss[i] = is[p]
	}
	return gpuSameShapeCopy(n.Outputs[0], n.Inputs[0], ss)
}

func cudaExpand(n *ir.Node) ([]gpuKernel, error) {
	in := n.Inputs[0]
	if in.IsConst() && in.Const.Splat && in.Type.DType == ir.F32 {
		return cudaFill(n.Outputs[0], in.Const.F[0])
	}
	is, _ := gpuStrides(in.Type)
	return gpuSameShapeCopy(n.Outputs[0], in, gpuBroadcastStrides(in.Type.Shape, is, n.Outputs[0].Type.Shape))
}

func cudaFill(out *ir.Value, value float32) ([]gpuKernel, error) {
	if out.Type.DType != ir.F32 {
		return nil, noPTX("filling %s has no PTX generator", out.Type.DType)
	}
	s := ptx.ElementwiseSpec{Op: "fill", Alpha: value, Dims: []int{0}, OutStrides: []int{1}, Count: gpuRows(out.Type.Shape)}
	k, l, err := ptx.Elementwise(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, map[string]arg{"y": {v: out}}), nil
}

func cudaSlice(n *ir.Node, op *ir.Slice) ([]gpuKernel, error) {
	in := n.Inputs[0]
	starts, _, steps, _, err := op.Resolve(in.Type.Shape)
	if err != nil {
		return nil, fmt.Errorf("BUG: codegen: slice: %w", err)
	}
	is, _ := gpuStrides(in.Type)
	ss := make([]int, len(is))
	base := 0
	for i := range is {
		base += starts[i] * is[i]
		ss[i] = steps[i] * is[i]
	}
	out := n.Outputs[0]
	ds, _ := gpuStrides(out.Type)
	k, err := gpuCopy(out, in, gpuExtents(out.Type.Shape), ds, ss, 0, base, gpuRows(out.Type.Shape))
	if err != nil {
		return nil, err
	}
	return []gpuKernel{k}, nil
}

// cudaPad fills the result with the pad value, then copies the input's
// kept part (negative pads crop) into it.
func cudaPad(n *ir.Node, op *ir.Pad) ([]gpuKernel, error) {
	in, out := n.Inputs[0], n.Outputs[0]
	ks, err := cudaFill(out, float32(op.Value))
	if err != nil {
		return nil, err
	}
	is, _ := gpuStrides(in.Type)
	os, _ := gpuStrides(out.Type)
	r := in.Type.Shape.Rank()
	dims := gpuExtents(in.Type.Shape)
	do, so := 0, 0
	for d := range r {
		before, after := op.Pads[d], op.Pads[r+d]
		if d == 0 && !in.Type.Shape[0].Static() && (before != 0 || after != 0) {
			return nil, noPTX("padding the batch dimension has no PTX generator")
		}
		if d > 0 || in.Type.Shape[0].Static() {
			dims[d] += min(before, 0) + min(after, 0)
		}
		do += max(before, 0) * os[d]
		so += max(-before, 0) * is[d]
	}
	// The copy's count: the kept part, per sample when the batch (never
	// padded) grows.
	per := 1
	for _, e := range dims[1:] {
		per *= e
	}
	count := ptx.Rows{A: in.Type.Shape[0].A * per, B: in.Type.Shape[0].B * per}
	if in.Type.Shape[0].Static() {
		count = ptx.Rows{B: dims[0] * per}
	}
	for d, e := range dims {
		if e <= 0 && (d > 0 || in.Type.Shape[0].Static()) {
			return ks, nil // everything cropped: the fill is the result
		}
	}
	k, err := gpuCopy(out, in, dims, os, is, do, so, count)
	if err != nil {
		return nil, err
	}
	return append(ks, k), nil
}

func cudaConcat(n *ir.Node, op *ir.Concat) ([]gpuKernel, error) {
	out := n.Outputs[0]
	axis := kernels.NormAxis(op.Axis, out.Type.Shape.Rank())
	if axis == 0 && !out.Type.Shape[0].Static() {
		return nil, noPTX("concat along the batch dimension has no PTX generator")
	}
	return gpuParts(out, n.Inputs, axis, true)
}

func cudaSplit(n *ir.Node, op *ir.Split) ([]gpuKernel, error) {
	in := n.Inputs[0]
	axis := kernels.NormAxis(op.Axis, in.Type.Shape.Rank())
	if axis == 0 && !in.Type.Shape[0].Static() {
		return nil, noPTX("split along the batch dimension has no PTX generator")
	}
	return gpuParts(in, n.Outputs, axis, false)
}

// gpuParts copies parts into whole (concat) or out of it (split), one
// kernel each, the parts following each other along axis.
func gpuParts(whole *ir.Value, parts []*ir.Value, axis int, into bool) ([]gpuKernel, error) {
	ws, _ := gpuStrides(whole.Type)
	var ks []gpuKernel
	at := 0
	for _, p := range parts {
		ps, _ := gpuStrides(p.Type)
		dims, count := gpuExtents(p.Type.Shape), gpuRows(p.Type.Shape)
		var k gpuKernel
		var err error
		if into {
			k, err = gpuCopy(whole, p, dims, ws, ps, at*ws[axis], 0, count)
		} else {
			k, err = gpuCopy(p, whole, dims, ps, ws, 0, at*ws[axis], count)
		}
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
		at += p.Type.Shape[axis].B
	}
	return ks, nil
}

// cudaGather lowers Gather (and an embedding: data the table, axis 0).
func cudaGather(n *ir.Node, axis int, data, idx *ir.Value) ([]gpuKernel, error) {
	out := n.Outputs[0]
	if data.Type.Layout != ir.LayoutAny || idx.Type.DType != ir.I64 {
		return nil, noPTX("gather with %s indices has no PTX generator", idx.Type.DType)
	}
	size, err := gpuElemSize(data)
	if err != nil {
		return nil, err
	}
	sh := data.Type.Shape
	axis = kernels.NormAxis(axis, sh.Rank())
	if !sh.Static() {
		return nil, noPTX("gather from a batch-dependent tensor has no PTX generator")
	}
	s := ptx.GatherSpec{Outer: 1, V: sh[axis].B, Inner: 1, Elem: size, Count: gpuRows(out.Type.Shape)}
	for _, d := range sh[:axis] {
		s.Outer *= d.B
	}
	for _, d := range sh[axis+1:] {
		s.Inner *= d.B
	}
	if s.Outer > 1 {
		j, ok := idx.Type.Shape.NumelDim()
		if !ok || !j.Static() {
			return nil, noPTX("gather of batch-dependent indices from an inner axis has no PTX generator")
		}
		s.J = j.B
	}
	k, l, err := ptx.Gather(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, map[string]arg{"y": {v: out}, "data": {v: data}, "ids": {v: idx}}), nil
}

func cudaGlobalAvgPool(n *ir.Node) ([]gpuKernel, error) {
	in, out := n.Inputs[0], n.Outputs[0]
	sh := in.Type.Shape
	C, H, W := sh[1].B, sh[2].B, sh[3].B
	s := ptx.ReduceSpec{Mean: true, OutDims: []int{0, C}, Count: gpuRows(out.Type.Shape)}
	if in.Type.Layout == ir.NHWC {
		s.OutStrides, s.RedDims, s.RedStrides = []int{H * W * C, 1}, []int{H * W}, []int{C}
	} else {
		s.OutStrides, s.RedDims, s.RedStrides = []int{C * H * W, H * W}, []int{H * W}, []int{1}
	}
	k, l, err := ptx.Reduce(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, map[string]arg{"y": {v: out}, "x": {v: in}}), nil
}

func cudaReduce(n *ir.Node, op *ir.Reduce) ([]gpuKernel, error) {
	in, out := n.Inputs[0], n.Outputs[0]
	if in.Type.DType != ir.F32 {
		return nil, noPTX("%s on %s has no PTX generator", op.Kind(), in.Type.DType)
	}
	sh := in.Type.Shape
	is, _ := gpuStrides(in.Type)
	red := map[int]bool{}
	for _, a := range op.Axes {
		red[kernels.NormAxis(a, sh.Rank())] = true
	}
	if len(op.Axes) == 0 {
		for i := range sh {
			red[i] = true
		}
	}
	s := ptx.ReduceSpec{Mean: op.Kind() == ir.KReduceMean, Count: gpuRows(out.Type.Shape)}
	for i, d := range sh {
		if red[i] {
			if !d.Static() {
				return nil, noPTX("reducing the batch dimension has no PTX generator")
			}
			s.RedDims, s.RedStrides = append(s.RedDims, d.B), append(s.RedStrides, is[i])
			continue
		}
		s.OutDims, s.OutStrides = append(s.OutDims, gpuExtents(sh)[i]), append(s.OutStrides, is[i])
	}
	if len(s.OutDims) == 0 {
		s.OutDims, s.OutStrides = []int{1}, []int{0}
	}
	k, l, err := ptx.Reduce(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, map[string]arg{"y": {v: out}, "x": {v: in}}), nil
}

// tileFor is the GEMM tile for an M×N GEMM: the forced one (tuning), or
// the occupancy rule's at the package's max batch.
func (g *gen) tileFor(m ptx.Rows, n int) ptx.Tile {
	if g.in.CUDA.Tile != nil {
		return *g.in.CUDA.Tile
	}
	return ptx.ChooseTile(ptx.A100, m.At(g.in.MaxBatch), n)
}

func (g *gen) cudaLinear(n *ir.Node, op *ir.Linear) ([]gpuKernel, error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if x.Type.Layout != ir.LayoutAny || !ptx.Activations[op.Act] {
		return nil, noPTX("linear with activation %q has no PTX generator", op.Act)
	}
	K, O := w.Type.Shape[1].B, w.Type.Shape[0].B
	m := gpuRows(x.Type.Shape)
	m.A /= K
	m.B /= K
	s := ptx.GemmSpec{M: m, N: O, K: K, Bias: op.HasBias(len(n.Inputs)), Residual: op.Residual, Act: op.Act}
	s.Tile = g.tileFor(m, O)
	ops := map[string]arg{"y": {v: out}, "x": {v: x}, "w": {v: w}}
	if s.Bias {
		ops["bias"] = arg{v: n.Inputs[2]}
	}
	if s.Residual {
		ops["res"] = arg{v: n.Inputs[len(n.Inputs)-1]}
	}
	k, l, err := ptx.Gemm(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, ops), nil
}

func (g *gen) cudaConv(n *ir.Node, op *ir.Conv2D) ([]gpuKernel, error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	switch {
	case op.Groups != 1:
		return nil, noPTX("conv2d with %d groups has no PTX generator", op.Groups)
	case x.Type.Layout != ir.NHWC || out.Type.Layout != ir.NHWC:
		return nil, noPTX("conv2d on layout %s has no PTX generator (layout-assign gives convolutions NHWC)", x.Type.Layout)
	case !isDenseConst(w):
		return nil, noPTX("conv2d with weights fed at run time has no PTX generator")
	case !ptx.Activations[op.Act]:
		return nil, noPTX("conv2d with activation %q has no PTX generator", op.Act)
	case op.Pre:
		return nil, noPTX("conv2d with a prologue (bn-prologue) has no PTX generator")
	}
	xs, ws, ys := x.Type.Shape, w.Type.Shape, out.Type.Shape
	geo := ptx.ConvGeom{H: xs[2].B, W: xs[3].B, C: xs[1].B, OH: ys[2].B, OW: ys[3].B, KH: ws[2].B, KW: ws[3].B,
		SH: op.Stride[0], SW: op.Stride[1], PT: op.Pad[0], PL: op.Pad[1], DH: op.Dilation[0], DW: op.Dilation[1]}
	O := ws[0].B
	m := ptx.Rows{A: xs[0].A * geo.OH * geo.OW, B: xs[0].B * geo.OH * geo.OW}
	s := ptx.GemmSpec{M: m, N: O, K: geo.KH * geo.KW * geo.C, Bias: op.HasBias(len(n.Inputs)), Residual: op.Residual, Act: op.Act, Conv: &geo}
	s.Tile = g.tileFor(m, O)
	key := "cuda_ohwc"
	if pk := (packKey{w, key}); g.packed[pk] == nil {
		g.packed[pk] = kernels.ConvOHWC(w.Const.F, O, geo.C, geo.KH, geo.KW)
	}
	ops := map[string]arg{"y": {v: out}, "x": {v: x}, "w": {v: w, pack: key}}
	if s.Bias {
		ops["bias"] = arg{v: n.Inputs[2]}
	}
	if s.Residual {
		ops["res"] = arg{v: n.Inputs[len(n.Inputs)-1]}
	}
	k, l, err := ptx.Gemm(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, ops), nil
}

func (g *gen) cudaLayerNorm(n *ir.Node, op *ir.LayerNorm) ([]gpuKernel, error) {
	x, out := n.Inputs[0], n.Outputs[0]
	if x.Type.Layout != ir.LayoutAny {
		return nil, noPTX("layernorm on layout %s has no PTX generator", x.Type.Layout)
	}
	sh := x.Type.Shape
	axis := kernels.NormAxis(op.Axis, sh.Rank())
	L := 1
	for _, d := range sh[axis:] {
		if !d.Static() {
			return nil, noPTX("layernorm over the batch dimension has no PTX generator")
		}
		L *= d.B
	}
	r := gpuRows(sh)
	s := ptx.RowSpec{Op: "layernorm", Rows: ptx.Rows{A: r.A / L, B: r.B / L}, L: L, Eps: float32(op.Eps),
		Scale: len(n.Inputs) >= 2, Bias: len(n.Inputs) == 3, WarpsPerBlock: 4}
	ops := map[string]arg{"y": {v: out}, "x": {v: x}}
	if s.Scale {
		ops["scale"] = arg{v: n.Inputs[1]}
	}
	if s.Bias {
		ops["bias"] = arg{v: n.Inputs[2]}
	}
	k, l, err := ptx.Row(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, ops), nil
}

func (g *gen) cudaSoftmax(n *ir.Node, op *ir.Softmax) ([]gpuKernel, error) {
	x, out := n.Inputs[0], n.Outputs[0]
	if x.Type.Layout != ir.LayoutAny {
		return nil, noPTX("softmax on layout %s has no PTX generator", x.Type.Layout)
	}
	sh := x.Type.Shape
	axis := kernels.NormAxis(op.Axis, sh.Rank())
	if !sh[axis].Static() {
		return nil, noPTX("softmax along the batch dimension has no PTX generator")
	}
	L, inner := sh[axis].B, 1
	for _, d := range sh[axis+1:] {
		inner *= d.B
	}
	r := gpuRows(sh)
	name := "softmax"
	if op.Kind() == ir.KLogSoftmax {
		name = "log_softmax"
	}
	s := ptx.RowSpec{Op: name, Rows: ptx.Rows{A: r.A / L, B: r.B / L}, L: L, Inner: inner, WarpsPerBlock: 4}
	k, l, err := ptx.Row(s)
	if err != nil {
		return nil, err
	}
	return gpuOne(k, l, map[string]arg{"y": {v: out}, "x": {v: x}}), nil
}

func (g *gen) cudaAttention(n *ir.Node, op *ir.Attention) ([]gpuKernel, error) {
	q, kk, v, out := n.Inputs[0], n.Inputs[1], n.Inputs[2], n.Outputs[0]
	qs, ks, vs := q.Type.Shape, kk.Type.Shape, v.Type.Shape
	if ks[0] != qs[0] || vs[0] != qs[0] {
		return nil, noPTX("attention over q, k and v of different batches has no PTX generator")
	}
	s := ptx.AttentionSpec{T: qs[1].B, S: ks[1].B, D: qs[2].B, Dv: vs[2].B, Heads: op.Heads,
		QStride: qs[2].B, KStride: ks[2].B, VStride: vs[2].B, Causal: op.Causal, Scale: float32(op.Scale), WarpsPerBlock: 4}
	k, l, err := ptx.Attention(s)
	if err != nil {
		return nil, noPTX("%v", err)
	}
	// The batch argument: q's batch a·N + b.
	l.Args[4] = ptx.Arg{A: qs[0].A, B: qs[0].B}
	l.Grid[0] = ptx.GridDim{A: qs[0].A * s.T * s.Heads, B: qs[0].B * s.T * s.Heads, Div: s.WarpsPerBlock}
	return gpuOne(k, l, map[string]arg{"y": {v: out}, "q": {v: q}, "k": {v: kk}, "v": {v: v}}), nil
}
