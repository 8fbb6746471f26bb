package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

func TestGather(t *testing.T) {
	for axis, x := range []ir.Type{f32(ir.D(5), ir.N, ir.D(3)), f32(ir.N, ir.D(5), ir.D(3)), f32(ir.N, ir.D(3), ir.D(5))} {
		ax := []int{0, 1, -1}[axis]
		c := evalOpWith(t, 2, uint64(axis), &ir.Gather{Axis: ax}, func(in []*ir.Tensor) {
			in[1].I = []int64{4, -1, 0, -5, 2, 3}
		}, x, i64(ir.D(2), ir.D(3)))
		s := GatherOf(c.node)
		y := outBuf(c.out[0])
		require.NoError(t, Gather(s, 2, y, c.in[0].F, c.in[1].I))
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(c.node.Op))
		c.in[1].I[2] = -6
		require.EqualError(t, Gather(s, 2, y, c.in[0].F, c.in[1].I), "gather: index -6 at position 2 is outside [-5, 5)")
	}
}

func TestWhere(t *testing.T) {
	c := evalOp(t, 2, 4, ir.Simple{K: ir.KWhere}, ir.Type{DType: ir.Bool, Shape: ir.Shape{ir.N, ir.D(1), ir.D(4)}},
		f32(ir.D(3), ir.D(1)), f32(ir.N, ir.D(3), ir.D(4)))
	y := outBuf(c.out[0])
	Where(WhereOf(c.node), 2, y, c.in[0].I, c.in[1].F, c.in[2].F)
	matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "where")
	// Both values picked.
	ones := 0
	for _, v := range c.in[0].I {
		ones += int(v)
	}
	require.True(t, ones > 0 && ones < len(c.in[0].I))
}

func TestCast(t *testing.T) {
	values := []float32{0, 1.5, -2.7, 300.9, -129.5, 70000.25, 3e9}
	ints := []int64{0, 1, -1, 255, 256, -129, 1 << 40}
	for _, from := range []ir.DType{ir.F32, ir.I64, ir.I32, ir.F16} {
		for _, to := range []ir.DType{ir.F32, ir.Bool, ir.I8, ir.U8, ir.I16, ir.I32, ir.I64, ir.F16, ir.BF16, ir.F64} {
			c := evalOpWith(t, 1, 1, &ir.Cast{To: to}, func(in []*ir.Tensor) {
				if from.IsFloat() {
					copy(in[0].F, values)
				} else {
					in[0].I = append([]int64(nil), ints...)
					if from == ir.I32 {
						for i, v := range in[0].I {
							in[0].I[i] = int64(int32(v))
						}
					}
				}
			}, ir.Type{DType: from, Shape: ir.Shape{ir.N, ir.D(7)}})
			s, name, hooks := CastOf(c.node)
			s.Wrap = inlined[func(int64) int64](t, hooks["Wrap"].(tmpl.Inline))
			s.Round = inlined[func(float32) float32](t, hooks["Round"].(tmpl.Inline))
			want := c.out[0]
			what := from.String() + " to " + to.String()
			switch name {
			case "CastToBool":
				y := make([]int64, 7)
				if from.IsFloat() {
					CastToBool(s, 1, y, c.in[0].F)
				} else {
					CastToBool(s, 1, y, c.in[0].I)
				}
				require.Equal(t, want.I, y, what)
			case "CastFloats":
				y := make([]float32, 7)
				CastFloats(s, 1, y, c.in[0].F)
				require.Equal(t, want.F, y, what)
			case "CastToFloat":
				y := make([]float32, 7)
				CastToFloat(s, 1, y, c.in[0].I)
				require.Equal(t, want.F, y, what)
			case "CastFromFloat":
				y := make([]int64, 7)
				require.NoError(t, CastFromFloat(s, 1, y, c.in[0].F))
				require.Equal(t, want.I, y, what)
				x := append([]float32(nil), c.in[0].F...)
				x[3] = float32(math.NaN())
				require.ErrorContains(t, CastFromFloat(s, 1, y, x), "cast: cannot cast NaN to "+to.String()+" (element 3)")
			case "CastInts":
				y := make([]int64, 7)
				CastInts(s, 1, y, c.in[0].I)
				require.Equal(t, want.I, y, what)
			default:
				t.Fatalf("%s: template %s", what, name)
			}
		}
	}
}

// TestBitCast reinterprets floats, and integers of each width, as the
// other dtypes of their width.
func TestBitCast(t *testing.T) {
	floats := []float32{0, -1.5, float32(math.Inf(1)), float32(math.NaN())}
	ints := []int64{0, -1, 1 << 30, -(1 << 31), 1, 200, -100, 3}
	pairs := [][2]ir.DType{{ir.F32, ir.I32}, {ir.F32, ir.U32}, {ir.I32, ir.F32}, {ir.U32, ir.F32}, {ir.I32, ir.U32},
		{ir.U32, ir.I32}, {ir.I8, ir.U8}, {ir.U8, ir.I8}, {ir.I64, ir.U64}, {ir.I16, ir.U16}, {ir.U8, ir.Bool}}
	for i, p := range pairs {
		from, to := p[0], p[1]
		c, err := tryEval(t, &ir.BitCast{To: to}, func(in []*ir.Tensor) {
			if from == ir.F32 {
				copy(in[0].F, floats)
				return
			}
			w := inlined[func(int64) int64](t, WrapOf(from))
			for j := range in[0].I {
				in[0].I[j] = w(ints[j%len(ints)])
			}
		}, uint64(i), ir.Type{DType: from, Shape: ir.Shape{ir.N, ir.D(4)}})
		if err != nil {
			continue // a pair the evaluator does not cast
		}
		s, name, hooks := BitCastOf(c.node)
		s.Wrap = inlined[func(int64) int64](t, hooks["Wrap"].(tmpl.Inline))
		what := from.String() + " as " + to.String()
		switch name {
		case "BitCastFromFloat":
			y := make([]int64, 4)
			BitCastFromFloat(s, 1, y, c.in[0].F)
			require.Equal(t, c.out[0].I, y, what)
		case "BitCastToFloat":
			y := make([]float32, 4)
			BitCastToFloat(s, 1, y, c.in[0].I)
			for j := range y {
				require.Equal(t, math.Float32bits(c.out[0].F[j]), math.Float32bits(y[j]), what)
			}
		default:
			y := make([]int64, 4)
			BitCastInts(s, 1, y, c.in[0].I)
			require.Equal(t, c.out[0].I, y, what)
		}
	}
}
