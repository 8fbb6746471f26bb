package ir

import (
	"fmt"
	"math"
	"strings"
)

// Recurrent is ONNX's RNN, LSTM or GRU (Cell "rnn", "lstm", "gru") after
// its input projection: the importer computes xw = X·Wᵀ for every
// timestep at once (a linear), and this op runs the recurrence on it.
//
//	recurrent {cell, hidden, direction, layout, acts, alpha, beta, clip,
//	           input_forget, linear_before_reset, b, seq_lens, h0, c0, p}
//	    (xw, r, b?, seq_lens?, h0?, c0?, p?) → y, y_h[, y_c]
//
// With G gates (rnn 1, gru 3, lstm 4), D directions (2 when Direction is
// "bidirectional", else 1), H = Hidden, T timesteps and B sequences:
//
//	xw        [T, B, D·G·H] (layout 0) or [B, T, D·G·H] (layout 1):
//	          X·Wᵀ, direction d's gates at columns d·G·H…, in ONNX's
//	          gate order (gru zrh, lstm iofc), without W's bias
//	r         [D, G·H, H], ONNX's R
//	b         [D, 2·G·H], ONNX's B (Wb then Rb), when the attribute b is set
//	seq_lens  [B] integers in [0, T], when seq_lens is set; else all T
//	h0, c0    [D, B, H] (layout 0) or [B, D, H] (layout 1), else zeros
//	p         [D, 3·H] peepholes (lstm: i, o, f), else zeros
//	y         [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1): every
//	          step's hidden state, 0 at steps t ≥ seq_lens[b]
//	y_h, y_c  like h0: the last valid step's hidden (and cell) state
//
// The reverse direction runs from step seq_lens[b]−1 down to 0. Acts
// lists the activations, comma-separated, of every direction in turn
// (rnn f; gru f, g; lstm f, g, h), each with its Alpha and Beta: relu,
// tanh, sigmoid, affine (α·x + β), leakyrelu (x ≥ 0 ? x : α·x),
// thresholdedrelu (x ≥ α ? x : 0), scaledtanh (α·tanh(β·x)), hardsigmoid
// (min(max(α·x + β, 0), 1)), elu (x ≥ 0 ? x : α·(eˣ − 1)), softsign
// (x/(1 + |x|)), softplus (log(1 + eˣ)). Clip (+Inf: none) bounds every
// activation's input to [−Clip, Clip] (lstm's h applies to the cell
// state unclipped). With the gates' pre-activations a = xw + Wb + Rb +
// h·Rᵀ (each gate's part):
//
//	rnn:  h = f(a)
//	gru:  z = f(a_z), r = f(a_r),
//	      ĥ = g(xw_h + Wb_h + (r⊙h)·R_hᵀ + Rb_h), or with
//	      LinearBeforeReset g(xw_h + Wb_h + r⊙(h·R_hᵀ + Rb_h)),
//	      h = (1 − z)⊙ĥ + z⊙h
//	lstm: i = f(a_i + P_i⊙c), f = f(a_f + P_f⊙c) (1 − i with
//	      InputForget), c̃ = g(a_c), c = f⊙c + i⊙c̃,
//	      o = f(a_o + P_o⊙c) (the new c), h = o⊙h(c)
//
// Sums accumulate in float64; h and c are rounded to float32 after every
// step, as generated code stores them.
type Recurrent struct {
	Cell              string    `attr:"cell"`
	Hidden            int       `attr:"hidden"`
	Direction         string    `attr:"direction"`
	Layout            int       `attr:"layout"`
	Acts              string    `attr:"acts"`
	Alpha             []float64 `attr:"alpha"`
	Beta              []float64 `attr:"beta"`
	Clip              float64   `attr:"clip"`
	InputForget       bool      `attr:"input_forget"`
	LinearBeforeReset bool      `attr:"linear_before_reset"`
	// Which optional inputs follow xw and r, in this order.
	Bias    bool `attr:"b"`
	SeqLens bool `attr:"seq_lens"`
	InitH   bool `attr:"h0"`
	InitC   bool `attr:"c0"`
	Peep    bool `attr:"p"`
}

func (*Recurrent) Kind() Kind { return KRecurrent }

// RecurrentActs lists the activations recurrent takes, by name.
var RecurrentActs = []string{"relu", "tanh", "sigmoid", "affine", "leakyrelu", "thresholdedrelu", "scaledtanh", "hardsigmoid", "elu", "softsign", "softplus"}

