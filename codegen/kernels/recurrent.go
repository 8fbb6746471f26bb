package kernels

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// RecurrentShape is ir.Recurrent (ONNX's RNN, GRU and LSTM after the
// input projection, which a linear computes) specialised to a node: T
// steps of B sequences (B may depend on the batch), D directions of G·H
// gates (GH), F activations a direction (Act, Alpha, Beta: RecurrentAct's
// codes, ir.RecurrentActs' order, per direction in turn), and which
// optional inputs the node has.
type RecurrentShape struct {
	T             int
	B             ir.Dim
	D, H, GH, F   int
	GRU, LSTM     bool
	Rev0          bool // direction 0 runs backwards ("reverse")
	Layout1       bool // batch-major xw, y and states
	Act           []int
	Alpha, Beta   []float64
	HasClip       bool
	Clip          float64
	InputForget   bool
	LBR           bool // gru's linear_before_reset
	Bias, Seq     bool
	H0, C0, Peeps bool
}

// RecurrentOf returns the shape of recurrent node nd.
func RecurrentOf(nd *ir.Node) (RecurrentShape, error) {
	o := nd.Op.(*ir.Recurrent)
	ys := nd.Outputs[0].Type.Shape
	T, B := ys[0], ys[2]
	if o.Layout == 1 {
		T, B = ys[1], ys[0]
	}
	if !T.Static() {
		return RecurrentShape{}, fmt.Errorf("a sequence length %s that depends on the batch is not supported by the generated kernels yet", T)
	}
	s := RecurrentShape{T: T.B, B: B, D: o.Dirs(), H: o.Hidden, GH: o.Gates() * o.Hidden, F: o.Funcs(),
		GRU: o.Cell == "gru", LSTM: o.Cell == "lstm", Rev0: o.Direction == "reverse", Layout1: o.Layout == 1,
		Alpha: o.Alpha, Beta: o.Beta, HasClip: !math.IsInf(o.Clip, 1), InputForget: o.InputForget, LBR: o.LinearBeforeReset,
		Bias: o.Bias, Seq: o.SeqLens, H0: o.InitH, C0: o.InitC, Peeps: o.Peep}
	if s.HasClip {
		s.Clip = o.Clip
	}
	for _, a := range o.ActList() {
		s.Act = append(s.Act, ir.RecurrentActCode(a))
	}
	return s, nil
}

// RecurrentAct is activation code (an index of ir.RecurrentActs) of x.
func RecurrentAct(code int, alpha, beta, x float64) float64 {
	switch code {
	case 0: // relu
		return math.Max(x, 0)
	case 1: // tanh
		return math.Tanh(x)
	case 2: // sigmoid
		return 1 / (1 + math.Exp(-x))
	case 3: // affine
		return alpha*x + beta
	case 4: // leakyrelu
		if x >= 0 {
			return x
		}
		return alpha * x
	case 5: // thresholdedrelu
		if x >= alpha {
			return x
		}
		return 0
	case 6: // scaledtanh
		return alpha * math.Tanh(beta*x)
	case 7: // hardsigmoid
		return math.Min(math.Max(alpha*x+beta, 0), 1)
	case 8: // elu
		if x >= 0 {
			return x
		}
		return alpha * (math.Exp(x) - 1)
	case 9: // softsign
		return x / (1 + math.Abs(x))
	}
	return math.Log1p(math.Exp(x)) // softplus
}

