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

func rowRef(s ptx.RowSpec, rows int, x, scale, bias []float32) []float32 {
	y := make([]float32, len(x))
	for r := range rows {
		base := r/s.Inner*s.L*s.Inner + r%s.Inner
		at := func(j int) int { return base + j*s.Inner }
		switch s.Op {
		case "layernorm":
			mean, ss := 0.0, 0.0
			for j := range s.L {
				mean += float64(x[at(j)])
			}
			mean /= float64(s.L)
			for j := range s.L {
				d := float64(x[at(j)]) - mean
				ss += d * d
			}
			inv := 1 / math.Sqrt(ss/float64(s.L)+float64(s.Eps))
			for j := range s.L {
				v := (float64(x[at(j)]) - mean) * inv
				if scale != nil {
					v *= float64(scale[j])
				}
				if bias != nil {
					v += float64(bias[j])
				}
				y[at(j)] = float32(v)
			}
		default:
			mx := math.Inf(-1)
			for j := range s.L {
				mx = math.Max(mx, float64(x[at(j)]))
			}
			sum := 0.0
			for j := range s.L {
				sum += math.Exp(float64(x[at(j)]) - mx)
			}
			for j := range s.L {
				if s.Op == "log_softmax" {
					y[at(j)] = float32(float64(x[at(j)]) - mx - math.Log(sum))
				} else {
					y[at(j)] = float32(math.Exp(float64(x[at(j)])-mx) / sum)
				}
			}
		}
	}
	return y
}

// Softmax, log-softmax and layernorm rows: short rows (one element a
// lane, padding lanes), rows in registers, strided rows, and rows long
// enough to be read in passes.
func TestRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range []ptx.RowSpec{
		{Op: "softmax", L: 10, Inner: 1, WarpsPerBlock: 2},
		{Op: "softmax", L: 100, Inner: 3, WarpsPerBlock: 4},
		{Op: "log_softmax", L: 65, Inner: 1, WarpsPerBlock: 1},
		{Op: "softmax", L: 1100, Inner: 1, WarpsPerBlock: 2},
		{Op: "log_softmax", L: 1030, Inner: 2, WarpsPerBlock: 2},
		{Op: "layernorm", L: 192, Eps: 1e-5, WarpsPerBlock: 4},
		{Op: "layernorm", L: 33, Eps: 1e-6, Scale: true, WarpsPerBlock: 2},
		{Op: "layernorm", L: 70, Eps: 1e-5, Scale: true, Bias: true, WarpsPerBlock: 4},
		{Op: "layernorm", L: 1200, Eps: 1e-5, Scale: true, Bias: true, WarpsPerBlock: 2},
	} {
		t.Run(fmt.Sprintf("%s_l%d_i%d", s.Op, s.L, s.Inner), func(t *testing.T) {
			const n, per = 3, 3 // per·n outer rows
			s.Inner = max(s.Inner, 1)
			rows := per * n * s.Inner
			s.Rows = ptx.Rows{A: per * s.Inner}
			x := randF32(r, rows*s.L)
			for i := range x {
				x[i] = 3*x[i] + 1
			}
			var scale, bias []float32
			mem := &ptxvm.Memory{}
			bufs := map[string]uint64{"x": mem.AllocF32(x), "y": mem.Alloc(4 * len(x))}
			if s.Scale {
				scale = randF32(r, s.L)
				bufs["scale"] = mem.AllocF32(scale)
			}
			if s.Bias {
				bias = randF32(r, s.L)
				bufs["bias"] = mem.AllocF32(bias)
			}
			k, l, err := ptx.Row(s)
			require.NoError(t, err)
			launch(t, mem, k, l, n, bufs, ptxvm.Options{})
			closeGPU(t, mem.ReadF32(bufs["y"], len(x)), rowRef(s, rows, x, scale, bias), "y")
		})
	}
}
