package ir

import "testing"

// TestIntegerOrderExact: argmax, argmin and topk order 64-bit integers
// exactly — u64 past 2⁶³ (held as negative int64s) and i64 past 2⁵³,
// where a float64 comparison would tie neighbours.
func TestIntegerOrderExact(t *testing.T) {
	const big = int64(1) << 60
	for _, c := range []struct {
		dt   DType
		x    []int64
		max  int64 // argmax's index
		min  int64 // argmin's index
		top2 []int64
	}{
		{I64, []int64{big + 1, big + 3, big + 2, big}, 1, 3, []int64{1, 2}},
		{U64, []int64{-1 << 63, 5, (-1 << 63) + 1, 7}, 2, 1, []int64{2, 0}},
	} {
		for _, k := range []Kind{KArgMax, KArgMin} {
			g := qgraph(t, Type{DType: c.dt, Shape: Shape{D(4)}}, func(b *Builder, x *Value) []*Value {
				return []*Value{must(b.Add1("a", &ArgReduce{K: k, Axis: 0}, []*Value{x}, "a"))}
			})
			got := must(Eval(g, intTensor(c.dt, []int{4}, c.x)))[0].I[0]
			want := c.max
			if k == KArgMin {
				want = c.min
			}
			if got != want {
				t.Errorf("%s on %s %v: %d, want %d", k, c.dt, c.x, got, want)
			}
		}
		g := qgraph(t, Type{DType: c.dt, Shape: Shape{D(4)}}, func(b *Builder, x *Value) []*Value {
			n := must(b.Add("t", &TopK{Axis: 0, K: 2, Largest: true, Sorted: true}, []*Value{x}, "v", "i"))
			return n.Outputs
		})
		res := must(Eval(g, intTensor(c.dt, []int{4}, c.x)))
		if got := res[1].I; got[0] != c.top2[0] || got[1] != c.top2[1] {
			t.Errorf("topk 2 on %s %v: indices %v, want %v", c.dt, c.x, got, c.top2)
		}
	}
}