// Recurrent runs the recurrence of every direction over every sequence
// in turn, as the evaluator does: each step's gate pre-activations are
// xw's row plus the biases plus h·Rᵀ, accumulated in float64, and h and
// c are kept in float32 between steps. Steps past a sequence's length
// are zeros in y.
func Recurrent(s RecurrentShape, n int, y, yh, yc, xw, r, b []float32, seq []int64, h0, c0, p []float32) error {
	T, D, H, GH, F := s.T, s.D, s.H, s.GH, s.F
	B := s.B.At(n)
	if s.Seq {
		for i := 0; i < B; i++ {
			if seq[i] < 0 || seq[i] > int64(T) {
				return fmt.Errorf("recurrent: seq_lens[%d] = %d is outside [0, %d]", i, seq[i], T)
			}
		}
	}
	hs := make([]float32, H)
	cs := make([]float32, H)
	a := make([]float64, GH)
	hn := make([]float64, H)
	for d := 0; d < D; d++ {
		rev := s.Rev0 || d == 1
		R := r[d*GH*H : (d+1)*GH*H]
		for bi := 0; bi < B; bi++ {
			L := T
			if s.Seq {
				L = int(seq[bi])
			}
			st := (d*B + bi) * H
			if s.Layout1 {
				st = (bi*D + d) * H
			}
			for k := 0; k < H; k++ {
				hs[k], cs[k] = 0, 0
			}
			if s.H0 {
				copy(hs, h0[st:st+H])
			}
			if s.C0 {
				copy(cs, c0[st:st+H])
			}
			for step := 0; step < L; step++ {
				t := step
				if rev {
					t = L - 1 - step
				}
				xo := ((t*B+bi)*D + d) * GH
				if s.Layout1 {
					xo = ((bi*T+t)*D + d) * GH
				}
				x := xw[xo : xo+GH]
				for j := 0; j < GH; j++ {
					v := float64(x[j])
					if s.Bias {
						v += float64(b[d*2*GH+j])
					}
					if s.GRU && j >= 2*H {
						a[j] = v
						continue
					}
					if s.Bias {
						v += float64(b[d*2*GH+GH+j])
					}
					row := R[j*H : j*H+H]
					for k, hv := range hs {
						v += float64(hv) * float64(row[k])
					}
					a[j] = v
				}
				switch {
				case s.GRU:
					for k := 0; k < 2*H; k++ {
						v := a[k]
						if s.HasClip {
							v = math.Max(-s.Clip, math.Min(s.Clip, v))
						}
						a[k] = RecurrentAct(s.Act[d*F], s.Alpha[d*F], s.Beta[d*F], v)
					}
					for j := 0; j < H; j++ {
						v := 0.0
						if s.Bias {
							v = float64(b[d*2*GH+GH+2*H+j])
						}
						row := R[(2*H+j)*H : (2*H+j)*H+H]
						if s.LBR {
							for k, hv := range hs {
								v += float64(hv) * float64(row[k])
							}
							v *= a[H+j]
						} else {
							for k, hv := range hs {
								v += a[H+k] * float64(hv) * float64(row[k])
							}
						}
						v += a[2*H+j]
						if s.HasClip {
							v = math.Max(-s.Clip, math.Min(s.Clip, v))
						}
						hn[j] = RecurrentAct(s.Act[d*F+1], s.Alpha[d*F+1], s.Beta[d*F+1], v)
					}
					for k := 0; k < H; k++ {
						hs[k] = float32((1-a[k])*hn[k] + a[k]*float64(hs[k]))
					}
				case s.LSTM:
					for k := 0; k < H; k++ {
						c := float64(cs[k])
						vi, vf, vo := a[k], a[2*H+k], a[H+k]
						if s.Peeps {
							vi += float64(p[d*3*H+k]) * c
							vf += float64(p[d*3*H+2*H+k]) * c
						}
						vc := a[3*H+k]
						if s.HasClip {
							vi = math.Max(-s.Clip, math.Min(s.Clip, vi))
							vf = math.Max(-s.Clip, math.Min(s.Clip, vf))
							vc = math.Max(-s.Clip, math.Min(s.Clip, vc))
						}
						gi := RecurrentAct(s.Act[d*F], s.Alpha[d*F], s.Beta[d*F], vi)
						gf := 1 - gi
						if !s.InputForget {
							gf = RecurrentAct(s.Act[d*F], s.Alpha[d*F], s.Beta[d*F], vf)
						}
						gc := RecurrentAct(s.Act[d*F+1], s.Alpha[d*F+1], s.Beta[d*F+1], vc)
						c = float64(float32(gf*c + gi*gc))
						cs[k] = float32(c)
						if s.Peeps {
							vo += float64(p[d*3*H+H+k]) * c
						}
						if s.HasClip {
							vo = math.Max(-s.Clip, math.Min(s.Clip, vo))
						}
						og := RecurrentAct(s.Act[d*F], s.Alpha[d*F], s.Beta[d*F], vo)
						hs[k] = float32(og * RecurrentAct(s.Act[d*F+2], s.Alpha[d*F+2], s.Beta[d*F+2], c))
					}
				default:
					for k := 0; k < H; k++ {
						v := a[k]
						if s.HasClip {
							v = math.Max(-s.Clip, math.Min(s.Clip, v))
						}
						hs[k] = float32(RecurrentAct(s.Act[d*F], s.Alpha[d*F], s.Beta[d*F], v))
					}
				}
				yo := ((t*D+d)*B + bi) * H
				if s.Layout1 {
					yo = ((bi*T+t)*D + d) * H
				}
				copy(y[yo:yo+H], hs)
			}
			for t := L; t < T; t++ {
				yo := ((t*D+d)*B + bi) * H
				if s.Layout1 {
					yo = ((bi*T+t)*D + d) * H
				}
				clear(y[yo : yo+H])
			}
			copy(yh[st:st+H], hs)
			if s.LSTM {
				copy(yc[st:st+H], cs)
			}
		}
	}
	return nil
}
