package ir

import "fmt"

// Kronecker-factored layers (docs/algorithms.md §3–4): a weight held as a
// sum of R Kronecker products, W = Σ_r A_r ⊗ F_r, with the factors as
// operands. A PHM layer (Zhang et al. 2021) is the case A_r ∈ R^{n×n},
// R = n; the kronecker pass writes any R and factor shapes.
//
//	phm_linear(x[..., n1·n2], a[R, m1, n1], s[R, m2, n2], scale[m1·m2]?, b[m1·m2]?, residual?)
//	phc_conv2d(x[N, n1·C', H, W], a[R, m1, n1], s[R, O', C', kh, kw], scale[m1·O']?, b[m1·O']?, residual?)
//
// With (A ⊗ F)[i·m2 + p][j·n2 + q] = A[i][j]·F[p][q]; for the convolution
// the Kronecker product acts on the two channel axes and the spatial taps
// ride along: W[p·O' + o][q·C' + c][u][v] = Σ_r A_r[p][q]·F_r[o][c][u][v].
// The result is act(scale ⊙ (x ∗ W) + b + residual): scale (when Scaled)
// is a per-output factor, a BatchNorm that could not fold into the
// factors without breaking the sum of R terms; b and the epilogue are as
// for linear and conv2d.
//
// Exec says how the generated kernel runs a phm_linear: "" lets codegen's
// cost rule choose per shape, "factored" runs on the factors, "dense"
// materialises W when the package is built (the kronecker pass's
// execution option sets it).

// Exec values of phm_linear.
const (
	ExecAuto     = ""
	ExecFactored = "factored"
	ExecDense    = "dense"
)

// PHMLinear is a Kronecker-factored linear layer (see above).
type PHMLinear struct {
	Scaled bool   `attr:"scaled"`
	Exec   string `attr:"exec"`
	Epilogue
}

func (*PHMLinear) Kind() Kind { return KPHMLinear }

// PHCConv2D is a Kronecker-factored 2-D convolution (groups 1), on NCHW
// like conv2d (see above). Pad is [top, left, bottom, right].
type PHCConv2D struct {
	Stride   []int `attr:"stride"`
	Pad      []int `attr:"pad"`
	Dilation []int `attr:"dilation"`
	Scaled   bool  `attr:"scaled"`
	Epilogue
}

func (*PHCConv2D) Kind() Kind { return KPHCConv2D }

func init() {
	ops[KPHMLinear] = OpInfo{"phm_linear", 3, 6, func() Op { return &PHMLinear{} }, inferPHMLinear}
	ops[KPHCConv2D] = OpInfo{"phc_conv2d", 3, 6, func() Op {
		return &PHCConv2D{Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}, Dilation: []int{1, 1}}
	}, inferPHCConv2D}
	evalTable[KPHMLinear] = evalPHMLinear
	evalTable[KPHCConv2D] = evalPHCConv2D
}

// Kron describes a Kronecker-factored weight: R terms A_r ∈ R^{M1×N1}
// and F_r ∈ R^{M2×N2×Taps} (Taps = kh·kw for a convolution, else 1).
type Kron struct {
	R, M1, N1, M2, N2, Taps int
}

// Out and In are the dense weight's rows and columns (output and input
// features or channels).
func (k Kron) Out() int { return k.M1 * k.M2 }
func (k Kron) In() int  { return k.N1 * k.N2 }

// Params is the factors' size, R·(M1·N1 + M2·N2·Taps).
func (k Kron) Params() int { return k.R * (k.M1*k.N1 + k.M2*k.N2*k.Taps) }

// MACs is the factored product's multiply-accumulates per row (per output
// pixel for a convolution): G_r = F_r·x_q for every term and input block,
// then the mix by A, R·(n1·n2·taps·m2 + m1·n1·m2) (docs/algorithms.md §4).
func (k Kron) MACs() int { return k.R * k.M2 * k.N1 * (k.N2*k.Taps + k.M1) }

// KronOf reads the factor shapes of a phm_linear or phc_conv2d node's
// operands a and s (inputs 1 and 2).
func KronOf(n *Node) (Kron, bool) {
	switch n.Op.(type) {
	case *PHMLinear, *PHCConv2D:
	default:
		return Kron{}, false
	}
	a, s := n.Inputs[1].Type.Shape, n.Inputs[2].Type.Shape
	k := Kron{R: a[0].B, M1: a[1].B, N1: a[2].B, M2: s[1].B, N2: s[2].B, Taps: 1}
	if s.Rank() == 5 {
		k.Taps = s[3].B * s[4].B
	}
	return k, true
}

