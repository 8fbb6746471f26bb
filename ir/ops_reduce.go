package ir

import (
	"fmt"
	"math"
	"sort"
)

// Reductions and selections along axes.
//
//	reduce_max, reduce_min, reduce_prod, reduce_l1, reduce_l2, reduce_log_sum,
//	reduce_log_sum_exp, reduce_sum_square {axes, keepdims}
//	    over the listed axes (all if none); an empty reduction gives the
//	    op's identity: −Inf for max, +Inf for min (the dtype's extremes for
//	    integers), 1 for prod, 0 for the sums, −Inf for the log sums.
//	    max, min, prod and sum_square also take integers; max and min bool.
//	arg_max, arg_min {axis, keepdims, select_last}
//	    the index (i64) of the first (or last) extreme along axis.
//	topk {axis, k, largest, sorted}(x) → values, indices
//	    the k largest (or smallest) along axis, by value then by index.
//	hardmax {axis}     1 at the first maximum along axis, 0 elsewhere.
//	cumsum, cumprod {axis, exclusive, reverse}
//	    running sums or products along axis; exclusive leaves out the
//	    element itself, reverse runs from the end.

// ArgReduce is arg_max or arg_min.
type ArgReduce struct {
	K          Kind
	Axis       int  `attr:"axis"`
	KeepDims   bool `attr:"keepdims"`
	SelectLast bool `attr:"select_last"`
}

func (o *ArgReduce) Kind() Kind { return o.K }

// TopK selects K elements along Axis.
type TopK struct {
	Axis    int  `attr:"axis"`
	K       int  `attr:"k"`
	Largest bool `attr:"largest"`
	Sorted  bool `attr:"sorted"`
}

func (*TopK) Kind() Kind { return KTopK }

// Hardmax is one-hot of the first maximum along Axis.
type Hardmax struct {
	Axis int `attr:"axis"`
}

func (*Hardmax) Kind() Kind { return KHardmax }

// Cumulative is cumsum or cumprod along Axis.
type Cumulative struct {
	K         Kind
	Axis      int  `attr:"axis"`
	Exclusive bool `attr:"exclusive"`
	Reverse   bool `attr:"reverse"`
}

func (o *Cumulative) Kind() Kind { return o.K }

func init() {
	for k, name := range map[Kind]string{
		KReduceMax: "reduce_max", KReduceMin: "reduce_min", KReduceProd: "reduce_prod",
		KReduceL1: "reduce_l1", KReduceL2: "reduce_l2", KReduceLogSum: "reduce_log_sum",
		KReduceLogSumExp: "reduce_log_sum_exp", KReduceSumSquare: "reduce_sum_square",
	} {
		ops[k] = OpInfo{name, 1, 1, func() Op { return &Reduce{K: k, KeepDims: true} }, inferReduce}
		evalTable[k] = evalReduce
	}
	for k, name := range map[Kind]string{KArgMax: "arg_max", KArgMin: "arg_min"} {
		ops[k] = OpInfo{name, 1, 1, func() Op { return &ArgReduce{K: k, KeepDims: true} }, inferArgReduce}
		evalTable[k] = evalArgReduce
	}
	ops[KTopK] = OpInfo{"topk", 1, 1, func() Op { return &TopK{Axis: -1, K: 1, Largest: true, Sorted: true} }, inferTopK}
	evalTable[KTopK] = evalTopK
	ops[KHardmax] = OpInfo{"hardmax", 1, 1, func() Op { return &Hardmax{Axis: -1} }, inferSoftmaxLike}
	evalTable[KHardmax] = evalHardmax
	for k, name := range map[Kind]string{KCumSum: "cumsum", KCumProd: "cumprod"} {
		ops[k] = OpInfo{name, 1, 1, func() Op { return &Cumulative{K: k} }, inferCumulative}
		evalTable[k] = evalCumulative
	}
}

// reduceTakesInts lists the reductions defined on integers (and, for max
// and min, bool).
func reduceTakes(k Kind, dt DType) bool {
	switch {
	case dt.IsFloat():
		return true
	case dt == Bool:
		return k == KReduceMax || k == KReduceMin
	case dt.IsInt():
		return k == KReduceMax || k == KReduceMin || k == KReduceProd || k == KReduceSum || k == KReduceSumSquare ||
			k == KReduceL1 || k == KReduceL2
	}
	return false
}

// axisRun describes the elements along one axis of a shape: for each of
// outer·inner lines, the element offsets base, base+step, … (n of them).
type axisRun struct{ outer, n, inner int }

