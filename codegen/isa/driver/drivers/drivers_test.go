package drivers

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/runtime/numerics"
)

// The drivers are tested as Go on stand-ins for the microkernels written
// from their contracts (drivers.go, gemm.go); the targets' tests
// (codegen/isa/driver/drivertest) run them on the real ones.

// TestOffsets: the offsets the assembly reads are the fields'.
func TestOffsets(t *testing.T) {
	var a gemmArgs
	require.Equal(t, []uintptr{OffA, OffB, OffC, OffBias, OffLda, OffLdc, OffResid, OffConsts, OffK, OffKH, OffSkip}, []uintptr{
		unsafe.Offsetof(a.a), unsafe.Offsetof(a.b), unsafe.Offsetof(a.c), unsafe.Offsetof(a.bias), unsafe.Offsetof(a.lda), unsafe.Offsetof(a.ldc),
		unsafe.Offsetof(a.resid), unsafe.Offsetof(a.consts), unsafe.Offsetof(a.k), unsafe.Offsetof(a.kh), unsafe.Offsetof(a.skip)})
	var e ewArgs
	require.Equal(t, []uintptr{0, 8, 16, 24, 32, 36}, []uintptr{unsafe.Offsetof(e.dst), unsafe.Offsetof(e.a), unsafe.Offsetof(e.b), unsafe.Offsetof(e.vectors), unsafe.Offsetof(e.s), unsafe.Offsetof(e.t)})
	var l lnArgs
	require.Equal(t, []uintptr{0, 8, 16, 24, 32, 40, 44, 48}, []uintptr{unsafe.Offsetof(l.src), unsafe.Offsetof(l.dst), unsafe.Offsetof(l.gamma), unsafe.Offsetof(l.beta),
		unsafe.Offsetof(l.rows), unsafe.Offsetof(l.eps), unsafe.Offsetof(l.invI), unsafe.Offsetof(l.one)})
	var d dwArgs
	require.Equal(t, []uintptr{DWOffX, DWOffW, DWOffBias, DWOffY, DWOffResid, DWOffAct, DWOffExp, DWOffErf}, []uintptr{unsafe.Offsetof(d.x), unsafe.Offsetof(d.w),
		unsafe.Offsetof(d.bias), unsafe.Offsetof(d.y), unsafe.Offsetof(d.resid), unsafe.Offsetof(d.act), unsafe.Offsetof(d.exp), unsafe.Offsetof(d.erf)})
}

// TestTemplatesLoad: the embedded source parses.
func TestTemplatesLoad(t *testing.T) {
	s, err := tmpl.Load(Source)
	require.NoError(t, err)
	for _, name := range []string{"Linear", "ConvRow", "Block", "Strided", "Elementwise", "LayerNorm", "Softmax", "Attention", "Depthwise"} {
		require.True(t, s.Has(name), name)
	}
}

func f32at(p unsafe.Pointer, off int) *float32 { return (*float32)(unsafe.Add(p, off)) }

// micro is a GEMM microkernel stand-in of tile width w, B's rows ldb
// floats apart (negated unless pos), with the given epilogue; it checks
// that the driver asks for at most mr rows.
func micro(t *testing.T, mr, w, ldb int, pos bool, tl Tile, act func(float32) float32) func(r int, a *gemmArgs) {
	return func(r int, a *gemmArgs) {
		require.True(t, r >= 1 && r <= mr, "rows %d of a %d-row tile", r, mr)
		for i := range r {
			for j := range w {
				var acc float32
				for p := range a.kh {
					for s := range a.k {
						av := *f32at(a.a, i*a.lda+p*(a.k*4+a.skip)+s*4)
						bv := *f32at(a.b, ((p*a.k+s)*ldb+j)*4)
						if pos {
							acc += av * bv
						} else {
							acc -= av * bv
						}
					}
				}
				if tl.Bias {
					acc += *f32at(a.bias, j*4)
				}
				if tl.Resid {
					acc += *f32at(a.resid, i*a.ldc+j*4)
				}
				if tl.Gelu {
					require.Equal(t, unsafe.Pointer(&numerics.ErfVec[0][0]), a.consts)
				}
				*f32at(a.c, i*a.ldc+j*4) = act(acc)
			}
		}
	}
}

