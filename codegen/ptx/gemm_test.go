package ptx_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
	"github.com/modelc/modelc/runtime/numerics"
)

func act(a string, v float64) float64 {
	switch a {
	case "relu":
		return math.Max(v, 0)
	case "gelu":
		return float64(numerics.Gelu32(float32(v)))
	case "gelu_tanh":
		return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	}
	return v
}

// gemmRef is y = act(x·wᵀ + bias + res) in float64, x given as a function
// of (row, k) so the convolution tests share it.
func gemmRef(M, N, K int, x func(m, k int) float64, w, bias, res []float32, a string) []float32 {
	y := make([]float32, M*N)
	for m := range M {
		for n := range N {
			s := 0.0
			for k := range K {
				s += x(m, k) * float64(w[n*K+k])
			}
			if bias != nil {
				s += float64(bias[n])
			}
			if res != nil {
				s += float64(res[m*N+n])
			}
			y[m*N+n] = float32(act(a, s))
		}
	}
	return y
}

var testTiles = []ptx.Tile{
	{BM: 32, BN: 32, BK: 8, TM: 4, TN: 4, Stages: 2},
	{BM: 32, BN: 32, BK: 8, TM: 4, TN: 4, Stages: 1},
	{BM: 64, BN: 32, BK: 16, TM: 8, TN: 4, Stages: 2},
}

// Linear layers at shapes with tails in M, N and K, every epilogue, every
// test tile, forward and with threads reversed.
func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		rowsPer, n, N, K int
		bias, res        bool
		act              string
	}{
		{5, 7, 45, 29, true, true, "gelu"},
		{3, 4, 32, 64, false, false, ""},
		{1, 9, 12, 8, true, false, "relu"},
		{2, 3, 40, 19, false, true, "gelu_tanh"},
	} {
		for _, tile := range testTiles {
			for _, rev := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d_%s_rev%v", c.rowsPer*c.n, c.N, c.K, tile, rev), func(t *testing.T) {
					M := c.rowsPer * c.n
					x, w := randF32(r, M*c.K), randF32(r, c.N*c.K)
					var bias, res []float32
					if c.bias {
						bias = randF32(r, c.N)
					}
					if c.res {
						res = randF32(r, M*c.N)
					}
					want := gemmRef(M, c.N, c.K, func(m, k int) float64 { return float64(x[m*c.K+k]) }, w, bias, res, c.act)
					k, l, err := ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{A: c.rowsPer}, N: c.N, K: c.K, Bias: c.bias, Residual: c.res, Act: c.act, Tile: tile})
					require.NoError(t, err)
					mem := &ptxvm.Memory{}
					bufs := map[string]uint64{"x": mem.AllocF32(x), "w": mem.AllocF32(w), "y": mem.Alloc(4 * M * c.N)}
					if c.bias {
						bufs["bias"] = mem.AllocF32(bias)
					}
					if c.res {
						bufs["res"] = mem.AllocF32(res)
					}
					launch(t, mem, k, l, c.n, bufs, ptxvm.Options{Reverse: rev})
					closeGPU(t, mem.ReadF32(bufs["y"], M*c.N), want, "y")
				})
			}
		}
	}
}

// Convolutions through the implicit-GEMM loader: padding, strides,
// dilation, a K that is no multiple of BK, against a direct convolution.
func TestConv(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, g := range []ptx.ConvGeom{
		{H: 7, W: 6, C: 3, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
		{H: 9, W: 9, C: 5, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1},
		{H: 8, W: 8, C: 4, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{H: 8, W: 7, C: 2, KH: 3, KW: 2, SH: 1, SW: 1, PT: 2, PL: 1, DH: 2, DW: 1},
	} {
		// Bottom/right padding equal to top/left.
		g.OH = (g.H+2*g.PT-g.DH*(g.KH-1)-1)/g.SH + 1
		g.OW = (g.W+2*g.PL-g.DW*(g.KW-1)-1)/g.SW + 1
		for _, tile := range testTiles[:2] {
			t.Run(fmt.Sprintf("%+v_%s", g, tile), func(t *testing.T) {
				const n, O = 3, 10
				K := g.KH * g.KW * g.C
				x, w, bias := randF32(r, n*g.H*g.W*g.C), randF32(r, O*K), randF32(r, O)
				M := n * g.OH * g.OW
				res := randF32(r, M*O)
				xAt := func(m, k int) float64 {
					b, oh, ow := m/(g.OH*g.OW), m/g.OW%g.OH, m%g.OW
					kh, kw, c := k/(g.KW*g.C), k/g.C%g.KW, k%g.C
					ih, iw := oh*g.SH-g.PT+kh*g.DH, ow*g.SW-g.PL+kw*g.DW
					if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
						return 0
					}
					return float64(x[((b*g.H+ih)*g.W+iw)*g.C+c])
				}
				want := gemmRef(M, O, K, xAt, w, bias, res, "relu")
				gc := g
				k, l, err := ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{A: g.OH * g.OW}, N: O, K: K, Bias: true, Residual: true, Act: "relu", Conv: &gc, Tile: tile})
				require.NoError(t, err)
				mem := &ptxvm.Memory{}
				bufs := map[string]uint64{"x": mem.AllocF32(x), "w": mem.AllocF32(w), "bias": mem.AllocF32(bias), "res": mem.AllocF32(res), "y": mem.Alloc(4 * M * O)}
				launch(t, mem, k, l, n, bufs, ptxvm.Options{})
				closeGPU(t, mem.ReadF32(bufs["y"], M*O), want, "y")
			})
		}
	}
}