func runOf(shape []int, axis int) axisRun {
	r := axisRun{1, shape[axis], 1}
	for i, d := range shape {
		switch {
		case i < axis:
			r.outer *= d
		case i > axis:
			r.inner *= d
		}
	}
	return r
}

// each calls fn with the first offset of every line and the step.
func (r axisRun) each(fn func(line, base, step int)) {
	for o := 0; o < r.outer; o++ {
		for i := 0; i < r.inner; i++ {
			fn(o*r.inner+i, o*r.n*r.inner+i, r.inner)
		}
	}
}

func inferAxisOp(axis int, in Type) (int, error) {
	a, err := normAxis(axis, in.Shape.Rank())
	if err != nil {
		return 0, err
	}
	if !in.Shape[a].Static() {
		return 0, fmt.Errorf("cannot work along the batch-dependent axis %d of %s", a, in.Shape)
	}
	return a, nil
}

func inferArgReduce(op Op, in []Type) ([]Type, error) {
	o := op.(*ArgReduce)
	a, err := inferAxisOp(o.Axis, in[0])
	if err != nil {
		return nil, err
	}
	if in[0].DType == Bool {
		return nil, fmt.Errorf("input must be numeric, got bool")
	}
	out := in[0].Shape.Clone()
	if o.KeepDims {
		out[a] = D(1)
	} else {
		out = append(out[:a], out[a+1:]...)
	}
	return one(TensorType(I64, out)), nil
}

func inferTopK(op Op, in []Type) ([]Type, error) {
	o := op.(*TopK)
	a, err := inferAxisOp(o.Axis, in[0])
	if err != nil {
		return nil, err
	}
	if o.K < 0 || o.K > in[0].Shape[a].B {
		return nil, fmt.Errorf("k=%d out of range for axis %d of %s", o.K, a, in[0].Shape)
	}
	out := in[0].Shape.Clone()
	out[a] = D(o.K)
	return []Type{TensorType(in[0].DType, out), TensorType(I64, out.Clone())}, nil
}

func inferSoftmaxLike(op Op, in []Type) ([]Type, error) {
	if _, err := inferAxisOp(op.(*Hardmax).Axis, in[0]); err != nil {
		return nil, err
	}
	return inferFloatUnary(op, in)
}

func inferCumulative(op Op, in []Type) ([]Type, error) {
	if _, err := inferAxisOp(op.(*Cumulative).Axis, in[0]); err != nil {
		return nil, err
	}
	if in[0].DType == Bool {
		return nil, fmt.Errorf("input must be numeric, got bool")
	}
	return inferUnary(op, in)
}

// reduceFold is one reduction: its start value, how it takes an element
// and how it finishes (count is the number of elements reduced).
type reduceFold struct {
	init   float64
	step   func(acc, x float64) float64
	finish func(acc float64, count int) float64
}

var reduceFolds = map[Kind]reduceFold{
	KReduceSum:       {0, func(a, x float64) float64 { return a + x }, nil},
	KReduceMean:      {0, func(a, x float64) float64 { return a + x }, func(a float64, n int) float64 { return a / float64(n) }},
	KReduceMax:       {math.Inf(-1), fmax, nil},
	KReduceMin:       {math.Inf(1), fmin, nil},
	KReduceProd:      {1, func(a, x float64) float64 { return a * x }, nil},
	KReduceL1:        {0, func(a, x float64) float64 { return a + math.Abs(x) }, nil},
	KReduceL2:        {0, func(a, x float64) float64 { return a + x*x }, func(a float64, _ int) float64 { return math.Sqrt(a) }},
	KReduceLogSum:    {0, func(a, x float64) float64 { return a + x }, func(a float64, _ int) float64 { return math.Log(a) }},
	KReduceSumSquare: {0, func(a, x float64) float64 { return a + x*x }, nil},
}

