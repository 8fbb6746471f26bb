package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Kernels of ir's selections (arg_max, arg_min, topk, hardmax, cumsum,
// cumprod), indexing ops (tile, trilu, one_hot, gather_elements,
// scatter_elements, gather_nd, scatter_nd), resize and bit_cast. Most
// are one generic helper (float32 or int64 elements, as generated code
// holds them) called with the node's static shapes as literals, mirroring
// the evaluator's loops; resize calls the evaluator's own interpolation
// (runtime/numerics). Shapes that depend on the batch are not supported
// by these kernels yet, and resize allocates its per-axis buffers.

func init() {
	register(genArgReduce, ir.KArgMax, ir.KArgMin)
	register(genTopK, ir.KTopK)
	register(genHardmax, ir.KHardmax)
	register(genCumulative, ir.KCumSum, ir.KCumProd)
	register(genTile, ir.KTile)
	register(genTrilu, ir.KTrilu)
	register(genOneHot, ir.KOneHot)
	register(genGatherElements, ir.KGatherElements)
	register(genScatterElements, ir.KScatterElements)
	register(genGatherND, ir.KGatherND)
	register(genScatterND, ir.KScatterND)
	register(genResize, ir.KResize)
	register(genBitCast, ir.KBitCast)
}

// staticInts returns s's dims, or an error saying the kernel needs them
// static.
func (c *kctx) staticInts(s ir.Shape) ([]int, error) {
	out := make([]int, len(s))
	for i, d := range s {
		if !d.Static() {
			return nil, fmt.Errorf("%s on the batch-dependent shape %s is not supported by the generated kernels yet", c.node.Op.Kind(), s)
		}
		out[i] = d.B
	}
	return out, nil
}

// heldElem reports whether dt is held as float32 or as int64 with no
// narrower range to keep (the helpers do no wrapping).
func heldElem(dt ir.DType) bool { return dt.IsFloat() || dt == ir.I64 || dt == ir.Bool }

// orderedElem reports whether held values of dt compare as dt's do:
// every dtype but u64, held as its bit pattern.
func orderedElem(dt ir.DType) bool { return dt != ir.U64 }

// run returns outer, n, inner of shape along axis.
func runDims(shape []int, axis int) (int, int, int) {
	outer, inner := 1, 1
	for i, d := range shape {
		if i < axis {
			outer *= d
		} else if i > axis {
			inner *= d
		}
	}
	return outer, shape[axis], inner
}

func intsLit(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return "[]int{" + strings.Join(s, ", ") + "}"
}

func floatsLit(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = floatLit(x)
	}
	return "[]float64{" + strings.Join(s, ", ") + "}"
}

// axisOf normalises an op's axis against the input's rank and checks the
// input's shape is static.
func (c *kctx) axisShape(axis int, s ir.Shape) ([]int, int, error) {
	shape, err := c.staticInts(s)
	if err != nil {
		return nil, 0, err
	}
	if axis < 0 {
		axis += len(shape)
	}
	return shape, axis, nil
}

const numSrc = `type num interface{ ~float32 | ~int64 }`

// genArgReduce specialises kernels.ArgReduce.
func genArgReduce(c *kctx) error {
	o := c.node.Op.(*ir.ArgReduce)
	if !orderedElem(c.in(0).DType) {
		return fmt.Errorf("%s on %s is not supported by the generated kernels yet", o.K, c.in(0).DType)
	}
	ax, err := kernels.AxisOf(o.K, c.in(0).Shape, o.Axis)
	if err != nil {
		return err
	}
	return c.generic("ArgReduce", kernels.ArgReduceShape{AxisShape: ax, Max: o.K == ir.KArgMax, Last: o.SelectLast}, c.in(0).DType)
}

const topkSrc = `func topk[T num](vals []T, idx []int64, x []T, outer, n, inner, k int, largest bool) {
	ord := make([]int, n)
	for a := 0; a < outer; a++ {
		for b := 0; b < inner; b++ {
			base := a*n*inner + b
			for j := range ord {
				ord[j] = j
			}
			// A stable insertion sort (kernels.go imports no sort).
			before := func(p, q int) bool {
				va, vb := x[base+p*inner], x[base+q*inner]
				if largest {
					return va > vb || va == va && vb != vb
				}
				return va < vb
			}
			for j := 1; j < n; j++ {
				for i := j; i > 0 && before(ord[i], ord[i-1]); i-- {
					ord[i], ord[i-1] = ord[i-1], ord[i]
				}
			}
			ob := a*k*inner + b
			for j := 0; j < k; j++ {
				vals[ob+j*inner] = x[base+ord[j]*inner]
				idx[ob+j*inner] = int64(ord[j])
			}
		}
	}
}`