func randf(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// guard returns a buffer of n floats and 9 guard values after them.
func guard(n int) []float32 {
	b := make([]float32, n+9)
	for i := range b {
		b[i] = 777
	}
	return b
}

func checkGuard(t *testing.T, b []float32, n int) {
	t.Helper()
	for i, v := range b[n:] {
		require.Equal(t, float32(777), v, "guard %d", i)
	}
}

func actOf(tl Tile) func(float32) float32 {
	if tl.Gelu {
		return numerics.Gelu32
	}
	return func(v float32) float32 { return v }
}

func TestLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i, c := range []struct{ N, K, PW, MR, W int }{
		{1, 1, 16, 12, 16}, {17, 3, 32, 12, 16}, {40, 64, 48, 8, 48}, {100, 9, 64, 6, 64}, {129, 5, 64, 6, 16}, {20, 300, 16, 12, 16},
	} {
		tl := Tile{Name: "lin", MR: c.MR, W: c.W, Bias: i%2 == 0, Resid: i%3 == 0, Gelu: i%2 == 1}
		p := gemm.Params{N: c.N, K: c.K, MR: 1, NR: 8, PW: c.PW}
		sh := LinearShape{Tile: tl, N: c.N, K: c.K, PW: c.PW, MC: c.MR * 2, Micro: micro(t, c.MR, c.W, c.PW, false, tl, actOf(tl))}
		w := randf(r, c.N*c.K)
		wp := gemm.Pack(p, w)
		bias := randf(r, p.Panels()*c.PW)
		for _, m := range []int{1, c.MR - 1, 2*c.MR + 1, 5*c.MR + 3} {
			m = max(m, 1)
			x, resid := randf(r, m*c.K), randf(r, m*c.N)
			want := make([]float32, m*c.N)
			for row := range m {
				for j := range c.N {
					var acc float64
					for k := range c.K {
						acc += float64(x[row*c.K+k]) * float64(w[j*c.K+k])
					}
					v := float32(acc)
					if tl.Bias {
						v += bias[j]
					}
					if tl.Resid {
						v += resid[row*c.N+j]
					}
					want[row*c.N+j] = actOf(tl)(v)
				}
			}
			y := guard(m * c.N)
			// Panels in two chunks, as the pool splits them.
			mid := p.Panels() / 2
			Linear(sh, m, 0, mid, y, x, wp, bias, resid)
			Linear(sh, m, mid, p.Panels(), y, x, wp, bias, resid)
			checkGuard(t, y, m*c.N)
			require.NoError(t, match.Kernel(y[:m*c.N], want), "%+v m=%d", c, m)
		}
		require.PanicsWithValue(t, "lin: buffer too short", func() { Linear(sh, 2, 0, 1, make([]float32, 1), nil, wp, bias, nil) })
	}
}

func TestConvRow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i, c := range []ConvRowShape{
		{C: 3, O: 10, KH: 3, KW: 3, SW: 1, Wp: 13, OW: 11, PW: 16},
		{C: 16, O: 32, KH: 3, KW: 3, SW: 2, Wp: 34, OW: 16, PW: 32},
		{C: 5, O: 33, KH: 1, KW: 1, SW: 1, Wp: 7, OW: 7, PW: 48},
		{C: 8, O: 48, KH: 5, KW: 5, SW: 2, Wp: 22, OW: 9, PW: 16},
	} {
		mr, w := []int{4, 6, 8, 3}[i], c.PW
		if i == 1 {
			w = 16
		}
		c.Tile = Tile{Name: "conv", MR: mr, W: w, Bias: i%2 == 0, Resid: i < 2, Gelu: i == 1}
		c.NP = (c.O + c.PW - 1) / c.PW
		K := c.KH * c.KW * c.C
		c.Micro = micro(t, mr, w, c.PW, false, c.Tile, actOf(c.Tile))
		wt := randf(r, c.O*K) // [O][kh][kw][c]
		wp := gemm.Pack(gemm.Params{N: c.O, K: K, MR: 1, NR: 8, PW: c.PW}, wt)
		x := randf(r, ((c.KH-1)*c.Wp+(c.OW-1)*c.SW+c.KW)*c.C)
		bias, resid := randf(r, c.NP*c.PW), randf(r, c.OW*c.O)
		want := make([]float32, c.OW*c.O)
		for ow := range c.OW {
			for o := range c.O {
				var acc float64
				for kh := range c.KH {
					for kw := range c.KW {
						for ci := range c.C {
							acc += float64(x[(kh*c.Wp+ow*c.SW+kw)*c.C+ci]) * float64(wt[o*K+(kh*c.KW+kw)*c.C+ci])
						}
					}
				}
				v := float32(acc)
				if c.Bias {
					v += bias[o]
				}
				if c.Resid {
					v += resid[ow*c.O+o]
				}
				want[ow*c.O+o] = actOf(c.Tile)(v)
			}
		}
		y := guard(c.OW * c.O)
		ConvRow(c, x, wp, bias, y, resid)
		checkGuard(t, y, c.OW*c.O)
		require.NoError(t, match.Kernel(y[:c.OW*c.O], want), "%+v", c)
	}
}

