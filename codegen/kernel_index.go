package codegen

import (
	"fmt"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Kernels of ir's selections (arg_max, arg_min, topk, hardmax, cumsum,
// cumprod), indexing ops (tile, trilu, one_hot, gather_elements,
// scatter_elements, gather_nd, scatter_nd), resize and bit_cast: the
// templates of codegen/kernels' index.go and indexing.go (float32 or
// int64 elements, as generated code holds them) specialised to the
// node's static shapes, mirroring the evaluator's loops; resize calls the
// evaluator's own interpolation (runtime/numerics). Shapes that depend
// on the batch are not supported by these kernels yet, and resize
// allocates its per-axis buffers.

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
	register(genGridSample, ir.KGridSample)
	register(genDet, ir.KDet)
}

// heldElem reports whether dt is held as float32 or as int64 with no
// narrower range to keep (the kernels do no wrapping).
func heldElem(dt ir.DType) bool { return dt.IsFloat() || dt == ir.I64 || dt == ir.Bool }

// genArgReduce specialises kernels.ArgReduce.
func genArgReduce(c *kctx) error {
	o := c.node.Op.(*ir.ArgReduce)
	ax, err := kernels.AxisOf(o.K, c.in(0).Shape, o.Axis)
	if err != nil {
		return err
	}
	return c.generic("ArgReduce", kernels.ArgReduceShape{AxisShape: ax, Max: o.K == ir.KArgMax, Last: o.SelectLast, Unsigned: c.in(0).DType == ir.U64}, c.in(0).DType)
}

// genTopK specialises kernels.TopK.
func genTopK(c *kctx) error {
	o := c.node.Op.(*ir.TopK)
	ax, err := kernels.AxisOf(ir.KTopK, c.in(0).Shape, o.Axis)
	if err != nil {
		return err
	}
	return c.generic("TopK", kernels.TopKShape{AxisShape: ax, K: o.K, Largest: o.Largest, Unsigned: c.in(0).DType == ir.U64}, c.in(0).DType)
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

// genTile specialises kernels.Tile: a copy along a loop nest.
func genTile(c *kctx) error {
	s, err := kernels.TileOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("Tile", s, c.in(0).DType)
}

// genTrilu specialises kernels.Trilu.
func genTrilu(c *kctx) error {
	s, err := kernels.TriluOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("Trilu", s, c.in(0).DType)
}

// genOneHot specialises kernels.OneHot.
func genOneHot(c *kctx) error {
	s, err := kernels.OneHotOf(c.node)
	if err != nil {
		return err
	}
	return c.template("OneHot", tmpl.Binding{Shape: s, Types: map[string]string{"T": goType(c.out(0).DType)[2:], "I": goType(c.in(0).DType)[2:]}})
}

// genGatherElements specialises kernels.GatherElements.
func genGatherElements(c *kctx) error {
	s, err := kernels.ElementsOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("GatherElements", s, c.in(0).DType)
}

// genScatterElements specialises kernels.ScatterElements.
func genScatterElements(c *kctx) error {
	if !heldElem(c.in(0).DType) {
		return fmt.Errorf("scatter_elements on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	s, err := kernels.ElementsOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("ScatterElements", s, c.in(0).DType)
}

// genGatherND specialises kernels.GatherND.
func genGatherND(c *kctx) error {
	s, err := kernels.NDOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("GatherND", s, c.in(0).DType)
}

// genScatterND specialises kernels.ScatterND.
func genScatterND(c *kctx) error {
	if !heldElem(c.in(0).DType) {
		return fmt.Errorf("scatter_nd on %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	s, err := kernels.NDOf(c.node)
	if err != nil {
		return err
	}
	return c.generic("ScatterND", s, c.in(0).DType)
}

// genResize specialises kernels.Resize, which calls the evaluator's own
// interpolation (runtime/numerics), so both agree.
func genResize(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("resize of %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	s, err := kernels.ResizeOf(c.node)
	if err != nil {
		return err
	}
	return c.template("Resize", tmpl.Binding{Shape: s})
}

// genBitCast specialises the kernels.BitCastOf template.
func genBitCast(c *kctx) error {
	s, name, hooks := kernels.BitCastOf(c.node)
	return c.template(name, tmpl.Binding{Shape: s, Hooks: hooks})
}

// genGridSample specialises kernels.GridSample, which calls the
// evaluator's own sampling (runtime/numerics), so both agree.
func genGridSample(c *kctx) error {
	if !c.in(0).DType.IsFloat() || !c.in(1).DType.IsFloat() {
		return fmt.Errorf("grid_sample of %s at %s is not supported by the generated kernels yet", c.in(0).DType, c.in(1).DType)
	}
	s, err := kernels.GridSampleOf(c.node)
	if err != nil {
		return err
	}
	return c.template("GridSample", tmpl.Binding{Shape: s})
}

// genDet specialises kernels.Det (numerics.Det, as the evaluator).
func genDet(c *kctx) error {
	if !c.in(0).DType.IsFloat() {
		return fmt.Errorf("det of %s is not supported by the generated kernels yet", c.in(0).DType)
	}
	s, err := kernels.DetOf(c.node)
	if err != nil {
		return err
	}
	return c.template("Det", tmpl.Binding{Shape: s})
}