// ScaledOf reports whether a phm_linear or phc_conv2d has a scale input.
func ScaledOf(op Op) bool {
	switch o := op.(type) {
	case *PHMLinear:
		return o.Scaled
	case *PHCConv2D:
		return o.Scaled
	}
	return false
}

// kronFactors checks a and s: a[R, m1, n1] and s[R, m2, n2, taps...]
// with rank 3 + spatial, static, floats.
func kronFactors(a, s Type, spatial int) (Kron, error) {
	if a.Shape.Rank() != 3 || !a.Shape.Static() {
		return Kron{}, fmt.Errorf("factor a must be static [R, m1, n1], got %s", a.Shape)
	}
	if s.Shape.Rank() != 3+spatial || !s.Shape.Static() {
		want := "[R, m2, n2]"
		if spatial > 0 {
			want = "[R, O/m1, C/n1, kh, kw]"
		}
		return Kron{}, fmt.Errorf("factor s must be static %s, got %s", want, s.Shape)
	}
	k := Kron{R: a.Shape[0].B, M1: a.Shape[1].B, N1: a.Shape[2].B, M2: s.Shape[1].B, N2: s.Shape[2].B, Taps: 1}
	if spatial > 0 {
		k.Taps = s.Shape[3].B * s.Shape[4].B
	}
	if s.Shape[0].B != k.R {
		return Kron{}, fmt.Errorf("factors a %s and s %s have different numbers of terms", a.Shape, s.Shape)
	}
	for _, d := range a.Shape.Ints() {
		if d < 1 {
			return Kron{}, fmt.Errorf("factor a %s has an empty dimension", a.Shape)
		}
	}
	for _, d := range s.Shape.Ints() {
		if d < 1 {
			return Kron{}, fmt.Errorf("factor s %s has an empty dimension", s.Shape)
		}
	}
	return k, nil
}

// checkKronEpilogue checks scale?, bias? and residual? after x, a, s.
func checkKronEpilogue(scaled bool, e Epilogue, in []Type, ch, out Shape) error {
	rest := in[3:]
	if scaled {
		if len(rest) == 0 {
			return fmt.Errorf("scaled=true needs a scale input after s")
		}
		if !rest[0].Shape.Equal(ch) {
			return fmt.Errorf("scale shape %s, want %s", rest[0].Shape, ch)
		}
		rest = rest[1:]
	}
	// checkEpilogue reads bias? and residual? from its in[2:].
	return checkEpilogue(e, append([]Type{{}, {}}, rest...), ch, out)
}

func inferPHMLinear(op Op, in []Type) ([]Type, error) {
	o := op.(*PHMLinear)
	switch o.Exec {
	case ExecAuto, ExecFactored, ExecDense:
	default:
		return nil, fmt.Errorf("exec %q: want %q or %q (or none: the cost rule)", o.Exec, ExecFactored, ExecDense)
	}
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	x := in[0]
	k, err := kronFactors(in[1], in[2], 0)
	if err != nil {
		return nil, err
	}
	if x.Shape.Rank() < 1 || x.Shape[x.Shape.Rank()-1] != D(k.In()) {
		return nil, fmt.Errorf("input %s: want [..., %d] (n1·n2 = %d·%d)", x.Shape, k.In(), k.N1, k.N2)
	}
	s := x.Shape.Clone()
	s[len(s)-1] = D(k.Out())
	if err := checkKronEpilogue(o.Scaled, o.Epilogue, in, Shape{D(k.Out())}, s); err != nil {
		return nil, err
	}
	return one(TensorType(x.DType, s)), nil
}