// Gates is the number of gates of the cell: 1, 3 or 4 (0 if unknown).
func (o *Recurrent) Gates() int {
	switch o.Cell {
	case "rnn":
		return 1
	case "gru":
		return 3
	case "lstm":
		return 4
	}
	return 0
}

// Funcs is the number of activations per direction: 1, 2 or 3.
func (o *Recurrent) Funcs() int {
	switch o.Cell {
	case "rnn":
		return 1
	case "gru":
		return 2
	case "lstm":
		return 3
	}
	return 0
}

// Dirs is the number of directions, 1 or 2.
func (o *Recurrent) Dirs() int {
	if o.Direction == "bidirectional" {
		return 2
	}
	return 1
}

// ActList splits Acts.
func (o *Recurrent) ActList() []string {
	if o.Acts == "" {
		return nil
	}
	return strings.Split(o.Acts, ",")
}

// Inputs returns the positions of the optional inputs among the node's
// (-1 where absent): b, seq_lens, h0, c0, p.
func (o *Recurrent) Inputs() (b, seq, h0, c0, p int) {
	i := 2
	at := func(has bool) int {
		if !has {
			return -1
		}
		i++
		return i - 1
	}
	b = at(o.Bias)
	seq = at(o.SeqLens)
	h0 = at(o.InitH)
	c0 = at(o.InitC)
	p = at(o.Peep)
	return
}

func init() {
	ops[KRecurrent] = OpInfo{"recurrent", 2, 7, func() Op {
		return &Recurrent{Cell: "rnn", Direction: "forward", Acts: "tanh", Alpha: []float64{0}, Beta: []float64{0}, Clip: posInf}
	}, inferRecurrent}
	evalTable[KRecurrent] = evalRecurrent
}

func inferRecurrent(op Op, in []Type) ([]Type, error) {
	o := op.(*Recurrent)
	G, F, nd, H := o.Gates(), o.Funcs(), o.Dirs(), o.Hidden
	if G == 0 {
		return nil, fmt.Errorf(`cell must be "rnn", "gru" or "lstm", got %q`, o.Cell)
	}
	switch o.Direction {
	case "forward", "reverse", "bidirectional":
	default:
		return nil, fmt.Errorf(`direction must be "forward", "reverse" or "bidirectional", got %q`, o.Direction)
	}
	if o.Layout != 0 && o.Layout != 1 {
		return nil, fmt.Errorf("layout must be 0 or 1, got %d", o.Layout)
	}
	if H < 1 {
		return nil, fmt.Errorf("hidden must be positive, got %d", H)
	}
	acts := o.ActList()
	if len(acts) != F*nd || len(o.Alpha) != F*nd || len(o.Beta) != F*nd {
		return nil, fmt.Errorf("%s with %d direction(s) takes %d activations with as many alphas and betas, got %d, %d, %d", o.Cell, nd, F*nd, len(acts), len(o.Alpha), len(o.Beta))
	}
	for _, a := range acts {
		if RecurrentActCode(a) < 0 {
			return nil, fmt.Errorf("unknown activation %q (known: %s)", a, strings.Join(RecurrentActs, ", "))
		}
	}
	if !(o.Clip > 0) {
		return nil, fmt.Errorf("clip must be positive (+inf: none), got %v", o.Clip)
	}
	if o.InputForget && o.Cell != "lstm" || o.LinearBeforeReset && o.Cell != "gru" || (o.InitC || o.Peep) && o.Cell != "lstm" {
		return nil, fmt.Errorf("input_forget, c0 and p are lstm's, linear_before_reset gru's")
	}
	b, seq, h0, c0, p := o.Inputs()
	want := 2
	for _, i := range []int{b, seq, h0, c0, p} {
		if i >= 0 {
			want++
		}
	}
	if len(in) != want {
		return nil, fmt.Errorf("the attributes name %d inputs, got %d", want, len(in))
	}
	xw := in[0]
	if err := wantFloat(0, xw); err != nil {
		return nil, err
	}
	if xw.Shape.Rank() != 3 || xw.Shape[2] != D(nd*G*H) {
		return nil, fmt.Errorf("xw must be 3-D with %d columns (directions·gates·hidden), got %s", nd*G*H, xw.Shape)
	}
	T, Bt := xw.Shape[0], xw.Shape[1]
	if o.Layout == 1 {
		T, Bt = Bt, T
	}
	if !T.Static() {
		return nil, fmt.Errorf("the sequence length %s depends on the batch", T)
	}
	check := func(i int, name string, s Shape) error {
		if i < 0 {
			return nil
		}
		t := in[i]
		if name == "seq_lens" {
			if !t.DType.IsInt() {
				return fmt.Errorf("seq_lens must be integers, got %s", t.DType)
			}
		} else if t.DType != xw.DType {
			return fmt.Errorf("%s must be %s like xw, got %s", name, xw.DType, t.DType)
		}
		if !t.Shape.Equal(s) {
			return fmt.Errorf("%s must be %s, got %s", name, s, t.Shape)
		}
		return nil
	}
	state := Shape{D(nd), Bt, D(H)}
	if o.Layout == 1 {
		state = Shape{Bt, D(nd), D(H)}
	}
	for _, c := range []struct {
		i    int
		name string
		s    Shape
	}{{1, "r", Shape{D(nd), D(G * H), D(H)}}, {b, "b", Shape{D(nd), D(2 * G * H)}}, {seq, "seq_lens", Shape{Bt}},
		{h0, "h0", state}, {c0, "c0", state}, {p, "p", Shape{D(nd), D(3 * H)}}} {
		if err := check(c.i, c.name, c.s); err != nil {
			return nil, err
		}
	}
	y := Shape{T, D(nd), Bt, D(H)}
	if o.Layout == 1 {
		y = Shape{Bt, T, D(nd), D(H)}
	}
	out := []Type{TensorType(xw.DType, y), TensorType(xw.DType, state)}
	if o.Cell == "lstm" {
		out = append(out, TensorType(xw.DType, state.Clone()))
	}
	return out, nil
}