func evalReduce(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	r := op.(*Reduce)
	x := in[0]
	if !reduceTakes(r.K, x.DType) {
		return nil, fmt.Errorf("%s is not defined on %s", r.K, x.DType)
	}
	axes, _ := reduceAxes(r.Axes, len(x.Shape))
	// Strides into the (keepdims) result: zero along reduced axes.
	kshape := make([]int, len(x.Shape))
	count := 1
	for i, d := range x.Shape {
		kshape[i] = d
		if axes[i] {
			kshape[i] = 1
			count *= d
		}
	}
	ks := strides(kshape)
	for i := range ks {
		if axes[i] {
			ks[i] = 0
		}
	}
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	if !x.DType.IsFloat() {
		return evalReduceInt(r.K, x, res, ks)
	}
	if r.K == KReduceLogSumExp {
		// log Σ eˣ = m + log Σ e^(x−m), m the maximum (−Inf when empty).
		mx := make([]float64, len(res.F))
		for i := range mx {
			mx[i] = math.Inf(-1)
		}
		forIndex(x.Shape, [][]int{ks}, func(o int, offs []int) {
			mx[offs[0]] = max(mx[offs[0]], float64(x.F[o]))
		})
		acc := make([]float64, len(res.F))
		forIndex(x.Shape, [][]int{ks}, func(o int, offs []int) {
			if m := mx[offs[0]]; !math.IsInf(m, 0) {
				acc[offs[0]] += math.Exp(float64(x.F[o]) - m)
			}
		})
		for i, m := range mx {
			if math.IsInf(m, 0) {
				res.F[i] = float32(m)
				continue
			}
			res.F[i] = float32(m + math.Log(acc[i]))
		}
		return []*Tensor{res}, nil
	}
	f := reduceFolds[r.K]
	acc := make([]float64, len(res.F))
	for i := range acc {
		acc[i] = f.init
	}
	forIndex(x.Shape, [][]int{ks}, func(o int, offs []int) {
		acc[offs[0]] = f.step(acc[offs[0]], float64(x.F[o]))
	})
	for i, v := range acc {
		if f.finish != nil {
			v = f.finish(v, count)
		}
		res.F[i] = float32(v)
	}
	return []*Tensor{res}, nil
}

// HeldExtremes is the least and greatest value of an integer dtype or bool (u64
// as its bit pattern, compared unsigned).
func HeldExtremes(dt DType) (lo, hi int64) {
	switch dt {
	case Bool:
		return 0, 1
	case I8:
		return math.MinInt8, math.MaxInt8
	case U8:
		return 0, math.MaxUint8
	case I16:
		return math.MinInt16, math.MaxInt16
	case U16:
		return 0, math.MaxUint16
	case I32:
		return math.MinInt32, math.MaxInt32
	case U32:
		return 0, math.MaxUint32
	case U64:
		return 0, -1
	}
	return math.MinInt64, math.MaxInt64
}

func evalReduceInt(k Kind, x, res *Tensor, ks []int) ([]*Tensor, error) {
	lo, hi := HeldExtremes(x.DType)
	less := func(a, b int64) bool { return a < b }
	if x.DType == U64 {
		less = func(a, b int64) bool { return uint64(a) < uint64(b) }
	}
	init := int64(0)
	var step func(a, v int64) int64
	switch k {
	case KReduceMax:
		init, step = lo, func(a, v int64) int64 {
			if less(a, v) {
				return v
			}
			return a
		}
	case KReduceMin:
		init, step = hi, func(a, v int64) int64 {
			if less(v, a) {
				return v
			}
			return a
		}
	case KReduceProd:
		init, step = 1, func(a, v int64) int64 { return a * v }
	case KReduceSum:
		step = func(a, v int64) int64 { return a + v }
	case KReduceSumSquare:
		step = func(a, v int64) int64 { return a + v*v }
	case KReduceL1:
		step = func(a, v int64) int64 { return a + max(v, -v) }
	case KReduceL2:
		step = func(a, v int64) int64 { return a + v*v }
	}
	for i := range res.I {
		res.I[i] = init
	}
	forIndex(x.Shape, [][]int{ks}, func(o int, offs []int) {
		res.I[offs[0]] = step(res.I[offs[0]], x.I[o])
	})
	for i, v := range res.I {
		if k == KReduceL2 {
			v = int64(math.Sqrt(float64(v)))
		}
		res.I[i] = wrapInt(v, res.DType)
	}
	return []*Tensor{res}, nil
}

// key returns element i of t as a float64 for ordering (u64 unsigned).
func key(t *Tensor, i int) float64 {
	if t.F != nil {
		return float64(t.F[i])
	}
	if t.DType == U64 {
		return float64(uint64(t.I[i]))
	}
	return float64(t.I[i])
}

// intLess orders t's integer elements a and b exactly (u64 as uint64):
// through key's float64, values past 2⁵³ would tie.
func intLess(t *Tensor, a, b int) bool {
	if t.DType == U64 {
		return uint64(t.I[a]) < uint64(t.I[b])
	}
	return t.I[a] < t.I[b]
}