func TestBlockAndStrided(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i, c := range []struct{ m, ncols, K, PW, MR, W, lda, ldc int }{
		{5, 30, 7, 16, 4, 16, 9, 33}, {13, 64, 20, 32, 6, 16, 20, 64}, {1, 5, 3, 48, 12, 48, 3, 5},
	} {
		tl := Tile{Name: "blk", MR: c.MR, W: c.W, Resid: i != 1}
		np := (c.ncols + c.PW - 1) / c.PW
		b := randf(r, c.K*np*c.PW) // B packed: panel q's row k at (q·K + k)·PW
		x, resid := randf(r, (c.m-1)*c.lda+c.K), randf(r, (c.m-1)*c.ldc+c.ncols)
		sh := BlockShape{Tile: tl, K: c.K, PW: c.PW, Micro: micro(t, c.MR, c.W, c.PW, false, tl, actOf(tl))}
		y := guard((c.m-1)*c.ldc + c.ncols)
		Block(sh, c.m, c.ncols, x, c.lda, b, y, c.ldc, resid)
		checkGuard(t, y, (c.m-1)*c.ldc+c.ncols)
		for i := range c.m {
			for j := range c.ncols {
				var acc float64
				for k := range c.K {
					acc -= float64(x[i*c.lda+k]) * float64(b[(j/c.PW*c.K+k)*c.PW+j%c.PW])
				}
				if tl.Resid {
					acc += float64(resid[i*c.ldc+j])
				}
				require.InDelta(t, acc, y[i*c.ldc+j], 1e-4, "block %+v (%d, %d)", c, i, j)
			}
		}
		// The same product by a Strided driver, with B packed and read in
		// place (row-major, rows ldb apart, added as it is).
		for _, inPlace := range []bool{false, true} {
			ldb := np*c.PW + 3
			sh := StridedShape{Tile: Tile{Name: "str", MR: c.MR, W: c.W}, K: c.K, PW: c.PW, P: np, WLen: np * c.K * c.PW}
			wp := b
			if inPlace {
				sh.LDB, sh.InPlace, sh.WLen = ldb, true, (c.K-1)*ldb+np*c.PW
				wp = make([]float32, sh.WLen)
				for k := range c.K {
					for j := range np * c.PW {
						wp[k*ldb+j] = -b[(j/c.PW*c.K+k)*c.PW+j%c.PW]
					}
				}
			}
			ldc := np*c.PW + 1
			sh.Micro = micro(t, c.MR, c.W, max(sh.LDB, c.PW), inPlace, sh.Tile, actOf(sh.Tile))
			ys := guard((c.m-1)*ldc + np*c.PW)
			Strided(sh, c.m, x, c.lda, wp, ys, ldc)
			checkGuard(t, ys, (c.m-1)*ldc+np*c.PW)
			for i := range c.m {
				for j := range c.ncols {
					require.InDelta(t, y[i*c.ldc+j]-resid[i*c.ldc+j]*b2f(tl.Resid), ys[i*ldc+j], 1e-4, "strided %+v in place %v", c, inPlace)
				}
			}
		}
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func TestElementwise(t *testing.T) {
	for _, op := range []string{"relu", "affine", "add", "mul"} {
		var seen ewArgs
		sh := ElementwiseShape{Lanes: 8, Op: op, Micro: func(a *ewArgs) { seen = *a }}
		dst, a, b := make([]float32, 21), make([]float32, 21), make([]float32, 21)
		require.Equal(t, 16, Elementwise(sh, dst, a, b, 2, 3))
		require.Equal(t, 2, seen.vectors)
		require.Equal(t, unsafe.Pointer(&dst[0]), seen.dst)
		require.Equal(t, op == "add" || op == "mul", seen.b == unsafe.Pointer(&b[0]))
		require.Equal(t, op == "affine", seen.s == 2 && seen.t == 3)
		require.Zero(t, Elementwise(sh, dst[:7], a, b, 0, 0))
	}
}

func TestRows(t *testing.T) {
	var la lnArgs
	ln := LayerNormShape{I: 16, Beta: true, Micro: func(a *lnArgs) { la = *a }}
	x, y, g, b := make([]float32, 64), make([]float32, 64), make([]float32, 16), make([]float32, 16)
	LayerNorm(ln, 1, 3, y, x, g, b, 1e-5)
	require.Equal(t, lnArgs{src: unsafe.Pointer(&x[16]), dst: unsafe.Pointer(&y[16]), gamma: unsafe.Pointer(&g[0]), beta: unsafe.Pointer(&b[0]), rows: 2,
		eps: 1e-5, invI: 1.0 / 16, one: 1}, la)
	la = lnArgs{}
	LayerNorm(ln, 2, 2, y, x, g, b, 1e-5)
	require.Zero(t, la.rows)

	var rows int
	var tail []int32
	sm := SoftmaxShape{L: 11, Lanes: 8, Mask: true, Micro: func(src, dst *float32, n int, consts *float32, t *int32) {
		rows = n
		tail = unsafe.Slice(t, 8)
	}}
	Softmax(sm, 1, 4, make([]float32, 44), make([]float32, 44))
	require.Equal(t, 3, rows)
	require.Equal(t, []int32{-1, -1, -1, 0, 0, 0, 0, 0}, tail)
}

// TestAttention composes the attention driver with Strided and Softmax
// drivers on stand-in microkernels, against a float64 reference.
func TestAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, causal := range []bool{false, true} {
		T, S, H, dh, dv := 5, 7, 2, 4, 16
		D, Dv := H*dh, H*dv
		pw1, pw2 := 16, 16
		p1 := (S + pw1 - 1) / pw1
		sh := AttentionShape{T: T, S: S, D: D, Dv: Dv, H: H, Scale: 0.3, Causal: causal, PW1: pw1, P1: p1, PW2: pw2,
			KP: p1 * dh * pw1, SC: T * p1 * pw1, PR: T * S}
		qk := StridedShape{Tile: Tile{Name: "qk", MR: 4, W: 16}, K: dh, PW: pw1, P: p1, WLen: p1 * dh * pw1}
		qk.Micro = micro(t, 4, 16, pw1, false, qk.Tile, actOf(qk.Tile))
		pv := StridedShape{Tile: Tile{Name: "pv", MR: 4, W: 16}, K: S, PW: pw2, P: dv / pw2, LDB: Dv, WLen: (S-1)*Dv + dv, InPlace: true}
		pv.Micro = micro(t, 4, 16, Dv, true, pv.Tile, actOf(pv.Tile))
		sh.QK = func(m int, x []float32, lda int, wp []float32, y []float32, ldc int) {
			Strided(qk, m, x, lda, wp, y, ldc)
		}
		sh.PV = func(m int, x []float32, lda int, wp []float32, y []float32, ldc int) {
			Strided(pv, m, x, lda, wp, y, ldc)
		}
		sh.Softmax = func(lo, hi int, dst, x []float32) {
			for row := lo; row < hi; row++ {
				m := float32(math.Inf(-1))
				for _, v := range x[row*S : (row+1)*S] {
					m = max(m, v)
				}
				var sum float32
				for j := range S {
					dst[row*S+j] = float32(math.Exp(float64(x[row*S+j] - m)))
					sum += dst[row*S+j]
				}
				for j := range S {
					dst[row*S+j] /= sum
				}
			}
		}
		n := 2
		q, k, v := randf(r, n*T*D), randf(r, n*S*D), randf(r, n*S*Dv)
		o := guard(n * T * Dv)
		scratch := make([]float32, n*H*(sh.KP+sh.SC+sh.PR))
		Attention(sh, 0, 1, o, q, k, v, scratch)
		Attention(sh, 1, n*H, o, q, k, v, scratch)
		checkGuard(t, o, n*T*Dv)
		want := make([]float32, n*T*Dv)
		for b := range n {
			for h := range H {
				for tt := range T {
					sc := make([]float64, S)
					m := math.Inf(-1)
					for s := range S {
						if causal && s > tt {
							sc[s] = math.Inf(-1)
							continue
						}
						for d := range dh {
							sc[s] += float64(q[(b*T+tt)*D+h*dh+d]) * float64(k[(b*S+s)*D+h*dh+d])
						}
						sc[s] *= 0.3
						m = max(m, sc[s])
					}
					var sum float64
					for s := range S {
						sc[s] = math.Exp(sc[s] - m)
						sum += sc[s]
					}
					for e := range dv {
						var acc float64
						for s := range S {
							acc += sc[s] / sum * float64(v[(b*S+s)*Dv+h*dv+e])
						}
						want[(b*T+tt)*Dv+h*dv+e] = float32(acc)
					}
				}
			}
		}
		require.NoError(t, match.Kernel(o[:n*T*Dv], want), "causal %v", causal)
	}
}

// TestDepthwise: the driver hands the microkernel the row's buffers and
// the epilogue's constants, and computes channels [CV, C) itself, which
// a float64 depthwise convolution through the activation checks; the
// microkernel's channels are left to it (a stand-in that marks them).
func TestDepthwise(t *testing.T) {
	const C, KH, KW, SW, DH, DW, OW, CV = 11, 3, 2, 2, 2, 1, 5, 8
	const Wp = (OW-1)*SW + (KW-1)*DW + 1
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, bias, resid := make([]float32, ((KH-1)*DH+1)*Wp*C), make([]float32, KH*KW*C), make([]float32, C), make([]float32, OW*C)
	for _, s := range [][]float32{x, w, bias, resid} {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
	}
	for _, act := range []string{"", "relu", "relu6", "hardswish", "silu", "gelu_tanh"} {
		var seen dwArgs
		y := make([]float32, OW*C)
		sh := DepthwiseShape{C: C, KH: KH, KW: KW, SW: SW, DH: DH, DW: DW, Wp: Wp, OW: OW, CV: CV, Bias: true, Resid: true, Act: act,
			Micro: func(a *dwArgs) { seen = *a }}
		Depthwise(sh, x, w, bias, y, resid)
		require.Equal(t, dwArgs{x: unsafe.Pointer(&x[0]), w: unsafe.Pointer(&w[0]), bias: unsafe.Pointer(&bias[0]), y: unsafe.Pointer(&y[0]), resid: unsafe.Pointer(&resid[0]),
			act: unsafe.Pointer(&numerics.ActVec[0][0]), exp: unsafe.Pointer(&numerics.ExpVec[0][0]), erf: unsafe.Pointer(&numerics.ErfVec[0][0])}, seen)
		for ow := range OW {
			for c := range C {
				got := y[ow*C+c]
				if c < CV {
					require.Zero(t, got, "channel %d is the microkernel's", c)
					continue
				}
				sum := float64(bias[c]) + float64(resid[ow*C+c])
				for kh := range KH {
					for kw := range KW {
						sum += float64(x[(kh*DH*Wp+ow*SW+kw*DW)*C+c]) * float64(w[(kh*KW+kw)*C+c])
					}
				}
				want := map[string]float64{"": sum, "relu": math.Max(sum, 0), "relu6": math.Min(math.Max(sum, 0), 6),
					"hardswish": sum * math.Min(math.Max(sum+3, 0), 6) / 6, "silu": sum / (1 + math.Exp(-sum)),
					"gelu_tanh": 0.5 * sum * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(sum+0.044715*sum*sum*sum)))}[act]
				require.InDelta(t, want, float64(got), 1e-5*math.Max(1, math.Abs(want)), "%s y[%d,%d]", act, ow, c)
			}
		}
	}
	require.Panics(t, func() {
		Depthwise(DepthwiseShape{C: C, KH: KH, KW: KW, SW: SW, DH: DH, DW: DW, Wp: Wp, OW: OW}, x[:10], w, nil, make([]float32, OW*C), nil)
	})
}