// RecurrentActCode is the index of activation name in RecurrentActs, or
// -1.
func RecurrentActCode(name string) int {
	for i, a := range RecurrentActs {
		if a == name {
			return i
		}
	}
	return -1
}

// recurrentAct applies activation code to x.
func recurrentAct(code int, alpha, beta, x float64) float64 {
	switch RecurrentActs[code] {
	case "relu":
		return math.Max(x, 0)
	case "tanh":
		return math.Tanh(x)
	case "sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "affine":
		return alpha*x + beta
	case "leakyrelu":
		if x >= 0 {
			return x
		}
		return alpha * x
	case "thresholdedrelu":
		if x >= alpha {
			return x
		}
		return 0
	case "scaledtanh":
		return alpha * math.Tanh(beta*x)
	case "hardsigmoid":
		return math.Min(math.Max(alpha*x+beta, 0), 1)
	case "elu":
		if x >= 0 {
			return x
		}
		return alpha * (math.Exp(x) - 1)
	case "softsign":
		return x / (1 + math.Abs(x))
	case "softplus":
		return math.Log1p(math.Exp(x))
	}
	panic("BUG: ir: unknown recurrent activation")
}

// f32 rounds a state to float32, as it is stored between steps.
func f32(x float64) float64 { return float64(float32(x)) }