func evalArgReduce(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*ArgReduce)
	x := in[0]
	axis, _ := normAxis(o.Axis, len(x.Shape))
	run := runOf(x.Shape, axis)
	res := NewTensor(I64, out[0].Shape.Ints())
	if run.n == 0 {
		return nil, fmt.Errorf("%s over an empty axis", o.K)
	}
	better := func(v, best float64) bool { return v > best || v != v && best == best }
	if o.K == KArgMin {
		better = func(v, best float64) bool { return v < best || v != v && best == best }
	}
	if x.F == nil {
		run.each(func(line, base, step int) {
			bi := 0
			for j := 1; j < run.n; j++ {
				v, b := base+j*step, base+bi*step
				if o.K == KArgMax && intLess(x, b, v) || o.K == KArgMin && intLess(x, v, b) || o.SelectLast && x.I[v] == x.I[b] {
					bi = j
				}
			}
			res.I[line] = int64(bi)
		})
		return []*Tensor{res}, nil
	}
	run.each(func(line, base, step int) {
		bi, bv := 0, key(x, base)
		for j := 1; j < run.n; j++ {
			v := key(x, base+j*step)
			if better(v, bv) || o.SelectLast && v == bv {
				bi, bv = j, v
			}
		}
		res.I[line] = int64(bi)
	})
	return []*Tensor{res}, nil
}

func evalTopK(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*TopK)
	x := in[0]
	axis, _ := normAxis(o.Axis, len(x.Shape))
	run := runOf(x.Shape, axis)
	vals := NewTensor(x.DType, out[0].Shape.Ints())
	idx := NewTensor(I64, out[1].Shape.Ints())
	ord := make([]int, run.n)
	run.each(func(line, base, step int) {
		for j := range ord {
			ord[j] = j
		}
		sort.SliceStable(ord, func(a, b int) bool {
			if x.F == nil {
				ia, ib := base+ord[a]*step, base+ord[b]*step
				if o.Largest {
					return intLess(x, ib, ia)
				}
				return intLess(x, ia, ib)
			}
			va, vb := key(x, base+ord[a]*step), key(x, base+ord[b]*step)
			if o.Largest { // a NaN comes last either way, as numpy's argsort puts it
				return va > vb || va == va && vb != vb
			}
			return va < vb || va == va && vb != vb
		})
		ob := (line/run.inner)*o.K*run.inner + line%run.inner
		for j := 0; j < o.K; j++ {
			src, dst := base+ord[j]*step, ob+j*run.inner
			if x.F != nil {
				vals.F[dst] = x.F[src]
			} else {
				vals.I[dst] = x.I[src]
			}
			idx.I[dst] = int64(ord[j])
		}
	})
	return []*Tensor{vals, idx}, nil
}

func evalHardmax(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	axis, _ := normAxis(op.(*Hardmax).Axis, len(x.Shape))
	run := runOf(x.Shape, axis)
	res := NewTensor(x.DType, out[0].Shape.Ints())
	run.each(func(line, base, step int) {
		if run.n == 0 {
			return
		}
		bi, bv := 0, x.F[base]
		for j := 1; j < run.n; j++ {
			if v := x.F[base+j*step]; v > bv {
				bi, bv = j, v
			}
		}
		res.F[base+bi*step] = 1
	})
	return []*Tensor{res}, nil
}

func evalCumulative(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	o := op.(*Cumulative)
	x := in[0]
	axis, _ := normAxis(o.Axis, len(x.Shape))
	run := runOf(x.Shape, axis)
	res := NewTensor(x.DType, out[0].Shape.Ints())
	prod := o.K == KCumProd
	run.each(func(line, base, step int) {
		accF, accI := 0.0, int64(0)
		if prod {
			accF, accI = 1, 1
		}
		for jj := 0; jj < run.n; jj++ {
			j := jj
			if o.Reverse {
				j = run.n - 1 - jj
			}
			at := base + j*step
			if x.F != nil {
				v := float64(x.F[at])
				if !o.Exclusive {
					accF = cumStep(prod, accF, v)
				}
				res.F[at] = float32(accF)
				if o.Exclusive {
					accF = cumStep(prod, accF, v)
				}
				continue
			}
			v := x.I[at]
			if !o.Exclusive {
				accI = cumStepI(prod, accI, v)
			}
			res.I[at] = wrapInt(accI, x.DType)
			if o.Exclusive {
				accI = cumStepI(prod, accI, v)
			}
		}
	})
	return []*Tensor{res}, nil
}

func cumStep(prod bool, acc, v float64) float64 {
	if prod {
		return acc * v
	}
	return acc + v
}

func cumStepI(prod bool, acc, v int64) int64 {
	if prod {
		return acc * v
	}
	return acc + v
}
