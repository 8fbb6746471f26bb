package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// Reductions and pooling: sums in float64, as the reference evaluator
// computes them.

// ReduceShape is a reduction over some axes: loops over the kept axes
// (in order, so the result is written row-major) and, inside, over the
// reduced ones, each carrying the input's offset. Every kind folds the
// elements into a float64 accumulator (Init, then Step), as the
// evaluator does, and finishes it (Finish, given the count reduced).
type ReduceShape struct {
	Kept, Reduced tmpl.Nest
	Count         ir.Dim // elements reduced per result
	Init          float64
	Step          func(acc, v float64) float64     // Inline hook
	Finish        func(acc, count float64) float64 // Inline hook
	// LogSumExp takes the maximum m first (Step), then m + log Σ e^(x − m).
	LogSumExp bool
}

// ReduceOf returns the shape of a reduction node (no axes: all of them)
// and its Step and Finish hooks.
func ReduceOf(nd *ir.Node) (ReduceShape, map[string]tmpl.Hook) {
	r := nd.Op.(*ir.Reduce)
	x := nd.Inputs[0].Type.Shape
	red := make([]bool, x.Rank())
	for _, a := range r.Axes {
		red[NormAxis(a, x.Rank())] = true
	}
	if len(r.Axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	st := RowStrides(x)
	s := ReduceShape{Count: ir.D(1), Kept: tmpl.Nest{Steps: [][]ir.Dim{nil}}, Reduced: tmpl.Nest{Steps: [][]ir.Dim{nil}}}
	for i, d := range x {
		l := &s.Kept
		if red[i] {
			l = &s.Reduced
			s.Count = mul(s.Count, d)
		}
		l.Dims = append(l.Dims, d)
		l.Steps[0] = append(l.Steps[0], st[i])
	}
	step, finish := "SumStep", "Same"
	switch r.K {
	case ir.KReduceMax:
		s.Init, step = math.Inf(-1), "MaxStep"
	case ir.KReduceMin:
		s.Init, step = math.Inf(1), "MinStep"
	case ir.KReduceProd:
		s.Init, step = 1, "ProdStep"
	case ir.KReduceL1:
		step = "AbsStep"
	case ir.KReduceL2:
		step, finish = "SquareStep", "SqrtFinish"
	case ir.KReduceSumSquare:
		step = "SquareStep"
	case ir.KReduceLogSum:
		finish = "LogFinish"
	case ir.KReduceMean:
		finish = "MeanFinish"
	case ir.KReduceLogSumExp:
		s.Init, step, s.LogSumExp = math.Inf(-1), "MaxStep", true
	}
	return s, map[string]tmpl.Hook{"Step": tmpl.Inline{Func: step}, "Finish": tmpl.Inline{Func: finish}}
}

// ReduceIntShape is a reduction of integers or bools (held as int64):
// the loops of ReduceShape, an int64 accumulator from Init folded by
// Step, wrapped to the result's dtype by Wrap (both Inline hooks), as the
// evaluator's integer reductions.
type ReduceIntShape struct {
	Kept, Reduced tmpl.Nest
	Init          int64
	Step          func(acc, v int64) int64 // Inline hook
	Wrap          func(v int64) int64      // Inline hook
}

// ReduceIntOf returns the shape of an integer or bool reduction node and
// its Step and Wrap hooks; reduce_l2 (a square root) and the float-only
// kinds are an error.
func ReduceIntOf(nd *ir.Node) (ReduceIntShape, map[string]tmpl.Hook, error) {
	r := nd.Op.(*ir.Reduce)
	dt := nd.Inputs[0].Type.DType
	f, _ := ReduceOf(nd)
	s := ReduceIntShape{Kept: f.Kept, Reduced: f.Reduced}
	lo, hi := ir.HeldExtremes(dt)
	unsigned := dt == ir.U64
	step := ""
	switch r.K {
	case ir.KReduceMax:
		s.Init, step = lo, map[bool]string{false: "MaxInt", true: "MaxU"}[unsigned]
	case ir.KReduceMin:
		s.Init, step = hi, map[bool]string{false: "MinInt", true: "MinU"}[unsigned]
	case ir.KReduceProd:
		s.Init, step = 1, "MulInt"
	case ir.KReduceSum:
		step = "AddInt"
	case ir.KReduceSumSquare:
		step = "SquareStepInt"
	case ir.KReduceL1:
		step = "AbsStepInt"
	default:
		return s, nil, fmt.Errorf("%s on %s is not supported by the generated kernels yet", r.K, dt)
	}
	return s, map[string]tmpl.Hook{"Step": tmpl.Inline{Func: step}, "Wrap": WrapOf(nd.Outputs[0].Type.DType)}, nil
}

// ReduceInt folds x over the reduced axes into each result.
func ReduceInt(s ReduceIntShape, n int, y, x []int64) {
	o := 0
	for p := range s.Kept.Each(n, 0) {
		acc := int64(s.Init) // typed: Init becomes an untyped constant
		for q := range s.Reduced.Each(n, p[0]) {
			acc = s.Step(acc, x[q[0]])
		}
		y[o] = s.Wrap(acc)
		o++
	}
}

func SquareStepInt(acc, v int64) int64 { return acc + v*v }
func AbsStepInt(acc, v int64) int64    { return acc + max(v, -v) }

// Reduce folds x over the reduced axes into each result.
func Reduce(s ReduceShape, n int, y, x []float32) {
	o := 0
	for p := range s.Kept.Each(n, 0) {
		acc := s.Init
		for q := range s.Reduced.Each(n, p[0]) {
			v := float64(x[q[0]])
			acc = s.Step(acc, v)
		}
		if s.LogSumExp && !math.IsInf(acc, 0) {
			m, e := acc, 0.0
			for q := range s.Reduced.Each(n, p[0]) {
				e += math.Exp(float64(x[q[0]]) - m)
			}
			acc = m + math.Log(e)
		}
		y[o] = float32(s.Finish(acc, float64(s.Count.At(n))))
		o++
	}
}

// PoolNHWC is Pool on NHWC activations, output rows [lo, hi) of N·OH:
// no relayout on either side of a CNN's pool. A max runs window tap by
// tap over the pixel's C contiguous channels, in float32 in y itself (a
// max of float32 values is exact in either width; NaN wins, as Pool); an
// average runs channel by channel over the taps in Pool's order, in
// float64, so both give Pool's results bit for bit.
func PoolNHWC(s PoolShape, n, lo, hi int, y, x []float32) {
	C, H, W, OH, OW := s.C, s.H, s.W, s.OH, s.OW
	KH, KW, SH, SW, DH, DW := s.KH, s.KW, s.SH, s.SW, s.DH, s.DW
	PT, PL, PB, PR := s.PT, s.PL, s.PB, s.PR
	for r := lo; r < hi; r++ {
		b, oy := r/OH, r%OH
		img := x[b*H*W*C : (b+1)*H*W*C]
		for ox := 0; ox < OW; ox++ {
			dst := y[((b*OH+oy)*OW+ox)*C : ((b*OH+oy)*OW+ox+1)*C]
			if !s.Avg {
				for c := range dst {
					dst[c] = float32(math.Inf(-1))
				}
				for i := 0; i < KH; i++ {
					iy := oy*SH - PT + i*DH
					if iy < 0 || iy >= H {
						continue
					}
					for j := 0; j < KW; j++ {
						ix := ox*SW - PL + j*DW
						if ix < 0 || ix >= W {
							continue
						}
						src := img[(iy*W+ix)*C : (iy*W+ix+1)*C]
						for c, v := range src[:len(dst)] {
							if v > dst[c] || v != v {
								dst[c] = v
							}
						}
					}
				}
			} else {
				for c := range dst {
					var sum float64
					cells, padded := 0, 0
					for i := 0; i < KH; i++ {
						iy := oy*SH - PT + i*DH
						for j := 0; j < KW; j++ {
							ix := ox*SW - PL + j*DW
							if iy < H+PB && ix < W+PR {
								padded++
							}
							if iy >= 0 && iy < H && ix >= 0 && ix < W {
								sum += float64(img[(iy*W+ix)*C+c])
								cells++
							}
						}
					}
					if s.IncludePad {
						dst[c] = float32(sum / float64(padded))
					} else {
						dst[c] = float32(sum / float64(cells))
					}
				}
			}
		}
	}
}

// The reductions' steps and finishes (ReduceOf), as the evaluator's
// folds. Max and min are NaN-propagating, as Go's max and min are.

func SumStep(acc, v float64) float64        { return acc + v }
func MaxStep(acc, v float64) float64        { return max(acc, v) }
func MinStep(acc, v float64) float64        { return min(acc, v) }
func ProdStep(acc, v float64) float64       { return acc * v }
func AbsStep(acc, v float64) float64        { return acc + math.Abs(v) }
func SquareStep(acc, v float64) float64     { return acc + v*v }
func Same(acc, count float64) float64       { return acc }
func MeanFinish(acc, count float64) float64 { return acc / count }
func SqrtFinish(acc, count float64) float64 { return math.Sqrt(acc) }
func LogFinish(acc, count float64) float64  { return math.Log(acc) }

// PoolShape is 2-D max or average pooling on NCHW planes (Pool), or on
// NHWC rows (PoolNHWC).
type PoolShape struct {
	C              int // channels (PoolNHWC)
	H, W, OH, OW   int
	KH, KW, SH, SW int
	DH, DW         int // dilation
	PT, PL, PB, PR int // padding: top, left, bottom, right
	Avg            bool
	IncludePad     bool   // average over the cells inside the padded input
	Planes         ir.Dim // the parallel items of Pool
	Rows           ir.Dim // the parallel items of PoolNHWC: N·OH output rows
}

// PoolOf returns the shape of a max-pool or average-pool node.
func PoolOf(nd *ir.Node) (PoolShape, error) {
	x, y := nd.Inputs[0].Type.Shape, nd.Outputs[0].Type.Shape
	if x.Rank() != 4 {
		return PoolShape{}, fmt.Errorf("%s of rank %d: only 2-D pooling (NCHW) is generated", nd.Op.Kind(), x.Rank())
	}
	s := PoolShape{C: x[1].B, H: x[2].B, W: x[3].B, OH: y[2].B, OW: y[3].B, Planes: Numel(x[:2]), Rows: x[0].MulInt(y[2].B)}
	var kernel, stride, pad, dil []int
	switch p := nd.Op.(type) {
	case *ir.MaxPool:
		kernel, stride, pad, dil = p.Kernel, p.Stride, p.Pad, p.Dilation
	case *ir.AvgPool:
		kernel, stride, pad, dil = p.Kernel, p.Stride, p.Pad, []int{1, 1}
		s.Avg, s.IncludePad = true, p.CountIncludePad
	}
	s.KH, s.KW, s.SH, s.SW, s.DH, s.DW = kernel[0], kernel[1], stride[0], stride[1], dil[0], dil[1]
	s.PT, s.PL, s.PB, s.PR = pad[0], pad[1], pad[2], pad[3]
	return s, nil
}

// Pool visits every window of planes [lo, hi), as the evaluator's
// pool2d: max (NaN wins) or mean over the in-bounds cells, or over the
// cells inside the padded input with IncludePad.
func Pool(s PoolShape, n, lo, hi int, y, x []float32) {
	H, W, OH, OW := s.H, s.W, s.OH, s.OW
	KH, KW, SH, SW, DH, DW := s.KH, s.KW, s.SH, s.SW, s.DH, s.DW
	PT, PL, PB, PR := s.PT, s.PL, s.PB, s.PR
	for pl := lo; pl < hi; pl++ {
		src := x[pl*H*W : (pl+1)*H*W]
		dst := y[pl*OH*OW : (pl+1)*OH*OW]
		for oy := 0; oy < OH; oy++ {
			for ox := 0; ox < OW; ox++ {
				var sum float64
				cells, padded := 0, 0
				m := math.Inf(-1)
				for i := 0; i < KH; i++ {
					iy := oy*SH - PT + i*DH
					for j := 0; j < KW; j++ {
						ix := ox*SW - PL + j*DW
						if s.Avg && iy < H+PB && ix < W+PR {
							padded++
						}
						if iy >= 0 && iy < H && ix >= 0 && ix < W {
							v := float64(src[iy*W+ix])
							if s.Avg {
								sum += v
								cells++
							} else if v > m || v != v {
								m = v
							}
						}
					}
				}
				switch {
				case s.Avg && s.IncludePad:
					dst[oy*OW+ox] = float32(sum / float64(padded))
				case s.Avg:
					dst[oy*OW+ox] = float32(sum / float64(cells))
				default:
					dst[oy*OW+ox] = float32(m)
				}
			}
		}
	}
}