func evalRecurrent(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*Recurrent)
	G, F, D, H := o.Gates(), o.Funcs(), o.Dirs(), o.Hidden
	GH := G * H
	ys := out[0].Shape.Ints()
	T, B := ys[0], ys[2]
	if o.Layout == 1 {
		T, B = ys[1], ys[0]
	}
	bi, si, hi, ci, pi := o.Inputs()
	xw, r := in[0].Dense(), in[1].Dense()
	opt := func(i int) *Tensor {
		if i < 0 {
			return nil
		}
		return in[i].Dense()
	}
	bias, seq, h0, c0, peep := opt(bi), opt(si), opt(hi), opt(ci), opt(pi)
	y := NewTensor(out[0].DType, ys)
	yh := NewTensor(out[1].DType, out[1].Shape.Ints())
	var yc *Tensor
	if o.Cell == "lstm" {
		yc = NewTensor(out[2].DType, out[2].Shape.Ints())
	}
	// Offsets by layout: xw row (t, b), y (t, d, b), state (d, b).
	xwAt := func(t, b int) int { return (t*B + b) * D * GH }
	yAt := func(t, d, b int) int { return ((t*D+d)*B + b) * H }
	stAt := func(d, b int) int { return (d*B + b) * H }
	if o.Layout == 1 {
		xwAt = func(t, b int) int { return (b*T + t) * D * GH }
		yAt = func(t, d, b int) int { return ((b*T+t)*D + d) * H }
		stAt = func(d, b int) int { return (b*D + d) * H }
	}
	acts := o.ActList()
	codes := make([]int, len(acts))
	for i, a := range acts {
		codes[i] = RecurrentActCode(a)
	}
	clip := func(x float64) float64 { return math.Max(-o.Clip, math.Min(o.Clip, x)) }
	h := make([]float64, H)
	cs := make([]float64, H)
	a := make([]float64, GH)
	rh := make([]float64, H)
	for d := 0; d < D; d++ {
		act := func(k int, x float64) float64 {
			j := d*F + k
			return recurrentAct(codes[j], o.Alpha[j], o.Beta[j], x)
		}
		rev := o.Direction == "reverse" || d == 1
		R := r.F[d*GH*H : (d+1)*GH*H]
		for b := 0; b < B; b++ {
			L := T
			if seq != nil {
				v := seq.I[b]
				if v < 0 || v > int64(T) {
					return nil, fmt.Errorf("seq_lens[%d] = %d is outside [0, %d]", b, v, T)
				}
				L = int(v)
			}
			for k := 0; k < H; k++ {
				h[k], cs[k] = 0, 0
				if h0 != nil {
					h[k] = float64(h0.F[stAt(d, b)+k])
				}
				if c0 != nil {
					cs[k] = float64(c0.F[stAt(d, b)+k])
				}
			}
			for s := 0; s < L; s++ {
				t := s
				if rev {
					t = L - 1 - s
				}
				// a = xw + Wb + Rb + h·Rᵀ (gru's h gate: xw + Wb alone).
				x := xw.F[xwAt(t, b)+d*GH:]
				for j := 0; j < GH; j++ {
					v := float64(x[j])
					if bias != nil {
						v += float64(bias.F[d*2*GH+j])
					}
					if o.Cell == "gru" && j >= 2*H {
						a[j] = v
						continue
					}
					if bias != nil {
						v += float64(bias.F[d*2*GH+GH+j])
					}
					for k := 0; k < H; k++ {
						v += h[k] * float64(R[j*H+k])
					}
					a[j] = v
				}
				switch o.Cell {
				case "rnn":
					for k := 0; k < H; k++ {
						h[k] = f32(act(0, clip(a[k])))
					}
				case "gru":
					z, rr := a[:H], a[H:2*H]
					for k := 0; k < H; k++ {
						z[k] = act(0, clip(z[k]))
						rr[k] = act(0, clip(rr[k]))
					}
					for j := 0; j < H; j++ {
						v := 0.0
						if bias != nil {
							v = float64(bias.F[d*2*GH+GH+2*H+j])
						}
						Rh := R[(2*H+j)*H:]
						if o.LinearBeforeReset {
							for k := 0; k < H; k++ {
								v += h[k] * float64(Rh[k])
							}
							v *= rr[j]
						} else {
							for k := 0; k < H; k++ {
								v += rr[k] * h[k] * float64(Rh[k])
							}
						}
						rh[j] = act(1, clip(a[2*H+j]+v))
					}
					for k := 0; k < H; k++ {
						h[k] = f32((1-z[k])*rh[k] + z[k]*h[k])
					}
				case "lstm":
					var P []float32
					if peep != nil {
						P = peep.F[d*3*H : (d+1)*3*H]
					}
					pp := func(g, k int) float64 {
						if P == nil {
							return 0
						}
						return float64(P[g*H+k])
					}
					for k := 0; k < H; k++ {
						i := act(0, clip(a[k]+pp(0, k)*cs[k]))
						f := 1 - i
						if !o.InputForget {
							f = act(0, clip(a[2*H+k]+pp(2, k)*cs[k]))
						}
						cc := act(1, clip(a[3*H+k]))
						cs[k] = f32(f*cs[k] + i*cc)
						og := act(0, clip(a[H+k]+pp(1, k)*cs[k]))
						h[k] = f32(og * act(2, cs[k]))
					}
				}
				for k := 0; k < H; k++ {
					y.F[yAt(t, d, b)+k] = float32(h[k])
				}
			}
			for k := 0; k < H; k++ {
				yh.F[stAt(d, b)+k] = float32(h[k])
				if yc != nil {
					yc.F[stAt(d, b)+k] = float32(cs[k])
				}
			}
		}
	}
	res := []*Tensor{y, yh}
	if yc != nil {
		res = append(res, yc)
	}
	return res, nil
}
