package ptx_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
)

func attentionRef(s ptx.AttentionSpec, B int, q, k, v []float32) []float32 {
	dh, dv := s.D/s.Heads, s.Dv/s.Heads
	y := make([]float32, B*s.T*s.Dv)
	for b := range B {
		for h := range s.Heads {
			for i := range s.T {
				sc := make([]float64, s.S)
				mx := math.Inf(-1)
				for j := range s.S {
					sc[j] = math.Inf(-1)
					if s.Causal && j > i {
						continue
					}
					dot := 0.0
					for d := range dh {
						dot += float64(q[(b*s.T+i)*s.QStride+h*dh+d]) * float64(k[(b*s.S+j)*s.KStride+h*dh+d])
					}
					sc[j] = float64(s.Scale) * dot
					mx = math.Max(mx, sc[j])
				}
				sum := 0.0
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for d := range dv {
					acc := 0.0
					for j := range s.S {
						acc += sc[j] / sum * float64(v[(b*s.S+j)*s.VStride+h*dv+d])
					}
					y[(b*s.T+i)*s.Dv+h*dv+d] = float32(acc)
				}
			}
		}
	}
	return y
}

// Attention with one and several heads, causal or not, head widths that
// are and are not multiples of 4 (the vector loads), more keys than a
// warp has lanes, and strided q/k/v rows (views into a fused qkv).
func TestAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []ptx.AttentionSpec{
		{T: 5, S: 5, D: 8, Dv: 8, Heads: 2, Scale: 0.5, WarpsPerBlock: 2},
		{T: 17, S: 17, D: 64, Dv: 64, Heads: 4, Scale: 0.25, WarpsPerBlock: 4},
		{T: 40, S: 40, D: 12, Dv: 6, Heads: 3, Causal: true, Scale: 0.3, WarpsPerBlock: 4},
		{T: 3, S: 70, D: 6, Dv: 9, Heads: 1, Scale: 0.2, WarpsPerBlock: 1},
		{T: 9, S: 9, D: 16, Dv: 16, Heads: 2, Causal: true, Scale: 0.25, QStride: 48, KStride: 48, VStride: 48, WarpsPerBlock: 4},
	} {
		t.Run(fmt.Sprintf("t%d_s%d_d%d_h%d_causal%v", s.T, s.S, s.D, s.Heads, s.Causal), func(t *testing.T) {
			const B = 2
			if s.QStride == 0 {
				s.QStride, s.KStride, s.VStride = s.D, s.D, s.Dv
			}
			q, k, v := randF32(r, B*s.T*s.QStride), randF32(r, B*s.S*s.KStride), randF32(r, B*s.S*s.VStride)
			kern, l, err := ptx.Attention(s)
			require.NoError(t, err)
			mem := &ptxvm.Memory{}
			bufs := map[string]uint64{"q": mem.AllocF32(q), "k": mem.AllocF32(k), "v": mem.AllocF32(v), "y": mem.Alloc(4 * B * s.T * s.Dv)}
			launch(t, mem, kern, l, B, bufs, ptxvm.Options{Reverse: true})
			closeGPU(t, mem.ReadF32(bufs["y"], B*s.T*s.Dv), attentionRef(s, B, q, k, v), "y")
		})
	}
}