func genTopK(c *kctx) error {
	o := c.node.Op.(*ir.TopK)
	if !orderedElem(c.in(0).DType) {
		return fmt.Errorf("topk on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	shape, axis, err := c.axisShape(o.Axis, c.in(0).Shape)
	if err != nil {
		return err
	}
	outer, n, inner := runDims(shape, axis)
	c.helper("num", numSrc)
	c.helper("topk", topkSrc)
	c.line("topk(o0, o1, i0, $O, $N, $I, $K, $L)", "O", outer, "N", n, "I", inner, "K", o.K, "L", o.Largest)
	return nil
}

// genHardmax specialises kernels.Hardmax.
func genHardmax(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("hardmax on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	ax, err := kernels.AxisOf(ir.KHardmax, c.in(0).Shape, c.node.Op.(*ir.Hardmax).Axis)
	if err != nil {
		return err
	}
	return c.template("Hardmax", tmpl.Binding{Shape: ax})
}

// genCumulative specialises kernels.Cumulative (floats, accumulating
// in float64) or kernels.CumulativeInt (integers, wrapped to their
// dtype).
func genCumulative(c *kctx) error {
	o := c.node.Op.(*ir.Cumulative)
	name := ""
	switch dt := c.in(0).DType; {
	case dt.IsFloat():
		name = "Cumulative"
	case dt.IsInt():
		name = "CumulativeInt"
	}
	if name == "" {
		return fmt.Errorf("%s on %s is not supported by the generated kernels yet", o.K, c.in(0).DType)
	}
	ax, err := kernels.AxisOf(o.K, c.in(0).Shape, o.Axis)
	if err != nil {
		return err
	}
	b := tmpl.Binding{Shape: kernels.CumulativeShape{AxisShape: ax, Prod: o.K == ir.KCumProd, Exclusive: o.Exclusive, Reverse: o.Reverse}}
	if name == "CumulativeInt" {
		b.Hooks = map[string]tmpl.Hook{"Wrap": kernels.WrapOf(c.in(0).DType)}
	}
	return c.template(name, b)
}

const tileSrc = `func tile[T num](o, x []T, xs, os []int) {
	idx := make([]int, len(os))
	st := make([]int, len(xs))
	acc := 1
	for d := len(xs) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= xs[d]
	}
	for i := range o {
		src := 0
		for d := range idx {
			src += (idx[d] % xs[d]) * st[d]
		}
		o[i] = x[src]
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < os[d] {
				break
			}
			idx[d] = 0
		}
	}
}`

func genTile(c *kctx) error {
	if !heldElem(c.in(0).DType) && !c.in(0).DType.IsInt() {
		return fmt.Errorf("tile on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	xs, err := c.staticInts(c.in(0).Shape)
	if err != nil {
		return err
	}
	os, err := c.staticInts(c.out(0).Shape)
	if err != nil {
		return err
	}
	c.helper("num", numSrc)
	c.helper("tile", tileSrc)
	c.line("tile(o0[:$N], i0, $X, $O)", "N", numelExpr(c.out(0).Shape), "X", intsLit(xs), "O", intsLit(os))
	return nil
}

func genTrilu(c *kctx) error {
	o := c.node.Op.(*ir.Trilu)
	shape, err := c.staticInts(c.in(0).Shape)
	if err != nil {
		return err
	}
	r := len(shape)
	rows, cols := shape[r-2], shape[r-1]
	keep := "col-row >= $K"
	if !o.Upper {
		keep = "col-row <= $K"
	}
	c.line("o0 = o0[:$N]", "N", numelExpr(c.out(0).Shape))
	c.line("for i := range o0 {")
	c.line("row, col := (i/$C)%$R, i%$C", "C", cols, "R", max(rows, 1))
	c.line("o0[i] = 0")
	c.line("if "+keep+" {", "K", o.K)
	c.line("o0[i] = i0[i]")
	c.line("}")
	c.line("}")
	return nil
}

func genOneHot(c *kctx) error {
	o := c.node.Op.(*ir.OneHot)
	if !heldElem(o.DType) && !o.DType.IsInt() {
		return fmt.Errorf("one_hot to %s is not supported by the generated kernels yet", o.DType)
	}
	shape, axis, err := c.axisShape(o.Axis, c.out(0).Shape)
	if err != nil {
		return err
	}
	outer, n, inner := runDims(shape, axis)
	on, off := floatLit(o.On), floatLit(o.Off)
	if o.DType.IsFloat() {
		on, off = "float32("+on+")", "float32("+off+")"
	} else {
		on, off = fmt.Sprint(int64(o.On)), fmt.Sprint(int64(o.Off))
	}
	c.line("o0 = o0[:$T]", "T", outer*n*inner)
	c.line("for i := range o0 {")
	c.line("o0[i] = $F", "F", off)
	c.line("}")
	c.line("for a := 0; a < $O; a++ {", "O", outer)
	c.line("for b := 0; b < $I; b++ {", "I", inner)
	c.line("v := int(i0[a*$I+b])", "I", inner)
	c.line("if v < 0 {")
	c.line("v += $N", "N", n)
	c.line("}")
	c.line("if v >= 0 && v < $N {", "N", n)
	c.line("o0[a*$NI+b+v*$I] = $V", "NI", n*inner, "I", inner, "V", on)
	c.line("}")
	c.line("}")
	c.line("}")
	return nil
}

const indexSrc = `func index(v int64, n int) (int, error) {
	if v < 0 {
		v += int64(n)
	}
	if v < 0 || v >= int64(n) {
		return 0, fmt.Errorf("index %d out of range for size %d", v, n)
	}
	return int(v), nil
}`

const gatherElementsSrc = `func gatherElements[T num](o, x []T, idx []int64, xs, is []int, axis int) error {
	st := make([]int, len(xs))
	acc := 1
	for d := len(xs) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= xs[d]
	}
	at := make([]int, len(is))
	for i := range o {
		j, err := index(idx[i], xs[axis])
		if err != nil {
			return err
		}
		src := 0
		for d, v := range at {
			if d == axis {
				v = j
			}
			src += v * st[d]
		}
		o[i] = x[src]
		for d := len(at) - 1; d >= 0; d-- {
			if at[d]++; at[d] < is[d] {
				break
			}
			at[d] = 0
		}
	}
	return nil
}`

func (c *kctx) indexHelpers(name, src string) {
	c.fallible = true
	c.helper("num", numSrc)
	c.helper("index", indexSrc)
	c.helper(name, src)
}

func genGatherElements(c *kctx) error {
	xs, axis, err := c.axisShape(c.node.Op.(*ir.AxisOp).Axis, c.in(0).Shape)
	if err != nil {
		return err
	}
	is, err := c.staticInts(c.in(1).Shape)
	if err != nil {
		return err
	}
	c.indexHelpers("gatherElements", gatherElementsSrc)
	c.line("return gatherElements(o0[:$N], i0, i1, $X, $I, $A)", "N", numelExpr(c.out(0).Shape), "X", intsLit(xs), "I", intsLit(is), "A", axis)
	return nil
}

const combineSrc = `func combine[T num](red string, a, b T) T {
	switch red {
	case "add":
		return a + b
	case "mul":
		return a * b
	case "max":
		if a != a || b != b {
			return a + b
		}
		return max(a, b)
	case "min":
		if a != a || b != b {
			return a + b
		}
		return min(a, b)
	}
	return b
}`

const scatterElementsSrc = `func scatterElements[T num](o, x []T, idx []int64, upd []T, xs, is []int, axis int, red string) error {
	copy(o, x)
	st := make([]int, len(xs))
	acc := 1
	for d := len(xs) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= xs[d]
	}
	at := make([]int, len(is))
	for i := range idx {
		j, err := index(idx[i], xs[axis])
		if err != nil {
			return err
		}
		dst := 0
		for d, v := range at {
			if d == axis {
				v = j
			}
			if v >= xs[d] {
				return fmt.Errorf("index %v out of range for %v", at, xs)
			}
			dst += v * st[d]
		}
		o[dst] = combine(red, o[dst], upd[i])
		for d := len(at) - 1; d >= 0; d-- {
			if at[d]++; at[d] < is[d] {
				break
			}
			at[d] = 0
		}
	}
	return nil
}`

func genScatterElements(c *kctx) error {
	o := c.node.Op.(*ir.AxisOp)
	if !heldElem(c.in(0).DType) {
		return fmt.Errorf("scatter_elements on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	xs, axis, err := c.axisShape(o.Axis, c.in(0).Shape)
	if err != nil {
		return err
	}
	is, err := c.staticInts(c.in(1).Shape)
	if err != nil {
		return err
	}
	c.indexHelpers("scatterElements", scatterElementsSrc)
	c.helper("combine", combineSrc)
	c.line("return scatterElements(o0[:$N], i0, i1, i2, $X, $I, $A, $R)", "N", numelExpr(c.out(0).Shape), "X", intsLit(xs), "I", intsLit(is), "A", axis, "R", fmt.Sprintf("%q", o.Reduction))
	return nil
}

const ndOffsetsSrc = `func ndOffsets(xs, is []int, idx []int64, b int) ([]int, int, error) {
	q := is[len(is)-1]
	st := make([]int, len(xs))
	acc := 1
	for d := len(xs) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= xs[d]
	}
	slice := 1
	for _, d := range xs[b+q:] {
		slice *= d
	}
	batch := 1
	for _, d := range is[:b] {
		batch *= d
	}
	tuples := 1
	for _, d := range is[:len(is)-1] {
		tuples *= d
	}
	perBatch := tuples / max(batch, 1)
	offs := make([]int, tuples)
	for t := 0; t < tuples; t++ {
		rem, off := t/max(perBatch, 1), 0
		for d := b - 1; d >= 0; d-- {
			off += (rem % xs[d]) * st[d]
			rem /= xs[d]
		}
		for k := 0; k < q; k++ {
			j, err := index(idx[t*q+k], xs[b+k])
			if err != nil {
				return nil, 0, err
			}
			off += j * st[b+k]
		}
		offs[t] = off
	}
	return offs, slice, nil
}`

func genGatherND(c *kctx) error {
	xs, err := c.staticInts(c.in(0).Shape)
	if err != nil {
		return err
	}
	is, err := c.staticInts(c.in(1).Shape)
	if err != nil {
		return err
	}
	c.indexHelpers("ndOffsets", ndOffsetsSrc)
	c.line("offs, slice, err := ndOffsets($X, $I, i1, $B)", "X", intsLit(xs), "I", intsLit(is), "B", c.node.Op.(*ir.GatherND).BatchDims)
	c.line("if err != nil {")
	c.line("return err")
	c.line("}")
	c.line("for t, off := range offs {")
	c.line("copy(o0[t*slice:(t+1)*slice], i0[off:off+slice])")
	c.line("}")
	c.line("return nil")
	return nil
}

func genScatterND(c *kctx) error {
	if !heldElem(c.in(0).DType) {
		return fmt.Errorf("scatter_nd on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	xs, err := c.staticInts(c.in(0).Shape)
	if err != nil {
		return err
	}
	is, err := c.staticInts(c.in(1).Shape)
	if err != nil {
		return err
	}
	c.indexHelpers("ndOffsets", ndOffsetsSrc)
	c.helper("combine", combineSrc)
	c.line("copy(o0[:$N], i0)", "N", numelExpr(c.out(0).Shape))
	c.line("offs, slice, err := ndOffsets($X, $I, i1, 0)", "X", intsLit(xs), "I", intsLit(is))
	c.line("if err != nil {")
	c.line("return err")
	c.line("}")
	c.line("if len(offs)*slice != len(i2) {")
	c.line(`return fmt.Errorf("updates do not match %d slices of %d elements", len(offs), slice)`)
	c.line("}")
	c.line("for t, off := range offs {")
	c.line("for k := 0; k < slice; k++ {")
	c.line("o0[off+k] = combine($R, o0[off+k], i2[t*slice+k])", "R", fmt.Sprintf("%q", c.node.Op.(*ir.ScatterND).Reduction))
	c.line("}")
	c.line("}")
	c.line("return nil")
	return nil
}

func genResize(c *kctx) error {
	o := c.node.Op.(*ir.Resize)
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("resize of %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	xs, err := c.staticInts(c.in(0).Shape)
	if err != nil {
		return err
	}
	os, err := c.staticInts(c.out(0).Shape)
	if err != nil {
		return err
	}
	roi := "nil"
	if o.Roi != nil {
		roi = floatsLit(o.Roi)
	}
	// The evaluator's own interpolation (runtime/numerics), so both agree.
	c.line("r := &numerics.Resize{Mode: $M, Coord: $C, Nearest: $NR, CubicA: $A, Extrapolation: $E, ExcludeOutside: $EX, Antialias: $AA, Roi: $R}",
		"R", roi, "M", fmt.Sprintf("%q", o.Mode), "C", fmt.Sprintf("%q", o.Coord), "NR", fmt.Sprintf("%q", o.Nearest),
		"A", floatLit(o.CubicA), "E", floatLit(o.Extrapolation), "EX", o.ExcludeOutside, "AA", o.Antialias)
	c.line("r.Float32(o0[:$N], i0, $X, $O, $S)", "N", numelExpr(c.out(0).Shape), "X", intsLit(xs), "O", intsLit(os), "S", floatsLit(o.Scales))
	return nil
}

// genBitCast specialises the kernels.BitCastOf template.
func genBitCast(c *kctx) error {
	s, name, hooks := kernels.BitCastOf(c.node)
	return c.template(name, tmpl.Binding{Shape: s, Hooks: hooks})
}