func inferPHCConv2D(op Op, in []Type) ([]Type, error) {
	c := op.(*PHCConv2D)
	for i, t := range in {
		if err := wantFloat(i, t); err != nil {
			return nil, err
		}
	}
	x := in[0].Shape
	k, err := kronFactors(in[1], in[2], 2)
	if err != nil {
		return nil, err
	}
	s := in[2].Shape
	kernel := []int{s[3].B, s[4].B}
	if err := checkWindow("phc_conv2d", x, kernel, c.Stride, c.Pad, c.Dilation); err != nil {
		return nil, err
	}
	if x[1].B != k.In() {
		return nil, fmt.Errorf("input %s has %s channels, factors want n1·C' = %d·%d = %d", x, x[1], k.N1, k.N2, k.In())
	}
	oh := windowOut(x[2].B, c.Pad[0], c.Pad[2], kernel[0], c.Stride[0], c.Dilation[0], false)
	ow := windowOut(x[3].B, c.Pad[1], c.Pad[3], kernel[1], c.Stride[1], c.Dilation[1], false)
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("kernel %v larger than padded input %s", kernel, x)
	}
	out := Shape{x[0], D(k.Out()), D(oh), D(ow)}
	if err := checkKronEpilogue(c.Scaled, c.Epilogue, in, Shape{D(k.Out())}, out); err != nil {
		return nil, err
	}
	return one(TensorType(in[0].DType, out)), nil
}

// KronSum materialises W = Σ_r A_r ⊗ F_r in float64 from a[R, m1, n1]
// and s[R, m2, n2, taps...]: [m1·m2][n1·n2][taps] row-major, the layout of
// a linear weight [out, in] or a conv2d weight [O, C, kh, kw].
func KronSum(a, s *Tensor) []float64 {
	a, s = a.Dense(), s.Dense()
	R, m1, n1 := a.Shape[0], a.Shape[1], a.Shape[2]
	m2, n2 := s.Shape[1], s.Shape[2]
	taps := 1
	for _, d := range s.Shape[3:] {
		taps *= d
	}
	w := make([]float64, m1*m2*n1*n2*taps)
	in := n1 * n2 * taps
	for r := range R {
		for p := range m1 {
			for q := range n1 {
				av := float64(a.F[(r*m1+p)*n1+q])
				if av == 0 {
					continue
				}
				for o := range m2 {
					src := s.F[((r*m2+o)*n2)*taps : ((r*m2+o)*n2+n2)*taps]
					dst := w[(p*m2+o)*in+q*n2*taps : (p*m2+o)*in+(q+1)*n2*taps]
					for i, f := range src {
						dst[i] += av * float64(f)
					}
				}
			}
		}
	}
	return w
}

// kronOptional splits the inputs after x, a and s (values or tensors)
// into scale?, bias? and residual? (nil when absent).
func kronOptional[T any](scaled bool, e Epilogue, in []*T) (scale, bias, resid *T) {
	rest := in[3:]
	if scaled {
		scale, rest = rest[0], rest[1:]
	}
	if e.Residual {
		resid, rest = rest[len(rest)-1], rest[:len(rest)-1]
	}
	if len(rest) == 1 {
		bias = rest[0]
	}
	return scale, bias, resid
}

// evalPHMLinear evaluates in factored form, all in float64: per row x
// (as X[n1][n2]), G_r[q][o] = Σ_j F_r[o][j]·X[q][j], then y[p·m2 + o] =
// Σ_r Σ_q A_r[p][q]·G_r[q][o] — the dense layer's MACs for a PHM layer.
func evalPHMLinear(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*PHMLinear)
	x, a, s := in[0], in[1].Dense(), in[2].Dense()
	R, m1, n1, m2, n2 := a.Shape[0], a.Shape[1], a.Shape[2], s.Shape[1], s.Shape[2]
	K, N := n1*n2, m1*m2
	rows := 0
	if K > 0 {
		rows = x.Numel() / K
	}
	scale, bias, resid := kronOptional(o.Scaled, o.Epilogue, in)
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	parallelFor(c.threads, rows, func(lo, hi int) {
		g := make([]float64, R*n1*m2)
		y := make([]float64, N)
		for row := lo; row < hi; row++ {
			xr := x.F[row*K : (row+1)*K]
			for r := range R {
				for q := range n1 {
					xq := xr[q*n2 : (q+1)*n2]
					for oo := range m2 {
						f := s.F[(r*m2+oo)*n2 : (r*m2+oo+1)*n2]
						var acc float64
						for j, v := range f {
							acc += float64(v) * float64(xq[j])
						}
						g[(r*n1+q)*m2+oo] = acc
					}
				}
			}
			clear(y)
			for r := range R {
				for p := range m1 {
					for q := range n1 {
						av := float64(a.F[(r*m1+p)*n1+q])
						gq := g[(r*n1+q)*m2 : (r*n1+q+1)*m2]
						yp := y[p*m2 : (p+1)*m2]
						for oo, v := range gq {
							yp[oo] += av * v
						}
					}
				}
			}
			for j, v := range y {
				res.F[row*N+j] = float32(kronStore(o.Epilogue, v, j, row*N+j, scale, bias, resid))
			}
		}
	})
	return []*Tensor{res}, nil
}

