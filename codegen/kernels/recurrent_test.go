package kernels

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// TestRecurrent runs the recurrent template against the evaluator for
// each cell, direction and layout, with and without every optional
// input, every activation (with alphas and betas), clip, input_forget,
// linear_before_reset and sequence lengths of 0, 1 and T; the batch is
// N (here 3).
func TestRecurrent(t *testing.T) {
	const T, H, n = 4, 3, 3
	acts := ir.RecurrentActs
	seed := uint64(1)
	for _, cell := range []string{"rnn", "gru", "lstm"} {
		for _, dir := range []string{"forward", "reverse", "bidirectional"} {
			for layout := 0; layout < 2; layout++ {
				for variant := 0; variant < 3; variant++ {
					seed++
					o := &ir.Recurrent{Cell: cell, Hidden: H, Direction: dir, Layout: layout, Clip: math.Inf(1)}
					G, F, D := o.Gates(), o.Funcs(), o.Dirs()
					var names []string
					for i := 0; i < F*D; i++ {
						a := acts[(int(seed)+i*5)%len(acts)]
						if variant == 0 { // the defaults' kinds
							a = []string{"sigmoid", "tanh", "tanh"}[i%F]
							if cell == "rnn" {
								a = "tanh"
							}
						}
						names = append(names, a)
						o.Alpha = append(o.Alpha, 0.3+0.1*float64(i))
						o.Beta = append(o.Beta, -0.2+0.15*float64(i))
					}
					o.Acts = strings.Join(names, ",")
					opt := variant > 0
					o.Bias, o.SeqLens, o.InitH = opt, variant == 2, opt
					o.InitC, o.Peep, o.InputForget = opt && cell == "lstm", opt && cell == "lstm", variant == 2 && cell == "lstm"
					o.LinearBeforeReset = variant == 1 && cell == "gru"
					if variant == 2 {
						o.Clip = 0.9
					}
					bt := ir.N
					x := ir.Shape{ir.D(T), bt, ir.D(D * G * H)}
					st := ir.Shape{ir.D(D), bt, ir.D(H)}
					if layout == 1 {
						x, st = ir.Shape{bt, ir.D(T), ir.D(D * G * H)}, ir.Shape{bt, ir.D(D), ir.D(H)}
					}
					ins := []ir.Type{f32(x...), f32(ir.D(D), ir.D(G*H), ir.D(H))}
					if o.Bias {
						ins = append(ins, f32(ir.D(D), ir.D(2*G*H)))
					}
					if o.SeqLens {
						ins = append(ins, ir.Type{DType: ir.I64, Shape: ir.Shape{bt}})
					}
					if o.InitH {
						ins = append(ins, f32(st...))
					}
					if o.InitC {
						ins = append(ins, f32(st...))
					}
					if o.Peep {
						ins = append(ins, f32(ir.D(D), ir.D(3*H)))
					}
					what := fmt.Sprintf("%s %s layout %d variant %d: %s", cell, dir, layout, variant, ir.Describe(o))
					_, si, _, _, _ := o.Inputs()
					c := evalOpWith(t, n, seed, o, func(in []*ir.Tensor) {
						if si >= 0 {
							copy(in[si].I, []int64{T, 0, 1})
						}
					}, ins...)
					s, err := RecurrentOf(c.node)
					require.NoError(t, err, what)
					opt32 := func(i int) []float32 {
						if i < 0 {
							return nil
						}
						return c.in[i].F
					}
					bi, si, hi, ci, pi := o.Inputs()
					var seq []int64
					if si >= 0 {
						seq = c.in[si].I
					}
					y := outBuf(c.out[0])
					yh := outBuf(c.out[1])
					var yc []float32
					if cell == "lstm" {
						yc = outBuf(c.out[2])
					}
					for i := range y {
						y[i] = float32(math.NaN()) // every element is written, padding too
					}
					for i := c.out[0].Numel(); i < len(y); i++ {
						y[i] = 12345
					}
					require.NoError(t, Recurrent(s, n, y, yh, yc, c.in[0].F, c.in[1].F, opt32(bi), seq, opt32(hi), opt32(ci), opt32(pi)), what)
					matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], what+": y")
					matches(t, guarded(t, yh, c.out[1].Numel()), c.out[1], what+": y_h")
					if yc != nil {
						matches(t, guarded(t, yc, c.out[2].Numel()), c.out[2], what+": y_c")
					}
					if si >= 0 {
						seq[1] = T + 1
						require.ErrorContains(t, Recurrent(s, n, y, yh, yc, c.in[0].F, c.in[1].F, opt32(bi), seq, opt32(hi), opt32(ci), opt32(pi)),
							"outside [0, 4]", what)
					}
				}
			}
		}
	}
}

// TestRecurrentActs checks the template's activation codes against
// ir.RecurrentActs' names on a few points.
func TestRecurrentActs(t *testing.T) {
	want := map[string]func(a, b, x float64) float64{
		"relu":            func(a, b, x float64) float64 { return math.Max(x, 0) },
		"tanh":            func(a, b, x float64) float64 { return math.Tanh(x) },
		"sigmoid":         func(a, b, x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		"affine":          func(a, b, x float64) float64 { return a*x + b },
		"leakyrelu":       func(a, b, x float64) float64 { return map[bool]float64{true: x, false: a * x}[x >= 0] },
		"thresholdedrelu": func(a, b, x float64) float64 { return map[bool]float64{true: x, false: 0}[x >= a] },
		"scaledtanh":      func(a, b, x float64) float64 { return a * math.Tanh(b*x) },
		"hardsigmoid":     func(a, b, x float64) float64 { return math.Min(math.Max(a*x+b, 0), 1) },
		"elu":             func(a, b, x float64) float64 { return map[bool]float64{true: x, false: a * (math.Exp(x) - 1)}[x >= 0] },
		"softsign":        func(a, b, x float64) float64 { return x / (1 + math.Abs(x)) },
		"softplus":        func(a, b, x float64) float64 { return math.Log(1 + math.Exp(x)) },
	}
	require.Len(t, ir.RecurrentActs, len(want))
	for code, name := range ir.RecurrentActs {
		for _, x := range []float64{-2.5, -0.3, 0, 0.4, 1.7} {
			require.InDelta(t, want[name](0.7, -0.4, x), RecurrentAct(code, 0.7, -0.4, x), 1e-12, "%s(%v)", name, x)
		}
	}
}
