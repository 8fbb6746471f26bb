package ir

import (
	"fmt"
	"testing"
)

// BenchmarkEvalLinear times the evaluator on the GEMM-like op that
// dominates the zoo (a batch of 32 through a 768→3072 linear), in
// GFLOP/s, per thread count.
func BenchmarkEvalLinear(b *testing.B) {
	const m, k, n = 32, 768, 3072
	bld := NewBuilder("bench")
	x, _ := bld.Input("x", TensorType(F32, Shape{N, D(k)}))
	w := NewTensor(F32, []int{n, k})
	for i := range w.F {
		w.F[i] = float32(i%7) * 0.1
	}
	wv, _ := bld.Const("w", w)
	y, _ := bld.Add1("fc", Simple{K: KLinear}, []*Value{x, wv}, "y")
	bld.G.Outputs = []*Value{y}
	in := SampleInputs(bld.G, m, 1)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := (EvalOptions{Threads: threads}).Eval(bld.G, in...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