// kronStore applies scale, bias, residual and activation to output j
// (channel ch, flat index at).
func kronStore(e Epilogue, v float64, ch, at int, scale, bias, resid *Tensor) float64 {
	if scale != nil {
		v *= float64(scale.F[ch])
	}
	if bias != nil {
		v += float64(bias.F[ch])
	}
	if resid != nil {
		v += float64(resid.F[at])
	}
	return e.Apply(v)
}

// evalPHCConv2D convolves first, in float64: Z_{r,q} = conv(x_q, F_r) for
// each input channel block x_q (C' channels), then y_p = Σ_r Σ_q
// A_r[p][q]·Z_{r,q} — the dense convolution's MACs for a PHC layer.
func evalPHCConv2D(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cv := op.(*PHCConv2D)
	x, a, s := in[0], in[1].Dense(), in[2].Dense()
	R, m1, n1, m2, n2, kh, kw := a.Shape[0], a.Shape[1], a.Shape[2], s.Shape[1], s.Shape[2], s.Shape[3], s.Shape[4]
	oshape := out[0].Shape.Ints()
	nb, h, wd := x.Shape[0], x.Shape[2], x.Shape[3]
	oh, ow := oshape[2], oshape[3]
	P := oh * ow
	scale, bias, resid := kronOptional(cv.Scaled, cv.Epilogue, in)
	res := NewTensor(out[0].DType, oshape)
	// z holds Z_{r,q} of every image: [nb][R][n1][m2][P].
	z := make([]float64, nb*R*n1*m2*P)
	parallelFor(c.threads, nb*R*n1, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			b, r, q := it/(R*n1), it/n1%R, it%n1
			zt := z[it*m2*P : (it+1)*m2*P]
			for o := range m2 {
				for ci := range n2 {
					plane := x.F[((b*n1+q)*n2+ci)*h*wd : ((b*n1+q)*n2+ci+1)*h*wd]
					for u := range kh {
						for v := range kw {
							f := float64(s.F[(((r*m2+o)*n2+ci)*kh+u)*kw+v])
							if f == 0 {
								continue
							}
							for y := range oh {
								iy := y*cv.Stride[0] - cv.Pad[0] + u*cv.Dilation[0]
								if iy < 0 || iy >= h {
									continue
								}
								for xx := range ow {
									ix := xx*cv.Stride[1] - cv.Pad[1] + v*cv.Dilation[1]
									if ix >= 0 && ix < wd {
										zt[o*P+y*ow+xx] += f * float64(plane[iy*wd+ix])
									}
								}
							}
						}
					}
				}
			}
		}
	})
	parallelFor(c.threads, nb*m1, func(lo, hi int) {
		acc := make([]float64, m2*P)
		for it := lo; it < hi; it++ {
			b, p := it/m1, it%m1
			clear(acc)
			for r := range R {
				for q := range n1 {
					av := float64(a.F[(r*m1+p)*n1+q])
					zt := z[((b*R+r)*n1+q)*m2*P : ((b*R+r)*n1+q+1)*m2*P]
					for i, v := range zt {
						acc[i] += av * v
					}
				}
			}
			for o := range m2 {
				ch := p*m2 + o
				for i := range P {
					at := (b*m1*m2+ch)*P + i
					res.F[at] = float32(kronStore(cv.Epilogue, acc[o*P+i], ch, at, scale, bias, resid))
				}
			}
		}
	})
	return []*Tensor{res}, nil
}

// KronInputs returns a phm_linear or phc_conv2d node's optional inputs:
// its scale, bias and residual (nil when absent).
func KronInputs(n *Node) (scale, bias, resid *Value) {
	e, _ := EpilogueOf(n.Op)
	return kronOptional(ScaledOf(n.Op), e, n.Inputs)
}
